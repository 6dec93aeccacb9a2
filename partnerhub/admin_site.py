"""The vendor console: Django's admin, made into the channel team's working console.

Everything the console shows passes through one function, ``console_scoped``: partner-owned rows and partners
go through the access layer (``access.scoped``); the few core models that are not partner-owned have an
explicit rule registered with ``scope_rule``. ``ScopedModelAdmin`` and ``ScopedInline`` apply it once, in
``get_queryset``, and refuse subclasses that define their own ``get_queryset`` or ``get_object`` — so a new
console page cannot forget the scope. Objects outside the scope answer 404, never the admin's "doesn't
exist" redirect, so ids reveal nothing.

Writes go through services. A service that refuses (``DomainError``) rolls the whole save back and the form
is shown again with the service's message next to the field it names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext

from partnerhub import access, selectors
from partnerhub.choices import PartnerStatus
from partnerhub.errors import DomainError
from partnerhub.models import ApiToken, AuditEvent, Membership, Partner, PartnerBrand, Tier, User

logger = logging.getLogger(__name__)

ScopeRule = Callable[[models.QuerySet, object, str], models.QuerySet]

_RULES: dict[type[models.Model], ScopeRule] = {}


def scope_rule(*model_classes: type[models.Model]) -> Callable[[ScopeRule], ScopeRule]:
    """Declare how the console scopes a model that is neither ``Partner`` nor partner-owned.

    Feature apps register rules for such models from their ``admin.py``; without a rule, ``console_scoped``
    hands the queryset to ``access.scoped``, which refuses models that do not declare ``partner_field``.
    """

    def register(rule: ScopeRule) -> ScopeRule:
        for model in model_classes:
            _RULES[model] = rule
        return rule

    return register


def console_scoped(queryset: models.QuerySet, user, action: str = "view") -> models.QuerySet:
    """The rows of ``queryset`` that ``user`` may perform ``action`` on in the console."""
    rule = _RULES.get(queryset.model)
    if rule is not None:
        return rule(queryset, user, action)
    return access.scoped(queryset, user, action)


def console_can(user, action: str, obj: models.Model) -> bool:
    """Whether ``user`` may perform ``action`` on ``obj`` (``access.can`` for partner data; one query)."""
    model = type(obj)
    if model not in _RULES:
        return access.can(user, action, obj)
    return console_scoped(model._default_manager.filter(pk=obj.pk), user, action).exists()


def _has_model_perm(user, model: type[models.Model], action: str) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")


class ReadOnlyMixin:
    """Console pages of records that only services write (history, ledgers, logs): shown, never added, edited or
    deleted by hand. Goes first among a ModelAdmin's or inline's bases."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def selected_rows(modeladmin, request, queryset, action: str = "view") -> list:
    """The selected rows of a bulk action the user may ``action`` (console scope), oldest first; a warning when
    none are left."""
    rows = list(console_scoped(queryset, request.user, action).order_by("pk"))
    if not rows:
        modeladmin.message_user(request, "None of the selected rows can be changed by you.", messages.WARNING)
    return rows


def after_action(request, rows):
    """Where a bulk action goes when it is done: back to the object's page when it was run from there."""
    if request.POST.get("_return_to_change") and len(rows) == 1:
        return HttpResponseRedirect(admin_url(rows[0]))
    return None


def action_form_page(modeladmin, request, *, rows, form, action: str, title: str, lead: str, submit: str, danger=False):
    """The intermediate page of a bulk action that needs input (a reason, an amount, a message)."""
    select_across = request.POST.get("select_across") == "1"
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.opts,
        "rows": rows[:50],
        "more": max(len(rows) - 50, 0),
        "count": len(rows),
        "form": form,
        "action": action,
        "lead": lead,
        "submit": submit,
        "danger": danger,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        # With "select all" the action re-reads the filtered list itself; a few ids keep the form valid.
        "selected": [row.pk for row in (rows[:50] if select_across else rows)],
        "select_across": select_across,
        "return_to_change": request.POST.get("_return_to_change", ""),
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/action_form.html", context, status=400 if form.is_bound else 200)


def run_with_form(modeladmin, request, queryset, *, form_class, page: dict, call, done, scope_action="change"):
    """Ask for input on an intermediate page, then run ``call(row, cleaned_data)`` for each row in scope. A service
    that refuses one row is reported for that row; the others go on (``run_service``). A form class with
    ``takes_rows = True`` receives the rows (``rows=``) to validate against them."""
    rows = selected_rows(modeladmin, request, queryset, scope_action)
    if not rows:
        return None
    data = request.POST if request.POST.get("post") == "yes" else None
    form = form_class(data, rows=rows) if getattr(form_class, "takes_rows", False) else form_class(data)
    if form.is_bound and form.is_valid():
        cleaned = form.cleaned_data
        succeeded = [r for r in rows if modeladmin.run_service(request, r, lambda r=r: call(r, cleaned))]
        if succeeded:
            modeladmin.message_user(request, done(succeeded), messages.SUCCESS)
        return after_action(request, rows)
    return action_form_page(modeladmin, request, rows=rows, form=form, **page)


def badge(kind: str, value: str, label: str) -> str:
    """A status badge of the console (``ph-badge--<kind>-<value>`` is coloured by the app's console stylesheet)."""
    return format_html('<span class="ph-badge ph-badge--{}-{}">{}</span>', kind, value, label)


def count_label(n: int, noun: str) -> str:
    """``1 request``, ``3 requests``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def admin_url(obj: models.Model, view: str = "change") -> str:
    """The console page of one object (``change``, ``delete``, ``history``)."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk], current_app=console.name)


def changelist_url(model: type[models.Model]) -> str:
    """The console list of a model."""
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=console.name)


def adopt(instance: models.Model, saved: models.Model) -> None:
    """Make the admin's form instance the object a service saved, so the admin's log and redirect use it."""
    instance.__dict__.update(saved.__dict__)


def staff_with_model_perm(queryset: models.QuerySet, user, action: str) -> models.QuerySet:
    """Program data (not partner-owned): all rows for vendor staff holding the model permission for ``action``,
    none for anybody else. Feature apps start their scope rules from it."""
    if not access.is_vendor_staff(user):
        return queryset.none()
    if user.is_superuser or _has_model_perm(user, queryset.model, action):
        return queryset
    return queryset.none()


@scope_rule(PartnerBrand)
def _scope_brands(queryset, user, action):
    # A brand is the partner's: the access layer decides on the partner, with the brand's model permission.
    if access.is_authenticated(user) and user.is_superuser:
        return queryset
    return queryset.filter(partner__in=access.partners_for(user, PartnerBrand, action).values("pk"))


@scope_rule(AuditEvent)
def _scope_audit(queryset, user, action):
    # The trail is append-only: it can be read, never changed, and only as selectors.audit_list allows.
    if action != "view":
        return queryset.none()
    return queryset & selectors.audit_list(user=user)


@scope_rule(Tier)
def _scope_tiers(queryset, user, action):
    # Tiers are program-wide configuration, not partner data: the model permission decides.
    return staff_with_model_perm(queryset, user, action)


@scope_rule(User)
def _scope_users(queryset, user, action):
    """Vendor-wide roles see every account; other staff only the people of partners whose team they see."""
    if not access.is_vendor_staff(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if not _has_model_perm(user, User, action):
        return queryset.none()
    if access.sees_all_partners(user):
        return queryset
    if action != "view":
        return queryset.none()
    return queryset.filter(pk__in=access.scoped(Membership.objects.all(), user, "view").values("user_id"))


@scope_rule(ApiToken)
def _scope_tokens(queryset, user, action):
    if not access.is_vendor_staff(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if not _has_model_perm(user, ApiToken, action):
        return queryset.none()
    return queryset.filter(user__in=_scope_users(User.objects.all(), user, "view").values("pk"))


# Scoped admin classes -------------------------------------------------------------------------------------------


def _can_cached(request, action: str, obj: models.Model) -> bool:
    # The admin asks the same question many times while drawing one page; answer it once per request.
    memo = request.__dict__.setdefault("_console_can", {})
    key = (obj._meta.label, obj.pk, action)
    if key not in memo:
        memo[key] = console_can(request.user, action, obj)
    return memo[key]


def _is_scoped_target(model: type[models.Model]) -> bool:
    return model is Partner or model in _RULES or getattr(model, "partner_field", None) is not None


class _ScopedAdminBase:
    """Scoping shared by model admins and inlines. See the module docstring."""

    _guarded = ("get_queryset", "get_object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_console_base"):
            return
        for name in cls._guarded:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not define {name}; the console scopes every queryset in "
                    "partnerhub.admin_site. Add select_related or annotations in decorate_queryset()."
                )

    def decorate_queryset(self, request, queryset: models.QuerySet) -> models.QuerySet:
        """Add joins, annotations or prefetches. The scope is applied after this, so it always holds."""
        return queryset

    def get_queryset(self, request):
        queryset = self.decorate_queryset(request, super().get_queryset(request))
        return console_scoped(queryset, request.user, "view")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if "queryset" not in kwargs and _is_scoped_target(related):
            kwargs["queryset"] = console_scoped(related._default_manager.all(), request.user, "view")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if "queryset" not in kwargs and _is_scoped_target(related):
            kwargs["queryset"] = console_scoped(related._default_manager.all(), request.user, "view")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedModelAdmin(_ScopedAdminBase, admin.ModelAdmin):
    """Base of every console page: scoped lists, 404 outside the scope, object permissions from the access layer.

    Subclasses route writes through services by overriding ``save_model`` / ``save_related``; a
    ``DomainError`` raised there rolls the save back and shows the form again with the message.
    """

    _console_base = True
    show_full_result_count = False

    def action_checkbox(self, obj):
        """The row's tick box, the same markup as the admin's, written directly: rendering a ``CheckboxInput``
        widget through its templates on each of a page's rows cost more than the rest of the row."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Missing and out of scope look the same: a plain 404, never a redirect naming the id.
            raise Http404("Not found.")
        return obj

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or _can_cached(request, "view", obj) or _can_cached(request, "change", obj)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or _can_cached(request, "change", obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or _can_cached(request, "delete", obj))

    # Service refusals become form errors --------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:
            if request.method != "POST" or getattr(request, "_console_refusal", None) is not None:
                raise
            # The admin's transaction has rolled back. Validate the same input again, this time with the
            # service's answer attached to the form, so the page shows it next to the field it concerns.
            request._console_refusal = refusal
            for upload in request.FILES.values():
                upload.seek(0)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_console_refusal", None)
        if refusal is None:
            return form
        return type(form.__name__, (form,), {"clean": _refused_clean(refusal)})

    # Actions ----------------------------------------------------------------------------------------------

    def response_action(self, request, queryset):
        # Ignore selected ids that are not ids at all instead of failing with a server error.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        valid = [value for value in selected if self._is_pk(value)]
        if len(valid) != len(selected):
            data = request.POST.copy()
            data.setlist(helpers.ACTION_CHECKBOX_NAME, valid)
            request.POST = data
        return super().response_action(request, queryset)

    def _is_pk(self, value) -> bool:
        try:
            self.model._meta.pk.to_python(value)
        except ValidationError:
            return False
        return True

    def run_service(self, request, obj, call: Callable[[], object]) -> bool:
        """Run one service call of a bulk action; report a refusal as a message and carry on."""
        try:
            call()
        except DomainError as exc:
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            return False
        return True


def _refused_clean(refusal: DomainError):
    def clean(self):
        cleaned = super(type(self), self).clean()
        field = refusal.field if refusal.field in self.fields else None
        self.add_error(field, refusal.message)
        return cleaned

    return clean


class ScopedInline(_ScopedAdminBase):
    """Mixin for inlines: rows come through the console scope; permissions follow the parent's partner.

    Use as ``class MyInline(ScopedInline, admin.TabularInline)``.
    """

    _console_base = True

    def _parent_allows(self, request, action: str, parent) -> bool:
        if parent is None:
            return True
        memo = request.__dict__.setdefault("_console_can", {})
        key = ("inline", self.model._meta.label, parent._meta.label, parent.pk, action)
        if key not in memo:
            if isinstance(parent, Partner):
                memo[key] = access.partners_for(request.user, self.model, action).filter(pk=parent.pk).exists()
            else:
                memo[key] = console_can(request.user, action, parent)
        return memo[key]

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_allows(request, "add", obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_allows(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_allows(request, "delete", obj)


# The console site and its dashboard -----------------------------------------------------------------------------

STATUS_ORDER = [
    PartnerStatus.PROSPECT,
    PartnerStatus.ONBOARDING,
    PartnerStatus.ACTIVE,
    PartnerStatus.SUSPENDED,
    PartnerStatus.OFFBOARDED,
]


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    url: str
    y: int
    width: int
    text_y: int
    value_x: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    track_width: int
    bar_height: int
    total: int


def bar_chart(rows: list[tuple[str, str, int, str]], *, width: int = 520, label_width: int = 120) -> BarChart:
    """Lay out a horizontal bar chart for server-side SVG: ``rows`` are (key, label, count, url)."""
    bar_height, gap, value_space = 22, 12, 56
    track = width - label_width - value_space
    peak = max((count for _, _, count, _ in rows), default=0) or 1
    bars = []
    for index, (key, label, count, url) in enumerate(rows):
        y = index * (bar_height + gap)
        bar_width = round(track * count / peak) if count else 0
        bars.append(
            Bar(
                key=key,
                label=label,
                count=count,
                url=url,
                y=y,
                width=max(bar_width, 2 if count else 0),
                text_y=y + bar_height // 2 + 5,
                value_x=label_width + max(bar_width, 2) + 8,
            )
        )
    height = max(len(rows) * (bar_height + gap) - gap, bar_height)
    return BarChart(
        bars=bars,
        width=width,
        height=height,
        label_width=label_width,
        track_width=track,
        bar_height=bar_height,
        total=sum(count for _, _, count, _ in rows),
    )


@dataclass(frozen=True)
class WaitingPartner:
    partner: Partner
    since: datetime | None
    days: int | None


def console_dashboard(*, user, site_name: str = "console") -> dict:
    """The console home for ``user``: everything is scoped and aggregated in SQL, so the number of queries
    does not depend on how many partners there are (five reads, plus the permission checks).
    """
    partners = access.scoped(Partner.objects.all(), user, "view")
    changelist = reverse("admin:partnerhub_partner_changelist", current_app=site_name)

    by_status = dict(partners.order_by().values_list("status").annotate(n=Count("id")))
    status_chart = bar_chart(
        [
            (status.value, status.label, by_status.get(status.value, 0), f"{changelist}?status__exact={status.value}")
            for status in STATUS_ORDER
        ]
    )

    tier_rows = partners.order_by().values("tier_id", "tier__name", "tier__rank").annotate(n=Count("id"))
    tiers = sorted(tier_rows, key=lambda row: (row["tier__rank"] is None, row["tier__rank"] or 0))
    tier_chart = bar_chart(
        [
            (
                f"tier-{row['tier__rank'] % 6}" if row["tier_id"] else "tier-none",
                row["tier__name"] or "No tier",
                row["n"],
                f"{changelist}?tier__id__exact={row['tier_id']}"
                if row["tier_id"]
                else f"{changelist}?tier__isnull=True",
            )
            for row in tiers
        ]
    )

    newest = list(partners.select_related("tier").order_by("-created_at", "-id")[:8])
    now = timezone.now()
    waiting = [
        WaitingPartner(
            partner=p,
            since=p.status_changed_at,
            days=(now - p.status_changed_at).days if p.status_changed_at else None,
        )
        for p in partners.filter(status=PartnerStatus.ONBOARDING)
        .select_related("tier")
        .order_by(models.F("status_changed_at").asc(nulls_first=True), "id")[:8]
    ]

    can_see_audit = user.is_superuser or user.has_perm("partnerhub.view_auditevent")
    audit = list(selectors.audit_list(user=user).select_related("partner")[:10]) if can_see_audit else []

    return {
        "scope_label": "All partners" if access.sees_all_partners(user) else "Your partners",
        "total": status_chart.total,
        "onboarding_count": by_status.get(PartnerStatus.ONBOARDING, 0),
        "suspended_count": by_status.get(PartnerStatus.SUSPENDED, 0),
        "active_count": by_status.get(PartnerStatus.ACTIVE, 0),
        "status_chart": status_chart,
        "tier_chart": tier_chart,
        "newest": newest,
        "waiting": waiting,
        "audit": audit,
        "can_see_audit": can_see_audit,
        "partner_changelist": changelist,
        "onboarding_url": f"{changelist}?status__exact={PartnerStatus.ONBOARDING}",
    }


# Dashboard cards from feature apps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardCard:
    """A card on the console dashboard, rendered from ``template`` with ``card`` (this object) in its context.

    Feature apps add cards without the core importing them: from their ``admin.py`` (loaded when the console
    starts) they register a provider, ``provider(request) -> list[DashboardCard]``, which reads through the
    access layer like any console page and returns no card when the user has nothing to see.
    ``stylesheets`` are static paths the card needs (the CSP forbids inline styles).
    """

    key: str
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100
    wide: bool = False
    more_url: str = ""
    more_label: str = ""
    stylesheets: tuple[str, ...] = ()


DashboardCardProvider = Callable[[object], list[DashboardCard]]
_dashboard_card_providers: list[DashboardCardProvider] = []


def register_dashboard_card(provider: DashboardCardProvider) -> DashboardCardProvider:
    """Add a provider of dashboard cards. Usable as a decorator."""
    if provider not in _dashboard_card_providers:
        _dashboard_card_providers.append(provider)
    return provider


def dashboard_cards(request) -> list[DashboardCard]:
    """The feature apps' cards for this request, in order. A provider that raises is logged and skipped, so
    one broken feature cannot take the console's home page down (as on the portal's home page)."""
    cards: list[DashboardCard] = []
    for provider in list(_dashboard_card_providers):
        try:
            cards.extend(provider(request) or [])
        except Exception:
            logger.exception("Console dashboard card provider %r failed", provider)
    return sorted(cards, key=lambda card: (card.order, card.key))


class ConsoleSite(admin.AdminSite):
    """The vendor console at /console/: vendor staff and superusers only (partner users go to the portal)."""

    site_header = "PartnerHub console"
    site_title = "PartnerHub console"
    site_url = None  # the portal is for partner users; the console has no "view site"
    index_title = "Dashboard"
    index_template = "admin/console/index.html"
    # Wide partner lists need the room; the header carries the navigation instead (templates/admin/base_site.html).
    enable_nav_sidebar = False

    def get_urls(self):
        # The generic "view on site" redirect resolves any object by content type and id without the access
        # layer (and its messages differ for missing and existing objects); no console model links to a site.
        return [url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site"]

    def index(self, request, extra_context=None):
        context = {
            "dashboard": console_dashboard(user=request.user, site_name=self.name),
            "dashboard_cards": dashboard_cards(request),
            **(extra_context or {}),
        }
        return super().index(request, context)


console = ConsoleSite(name="console")
# Bulk deletion bypasses the services and the audit trail; the console removes nothing in bulk.
console.disable_action("delete_selected")
