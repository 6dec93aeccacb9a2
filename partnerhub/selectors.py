"""Scoped reads of the core domain. Every function starts from the access layer."""

from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, QuerySet

from partnerhub import access
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, PartnerBrand, Tier, User


def user_partners(*, user: User) -> list[Partner]:
    """Partners a partner user acts for in the portal (active memberships, partner may sign in), with brands,
    each with ``user_administers``: whether ``user`` administers it (``portal.is_partner_admin``), and the
    annotations the portal's gates registered (``portal.register_partner_annotation``)."""
    from partnerhub import portal

    partners = list(
        access.member_partners(user)
        .select_related("brand", "tier")
        .annotate(user_administers=access.administers(user), **portal.partner_annotations())
        .order_by("name", "id")
    )
    for partner in partners:
        setattr(partner, access.READ_FOR, user.pk)  # access.member_partner_list needs not read them again
    return partners


def partner_list(*, user: User, action: str = "view") -> QuerySet[Partner]:
    return Partner.objects.for_user(user, action).select_related("tier", "parent", "brand")


def access_partner(*, user: User, pk, action: str = "view") -> Partner:
    return access.access_object(partner_list(user=user, action=action), user, pk, action)


def membership_list(*, user: User, partner: Partner | None = None, action: str = "view") -> QuerySet[Membership]:
    return Membership.objects.for_user(user, action, partner).select_related("user", "partner")


def access_membership(*, user: User, pk, action: str = "view", partner: Partner | None = None) -> Membership:
    return access.access_object(membership_list(user=user, partner=partner, action=action), user, pk, action)


def partner_team(*, user: User, partner: Partner, people_only: bool = False) -> QuerySet[Membership]:
    """The active team of one partner, admins first. ``people_only`` leaves out accounts that cannot sign in with
    a password (an integration's account, which acts through its API key only)."""
    qs = membership_list(user=user, partner=partner).filter(is_active=True)
    if people_only:
        qs = qs.exclude(user__password__startswith=UNUSABLE_PASSWORD_PREFIX)
    return qs.order_by("role", "user__first_name", "user__last_name", "id")


def invitation_list(*, user: User, partner: Partner | None = None, action: str = "view") -> QuerySet[Invitation]:
    return Invitation.objects.for_user(user, action, partner).select_related("partner", "invited_by")


def access_invitation(*, user: User, pk, action: str = "view", partner: Partner | None = None) -> Invitation:
    return access.access_object(invitation_list(user=user, partner=partner, action=action), user, pk, action)


def audit_list(*, user: User) -> QuerySet[AuditEvent]:
    """Audit events of the partners in the user's scope; vendor-wide events only for vendor-wide roles."""
    if not access.is_vendor_staff(user) or not user.has_perm("partnerhub.view_auditevent"):
        return AuditEvent.objects.none()
    if access.sees_all_partners(user):
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(partner__in=access.managed_partners(user).values("pk"))


def tier_list() -> QuerySet[Tier]:
    """Tiers are program-wide facts, visible to every signed-in user."""
    return Tier.objects.annotate(partner_count=Count("partners")).order_by("rank")


def brand_of(*, user: User, partner: Partner, action: str = "view") -> PartnerBrand:
    partner = access.access_object(Partner.objects.all(), user, partner.pk, action)
    return PartnerBrand.objects.select_related("partner").get(partner=partner)


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created")


def partner_user_counts(partner_ids) -> dict[int, int]:
    rows = (
        Membership.objects.filter(partner_id__in=partner_ids, is_active=True)
        .values("partner_id")
        .annotate(n=Count("id"))
    )
    return {row["partner_id"]: row["n"] for row in rows}


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    """The signed-in user's own memberships (for ``me`` and the partner switcher)."""
    return Membership.objects.filter(user=user, is_active=True).select_related("partner", "partner__brand")


def public_brand(*, subdomain: str) -> PartnerBrand | None:
    """A brand's public face (name, colours, logo) by subdomain: what that host's sign-in page shows anyone."""
    return PartnerBrand.objects.filter(subdomain=subdomain).only("id", "subdomain", "logo", "version").first()


def has_open_invitation(*, user: User, partner_id: int) -> bool:
    """Whether an unused, unexpired invitation to this partner waits for the user's e-mail (to sign in and accept)."""
    from django.utils import timezone

    return Invitation.objects.filter(
        partner_id=partner_id,
        email__iexact=user.email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
