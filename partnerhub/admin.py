"""The core's pages in the vendor console: partners, tiers, brands, memberships, invitations, the audit trail,
vendor staff and API keys.

Every page builds on ``ScopedModelAdmin`` / ``ScopedInline`` (partnerhub.admin_site), so lists, forms, filters,
autocomplete and actions only ever see what the access layer allows. Every write goes through
``partnerhub.services``: status changes, channel manager assignments, memberships, brands, invitations, staff
roles and key revocation are audited there.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminURLFieldWidget, FilteredSelectMultiple
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from partnerhub import access, roles, selectors, services
from partnerhub.admin_site import (
    ReadOnlyMixin,
    ScopedInline,
    ScopedModelAdmin,
    admin_url,
    adopt,
    badge,
    changelist_url,
    console,
    console_can,
    console_scoped,
    count_label,
)
from partnerhub.choices import PartnerStatus, StaffRole
from partnerhub.errors import DomainError
from partnerhub.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Partner,
    PartnerBrand,
    PartnerUserObjectPermission,
    Tier,
    User,
)

INLINE_MEMBER_LIMIT = 50


def _swatch(colour: str) -> str:
    # SVG presentation attributes, not style attributes: allowed by the Content Security Policy. The colour
    # is a validated #rrggbb value and is escaped all the same.
    return format_html(
        '<span class="ph-swatch"><svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">'
        '<rect x="0.5" y="0.5" width="17" height="17" rx="4" fill="{}" class="ph-swatch__chip"/></svg>'
        "<code>{}</code></span>",
        colour,
        colour,
    )


def channel_manager_choices() -> models.QuerySet[User]:
    """Active vendor staff holding the channel manager role (vendor staff, not partner data)."""
    return User.objects.filter(
        is_active=True, is_staff=True, groups__name=roles.GROUP_NAMES[StaffRole.CHANNEL_MANAGER]
    ).order_by("first_name", "last_name", "username")


def _user_label(user: User) -> str:
    return f"{user.display_name} <{user.email}>" if user.email else user.display_name


# Partners -------------------------------------------------------------------------------------------------------


class PartnerForm(forms.ModelForm):
    """Profile fields of a partner. The status is not here: it changes only through the status actions."""

    INITIAL_STATUSES = (PartnerStatus.PROSPECT, PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE)

    website = forms.URLField(
        required=False, max_length=200, assume_scheme="https", widget=AdminURLFieldWidget(attrs={"class": "vURLField"})
    )

    class Meta:
        model = Partner
        fields = ["name", "slug", "partner_type", "status", "tier", "parent", "website", "country", "region"]
        help_texts = {"country": "ISO 3166-1 alpha-2 code, e.g. DE or US."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty to derive it from the name."
        if "status" in self.fields:
            self.fields["status"].label = "Initial status"
            self.fields["status"].choices = [(s.value, s.label) for s in self.INITIAL_STATUSES]
        parent = self.fields.get("parent")
        if parent is not None and self.instance.pk:
            # Keep the current parent selectable even when it is managed by someone else, so saving the form
            # never drops it silently; the partner itself can never be its own parent.
            parent.queryset = Partner.objects.filter(
                Q(pk__in=parent.queryset.values("pk")) | Q(pk=self.instance.parent_id)
            ).exclude(pk=self.instance.pk)

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise forms.ValidationError("Enter a two-letter country code such as DE or US.")
        return country

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is not None and parent.partner_type != "distributor":
            raise forms.ValidationError("A parent partner must be a distributor.")
        return parent


class ManagerPicker(FilteredSelectMultiple):
    """The two-list picker, wrapped so the admin's script builds it beside the field's label, not before it."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<div class="ph-picker">{}</div>', super().render(name, value, attrs, renderer))


class PartnerManagersForm(PartnerForm):
    """The partner form for staff who may assign channel managers."""

    channel_managers = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=ManagerPicker("channel managers", is_stacked=False),
        help_text="Channel managers see and manage this partner. Every change is recorded in the audit trail.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["channel_managers"]
        field.queryset = channel_manager_choices()
        field.label_from_instance = _user_label
        if self.instance.pk and not self.is_bound:
            self.initial["channel_managers"] = [u.pk for u in services.channel_managers_of(self.instance)]


class ChannelManagerFilter(admin.SimpleListFilter):
    """Channel manager assignment: mine, unassigned, or one manager's partners (for those who assign)."""

    title = "channel manager"
    parameter_name = "manager"

    def lookups(self, request, model_admin):
        user = request.user
        options = []
        if user.groups.filter(name=roles.GROUP_NAMES[StaffRole.CHANNEL_MANAGER]).exists():
            options.append(("me", "Managed by me"))
        if access.sees_all_partners(user):
            options.append(("none", "No channel manager"))
        if user.has_perm("partnerhub.assign_channel_managers"):
            options += [(str(u.pk), u.display_name) for u in channel_manager_choices()]
        return options

    def queryset(self, request, queryset):
        grants = PartnerUserObjectPermission.objects.filter(permission__codename="manage_partner")
        value = self.value()
        if value == "me":
            return queryset.filter(pk__in=grants.filter(user=request.user).values("content_object_id"))
        if value == "none":
            return queryset.exclude(pk__in=grants.values("content_object_id"))
        if value and value.isdigit():
            return queryset.filter(pk__in=grants.filter(user_id=int(value)).values("content_object_id"))
        return queryset


class MembershipInlineFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A partner with thousands of users keeps a readable page: the first members here, all on the list.
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:INLINE_MEMBER_LIMIT]
        return self._queryset


class MembershipInline(ScopedInline, admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    fields = ["member", "role", "title", "is_active", "created_at"]
    readonly_fields = ["member", "created_at"]
    ordering = ["-is_active", "role", "user__first_name", "user__last_name", "id"]
    extra = 0
    can_delete = False
    verbose_name_plural = f"Team (first {INLINE_MEMBER_LIMIT}; deactivate instead of deleting)"

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("user", "partner")

    def has_add_permission(self, request, obj=None):
        return False  # people join through invitations

    @admin.display(description="Person")
    def member(self, membership):
        return format_html(
            '<a href="{}">{}</a><div class="ph-muted">{}</div>',
            admin_url(membership),
            membership.user.display_name,
            membership.user.email,
        )


class BrandForm(forms.ModelForm):
    class Meta:
        model = PartnerBrand
        fields = [
            "display_name",
            "tagline",
            "logo",
            "primary_color",
            "accent_color",
            "subdomain",
            "custom_domain",
            "support_email",
            "support_phone",
        ]
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color", "class": "ph-colour-input"}),
            "accent_color": forms.TextInput(attrs={"type": "color", "class": "ph-colour-input"}),
        }
        help_texts = {
            "logo": "PNG, JPEG, WebP or GIF; it is re-encoded as PNG (at most 1200 × 400 px). SVG is refused.",
        }


def _brand_changes(form) -> dict:
    """Service arguments for the changed fields of a brand form."""
    changes = {f: form.cleaned_data[f] for f in form.changed_data if f in services.BRAND_EDITABLE_FIELDS}
    if "logo" in form.changed_data:
        logo = form.cleaned_data.get("logo")
        if isinstance(logo, UploadedFile):
            changes["logo"] = logo
        elif logo is False:
            changes["remove_logo"] = True
    return changes


class BrandDisplayMixin:
    @admin.display(description="Colours")
    def colours(self, brand):
        return format_html("{} {}", _swatch(brand.primary_color), _swatch(brand.accent_color))

    @admin.display(description="Current logo")
    def logo_info(self, brand):
        if not brand.logo:
            return "No logo; the portal shows the display name."
        return format_html(
            '<a href="{}">{}</a> · {} × {} px, re-encoded PNG',
            brand.logo.url,
            brand.logo.name.rsplit("/", 1)[-1],
            brand.logo_width,
            brand.logo_height,
        )


class BrandInline(BrandDisplayMixin, ScopedInline, admin.StackedInline):
    model = PartnerBrand
    form = BrandForm
    fields = [
        "display_name",
        "tagline",
        "logo",
        "logo_info",
        ("primary_color", "accent_color"),
        "colours",
        "subdomain",
        "custom_domain",
        ("support_email", "support_phone"),
        "version",
    ]
    readonly_fields = ["logo_info", "colours", "version"]
    can_delete = False
    verbose_name_plural = "Brand"

    def has_add_permission(self, request, obj=None):
        return False  # every partner is created with its brand


@admin.register(Partner, site=console)
class PartnerAdmin(ScopedModelAdmin):
    form = PartnerForm
    list_display = [
        "name",
        "partner_type",
        "status_badge",
        "tier",
        "parent",
        "active_members",
        "channel_manager_names",
        "created",
    ]
    list_display_links = ["name"]
    list_select_related = ["tier", "parent"]
    list_filter = ["status", "partner_type", "tier", "country", ChannelManagerFilter]
    search_fields = ["name", "slug", "brand__display_name"]
    search_help_text = "Search by name, slug or brand display name."
    ordering = ["name", "id"]
    list_per_page = 50
    autocomplete_fields = ["parent"]
    actions = ["suspend_partners", "reactivate_partners", "assign_channel_manager"]
    change_form_template = "admin/partnerhub/partner/change_form.html"

    # Queries ----------------------------------------------------------------------------------------------

    def decorate_queryset(self, request, queryset):
        active_members = (
            Membership.objects.filter(partner=OuterRef("pk"), is_active=True)
            .order_by()
            .values("partner")
            .annotate(n=Count("pk"))
            .values("n")
        )
        manager_grants = (
            PartnerUserObjectPermission.objects.filter(permission__codename="manage_partner")
            .select_related("user")
            .order_by("user__first_name", "user__last_name", "user__username")
        )
        return queryset.annotate(active_member_count=Coalesce(Subquery(active_members), 0)).prefetch_related(
            Prefetch("partneruserobjectpermission_set", queryset=manager_grants, to_attr="manager_grants")
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (
            request.path.endswith("/autocomplete/")
            and request.GET.get("model_name") == "partner"
            and request.GET.get("field_name") == "parent"
        ):
            # The parent picker offers distributors only.
            queryset = queryset.filter(partner_type="distributor")
        return queryset, may_have_duplicates

    # Columns ----------------------------------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, partner):
        return badge("status", partner.status, partner.get_status_display())

    @admin.display(description="Created", ordering="created_at")
    def created(self, partner):
        return timezone.localtime(partner.created_at).date()

    @admin.display(description="Active members", ordering="active_member_count")
    def active_members(self, partner):
        return partner.active_member_count

    @admin.display(description="Channel managers")
    def channel_manager_names(self, partner):
        grants = getattr(partner, "manager_grants", None)
        if grants is None:
            return ", ".join(u.display_name for u in services.channel_managers_of(partner)) or "—"
        return ", ".join(g.user.display_name for g in grants) or "—"

    @admin.display(description="Team")
    def team_summary(self, partner):
        count = getattr(partner, "active_member_count", None)
        url = f"{changelist_url(Membership)}?partner__id__exact={partner.pk}"
        return format_html('{} active members · <a href="{}">all memberships</a>', count, url)

    # Form -------------------------------------------------------------------------------------------------

    def may_assign_managers(self, request, obj=None) -> bool:
        return request.user.has_perm("partnerhub.assign_channel_managers") and (
            obj is None or self.has_change_permission(request, obj)
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["name", "slug", "partner_type", "status", "tier", "parent"]}),
                ("Location and web", {"fields": ["website", "country", "region"]}),
            ]
        managers = "channel_managers" if self.may_assign_managers(request, obj) else "channel_manager_names"
        return [
            (None, {"fields": ["name", "slug", "partner_type", "tier", "parent"]}),
            (
                "Status",
                {
                    "fields": ["status_badge", "status_reason", "status_changed_at"],
                    "description": "The status changes only through Suspend and Reactivate (audited, with a "
                    "reason), never by editing.",
                },
            ),
            ("Location and web", {"fields": ["website", "country", "region"]}),
            ("Channel managers", {"fields": [managers]}),
            ("Record", {"fields": ["team_summary", "created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "slug",
            "status_badge",
            "status_reason",
            "status_changed_at",
            "channel_manager_names",
            "team_summary",
            "created_at",
            "updated_at",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and self.may_assign_managers(request, obj):
            kwargs["form"] = PartnerManagersForm
        return super().get_form(request, obj, change, **kwargs)

    def get_inlines(self, request, obj):
        return [] if obj is None else [BrandInline, MembershipInline]

    def has_delete_permission(self, request, obj=None):
        # Partners are never deleted: offboarding keeps their data and the audit trail, access stops.
        return False

    # Writes, all through services -----------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            fields = {f: data[f] for f in form.changed_data if f in services.PARTNER_EDITABLE_FIELDS}
            saved = services.partner_update(actor=request.user, partner=obj, **fields)
        else:
            saved = services.partner_create(
                actor=request.user,
                name=data["name"],
                partner_type=data["partner_type"],
                slug=data.get("slug") or "",
                status=data.get("status") or PartnerStatus.PROSPECT,
                tier=data.get("tier"),
                parent=data.get("parent"),
                website=data.get("website") or "",
                country=data.get("country") or "",
                region=data.get("region") or "",
            )
            if not console_can(request.user, "view", saved):
                raise DomainError("The new partner would fall outside the partners you may act for.")
        adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change)
        if "channel_managers" in form.fields and self.may_assign_managers(request, form.instance):
            self._save_channel_managers(request, form.instance, form.cleaned_data["channel_managers"])

    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            for member_form in formset.initial_forms:
                if member_form.has_changed():
                    _save_membership(request, member_form.instance.pk, member_form)
        elif formset.model is PartnerBrand:
            for brand_form in formset.initial_forms:
                if brand_form.has_changed():
                    _save_brand(request, brand_form.instance.pk, brand_form, prefix="Brand: ")

    def _save_channel_managers(self, request, partner, wanted) -> None:
        current = {u.pk: u for u in services.channel_managers_of(partner)}
        wanted = {u.pk: u for u in wanted}
        for pk in wanted.keys() - current.keys():
            services.channel_manager_assign(actor=request.user, partner=partner, manager=wanted[pk])
        for pk in current.keys() - wanted.keys():
            services.channel_manager_unassign(actor=request.user, partner=partner, manager=current[pk])

    def construct_change_message(self, request, form, formsets, add=False):
        # The audit trail holds the full record; the admin log keeps a plain summary.
        return [{"changed": {"fields": form.changed_data}}] if not add else [{"added": {}}]

    # Actions ----------------------------------------------------------------------------------------------

    def has_change_status_permission(self, request):
        return request.user.has_perm("partnerhub.change_partner_status")

    def has_assign_managers_permission(self, request):
        return request.user.has_perm("partnerhub.assign_channel_managers")

    def _changeable(self, request, queryset) -> list[Partner]:
        partners = list(console_scoped(queryset, request.user, "change").order_by("name", "id"))
        if not partners:
            self.message_user(request, "None of the selected partners can be changed by you.", messages.WARNING)
        return partners

    def _after_action(self, request, partners):
        if request.POST.get("_return_to_change") and len(partners) == 1:
            return HttpResponseRedirect(admin_url(partners[0]))
        return None

    def _action_page(self, request, template: str, partners, form, action: str, title: str, status: int = 200):
        select_across = request.POST.get("select_across") == "1"
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "partners": partners[:50],
            "more": max(len(partners) - 50, 0),
            "count": len(partners),
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            # With "select all" the action re-reads the filtered list itself; a few ids keep the form valid.
            "selected": [p.pk for p in (partners[:50] if select_across else partners)],
            "return_to_change": request.POST.get("_return_to_change", ""),
            "select_across": select_across,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context, status=status)

    @admin.action(description="Suspend selected partners…", permissions=["change_status"])
    def suspend_partners(self, request, queryset):
        partners = self._changeable(request, queryset)
        if not partners:
            return None
        form = SuspendForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = [
                p
                for p in partners
                if self.run_service(
                    request, p, lambda p=p: services.partner_suspend(actor=request.user, partner=p, reason=reason)
                )
            ]
            if done:
                self.message_user(request, f"Suspended {count_label(len(done), 'partner')}.", messages.SUCCESS)
            return self._after_action(request, partners)
        return self._action_page(
            request,
            "admin/partnerhub/partner/suspend_confirmation.html",
            partners,
            form,
            "suspend_partners",
            "Suspend partners",
            status=400 if form.is_bound else 200,
        )

    @admin.action(description="Reactivate selected partners", permissions=["change_status"])
    def reactivate_partners(self, request, queryset):
        partners = self._changeable(request, queryset)
        done = [
            p
            for p in partners
            if self.run_service(request, p, lambda p=p: services.partner_reactivate(actor=request.user, partner=p))
        ]
        if done:
            self.message_user(request, f"Reactivated {count_label(len(done), 'partner')}.", messages.SUCCESS)
        return self._after_action(request, partners)

    @admin.action(description="Assign to channel manager…", permissions=["assign_managers"])
    def assign_channel_manager(self, request, queryset):
        partners = self._changeable(request, queryset)
        if not partners:
            return None
        form = AssignManagerForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            manager = form.cleaned_data["manager"]
            done = [
                p
                for p in partners
                if self.run_service(
                    request,
                    p,
                    lambda p=p: services.channel_manager_assign(actor=request.user, partner=p, manager=manager),
                )
            ]
            if done:
                self.message_user(
                    request,
                    f"{manager.display_name} now manages {count_label(len(done), 'partner')}.",
                    messages.SUCCESS,
                )
            return self._after_action(request, partners)
        return self._action_page(
            request,
            "admin/partnerhub/partner/assign_manager.html",
            partners,
            form,
            "assign_channel_manager",
            "Assign to channel manager",
            status=400 if form.is_bound else 200,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            actions = self.get_actions(request)
            context["status_actions"] = {
                "suspend": "suspend_partners" in actions
                and obj.status in (PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE)
                and self.has_change_permission(request, obj),
                "reactivate": "reactivate_partners" in actions
                and obj.status in (PartnerStatus.SUSPENDED, PartnerStatus.ONBOARDING)
                and self.has_change_permission(request, obj),
                "changelist_url": changelist_url(Partner),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)


def register_partner_action(action):
    """Extension point: a feature app adds a bulk action to the console's partner list from its own admin module
    (the core imports no feature app). ``action`` is an admin action function ``(modeladmin, request, queryset)``;
    its ``allowed_permissions`` name ``has_<name>_permission`` methods of ``PartnerAdmin`` (``change_status``,
    ``assign_managers``). The action reads the selection through ``console_scoped`` like the core's own actions."""
    if action not in PartnerAdmin.actions:
        PartnerAdmin.actions = [*PartnerAdmin.actions, action]
    return action


class SuspendForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on the partner and in the audit trail. The partner's users lose access at once.",
        error_messages={"required": "Give a reason; it is recorded in the audit trail."},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give a reason; it is recorded in the audit trail.")
        return reason


class AssignManagerForm(forms.Form):
    manager = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Channel manager",
        empty_label="Choose a channel manager",
        error_messages={"required": "Choose the channel manager who will manage these partners."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = channel_manager_choices()
        self.fields["manager"].label_from_instance = _user_label


def _save_membership(request, pk, form) -> None:
    membership = selectors.access_membership(user=request.user, pk=pk, action="change")
    changed = form.changed_data
    data = form.cleaned_data
    try:
        services.membership_update(
            actor=request.user,
            membership=membership,
            role=data["role"] if "role" in changed else None,
            title=data["title"] if "title" in changed else None,
            is_active=data["is_active"] if "is_active" in changed else None,
        )
    except DomainError as exc:
        raise DomainError(f"{membership.user.display_name}: {exc.message}", code=exc.code) from None


def _save_brand(request, pk, form, prefix: str = "") -> PartnerBrand:
    brand = console_scoped(PartnerBrand.objects.all(), request.user, "change").select_related("partner").get(pk=pk)
    try:
        return services.brand_update(actor=request.user, brand=brand, **_brand_changes(form))
    except DomainError as exc:
        if prefix:
            raise DomainError(f"{prefix}{exc.message}", code=exc.code) from None
        raise


# Tiers ----------------------------------------------------------------------------------------------------------


@admin.register(Tier, site=console)
class TierAdmin(ScopedModelAdmin):
    list_display = ["name", "rank", "discount_percent", "min_annual_revenue", "min_certified_reps", "partner_count"]
    list_display_links = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["rank"]
    search_fields = ["name"]

    def decorate_queryset(self, request, queryset):
        # Count only the partners this user can see, so a tier's size reveals nothing outside the scope.
        visible = access.scoped(Partner.objects.all(), request.user, "view").values("pk")
        return queryset.annotate(visible_partners=Count("partners", filter=Q(partners__pk__in=visible)))

    @admin.display(description="Partners", ordering="visible_partners")
    def partner_count(self, tier):
        url = f"{changelist_url(Partner)}?tier__id__exact={tier.pk}"
        return format_html('<a href="{}">{}</a>', url, tier.visible_partners)

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in services.TIER_EDITABLE_FIELDS}
        if change:
            saved = services.tier_update(actor=request.user, tier=obj, **fields)
        else:
            fields = {f: form.cleaned_data[f] for f in form.fields if f in services.TIER_EDITABLE_FIELDS}
            saved = services.tier_create(actor=request.user, **fields)
        adopt(obj, saved)

    def delete_model(self, request, obj):
        services.tier_delete(actor=request.user, tier=obj)


# Memberships ----------------------------------------------------------------------------------------------------


class PartnerLinkMixin:
    @admin.display(description="Partner", ordering="partner__name")
    def partner_link(self, obj):
        if obj.partner_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', admin_url(obj.partner), obj.partner.name)

    def lookup_allowed(self, lookup, value, request=None):
        # Links from a partner's page filter by it; the list stays scoped either way.
        if lookup == "partner__id__exact":
            return True
        return super().lookup_allowed(lookup, value, request)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "title", "is_active"]


@admin.register(Membership, site=console)
class MembershipAdmin(PartnerLinkMixin, ScopedModelAdmin):
    form = MembershipForm
    list_display = ["member_name", "member_email", "partner_link", "role", "is_active", "title", "created_at"]
    list_display_links = ["member_name"]
    list_select_related = ["user", "partner"]
    list_filter = ["role", "is_active", ("partner__partner_type", admin.ChoicesFieldListFilter)]
    search_fields = ["user__email", "user__first_name", "user__last_name", "user__username", "partner__name"]
    search_help_text = "Search by e-mail, name or partner."
    readonly_fields = ["partner_link", "member_name", "member_email", "created_at", "deactivated_at"]
    fields = [
        "partner_link",
        "member_name",
        "member_email",
        "role",
        "title",
        "is_active",
        "created_at",
        "deactivated_at",
    ]
    ordering = ["partner__name", "user__first_name", "id"]
    list_per_page = 100

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("user", "partner")

    def has_add_permission(self, request):
        return False  # people join through invitations

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead; the row stays for the audit trail

    @admin.display(description="Person", ordering="user__first_name")
    def member_name(self, membership):
        return membership.user.display_name

    @admin.display(description="E-mail", ordering="user__email")
    def member_email(self, membership):
        return membership.user.email

    def save_model(self, request, obj, form, change):
        _save_membership(request, obj.pk, form)
        adopt(obj, selectors.access_membership(user=request.user, pk=obj.pk))

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": form.changed_data}}]


# Brands ---------------------------------------------------------------------------------------------------------


@admin.register(PartnerBrand, site=console)
class PartnerBrandAdmin(BrandDisplayMixin, PartnerLinkMixin, ScopedModelAdmin):
    form = BrandForm
    list_display = ["display_name", "partner_link", "colours", "subdomain", "custom_domain", "version", "updated_at"]
    list_display_links = ["display_name"]
    list_select_related = ["partner"]
    search_fields = ["display_name", "subdomain", "custom_domain", "partner__name"]
    ordering = ["display_name", "id"]
    fieldsets = [
        (None, {"fields": ["partner_link", "display_name", "tagline"]}),
        ("Logo", {"fields": ["logo", "logo_info"]}),
        ("Colours", {"fields": [("primary_color", "accent_color"), "colours"]}),
        ("Hosts", {"fields": ["subdomain", "custom_domain"]}),
        ("Support contact", {"fields": ["support_email", "support_phone"]}),
        ("Record", {"fields": ["version", "updated_at"]}),
    ]
    readonly_fields = ["partner_link", "logo_info", "colours", "version", "updated_at"]

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner")

    def has_add_permission(self, request):
        return False  # created with the partner

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        adopt(obj, _save_brand(request, obj.pk, form))

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": form.changed_data}}]


# Invitations ----------------------------------------------------------------------------------------------------


class InvitationStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("accepted", "Accepted"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            "pending": lambda: queryset.filter(open_, expires_at__gt=now),
            "accepted": lambda: queryset.filter(accepted_at__isnull=False),
            "revoked": lambda: queryset.filter(revoked_at__isnull=False, accepted_at__isnull=True),
            "expired": lambda: queryset.filter(open_, expires_at__lte=now),
        }.get(self.value(), lambda: queryset)()


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["partner", "email", "role"]


@admin.register(Invitation, site=console)
class InvitationAdmin(PartnerLinkMixin, ScopedModelAdmin):
    form = InvitationForm
    list_display = ["email", "partner_link", "role", "state_badge", "invited_by", "created_at", "expires_at"]
    list_display_links = ["email"]
    list_select_related = ["partner", "invited_by"]
    list_filter = ["role", InvitationStateFilter]
    search_fields = ["email", "partner__name"]
    autocomplete_fields = ["partner"]
    actions = ["revoke_invitations"]
    ordering = ["-created_at", "-id"]

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "invited_by", "accepted_by")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "email", "role"]
        return [
            "partner_link",
            "email",
            "role",
            "state_badge",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_by",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partner":
            kwargs["queryset"] = access.partners_for(request.user, Invitation, "add").order_by("name", "id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # An invitation is never edited: it is sent, accepted or revoked.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("partnerhub.change_invitation")

    @admin.display(description="State")
    def state_badge(self, invitation):
        state = invitation.state
        return badge("invitation", state, state.capitalize())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.invitation_create(
            actor=request.user, partner=data["partner"], email=data["email"], role=data["role"]
        )
        adopt(obj, saved)

    @admin.action(description="Revoke selected invitations", permissions=["revoke"])
    def revoke_invitations(self, request, queryset):
        invitations = list(console_scoped(queryset, request.user, "change"))
        done = [
            i
            for i in invitations
            if i.revoked_at is None
            and self.run_service(request, i, lambda i=i: services.invitation_revoke(actor=request.user, invitation=i))
        ]
        if done:
            self.message_user(request, f"Revoked {count_label(len(done), 'invitation')}.", messages.SUCCESS)


# Audit trail ----------------------------------------------------------------------------------------------------


@admin.register(AuditEvent, site=console)
class AuditEventAdmin(ReadOnlyMixin, PartnerLinkMixin, ScopedModelAdmin):
    list_display = ["created_at", "action_label", "partner_link", "who", "target", "change_summary", "reason"]
    list_display_links = ["created_at"]
    list_select_related = ["partner"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["target_label", "actor_label", "reason", "partner__name"]
    fields = [
        "created_at",
        "action_label",
        "partner_link",
        "actor_label",
        "target_type",
        "target_id",
        "target_label",
        "change_table",
        "reason",
        "ip_address",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    list_per_page = 100

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner")

    @admin.display(description="Action", ordering="action")
    def action_label(self, event):
        return event.get_action_display()

    @admin.display(description="Who", ordering="actor_label")
    def who(self, event):
        return event.actor_label or "system"

    @admin.display(description="Target", ordering="target_label")
    def target(self, event):
        return event.target_label or "—"

    @admin.display(description="Change")
    def change_summary(self, event):
        parts = []
        for field, value in (event.changes or {}).items():
            if isinstance(value, list | tuple) and len(value) == 2:
                parts.append(f"{field}: {value[0] if value[0] is not None else '—'} → {value[1]}")
            else:
                parts.append(f"{field}: {value}")
        text = "; ".join(parts)
        return text if len(text) <= 90 else f"{text[:89]}…"

    @admin.display(description="Changes")
    def change_table(self, event):
        if not event.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>→</td><td>{}</td></tr>",
            (
                (field, *(value if isinstance(value, list | tuple) and len(value) == 2 else (None, value)))
                for field, value in event.changes.items()
            ),
        )
        return format_html('<table class="ph-changes">{}</table>', rows)


# Vendor staff and API keys --------------------------------------------------------------------------------------


class StaffRoleFilter(admin.SimpleListFilter):
    title = "staff role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return list(StaffRole.choices)

    def queryset(self, request, queryset):
        if self.value() in roles.GROUP_NAMES:
            return queryset.filter(groups__name=roles.GROUP_NAMES[self.value()])
        return queryset


class StaffRolesForm(forms.ModelForm):
    """Only the vendor staff roles are edited here; they are applied by ``services.staff_roles_set``."""

    roles = forms.MultipleChoiceField(
        choices=StaffRole.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Vendor staff roles",
        help_text="Each role is a set of console permissions. Partner users cannot hold staff roles.",
    )

    class Meta:
        model = User
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            names = {name: role for role, name in roles.GROUP_NAMES.items()}
            self.initial["roles"] = [names[g.name] for g in self.instance.groups.all() if g.name in names]


class UserMembershipInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = Membership
    fk_name = "user"
    fields = ["partner_link", "role", "title", "is_active", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Partner memberships"

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner")

    @admin.display(description="Partner")
    def partner_link(self, membership):
        return format_html('<a href="{}">{}</a>', admin_url(membership), membership.partner.name)


@admin.register(User, site=console)
class UserAdmin(ScopedModelAdmin):
    form = StaffRolesForm
    list_display = ["username", "full_name", "email", "role_list", "is_staff", "is_active", "memberships_count"]
    list_display_links = ["username"]
    list_filter = ["is_staff", "is_active", StaffRoleFilter, "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    inlines = [UserMembershipInline]
    account_fields = ["username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser"]

    def decorate_queryset(self, request, queryset):
        active = (
            Membership.objects.filter(user=OuterRef("pk"), is_active=True)
            .order_by()
            .values("user")
            .annotate(n=Count("pk"))
            .values("n")
        )
        staff_groups = roles.GROUP_NAMES.values()
        from django.contrib.auth.models import Group

        return queryset.annotate(active_memberships=Coalesce(Subquery(active), 0)).prefetch_related(
            Prefetch("groups", queryset=Group.objects.filter(name__in=staff_groups).order_by("name"))
        )

    def may_edit_roles(self, request, obj) -> bool:
        # Nobody edits their own roles: a slip would lock them out of the console.
        return obj is not None and obj.pk != request.user.pk and self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        roles_field = "roles" if self.may_edit_roles(request, obj) else "role_list"
        return [
            ("Account", {"fields": self.account_fields}),
            ("Vendor staff", {"fields": [roles_field]}),
            ("Activity", {"fields": ["last_login", "date_joined"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.account_fields, "role_list", "last_login", "date_joined"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Name", ordering="first_name")
    def full_name(self, user):
        return user.get_full_name() or "—"

    @admin.display(description="Staff roles")
    def role_list(self, user):
        labels = {name: StaffRole(role).label for role, name in roles.GROUP_NAMES.items()}
        return ", ".join(labels[g.name] for g in user.groups.all() if g.name in labels) or "—"

    @admin.display(description="Active memberships", ordering="active_memberships")
    def memberships_count(self, user):
        return getattr(user, "active_memberships", 0)

    def save_model(self, request, obj, form, change):
        if "roles" in form.changed_data and self.may_edit_roles(request, obj):
            services.staff_roles_set(actor=request.user, user=obj, role_values=form.cleaned_data["roles"])

    def save_related(self, request, form, formsets, change):
        pass  # memberships are read-only here; roles were applied by the service

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": form.changed_data}}]


@admin.register(ApiToken, site=console)
class ApiTokenAdmin(ReadOnlyMixin, ScopedModelAdmin):
    """API keys: listed and revoked, never shown. Rows are identified by the key's public prefix."""

    list_display = ["name", "key_prefix", "owner", "created", "expiry", "last_used_at", "state_badge"]
    list_display_links = None
    list_select_related = ["user"]
    search_fields = ["name", "token_key", "user__email", "user__username"]
    ordering = ["-created"]
    actions = ["revoke_tokens"]

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("user")

    def has_revoke_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("partnerhub.delete_apitoken")

    @admin.display(description=mark_safe("&nbsp;"))
    def action_checkbox(self, obj):
        # The row checkbox carries the key prefix, never the stored digest (the primary key).
        attrs = {"class": "action-select", "aria-label": f"Select {obj.name} ({obj.token_key}…)"}
        return forms.CheckboxInput(attrs, lambda value: False).render(helpers.ACTION_CHECKBOX_NAME, obj.token_key)

    def response_action(self, request, queryset):
        prefixes = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        digests = list(queryset.filter(token_key__in=prefixes).values_list("pk", flat=True))
        data = request.POST.copy()
        data.setlist(helpers.ACTION_CHECKBOX_NAME, digests)
        request.POST = data
        return super().response_action(request, queryset)

    def _is_pk(self, value) -> bool:
        return isinstance(value, str) and 0 < len(value) <= 128

    @admin.display(description="Key prefix", ordering="token_key")
    def key_prefix(self, token):
        return format_html("<code>{}…</code>", token.token_key)

    @admin.display(description="Owner", ordering="user__username")
    def owner(self, token):
        return _user_label(token.user)

    @admin.display(description="State")
    def state_badge(self, token):
        expired = token.expiry is not None and token.expiry <= timezone.now()
        return badge("token", "expired" if expired else "active", "Expired" if expired else "Active")

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        tokens = list(console_scoped(queryset, request.user, "delete").select_related("user"))
        done = [
            t
            for t in tokens
            if self.run_service(request, t, lambda t=t: services.api_token_revoke(actor=request.user, token=t))
        ]
        if done:
            self.message_user(request, f"Revoked {count_label(len(done), 'API key')}.", messages.SUCCESS)
