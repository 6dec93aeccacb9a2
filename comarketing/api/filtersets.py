"""django-filter FilterSets of the co-marketing API.

Filters narrow a queryset the access layer (or a selector) has already scoped; they never widen it. Ids are
compared as numbers without a lookup (``IdFilter``), so another partner's id and a missing one both give an
empty list; bad values (``partner=abc``, ``cobrandable=maybe``, ``status=lost``) are 400s naming the filter.
"""

from __future__ import annotations

import django_filters

from comarketing import selectors
from comarketing.choices import AssetKind, Audience, PublishStatus, RenderState, RequestStatus
from comarketing.models import (
    Asset,
    AssetDownload,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundAllocation,
    FundClaim,
    FundRequest,
)
from partnerhub.api.filtersets import IdFilter, StrictBooleanFilter


class AssetFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AssetKind.choices)
    category = IdFilter(field_name="category_id", help_text="Assets in this category (id).")
    tag = django_filters.CharFilter(
        method="filter_tag", max_length=40, help_text="Assets with this tag (case-insensitive)."
    )
    cobrandable = StrictBooleanFilter(method="filter_cobrandable", help_text="Assets partners can co-brand.")
    audience = django_filters.ChoiceFilter(choices=Audience.choices)
    status = django_filters.ChoiceFilter(
        choices=PublishStatus.choices, help_text="Vendor staff: draft, published or archived assets."
    )
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Full-text search in title, description and tags (quotes, OR, -word); results newest first.",
    )

    class Meta:
        model = Asset
        fields = ("kind", "category", "tag", "cobrandable", "audience", "status", "q")

    def filter_tag(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(tags__name=value) if value else queryset

    def filter_cobrandable(self, queryset, name, value):
        return queryset.exclude(template_kind="") if value else queryset.filter(template_kind="")

    def filter_q(self, queryset, name, value):
        # The search runs inside the rows the caller may see (a subquery of them); the list keeps its joins and
        # its cursor order (a rank is not a stable cursor key).
        if not value.strip():
            return queryset
        return queryset.filter(pk__in=selectors.search_assets(queryset, value).values("pk"))


class CampaignFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PublishStatus.choices, help_text="Vendor staff: campaign status.")
    audience = django_filters.ChoiceFilter(choices=Audience.choices)
    running = StrictBooleanFilter(method="filter_running", help_text="Campaigns running now (true) or not (false).")

    class Meta:
        model = Campaign
        fields = ("status", "audience", "running")

    def filter_running(self, queryset, name, value):
        from django.utils import timezone

        now = timezone.now()
        running = {"starts_at__lte": now, "ends_at__gt": now}
        return queryset.filter(**running) if value else queryset.exclude(**running)


class CobrandedFileFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Co-branded files of this partner (id).")
    asset = IdFilter(field_name="version__asset_id", help_text="Co-branded files of this asset (id).")
    state = django_filters.ChoiceFilter(choices=RenderState.choices)

    class Meta:
        model = CobrandedFile
        fields = ("partner", "asset", "state")


class AssetDownloadFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Downloads by this partner (id).")
    asset = IdFilter(field_name="asset_id", help_text="Downloads of this asset (id).")
    campaign = IdFilter(field_name="campaign_id", help_text="Downloads from this campaign's kit (id).")
    cobranded = StrictBooleanFilter(help_text="Co-branded files (true) or originals (false).")

    class Meta:
        model = AssetDownload
        fields = ("partner", "asset", "campaign", "cobranded")


class CampaignOptInFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Opt-ins of this partner (id).")
    campaign = IdFilter(field_name="campaign_id", help_text="Opt-ins to this campaign (id).")

    class Meta:
        model = CampaignOptIn
        fields = ("partner", "campaign")


class FundAllocationFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Allocations of this partner (id).")
    program = IdFilter(field_name="program_id", help_text="Allocations in this fund program (id).")

    class Meta:
        model = FundAllocation
        fields = ("partner", "program")


class FundRequestFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Requests of this partner (id).")
    allocation = IdFilter(field_name="allocation_id", help_text="Requests against this allocation (id).")
    program = IdFilter(field_name="allocation__program_id", help_text="Requests in this fund program (id).")
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)

    class Meta:
        model = FundRequest
        fields = ("partner", "allocation", "program", "status")


class FundClaimFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Claims of this partner (id).")
    request = IdFilter(field_name="request_id", help_text="The claim on this request (id).")
    status = django_filters.ChoiceFilter(
        field_name="request__status",
        choices=[
            (RequestStatus.CLAIMED, "Claim submitted"),
            (RequestStatus.CLAIM_APPROVED, "Claim approved"),
            (RequestStatus.CLAIM_REJECTED, "Claim rejected"),
            (RequestStatus.PAID, "Paid"),
        ],
        help_text="Where the claim stands.",
    )

    class Meta:
        model = FundClaim
        fields = ("partner", "request", "status")


class ClaimProofFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Proofs of this partner (id).")
    claim = IdFilter(field_name="claim_id", help_text="Proofs attached to this claim (id).")

    class Meta:
        model = ClaimProof
        fields = ("partner", "claim")
