"""Serializers of the co-marketing API: what a request may carry and what a response shows.

They validate shape and format only; the rules (who may publish an asset, opt a partner in, request, approve,
claim or pay funds, and whether the balance allows it) live in ``comarketing.services`` and ``comarketing.mdf``.
Every input serializer refuses keys it does not accept (``StrictFieldsMixin``). Money is a decimal with at most
two places, greater than zero: ``-5``, ``NaN``, ``Infinity`` and ``10.005`` are 400s naming the field.

What a response shows depends on who reads it:

* files are never linked at a storage address: ``download_url`` and ``thumbnail_url`` point at the API's
  authorising endpoints, which check the caller's scope on every request;
* which tiers and partners an asset or campaign is shared with, its vendor notes and its download count are for
  vendor staff only, and the partners named are only those in the reader's scope (``comarketing.api.scopes``);
* a campaign lists only the kit assets the reader may see, and counts only the opt-ins the reader may see.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from comarketing.api import scopes
from comarketing.choices import AssetKind, Audience, PublishStatus, TemplateKind
from comarketing.models import (
    Asset,
    AssetCategory,
    AssetDownload,
    AssetVersion,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub import access
from partnerhub.api.base import IdRelatedField, ScopedRelatedField
from partnerhub.api.serializers import StrictModelSerializer, StrictSerializer
from partnerhub.models import Partner, Tier

MAX_PROOFS = 10
MONEY_MAX = Decimal("999999999999.99")
TEMPLATE_KINDS = TemplateKind.choices  # named in the OpenAPI schema (settings.SPECTACULAR_SETTINGS)


def _user(context):
    return getattr(context.get("request"), "user", None)


def _is_vendor(context) -> bool:
    return access.is_vendor_staff(_user(context))


def _url(context, name: str, pk) -> str:
    path = reverse(name, args=[pk])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def _name(user) -> str | None:
    return user.display_name if user is not None else None


class MoneyField(serializers.DecimalField):
    """An amount in the program's currency: greater than zero, at most two decimals."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_value", MONEY_MAX)
        super().__init__(**kwargs)


READ_MONEY = {"max_digits": 14, "decimal_places": 2, "read_only": True}


# Relations -----------------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisibleAssetField(IdRelatedField):
    """An asset id among those the caller may see; any other id reads as missing."""

    def get_queryset(self):
        return scopes.visible_assets(user=_user(self.context))


@extend_schema_field(OpenApiTypes.INT)
class VisibleCampaignField(IdRelatedField):
    """A campaign id among those the caller may see; any other id reads as missing."""

    def get_queryset(self):
        return scopes.visible_campaigns(user=_user(self.context))


# Assets --------------------------------------------------------------------------------------------------------


class AssetCategorySerializer(StrictModelSerializer):
    class Meta:
        model = AssetCategory
        fields = ("id", "name", "slug")


class AssetVersionSerializer(serializers.ModelSerializer):
    """One version of an asset's content. ``notes`` are the vendor's own (``null`` for partner users)."""

    has_file = serializers.SerializerMethodField()
    has_template = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()

    class Meta:
        model = AssetVersion
        fields = (
            "id",
            "number",
            "content_type",
            "size",
            "original_name",
            "external_url",
            "text_body",
            "has_file",
            "has_template",
            "notes",
            "created_at",
        )
        read_only_fields = fields

    def get_has_file(self, version: AssetVersion) -> bool:
        return bool(version.file)

    def get_has_template(self, version: AssetVersion) -> bool:
        return bool(version.html_template)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_notes(self, version: AssetVersion) -> str | None:
        return version.notes if _is_vendor(self.context) else None


class AssetSerializer(serializers.ModelSerializer):
    """An asset of the library. Partner users see live assets shared with their partners; vendor staff also
    drafts, archived and expired ones, who an asset is shared with (within their scope) and its download count."""

    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    tiers = serializers.SerializerMethodField(help_text="Vendor staff only: the tiers of audience=tiers.")
    partners = serializers.SerializerMethodField(
        help_text="Vendor staff only: the partners of audience=partners that you may see."
    )
    template_kind = serializers.ChoiceField(choices=TEMPLATE_KINDS, read_only=True)
    is_expired = serializers.BooleanField(read_only=True)
    cobrandable = serializers.BooleanField(source="is_cobrandable", read_only=True)
    current_version = AssetVersionSerializer(read_only=True, allow_null=True)
    download_count = serializers.SerializerMethodField(help_text="Vendor staff only.")
    download_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = (
            "id",
            "title",
            "description",
            "kind",
            "category",
            "category_name",
            "tags",
            "audience",
            "tiers",
            "partners",
            "status",
            "publish_at",
            "expires_at",
            "is_expired",
            "template_kind",
            "cobrandable",
            "current_version",
            "download_count",
            "download_url",
            "thumbnail_url",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_tags(self, asset: Asset) -> list[str]:
        return [tag.name for tag in asset.tags.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_tiers(self, asset: Asset) -> list[int] | None:
        if not _is_vendor(self.context):
            return None
        return [tier.pk for tier in asset.tiers.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_partners(self, asset: Asset) -> list[int] | None:
        if not _is_vendor(self.context):
            return None
        grants = self.context.get("asset_partner_ids")
        if grants is None or asset.pk not in grants:
            grants = scopes.asset_partner_ids([asset.pk], _user(self.context))
        return grants[asset.pk]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_download_count(self, asset: Asset) -> int | None:
        return asset.download_count if _is_vendor(self.context) else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, asset: Asset) -> str | None:
        version = asset.current_version
        if version is None or not (version.file or version.text_body):
            return None
        return _url(self.context, "asset-download", asset.pk)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, asset: Asset) -> str | None:
        version = asset.current_version
        if version is None or not version.thumbnail:
            return None
        return _url(self.context, "asset-thumbnail", asset.pk)


class AssetWriteSerializer(StrictSerializer):
    """Vendor staff create and change assets; ``partners`` become view grants to those partners' member groups.

    Grants to partners outside the writer's scope are kept as they are."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=AssetKind.choices)
    category = IdRelatedField(queryset=AssetCategory.objects.all(), allow_null=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=30, required=False)
    audience = serializers.ChoiceField(choices=Audience.choices, required=False)
    tiers = IdRelatedField(queryset=Tier.objects.all(), many=True, required=False)
    partners = ScopedRelatedField(
        queryset=Partner.objects.all(),
        many=True,
        required=False,
        help_text="For audience=partners: the partners it is shared with (ids).",
    )
    status = serializers.ChoiceField(choices=PublishStatus.choices, required=False)
    publish_at = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    template_kind = serializers.ChoiceField(choices=TEMPLATE_KINDS, required=False, allow_blank=True)


class AssetVersionCreateSerializer(StrictSerializer):
    """A new version, made current at once. Which inputs apply depends on the asset's kind: a file (PDF, image or
    slide deck, judged by its content), a video link, e-mail or social copy, and for co-brandable assets the HTML
    template or the image's placeholder regions."""

    file = serializers.FileField(required=False, allow_empty_file=False, max_length=200, help_text="At most 50 MB.")
    external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    text_body = serializers.CharField(max_length=20000, required=False, allow_blank=True, trim_whitespace=False)
    html_template = serializers.CharField(
        max_length=200000,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Co-brandable PDFs: a Django template; partner data is escaped under `partner`.",
    )
    regions = serializers.JSONField(
        required=False,
        help_text='Co-brandable images: {"logo": [x, y, w, h], "name": [...], "contact": [...], "band": [...]}.',
    )
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate_regions(self, value):
        if not isinstance(value, dict) or len(value) > 4:
            raise serializers.ValidationError(
                'Give the regions as an object such as {"logo": [20, 20, 200, 80]}.', code="invalid"
            )
        return value


class PartnerChoiceSerializer(StrictSerializer):
    """Which of the caller's partners acts; may be left out by someone who acts for one partner only."""

    partner = ScopedRelatedField(
        queryset=Partner.objects.all(),
        for_model=CobrandedFile,
        access_action="add",
        required=False,
        help_text="The partner whose brand is used (id); needed only if you act for several partners.",
    )


class DownloadQuerySerializer(serializers.Serializer):
    partner = ScopedRelatedField(
        queryset=Partner.objects.all(),
        for_model=AssetDownload,
        access_action="add",
        required=False,
        help_text="The partner you download for (id); needed only if you act for several partners.",
    )
    campaign = VisibleCampaignField(required=False, help_text="The campaign whose kit this download is from (id).")


class CobrandedFileSerializer(serializers.ModelSerializer):
    """A partner's co-branded render of an asset version with one version of its brand; poll until ``done``."""

    asset = serializers.IntegerField(source="version.asset_id", read_only=True)
    asset_title = serializers.CharField(source="version.asset.title", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    download_url = serializers.SerializerMethodField(help_text="Set once the file is ready (state done).")

    class Meta:
        model = CobrandedFile
        fields = (
            "id",
            "partner",
            "asset",
            "asset_title",
            "version",
            "version_number",
            "brand_version",
            "state",
            "progress",
            "content_type",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, render: CobrandedFile) -> str | None:
        if render.state != "done" or not render.file:
            return None
        return _url(self.context, "cobranded-file-download", render.pk)


class AssetDownloadSerializer(serializers.ModelSerializer):
    asset_title = serializers.CharField(source="asset.title", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True, allow_null=True)
    user_name = serializers.SerializerMethodField()

    class Meta:
        model = AssetDownload
        fields = (
            "id",
            "partner",
            "asset",
            "asset_title",
            "version",
            "version_number",
            "user_name",
            "cobranded",
            "campaign",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_user_name(self, download: AssetDownload) -> str | None:
        return _name(download.user)


# Campaigns -----------------------------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign kit. ``assets`` lists the kit assets the reader may see; ``opt_ins`` counts the opt-ins the
    reader may see (a partner user: their own partners'); ``tiers`` and ``partners`` are for vendor staff."""

    tiers = serializers.SerializerMethodField(help_text="Vendor staff only.")
    partners = serializers.SerializerMethodField(help_text="Vendor staff only: chosen partners you may see.")
    assets = serializers.SerializerMethodField(help_text="Kit assets you may see (ids).")
    opt_ins = serializers.IntegerField(source="visible_opt_ins", read_only=True, default=0)

    class Meta:
        model = Campaign
        fields = (
            "id",
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
            "opt_ins",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_tiers(self, campaign: Campaign) -> list[int] | None:
        if not _is_vendor(self.context):
            return None
        return [tier.pk for tier in campaign.tiers.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_partners(self, campaign: Campaign) -> list[int] | None:
        if not _is_vendor(self.context):
            return None
        return [partner.pk for partner in campaign.visible_partners]

    def get_assets(self, campaign: Campaign) -> list[int]:
        return sorted(getattr(campaign, "visible_asset_ids", ()))


class CampaignWriteSerializer(StrictSerializer):
    """Vendor staff create and change campaigns. Chosen partners outside the writer's scope are kept."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200, required=False, allow_blank=True, help_text="From the name if empty.")
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    audience = serializers.ChoiceField(choices=Audience.choices, required=False)
    tiers = IdRelatedField(queryset=Tier.objects.all(), many=True, required=False)
    partners = ScopedRelatedField(
        queryset=Partner.objects.all(), many=True, required=False, help_text="For audience=partners (ids)."
    )
    assets = VisibleAssetField(many=True, required=False, help_text="The kit (asset ids).")
    email_copy = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    social_copy = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=PublishStatus.choices, required=False)


class OptInRequestSerializer(StrictSerializer):
    partner = ScopedRelatedField(
        queryset=Partner.objects.all(),
        access_action="change",
        required=False,
        help_text="The partner that joins (id; a partner you administer); needed only if you administer several.",
    )


class CampaignOptInSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    opted_in_by_name = serializers.SerializerMethodField()

    class Meta:
        model = CampaignOptIn
        fields = ("id", "partner", "campaign", "campaign_name", "opted_in_by_name", "opted_in_at")
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_opted_in_by_name(self, opt_in: CampaignOptIn) -> str | None:
        return _name(opt_in.opted_in_by)


class CampaignReportRowSerializer(serializers.Serializer):
    """One partner in the reader's scope that joined the campaign or downloaded from its kit."""

    partner = serializers.IntegerField(source="pk")
    partner_name = serializers.CharField(source="name")
    opted_in = serializers.SerializerMethodField()
    downloads = serializers.IntegerField()

    def get_opted_in(self, partner) -> bool:
        return bool(partner.opted_in)


# Funds ---------------------------------------------------------------------------------------------------------


class FundProgramSerializer(StrictModelSerializer):
    """A market development fund for a period. Every signed-in user reads programs; the marketing team writes."""

    budget = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"), max_value=MONEY_MAX)
    starting_allocation = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MONEY_MAX,
        required=False,
        help_text="Granted to every newly provisioned partner.",
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        max_length=3,
        required=False,
        error_messages={"invalid": "Use a three-letter currency code such as USD."},
    )
    claim_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)

    class Meta:
        model = FundProgram
        fields = (
            "id",
            "name",
            "period_start",
            "period_end",
            "currency",
            "budget",
            "starting_allocation",
            "claim_days",
            "is_active",
        )
        extra_kwargs = {"name": {"max_length": 120}}
        validators = []  # the service checks the period and the amounts, naming the field


class FundAllocationSerializer(serializers.ModelSerializer):
    """A partner's balance in one program. ``available = allocated - committed - claimed - paid``."""

    partner_name = serializers.CharField(source="partner.name", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    currency = serializers.CharField(source="program.currency", read_only=True)
    allocated = serializers.DecimalField(**READ_MONEY)
    committed = serializers.DecimalField(**READ_MONEY)
    claimed = serializers.DecimalField(**READ_MONEY)
    paid = serializers.DecimalField(**READ_MONEY)
    available = serializers.DecimalField(**READ_MONEY)

    class Meta:
        model = FundAllocation
        fields = (
            "id",
            "partner",
            "partner_name",
            "program",
            "program_name",
            "currency",
            "allocated",
            "committed",
            "claimed",
            "paid",
            "available",
            "updated_at",
        )
        read_only_fields = fields


class GrantSerializer(StrictSerializer):
    partner = ScopedRelatedField(queryset=Partner.objects.all(), for_model=FundAllocation, access_action="add")
    program = IdRelatedField(queryset=FundProgram.objects.all())
    amount = MoneyField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class LedgerEntrySerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(**READ_MONEY)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ("id", "kind", "amount", "request", "actor_name", "note", "created_at")
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, entry: LedgerEntry) -> str | None:
        return _name(entry.actor)


class FundRequestSerializer(serializers.ModelSerializer):
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    program = serializers.IntegerField(source="allocation.program_id", read_only=True)
    program_name = serializers.CharField(source="allocation.program.name", read_only=True)
    currency = serializers.CharField(source="allocation.program.currency", read_only=True)
    planned_cost = serializers.DecimalField(**READ_MONEY)
    approved_amount = serializers.DecimalField(**READ_MONEY, allow_null=True)
    submitted_by_name = serializers.SerializerMethodField()
    decided_by_name = serializers.SerializerMethodField()
    claim = serializers.SerializerMethodField(help_text="The claim filed on this request (id), if any.")

    class Meta:
        model = FundRequest
        fields = (
            "id",
            "partner",
            "partner_name",
            "allocation",
            "program",
            "program_name",
            "currency",
            "activity",
            "activity_type",
            "description",
            "planned_cost",
            "expected_leads",
            "starts_on",
            "ends_on",
            "status",
            "approved_amount",
            "claim_due_on",
            "submitted_by_name",
            "submitted_at",
            "decided_by_name",
            "decided_at",
            "decision_note",
            "claim",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_submitted_by_name(self, request: FundRequest) -> str | None:
        return _name(request.submitted_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by_name(self, request: FundRequest) -> str | None:
        return _name(request.decided_by)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_claim(self, request: FundRequest) -> int | None:
        try:
            return request.claim.pk  # joined by the viewset
        except FundClaim.DoesNotExist:
            return None


class FundRequestCreateSerializer(StrictSerializer):
    """A partner admin asks for funds for a planned activity, from one of the partner's allocations."""

    allocation = ScopedRelatedField(
        queryset=FundAllocation.objects.select_related("program", "partner"),
        access_action="add",
        help_text="The allocation to draw from (id).",
    )
    activity = serializers.CharField(max_length=200)
    activity_type = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    planned_cost = MoneyField()
    expected_leads = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()


class RequestApproveSerializer(StrictSerializer):
    amount = MoneyField(required=False, allow_null=True, help_text="Approve less than planned; default: all of it.")
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReasonSerializer(StrictSerializer):
    note = serializers.CharField(
        max_length=1000,
        help_text="The reason; the partner receives it.",
        error_messages={
            "required": "Give the reason; the partner receives it.",
            "blank": "Give the reason; the partner receives it.",
        },
    )


class ClaimApproveSerializer(StrictSerializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ClaimPaySerializer(StrictSerializer):
    reference = serializers.CharField(
        max_length=120,
        help_text="The payment's invoice or transfer number.",
        error_messages={
            "required": "Give the payment reference (invoice or transfer number).",
            "blank": "Give the payment reference (invoice or transfer number).",
        },
    )


class ClaimProofSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ClaimProof
        fields = ("id", "partner", "claim", "original_name", "content_type", "size", "uploaded_at", "download_url")
        read_only_fields = fields

    def get_download_url(self, proof: ClaimProof) -> str:
        return _url(self.context, "claim-proof-download", proof.pk)


class FundClaimSerializer(serializers.ModelSerializer):
    """Proof of performance for an approved request, with the results it brought (ROI = revenue / cost)."""

    activity = serializers.CharField(source="request.activity", read_only=True)
    status = serializers.CharField(source="request.status", read_only=True, help_text="The request's status.")
    approved_amount = serializers.DecimalField(source="request.approved_amount", **READ_MONEY, allow_null=True)
    actual_cost = serializers.DecimalField(**READ_MONEY)
    revenue = serializers.DecimalField(**READ_MONEY)
    roi = serializers.SerializerMethodField(help_text="Revenue per unit of cost.")
    submitted_by_name = serializers.SerializerMethodField()
    decided_by_name = serializers.SerializerMethodField()
    proofs = ClaimProofSerializer(many=True, read_only=True)

    class Meta:
        model = FundClaim
        fields = (
            "id",
            "partner",
            "request",
            "activity",
            "status",
            "approved_amount",
            "actual_cost",
            "leads",
            "deals",
            "revenue",
            "roi",
            "notes",
            "submitted_by_name",
            "submitted_at",
            "decided_by_name",
            "decided_at",
            "paid_at",
            "payment_reference",
            "proofs",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True))
    def get_roi(self, claim: FundClaim) -> str | None:
        if not claim.actual_cost:
            return None
        return str((claim.revenue / claim.actual_cost).quantize(Decimal("0.01")))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_submitted_by_name(self, claim: FundClaim) -> str | None:
        return _name(claim.submitted_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by_name(self, claim: FundClaim) -> str | None:
        return _name(claim.decided_by)


class FundClaimCreateSerializer(StrictSerializer):
    """A partner admin files proof of performance on an approved request (multipart, proofs as ``proofs``)."""

    request = ScopedRelatedField(
        queryset=FundRequest.objects.all(), access_action="change", help_text="The approved request (id)."
    )
    actual_cost = MoneyField(help_text="What the activity cost; at most the approved amount.")
    leads = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
    deals = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
    revenue = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), max_value=MONEY_MAX, required=False, default=0
    )
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    proofs = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False, max_length=200),
        min_length=1,
        max_length=MAX_PROOFS,
        help_text="Up to 10 files of at most 15 MB: PDF, PNG or JPEG (judged by content). Repeat the field.",
    )
