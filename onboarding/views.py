"""Onboarding pages: the public application form and status page, the vendor review queue and job pages, and
the partner's agreement and onboarding pages.

Views are thin: reads go through ``onboarding.selectors`` (and the access layer behind them), writes through
``onboarding.services``; a service's ``DomainError`` becomes a 4xx answer with its message next to the field it
names. Applicants have no account: the signed status link is their authority, and it shows their own
application only, never internal notes. Reviewers are vendor staff with the onboarding model permissions.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onboarding import selectors, services
from onboarding.choices import OPEN_APPLICATION_STATUSES, ApplicationStatus, JobKind, JobState, MessageKind, StepState
from onboarding.forms import (
    COUNTRY_NAMES,
    AgreementAcceptForm,
    ApplicationForm,
    ApproveForm,
    ChecklistItemForm,
    DocumentUploadForm,
    NoteForm,
    RejectForm,
    ReplyForm,
    RequestInfoForm,
    ReviewFilterForm,
)
from onboarding.models import PartnerApplication, ProvisioningJob
from partnerhub import access, portal
from partnerhub import selectors as core_selectors
from partnerhub import services as core_services
from partnerhub.choices import MembershipRole, PartnerType
from partnerhub.context_processors import VENDOR_BRAND
from partnerhub.errors import ConflictError, DomainError
from partnerhub.forms import add_domain_error
from partnerhub.models import Partner
from partnerhub.pagination import Paginator
from partnerhub.timesince import timesince
from partnerhub.views.mixins import forbidden, portal_view, render_page_or_fragment

# Shared helpers ------------------------------------------------------------------------------------------------

RUNNING_JOB_STATES = (JobState.PENDING, JobState.RUNNING)
POLL_SECONDS = 1.5
PAGE_SIZE = 50


def client_ip(request) -> str | None:
    """The caller's address as the server saw it (``REMOTE_ADDR``); None if it is not an IP address."""
    value = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole working days (Monday to Friday) after ``start``'s date up to and including ``end``'s date."""
    first, last = start.date(), end.date()
    days = (last - first).days
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    weekday = first.weekday()
    return weeks * 5 + sum(1 for offset in range(1, rest + 1) if (weekday + offset) % 7 < 5)


def review_clock(application: PartnerApplication, now: datetime | None = None) -> dict:
    """How long an application has waited for a decision (or took), for people: "2 days", and how late it is."""
    now = now or timezone.now()
    end = application.decided_at or now
    business_days = business_days_between(application.submitted_at, end)
    if not application.is_open:
        level = "done"
    elif business_days > 2:
        level = "late"
    elif business_days == 2:
        level = "due"
    else:
        level = "ok"
    return {
        "text": timesince(application.submitted_at, end),
        "business_days": business_days,
        "level": level,
    }


def job_summary(job: ProvisioningJob | None, steps: list) -> dict | None:
    """Progress of a job's steps for the progress bars and the live region."""
    if job is None:
        return None
    done = sum(1 for step in steps if step.state == StepState.SUCCEEDED)
    total = len(steps)
    return {
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "running": job.state in RUNNING_JOB_STATES,
        "failed": job.state == JobState.FAILED,
        "succeeded": job.state == JobState.SUCCEEDED,
    }


def _show_domain_error(request, form, exc: DomainError) -> bool:
    """A service's refusal: next to the field it names, else as a page message (the form may no longer be shown,
    e.g. after the application was decided). Returns whether the form carries the error."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
        return True
    messages.error(request, exc.message)
    return False


# Public application form ---------------------------------------------------------------------------------------

APPLY_LIMIT = 5
APPLY_WINDOW_SECONDS = 60 * 60
SUBMITTED_SESSION_KEY = "onboarding_submitted_application"


def _apply_brand(request) -> tuple[object, Partner | None]:
    """The look of the application form and the distributor an application comes through.

    On a distributor's own portal host the form is in that distributor's brand and the application is filed
    under it (two-tier distribution); everywhere else it is the vendor's form.
    """
    host_brand = getattr(request, "host_brand", None)
    if host_brand is not None:
        partner = host_brand.partner
        if partner.partner_type == PartnerType.DISTRIBUTOR and partner.can_sign_in:
            return host_brand, partner
    return VENDOR_BRAND, None


def _application_brand(application: PartnerApplication):
    parent = application.parent
    if parent is not None and parent.partner_type == PartnerType.DISTRIBUTOR:
        brand = getattr(parent, "brand", None)
        if brand is not None:
            return brand
    return VENDOR_BRAND


def _rate_key(ip: str | None) -> str:
    return f"onboarding:apply-rate:{ip or 'unknown'}"


def _over_rate_limit(ip: str | None) -> bool:
    return (cache.get(_rate_key(ip)) or 0) >= APPLY_LIMIT


def _count_submission(ip: str | None) -> None:
    """Count an application (or a caught spam attempt) against the sender's address for the next hour."""
    key = _rate_key(ip)
    cache.add(key, 0, APPLY_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, APPLY_WINDOW_SECONDS)


@never_cache
@require_http_methods(["GET", "POST"])
def apply(request):
    """The public partner application form: vendor-branded, or in a distributor's brand on its portal host."""
    brand, parent = _apply_brand(request)
    ip = client_ip(request)
    status = 200
    if request.method == "POST":
        if _over_rate_limit(ip):
            response = render(
                request,
                "onboarding/rate_limited.html",
                {"brand": brand, "status": 429, "minutes": APPLY_WINDOW_SECONDS // 60},
                status=429,
            )
            response["Retry-After"] = str(APPLY_WINDOW_SECONDS)
            return response
        form = ApplicationForm(request.POST)
        if form.is_valid():
            try:
                application = services.application_submit(data=form.service_data(), parent=parent, ip_address=ip)
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status_code
            else:
                _count_submission(ip)
                request.session[SUBMITTED_SESSION_KEY] = services.status_token(application)
                return redirect("onboarding:apply_received")
        else:
            status = 400
            if form.spam_code in ("honeypot", "too_fast"):
                _count_submission(ip)
            form.refresh_token_if_unusable()
    else:
        form = ApplicationForm()
    context = {"form": form, "brand": brand, "parent": parent}
    return render(request, "onboarding/apply.html", context, status=status)


@never_cache
@require_GET
def apply_received(request):
    """The confirmation after a submission (the form redirects here, so a reload never submits twice)."""
    token = request.session.get(SUBMITTED_SESSION_KEY)
    if not token:
        return redirect("onboarding:apply")
    try:
        application = services.application_from_status_token(token)
    except DomainError:
        return redirect("onboarding:apply")
    context = {
        "application": application,
        "brand": _application_brand(application),
        "status_path": reverse("onboarding:application_status", args=[token]),
        "status_url": services.status_url(application),
    }
    return render(request, "onboarding/apply_received.html", context)


# Applicant's status page ---------------------------------------------------------------------------------------


def _applicant_timeline(application: PartnerApplication, messages_for_applicant: list, job) -> list[dict]:
    """What happened to the application, for the applicant: no internal notes, no reviewer names."""
    events = [
        {
            "kind": "submitted",
            "when": application.submitted_at,
            "title": "Application submitted",
            "body": "",
            "icon": "mail",
        }
    ]
    titles = {
        MessageKind.INFO_REQUEST: ("info", "We asked for more information", "info"),
        MessageKind.APPLICANT_REPLY: ("reply", "You replied", "arrow-right"),
    }
    for message in messages_for_applicant:
        if message.kind == MessageKind.DECISION:
            approved = application.status == ApplicationStatus.APPROVED
            events.append(
                {
                    "kind": "approved" if approved else "rejected",
                    "when": message.created_at,
                    "title": "Application approved" if approved else "Application not approved",
                    "body": "" if approved and message.body == "Approved." else message.body,
                    "icon": "check-circle" if approved else "alert",
                }
            )
        elif message.kind in titles:
            kind, title, icon = titles[message.kind]
            events.append(
                {"kind": kind, "when": message.created_at, "title": title, "body": message.body, "icon": icon}
            )
    if job is not None and job.finished_at and job.state == JobState.SUCCEEDED:
        events.append(
            {
                "kind": "live",
                "when": job.finished_at,
                "title": "Partner portal ready",
                "body": "",
                "icon": "sparkles",
            }
        )
    return events


def _status_context(application: PartnerApplication, reply_form: ReplyForm, token: str) -> dict:
    visible = list(application.messages.exclude(kind=MessageKind.NOTE).order_by("created_at", "id"))
    job = application.jobs.filter(kind=JobKind.PROVISION).order_by("created_at", "id").first()
    steps = list(job.steps.order_by("position", "id")) if job is not None else []
    questions = [m for m in visible if m.kind == MessageKind.INFO_REQUEST]
    portal_url = None
    if job is not None and job.state == JobState.SUCCEEDED and application.partner_id:
        portal_url = core_services.portal_base_url(application.partner) + reverse("login")
    return {
        "application": application,
        "brand": _application_brand(application),
        "country_name": COUNTRY_NAMES.get(application.country, application.country),
        "timeline": _applicant_timeline(application, visible, job),
        "clock": review_clock(application),
        "open_question": questions[-1]
        if application.status == ApplicationStatus.INFO_REQUESTED and questions
        else None,
        "reply_form": reply_form,
        "job": job,
        "steps": steps,
        "progress": job_summary(job, steps),
        "portal_url": portal_url,
        "poll_url": reverse("onboarding:application_status", args=[token]),
        "poll_seconds": POLL_SECONDS,
    }


def _invalid_status_link(request, detail: str):
    return render(
        request,
        "onboarding/status_invalid.html",
        {"brand": VENDOR_BRAND, "status": 404, "detail": detail},
        status=404,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def application_status(request, token: str):
    """The applicant's page behind the signed status link: summary, timeline, questions and their reply form,
    the decision and, once approved, live provisioning progress (an htmx request gets only the progress)."""
    try:
        application = services.application_from_status_token(token)
    except DomainError as exc:
        return _invalid_status_link(request, exc.message)
    status = 200
    form = ReplyForm()
    if request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                services.application_reply(application=application, message=form.cleaned_data["message"])
            except DomainError as exc:
                _show_domain_error(request, form, exc)
                status = exc.status_code
            else:
                messages.success(request, "Thank you — your answer is with our partner team.")
                return redirect("onboarding:application_status", token=token)
        else:
            status = 400
        application.refresh_from_db()
    return render_page_or_fragment(
        request,
        page="onboarding/status.html",
        fragment="onboarding/_status_progress.html",
        context=_status_context(application, form, token),
        status=status,
    )


# Vendor review -------------------------------------------------------------------------------------------------

STAFF_ONLY_MESSAGE = "This page is for vendor staff who review partner applications."


def staff_view(permission: str):
    """Vendor staff with ``permission`` only: visitors are sent to the console's sign-in, others get a 403."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url=reverse("console:login"))
            if not (access.is_vendor_staff(user) and user.has_perm(permission)):
                return forbidden(request, STAFF_ONLY_MESSAGE)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator


def _console_url(name: str, pk) -> str | None:
    try:
        return reverse(f"console:{name}", args=[pk])
    except NoReverseMatch:
        return None


def _visible_flags(user, applications: list[PartnerApplication]) -> dict[int, list[dict]]:
    """Duplicate flags with links, per application. A match the reviewer may not see (a partner managed by
    someone else) is shown without its name, so the flag never reveals another channel manager's partner."""
    visible_partners, visible_applications = selectors.flag_visibility(user=user, applications=applications)
    result: dict[int, list[dict]] = {}
    for application in applications:
        flags = []
        for flag in application.duplicate_flags or []:
            is_partner = flag.get("object") == "partner"
            visible = flag.get("id") in (visible_partners if is_partner else visible_applications)
            reason = "Same domain" if flag.get("kind") == "same_domain" else "Similar name"
            entry = {
                "reason": reason,
                "object": "partner" if is_partner else "application",
                "detail": flag.get("detail", ""),
                "visible": visible,
                "label": flag.get("label", "") if visible else "",
                "console_url": None,
                "review_url": None,
            }
            if visible and is_partner:
                entry["console_url"] = _console_url("partnerhub_partner_change", flag["id"])
            elif visible:
                entry["review_url"] = reverse("onboarding:review_detail", args=[flag["id"]])
                entry["console_url"] = _console_url("onboarding_partnerapplication_change", flag["id"])
            flags.append(entry)
        result[application.pk] = flags
    return result


@require_GET
@staff_view("onboarding.view_partnerapplication")
def review_queue(request):
    """Open applications, longest-waiting first, with the review clock and duplicate flags; filters and search."""
    user = request.user
    filter_form = ReviewFilterForm(request.GET or None)
    chosen = filter_form.filters()
    applications = selectors.application_list(user=user)
    counts = applications.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_APPLICATION_STATUSES)),
        waiting_for_us=Count("pk", filter=Q(status=ApplicationStatus.SUBMITTED)),
        waiting_for_applicant=Count("pk", filter=Q(status=ApplicationStatus.INFO_REQUESTED)),
    )
    if chosen["status"] == "open":
        applications = applications.filter(status__in=OPEN_APPLICATION_STATUSES).order_by("submitted_at", "id")
    elif chosen["status"] == "all":
        applications = applications.order_by("-submitted_at", "-id")
    else:
        applications = applications.filter(status=chosen["status"]).order_by("-submitted_at", "-id")
    if chosen["partner_type"]:
        applications = applications.filter(partner_type=chosen["partner_type"])
    if chosen["country"]:
        applications = applications.filter(country=chosen["country"])
    if chosen["find"]:
        q = chosen["find"]
        applications = applications.filter(
            Q(company_name__icontains=q)
            | Q(contact_email__icontains=q)
            | Q(domain__icontains=q)
            | Q(contact_first_name__icontains=q)
            | Q(contact_last_name__icontains=q)
        )
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    flags = _visible_flags(user, rows)
    now = timezone.now()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": filter_form,
        "chosen": chosen,
        "filtered": any(chosen[k] for k in ("find", "partner_type", "country")) or chosen["status"] != "open",
        "page": page,
        "rows": [
            {
                "application": a,
                "clock": review_clock(a, now),
                "flags": flags[a.pk],
                "country_name": COUNTRY_NAMES.get(a.country, a.country),
            }
            for a in rows
        ],
        "counts": counts,
        "query": query.urlencode(),
    }
    return render(request, "onboarding/review_queue.html", context)


def _render_review_detail(request, application: PartnerApplication, *, status: int = 200, **forms):
    user = request.user
    can_review = user.has_perm("onboarding.review_partnerapplication")
    job = selectors.job_list(user=user).filter(application=application, kind=JobKind.PROVISION).first()
    steps = list(job.steps.order_by("position", "id")) if job is not None else []
    failed_form = next((name for name, form in forms.items() if form.errors), None)
    context = {
        "application": application,
        "country_name": COUNTRY_NAMES.get(application.country, application.country),
        "clock": review_clock(application),
        "flags": _visible_flags(user, [application])[application.pk],
        "thread": list(application.messages.select_related("author").order_by("created_at", "id")),
        "can_review": can_review and application.is_open,
        "can_note": can_review,
        "approve_form": forms.get("approve_form") or ApproveForm(tiers=core_selectors.tier_list()),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "info_form": forms.get("info_form") or RequestInfoForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "failed_form": failed_form,
        "job": job,
        "steps": steps,
        "progress": job_summary(job, steps),
        "poll_url": reverse("onboarding:job_detail", args=[job.pk]) if job is not None else None,
        "poll_seconds": POLL_SECONDS,
        "partner_console_url": _console_url("partnerhub_partner_change", application.partner_id)
        if application.partner_id
        else None,
        "parent_console_url": _console_url("partnerhub_partner_change", application.parent_id)
        if application.parent_id
        else None,
    }
    return render(request, "onboarding/review_detail.html", context, status=status)


@require_GET
@staff_view("onboarding.view_partnerapplication")
def review_detail(request, pk: int):
    """One application with everything a reviewer needs: fields, duplicate flags, the thread and the actions."""
    return _render_review_detail(request, selectors.access_application(user=request.user, pk=pk))


def _review_action(request, pk: int, *, form_name: str, form, act, success: str):
    """Run one review action: a bound form, then the service; errors re-render the page with a 4xx."""
    application = selectors.access_application(user=request.user, pk=pk)
    if not form.is_valid():
        return _render_review_detail(request, application, status=400, **{form_name: form})
    try:
        result = act(application, form.cleaned_data)
    except DomainError as exc:
        application.refresh_from_db()
        if _show_domain_error(request, form, exc):
            return _render_review_detail(request, application, status=exc.status_code, **{form_name: form})
        return _render_review_detail(request, application, status=exc.status_code)
    messages.success(request, success.format(company=application.company_name))
    if isinstance(result, ProvisioningJob):
        return redirect("onboarding:job_detail", pk=result.pk)
    return redirect("onboarding:review_detail", pk=application.pk)


@require_POST
@staff_view("onboarding.view_partnerapplication")
def review_approve(request, pk: int):
    return _review_action(
        request,
        pk,
        form_name="approve_form",
        form=ApproveForm(request.POST, tiers=core_selectors.tier_list()),
        act=lambda application, data: services.application_approve(
            actor=request.user, application=application, tier=data["tier"], note=data["note"]
        ),
        success="{company} is approved. Provisioning has started; its progress is shown below.",
    )


@require_POST
@staff_view("onboarding.view_partnerapplication")
def review_reject(request, pk: int):
    return _review_action(
        request,
        pk,
        form_name="reject_form",
        form=RejectForm(request.POST),
        act=lambda application, data: services.application_reject(
            actor=request.user, application=application, reason=data["reason"]
        ),
        success="{company} is declined; the applicant was told the reason by e-mail.",
    )


@require_POST
@staff_view("onboarding.view_partnerapplication")
def review_request_info(request, pk: int):
    return _review_action(
        request,
        pk,
        form_name="info_form",
        form=RequestInfoForm(request.POST),
        act=lambda application, data: services.application_request_info(
            actor=request.user, application=application, message=data["message"]
        ),
        success="Your question was sent to {company}. The application waits for their answer.",
    )


@require_POST
@staff_view("onboarding.view_partnerapplication")
def review_note(request, pk: int):
    return _review_action(
        request,
        pk,
        form_name="note_form",
        form=NoteForm(request.POST),
        act=lambda application, data: services.application_note(
            actor=request.user, application=application, message=data["message"]
        ),
        success="Note added. Only reviewers see it.",
    )


def _job_context(request, job: ProvisioningJob) -> dict:
    steps = list(job.steps.order_by("position", "id"))
    user = request.user
    return {
        "job": job,
        "steps": steps,
        "progress": job_summary(job, steps),
        "internal": True,
        "can_retry": job.state == JobState.FAILED and user.has_perm("onboarding.retry_provisioningjob"),
        "partner_console_url": _console_url("partnerhub_partner_change", job.partner_id) if job.partner_id else None,
        "application_visible": job.application_id is not None
        and selectors.application_list(user=user).filter(pk=job.application_id).exists(),
        "poll_url": reverse("onboarding:job_detail", args=[job.pk]),
        "poll_seconds": POLL_SECONDS,
    }


@require_GET
@staff_view("onboarding.view_provisioningjob")
def job_detail(request, pk: int):
    """A provisioning or offboarding job: steps with state, attempts, timings and last error, live while it runs
    (an htmx request gets only the steps)."""
    job = selectors.access_job(user=request.user, pk=pk)
    context = _job_context(request, job)
    # The review page embeds the steps card alone (htmx target "job-progress"); the job page refreshes its panel.
    card_only = getattr(request.htmx, "target", None) == "job-progress"
    context["show_job_link"] = card_only
    return render_page_or_fragment(
        request,
        page="onboarding/job_detail.html",
        fragment="onboarding/_job_progress.html" if card_only else "onboarding/_job_panel.html",
        context=context,
    )


@require_POST
@staff_view("onboarding.retry_provisioningjob")
def job_retry(request, pk: int):
    job = selectors.access_job(user=request.user, pk=pk, action="change")
    try:
        services.job_retry(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, exc.message)
        job.refresh_from_db()
        return render(request, "onboarding/job_detail.html", _job_context(request, job), status=exc.status_code)
    messages.success(request, "The failed steps are queued again; progress is shown below.")
    return redirect("onboarding:job_detail", pk=job.pk)


# Partner: the program agreement --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(gated=False)
def agreement(request):
    """The program agreement gate: partner admins read the current version and accept it for their partner;
    reps learn that one of their admins must accept it. Nothing to accept: back to the portal."""
    partner = request.partner
    current = services.current_agreement()
    if current is None or services.partner_has_accepted_current(partner):
        return redirect("portal:home")
    is_admin = portal.is_partner_admin(request)
    status = 200
    form = AgreementAcceptForm(initial={"agreement": current.pk})
    if request.method == "POST":
        if not is_admin:
            return forbidden(
                request, "Only a partner admin can accept the program agreement. Ask one of your partner admins."
            )
        form = AgreementAcceptForm(request.POST)
        if form.is_valid():
            try:
                if form.cleaned_data["agreement"] != current.pk:
                    raise ConflictError(
                        f"A new version (version {current.version}) was published while you were reading. "
                        "Read it below and accept it if you agree.",
                        field="confirm",
                    )
                services.agreement_accept(
                    actor=request.user,
                    partner=partner,
                    agreement=current,
                    ip_address=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except ConflictError as exc:
                # Offer the version that is current now, unticked, and say why.
                messages.error(request, exc.message)
                status = exc.status_code
                form = AgreementAcceptForm(initial={"agreement": current.pk})
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request,
                    f"Thank you. {partner.brand.display_name} accepted the program agreement, version "
                    f"{current.version}.",
                )
                return redirect("portal:home")
        else:
            status = 400
    previous = selectors.acceptance_list(user=request.user).filter(partner=partner).order_by("-version", "-id").first()
    admins = (
        []
        if is_admin
        else list(core_selectors.partner_team(user=request.user, partner=partner).filter(role=MembershipRole.ADMIN))
    )
    context = {
        "agreement": current,
        "form": form,
        "is_partner_admin": is_admin,
        "previous": previous,
        "admins": admins,
        "partner": partner,
    }
    return render(request, "onboarding/agreement.html", context, status=status)


# Partner: onboarding checklist, documents, integration key ------------------------------------------------------


def _partner_job(request, partner):
    """The partner's provisioning job while it is not finished (partner admins only)."""
    if not portal.is_partner_admin(request):
        return None
    return (
        selectors.job_list(user=request.user)
        .filter(partner=partner, kind=JobKind.PROVISION)
        .exclude(state=JobState.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


def _onboarding_context(request, *, upload_form=None, revealed_key: str | None = None) -> dict:
    partner = request.partner
    user = request.user
    is_admin = portal.is_partner_admin(request)
    items = selectors.checklist_of(user=user, partner=partner)
    done = sum(1 for item in items if item.is_done)
    job = _partner_job(request, partner)
    steps = list(job.steps.order_by("position", "id")) if job is not None else []
    context = {
        "partner": partner,
        "is_partner_admin": is_admin,
        "items": items,
        "done": done,
        "total": len(items),
        "percent": round(100 * done / len(items)) if items else 0,
        "overdue": sum(1 for item in items if item.is_overdue),
        "job": job,
        "steps": steps,
        "progress": job_summary(job, steps),
        "poll_url": reverse("onboarding:home"),
        "poll_seconds": POLL_SECONDS,
        "upload_form": upload_form or DocumentUploadForm(),
        "documents": [],
        "credential": None,
        "revealed_key": revealed_key,
    }
    if is_admin:
        context["documents"] = list(selectors.document_list(user=user).filter(partner=partner)[:20])
        context["credential"] = selectors.integration_credential(user=user, partner=partner)
    return context


def _render_onboarding(request, *, status: int = 200, **kwargs):
    return render_page_or_fragment(
        request,
        page="onboarding/home.html",
        fragment="onboarding/_partner_job.html",
        context=_onboarding_context(request, **kwargs),
        status=status,
    )


@require_GET
@portal_view
def onboarding_home(request):
    """The partner's onboarding page: checklist with progress and due dates, tax form, integration key, and the
    provisioning job while it runs (an htmx request gets only the job's progress)."""
    return _render_onboarding(request)


@require_POST
@portal_view(admin=True)
def checklist_item(request, pk: int):
    """A partner admin ticks off (or reopens) a step that no event completes by itself."""
    item = selectors.checklist_items(user=request.user, action="change").filter(partner=request.partner, pk=pk).first()
    if item is None:
        raise Http404("Not found.")
    form = ChecklistItemForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether the step is done (done=1) or open again (done=0).")
        return _render_onboarding(request, status=400)
    done = form.cleaned_data["done"]
    try:
        if item.event:
            raise ConflictError(
                f"“{item.title}” is ticked off by itself once it happens ({item.get_event_display().lower()})."
            )
        services.checklist_item_set_done(actor=request.user, item=item, done=done)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _render_onboarding(request, status=exc.status_code)
    messages.success(request, f"“{item.title}” is {'done' if done else 'open again'}.")
    return redirect(reverse("onboarding:home") + "#checklist")


@require_POST
@portal_view(admin=True)
def document_upload(request):
    """Upload the partner's tax form; the service checks the content (PDF, PNG or JPEG), not the name."""
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_onboarding(request, status=400, upload_form=form)
    try:
        document = services.document_upload(
            actor=request.user, partner=request.partner, upload=form.cleaned_data["file"]
        )
    except DomainError as exc:
        add_domain_error(form, exc)
        return _render_onboarding(request, status=exc.status_code, upload_form=form)
    messages.success(request, f"Your {document.get_kind_display().lower()} is uploaded. Thank you.")
    return redirect(reverse("onboarding:home") + "#documents")


DOCUMENT_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@require_GET
@portal_view
def document_download(request, pk: int):
    """One of the partner's own documents, as a download (never rendered inline, never sniffed)."""
    document = selectors.document_list(user=request.user).filter(partner=request.partner, pk=pk).first()
    if document is None:
        raise Http404("Not found.")
    stem = slugify(document.original_name.rsplit(".", 1)[0]) or document.kind
    extension = DOCUMENT_EXTENSIONS.get(document.content_type, "bin")
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("Not found.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=f"{stem}.{extension}", content_type=document.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache
@require_POST
@portal_view(admin=True)
def integration_key(request):
    """Reveal the provisioned integration key, once, in this response only (no-store)."""
    try:
        key = services.integration_key_reveal(actor=request.user, partner=request.partner)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _render_onboarding(request, status=exc.status_code)
    return _render_onboarding(request, revealed_key=key)
