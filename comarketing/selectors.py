"""Scoped reads of co-marketing: assets and campaigns by audience, renders and MDF through the access layer."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from comarketing.choices import Audience, PublishStatus, RequestStatus
from comarketing.models import (
    Asset,
    AssetDownload,
    AssetGroupObjectPermission,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundAllocation,
    FundClaim,
    FundRequest,
)
from partnerhub import access
from partnerhub.models import Partner


def _audience_q(partners) -> Q:
    tier_ids = [p.tier_id for p in partners if p.tier_id]
    group_ids = [p.members_group_id for p in partners]
    granted = AssetGroupObjectPermission.objects.filter(
        group_id__in=group_ids, permission__codename="view_asset"
    ).values("content_object_id")
    # Tiers as a subquery like the grants, not a join: a join repeats an asset once per tier and then needs a
    # DISTINCT over whole rows, which at library size costs more than the rest of the list.
    in_tiers = Asset.tiers.through.objects.filter(tier_id__in=tier_ids).values("asset_id")
    return (
        Q(audience=Audience.ALL)
        | Q(audience=Audience.TIERS, pk__in=in_tiers)
        | Q(audience=Audience.PARTNERS, pk__in=granted)
    )


def live_assets() -> QuerySet[Asset]:
    now = timezone.now()
    return Asset.objects.filter(status=PublishStatus.PUBLISHED, publish_at__lte=now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def asset_list(*, user, partner: Partner | None = None) -> QuerySet[Asset]:
    """Assets a person may see: vendor staff with the view permission all (including drafts and expired
    ones); partner users the live assets shared with their partners (only ``partner`` when given)."""
    if access.is_vendor_staff(user) and (user.is_superuser or user.has_perm("comarketing.view_asset")):
        return Asset.objects.all()
    partners = access.member_partner_list(user, partner)
    if not partners:
        return Asset.objects.none()
    return live_assets().filter(_audience_q(partners))


def access_asset(*, user, pk, partner: Partner | None = None) -> Asset:
    return access.access_object(asset_list(user=user, partner=partner), user, pk)


def search_assets(assets: QuerySet[Asset], text: str) -> QuerySet[Asset]:
    text = (text or "").strip()
    if not text:
        return assets.order_by("-publish_at", "-id")
    query = SearchQuery(text, config="english", search_type="websearch")
    # Ranked in the same pass that finds the matches: the asset lists hold each asset once (the audience rule
    # uses subqueries, not joins), so no outer query has to fetch the matching rows a second time.
    return (
        assets.filter(search_vector=query).annotate(rank=SearchRank(F("search_vector"), query)).order_by("-rank", "-id")
    )


def expired_assets_of(*, user) -> QuerySet[Asset]:
    """Published assets past their expiry, for their owners to refresh or archive."""
    return Asset.objects.filter(status=PublishStatus.PUBLISHED, expires_at__lte=timezone.now(), owner=user)


def render_list(*, user, action: str = "view") -> QuerySet[CobrandedFile]:
    return CobrandedFile.objects.for_user(user, action).select_related("version__asset", "partner")


def access_render(*, user, pk) -> CobrandedFile:
    return access.access_object(render_list(user=user), user, pk)


def campaign_list(*, user, partner: Partner | None = None) -> QuerySet[Campaign]:
    if access.is_vendor_staff(user) and (user.is_superuser or user.has_perm("comarketing.view_campaign")):
        return Campaign.objects.all()
    partners = access.member_partner_list(user, partner)
    if not partners:
        return Campaign.objects.none()
    tier_ids = [p.tier_id for p in partners if p.tier_id]
    return (
        Campaign.objects.filter(status=PublishStatus.PUBLISHED)
        .filter(
            Q(audience=Audience.ALL)
            | Q(audience=Audience.TIERS, tiers__in=tier_ids)
            | Q(audience=Audience.PARTNERS, partners__in=partners)
        )
        .distinct()
    )


def campaign_report(*, campaign: Campaign, user) -> QuerySet[Partner]:
    """Per partner in the viewer's scope: opted in or not, and downloads of the campaign's kit."""
    return (
        Partner.objects.for_user(user)
        .filter(Q(campaign_opt_ins__campaign=campaign) | Q(asset_downloads__campaign=campaign))
        .annotate(
            downloads=Count("asset_downloads", filter=Q(asset_downloads__campaign=campaign)),
            opted_in=Count("campaign_opt_ins", filter=Q(campaign_opt_ins__campaign=campaign)),
        )
        .distinct()
    )


def opt_in_list(*, user) -> QuerySet[CampaignOptIn]:
    return CampaignOptIn.objects.for_user(user).select_related("campaign", "partner", "opted_in_by")


def download_list(*, user) -> QuerySet[AssetDownload]:
    return AssetDownload.objects.for_user(user).select_related("asset", "partner", "user")


# MDF -----------------------------------------------------------------------------------------------------------


def allocation_list(*, user, action: str = "view", partner: Partner | None = None) -> QuerySet[FundAllocation]:
    """Fund allocations in scope; of ``partner`` only when one is given."""
    return FundAllocation.objects.for_user(user, action, partner).select_related("program", "partner")


def request_list(*, user, action: str = "view", partner: Partner | None = None) -> QuerySet[FundRequest]:
    """Fund requests in scope; of ``partner`` only when one is given."""
    return FundRequest.objects.for_user(user, action, partner).select_related(
        "allocation__program", "partner", "submitted_by", "decided_by"
    )


def access_request(*, user, pk, action: str = "view") -> FundRequest:
    return access.access_object(request_list(user=user, action=action), user, pk, action)


def claim_list(*, user, action: str = "view") -> QuerySet[FundClaim]:
    return FundClaim.objects.for_user(user, action).select_related("request", "partner")


def access_proof(*, user, pk) -> ClaimProof:
    return access.access_object(ClaimProof.objects.for_user(user).select_related("claim"), user, pk)


def balance_summary(*, user, partner: Partner) -> dict:
    """A partner's money at a glance: allocated, committed, claimed, paid, available, and what is pending."""
    allocations = allocation_list(user=user, partner=partner)
    totals = allocations.aggregate(
        allocated=Sum("allocated"), committed=Sum("committed"), claimed=Sum("claimed"), paid=Sum("paid")
    )
    totals = {k: v or 0 for k, v in totals.items()}
    totals["available"] = totals["allocated"] - totals["committed"] - totals["claimed"] - totals["paid"]
    pending = (
        request_list(user=user, partner=partner)
        .filter(status=RequestStatus.SUBMITTED)
        .aggregate(n=Count("id"), amount=Sum("planned_cost"))
    )
    totals["pending_requests"], totals["pending_amount"] = pending["n"], pending["amount"] or 0
    return totals


def utilisation(*, user) -> QuerySet[Partner]:
    """Marketing managers' view: per partner in scope, allocated/committed/claimed/paid and ROI inputs."""
    return (
        Partner.objects.for_user(user)
        .filter(fund_allocations__isnull=False)
        .annotate(
            allocated=Sum("fund_allocations__allocated"),
            committed=Sum("fund_allocations__committed"),
            claimed=Sum("fund_allocations__claimed"),
            paid=Sum("fund_allocations__paid"),
        )
        .order_by("-allocated")
    )


def roi(*, user) -> QuerySet[FundClaim]:
    """Claims with their reported leads, deals and revenue against cost (ROI = revenue / cost)."""
    return claim_list(user=user).filter(request__status__in=[RequestStatus.CLAIM_APPROVED, RequestStatus.PAID])
