"""Onboarding in the vendor console: the application queue with its review clock and decisions, agreement versions
and acceptances, checklist templates and every partner's checklist progress, provisioning jobs with live progress
and retry, webhook endpoints and their delivery log, onboarding documents, and "Offboard…" on the partner list.

Every page builds on ``ScopedModelAdmin`` / ``ScopedInline``. Partner-owned rows (checklist items, acceptances,
documents) go through the access layer; the other models get explicit rules below (``scope_rule``), which for
applications and jobs are those of the API and the review pages (``onboarding.api.scopes``). Decisions, retries,
publishing, ticking items off and offboarding go through ``onboarding.services``.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Count, Max, Q
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe

from onboarding import provisioning, selectors, services
from onboarding.api import scopes
from onboarding.api.serializers import event_name_validator
from onboarding.choices import (
    OPEN_APPLICATION_STATUSES,
    ApplicationStatus,
    JobState,
    StepState,
)
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    PartnerApplication,
    PartnerDocument,
    ProvisioningJob,
    ProvisioningStep,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerhub import access
from partnerhub.admin import PartnerLinkMixin, register_partner_action
from partnerhub.admin_site import (
    ReadOnlyMixin,
    ScopedInline,
    ScopedModelAdmin,
    admin_url,
    after_action,
    badge,
    changelist_url,
    console,
    console_can,
    console_scoped,
    count_label,
    run_with_form,
    scope_rule,
    selected_rows,
    staff_with_model_perm,
)
from partnerhub.models import Partner, Tier

REVIEW_CLOCK_LIMIT = timedelta(days=2)  # of business time: Saturdays and Sundays do not count
STUCK_AFTER = timedelta(days=14)
ACTIVE_JOB_STATES = (JobState.PENDING, JobState.RUNNING)


class ConsoleMedia:
    css = {"all": ["onboarding/console.css"]}


# Scope rules ---------------------------------------------------------------------------------------------------


@scope_rule(PartnerApplication)
def _scope_applications(queryset, user, action):
    # Open and declined applications are every reviewer's; an approved one is its partner's (onboarding.api.scopes).
    return staff_with_model_perm(queryset, user, action).filter(selectors.reviewable_q(user))


@scope_rule(Agreement)
def _scope_agreements(queryset, user, action):
    # Versions exist once published; publishing is the only way to make one.
    return staff_with_model_perm(queryset, user, action).filter(published_at__isnull=False)


@scope_rule(ChecklistTemplate, ChecklistTemplateItem, WebhookEndpoint)
def _scope_program_data(queryset, user, action):
    return staff_with_model_perm(queryset, user, action)


@scope_rule(ProvisioningJob)
def _scope_jobs(queryset, user, action):
    if not access.is_vendor_staff(user):
        return queryset.none()
    return queryset.filter(pk__in=selectors.job_list(user=user, action=action).values("pk"))


@scope_rule(ProvisioningStep)
def _scope_steps(queryset, user, action):
    # Steps are read with their job and never edited by hand.
    if action != "view" or not access.is_vendor_staff(user):
        return queryset.none()
    return queryset.filter(job__in=selectors.job_list(user=user).values("pk"))


@scope_rule(WebhookDelivery)
def _scope_deliveries(queryset, user, action):
    # The delivery log is read-only operations data.
    if action != "view":
        return queryset.none()
    return queryset.filter(pk__in=selectors.delivery_list(user=user).values("pk"))


@scope_rule(WebhookAttempt)
def _scope_attempts(queryset, user, action):
    if action != "view":
        return queryset.none()
    return queryset.filter(delivery__in=selectors.delivery_list(user=user).values("pk"))


# Helpers -------------------------------------------------------------------------------------------------------


def _viewer(obj):
    """The user a change page is drawn for (set in ``render_change_form``; per request, on the object itself)."""
    return getattr(obj, "_console_viewer", None)


def _link_if_visible(user, obj, label=None) -> str:
    """A link to the object's console page when the user may open it; its name alone otherwise."""
    if obj is None:
        return "—"
    text = label if label is not None else str(obj)
    if user is not None and console_can(user, "view", obj):
        return format_html('<a href="{}">{}</a>', admin_url(obj), text)
    return text


def _paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs, the text itself escaped (applicants and partners write it)."""
    return mark_safe(linebreaks(text, autoescape=True))  # noqa: S308 (linebreaks escaped the text)


def business_time(start: datetime, end: datetime) -> timedelta:
    """Time between two moments that falls on weekdays (UTC): the review clock does not run at weekends."""
    if end <= start:
        return timedelta(0)
    weeks = (end - start).days // 7
    total = timedelta(days=5 * weeks)
    cursor = start + timedelta(days=7 * weeks)
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min, tzinfo=cursor.tzinfo)
        chunk_end = min(midnight, end)
        if cursor.weekday() < 5:
            total += chunk_end - cursor
        cursor = chunk_end
    return total


def duration_label(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(delta.total_seconds(), 0):.1f} s" if seconds < 10 else f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def clock_label(delta: timedelta) -> str:
    """The review clock in days and hours (hours and minutes under a day)."""
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def review_clock(application: PartnerApplication, now: datetime | None = None) -> tuple[timedelta, bool]:
    """Business time the application waited for (or took until) its decision, and whether that is too long."""
    end = application.decided_at or now or timezone.now()
    waited = business_time(application.submitted_at, end)
    return waited, waited > REVIEW_CLOCK_LIMIT


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


# Action pages --------------------------------------------------------------------------------------------------


def _text_field(label: str, *, max_length: int, required: bool = True, help_text: str = "", rows: int = 4):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 70}),
        error_messages={"required": f"Write the {label.lower()}."},
    )


class ApproveForm(forms.Form):
    tier = forms.ModelChoiceField(
        queryset=Tier.objects.order_by("rank"),
        required=False,
        empty_label="No tier yet",
        help_text="The tier the new partner starts on.",
    )
    note = _text_field("Note", max_length=2000, required=False, help_text="Kept as the decision; optional.", rows=3)


class RejectForm(forms.Form):
    reason = _text_field("Reason", max_length=2000, help_text="Sent to the applicant and kept with the decision.")


class RequestInfoForm(forms.Form):
    message = _text_field(
        "Message", max_length=4000, help_text="Sent to the applicant, who answers on the status page."
    )


class NoteForm(forms.Form):
    message = _text_field("Note", max_length=4000, help_text="For other reviewers only; never shown to the applicant.")


class OffboardForm(forms.Form):
    reason = _text_field(
        "Reason",
        max_length=500,
        help_text="Recorded in the audit trail and on the offboarding job. Users lose access and keys stop working; "
        "the partner's data is kept.",
        rows=3,
    )


# Applications --------------------------------------------------------------------------------------------------


class OpenFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("open", "Open"),
            ("ours", "Waiting for us"),
            ("applicant", "Waiting for the applicant"),
            ("decided", "Decided"),
        ]

    def queryset(self, request, queryset):
        return {
            "open": lambda: queryset.filter(status__in=OPEN_APPLICATION_STATUSES),
            "ours": lambda: queryset.filter(status=ApplicationStatus.SUBMITTED),
            "applicant": lambda: queryset.filter(status=ApplicationStatus.INFO_REQUESTED),
            "decided": lambda: queryset.exclude(status__in=OPEN_APPLICATION_STATUSES),
        }.get(self.value(), lambda: queryset)()


class DuplicatesFilter(admin.SimpleListFilter):
    title = "possible duplicates"
    parameter_name = "duplicates"

    def lookups(self, request, model_admin):
        return [("yes", "Flagged"), ("no", "None")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(duplicate_flags=[])
        if self.value() == "no":
            return queryset.filter(duplicate_flags=[])
        return queryset


@admin.register(PartnerApplication, site=console)
class PartnerApplicationAdmin(ScopedModelAdmin):
    list_display = [
        "company_name",
        "partner_type",
        "country",
        "status_badge",
        "review_clock_label",
        "duplicate_count",
        "submitted_at",
    ]
    list_display_links = ["company_name"]
    list_filter = [OpenFilter, "status", "partner_type", DuplicatesFilter, "country"]
    search_fields = ["company_name", "domain", "contact_email", "contact_last_name"]
    search_help_text = "Search by company, domain or the contact's e-mail or last name."
    ordering = ["-submitted_at", "-id"]
    list_per_page = 50
    actions = ["approve_applications", "request_information", "reject_applications", "add_note"]
    fieldsets = [
        (
            "Company",
            {"fields": ["company_name", "website", "domain", "country", "region", "partner_type", "came_through"]},
        ),
        ("Contact", {"fields": ["contact_name", "contact_email", "contact_phone", "contact_title"]}),
        ("Plans", {"fields": ["expected_annual_revenue", "expected_deals_per_quarter", "description"]}),
        (
            "Review",
            {
                "fields": [
                    "status_badge",
                    "review_clock_label",
                    "submitted_at",
                    "decided_at",
                    "decider",
                    "decision_reason",
                    "tier",
                    "partner_link",
                    "job_link",
                ]
            },
        ),
        ("Possible duplicates", {"fields": ["duplicate_list"]}),
        ("Thread", {"fields": ["thread"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("tier", "partner", "decided_by", "parent")

    def has_add_permission(self, request):
        return False  # applications come from the public form and the API

    def has_change_permission(self, request, obj=None):
        return False  # the applicant's answers are never edited; decisions are actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return access.is_vendor_staff(request.user) and request.user.has_perm("onboarding.review_partnerapplication")

    # Columns ------------------------------------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, application):
        return badge("application", application.status, application.get_status_display())

    @admin.display(description="Review clock", ordering="submitted_at")
    def review_clock_label(self, application):
        waited, late = review_clock(application)
        decided = application.decided_at is not None
        label = f"took {clock_label(waited)}" if decided else clock_label(waited)
        css = (
            "ph-clock ph-clock--late"
            if late and not decided
            else ("ph-clock ph-clock--done" if decided else "ph-clock")
        )
        return format_html('<span class="{}" title="Business time (weekdays) since submission">{}</span>', css, label)

    @admin.display(description="Duplicates")
    def duplicate_count(self, application):
        count = len(application.duplicate_flags or [])
        return format_html('<span class="ph-dup-count">{}</span>', count) if count else "—"

    @admin.display(description="Decided by")
    def decider(self, application):
        return application.decided_by.display_name if application.decided_by_id else "—"

    @admin.display(description="Contact")
    def contact_name(self, application):
        return application.contact_name

    @admin.display(description="Came through")
    def came_through(self, application):
        if application.parent_id is None:
            return "The vendor's own application form"
        return _link_if_visible(_viewer(application), application.parent)

    @admin.display(description="Business description")
    def description(self, application):
        return _paragraphs(application.business_description) if application.business_description else "—"

    @admin.display(description="Partner")
    def partner_link(self, application):
        return _link_if_visible(_viewer(application), application.partner)

    @admin.display(description="Provisioning job")
    def job_link(self, application):
        job = application.jobs.order_by("id").first()
        if job is None:
            return "—"
        label = format_html("#{} {}", job.pk, badge("job", job.state, job.get_state_display()))
        return _link_if_visible(_viewer(application), job, label)

    @admin.display(description="Matches")
    def duplicate_list(self, application):
        flags = scopes.visible_flags(
            application, selectors.flag_visibility(user=_viewer(application), applications=[application])
        )
        if not flags:
            return "No possible duplicates were found at submission."
        items = []
        for flag in flags:
            reason = "Same domain" if flag["kind"] == "same_domain" else "Similar name"
            if not flag["visible"]:
                target = format_html('<span class="ph-muted">A {} you cannot open</span>', flag["object"])
            else:
                model = Partner if flag["object"] == "partner" else PartnerApplication
                url = reverse(
                    f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                    args=[flag["id"]],
                    current_app=console.name,
                )
                target = format_html('{} <a href="{}">{}</a>', flag["object"].capitalize(), url, flag["label"])
            items.append((target, reason, flag["detail"]))
        rows = format_html_join("", "<li>{} <span class='ph-muted'>· {} ({})</span></li>", items)
        return format_html('<ul class="ph-flags">{}</ul>', rows)

    @admin.display(description="Messages")
    def thread(self, application):
        entries = list(application.messages.select_related("author").order_by("created_at", "id"))
        if not entries:
            return "No messages yet."
        rows = []
        for message in entries:
            author = message.author.display_name if message.author_id else "Applicant"
            kind = badge("message", message.kind, message.get_kind_display())
            rows.append((message.kind, kind, author, _local(message.created_at), _paragraphs(message.body)))
        items = format_html_join(
            "",
            '<li class="ph-thread__item ph-thread__item--{}"><div class="ph-thread__meta">{} <strong>{}</strong> '
            '<span class="ph-muted">{}</span></div><div class="ph-thread__body">{}</div></li>',
            rows,
        )
        return format_html('<ol class="ph-thread">{}</ol>', items)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            obj._console_viewer = request.user  # the read-only fields above check links against the viewer
            actions = self.get_actions(request)
            is_open = obj.status in OPEN_APPLICATION_STATUSES
            context["review_tools"] = {
                "approve": is_open and "approve_applications" in actions,
                "request_information": is_open and "request_information" in actions,
                "reject": is_open and "reject_applications" in actions,
                "note": "add_note" in actions,
                "changelist_url": changelist_url(PartnerApplication),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Decisions, through the services ------------------------------------------------------------------------

    @admin.action(description="Approve selected applications…", permissions=["review"])
    def approve_applications(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=ApproveForm,
            scope_action="view",
            page={
                "action": "approve_applications",
                "title": "Approve applications",
                "lead": "Each approved company becomes a partner: the provisioning job creates it, invites the "
                "contact as partner admin, issues integration credentials and starts the onboarding checklist.",
                "submit": "Approve and provision",
            },
            call=lambda a, data: services.application_approve(
                actor=request.user, application=a, tier=data["tier"], note=data["note"]
            ),
            done=lambda rows: f"Approved {count_label(len(rows), 'application')}; provisioning has started.",
        )

    @admin.action(description="Request information…", permissions=["review"])
    def request_information(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=RequestInfoForm,
            scope_action="view",
            page={
                "action": "request_information",
                "title": "Request information",
                "lead": "The applicant receives your message by e-mail and answers on their status page. The "
                "review clock keeps running from the original submission.",
                "submit": "Send the question",
            },
            call=lambda a, data: services.application_request_info(
                actor=request.user, application=a, message=data["message"]
            ),
            done=lambda rows: f"Asked {count_label(len(rows), 'applicant')} for more information.",
        )

    @admin.action(description="Reject selected applications…", permissions=["review"])
    def reject_applications(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=RejectForm,
            scope_action="view",
            page={
                "action": "reject_applications",
                "title": "Reject applications",
                "lead": "The applicant receives the reason by e-mail. A rejected application cannot be reopened.",
                "submit": "Reject",
                "danger": True,
            },
            call=lambda a, data: services.application_reject(actor=request.user, application=a, reason=data["reason"]),
            done=lambda rows: f"Rejected {count_label(len(rows), 'application')}.",
        )

    @admin.action(description="Add an internal note…", permissions=["review"])
    def add_note(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=NoteForm,
            scope_action="view",
            page={
                "action": "add_note",
                "title": "Add an internal note",
                "lead": "Internal notes are for reviewers and are never shown to the applicant.",
                "submit": "Add note",
            },
            call=lambda a, data: services.application_note(actor=request.user, application=a, message=data["message"]),
            done=lambda rows: f"Noted on {count_label(len(rows), 'application')}.",
        )


# Agreements ----------------------------------------------------------------------------------------------------


class AgreementForm(forms.ModelForm):
    class Meta:
        model = Agreement
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 18, "cols": 90})}
        help_texts = {
            "body": "The full text. Publishing creates the next version; every partner must accept it before using "
            "the portal again.",
        }


@admin.register(Agreement, site=console)
class AgreementAdmin(ScopedModelAdmin):
    form = AgreementForm
    list_display = ["title", "version", "published_at", "acceptances"]
    list_display_links = ["title"]
    ordering = ["-version"]
    search_fields = ["title"]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        # Count only acceptances of partners this user sees: the list reveals nothing outside the scope.
        visible = access.scoped(Partner.objects.all(), request.user, "view").values("pk")
        return queryset.select_related("created_by").annotate(
            visible_acceptances=Count("acceptances", filter=Q(acceptances__partner__in=visible))
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["title", "body"]
        return ["title", "version", "published_at", "created_by", "sha256", "acceptances", "text"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # a published version is never edited: publish a new one

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Accepted by", ordering="visible_acceptances")
    def acceptances(self, agreement):
        count = agreement.visible_acceptances
        url = f"{changelist_url(AgreementAcceptance)}?agreement__id__exact={agreement.pk}"
        return format_html('<a href="{}">{}</a>', url, count_label(count, "partner"))

    @admin.display(description="Text")
    def text(self, agreement):
        return format_html('<div class="ph-agreement">{}</div>', _paragraphs(agreement.body))

    def save_model(self, request, obj, form, change):
        saved = services.agreement_publish(
            actor=request.user, title=form.cleaned_data["title"], body=form.cleaned_data["body"]
        )
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(AgreementAcceptance, site=console)
class AgreementAcceptanceAdmin(ReadOnlyMixin, PartnerLinkMixin, ScopedModelAdmin):
    list_display = ["partner_link", "version", "who", "accepted_at", "ip_address", "client"]
    list_display_links = None
    list_filter = ["version"]
    search_fields = ["partner__name", "accepted_by__email", "accepted_by__last_name"]
    ordering = ["-accepted_at", "-id"]
    fields = ["partner_link", "agreement", "version", "sha256", "who", "accepted_at", "ip_address", "user_agent"]
    readonly_fields = fields

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "accepted_by", "agreement")

    def lookup_allowed(self, lookup, value, request=None):
        if lookup == "agreement__id__exact":
            return True  # links from an agreement version; the list stays scoped either way
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="Accepted by", ordering="accepted_by__last_name")
    def who(self, acceptance):
        user = acceptance.accepted_by
        return f"{user.display_name} <{user.email}>" if user.email else user.display_name

    @admin.display(description="Browser")
    def client(self, acceptance):
        agent = acceptance.user_agent or "—"
        return agent if len(agent) <= 60 else f"{agent[:59]}…"


# Checklists ----------------------------------------------------------------------------------------------------


class ChecklistTemplateItemInline(ScopedInline, admin.TabularInline):
    model = ChecklistTemplateItem
    fields = ["position", "key", "title", "due_days", "event", "url", "description"]
    ordering = ["position", "id"]
    extra = 1
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})},
        models.URLField: {"assume_scheme": "https"},
    }


@admin.register(ChecklistTemplate, site=console)
class ChecklistTemplateAdmin(ScopedModelAdmin):
    list_display = ["name", "partner_type", "tier", "is_active", "item_count"]
    list_display_links = ["name"]
    list_filter = ["is_active", "partner_type"]
    search_fields = ["name"]
    ordering = ["name", "id"]
    fields = ["name", "partner_type", "tier", "is_active"]
    inlines = [ChecklistTemplateItemInline]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("tier").annotate(items_count=Count("items"))

    @admin.display(description="Items", ordering="items_count")
    def item_count(self, template):
        return template.items_count


class ItemStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("overdue", "Overdue"), ("done", "Done")]

    def queryset(self, request, queryset):
        now = timezone.now()
        return {
            "open": lambda: queryset.filter(completed_at__isnull=True),
            "overdue": lambda: queryset.filter(completed_at__isnull=True, due_at__lt=now),
            "done": lambda: queryset.filter(completed_at__isnull=False),
        }.get(self.value(), lambda: queryset)()


@admin.register(ChecklistItem, site=console)
class ChecklistItemAdmin(PartnerLinkMixin, ScopedModelAdmin):
    list_display = ["title", "partner_link", "state_badge", "due_at", "completed_at", "completed_by"]
    list_display_links = ["title"]
    list_filter = [ItemStateFilter, "event"]
    search_fields = ["title", "key", "partner__name"]
    ordering = ["partner__name", "position", "id"]
    fields = [
        "partner_link",
        "title",
        "key",
        "description",
        "url",
        "event",
        "due_at",
        "state_badge",
        "completed_at",
        "completed_by",
        "completed_automatically",
    ]
    readonly_fields = fields
    actions = ["tick_off"]
    list_per_page = 100

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "completed_by")

    def has_add_permission(self, request):
        return False  # items are copied from a template when the partner is provisioned

    def has_change_permission(self, request, obj=None):
        return False  # ticked off through the action, by the service

    def has_delete_permission(self, request, obj=None):
        return False

    def has_tick_permission(self, request):
        return request.user.has_perm("onboarding.change_checklistitem")

    @admin.display(description="State")
    def state_badge(self, item):
        if item.is_done:
            return badge("item", "done", "Done")
        if item.is_overdue:
            return badge("item", "overdue", "Overdue")
        return badge("item", "open", "Open")

    @admin.action(description="Tick off selected items", permissions=["tick"])
    def tick_off(self, request, queryset):
        items = selected_rows(self, request, queryset, "change")
        done = [
            i
            for i in items
            if not i.is_done
            and self.run_service(
                request, i, lambda i=i: services.checklist_item_set_done(actor=request.user, item=i, done=True)
            )
        ]
        if done:
            self.message_user(request, f"Ticked off {count_label(len(done), 'item')}.", messages.SUCCESS)

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "progress/",
                self.admin_site.admin_view(self.progress_view),
                name=f"{opts.app_label}_{opts.model_name}_progress",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"progress_url": reverse("admin:onboarding_checklistitem_progress", current_app=self.admin_site.name)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def progress_view(self, request):
        """Every partner in scope with a checklist: done, total, overdue, last progress, and a "stuck" filter
        (overdue items, or nothing ticked off for 14 days). Two queries per page, whatever the partner count."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        cutoff = now - STUCK_AFTER
        rows = selectors.checklist_progress(user=request.user).annotate(last_done=Max("checklist_items__completed_at"))
        stuck_q = Q(checklist_overdue__gt=0) | (
            Q(checklist_done__lt=models.F("checklist_total"))
            & (Q(last_done__lt=cutoff) | Q(last_done__isnull=True, created_at__lt=cutoff))
        )
        rows = rows.annotate(is_stuck=models.ExpressionWrapper(stuck_q, output_field=models.BooleanField()))
        show = request.GET.get("show", "")
        if show == "stuck":
            rows = rows.filter(stuck_q)
        elif show == "complete":
            rows = rows.filter(checklist_done=models.F("checklist_total"))
        search = (request.GET.get("q") or "").strip()[:100]
        if search:
            rows = rows.filter(name__icontains=search)
        page = Paginator(rows.order_by("name", "id"), 50).get_page(request.GET.get("p"))
        items_url = changelist_url(ChecklistItem)
        entries = [
            {
                "partner": partner,
                "done": partner.checklist_done,
                "total": partner.checklist_total,
                "overdue": partner.checklist_overdue,
                "percent": round(100 * partner.checklist_done / partner.checklist_total),
                "bar": round(160 * partner.checklist_done / partner.checklist_total),
                "last_done": partner.last_done,
                "stuck": partner.is_stuck,
                "items_url": f"{items_url}?partner__id__exact={partner.pk}",
                "overdue_url": f"{items_url}?partner__id__exact={partner.pk}&state=overdue",
                "partner_url": admin_url(partner),
            }
            for partner in page.object_list
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Checklist progress",
            "opts": self.opts,
            "entries": entries,
            "page": page,
            "show": show,
            "q": search,
            "items_url": items_url,
            "stuck_days": STUCK_AFTER.days,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/onboarding/checklist_progress.html", context)


# Provisioning jobs ---------------------------------------------------------------------------------------------


@admin.register(ProvisioningJob, site=console)
class ProvisioningJobAdmin(PartnerLinkMixin, ScopedModelAdmin):
    list_display = ["job_title", "subject", "state_badge", "progress", "current_step_title", "duration", "created_at"]
    list_display_links = ["job_title"]
    list_filter = ["state", "kind"]
    search_fields = ["partner__name", "application__company_name"]
    ordering = ["-created_at", "-id"]
    actions = ["retry_jobs"]
    fields = [
        "job_title",
        "state_badge",
        "subject",
        "application_link",
        "requester",
        "reason",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
        "runs",
        "last_error",
    ]
    readonly_fields = fields
    change_form_template = "admin/onboarding/provisioningjob/change_form.html"

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "application", "requested_by").annotate(
            steps_total=Count("steps"), steps_done=Count("steps", filter=Q(steps__state=StepState.SUCCEEDED))
        )

    def has_add_permission(self, request):
        return False  # jobs start from an approval or an offboarding

    def has_change_permission(self, request, obj=None):
        return False  # only retried, through the action

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return access.is_vendor_staff(request.user) and request.user.has_perm("onboarding.retry_provisioningjob")

    @admin.display(description="Job", ordering="id")
    def job_title(self, job):
        return f"#{job.pk} {job.get_kind_display()}"

    @admin.display(description="For")
    def subject(self, job):
        if job.partner_id:
            return format_html('<a href="{}">{}</a>', admin_url(job.partner), job.partner.name)
        if job.application_id:
            return format_html("{} <span class='ph-muted'>(application)</span>", job.application.company_name)
        return "—"

    @admin.display(description="Requested by")
    def requester(self, job):
        return job.requested_by.display_name if job.requested_by_id else "The system"

    @admin.display(description="Application")
    def application_link(self, job):
        if not job.application_id:
            return "—"
        return _link_if_visible(_viewer(job), job.application, job.application.company_name)

    @admin.display(description="State", ordering="state")
    def state_badge(self, job):
        return badge("job", job.state, job.get_state_display())

    @admin.display(description="Steps")
    def progress(self, job):
        total = getattr(job, "steps_total", 0) or 0
        done = getattr(job, "steps_done", 0) or 0
        width = round(80 * done / total) if total else 0
        return format_html(
            '<span class="ph-progress"><svg width="80" height="8" viewBox="0 0 80 8" aria-hidden="true">'
            '<rect width="80" height="8" rx="4" class="ph-progress__track"/>'
            '<rect width="{}" height="8" rx="4" class="ph-progress__bar ph-progress__bar--{}"/></svg> {} / {}</span>',
            width,
            job.state,
            done,
            total,
        )

    @admin.display(description="Current step")
    def current_step_title(self, job):
        if not job.current_step or job.state == JobState.SUCCEEDED:
            return "—"
        try:
            return provisioning.definition(job.current_step).title
        except KeyError:
            return job.current_step

    @admin.display(description="Duration")
    def duration(self, job):
        return duration_label(job.duration)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            obj._console_viewer = request.user
            steps = list(obj.steps.order_by("position", "id"))
            done = sum(1 for step in steps if step.state == StepState.SUCCEEDED)
            context["job_panel"] = {
                "job": obj,
                "steps": [
                    {
                        "step": step,
                        "badge": badge("step", step.state, step.get_state_display()),
                        "started": _local(step.started_at),
                        "finished": _local(step.finished_at),
                        "duration": duration_label(step.duration),
                    }
                    for step in steps
                ],
                "done": done,
                "total": len(steps),
                "bar": round(240 * done / len(steps)) if steps else 0,
                "live": obj.state in ACTIVE_JOB_STATES,
                "api_url": reverse("provisioning-job-detail", args=[obj.pk]),
                "labels": json.dumps(
                    {"job": dict(JobState.choices), "step": dict(StepState.choices)}, separators=(",", ":")
                ),
                "retry": obj.state == JobState.FAILED
                and "retry_jobs" in self.get_actions(request)
                and console_can(request.user, "change", obj),
                "changelist_url": changelist_url(ProvisioningJob),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description="Retry failed steps", permissions=["retry"])
    def retry_jobs(self, request, queryset):
        jobs = selected_rows(self, request, queryset, "change")
        retried = [
            j for j in jobs if self.run_service(request, j, lambda j=j: services.job_retry(actor=request.user, job=j))
        ]
        if retried:
            self.message_user(request, f"Retrying {count_label(len(retried), 'job')}.", messages.SUCCESS)
        return after_action(request, jobs)


# Webhooks ------------------------------------------------------------------------------------------------------


class EventListField(forms.CharField):
    """Event names separated by commas or spaces; empty means every event."""

    def to_python(self, value):
        names = [name for name in (value or "").replace(",", " ").split() if name]
        for name in names:
            if len(name) > 60:
                raise ValidationError(f"{name[:20]}… is longer than 60 characters.")
            event_name_validator(name)
        if len(names) > 20:
            raise ValidationError("List at most 20 events, or leave the field empty for every event.")
        return sorted(set(names))

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where PartnerHub posts signed events (http or https).",
    )
    events = EventListField(
        required=False,
        help_text="Event names separated by commas, e.g. partner.provisioned, partner.offboarded. Empty: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "is_active"]


@admin.register(WebhookEndpoint, site=console)
class WebhookEndpointAdmin(ScopedModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "event_list", "is_active", "secret_hint", "created_at"]
    list_display_links = ["name"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    ordering = ["name", "id"]

    Media = ConsoleMedia

    def get_fields(self, request, obj=None):
        base = ["name", "url", "events", "is_active"]
        return base if obj is None else [*base, "secret_hint", "created_at", "deliveries"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["secret_hint", "created_at", "deliveries"]

    @admin.display(description="Events")
    def event_list(self, endpoint):
        return ", ".join(endpoint.events) or "Every event"

    @admin.display(description="Signing secret")
    def secret_hint(self, endpoint):
        return format_html("<code>whsec_…{}</code>", endpoint.secret[-4:])

    @admin.display(description="Deliveries")
    def deliveries(self, endpoint):
        url = f"{changelist_url(WebhookDelivery)}?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">Delivery log</a>', url)

    def response_add(self, request, obj, post_url_continue=None):
        """Show the signing secret once, on this page only: it is never displayed again (nor put in a message,
        which would keep it in the session)."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy the signing secret",
            "opts": self.opts,
            "endpoint": obj,
            "change_url": admin_url(obj),
            "changelist_url": changelist_url(WebhookEndpoint),
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, "admin/onboarding/webhookendpoint/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response


class WebhookAttemptInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = WebhookAttempt
    fields = ["when", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Attempts"

    @admin.display(description="Attempted at")
    def when(self, attempt):
        return _local(attempt.attempted_at)


@admin.register(WebhookDelivery, site=console)
class WebhookDeliveryAdmin(ReadOnlyMixin, PartnerLinkMixin, ScopedModelAdmin):
    list_display = [
        "event",
        "endpoint",
        "partner_link",
        "state_badge",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]
    list_display_links = ["event"]
    list_filter = ["state", "event", "endpoint"]
    search_fields = ["event_id", "partner__name"]
    ordering = ["-created_at", "-id"]
    fields = [
        "event",
        "event_id",
        "endpoint",
        "partner_link",
        "job",
        "state_badge",
        "attempts",
        "created_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload_json",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("endpoint", "partner")

    def lookup_allowed(self, lookup, value, request=None):
        if lookup == "endpoint__id__exact":
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="State", ordering="state")
    def state_badge(self, delivery):
        return badge("delivery", delivery.state, delivery.get_state_display())

    @admin.display(description="Payload")
    def payload_json(self, delivery):
        return format_html('<pre class="ph-json">{}</pre>', json.dumps(delivery.payload, indent=2, sort_keys=True))


# Documents -----------------------------------------------------------------------------------------------------


@admin.register(PartnerDocument, site=console)
class PartnerDocumentAdmin(PartnerLinkMixin, ScopedModelAdmin):
    list_display = ["original_name", "partner_link", "kind", "content_type", "size_label", "uploader", "uploaded_at"]
    list_display_links = ["original_name"]
    list_filter = ["kind", "content_type"]
    search_fields = ["original_name", "partner__name"]
    ordering = ["-uploaded_at", "-id"]
    fields = [
        "partner_link",
        "kind",
        "original_name",
        "content_type",
        "size_label",
        "uploader",
        "uploaded_at",
        "file_link",
    ]
    readonly_fields = fields

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "uploaded_by")

    def has_add_permission(self, request):
        return False  # partner admins upload through the portal

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Size", ordering="size")
    def size_label(self, document):
        size = document.size
        return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"

    @admin.display(description="Uploaded by", ordering="uploaded_by__last_name")
    def uploader(self, document):
        return document.uploaded_by.display_name

    @admin.display(description="File")
    def file_link(self, document):
        url = reverse("admin:onboarding_partnerdocument_download", args=[document.pk], current_app=console.name)
        return format_html('<a href="{}">Download {}</a>', url, document.original_name)

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name=f"{opts.app_label}_{opts.model_name}_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, object_id):
        """The file, for staff who may open the document (the same 404 for missing and out of scope)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = (
            console_scoped(PartnerDocument.objects.all(), request.user, "view")
            .filter(pk=_int_or_none(object_id))
            .first()
        )
        if document is None:
            raise Http404("Not found.")
        try:
            handle = document.file.open("rb")
        except (FileNotFoundError, OSError):
            raise Http404("The file is missing.") from None
        extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(
            document.content_type, "bin"
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"{document.get_kind_display().lower().replace(' ', '-')}-{document.partner_id}.{extension}",
            content_type=document.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response


def _int_or_none(value) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None


# Offboarding from the partner list -----------------------------------------------------------------------------


@admin.action(description="Offboard selected partners…", permissions=["change_status"])
def offboard_partners(modeladmin, request, queryset):
    """Start offboarding for each selected partner the user may change (onboarding.services.partner_offboard)."""
    jobs = []

    def offboard(partner, data):
        jobs.append(services.partner_offboard(actor=request.user, partner=partner, reason=data["reason"]))

    response = run_with_form(
        modeladmin,
        request,
        queryset,
        form_class=OffboardForm,
        scope_action="change",
        page={
            "action": "offboard_partners",
            "title": "Offboard partners",
            "lead": "Offboarding deactivates every user of the partner, revokes its API keys and channel manager "
            "grants and marks it offboarded. Its data and audit trail are kept. A job does the work; you can "
            "follow it under Provisioning jobs.",
            "submit": "Start offboarding",
            "danger": True,
        },
        call=offboard,
        done=lambda rows: format_html(
            'Offboarding started for {}. <a href="{}">Follow {}</a>.',
            count_label(len(rows), "partner"),
            admin_url(jobs[0]) if len(jobs) == 1 else f"{changelist_url(ProvisioningJob)}?kind__exact=deprovision",
            "the job" if len(jobs) == 1 else "the jobs",
        ),
    )
    return response


register_partner_action(offboard_partners)
