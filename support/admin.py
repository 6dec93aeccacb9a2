"""Support in the vendor console: tickets (with the whole thread, SLA clocks and history, read-only), SLA
policies, business hours, categories, knowledge-base articles and customers, and the Support card on the
console dashboard.

Every page builds on ``ScopedModelAdmin`` / ``ScopedInline`` (partnerhub.admin_site): tickets and customers go
through the access layer (support agents see escalated tickets only); the parts of a ticket (messages, files,
clocks, history) are read with their ticket; articles through ``selectors.article_list``; SLA configuration by
model permission. Every write goes through ``support.services``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, OuterRef, Q, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from partnerhub import access, metrics
from partnerhub.admin import ManagerPicker  # the two-list picker, laid out beside its label
from partnerhub.admin_site import (
    DashboardCard,
    ReadOnlyMixin,
    ScopedInline,
    ScopedModelAdmin,
    admin_url,
    adopt,
    badge,
    changelist_url,
    console,
    console_scoped,
    count_label,
    register_dashboard_card,
    scope_rule,
)
from partnerhub.errors import DomainError
from partnerhub.models import Partner
from support import selectors, services, sla
from support.choices import ACTIVE_STATUSES, ArticleAudience, TicketStatus
from support.models import (
    Article,
    ArticleGroupObjectPermission,
    BusinessHours,
    Category,
    Customer,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

THREAD_LIMIT = 200
WEEKDAY_NAMES = {"1": "Mon", "2": "Tue", "3": "Wed", "4": "Thu", "5": "Fri", "6": "Sat", "7": "Sun"}
METRICS_WINDOW = dt.timedelta(days=90)
CARD_PARTNERS = 8


def _model_perm(user, model, action: str) -> bool:
    opts = model._meta
    return user.is_superuser or user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")


def _minutes(value: int | None) -> str:
    if value is None:
        return "—"
    days, rest = divmod(value, 60 * 24)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or "0 min"


# Scope rules for support models that are not partner-owned ------------------------------------------------------


@scope_rule(TicketMessage, TicketAttachment, TicketEvent, SlaClock)
def _scope_ticket_parts(queryset, user, action):
    # Read with their ticket (vendor staff read every visibility); the console never writes them directly.
    if action != "view" or not access.is_vendor_staff(user):
        return queryset.none()
    return queryset.filter(ticket__in=access.scoped(Ticket.objects.all(), user, "view").values("pk"))


@scope_rule(Category, SlaPolicy, BusinessHours)
def _scope_configuration(queryset, user, action):
    # Program-wide configuration, not partner data: the model permission decides.
    if access.is_vendor_staff(user) and _model_perm(user, queryset.model, action):
        return queryset
    return queryset.none()


@scope_rule(Article)
def _scope_articles(queryset, user, action):
    """Vendor articles, and partners' private articles of the partners in scope (read-only here: partners write
    their own in the portal)."""
    if not (access.is_vendor_staff(user) and _model_perm(user, Article, action)):
        return queryset.none()
    readable = queryset.filter(pk__in=selectors.article_list(user=user).values("pk"))
    return readable if action == "view" else readable.filter(partner__isnull=True)


# Shared columns ---------------------------------------------------------------------------------------------------


class PartnerLinkMixin:
    @admin.display(description="Partner", ordering="partner__name")
    def partner_link(self, obj):
        if obj.partner_id is None:
            return "Vendor"
        return format_html('<a href="{}">{}</a>', admin_url(obj.partner), obj.partner.name)

    def lookup_allowed(self, lookup, value, request=None):
        # Links from a partner's page or the dashboard filter by it; the list stays scoped either way.
        if lookup == "partner__id__exact":
            return True
        return super().lookup_allowed(lookup, value, request)


def _due(value, now) -> str:
    if value is None:
        return "—"
    label = timezone.localtime(value).strftime("%d %b %H:%M")
    state = "overdue" if value <= now else "soon" if value <= now + sla.BREACHING_WINDOW else "later"
    return format_html('<time datetime="{}" class="ph-due ph-due--{}">{}</time>', value.isoformat(), state, label)


# Tickets ----------------------------------------------------------------------------------------------------------


class EscalatedFilter(admin.SimpleListFilter):
    title = "escalated"
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", "Escalated"), ("no", "First line only")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class VendorQueueFilter(admin.SimpleListFilter):
    title = "vendor agent"
    parameter_name = "vendor"

    def lookups(self, request, model_admin):
        return [("mine", "Assigned to me"), ("unassigned", "Not assigned")]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(vendor_assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(vendor_assignee__isnull=True, escalated_at__isnull=False)
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("breaching", "Due within 4 hours or overdue"), ("breached", "Breached")]

    def queryset(self, request, queryset):
        if self.value() == "breaching":
            return queryset.filter(sla.breaching())
        if self.value() == "breached":
            return queryset.filter(pk__in=SlaClock.objects.filter(breached_at__isnull=False).values("ticket_id"))
        return queryset


class ThreadFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A very long thread keeps a readable page; the API pages through all of it.
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:THREAD_LIMIT]
        return self._queryset


class ReadOnlyInline(ReadOnlyMixin, ScopedInline):
    extra = 0
    can_delete = False


class TicketMessageInline(ReadOnlyInline, admin.StackedInline):
    model = TicketMessage
    formset = ThreadFormSet
    fields = ["heading", "message_body", "files"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name = "message"
    verbose_name_plural = f"Thread (vendor notes included; first {THREAD_LIMIT} messages)"
    classes = ["ph-thread"]

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("author_user", "author_customer").prefetch_related("attachments")

    @admin.display(description="From")
    def heading(self, message):
        return format_html(
            '{} {} <span class="ph-muted">{}</span>',
            badge("visibility", message.visibility, message.get_visibility_display()),
            message.author_label,
            timezone.localtime(message.created_at).strftime("%d %b %Y %H:%M"),
        )

    @admin.display(description="Message")
    def message_body(self, message):
        # Stored sanitised; cleaned again on the way out, so a row written before a rule change stays safe.
        return format_html('<div class="ph-message">{}</div>', mark_safe(services.sanitize_html(message.body)))  # noqa: S308

    @admin.display(description="Files")
    def files(self, message):
        attachments = list(message.attachments.all())
        if not attachments:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}" download>{}</a> <span class="ph-muted">{} · {} KB</span>',
            (
                (
                    reverse("ticket-attachment-download", args=[a.ticket_id, a.pk]),
                    a.original_name,
                    a.content_type,
                    max(1, round(a.size / 1024)),
                )
                for a in attachments
            ),
        )


class SlaClockInline(ReadOnlyInline, admin.TabularInline):
    model = SlaClock
    classes = ["ph-plain-inline"]
    fields = ["scope", "target", "clock_state", "started_at", "due_at", "paused_since", "met_at", "breached_at"]
    readonly_fields = fields
    verbose_name_plural = "SLA clocks"

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("policy")

    @admin.display(description="State")
    def clock_state(self, clock):
        if clock.met_at is not None:
            state = "missed" if clock.is_breached else "met"
        elif clock.breached_at is not None:
            state = "breached"
        else:
            state = "paused" if clock.paused_since else "running"
        return badge("clock", state, state.capitalize())


class TicketEventInline(ReadOnlyInline, admin.TabularInline):
    model = TicketEvent
    formset = ThreadFormSet
    fields = ["created_at", "kind", "who", "change", "note", "audience"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = "History"
    classes = ["ph-plain-inline"]

    @admin.display(description="Who")
    def who(self, event):
        return event.actor_label or "System"

    @admin.display(description="Shown to")
    def audience(self, event):
        if event.vendor_only:
            return badge("visibility", "vendor_note", "Vendor staff only")
        return "Partner and vendor"

    @admin.display(description="Change")
    def change(self, event):
        if not (event.before or event.after):
            return "—"
        return f"{event.before or '—'} → {event.after or '—'}"


@admin.register(Ticket, site=console)
class TicketAdmin(ReadOnlyMixin, PartnerLinkMixin, ScopedModelAdmin):
    """Tickets in the user's scope; support agents see escalated ones only. Read-only pages with actions."""

    list_display = [
        "reference_link",
        "partner_link",
        "subject_short",
        "priority_badge",
        "status_badge",
        "escalated",
        "sla_due",
        "assignee_name",
        "vendor_assignee_name",
    ]
    list_display_links = None
    list_select_related = ["partner", "assignee", "vendor_assignee"]
    list_filter = ["status", "priority", EscalatedFilter, VendorQueueFilter, SlaFilter, "category", "channel"]
    search_fields = ["subject"]
    search_help_text = "Search subject and description (words, quotes, OR), a reference such as T-000123, or a partner."
    ordering = ["-id"]
    list_per_page = 50
    actions = ["assign_to_me", "resolve_tickets"]
    inlines = [TicketMessageInline, SlaClockInline, TicketEventInline]
    change_form_template = "admin/support/ticket/change_form.html"
    fieldsets = [
        (None, {"fields": ["reference", "partner_link", "subject", "description_text", "category"]}),
        ("State", {"fields": ["status_badge", "priority_badge", "channel", "sla_due_detail"]}),
        ("People", {"fields": ["requester", "assignee_name", "vendor_assignee_name"]}),
        ("Escalation", {"fields": ["escalated_at", "escalation_reason"]}),
        ("Timeline", {"fields": ["created_at", "first_response_at", "resolved_at", "closed_at", "updated_at"]}),
        ("Satisfaction", {"fields": ["satisfaction", "satisfaction_comment"]}),
    ]
    readonly_fields = [
        "reference",
        "partner_link",
        "subject",
        "description_text",
        "category",
        "status_badge",
        "priority_badge",
        "channel",
        "sla_due_detail",
        "requester",
        "assignee_name",
        "vendor_assignee_name",
        "escalated_at",
        "escalation_reason",
        "created_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "updated_at",
        "satisfaction",
        "satisfaction_comment",
    ]

    class Media:
        css = {"all": ["support/console.css"]}

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "category", "requester_user", "requester_customer").annotate(
            next_due_at=sla.due_expression()
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        reference = term.upper().removeprefix("T-")
        if reference.isdigit() and len(reference) <= 12:
            return queryset.filter(pk=int(reference)), False
        text = SearchQuery(term[:200], config="english", search_type="websearch")
        return queryset.filter(Q(search_vector=text) | Q(partner__name__icontains=term[:200])), False

    def lookup_allowed(self, lookup, value, request=None):
        # The customers page links to a customer's tickets; the list stays scoped either way.
        if lookup == "requester_customer__id__exact":
            return True
        return super().lookup_allowed(lookup, value, request)

    # A ticket is worked in the portal and the API; the console reads it and offers the vendor's actions.
    def has_work_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("support.work_escalations")

    def has_resolve_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("support.change_ticket")

    # Columns ----------------------------------------------------------------------------------------------

    @admin.display(description="Ticket", ordering="id")
    def reference_link(self, ticket):
        return format_html('<a href="{}">{}</a>', admin_url(ticket), ticket.reference)

    @admin.display(description="Subject", ordering="subject")
    def subject_short(self, ticket):
        return ticket.subject if len(ticket.subject) <= 70 else f"{ticket.subject[:69]}…"

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, ticket):
        return badge("priority", ticket.priority, ticket.get_priority_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, ticket):
        return badge("ticket", ticket.status, ticket.get_status_display())

    @admin.display(description="Escalated", boolean=True, ordering="escalated_at")
    def escalated(self, ticket):
        return ticket.is_escalated

    @admin.display(description="SLA due", ordering="next_due_at")
    def sla_due(self, ticket):
        return _due(getattr(ticket, "next_due_at", None), timezone.now())

    @admin.display(description="Next SLA due")
    def sla_due_detail(self, ticket):
        clock = ticket.sla_clocks.filter(met_at__isnull=True, paused_since__isnull=True).order_by("due_at").first()
        if clock is None:
            return "No clock running"
        return format_html(
            '{} <span class="ph-muted">{} · {}</span>',
            _due(clock.due_at, timezone.now()),
            clock.get_scope_display(),
            clock.get_target_display(),
        )

    @admin.display(description="First-line agent", ordering="assignee__first_name")
    def assignee_name(self, ticket):
        return ticket.assignee.display_name if ticket.assignee_id else "—"

    @admin.display(description="Vendor agent", ordering="vendor_assignee__first_name")
    def vendor_assignee_name(self, ticket):
        return ticket.vendor_assignee.display_name if ticket.vendor_assignee_id else "—"

    @admin.display(description="Requester")
    def requester(self, ticket):
        if ticket.requester_customer_id:
            customer = ticket.requester_customer
            return format_html('<a href="{}">{}</a> (customer)', admin_url(customer), customer)
        return ticket.requester_label

    @admin.display(description="Description")
    def description_text(self, ticket):
        return format_html('<div class="ph-message ph-message--plain">{}</div>', ticket.description)

    # Actions, through the services -------------------------------------------------------------------------

    def _tickets(self, request, queryset, action: str) -> list[Ticket]:
        tickets = list(console_scoped(queryset, request.user, action).select_related("partner").order_by("id"))
        if not tickets:
            self.message_user(request, "None of the selected tickets can be changed by you.", messages.WARNING)
        return tickets

    def _after_action(self, request, tickets):
        if request.POST.get("_return_to_change") and len(tickets) == 1:
            return HttpResponseRedirect(admin_url(tickets[0]))
        return None

    @admin.action(description="Assign selected escalations to me", permissions=["work"])
    def assign_to_me(self, request, queryset):
        tickets = self._tickets(request, queryset, "change")
        done = [
            t
            for t in tickets
            if self.run_service(
                request, t, lambda t=t: services.ticket_vendor_assign(actor=request.user, ticket=t, agent=request.user)
            )
        ]
        if done:
            self.message_user(request, f"You now work {count_label(len(done), 'escalation')}.", messages.SUCCESS)
        return self._after_action(request, tickets)

    @admin.action(description="Resolve selected tickets", permissions=["resolve"])
    def resolve_tickets(self, request, queryset):
        tickets = self._tickets(request, queryset, "change")
        done = [
            t
            for t in tickets
            if t.status != TicketStatus.RESOLVED
            and self.run_service(
                request,
                t,
                lambda t=t: services.ticket_set_status(actor=request.user, ticket=t, status=TicketStatus.RESOLVED),
            )
        ]
        if done:
            self.message_user(request, f"Resolved {count_label(len(done), 'ticket')}.", messages.SUCCESS)
        return self._after_action(request, tickets)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            actions = self.get_actions(request)
            context["ticket_actions"] = {
                "assign": "assign_to_me" in actions and obj.is_escalated and obj.vendor_assignee_id != request.user.pk,
                "resolve": "resolve_tickets" in actions
                and obj.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
                "changelist_url": changelist_url(Ticket),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)


# SLA policies, business hours, categories -----------------------------------------------------------------------


class ConfigurationAdmin(ScopedModelAdmin):
    """Program configuration written through a service (``save`` and ``delete`` set by subclasses)."""

    save_service = None
    delete_service = None
    instance_kwarg = ""
    editable_fields: tuple[str, ...] = ()

    class Media:
        css = {"all": ["support/console.css"]}

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.editable_fields if name in form.cleaned_data}
        if change:
            fields[self.instance_kwarg] = obj
        saved = type(self).save_service(actor=request.user, **fields)
        adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        pass  # the service saved everything

    def delete_model(self, request, obj):
        type(self).delete_service(actor=request.user, **{self.instance_kwarg: obj})

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": form.changed_data}}] if not add else [{"added": {}}]


class ServiceValidatedForm(forms.ModelForm):
    """Uniqueness is the service's to judge: it names the clash in words (“a policy for every tier at normal
    priority exists; change that one instead”) rather than the constraint's field list."""

    def _get_validation_exclusions(self):
        # The form fields have validated their values already; the model's constraints are the service's.
        return super()._get_validation_exclusions() | set(self.fields)

    def validate_unique(self):
        pass


@admin.register(SlaPolicy, site=console)
class SlaPolicyAdmin(ConfigurationAdmin):
    form = ServiceValidatedForm
    save_service = staticmethod(services.sla_policy_save)
    delete_service = staticmethod(services.sla_policy_delete)
    instance_kwarg = "policy"
    editable_fields = services.SLA_POLICY_FIELDS
    fields = list(services.SLA_POLICY_FIELDS)
    list_display = ["name", "applies_to", "tier", "priority", "first_response", "resolution", "warn", "business_hours"]
    list_display_links = ["name"]
    list_select_related = ["tier", "business_hours"]
    list_filter = ["applies_to", "priority", "tier"]
    search_fields = ["name"]
    ordering = ["applies_to", "tier__rank", "priority", "id"]

    @admin.display(description="First response", ordering="first_response_minutes")
    def first_response(self, policy):
        return _minutes(policy.first_response_minutes)

    @admin.display(description="Resolution", ordering="resolution_minutes")
    def resolution(self, policy):
        return _minutes(policy.resolution_minutes)

    @admin.display(description="Warn before", ordering="warn_before_minutes")
    def warn(self, policy):
        return _minutes(policy.warn_before_minutes)


class TimezoneInput(forms.TextInput):
    """A text box that suggests IANA time zones (an HTML datalist, no script)."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-zones"
        box = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((zone,) for zone in sorted(available_timezones())))
        return format_html('{}<datalist id="{}">{}</datalist>', box, list_id, options)


class ScheduleField(forms.JSONField):
    """The weekly schedule as JSON, one weekday per line."""

    default_error_messages = {
        "invalid": 'Write the schedule as JSON, for example {"1": [["09:00", "17:00"]], "2": [["09:00", "17:00"]]}.'
    }

    def prepare_value(self, value):
        if isinstance(value, dict) and value:
            lines = [f"  {json.dumps(str(day))}: {json.dumps(spans)}" for day, spans in value.items()]
            return "{\n" + ",\n".join(lines) + "\n}"
        return super().prepare_value(value)


class BusinessHoursForm(ServiceValidatedForm):
    timezone = forms.CharField(
        max_length=64,
        widget=TimezoneInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="An IANA time zone such as Europe/Berlin or America/New_York.",
    )
    schedule = ScheduleField(
        widget=forms.Textarea(attrs={"rows": 9, "cols": 60, "class": "ph-code", "spellcheck": "false"}),
        help_text='Weekday "1" (Monday) to "7" (Sunday) → working intervals ["HH:MM", "HH:MM"]; "24:00" ends a day. '
        "Leave a day out when nobody works.",
    )
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 24, "class": "ph-code"}),
        help_text="One date per line (YYYY-MM-DD). No SLA clock runs on these days.",
    )

    class Meta:
        model = BusinessHours
        fields = ["name", "timezone", "schedule", "holidays"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk:
            self.initial["holidays"] = "\n".join(self.instance.holidays or [])

    def clean_holidays(self):
        return [line.strip() for line in (self.cleaned_data.get("holidays") or "").splitlines() if line.strip()]

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in ("timezone", "schedule", "holidays")):
            return cleaned
        try:
            zone, schedule, holidays = services.clean_business_hours(
                timezone_name=cleaned.get("timezone", ""),
                schedule=cleaned.get("schedule"),
                holidays=cleaned.get("holidays") or [],
            )
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
            return cleaned
        cleaned.update(timezone=zone, schedule=schedule, holidays=holidays)
        return cleaned


@admin.register(BusinessHours, site=console)
class BusinessHoursAdmin(ConfigurationAdmin):
    form = BusinessHoursForm
    save_service = staticmethod(services.business_hours_save)
    delete_service = staticmethod(services.business_hours_delete)
    instance_kwarg = "hours"
    editable_fields = services.BUSINESS_HOURS_FIELDS
    list_display = ["name", "timezone", "week", "holiday_count", "policy_count"]
    list_display_links = ["name"]
    search_fields = ["name", "timezone"]
    ordering = ["name"]

    def decorate_queryset(self, request, queryset):
        return queryset.annotate(policies=Count("slapolicy"))

    @admin.display(description="Working week")
    def week(self, hours):
        return summarize_schedule(hours.schedule)

    @admin.display(description="Holidays")
    def holiday_count(self, hours):
        return len(hours.holidays or [])

    @admin.display(description="SLA policies", ordering="policies")
    def policy_count(self, hours):
        return hours.policies


def summarize_schedule(schedule: dict) -> str:
    """A schedule as one line, consecutive days with equal hours grouped (Mon to Fri, 09:00 to 17:00)."""
    groups: list[tuple[list[str], str]] = []
    for day in sorted(schedule or {}, key=int):
        hours = ", ".join(f"{start}–{end}" for start, end in schedule[day])
        if groups and groups[-1][1] == hours and int(groups[-1][0][-1]) + 1 == int(day):
            groups[-1][0].append(day)
        else:
            groups.append(([day], hours))
    parts = []
    for days, hours in groups:
        label = WEEKDAY_NAMES[days[0]] if len(days) == 1 else f"{WEEKDAY_NAMES[days[0]]}–{WEEKDAY_NAMES[days[-1]]}"
        parts.append(f"{label} {hours}")
    return "; ".join(parts) or "—"


@admin.register(Category, site=console)
class CategoryAdmin(ConfigurationAdmin):
    form = ServiceValidatedForm
    save_service = staticmethod(services.category_save)
    delete_service = staticmethod(services.category_delete)
    instance_kwarg = "category"
    editable_fields = services.CATEGORY_FIELDS
    fields = ["name", "slug", "position"]
    list_display = ["name", "slug", "position"]
    list_display_links = ["name"]
    list_editable = []
    search_fields = ["name", "slug"]
    ordering = ["position", "name"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "slug" in form.base_fields:
            form.base_fields["slug"].required = False
            form.base_fields["slug"].help_text = "Leave empty to derive it from the name."
        return form


# Knowledge base ---------------------------------------------------------------------------------------------------


def _granted_partner_ids(article: Article) -> set[int]:
    groups = ArticleGroupObjectPermission.objects.filter(content_object=article, permission__codename="view_article")
    return set(Partner.objects.filter(members_group__in=groups.values("group_id")).values_list("pk", flat=True))


class ArticleForm(forms.ModelForm):
    partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        widget=ManagerPicker("partners", is_stacked=False),
        help_text="With “Chosen partners”: the partners whose people read it (their members' group is granted it).",
    )
    audience = forms.ChoiceField(
        choices=[c for c in ArticleAudience.choices if c[0] != ArticleAudience.PRIVATE],
        help_text="Vendor articles are shared with all partners, chosen tiers or chosen partners.",
    )

    class Meta:
        model = Article
        fields = ["title", "summary", "body", "category", "audience", "tiers", "partners", "customer_visible", "status"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 90, "class": "ph-code"})}
        help_texts = {"body": "HTML. Scripts, styles, event handlers and unsafe links are removed when saved."}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partners"].queryset = access.scoped(Partner.objects.all(), user, "view").order_by("name", "id")
        if self.instance.pk and not self.is_bound:
            self.initial["partners"] = list(_granted_partner_ids(self.instance))

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        if audience == ArticleAudience.TIERS and not cleaned.get("tiers"):
            self.add_error("tiers", "Choose the tiers that read this article.")
        if audience == ArticleAudience.PARTNERS and not cleaned.get("partners"):
            self.add_error("partners", "Choose the partners that read this article.")
        return cleaned


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("vendor", "Vendor articles"), ("partners", "Partners' private articles")]

    def queryset(self, request, queryset):
        if self.value() == "vendor":
            return queryset.filter(partner__isnull=True)
        if self.value() == "partners":
            return queryset.filter(partner__isnull=False)
        return queryset


@admin.register(Article, site=console)
class ArticleAdmin(PartnerLinkMixin, ScopedModelAdmin):
    form = ArticleForm
    list_display = ["title", "partner_link", "audience_badge", "status_badge", "category", "published_at", "votes"]
    list_display_links = ["title"]
    list_select_related = ["partner", "category"]
    list_filter = ["status", "audience", OwnerFilter, "category", "customer_visible"]
    search_fields = ["title", "summary"]
    ordering = ["-updated_at", "-id"]
    filter_horizontal = ["tiers"]
    readonly_fields = ["partner_link", "body_preview", "published_at", "updated_at", "helpful_count", "unhelpful_count"]

    class Media:
        css = {"all": ["support/console.css"]}

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "category")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)

        class RequestArticleForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return RequestArticleForm

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.partner_id is not None:
            return [(None, {"fields": ["partner_link", "title", "summary", "body_preview", "status", "published_at"]})]
        fieldsets = [
            (None, {"fields": ["title", "summary", "body", "category"]}),
            ("Who reads it", {"fields": ["audience", "tiers", "partners", "customer_visible"]}),
            ("Publishing", {"fields": ["status"]}),
        ]
        if obj is not None:
            fieldsets += [
                ("Preview", {"fields": ["body_preview"]}),
                ("Record", {"fields": ["published_at", "updated_at", "helpful_count", "unhelpful_count"]}),
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.partner_id is not None:
            return [*self.readonly_fields, "title", "summary", "status"]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        # Partners write their private articles in the portal; the console shows them read-only.
        if obj is not None and obj.partner_id is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # archive instead: links from tickets and help centers keep working

    @admin.display(description="Audience", ordering="audience")
    def audience_badge(self, article):
        return badge("audience", article.audience, article.get_audience_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, article):
        return badge("article", article.status, article.get_status_display())

    @admin.display(description="Helpful")
    def votes(self, article):
        return f"{article.helpful_count} yes · {article.unhelpful_count} no"

    @admin.display(description="Body as readers see it")
    def body_preview(self, article):
        return format_html('<div class="ph-message">{}</div>', mark_safe(services.sanitize_html(article.body)))  # noqa: S308

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in services.ARTICLE_FIELDS if name in data}
        partners = list(data.get("partners") or [])
        if change:
            # Grants to partners outside this user's scope stay as they are.
            visible = set(form.fields["partners"].queryset.values_list("pk", flat=True))
            hidden = _granted_partner_ids(obj) - visible
            partners += list(Partner.objects.filter(pk__in=hidden))
        saved = services.article_save(
            actor=request.user,
            article=obj if change else None,
            tiers=list(data.get("tiers") or []),
            partners=partners,
            **fields,
        )
        adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        pass  # tiers and partner grants were set by the service

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": form.changed_data}}] if not add else [{"added": {}}]


# Customers --------------------------------------------------------------------------------------------------------


@admin.register(Customer, site=console)
class CustomerAdmin(ReadOnlyMixin, PartnerLinkMixin, ScopedModelAdmin):
    """End customers of the partners in scope, read-only (they come from help-center requests and partners)."""

    list_display = ["email", "name", "company", "partner_link", "verified", "ticket_count", "created_at"]
    list_display_links = ["email"]
    list_select_related = ["partner"]
    list_filter = [("email_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name", "company"]
    fields = ["partner_link", "email", "name", "company", "phone", "email_verified_at", "created_at"]
    readonly_fields = fields
    ordering = ["email", "id"]

    def decorate_queryset(self, request, queryset):
        tickets = Ticket.objects.filter(requester_customer=OuterRef("pk")).order_by().values("requester_customer")
        return queryset.select_related("partner").annotate(
            ticket_total=Subquery(tickets.annotate(n=Count("pk")).values("n")[:1])
        )

    @admin.display(description="Verified", boolean=True, ordering="email_verified_at")
    def verified(self, customer):
        return customer.email_verified_at is not None

    @admin.display(description="Tickets", ordering="ticket_total")
    def ticket_count(self, customer):
        count = customer.ticket_total or 0
        if not count:
            return 0
        # The ticket list itself is scoped: an agent sees only the escalated ones among these.
        url = f"{changelist_url(Ticket)}?requester_customer__id__exact={customer.pk}"
        return format_html('<a href="{}">{}</a>', url, count)


# The dashboard card ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerRow:
    partner_id: int
    name: str
    tickets: int
    sla: float | None
    first_line: float | None
    url: str
    y: int
    sla_width: int
    first_line_width: int


@dataclass(frozen=True)
class SupportCard:
    rows: list[PartnerRow]
    open_tickets: int
    escalated: int
    overdue: int
    sla: float | None
    first_line: float | None
    since: dt.date
    width: int = 560
    label_width: int = 170
    bar_height: int = 12
    track_width: int = 300
    height: int = 0


def _ratio(part: int, total: int) -> float | None:
    return round(part / total, 4) if total else None


def support_card_data(user, *, now=None) -> SupportCard | None:
    """Support figures for ``user``: the open, escalated and overdue tickets they work (their ticket scope), and
    for the partners whose tickets they may see, SLA attainment and first-line resolution over 90 days, overall
    and for the busiest partners. A fixed number of queries (aggregated in SQL) however many rows there are."""
    now = now or timezone.now()
    since = now - METRICS_WINDOW
    workable = access.scoped(Ticket.objects.all(), user, "view").filter(status__in=ACTIVE_STATUSES)
    # The partner figures are aggregates over each partner's tickets, as partnerhub.metrics computes them (the
    # API's /metrics/partners/ gives the same numbers); no row outside the user's ticket scope is shown.
    partners = access.partners_for(user, Ticket, "view")
    recent = Ticket.objects.filter(partner__in=partners.values("pk"), created_at__gte=since)
    counts = workable.aggregate(open=Count("pk"), escalated=Count("pk", filter=Q(status=TicketStatus.ESCALATED)))
    overdue = (
        SlaClock.objects.filter(
            ticket__in=workable.values("pk"), met_at__isnull=True, paused_since__isnull=True, due_at__lte=now
        )
        .values("ticket_id")
        .distinct()
        .count()
    )
    clocks = (
        SlaClock.objects.filter(ticket__in=recent.values("pk"), scope=SlaPolicy.Scope.FIRST_LINE)
        .exclude(met_at__isnull=True, breached_at__isnull=True)
        .aggregate(total=Count("pk"), missed=Count("pk", filter=Q(breached_at__isnull=False)))
    )
    resolved = recent.filter(resolved_at__isnull=False).aggregate(
        total=Count("pk"), first_line=Count("pk", filter=Q(escalated_at__isnull=True))
    )
    busiest = list(
        recent.order_by()
        .values("partner_id", "partner__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "partner__name")[:CARD_PARTNERS]
    )
    if not busiest and not counts["open"] and not partners.exists():
        return None
    figures = metrics.compute(
        [row["partner_id"] for row in busiest],
        since=since,
        keys=["support.sla_attainment", "support.first_line_resolution"],
    )
    changelist = changelist_url(Ticket)
    card = SupportCard(
        rows=[],
        open_tickets=counts["open"],
        escalated=counts["escalated"],
        overdue=overdue,
        sla=_ratio(clocks["total"] - clocks["missed"], clocks["total"]),
        first_line=_ratio(resolved["first_line"], resolved["total"]),
        since=timezone.localtime(since).date(),
    )
    group = card.bar_height * 2 + 4 + 14
    rows = []
    for index, row in enumerate(busiest):
        sla = figures["support.sla_attainment"].get(row["partner_id"])
        first_line = figures["support.first_line_resolution"].get(row["partner_id"])
        rows.append(
            PartnerRow(
                partner_id=row["partner_id"],
                name=row["partner__name"] if len(row["partner__name"]) <= 24 else f"{row['partner__name'][:23]}…",
                tickets=row["n"],
                sla=sla,
                first_line=first_line,
                url=f"{changelist}?partner__id__exact={row['partner_id']}",
                y=index * group,
                sla_width=round(card.track_width * (sla or 0)),
                first_line_width=round(card.track_width * (first_line or 0)),
            )
        )
    return SupportCard(**{**card.__dict__, "rows": rows, "height": max(len(rows) * group - 14, card.bar_height)})


@register_dashboard_card
def support_dashboard_card(request) -> list[DashboardCard]:
    user = request.user
    if not (user.is_superuser or user.has_perm("support.view_ticket")):
        return []
    data = support_card_data(user)
    if data is None:
        return []
    return [
        DashboardCard(
            key="support.sla",
            title="Support: SLA attainment and first-line resolution",
            template="admin/support/dashboard_card.html",
            context={"support": data},
            order=50,
            wide=True,
            more_url=changelist_url(Ticket),
            more_label="all tickets",
            stylesheets=("support/console.css",),
        )
    ]
