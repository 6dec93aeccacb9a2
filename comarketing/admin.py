"""Co-marketing in the vendor console: the asset library (versions with previews, "Add version", audiences with
chosen partners as grants), campaigns with their opt-ins, fund programs, allocations with "Grant funds", MDF
requests and claims with their decisions and payments, the ledger, and an MDF utilisation card on the dashboard.

Every page builds on ``ScopedModelAdmin`` / ``ScopedInline``. Partner-owned rows (allocations, requests, claims,
proofs, opt-ins) go through the access layer; assets and campaigns follow the API's rule
(``comarketing.api.scopes``): a channel manager never sees what is shared with chosen partners none of whom they
manage. Every write goes through ``comarketing.services`` or ``comarketing.mdf``; a refusal is shown next to the
field it names and nothing is saved. Files (asset versions, previews, proofs) are streamed by the views below after
the same scoped lookup as their pages, never linked at a storage address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.forms.models import construct_instance
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from comarketing import mdf, services
from comarketing.api import scopes
from comarketing.choices import AssetKind, RequestStatus, TemplateKind
from comarketing.models import (
    Asset,
    AssetDownload,
    AssetVersion,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub import access
from partnerhub.admin import ManagerPicker
from partnerhub.admin_site import (
    DashboardCard,
    ReadOnlyMixin,
    ScopedInline,
    ScopedModelAdmin,
    admin_url,
    badge,
    changelist_url,
    console,
    console_can,
    console_scoped,
    count_label,
    register_dashboard_card,
    run_with_form,
    scope_rule,
    staff_with_model_perm,
)
from partnerhub.errors import DomainError
from partnerhub.models import Partner

CARD_PARTNERS = 6
DUE_SOON_DAYS = 14


class ConsoleMedia:
    css = {"all": ["comarketing/console.css"]}


# Scope rules ---------------------------------------------------------------------------------------------------


@scope_rule(Asset)
def _scope_assets(queryset, user, action):
    # The API's rule: a channel manager sees chosen-partner assets only when one of their partners is chosen.
    rows = staff_with_model_perm(queryset, user, action)
    if user.is_superuser or access.sees_all_partners(user):
        return rows
    return rows.filter(pk__in=scopes.visible_assets(user=user).values("pk"))


@scope_rule(AssetVersion)
def _scope_versions(queryset, user, action):
    # Versions are read with their asset and added through "Add version", never edited here.
    if action != "view":
        return queryset.none()
    return queryset.filter(asset__in=_scope_assets(Asset.objects.all(), user, "view").values("pk"))


@scope_rule(Campaign)
def _scope_campaigns(queryset, user, action):
    rows = staff_with_model_perm(queryset, user, action)
    if user.is_superuser or access.sees_all_partners(user):
        return rows
    return rows.filter(pk__in=scopes.visible_campaigns(user=user).values("pk"))


@scope_rule(FundProgram)
def _scope_programs(queryset, user, action):
    return staff_with_model_perm(queryset, user, action)


@scope_rule(LedgerEntry)
def _scope_ledger(queryset, user, action):
    # The ledger is append-only: it is read where its allocation may be read, and never changed by hand.
    if action != "view" or not access.is_vendor_staff(user):
        return queryset.none()
    return queryset.filter(allocation__in=access.scoped(FundAllocation.objects.all(), user, "view").values("pk"))


# Helpers -------------------------------------------------------------------------------------------------------


def _badge(kind: str, value: str, label: str) -> str:
    return badge(f"cm-{kind}", value or "none", label)


def _money(value) -> str:
    return f"{value:,.2f}" if value is not None else "—"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / 1048576:,.1f} MB"


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stream(fieldfile, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    try:
        handle = fieldfile.open("rb")
    except (FileNotFoundError, ValueError, OSError):
        raise Http404("The file is missing.") from None
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


class PartnerColumn:
    @admin.display(description="Partner", ordering="partner__name")
    def partner_link(self, obj):
        partner = obj.partner
        return format_html('<a href="{}">{}</a>', admin_url(partner), partner.name)

    def lookup_allowed(self, lookup, value, request=None):
        # Links from a partner's page filter by it; the list stays scoped either way.
        if lookup in ("partner__id__exact", "allocation__id__exact", "program__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)


# Action pages --------------------------------------------------------------------------------------------------


class ActionForm(forms.Form):
    takes_rows = True  # run_with_form hands the selected rows over for validation against them

    def __init__(self, *args, rows=(), **kwargs):
        self.rows = list(rows)
        super().__init__(*args, **kwargs)


def _text(label: str, *, max_length: int, required: bool = True, help_text: str = "", rows: int = 3):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 70}),
        error_messages={"required": f"Write the {label.lower()}."},
    )


def _amount(label: str, *, required: bool, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=help_text,
        error_messages={"required": "Give the amount, e.g. 2500 or 2500.50."},
    )


class ApproveRequestForm(ActionForm):
    amount = _amount(
        "Amount", required=False, help_text="Approve less than planned; leave empty to approve the planned cost."
    )
    note = _text("Note", max_length=1000, required=False, help_text="Sent to the partner with the decision.")

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and len(self.rows) > 1:
            raise forms.ValidationError("Leave the amount empty when approving several requests at once.")
        return amount


class ReasonForm(ActionForm):
    note = _text("Reason", max_length=1000, help_text="Sent to the partner and kept with the decision.")


class ClaimApproveForm(ActionForm):
    note = _text("Note", max_length=1000, required=False, help_text="Sent to the partner; optional.")


class PayForm(ActionForm):
    reference = forms.CharField(
        label="Payment reference",
        max_length=120,
        help_text="The invoice or transfer number; sent to the partner and kept in the ledger.",
        error_messages={"required": "Give the payment reference (invoice or transfer number)."},
    )


class GrantForm(ActionForm):
    amount = _amount("Amount", required=True, help_text="Added to each selected allocation; audited.")
    note = forms.CharField(label="Note", max_length=300, required=False, help_text="Kept in the ledger.")


# Assets --------------------------------------------------------------------------------------------------------


class AssetForm(forms.ModelForm):
    """Metadata and audience; ``partners`` are the chosen partners (among those the editor may see), kept as view
    grants to their member groups. Saved through ``services.asset_save``."""

    tags_text = forms.CharField(
        label="Tags",
        required=False,
        max_length=600,
        help_text="Comma-separated, e.g. security, banner. Partners find assets by them.",
    )
    partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        widget=ManagerPicker("partners", is_stacked=False),
        help_text="For the audience “Chosen partners”. Partners you cannot see keep their grants.",
    )

    class Meta:
        model = Asset
        fields = [
            "title",
            "description",
            "kind",
            "category",
            "tags_text",
            "audience",
            "tiers",
            "partners",
            "status",
            "publish_at",
            "expires_at",
            "template_kind",
        ]


ASSET_FIELDS = (
    "title",
    "description",
    "kind",
    "category",
    "audience",
    "status",
    "publish_at",
    "expires_at",
    "template_kind",
)


class VersionForm(forms.Form):
    """A new version of an asset, saved through ``services.asset_add_version`` (which checks the file's content)."""

    file = forms.FileField(required=False, help_text="PDF, image or slide deck, judged by content; at most 50 MB.")
    external_url = forms.URLField(required=False, max_length=500, label="Video link", assume_scheme="https")
    text_body = forms.CharField(
        required=False,
        max_length=20000,
        label="Copy",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="E-mail or social post copy.",
    )
    html_template = forms.CharField(
        required=False,
        max_length=200000,
        strip=False,
        label="HTML/CSS template",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80, "class": "ph-code"}),
        help_text="Co-brandable PDFs: a template with {{ partner.name }}, {{ partner.logo_data_uri }} … "
        "(partner data is escaped). It is rendered once with sample data to check it.",
    )
    regions = forms.CharField(
        required=False,
        max_length=1000,
        label="Placeholder regions",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "class": "ph-code"}),
        help_text='Co-brandable images, as JSON: {"logo": [x, y, w, h], "name": [...], "contact": [...]}.',
    )
    notes = forms.CharField(required=False, max_length=500, help_text="For the marketing team; partners never see it.")

    def clean_regions(self):
        text = self.cleaned_data["regions"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError('Write the regions as JSON, e.g. {"logo": [20, 20, 200, 80]}.') from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Write the regions as a JSON object, e.g. {"logo": [20, 20, 200, 80]}.')
        return value


class AssetVersionInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = AssetVersion
    fk_name = "asset"
    fields = ["number", "preview", "content", "notes", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ["-number"]
    verbose_name_plural = "versions (the newest is current)"

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("created_by", "asset")

    @admin.display(description="Preview")
    def preview(self, version):
        if not version.thumbnail:
            return "—"
        url = reverse(
            "admin:comarketing_asset_thumbnail", args=[version.asset_id, version.pk], current_app=console.name
        )
        return format_html(
            '<img src="{}" alt="Preview of version {}" class="ph-cm-thumb" loading="lazy">', url, version.number
        )

    @admin.display(description="Content")
    def content(self, version):
        if version.file:
            url = reverse("admin:comarketing_asset_file", args=[version.asset_id, version.pk], current_app=console.name)
            size = _size(version.size)
            return format_html(
                '<a href="{}">{}</a> <span class="ph-muted">{} · {}</span>',
                url,
                version.original_name or "Download",
                version.content_type,
                size,
            )
        if version.external_url:
            return format_html(
                '<a href="{}" rel="noopener noreferrer">{}</a>', version.external_url, version.external_url
            )
        if version.html_template:
            return format_html('<span class="ph-muted">HTML template, {} characters</span>', len(version.html_template))
        if version.text_body:
            return format_html('<span class="ph-cm-copy">{}</span>', version.text_body[:160])
        return "—"


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("expired", "Expired"), ("soon", "Expires within 30 days"), ("never", "Never expires")]

    def queryset(self, request, queryset):
        now = timezone.now()
        return {
            "expired": lambda: queryset.filter(expires_at__lte=now),
            "soon": lambda: queryset.filter(expires_at__gt=now, expires_at__lte=now + timezone.timedelta(days=30)),
            "never": lambda: queryset.filter(expires_at__isnull=True),
        }.get(self.value(), lambda: queryset)()


@admin.register(Asset, site=console)
class AssetAdmin(ScopedModelAdmin):
    form = AssetForm
    list_display = [
        "title",
        "kind_badge",
        "audience_label",
        "status_badge",
        "publish_at",
        "expiry",
        "version_count",
        "download_count",
    ]
    list_display_links = ["title"]
    list_filter = ["kind", "audience", "status", ExpiryFilter, "template_kind", "category"]
    search_fields = ["title", "description"]
    search_help_text = "Search titles and descriptions."
    ordering = ["-publish_at", "-id"]
    list_per_page = 50
    inlines = [AssetVersionInline]
    filter_horizontal = ["tiers"]
    actions = None
    fieldsets = [
        (None, {"fields": ["title", "description", "kind", "category", "tags_text"]}),
        ("Audience", {"fields": ["audience", "tiers", "partners"]}),
        ("Publishing", {"fields": ["status", "publish_at", "expires_at"]}),
        ("Co-branding", {"fields": ["template_kind"]}),
    ]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("category", "current_version").annotate(
            version_count=Count("versions", distinct=True)
        )

    def has_delete_permission(self, request, obj=None):
        return False  # assets are archived, so that partners' co-branded files and the download history stay

    def get_form(self, request, obj=None, change=False, **kwargs):
        user = request.user

        class ScopedAssetForm(AssetForm):
            def __init__(self, *args, **inner):
                super().__init__(*args, **inner)
                self.fields["partners"].queryset = scopes.partners_in_view(user).order_by("name")
                if obj is not None and not self.is_bound:
                    self.initial["partners"] = list(scopes.asset_partners(obj, user).values_list("pk", flat=True))
                    self.initial["tags_text"] = ", ".join(obj.tags.values_list("name", flat=True))

        # The base wraps this form to show a service's refusal next to its field.
        return super().get_form(request, obj, change, **{**kwargs, "form": ScopedAssetForm})

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ASSET_FIELDS if name in form.cleaned_data}
        tags = [t for t in form.cleaned_data.get("tags_text", "").split(",") if t.strip()]
        partners = list(form.cleaned_data.get("partners") or [])
        if change:
            partners += scopes.partners_granted_outside_view(obj, request.user)
        saved = services.asset_save(
            actor=request.user,
            asset=obj if change else None,
            tags=tags,
            tiers=form.cleaned_data.get("tiers"),
            partners=partners,
            **data,
        )
        if not console_can(request.user, "view", saved):
            raise DomainError(
                "With these partners the asset would be hidden from you; keep one you manage.", field="partners"
            )
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        # Tags, tiers and grants were saved by the service; the read-only inline saves nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    # Columns ------------------------------------------------------------------------------------------------

    @admin.display(description="Kind", ordering="kind")
    def kind_badge(self, asset):
        label = asset.get_kind_display()
        if asset.template_kind:
            label = f"{label} · co-brandable"
        return _badge("kind", asset.kind, label)

    @admin.display(description="Audience", ordering="audience")
    def audience_label(self, asset):
        return _badge("audience", asset.audience, asset.get_audience_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, asset):
        return _badge("status", asset.status, asset.get_status_display())

    @admin.display(description="Expires", ordering="expires_at")
    def expiry(self, asset):
        if asset.expires_at is None:
            return "—"
        moment = timezone.localtime(asset.expires_at).strftime("%Y-%m-%d %H:%M")
        if asset.is_expired:
            return format_html('<span class="ph-cm-expired" title="Hidden from partners">{} · expired</span>', moment)
        return moment

    @admin.display(description="Versions", ordering="version_count")
    def version_count(self, asset):
        return asset.version_count

    # Add version and files ----------------------------------------------------------------------------------

    def get_urls(self):
        opts = self.opts
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "<path:object_id>/add-version/",
                self.admin_site.admin_view(self.add_version_view),
                name=f"{name}_add_version",
            ),
            path(
                "<path:object_id>/versions/<int:version_id>/thumbnail/",
                self.admin_site.admin_view(self.thumbnail_view),
                name=f"{name}_thumbnail",
            ),
            path(
                "<path:object_id>/versions/<int:version_id>/file/",
                self.admin_site.admin_view(self.file_view),
                name=f"{name}_file",
            ),
            *super().get_urls(),
        ]

    def _version(self, request, object_id, version_id) -> AssetVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = (
            console_scoped(AssetVersion.objects.all(), request.user, "view")
            .filter(asset_id=_int_or_none(object_id), pk=version_id)
            .first()
        )
        if version is None:
            raise Http404("Not found.")
        return version

    def thumbnail_view(self, request, object_id, version_id):
        version = self._version(request, object_id, version_id)
        if not version.thumbnail:
            raise Http404("This version has no preview.")
        return _stream(version.thumbnail, filename=f"v{version.number}.png", content_type="image/png", inline=True)

    def file_view(self, request, object_id, version_id):
        version = self._version(request, object_id, version_id)
        if not version.file:
            raise Http404("This version has no file.")
        return _stream(
            version.file, filename=version.original_name or f"v{version.number}", content_type=version.content_type
        )

    def add_version_view(self, request, object_id):
        asset = self.get_object(request, object_id)  # 404 outside the scope
        if not self.has_change_permission(request, asset):
            raise PermissionDenied
        form = VersionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    version = services.asset_add_version(
                        actor=request.user,
                        asset=asset,
                        upload=data["file"],
                        external_url=data["external_url"],
                        text_body=data["text_body"],
                        html_template=data["html_template"],
                        regions=data["regions"],
                        notes=data["notes"],
                    )
            except DomainError as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                self.message_user(request, f"Version {version.number} of “{asset}” is now current.", messages.SUCCESS)
                return HttpResponseRedirect(admin_url(asset))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add a version of “{asset}”",
            "opts": self.opts,
            "original": asset,
            "form": form,
            "kind": asset.get_kind_display(),
            "hints": _version_hints(asset),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/comarketing/asset/add_version.html", context, status=status)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["add_version_url"] = (
                reverse("admin:comarketing_asset_add_version", args=[obj.pk], current_app=self.admin_site.name)
                if self.has_change_permission(request, obj)
                else None
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def _version_hints(asset: Asset) -> list[str]:
    if asset.kind == AssetKind.VIDEO:
        return ["Give the video link."]
    if asset.kind in (AssetKind.EMAIL_COPY, AssetKind.SOCIAL_COPY):
        return ["Write the copy."]
    hints = ["Upload the file; it is checked by its content and must match the asset's kind."]
    if asset.template_kind == TemplateKind.HTML:
        hints = ["Write the HTML/CSS template (a file is optional: the template alone makes the PDF)."]
    if asset.template_kind == TemplateKind.IMAGE:
        hints.append("Give the placeholder regions where the partner's logo, name and contact go.")
    return hints


# Campaigns -----------------------------------------------------------------------------------------------------


class CampaignForm(forms.ModelForm):
    slug = forms.SlugField(max_length=200, required=False, help_text="Made from the name when left empty.")

    class Meta:
        model = Campaign
        fields = [
            "name",
            "slug",
            "description",
            "starts_at",
            "ends_at",
            "audience",
            "tiers",
            "partners",
            "assets",
            "email_copy",
            "social_copy",
            "status",
        ]
        help_texts = {"partners": "For the audience “Chosen partners”. Partners you cannot see stay chosen."}

    def validate_unique(self):
        pass  # the service answers a taken slug next to the field

    def _post_clean(self):
        # The model's own checks (its date constraint) are the service's to make, with a message naming the field.
        self.instance = construct_instance(self, self.instance, self._meta.fields)


CAMPAIGN_FIELDS = (
    "name",
    "slug",
    "description",
    "starts_at",
    "ends_at",
    "audience",
    "email_copy",
    "social_copy",
    "status",
)


class CampaignOptInInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = CampaignOptIn
    fields = ["partner_name", "opted_in_by", "opted_in_at", "downloads"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "opt-ins of the partners you may see"

    def decorate_queryset(self, request, queryset):
        downloads = (
            AssetDownload.objects.filter(campaign=OuterRef("campaign"), partner=OuterRef("partner"))
            .order_by()
            .values("campaign")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.select_related("partner", "opted_in_by").annotate(
            kit_downloads=Coalesce(Subquery(downloads), Value(0))
        )

    @admin.display(description="Partner")
    def partner_name(self, opt_in):
        return format_html('<a href="{}">{}</a>', admin_url(opt_in.partner), opt_in.partner.name)

    @admin.display(description="Kit downloads")
    def downloads(self, opt_in):
        return opt_in.kit_downloads


@admin.register(Campaign, site=console)
class CampaignAdmin(ScopedModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "audience_label",
        "starts_at",
        "ends_at",
        "running",
        "status_badge",
        "asset_count",
        "opt_in_count",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "audience"]
    search_fields = ["name", "slug"]
    ordering = ["-starts_at", "-id"]
    inlines = [CampaignOptInInline]
    actions = None
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "status"]}),
        ("When", {"fields": ["starts_at", "ends_at"]}),
        ("Audience", {"fields": ["audience", "tiers", "partners"]}),
        ("Kit", {"fields": ["assets", "email_copy", "social_copy"]}),
    ]
    filter_horizontal = ["tiers", "partners", "assets"]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        opt_ins = (
            console_scoped(CampaignOptIn.objects.all(), request.user, "view")
            .filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.annotate(
            visible_opt_ins=Coalesce(Subquery(opt_ins), Value(0)), kit_size=Count("assets", distinct=True)
        )

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in CAMPAIGN_FIELDS if name in form.cleaned_data}
        partners = list(form.cleaned_data.get("partners") or [])
        if change:
            partners += scopes.campaign_partners_outside_view(Campaign.objects.get(pk=obj.pk), request.user)
        saved = services.campaign_save(
            actor=request.user,
            campaign=obj if change else None,
            tiers=form.cleaned_data.get("tiers"),
            partners=partners,
            assets=form.cleaned_data.get("assets"),
            **data,
        )
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        # Tiers, partners and the kit were saved by the service; the read-only opt-ins save nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def delete_model(self, request, obj):
        services.campaign_delete(actor=request.user, campaign=obj)

    @admin.display(description="Audience", ordering="audience")
    def audience_label(self, campaign):
        return _badge("audience", campaign.audience, campaign.get_audience_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, campaign):
        return _badge("status", campaign.status, campaign.get_status_display())

    @admin.display(description="Running", boolean=True)
    def running(self, campaign):
        return campaign.starts_at <= timezone.now() < campaign.ends_at

    @admin.display(description="Kit", ordering="kit_size")
    def asset_count(self, campaign):
        return count_label(campaign.kit_size, "asset")

    @admin.display(description="Opt-ins", ordering="visible_opt_ins")
    def opt_in_count(self, campaign):
        return campaign.visible_opt_ins


# Fund programs -------------------------------------------------------------------------------------------------


class FundProgramForm(forms.ModelForm):
    class Meta:
        model = FundProgram
        fields = [
            "name",
            "period_start",
            "period_end",
            "currency",
            "budget",
            "starting_allocation",
            "claim_days",
            "is_active",
        ]
        help_texts = {"starting_allocation": "Granted to every newly provisioned partner."}

    def _post_clean(self):
        # The period constraint is the service's to check, naming the field.
        self.instance = construct_instance(self, self.instance, self._meta.fields)


@admin.register(FundProgram, site=console)
class FundProgramAdmin(ScopedModelAdmin):
    form = FundProgramForm
    list_display = [
        "name",
        "period_start",
        "period_end",
        "currency",
        "budget_label",
        "starting_label",
        "allocated",
        "claim_days",
        "is_active",
    ]
    list_display_links = ["name"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name"]
    ordering = ["-period_start"]
    actions = None

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        # Only the allocations this user may see count: the list reveals nothing outside the scope.
        visible = access.scoped(FundAllocation.objects.all(), request.user, "view")
        allocated = (
            visible.filter(program=OuterRef("pk"))
            .order_by()
            .values("program")
            .annotate(total=Sum("allocated"))
            .values("total")
        )
        return queryset.annotate(visible_allocated=Subquery(allocated))

    def has_delete_permission(self, request, obj=None):
        return False  # allocations and their ledgers keep their program

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in FundProgramForm.Meta.fields}
        saved = mdf.fund_program_save(actor=request.user, program=obj if change else None, **data)
        obj.__dict__.update(saved.__dict__)

    @admin.display(description="Budget", ordering="budget")
    def budget_label(self, program):
        return _money(program.budget)

    @admin.display(description="Starting allocation", ordering="starting_allocation")
    def starting_label(self, program):
        return _money(program.starting_allocation)

    @admin.display(description="Allocated (your partners)", ordering="visible_allocated")
    def allocated(self, program):
        return _money(program.visible_allocated or 0)


# Allocations ---------------------------------------------------------------------------------------------------


class AllocationGrantForm(forms.ModelForm):
    """Grant funds to a partner in a program (adding to its allocation there, if it has one)."""

    amount = _amount("Amount", required=True, help_text="Added to the partner's allocation in the program; audited.")
    note = forms.CharField(max_length=300, required=False, help_text="Kept in the ledger.")

    class Meta:
        model = FundAllocation
        fields = ["partner", "program"]

    def validate_unique(self):
        pass  # a second grant in the same program adds to the existing allocation


class LedgerInline(ReadOnlyMixin, ScopedInline, admin.TabularInline):
    model = LedgerEntry
    fields = ["created_at", "kind_badge", "amount_label", "request", "actor", "note"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["created_at", "id"]
    verbose_name_plural = "ledger"

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("actor", "request")

    @admin.display(description="Movement")
    def kind_badge(self, entry):
        return _badge("ledger", entry.kind, entry.get_kind_display())

    @admin.display(description="Amount")
    def amount_label(self, entry):
        return _money(entry.amount)


@admin.register(FundAllocation, site=console)
class FundAllocationAdmin(PartnerColumn, ScopedModelAdmin):
    list_display = [
        "partner_link",
        "program",
        "allocated_label",
        "committed_label",
        "claimed_label",
        "paid_label",
        "available_label",
        "updated_at",
    ]
    list_display_links = ["program"]
    list_filter = ["program"]
    search_fields = ["partner__name"]
    search_help_text = "Search by partner name."
    ordering = ["-program__period_start", "partner__name"]
    actions = ["grant_funds"]
    inlines = [LedgerInline]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "program")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AllocationGrantForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "program", "amount", "note"]
        return [
            "partner_link",
            "program",
            "allocated_label",
            "committed_label",
            "claimed_label",
            "paid_label",
            "available_label",
            "updated_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        return [LedgerInline] if obj is not None else []

    def has_add_permission(self, request):
        return self.has_grant_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # balances move only through the ledger

    def has_delete_permission(self, request, obj=None):
        return False

    def has_grant_permission(self, request):
        user = request.user
        return access.is_vendor_staff(user) and user.has_perm("comarketing.add_fundallocation")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partner":
            kwargs["queryset"] = access.partners_for(request.user, FundAllocation, "add").order_by("name")
        if db_field.name == "program":
            kwargs["queryset"] = FundProgram.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = mdf.allocation_grant(
            actor=request.user,
            partner=data["partner"],
            program=data["program"],
            amount=data["amount"],
            note=data.get("note", ""),
        )
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the ledger inline is read-only; this only records that nothing changed
            self.save_formset(request, form, formset, change)

    @admin.action(description="Grant funds…", permissions=["grant"])
    def grant_funds(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=GrantForm,
            scope_action="view",
            page={
                "action": "grant_funds",
                "title": "Grant funds",
                "lead": "The amount is added to each selected allocation and recorded in its ledger and the audit "
                "trail.",
                "submit": "Grant",
            },
            call=lambda a, data: mdf.allocation_grant(
                actor=request.user, partner=a.partner, program=a.program, amount=data["amount"], note=data["note"]
            ),
            done=lambda rows: f"Granted funds to {count_label(len(rows), 'allocation')}.",
        )

    @admin.display(description="Allocated", ordering="allocated")
    def allocated_label(self, allocation):
        return _money(allocation.allocated)

    @admin.display(description="Committed", ordering="committed")
    def committed_label(self, allocation):
        return _money(allocation.committed)

    @admin.display(description="Claimed", ordering="claimed")
    def claimed_label(self, allocation):
        return _money(allocation.claimed)

    @admin.display(description="Paid", ordering="paid")
    def paid_label(self, allocation):
        return _money(allocation.paid)

    @admin.display(description="Available")
    def available_label(self, allocation):
        css = "ph-cm-available" + (" ph-cm-available--empty" if allocation.available <= 0 else "")
        return format_html(
            '<strong class="{}">{} {}</strong>', css, _money(allocation.available), allocation.program.currency
        )


# Requests ------------------------------------------------------------------------------------------------------


class DecisionTools:
    """Buttons on a change page that run one of the list's actions on this object and come back."""

    decision_actions: tuple[tuple[str, str, str], ...] = ()

    def tools_for(self, request, obj) -> list[dict]:
        return []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["decision_tools"] = self.tools_for(request, obj)
            context["decision_url"] = changelist_url(self.model)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _tools(self, request, wanted: list[str]) -> list[dict]:
        actions = self.get_actions(request)
        return [
            {"action": name, "label": label, "style": style}
            for name, label, style in self.decision_actions
            if name in wanted and name in actions
        ]


def _due_label(fund_request: FundRequest) -> str:
    due = fund_request.claim_due_on
    if due is None:
        return "—"
    if fund_request.status != RequestStatus.APPROVED:
        return due.isoformat()
    days = (due - timezone.localdate()).days
    if days < 0:
        return format_html('<span class="ph-cm-due ph-cm-due--late">{} · overdue</span>', due.isoformat())
    if days <= DUE_SOON_DAYS:
        return format_html('<span class="ph-cm-due ph-cm-due--soon">{} · {} days</span>', due.isoformat(), days)
    return due.isoformat()


@admin.register(FundRequest, site=console)
class FundRequestAdmin(DecisionTools, PartnerColumn, ScopedModelAdmin):
    list_display = [
        "activity",
        "partner_link",
        "program_name",
        "planned",
        "approved",
        "status_badge",
        "claim_due",
        "submitted_at",
    ]
    list_display_links = ["activity"]
    list_filter = ["status", "allocation__program"]
    search_fields = ["activity", "partner__name"]
    search_help_text = "Search by activity or partner."
    ordering = ["-submitted_at", "-id"]
    actions = ["approve_requests", "reject_requests"]
    decision_actions = (
        ("approve_requests", "Approve…", "go"),
        ("reject_requests", "Decline…", "danger"),
    )
    fieldsets = [
        (
            "Activity",
            {"fields": ["activity", "activity_type", "description", "starts_on", "ends_on", "expected_leads"]},
        ),
        ("Money", {"fields": ["partner_link", "allocation_link", "planned", "approved", "balance"]}),
        (
            "Decision",
            {
                "fields": [
                    "status_badge",
                    "submitted_by",
                    "submitted_at",
                    "decided_by",
                    "decided_at",
                    "decision_note",
                    "claim_due",
                    "claim_link",
                ]
            },
        ),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "allocation__program", "submitted_by", "decided_by", "claim")

    def has_add_permission(self, request):
        return False  # partners request funds in the portal or through the API

    def has_change_permission(self, request, obj=None):
        return False  # decisions are actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request):
        user = request.user
        return access.is_vendor_staff(user) and user.has_perm("comarketing.change_fundrequest")

    def tools_for(self, request, obj):
        return self._tools(request, ["approve_requests", "reject_requests"] if obj.status == "submitted" else [])

    @admin.action(description="Approve selected requests…", permissions=["decide"])
    def approve_requests(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=ApproveRequestForm,
            page={
                "action": "approve_requests",
                "title": "Approve MDF requests",
                "lead": "Approval commits the amount from the partner's allocation. If the available balance cannot "
                "cover it, the request is left as it is and named below.",
                "submit": "Approve and commit",
            },
            call=lambda r, data: mdf.request_approve(
                actor=request.user, request=r, amount=data["amount"], note=data["note"]
            ),
            done=lambda rows: f"Approved {count_label(len(rows), 'request')}.",
        )

    @admin.action(description="Decline selected requests…", permissions=["decide"])
    def reject_requests(self, request, queryset):
        return run_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            page={
                "action": "reject_requests",
                "title": "Decline MDF requests",
                "lead": "The partner's admins receive the reason by e-mail.",
                "submit": "Decline",
                "danger": True,
            },
            call=lambda r, data: mdf.request_reject(actor=request.user, request=r, note=data["note"]),
            done=lambda rows: f"Declined {count_label(len(rows), 'request')}.",
        )

    @admin.display(description="Program", ordering="allocation__program__name")
    def program_name(self, fund_request):
        return fund_request.allocation.program.name

    @admin.display(description="Planned", ordering="planned_cost")
    def planned(self, fund_request):
        return f"{_money(fund_request.planned_cost)} {fund_request.allocation.program.currency}"

    @admin.display(description="Approved", ordering="approved_amount")
    def approved(self, fund_request):
        return _money(fund_request.approved_amount)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, fund_request):
        return _badge("request", fund_request.status, fund_request.get_status_display())

    @admin.display(description="Claim due", ordering="claim_due_on")
    def claim_due(self, fund_request):
        return _due_label(fund_request)

    @admin.display(description="Allocation")
    def allocation_link(self, fund_request):
        allocation = fund_request.allocation
        return format_html('<a href="{}">{}</a>', admin_url(allocation), allocation.program.name)

    @admin.display(description="Available in the allocation")
    def balance(self, fund_request):
        allocation = fund_request.allocation
        return f"{_money(allocation.available)} {allocation.program.currency}"

    @admin.display(description="Claim")
    def claim_link(self, fund_request):
        try:
            claim = fund_request.claim
        except FundClaim.DoesNotExist:
            return "—"
        return format_html('<a href="{}">Claim of {}</a>', admin_url(claim), _money(claim.actual_cost))


# Claims --------------------------------------------------------------------------------------------------------


@admin.register(FundClaim, site=console)
class FundClaimAdmin(ReadOnlyMixin, DecisionTools, PartnerColumn, ScopedModelAdmin):
    list_display = [
        "activity",
        "partner_link",
        "cost",
        "leads",
        "deals",
        "revenue_label",
        "roi",
        "status_badge",
        "submitted_at",
        "paid_at",
    ]
    list_display_links = ["activity"]
    list_filter = [("request__status", admin.ChoicesFieldListFilter)]
    search_fields = ["request__activity", "partner__name", "payment_reference"]
    search_help_text = "Search by activity, partner or payment reference."
    ordering = ["-submitted_at", "-id"]
    actions = ["approve_claims", "reject_claims", "pay_claims"]
    decision_actions = (
        ("approve_claims", "Approve…", "go"),
        ("pay_claims", "Record payment…", "go"),
        ("reject_claims", "Reject…", "danger"),
    )
    fieldsets = [
        (
            "Claim",
            {
                "fields": [
                    "activity",
                    "partner_link",
                    "request_link",
                    "status_badge",
                    "approved_amount",
                    "cost",
                    "notes",
                ]
            },
        ),
        ("Results", {"fields": ["leads", "deals", "revenue_label", "roi"]}),
        ("Proof of performance", {"fields": ["proof_list"]}),
        (
            "Decision and payment",
            {"fields": ["submitted_by", "submitted_at", "decided_by", "decided_at", "paid_at", "payment_reference"]},
        ),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("partner", "request__allocation__program", "submitted_by", "decided_by")

    def has_decide_permission(self, request):
        user = request.user
        return access.is_vendor_staff(user) and user.has_perm("comarketing.change_fundclaim")

    def tools_for(self, request, obj):
        status = obj.request.status
        wanted = {
            RequestStatus.CLAIMED: ["approve_claims", "reject_claims"],
            RequestStatus.CLAIM_APPROVED: ["pay_claims"],
        }.get(status, [])
        return self._tools(request, wanted)

    def _claims_action(self, request, queryset, *, form_class, page, call, done):
        return run_with_form(self, request, queryset, form_class=form_class, page=page, call=call, done=done)

    @admin.action(description="Approve selected claims…", permissions=["decide"])
    def approve_claims(self, request, queryset):
        return self._claims_action(
            request,
            queryset,
            form_class=ClaimApproveForm,
            page={
                "action": "approve_claims",
                "title": "Approve MDF claims",
                "lead": "The claimed amount stays claimed until you record its payment.",
                "submit": "Approve",
            },
            call=lambda c, data: mdf.claim_decide(actor=request.user, claim=c, approve=True, note=data["note"]),
            done=lambda rows: f"Approved {count_label(len(rows), 'claim')}.",
        )

    @admin.action(description="Reject selected claims…", permissions=["decide"])
    def reject_claims(self, request, queryset):
        return self._claims_action(
            request,
            queryset,
            form_class=ReasonForm,
            page={
                "action": "reject_claims",
                "title": "Reject MDF claims",
                "lead": "The claimed amount goes back to the partner's available balance; the partner's admins "
                "receive the reason.",
                "submit": "Reject",
                "danger": True,
            },
            call=lambda c, data: mdf.claim_decide(actor=request.user, claim=c, approve=False, note=data["note"]),
            done=lambda rows: f"Rejected {count_label(len(rows), 'claim')}.",
        )

    @admin.action(description="Record payment of selected claims…", permissions=["decide"])
    def pay_claims(self, request, queryset):
        return self._claims_action(
            request,
            queryset,
            form_class=PayForm,
            page={
                "action": "pay_claims",
                "title": "Record MDF payments",
                "lead": "Each approved claim is marked paid with this reference, and the amount moves from claimed "
                "to paid in the ledger.",
                "submit": "Record payment",
            },
            call=lambda c, data: mdf.claim_pay(actor=request.user, claim=c, reference=data["reference"]),
            done=lambda rows: f"Recorded the payment of {count_label(len(rows), 'claim')}.",
        )

    # Columns ------------------------------------------------------------------------------------------------

    @admin.display(description="Activity", ordering="request__activity")
    def activity(self, claim):
        return claim.request.activity

    @admin.display(description="Request")
    def request_link(self, claim):
        return format_html('<a href="{}">{}</a>', admin_url(claim.request), claim.request.activity)

    @admin.display(description="Approved amount")
    def approved_amount(self, claim):
        return _money(claim.request.approved_amount)

    @admin.display(description="Claimed", ordering="actual_cost")
    def cost(self, claim):
        return f"{_money(claim.actual_cost)} {claim.request.allocation.program.currency}"

    @admin.display(description="Revenue", ordering="revenue")
    def revenue_label(self, claim):
        return _money(claim.revenue)

    @admin.display(description="ROI")
    def roi(self, claim):
        if not claim.actual_cost:
            return "—"
        return f"{claim.revenue / claim.actual_cost:.1f}×"

    @admin.display(description="Status", ordering="request__status")
    def status_badge(self, claim):
        return _badge("request", claim.request.status, claim.request.get_status_display())

    @admin.display(description="Files")
    def proof_list(self, claim):
        viewer = getattr(claim, "_console_viewer", None)
        proofs = list(console_scoped(ClaimProof.objects.filter(claim=claim), viewer, "view")) if viewer else []
        if not proofs:
            return "No proof you may open."
        items = [
            (
                reverse("admin:comarketing_fundclaim_proof", args=[claim.pk, proof.pk], current_app=console.name),
                proof.original_name,
                proof.content_type,
                _size(proof.size),
            )
            for proof in proofs
        ]
        rows = format_html_join("", '<li><a href="{}">{}</a> <span class="ph-muted">{} · {}</span></li>', items)
        return format_html('<ul class="ph-cm-proofs">{}</ul>', rows)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            obj._console_viewer = request.user  # the proof list checks each file against the viewer
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<path:object_id>/proofs/<int:proof_id>/",
                self.admin_site.admin_view(self.proof_view),
                name=f"{opts.app_label}_{opts.model_name}_proof",
            ),
            *super().get_urls(),
        ]

    def proof_view(self, request, object_id, proof_id):
        """A proof, for staff who may open it (the same 404 for missing and out of scope)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        proof = get_object_or_404(
            console_scoped(ClaimProof.objects.all(), request.user, "view"),
            claim_id=_int_or_none(object_id),
            pk=proof_id,
        )
        return _stream(proof.file, filename=proof.original_name, content_type=proof.content_type)


# Ledger --------------------------------------------------------------------------------------------------------


@admin.register(LedgerEntry, site=console)
class LedgerEntryAdmin(ReadOnlyMixin, ScopedModelAdmin):
    list_display = [
        "created_at",
        "partner_name",
        "program_name",
        "kind_badge",
        "amount_label",
        "request",
        "actor",
        "note",
    ]
    list_display_links = None
    list_filter = ["kind", "allocation__program"]
    search_fields = ["allocation__partner__name", "note"]
    search_help_text = "Search by partner name or note."
    ordering = ["-created_at", "-id"]
    actions = None
    fields = ["allocation", "kind", "amount", "request", "actor", "note", "created_at"]
    readonly_fields = fields

    Media = ConsoleMedia

    def decorate_queryset(self, request, queryset):
        return queryset.select_related("allocation__partner", "allocation__program", "request", "actor")

    @admin.display(description="Partner", ordering="allocation__partner__name")
    def partner_name(self, entry):
        return entry.allocation.partner.name

    @admin.display(description="Program", ordering="allocation__program__name")
    def program_name(self, entry):
        return entry.allocation.program.name

    @admin.display(description="Movement", ordering="kind")
    def kind_badge(self, entry):
        return _badge("ledger", entry.kind, entry.get_kind_display())

    @admin.display(description="Amount", ordering="amount")
    def amount_label(self, entry):
        return _money(entry.amount)


# Dashboard card ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerBar:
    name: str
    url: str
    y: int
    allocated: Decimal
    used: Decimal
    # Widths of the stacked segments (SVG attributes; the CSP forbids inline styles).
    segments: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class MdfCard:
    currency_note: str
    allocated: Decimal
    committed: Decimal
    claimed: Decimal
    paid: Decimal
    available: Decimal
    utilisation: float | None
    requests_waiting: int
    claims_waiting: int
    claims_to_pay: int
    rows: list[PartnerBar]
    requests_url: str
    claims_url: str
    width: int = 560
    label_width: int = 170
    track_width: int = 300
    bar_height: int = 18
    height: int = 18


def mdf_card_data(user) -> MdfCard | None:
    """MDF in the user's scope: totals, utilisation ((claimed + paid) / allocated), work waiting, and the partners
    with the largest allocations as stacked bars. A fixed number of queries, whatever the partner count."""
    allocations = access.scoped(FundAllocation.objects.all(), user, "view")
    totals = allocations.aggregate(
        allocated=Sum("allocated"), committed=Sum("committed"), claimed=Sum("claimed"), paid=Sum("paid")
    )
    totals = {key: value or Decimal("0") for key, value in totals.items()}
    if not totals["allocated"]:
        return None
    requests = access.scoped(FundRequest.objects.all(), user, "view")
    work = requests.aggregate(
        waiting=Count("pk", filter=Q(status=RequestStatus.SUBMITTED)),
        claims=Count("pk", filter=Q(status=RequestStatus.CLAIMED)),
        to_pay=Count("pk", filter=Q(status=RequestStatus.CLAIM_APPROVED)),
    )
    top = list(
        allocations.order_by()
        .values("partner_id", "partner__name")
        .annotate(allocated=Sum("allocated"), committed=Sum("committed"), claimed=Sum("claimed"), paid=Sum("paid"))
        .order_by("-allocated", "partner__name")[:CARD_PARTNERS]
    )
    currencies = set(allocations.order_by().values_list("program__currency", flat=True).distinct()[:2])
    track, bar, gap = 300, 18, 12
    peak = max((row["allocated"] for row in top), default=Decimal("1")) or Decimal("1")
    changelist = changelist_url(FundAllocation)
    rows = []
    for index, row in enumerate(top):
        scale = track * row["allocated"] / peak
        x, segments = 0, []
        available = row["allocated"] - row["committed"] - row["claimed"] - row["paid"]
        for kind, amount in (
            ("paid", row["paid"]),
            ("claimed", row["claimed"]),
            ("committed", row["committed"]),
            ("available", available),
        ):
            width = round(scale * amount / row["allocated"]) if row["allocated"] else 0
            if width > 0:
                segments.append((kind, x, width))
                x += width
        name = row["partner__name"]
        rows.append(
            PartnerBar(
                name=name if len(name) <= 24 else f"{name[:23]}…",
                url=f"{changelist}?partner__id__exact={row['partner_id']}",
                y=index * (bar + gap),
                allocated=row["allocated"],
                used=row["claimed"] + row["paid"],
                segments=segments,
            )
        )
    used = totals["claimed"] + totals["paid"]
    return MdfCard(
        currency_note="" if len(currencies) <= 1 else "Programs in several currencies are added as numbers.",
        allocated=totals["allocated"],
        committed=totals["committed"],
        claimed=totals["claimed"],
        paid=totals["paid"],
        available=totals["allocated"] - totals["committed"] - totals["claimed"] - totals["paid"],
        utilisation=float(used / totals["allocated"]) if totals["allocated"] else None,
        requests_waiting=work["waiting"],
        claims_waiting=work["claims"],
        claims_to_pay=work["to_pay"],
        rows=rows,
        requests_url=f"{changelist_url(FundRequest)}?status__exact={RequestStatus.SUBMITTED}",
        claims_url=changelist_url(FundClaim),
        height=max(len(rows) * (bar + gap) - gap, bar),
    )


@register_dashboard_card
def mdf_dashboard_card(request) -> list[DashboardCard]:
    user = request.user
    if not (user.is_superuser or user.has_perm("comarketing.view_fundallocation")):
        return []
    data = mdf_card_data(user)
    if data is None:
        return []
    return [
        DashboardCard(
            key="comarketing.mdf",
            title="Market development funds: utilisation",
            template="admin/comarketing/dashboard_card.html",
            context={"mdf": data},
            order=40,
            wide=True,
            more_url=changelist_url(FundAllocation),
            more_label="all allocations",
            stylesheets=("comarketing/console.css",),
        )
    ]
