"""Which assets and campaigns a person reaches through the API and the console — one rule for both.

``selectors.asset_list`` and ``selectors.campaign_list`` give partner users the live library shared with their
partners, and vendor staff holding the view permission the whole library. An asset or campaign shared with
*chosen partners* is part of those partners' programme, though: its title may name the partner or the deal it was
made for. So vendor staff who do not see every partner (channel managers) get chosen-partner assets and campaigns
only when at least one of the partners they manage is among the chosen; vendor-wide roles (marketing managers,
partner operations) and superusers get everything. Which partners an asset or campaign is shared with is shown
to vendor staff only, and only the partners in their own scope.

Everything starts from the comarketing selectors and the access layer; these functions only narrow.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from comarketing import selectors
from comarketing.choices import Audience
from comarketing.models import Asset, AssetGroupObjectPermission, Campaign
from partnerhub import access
from partnerhub.models import Partner


def _narrowed_staff(user) -> bool:
    """Vendor staff whose partner scope is limited (not superusers, not vendor-wide roles)."""
    return access.is_vendor_staff(user) and not access.sees_all_partners(user)


def _asset_grants() -> QuerySet[AssetGroupObjectPermission]:
    return AssetGroupObjectPermission.objects.filter(
        permission__codename="view_asset", group__partner_as_members__isnull=False
    )


def visible_assets(*, user, partner: Partner | None = None) -> QuerySet[Asset]:
    """Assets ``user`` may see (``selectors.asset_list``), narrowed for channel managers as the module says."""
    assets = selectors.asset_list(user=user, partner=partner)
    if not _narrowed_staff(user):
        return assets
    managed = access.managed_partners(user).values("pk")
    granted = _asset_grants().filter(group__partner_as_members__in=managed).values("content_object_id")
    return assets.filter(~Q(audience=Audience.PARTNERS) | Q(pk__in=granted))


def visible_campaigns(*, user, partner: Partner | None = None) -> QuerySet[Campaign]:
    """Campaigns ``user`` may see (``selectors.campaign_list``), narrowed for channel managers likewise."""
    campaigns = selectors.campaign_list(user=user, partner=partner)
    if not _narrowed_staff(user):
        return campaigns
    managed = access.managed_partners(user).values("pk")
    chosen = Campaign.partners.through.objects.filter(partner__in=managed).values("campaign_id")
    return campaigns.filter(~Q(audience=Audience.PARTNERS) | Q(pk__in=chosen))


def partners_in_view(user) -> QuerySet[Partner]:
    """The partners ``user`` may see: the only ones a list of "shared with" may name."""
    return access.scope_partners(Partner.objects.all(), user, "view")


def asset_partner_ids(asset_ids: Iterable[int], user) -> dict[int, list[int]]:
    """For vendor staff: per asset, the partners it is granted to that ``user`` may see (one query)."""
    ids = list(asset_ids)
    grants: dict[int, list[int]] = {pk: [] for pk in ids}
    if not ids or not access.is_vendor_staff(user):
        return grants
    rows = (
        _asset_grants()
        .filter(content_object_id__in=ids, group__partner_as_members__in=partners_in_view(user).values("pk"))
        .order_by("content_object_id", "group__partner_as_members__id")
        .values_list("content_object_id", "group__partner_as_members__id")
    )
    for asset_id, partner_id in rows:
        grants[asset_id].append(partner_id)
    return grants


def asset_partners(asset: Asset, user) -> QuerySet[Partner]:
    """The partners an asset is granted to that ``user`` may see (console forms)."""
    granted = _asset_grants().filter(content_object=asset).values("group_id")
    return partners_in_view(user).filter(members_group__in=granted)


def partners_granted_outside_view(asset: Asset, user) -> list[Partner]:
    """Grants of an asset to partners ``user`` cannot see: an edit by ``user`` keeps them as they are."""
    granted = _asset_grants().filter(content_object=asset).values("group_id")
    return list(Partner.objects.filter(members_group__in=granted).exclude(pk__in=partners_in_view(user).values("pk")))


def campaign_partners_outside_view(campaign: Campaign, user) -> list[Partner]:
    """Chosen partners of a campaign that ``user`` cannot see: an edit by ``user`` keeps them."""
    return list(campaign.partners.exclude(pk__in=partners_in_view(user).values("pk")))
