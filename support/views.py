"""Support pages: the partner's desk and tickets, the vendor agents' queue, the knowledge base, and the
partner-branded help center for end customers.

Views are thin: reads come from ``support.selectors`` (the access layer behind them), writes go through
``support.services``; a service's ``DomainError`` becomes a 4xx answer with its message next to the field it
names, and nothing is saved. Another partner's ticket, attachment or article answers 404.

Who sees what:

* partner users (``portal_view``): their active partner's tickets; never vendor notes, vendor-only history or
  their attachments. Vendor staff who open these pages are sent to the agents' pages;
* vendor staff with ``support.view_ticket`` (``agent_view``): escalated tickets of the partners in their scope,
  with everything on them;
* end customers (the help center, on the partner's own host only): their own ticket's public messages, by the
  signed link in their e-mail. Customers are never signed in.
"""

from __future__ import annotations

import secrets
from functools import lru_cache, wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from partnerhub import access, portal
from partnerhub import selectors as core_selectors
from partnerhub.errors import DomainError
from partnerhub.forms import add_domain_error
from partnerhub.pagination import Paginator
from partnerhub.timesince import timesince, timeuntil
from partnerhub.views.mixins import forbidden, portal_view
from support import selectors, services
from support.choices import ACTIVE_STATUSES, TicketStatus, Visibility
from support.forms import (
    HONEYPOT_FIELD,
    AgentStatusForm,
    ArticleForm,
    AssignForm,
    BulkActionForm,
    CustomerReplyForm,
    EscalateForm,
    HelpRequestForm,
    PriorityForm,
    RateForm,
    ReplyForm,
    StatusForm,
    TicketForm,
    VendorAssignForm,
    VoteForm,
    suggest_while_typing,
)
from support.models import Category

PAGE_SIZE = 50
KB_PAGE_SIZE = 20
KB_COUNT_LIMIT = 1000  # a search counts its matches up to here ("more than 1,000")
KB_OWN_LATEST = 5  # the team's own articles in the knowledge base's side card
SOON_SECONDS = 60 * 60
SORTS = {
    "due": ("SLA due", (F("sla_due").asc(nulls_last=True), "-id")),
    "newest": ("Newest", ("-id",)),
    "updated": ("Recently updated", ("-updated_at", "-id")),
}
DESK_TABS = [
    ("open", "Open"),
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("escalated", "Escalated"),
    ("resolved", "Resolved"),
    ("all", "All"),
]
AGENT_TABS = [("open", "Open"), ("mine", "Mine"), ("unassigned", "Unassigned"), ("all", "All")]
HELP_REQUEST_LIMIT = 5
HELP_REQUEST_WINDOW_SECONDS = 60 * 60
HELP_SENT_SESSION_KEY = "support_help_request_sent"
HELP_VISITOR_SESSION_KEY = "support_help_visitor"


# Gates ---------------------------------------------------------------------------------------------------------


def partner_page(view=None, *, admin: bool = False, staff_url=None):
    """A portal page of support (``portal_view``). Vendor staff are sent to ``staff_url(**kwargs)`` when given:
    they work tickets on the agents' pages, not as a partner."""

    def decorator(func):
        guarded = portal_view(func, admin=admin)

        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if staff_url is not None and access.is_vendor_staff(request.user):
                return redirect(staff_url(**kwargs))
            return guarded(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def agent_view(func):
    """The vendor agents' pages: vendor staff with ``support.view_ticket``. Partner users are sent to the
    matching portal page, where their own scope applies."""

    @wraps(func)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not access.is_vendor_staff(user):
            return redirect(reverse("support:ticket", kwargs=kwargs) if kwargs else reverse("support:desk"))
        if not user.has_perm("support.view_ticket"):
            return forbidden(request, "Your role does not include support tickets. Ask partner operations for it.")
        return func(request, *args, **kwargs)

    return wrapper


def _help_partner(request):
    """The partner whose help center this host is, or 404: the help center lives on partners' hosts only."""
    brand = getattr(request, "host_brand", None)
    if brand is None or not brand.partner.can_sign_in:
        raise Http404("Not found.")
    return brand.partner


def _private(response):
    """Capability-link pages (a token in the address): never cached, never indexed, never sent as a Referer."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store, private"
    return response


def _fail(form, exc: DomainError) -> int:
    add_domain_error(form, exc)
    return exc.status_code


def _report_failure(request, form) -> None:
    """Say what went wrong at the top of the page too: side forms and hidden forms have little room."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = f"{field.label or name.replace('_', ' ').capitalize()}: " if field is not None else ""
        messages.error(request, f"Nothing was saved. {label}{errors[0]}")
        return
    messages.error(request, "Nothing was saved. Check the form and try again.")


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _download(attachment):
    """Always a download, never rendered by the browser: the stored type is the sniffed one, and nosniff."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@lru_cache(maxsize=64)
def _month_names(language: str | None) -> tuple[str, ...]:
    """dateformat's "M" for each month (index 1 to 12) in ``language``, translated once per process."""
    return ("", *(str(MONTHS_3[month]).title() for month in range(1, 13)))


class _Stamp:
    """A moment as a list row shows it: ``iso`` for ``<time datetime>``, ``title`` for the hover text (local time).

    Formatted here once per row: the same ``|date`` filters in the row templates cost more than the rest of
    the cell. ``zone`` and ``months`` (``_month_names``) are looked up once per list by ``_mark_sla``: the active
    time zone and language are request-local lookups that cost more than the formatting itself."""

    __slots__ = ("iso", "title")

    def __init__(self, moment, zone=None, months=None):
        local = moment.astimezone(zone or timezone.get_current_timezone())  # timezone.localtime
        self.iso = local.isoformat()  # dateformat's "c"
        # dateformat's "M j, Y H:i e", without parsing the format on every row
        month = (months or _month_names(get_language()))[local.month]
        self.title = f"{month} {local.day}, {local.year:04d} {local.hour:02d}:{local.minute:02d} {local.tzname() or ''}"


def _mark_sla(tickets, now=None) -> None:
    """For the list columns: ``sla_state`` — breached (red), soon (< 1 h, amber) or ok — and short relative times
    (``sla_label``, ``updated_label``: one unit, "3 hours")."""
    now = now or timezone.now()
    zone, months = timezone.get_current_timezone(), _month_names(get_language())
    for ticket in tickets:
        due = getattr(ticket, "sla_due", None)
        ticket.updated_label = timesince(ticket.updated_at, now)
        ticket.updated_stamp = _Stamp(ticket.updated_at, zone, months)
        ticket.escalated_label = timesince(ticket.escalated_at, now) if ticket.escalated_at else ""
        ticket.escalated_stamp = _Stamp(ticket.escalated_at, zone, months) if ticket.escalated_at else None
        ticket.sla_label = ""
        ticket.sla_stamp = _Stamp(due, zone, months) if due is not None else None
        if due is None:
            ticket.sla_state = ""
        elif due <= now:
            ticket.sla_state = "breached"
            ticket.sla_label = timesince(due, now)
        else:
            ticket.sla_state = "soon" if (due - now).total_seconds() < SOON_SECONDS else "ok"
            ticket.sla_label = timeuntil(due, now)


def _team_users(request) -> list:
    return [m.user for m in core_selectors.partner_team(user=request.user, partner=request.partner)[:200]]


# Partner desk --------------------------------------------------------------------------------------------------


def _desk_context(request, *, bulk_form=None) -> dict:
    params = request.GET if request.method == "GET" else request.POST
    queue = params.get("queue", "open")
    if queue not in dict(DESK_TABS):
        queue = "open"
    search = (params.get("q") or "").strip()[:200]
    sort = params.get("sort") or ("due" if queue in ("breaching", "open", "mine", "unassigned") else "newest")
    if sort not in SORTS:
        sort = "newest"
    tickets = selectors.with_sla_due(
        selectors.desk(user=request.user, partner=request.partner, queue=queue, search=search)
    ).order_by(*SORTS[sort][1])
    page = Paginator(tickets, PAGE_SIZE).get_page(params.get("page"))
    _mark_sla(page.object_list)
    team = _team_users(request)
    counts = selectors.desk_counts(user=request.user, partner=request.partner)
    state = {"queue": queue, "q": search, "sort": sort}
    return {
        "tabs": [(key, label, counts[key]) for key, label in DESK_TABS],
        "queue": queue,
        "search": search,
        "sort": sort,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "page": page,
        "query": urlencode({k: v for k, v in state.items() if v}),
        "bulk_form": bulk_form or BulkActionForm(team=team, me=request.user, auto_id="bulk-%s"),
        "now": timezone.now(),
    }


@require_http_methods(["GET", "POST"])
@partner_page(staff_url=lambda: reverse("support:agent_queue"))
def desk(request):
    """The partner's desk: queues with counts, search by reference or text, and bulk changes."""
    status = 200
    bulk_form = None
    if request.method == "POST":
        bulk_form = BulkActionForm(request.POST, team=_team_users(request), me=request.user, auto_id="bulk-%s")
        if bulk_form.is_valid():
            ids = bulk_form.cleaned_data["ticket"]
            tickets = list(selectors.desk(user=request.user, partner=request.partner, queue="all").filter(pk__in=ids))
            if len(tickets) != len(ids):
                raise Http404("Not found.")
            try:
                count = services.tickets_bulk_update(actor=request.user, tickets=tickets, **bulk_form.service_kwargs())
            except DomainError as exc:
                status = exc.status_code
                messages.error(request, f"Nothing was changed. {exc.message}")
            else:
                messages.success(request, f"{count} ticket{'' if count == 1 else 's'} updated.")
                return redirect(_safe_next(request, reverse("support:desk")))
        else:
            status = 400
            errors = [e for field_errors in bulk_form.errors.values() for e in field_errors]
            messages.error(request, "Nothing was changed. " + " ".join(errors))
    return render(request, "support/desk.html", _desk_context(request, bulk_form=bulk_form), status=status)


@require_http_methods(["GET", "POST"])
@partner_page(staff_url=lambda: reverse("support:agent_queue"))
def ticket_new(request):
    """Open a ticket for the active partner; suggested articles appear while the subject is typed."""
    team = _team_users(request)
    status = 200
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES, team=team, me=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():  # a refused ticket leaves no new customer behind
                    customer = None
                    if data["requester_kind"] == "customer":
                        customer = services.customer_get_or_create(
                            actor=request.user,
                            partner=request.partner,
                            email=data["customer_email"],
                            name=data["customer_name"],
                        )
                    ticket = services.ticket_open(
                        partner=request.partner,
                        actor=request.user,
                        subject=data["subject"],
                        description=data["description"],
                        category=data["category"],
                        priority=data["priority"],
                        customer=customer,
                        requester=data["requester_user"],
                        attachments=data["attachments"],
                    )
            except DomainError as exc:
                status = _fail(form, exc)
            else:
                messages.success(request, f"Ticket {ticket.reference} is open.")
                return redirect("support:ticket", pk=ticket.pk)
        else:
            status = 400
    else:
        form = TicketForm(team=team, me=request.user)
    suggest_while_typing(form, reverse("support:suggest"))
    customers = selectors.customer_list(user=request.user, partner=request.partner).order_by("-created_at")[:50]
    context = {"form": form, "customers": customers}
    return render(request, "support/ticket_new.html", context, status=status)


@require_GET
@partner_page
def suggest(request):
    """Articles that may answer the ticket being written (htmx fragment)."""
    text = " ".join(request.GET.get(name, "") for name in ("q", "subject", "description"))[:1000]
    articles = selectors.suggest_articles(partner=request.partner, text=text)
    return render(request, "support/_suggestions.html", {"articles": articles, "article_url": "support:article"})


# Partner ticket page -------------------------------------------------------------------------------------------

PARTNER_ACTIONS = ("reply", "status", "assign", "priority", "escalate", "rate")


def _partner_ticket(request, pk):
    """The ticket, if it belongs to the active partner and the user may see it; else 404."""
    tickets = selectors.ticket_list(user=request.user, partner=request.partner)
    return access.access_object(tickets, request.user, pk)


def _ticket_forms(request, ticket, team, bound=None) -> dict:
    forms = {
        "reply": ReplyForm(),
        "status": StatusForm(initial={"status": ticket.status if ticket.status != TicketStatus.ESCALATED else ""}),
        "assign": AssignForm(team=team, initial={"assignee": ticket.assignee_id or ""}),
        "priority": PriorityForm(initial={"priority": ticket.priority}),
        "escalate": EscalateForm(),
        "rate": RateForm(),
    }
    if bound is not None:
        forms[bound[0]] = bound[1]
    return forms


@require_http_methods(["GET", "POST"])
@partner_page(staff_url=lambda pk: reverse("support:agent_ticket", args=[pk]))
def ticket(request, pk: int):
    """One ticket: the thread (public replies and internal notes), history, SLA and the team's actions."""
    ticket = _partner_ticket(request, pk)
    team = _team_users(request)
    status, bound = 200, None
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in PARTNER_ACTIONS:
            messages.error(request, "Choose an action on the ticket page.")
            status = 400
        else:
            form, done = _partner_action(request, ticket, action, team)
            if done:
                messages.success(request, done)
                return redirect(reverse("support:ticket", args=[ticket.pk]) + ("#thread" if action == "reply" else ""))
            status, bound = form.status_code, (action, form)
            _report_failure(request, form)
            ticket = _partner_ticket(request, pk)  # the page shows the ticket as it is, not half-changed
    context = {
        "ticket": ticket,
        "thread": selectors.messages_for(user=request.user, ticket=ticket),
        "events": selectors.events_for(user=request.user, ticket=ticket),
        "clocks": list(selectors.clocks_for(user=request.user, ticket=ticket)),
        "forms": _ticket_forms(request, ticket, team, bound),
        "failed_action": bound[0] if bound else "",
        "is_requester": ticket.requester_user_id == request.user.pk,
        "now": timezone.now(),
    }
    return render(request, "support/ticket.html", context, status=status)


def _partner_action(request, ticket, action: str, team):
    """Run one action of the ticket page. Returns (form, success message or None); a failed form carries
    ``status_code``."""
    user = request.user
    form_classes = {
        "reply": lambda: ReplyForm(request.POST, request.FILES),
        "status": lambda: StatusForm(request.POST),
        "assign": lambda: AssignForm(request.POST, team=team),
        "priority": lambda: PriorityForm(request.POST),
        "escalate": lambda: EscalateForm(request.POST),
        "rate": lambda: RateForm(request.POST),
    }
    form = form_classes[action]()
    form.status_code = 400
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        if action == "reply":
            services.ticket_reply(
                ticket=ticket,
                actor=user,
                body=data["body"],
                visibility=data["visibility"],
                attachments=data["attachments"],
            )
            return form, "Internal note added." if data["visibility"] == Visibility.PARTNER_NOTE else "Reply sent."
        if action == "status":
            services.ticket_set_status(actor=user, ticket=ticket, status=data["status"], note=data["note"])
            return form, f"Status set to {TicketStatus(data['status']).label.lower()}."
        if action == "assign":
            services.ticket_assign(actor=user, ticket=ticket, assignee=form.user)
            return form, f"Assigned to {form.user}." if form.user else "The ticket is unassigned."
        if action == "priority":
            services.ticket_set_priority(actor=user, ticket=ticket, priority=data["priority"])
            return form, "Priority changed."
        if action == "escalate":
            services.ticket_escalate(actor=user, ticket=ticket, reason=data["reason"])
            return form, "Escalated to the vendor's support team."
        services.ticket_rate(actor=user, ticket=ticket, rating=data["rating"], comment=data["comment"])
        return form, "Thank you for rating the support you got."
    except DomainError as exc:
        form.status_code = _fail(form, exc)
        return form, None


@require_GET
def attachment(request, pk: int):
    """Download an attachment of a ticket in scope whose message the reader may read (partner users never get
    one on a vendor note); anything else is 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _download(selectors.access_attachment(user=request.user, pk=pk))


# Knowledge base (portal) ---------------------------------------------------------------------------------------


@require_GET
@partner_page(staff_url=lambda: reverse("console:index"))
def kb(request):
    """Articles the active partner may read: ranked search with highlighted snippets, a page at a time, filtered
    by category. Its admins also see their team's own articles, drafts included (``?mine=1``: all of them)."""
    articles = selectors.article_list(user=request.user, partner=request.partner).select_related("category")
    categories = list(Category.objects.all())
    chosen = next((c for c in categories if c.slug == request.GET.get("category")), None)
    if chosen is not None:
        articles = articles.filter(category=chosen)
    search = (request.GET.get("q") or "").strip()[:200]
    is_admin = portal.is_partner_admin(request)
    mine = is_admin and not search and request.GET.get("mine") == "1"
    state = {"q": search, "category": chosen.slug if chosen else "", "mine": "1" if mine else ""}
    context = {
        "search": search,
        "categories": categories,
        "category": chosen,
        "mine": mine,
        "query": urlencode({k: v for k, v in state.items() if v}),
    }
    number = request.GET.get("page")
    own = selectors.own_articles(user=request.user, partner=request.partner).order_by("-updated_at", "-id")
    if search:
        context["page"] = _search_page(articles, search, number)
    elif mine:
        mine_list = own if chosen is None else own.filter(category=chosen)
        context["page"] = Paginator(mine_list.defer("body", "search_vector"), KB_PAGE_SIZE).get_page(number)
    else:
        context["page"] = Paginator(articles.order_by("-published_at", "-id"), KB_PAGE_SIZE).get_page(number)
    if is_admin:
        # The latest few in the side card; all of them are a click away (``?mine=1``).
        context["show_own"] = True
        context["own_articles"] = list(
            own.select_related(None).only("id", "partner_id", "title", "status")[:KB_OWN_LATEST]
        )
    return render(request, "support/kb.html", context)


def _search_page(articles, search: str, number):
    """One page of the ranked matches of ``search`` among ``articles``, counted up to ``KB_COUNT_LIMIT``."""
    return Paginator(selectors.ArticleSearch(articles, search), KB_PAGE_SIZE, count_limit=KB_COUNT_LIMIT).get_page(
        number
    )


def _readable_article(request, pk):
    """A published article the active partner may read, or (for its admins) one of the partner's own drafts."""
    try:
        return selectors.access_article(user=request.user, pk=pk, partner=request.partner)
    except access.NotFound:
        return selectors.access_own_article(user=request.user, partner=request.partner, pk=pk)


@require_http_methods(["GET", "POST"])
@partner_page(staff_url=lambda pk: reverse("console:index"))
def article(request, pk: int):
    article = _readable_article(request, pk)
    status = 200
    if request.method == "POST":
        form = VoteForm(request.POST)
        if form.is_valid():
            services.article_vote(article=article, helpful=form.cleaned_data["helpful"], user=request.user)
            messages.success(request, "Thanks for your feedback.")
            return redirect("support:article", pk=article.pk)
        status = 400
        messages.error(request, "Answer yes or no.")
    context = {
        "article": article,
        "can_edit": article.partner_id == request.partner.pk and portal.is_partner_admin(request),
    }
    return render(request, "support/article.html", context, status=status)


@require_http_methods(["GET", "POST"])
@partner_page(admin=True, staff_url=lambda: reverse("console:index"))
def article_new(request):
    return _article_form(request, None)


@require_http_methods(["GET", "POST"])
@partner_page(admin=True, staff_url=lambda pk: reverse("console:index"))
def article_edit(request, pk: int):
    return _article_form(request, selectors.access_own_article(user=request.user, partner=request.partner, pk=pk))


def _article_form(request, article):
    """Partner admins write their partner's private articles; the service sanitises the body."""
    status = 200
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                saved = services.article_save(
                    actor=request.user, article=article, partner=request.partner, **form.service_fields()
                )
            except DomainError as exc:
                status = _fail(form, exc)
            else:
                messages.success(request, f"“{saved.title}” saved ({saved.get_status_display().lower()}).")
                return redirect("support:article", pk=saved.pk)
        else:
            status = 400
    elif article is not None:
        form = ArticleForm(
            initial={
                "title": article.title,
                "summary": article.summary,
                "body_format": "html",
                "body": article.body,
                "category": article.category_id,
                "customer_visible": article.customer_visible,
                "status": article.status,
            }
        )
    else:
        form = ArticleForm()
    return render(request, "support/article_form.html", {"form": form, "article": article}, status=status)


# Vendor agents -------------------------------------------------------------------------------------------------


@require_GET
@agent_view
def agent_queue(request):
    """Escalated tickets from every partner in the agent's scope, soonest escalation SLA first."""
    queue = request.GET.get("queue", "open")
    if queue not in dict(AGENT_TABS):
        queue = "open"
    tickets = selectors.agent_queue(user=request.user, queue=queue)
    search = (request.GET.get("q") or "").strip()[:200]
    if search:
        reference = search.upper().removeprefix("T-")
        tickets = (
            tickets.filter(pk=int(reference)) if reference.isdigit() else tickets.filter(subject__icontains=search)
        )
    tickets = selectors.with_sla_due(tickets, scope="escalation").order_by(
        F("sla_due").asc(nulls_last=True), "escalated_at", "id"
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    _mark_sla(page.object_list)
    counts = {key: selectors.agent_queue(user=request.user, queue=key).count() for key, _ in AGENT_TABS}
    context = {
        "tabs": [(key, label, counts[key]) for key, label in AGENT_TABS],
        "queue": queue,
        "search": search,
        "page": page,
        "query": urlencode({k: v for k, v in {"queue": queue, "q": search}.items() if v}),
    }
    return render(request, "support/agents/queue.html", context)


AGENT_ACTIONS = ("take", "assign", "reply", "status")


@require_http_methods(["GET", "POST"])
@agent_view
def agent_ticket(request, pk: int):
    """Everything on one ticket, vendor notes and both clock sets included, and the agent's actions."""
    ticket = selectors.access_ticket(user=request.user, pk=pk)
    agents = list(selectors.vendor_agents())
    status, bound = 200, None
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in AGENT_ACTIONS:
            messages.error(request, "Choose an action on the ticket page.")
            status = 400
        else:
            form, done = _agent_action(request, ticket, action, agents)
            if done:
                messages.success(request, done)
                return redirect(
                    reverse("support:agent_ticket", args=[ticket.pk]) + ("#thread" if action == "reply" else "")
                )
            status, bound = form.status_code, (action, form)
            _report_failure(request, form)
            ticket = selectors.access_ticket(user=request.user, pk=pk)
    forms = {
        "reply": ReplyForm(vendor=True),
        "assign": VendorAssignForm(agents=agents, initial={"agent": ticket.vendor_assignee_id or ""}),
        "status": AgentStatusForm(),
    }
    if bound is not None and bound[0] in forms:
        forms[bound[0]] = bound[1]
    context = {
        "ticket": ticket,
        "thread": selectors.messages_for(user=request.user, ticket=ticket),
        "events": selectors.events_for(user=request.user, ticket=ticket),
        "clocks": list(selectors.clocks_for(user=request.user, ticket=ticket)),
        "forms": forms,
        "failed_action": bound[0] if bound else "",
        "can_work": request.user.has_perm("support.change_ticket"),
        "now": timezone.now(),
    }
    return render(request, "support/agents/ticket.html", context, status=status)


def _agent_action(request, ticket, action: str, agents):
    user = request.user
    form_classes = {
        "take": lambda: VendorAssignForm({"agent": str(user.pk)}, agents=[user]),
        "assign": lambda: VendorAssignForm(request.POST, agents=agents),
        "reply": lambda: ReplyForm(request.POST, request.FILES, vendor=True),
        "status": lambda: AgentStatusForm(request.POST),
    }
    form = form_classes[action]()
    form.status_code = 400
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        if action in ("take", "assign"):
            services.ticket_vendor_assign(actor=user, ticket=ticket, agent=form.chosen_agent)
            if action == "take":
                return form, "The escalation is yours."
            agent = form.chosen_agent
            return form, f"Assigned to {agent}." if agent else "No vendor agent is assigned now."
        if action == "reply":
            services.ticket_reply(
                ticket=ticket,
                actor=user,
                body=data["body"],
                visibility=data["visibility"],
                attachments=data["attachments"],
            )
            return form, {
                Visibility.PUBLIC: "Reply sent.",
                Visibility.PARTNER_NOTE: "Note to the partner added.",
                Visibility.VENDOR_NOTE: "Vendor-only note added.",
            }[data["visibility"]]
        services.ticket_set_status(actor=user, ticket=ticket, status=data["status"], note=data["note"])
        if data["status"] == TicketStatus.OPEN:
            return form, "Returned to the partner's first line."
        return form, "Resolved."
    except DomainError as exc:
        form.status_code = _fail(form, exc)
        return form, None


# Help center (end customers) -----------------------------------------------------------------------------------


@require_GET
def help_home(request):
    """The partner's help center: search its customer-visible articles, or contact support."""
    partner = _help_partner(request)
    articles = selectors.articles_for_partner(partner, customers=True)
    search = (request.GET.get("q") or "").strip()[:200]
    context = {"partner": partner, "search": search}
    if search:
        # Every match, a page at a time in rank order, like the portal's knowledge base.
        page = _search_page(articles, search, request.GET.get("page"))
        context.update(page=page, results=page.object_list, query=urlencode({"q": search}))
    else:
        context["results"] = selectors.search_articles(articles, "", limit=12)
    return render(request, "support/help/home.html", context)


def _visitor_key(request) -> str:
    key = request.session.get(HELP_VISITOR_SESSION_KEY)
    if not key:
        key = secrets.token_hex(16)
        request.session[HELP_VISITOR_SESSION_KEY] = key
    return key


@require_http_methods(["GET", "POST"])
def help_article(request, pk: int):
    partner = _help_partner(request)
    article = selectors.articles_for_partner(partner, customers=True).filter(pk=pk).select_related("category").first()
    if article is None:
        raise Http404("Not found.")
    status = 200
    if request.method == "POST":
        form = VoteForm(request.POST)
        if form.is_valid():
            services.article_vote(
                article=article, helpful=form.cleaned_data["helpful"], visitor_key=_visitor_key(request)
            )
            messages.success(request, "Thanks for your feedback.")
            return redirect("support:help_article", pk=article.pk)
        status = 400
        messages.error(request, "Answer yes or no.")
    return render(request, "support/help/article.html", {"partner": partner, "article": article}, status=status)


def _client_ip(request) -> str | None:
    import ipaddress

    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def _rate_key(ip) -> str:
    return f"support:help-request-rate:{ip or 'unknown'}"


def _over_limit(ip) -> bool:
    return (cache.get(_rate_key(ip)) or 0) >= HELP_REQUEST_LIMIT


def _count_request(ip) -> None:
    """Count a request (or a caught spam attempt) against the sender's address for the next hour."""
    key = _rate_key(ip)
    cache.add(key, 0, HELP_REQUEST_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, HELP_REQUEST_WINDOW_SECONDS)


@never_cache
@require_http_methods(["GET", "POST"])
def help_request(request):
    """ "Contact support": a verified e-mail turns the request into a ticket with the partner's first line."""
    partner = _help_partner(request)
    ip = _client_ip(request)
    status = 200
    if request.method == "POST":
        if _over_limit(ip):
            response = render(
                request,
                "support/help/rate_limited.html",
                {"partner": partner, "minutes": HELP_REQUEST_WINDOW_SECONDS // 60},
                status=429,
            )
            response["Retry-After"] = str(HELP_REQUEST_WINDOW_SECONDS)
            return response
        form = HelpRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.help_request_create(
                    partner=partner,
                    email=data["email"],
                    name=data["name"],
                    subject=data["subject"],
                    description=data["description"],
                    category=data["category"],
                    ip_address=ip,
                )
            except DomainError as exc:
                status = _fail(form, exc)
            else:
                _count_request(ip)
                request.session[HELP_SENT_SESSION_KEY] = data["email"]
                return redirect("support:help_request_sent")
        else:
            status = 400
            if form.spam_code in ("honeypot", "too_fast"):
                _count_request(ip)
            form.refresh_token_if_unusable()
    else:
        form = HelpRequestForm()
    suggest_while_typing(form, reverse("support:help_suggest"))
    context = {"partner": partner, "form": form, "honeypot": HONEYPOT_FIELD}
    return render(request, "support/help/request.html", context, status=status)


@never_cache
@require_GET
def help_request_sent(request):
    partner = _help_partner(request)
    email = request.session.get(HELP_SENT_SESSION_KEY)
    if not email:
        return redirect("support:help_request")
    return render(request, "support/help/request_sent.html", {"partner": partner, "email": email})


@require_GET
def help_suggest(request):
    """Articles that may answer the request being written (htmx fragment)."""
    partner = _help_partner(request)
    text = " ".join(request.GET.get(name, "") for name in ("q", "subject", "description"))[:1000]
    articles = selectors.suggest_articles(partner=partner, text=text, customers=True)
    return render(request, "support/_suggestions.html", {"articles": articles, "article_url": "support:help_article"})


class _WrongHelpCenter(Exception):
    """A verification link opened on another partner's help center."""


@never_cache
@require_GET
def help_verify(request, token: str):
    """The single-use link from the e-mail: the address is confirmed and the ticket opens."""
    partner = _help_partner(request)
    try:
        with transaction.atomic():
            ticket, _ = services.help_request_verify(token=token)
            if ticket.partner_id != partner.pk:
                raise _WrongHelpCenter  # rolls back: the link stays usable on its own help center
    except _WrongHelpCenter:
        raise Http404("Not found.") from None
    except DomainError as exc:
        context = {"partner": partner, "problem": exc.message, "code": exc.code}
        return _private(render(request, "support/help/verify_failed.html", context, status=400))
    messages.success(request, "Your e-mail address is confirmed and your request is open. Keep this page's address.")
    return _private(redirect("support:help_ticket", token=services.customer_ticket_token(ticket)))


def _customer_ticket(request, token: str):
    partner = _help_partner(request)
    try:
        ticket, customer = services.ticket_from_customer_token(token, partner=partner)
    except DomainError:
        raise Http404("Not found.") from None
    return partner, ticket, customer


@never_cache
@require_http_methods(["GET", "POST"])
def help_ticket(request, token: str):
    """The customer's ticket behind the signed link: public messages only, their replies and their rating."""
    partner, ticket, customer = _customer_ticket(request, token)
    reply_form, rate_form, status = CustomerReplyForm(), RateForm(), 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rate":
            rate_form = RateForm(request.POST)
            status, done = _customer_rate(ticket, customer, rate_form)
        else:
            reply_form = CustomerReplyForm(request.POST, request.FILES)
            status, done = _customer_reply(ticket, customer, reply_form)
        if done:
            messages.success(request, done)
            return _private(redirect(request.path + ("#thread" if action != "rate" else "")))
        partner, ticket, customer = _customer_ticket(request, token)
    context = {
        "partner": partner,
        "ticket": ticket,
        "customer": customer,
        "token": token,
        "thread": selectors.messages_for_customer(ticket=ticket),
        "reply_form": reply_form,
        "rate_form": rate_form,
        "is_open": ticket.status != TicketStatus.CLOSED,
        "can_rate": ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and ticket.satisfaction is None,
        "is_active": ticket.status in ACTIVE_STATUSES,
    }
    return _private(render(request, "support/help/ticket.html", context, status=status))


def _customer_reply(ticket, customer, form) -> tuple[int, str | None]:
    if not form.is_valid():
        return 400, None
    try:
        services.ticket_reply(
            ticket=ticket,
            customer=customer,
            body=form.cleaned_data["body"],
            attachments=form.cleaned_data["attachments"],
        )
    except DomainError as exc:
        return _fail(form, exc), None
    return 200, "Your reply was sent."


def _customer_rate(ticket, customer, form) -> tuple[int, str | None]:
    if not form.is_valid():
        return 400, None
    if ticket.satisfaction is not None:
        form.add_error(None, "You already rated this ticket. Thank you!")
        return 409, None
    try:
        services.ticket_rate(
            ticket=ticket, customer=customer, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
        )
    except DomainError as exc:
        return _fail(form, exc), None
    return 200, "Thank you for rating our support."


@require_GET
def help_attachment(request, token: str, pk: int):
    """A file on a public message of the customer's own ticket."""
    _, ticket, _ = _customer_ticket(request, token)
    return _private(_download(selectors.customer_attachment(ticket=ticket, pk=pk)))
