"""Co-marketing: the asset library, co-branded renders, campaign kits and market development funds (MDF)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from comarketing.choices import (
    AssetKind,
    Audience,
    LedgerKind,
    PublishStatus,
    RenderState,
    RequestStatus,
    TemplateKind,
)
from partnerhub.models import PartnerOwnedModel
from partnerhub.querysets import KeysFirstQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}


class AssetCategory(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "asset categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """A piece of marketing content in the library, shared by audience (all, tiers, chosen partners through
    guardian grants to their member groups), visible between ``publish_at`` and ``expires_at``."""

    title = models.CharField(max_length=200)
    description = models.TextField(max_length=4000, blank=True)
    kind = models.CharField(max_length=20, choices=AssetKind.choices)
    category = models.ForeignKey(AssetCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="assets")
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.ALL)
    tiers = models.ManyToManyField("partnerhub.Tier", blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=PublishStatus.choices, default=PublishStatus.DRAFT)
    publish_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    template_kind = models.CharField(max_length=10, choices=TemplateKind.choices, default=TemplateKind.NONE, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "AssetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    download_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    search_vector = SearchVectorField(null=True, editable=False)

    # A page of a ranked search sorts the matches' keys and ranks alone, then reads those rows in full.
    objects = KeysFirstQuerySet.as_manager()

    class Meta:
        ordering = ["-publish_at", "-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="asset_search_idx"),
            # Partners search published assets only: ranking their matches from an index of those alone reads
            # no draft, scheduled or archived rows (15 % fewer rows for a common word at library scale).
            GinIndex(
                fields=["search_vector"], name="asset_published_search_idx", condition=Q(status=PublishStatus.PUBLISHED)
            ),
            models.Index(fields=["status", "audience", "publish_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cobrandable(self) -> bool:
        return bool(self.template_kind)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class AssetUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Asset, on_delete=models.CASCADE)


class AssetGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key grant of an asset to a partner's members group (audience "chosen partners")."""

    content_object = models.ForeignKey(Asset, on_delete=models.CASCADE)


class AssetVersion(models.Model):
    """One version of an asset's content. Files are checked by content; a co-brandable version carries its
    template (HTML/CSS, or an image with placeholder regions)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to="assets/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    external_url = models.URLField(max_length=500, blank=True, help_text="Video link.")
    text_body = models.TextField(max_length=20000, blank=True, help_text="E-mail or social copy.")
    html_template = models.TextField(
        max_length=200000, blank=True, help_text="Django template rendered to PDF; partner data is escaped."
    )
    regions = models.JSONField(
        default=dict, blank=True, help_text='Image templates: {"logo": [x, y, w, h], "name": [...], "contact": [...]}'
    )
    thumbnail = models.ImageField(upload_to="assets/thumbnails/", blank=True)
    notes = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset", "-number"]
        constraints = [models.UniqueConstraint(fields=["asset", "number"], name="asset_version_number")]

    def __str__(self) -> str:
        return f"{self.asset} v{self.number}"


class CobrandedFile(PartnerOwnedModel):
    """A partner's co-branded render of one asset version with one version of its brand (the cache key).

    A new asset version or a brand change makes a new row; the old one is kept until cleaned up.
    """

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="cobranded_files")
    version = models.ForeignKey(AssetVersion, on_delete=models.CASCADE, related_name="renders")
    brand_version = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=RenderState.choices, default=RenderState.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="cobranded/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "version", "brand_version"], name="cobrand_cache_key"),
        ]

    def __str__(self) -> str:
        return f"{self.version} for {self.partner_id} (brand v{self.brand_version})"


class AssetDownload(PartnerOwnedModel):
    """Download tracking: who took which version, original or co-branded."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="asset_downloads")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="downloads")
    version = models.ForeignKey(AssetVersion, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cobranded = models.BooleanField(default=False)
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["asset", "partner"]), models.Index(fields=["campaign", "partner"])]

    def __str__(self) -> str:
        return f"{self.asset_id} by {self.partner_id}"


class Campaign(models.Model):
    """A through-channel campaign the vendor publishes: dates, audience, assets, e-mail and social copy."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(max_length=4000, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.ALL)
    tiers = models.ManyToManyField("partnerhub.Tier", blank=True, related_name="+")
    partners = models.ManyToManyField(
        "partnerhub.Partner", blank=True, related_name="+", help_text="Audience 'chosen partners'."
    )
    assets = models.ManyToManyField(Asset, blank=True, related_name="campaigns")
    email_copy = models.TextField(max_length=20000, blank=True)
    social_copy = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=20, choices=PublishStatus.choices, default=PublishStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_dates")]

    def __str__(self) -> str:
        return self.name


class CampaignOptIn(PartnerOwnedModel):
    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="campaign_opt_ins")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="opt_ins")
    opted_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opted_in_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opted_in_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "partner"], name="campaign_opt_in_once")]

    def __str__(self) -> str:
        return f"{self.partner_id} in {self.campaign_id}"


class FundProgram(models.Model):
    """A market development fund for a period: budget, the starting allocation new partners get, deadlines."""

    name = models.CharField(max_length=120)
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3, default="USD")
    budget = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    starting_allocation = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    claim_days = models.PositiveIntegerField(default=60, help_text="Days after the activity ends to file a claim.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="fund_period")]

    def __str__(self) -> str:
        return f"{self.name} ({self.period_start:%Y}–{self.period_end:%Y})"


class FundAllocation(PartnerOwnedModel):
    """A partner's MDF balance in one program, kept as running totals of its ledger.

    ``available = allocated - committed - claimed - paid`` can never go below zero: every write locks the row
    and a database CHECK constraint refuses an overspend even if a code path forgot to.
    """

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="fund_allocations")
    program = models.ForeignKey(FundProgram, on_delete=models.PROTECT, related_name="allocations")
    allocated = models.DecimalField(**MONEY, default=Decimal("0"))
    committed = models.DecimalField(**MONEY, default=Decimal("0"))
    claimed = models.DecimalField(**MONEY, default=Decimal("0"))
    paid = models.DecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    partner_permissions = {
        "view": "access_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-program__period_start", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "program"], name="allocation_once_per_program"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0, committed__gte=0, claimed__gte=0, paid__gte=0)
                & Q(allocated__gte=F("committed") + F("claimed") + F("paid")),
                name="allocation_never_overspent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} in {self.program}"

    @property
    def available(self) -> Decimal:
        return self.allocated - self.committed - self.claimed - self.paid


class LedgerEntry(models.Model):
    """The MDF ledger: every movement of an allocation, append-only."""

    allocation = models.ForeignKey(FundAllocation, on_delete=models.CASCADE, related_name="ledger")
    kind = models.CharField(max_length=20, choices=LedgerKind.choices)
    amount = models.DecimalField(**MONEY)
    request = models.ForeignKey("FundRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class FundRequest(PartnerOwnedModel):
    """An MDF request: a planned activity; approval commits its amount, a claim with proof of performance
    follows the activity, approval of the claim leads to payment."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="fund_requests")
    allocation = models.ForeignKey(FundAllocation, on_delete=models.PROTECT, related_name="requests")
    activity = models.CharField(max_length=200)
    activity_type = models.CharField(max_length=60, blank=True)
    description = models.TextField(max_length=4000, blank=True)
    planned_cost = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    expected_leads = models.PositiveIntegerField(default=0)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)
    approved_amount = models.DecimalField(**MONEY, null=True, blank=True)
    claim_due_on = models.DateField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=1000, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    partner_permissions = {
        "view": "access_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="request_dates")]
        indexes = [
            models.Index(fields=["status", "claim_due_on"]),
            # A partner's requests newest first (the funds page, the API list): read in order, stop at the page.
            models.Index(fields=["partner", "-submitted_at", "-id"], name="fundrequest_partner_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.activity} ({self.get_status_display()})"


class FundClaim(PartnerOwnedModel):
    """Proof of performance for an approved request: actual cost and results (leads, deals, revenue)."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="fund_claims")
    request = models.OneToOneField(FundRequest, on_delete=models.CASCADE, related_name="claim")
    actual_cost = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    leads = models.PositiveIntegerField(default=0)
    deals = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(**MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    notes = models.TextField(max_length=4000, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(max_length=120, blank=True)

    partner_permissions = FundRequest.partner_permissions

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"Claim on {self.request_id}"


class ClaimProof(PartnerOwnedModel):
    """A proof-of-performance file, checked by content (PDF, PNG, JPEG)."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="+")
    claim = models.ForeignKey(FundClaim, on_delete=models.CASCADE, related_name="proofs")
    file = models.FileField(upload_to="mdf-proofs/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    partner_permissions = FundRequest.partner_permissions

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
