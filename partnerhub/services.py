"""Writes of the core domain. Every change to access, roles or status leaves an audit record.

Services take keyword arguments and an explicit ``actor``; they check business rules and raise
``DomainError`` subclasses, which the API and the portal turn into clean 4xx answers.
Side effects (e-mail) run after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm
from knox.models import get_token_model

from partnerhub import events, roles
from partnerhub.branding import process_logo
from partnerhub.choices import STATUS_TRANSITIONS, AuditAction, MembershipRole, PartnerStatus, StaffRole
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.models import AuditEvent, Invitation, Membership, Partner, PartnerBrand, Tier, User

INVITATION_SALT = "partnerhub.invitation"


# Audit ---------------------------------------------------------------------------------------------------------


def audit_record(
    *,
    actor: User | None,
    action: str,
    partner: Partner | None = None,
    target: Model | None = None,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one audit event. Called by every service that changes access, roles, status or money."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=str(actor) if actor is not None and actor.pk else "system",
        action=action,
        partner=partner,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        changes=changes or {},
        reason=reason[:500],
        ip_address=ip_address,
    )


# Partners ------------------------------------------------------------------------------------------------------


def _unique_slug(base: str, model: type[Model], field: str) -> str:
    base = (slugify(base) or "partner")[:60].strip("-") or "partner"
    candidate, n = base, 2
    while model._default_manager.filter(**{field: candidate}).exists():
        candidate = f"{base}-{n}"
        n += 1
    return candidate


@transaction.atomic
def partner_create(
    *,
    actor: User | None,
    name: str,
    partner_type: str,
    slug: str = "",
    status: str = PartnerStatus.PROSPECT,
    tier: Tier | None = None,
    parent: Partner | None = None,
    website: str = "",
    country: str = "",
    region: str = "",
    primary_color: str = "#1f4fd1",
    accent_color: str = "#0f9d8a",
    subdomain: str = "",
) -> Partner:
    """Create a partner with its two groups, their object grants and a default brand."""
    name = name.strip()
    if not name:
        raise DomainError("Give the partner a name.", field="name")
    slug = slugify(slug) if slug else _unique_slug(name, Partner, "slug")
    if Partner.objects.filter(slug=slug).exists():
        raise ConflictError(f"The slug “{slug}” is already used by another partner.", field="slug")
    if parent is not None and parent.partner_type != "distributor":
        raise DomainError("A parent partner must be a distributor.", field="parent")
    members = Group.objects.create(name=f"partner:{slug}:members")
    admins = Group.objects.create(name=f"partner:{slug}:admins")
    partner = Partner.objects.create(
        name=name,
        slug=slug,
        partner_type=partner_type,
        status=status,
        status_changed_at=timezone.now(),
        tier=tier,
        parent=parent,
        website=website,
        country=country.upper(),
        region=region,
        members_group=members,
        admins_group=admins,
    )
    assign_perm("partnerhub.access_partner", members, partner)
    assign_perm("partnerhub.access_partner", admins, partner)
    assign_perm("partnerhub.administer_partner", admins, partner)
    subdomain = slugify(subdomain) if subdomain else _unique_slug(slug, PartnerBrand, "subdomain")
    brand = PartnerBrand(
        partner=partner,
        display_name=name[:120],
        primary_color=primary_color,
        accent_color=accent_color,
        subdomain=subdomain,
    )
    brand.full_clean(exclude=["partner", "logo"])
    brand.save()
    events.publish("partner.created", partner=partner)
    audit_record(
        actor=actor,
        action=AuditAction.PARTNER_CREATED,
        partner=partner,
        target=partner,
        changes={"status": [None, status], "tier": [None, tier.name if tier else None]},
    )
    return partner


PARTNER_EDITABLE_FIELDS = ("name", "partner_type", "tier", "parent", "website", "country", "region")


@transaction.atomic
def partner_update(*, actor: User | None, partner: Partner, **fields: Any) -> Partner:
    """Change a partner's profile fields. Tier changes are audited as their own event."""
    unknown = set(fields) - set(PARTNER_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    changes: dict[str, list[Any]] = {}
    for field, value in fields.items():
        before = getattr(partner, field)
        if field == "parent" and value is not None:
            if value.pk == partner.pk:
                raise DomainError("A partner cannot be its own parent.", field="parent")
            if value.partner_type != "distributor":
                raise DomainError("A parent partner must be a distributor.", field="parent")
        if before != value:
            changes[field] = [str(before) if before is not None else None, str(value) if value is not None else None]
            setattr(partner, field, value)
    if not changes:
        return partner
    partner.save()
    tier_change = changes.pop("tier", None)
    if tier_change:
        audit_record(
            actor=actor,
            action=AuditAction.PARTNER_TIER_CHANGED,
            partner=partner,
            target=partner,
            changes={"tier": tier_change},
        )
    if changes:
        audit_record(actor=actor, action=AuditAction.PARTNER_UPDATED, partner=partner, target=partner, changes=changes)
    return partner


@transaction.atomic
def partner_change_status(*, actor: User | None, partner: Partner, status: str, reason: str = "") -> Partner:
    """Move a partner along its lifecycle (prospect → onboarding → active → suspended → offboarded).

    Suspending or offboarding stops every partner user from signing in and every API key of theirs from
    working at once, because the access layer only admits partners that may sign in.
    """
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if status not in PartnerStatus.values:
        raise DomainError(f"Unknown status “{status}”.", field="status")
    if status == partner.status:
        return partner
    if status not in STATUS_TRANSITIONS[partner.status]:
        allowed = ", ".join(sorted(STATUS_TRANSITIONS[partner.status])) or "none (offboarding is final)"
        raise ConflictError(
            f"A {partner.get_status_display().lower()} partner cannot become {status}; allowed: {allowed}.",
            field="status",
        )
    if status in (PartnerStatus.SUSPENDED, PartnerStatus.OFFBOARDED) and not reason.strip():
        raise DomainError("Give a reason; it is recorded in the audit trail.", field="reason")
    before = partner.status
    partner.status = status
    partner.status_changed_at = timezone.now()
    partner.status_reason = reason.strip()[:500]
    partner.save(update_fields=["status", "status_changed_at", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.PARTNER_STATUS_CHANGED,
        partner=partner,
        target=partner,
        changes={"status": [before, status]},
        reason=reason,
    )
    events.publish("partner.status_changed", partner=partner, before=before, after=status)
    return partner


def partner_suspend(*, actor: User | None, partner: Partner, reason: str) -> Partner:
    return partner_change_status(actor=actor, partner=partner, status=PartnerStatus.SUSPENDED, reason=reason)


def partner_reactivate(*, actor: User | None, partner: Partner, reason: str = "") -> Partner:
    return partner_change_status(actor=actor, partner=partner, status=PartnerStatus.ACTIVE, reason=reason)


# Tiers ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def tier_create(
    *,
    actor: User | None,
    name: str,
    rank: int,
    slug: str = "",
    description: str = "",
    min_annual_revenue: Any = 0,
    min_certified_reps: int = 0,
    requirements: str = "",
    benefits: str = "",
    discount_percent: Any = 0,
) -> Tier:
    """Add a level to the partner program. ``rank`` orders tiers (1 is the entry tier) and must be free."""
    from decimal import Decimal, InvalidOperation

    from django.core.exceptions import ValidationError

    name = (name or "").strip()
    if not name:
        raise DomainError("Give the tier a name.", field="name")
    slug = slugify(slug or name)[:80]
    if Tier.objects.filter(name__iexact=name).exists():
        raise ConflictError(f"A tier named “{name}” already exists.", field="name")
    if Tier.objects.filter(slug=slug).exists():
        raise ConflictError(f"The slug “{slug}” is already used by another tier.", field="slug")
    if Tier.objects.filter(rank=rank).exists():
        raise ConflictError(f"Rank {rank} is already taken by another tier.", field="rank")
    try:
        revenue, discount = Decimal(str(min_annual_revenue)), Decimal(str(discount_percent))
    except InvalidOperation:
        raise DomainError("Give amounts and percentages as numbers, e.g. 250000 or 12.5.") from None
    tier = Tier(
        name=name,
        slug=slug,
        rank=rank,
        description=description.strip(),
        min_annual_revenue=revenue,
        min_certified_reps=min_certified_reps,
        requirements=requirements.strip(),
        benefits=benefits.strip(),
        discount_percent=discount,
    )
    try:
        tier.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=field) from None
    tier.save()
    audit_record(actor=actor, action=AuditAction.TIER_CREATED, target=tier, changes={"rank": [None, tier.rank]})
    return tier


# Channel managers and staff roles ------------------------------------------------------------------------------


def _require_staff_role(user: User, role: str) -> None:
    if not (user.is_staff and user.groups.filter(name=roles.GROUP_NAMES[role]).exists()):
        raise DomainError(f"{user} is not a {StaffRole(role).label.lower()}.", field="manager")


@transaction.atomic
def channel_manager_assign(*, actor: User | None, partner: Partner, manager: User) -> None:
    """Grant a channel manager the partner (guardian object permission ``manage_partner``)."""
    _require_staff_role(manager, StaffRole.CHANNEL_MANAGER)
    if manager.has_perm("partnerhub.manage_partner", partner):
        return
    assign_perm("partnerhub.manage_partner", manager, partner)
    audit_record(
        actor=actor,
        action=AuditAction.MANAGER_ASSIGNED,
        partner=partner,
        target=partner,
        changes={"channel_manager": [None, manager.username]},
    )


@transaction.atomic
def channel_manager_unassign(*, actor: User | None, partner: Partner, manager: User) -> None:
    removed = remove_perm("partnerhub.manage_partner", manager, partner)
    if removed:
        audit_record(
            actor=actor,
            action=AuditAction.MANAGER_UNASSIGNED,
            partner=partner,
            target=partner,
            changes={"channel_manager": [manager.username, None]},
        )


def channel_managers_of(partner: Partner) -> list[User]:
    from partnerhub.models import PartnerUserObjectPermission

    ids = PartnerUserObjectPermission.objects.filter(
        content_object=partner, permission__codename="manage_partner"
    ).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username"))


@transaction.atomic
def staff_roles_set(*, actor: User | None, user: User, role_values: list[str]) -> None:
    """Make ``user`` vendor staff holding exactly these roles (an empty list removes them all)."""
    if user.memberships.filter(is_active=True).exists() and role_values:
        raise DomainError("Partner users cannot hold vendor staff roles; deactivate their memberships first.")
    before = sorted(g.name for g in user.groups.filter(name__in=roles.GROUP_NAMES.values()))
    groups = [roles.staff_group(role) for role in role_values]
    user.groups.remove(*Group.objects.filter(name__in=roles.GROUP_NAMES.values()))
    user.groups.add(*groups)
    if role_values and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    after = sorted(g.name for g in groups)
    if before != after:
        audit_record(
            actor=actor, action=AuditAction.STAFF_ROLE_CHANGED, target=user, changes={"roles": [before, after]}
        )


# Memberships ---------------------------------------------------------------------------------------------------


def _sync_groups(membership: Membership) -> None:
    partner = membership.partner
    user = membership.user
    if membership.is_active:
        user.groups.add(partner.members_group)
        if membership.role == MembershipRole.ADMIN:
            user.groups.add(partner.admins_group)
        else:
            user.groups.remove(partner.admins_group)
    else:
        user.groups.remove(partner.members_group, partner.admins_group)


@transaction.atomic
def membership_add(
    *, actor: User | None, partner: Partner, user: User, role: str = MembershipRole.REP, title: str = ""
) -> Membership:
    """Make ``user`` a member of ``partner`` (or reactivate them with the given role)."""
    if user.is_staff:
        raise DomainError("Vendor staff cannot join a partner as members.", field="user")
    if role not in MembershipRole.values:
        raise DomainError(f"Unknown role “{role}”; use admin or rep.", field="role")
    membership, created = Membership.objects.select_for_update().get_or_create(
        partner=partner, user=user, defaults={"role": role, "title": title}
    )
    if not created:
        if membership.is_active:
            raise ConflictError(f"{user} is already a member of {partner}.", field="email")
        membership.is_active = True
        membership.deactivated_at = None
        membership.role = role
        membership.save(update_fields=["is_active", "deactivated_at", "role"])
    _sync_groups(membership)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBER_ADDED if created else AuditAction.MEMBER_REACTIVATED,
        partner=partner,
        target=membership,
        changes={"role": [None, role]},
    )
    events.publish("member.added", partner=partner, membership=membership)
    return membership


def _ensure_other_admin(membership: Membership) -> None:
    others = Membership.objects.filter(
        partner_id=membership.partner_id, role=MembershipRole.ADMIN, is_active=True
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise ConflictError(
            "A partner needs at least one active partner admin; make someone else admin first.", field="role"
        )


@transaction.atomic
def membership_change_role(*, actor: User | None, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().select_related("partner", "user").get(pk=membership.pk)
    if role not in MembershipRole.values:
        raise DomainError(f"Unknown role “{role}”; use admin or rep.", field="role")
    if role == membership.role:
        return membership
    if membership.role == MembershipRole.ADMIN and membership.is_active:
        _lock_partner_admins(membership.partner_id)
        _ensure_other_admin(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    _sync_groups(membership)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        partner=membership.partner,
        target=membership,
        changes={"role": [before, role]},
    )
    return membership


def _lock_partner_admins(partner_id: int) -> None:
    # Serialise "last admin" checks per partner so two concurrent demotions cannot both pass.
    Partner.objects.select_for_update().filter(pk=partner_id).exists()
    list(Membership.objects.select_for_update().filter(partner_id=partner_id, role=MembershipRole.ADMIN))


@transaction.atomic
def membership_deactivate(*, actor: User | None, membership: Membership) -> Membership:
    """Remove a person from a partner; the row stays for the audit trail, every grant stops."""
    membership = Membership.objects.select_for_update().select_related("partner", "user").get(pk=membership.pk)
    if not membership.is_active:
        return membership
    if actor is not None and actor.pk == membership.user_id and not actor.is_staff:
        raise ActionNotAllowed("You cannot deactivate yourself; ask another partner admin.")
    if membership.role == MembershipRole.ADMIN:
        _lock_partner_admins(membership.partner_id)
        _ensure_other_admin(membership)
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    _sync_groups(membership)
    audit_record(actor=actor, action=AuditAction.MEMBER_DEACTIVATED, partner=membership.partner, target=membership)
    return membership


@transaction.atomic
def membership_update(
    *,
    actor: User | None,
    membership: Membership,
    role: str | None = None,
    title: str | None = None,
    is_active: bool | None = None,
) -> Membership:
    """Apply a partial change from the API or the team page, each part through its own rule."""
    if title is not None and title != membership.title:
        membership.title = title[:120]
        membership.save(update_fields=["title"])
    if role is not None:
        membership = membership_change_role(actor=actor, membership=membership, role=role)
    if is_active is False:
        membership = membership_deactivate(actor=actor, membership=membership)
    elif is_active is True and not membership.is_active:
        membership = membership_add(
            actor=actor, partner=membership.partner, user=membership.user, role=membership.role, title=membership.title
        )
    return membership


# Invitations ---------------------------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    from django.urls import reverse

    return f"{portal_base_url(invitation.partner)}{reverse('invitation_accept', args=[invitation_token(invitation)])}"


def portal_base_url(partner: Partner) -> str:
    """Absolute base URL of a partner's portal, built from stored settings, never from the request host."""
    from urllib.parse import urlsplit

    base = urlsplit(settings.PUBLIC_BASE_URL)
    brand = getattr(partner, "brand", None)
    if brand is None:
        return settings.PUBLIC_BASE_URL
    if brand.custom_domain:
        return f"{base.scheme}://{brand.custom_domain}"
    if not settings.PORTAL_BASE_DOMAIN:
        return settings.PUBLIC_BASE_URL
    # <subdomain>.localhost resolves to loopback in browsers, so local runs get branded links too.
    port = f":{base.port}" if base.port else ""
    return f"{base.scheme}://{brand.subdomain}.{settings.PORTAL_BASE_DOMAIN}{port}"


@transaction.atomic
def invitation_create(*, actor: User, partner: Partner, email: str, role: str = MembershipRole.REP) -> Invitation:
    """Invite someone to a partner by e-mail. The e-mail leaves after commit."""
    email = email.strip().lower()
    if role not in MembershipRole.values:
        raise DomainError(f"Unknown role “{role}”; use admin or rep.", field="role")
    if not partner.can_sign_in:
        raise ConflictError(f"{partner} is {partner.get_status_display().lower()}; nobody can be invited.")
    if Membership.objects.filter(partner=partner, user__email__iexact=email, is_active=True).exists():
        raise ConflictError(f"{email} is already a member of {partner}.", field="email")
    if User.objects.filter(email__iexact=email, is_staff=True).exists():
        raise DomainError(f"{email} belongs to vendor staff and cannot join a partner.", field="email")
    if Invitation.objects.filter(
        partner=partner,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists():
        raise ConflictError(f"{email} already has an open invitation; revoke it to send a new one.", field="email")
    # An expired invitation would block the partial unique index; close it first.
    Invitation.objects.filter(
        partner=partner, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        partner=partner,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + settings.INVITATION_MAX_AGE,
    )
    audit_record(
        actor=actor,
        action=AuditAction.INVITATION_SENT,
        partner=partner,
        target=invitation,
        changes={"email": [None, email], "role": [None, role]},
    )
    _send_invitation_email(invitation)
    events.publish("invitation.sent", partner=partner, invitation=invitation)
    return invitation


def _send_invitation_email(invitation: Invitation) -> None:
    from partnerhub.notifications import send_email

    brand = invitation.partner.brand
    context = {
        "invitation": invitation,
        "brand": brand,
        "url": invitation_url(invitation),
        "inviter": invitation.invited_by,
        "expires_at": invitation.expires_at,
    }
    send_email(
        to=[invitation.email],
        subject=f"{brand.display_name}: you are invited to the partner portal",
        template="emails/invitation",
        context=context,
    )


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise ConflictError("This invitation was already accepted; deactivate the member instead.")
    if not invitation.revoked_at:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditAction.INVITATION_REVOKED, partner=invitation.partner, target=invitation)
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """Resolve a link token to an open invitation, or raise ``DomainError`` saying why it cannot be used."""
    max_age = settings.INVITATION_MAX_AGE
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise DomainError(
            "This invitation link has expired; ask your partner admin for a new one.", code="expired"
        ) from None
    except signing.BadSignature:
        raise DomainError(
            "This invitation link is not valid; check that you copied all of it.", code="invalid"
        ) from None
    invitation = (
        Invitation.objects.select_related("partner", "partner__brand")
        .filter(pk=data.get("i"), nonce=data.get("n"))
        .first()
    )
    if invitation is None or invitation.revoked_at:
        raise DomainError("This invitation was withdrawn; ask your partner admin for a new one.", code="revoked")
    if invitation.accepted_at:
        raise DomainError("This invitation was already used. Sign in instead.", code="used")
    if invitation.expires_at <= timezone.now():
        raise DomainError("This invitation link has expired; ask your partner admin for a new one.", code="expired")
    if not invitation.partner.can_sign_in:
        raise DomainError("This partner is not active on the portal.", code="inactive")
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    first_name: str = "",
    last_name: str = "",
    password: str = "",
) -> Membership:
    """Use an invitation once: attach the signed-in user, or create the account the invitation is for."""
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise DomainError("This invitation was already used. Sign in instead.", code="used")
    if user is None or not user.is_authenticated:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise DomainError(
                "An account with this e-mail already exists: sign in first, then open the link again.", code="sign_in"
            )
        if not password:
            raise DomainError("Choose a password.", field="password")
        user = User(
            username=_unique_username(invitation.email),
            email=invitation.email,
            first_name=first_name.strip()[:150],
            last_name=last_name.strip()[:150],
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise ConflictError("An account with this e-mail already exists: sign in first.") from None
    elif user.email.lower() != invitation.email.lower():
        raise DomainError(
            f"This invitation is for {invitation.email}; you are signed in as {user.email}.", code="wrong_user"
        )
    membership = membership_add(actor=user, partner=invitation.partner, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(actor=user, action=AuditAction.INVITATION_ACCEPTED, partner=invitation.partner, target=invitation)
    return membership


def _unique_username(email: str) -> str:
    base = email.lower()[:150]
    candidate, n = base, 2
    while User.objects.filter(username__iexact=candidate).exists():
        candidate = f"{base[:140]}-{n}"
        n += 1
    return candidate


# Brands --------------------------------------------------------------------------------------------------------

BRAND_EDITABLE_FIELDS = (
    "display_name",
    "tagline",
    "primary_color",
    "accent_color",
    "subdomain",
    "custom_domain",
    "support_email",
    "support_phone",
)


@transaction.atomic
def brand_update(
    *, actor: User | None, brand: PartnerBrand, logo=None, remove_logo: bool = False, **fields: Any
) -> PartnerBrand:
    """Change a partner's brand. Values are validated by the model; the logo is re-encoded from its content."""
    from django.core.exceptions import ValidationError

    unknown = set(fields) - set(BRAND_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"These brand fields cannot be changed: {', '.join(sorted(unknown))}.")
    brand = PartnerBrand.objects.select_for_update().select_related("partner").get(pk=brand.pk)
    changes: dict[str, list[Any]] = {}
    for field, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
            if field in ("primary_color", "accent_color", "subdomain", "custom_domain"):
                value = value.lower()
        if getattr(brand, field) != value:
            changes[field] = [getattr(brand, field), value]
            setattr(brand, field, value)
    try:
        brand.full_clean(exclude=["partner", "logo"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=field) from None
    if logo is not None:
        processed = process_logo(logo)
        brand.logo.save(processed.content.name, processed.content, save=False)
        brand.logo_width, brand.logo_height = processed.width, processed.height
        changes["logo"] = [None, processed.digest[:16]]
    elif remove_logo and brand.logo:
        brand.logo = ""
        brand.logo_width = brand.logo_height = None
        changes["logo"] = ["removed", None]
    if not changes:
        return brand
    brand.version += 1
    brand.save()
    from partnerhub.middleware import forget_host

    transaction.on_commit(forget_host)
    audit_record(actor=actor, action=AuditAction.BRAND_UPDATED, partner=brand.partner, target=brand, changes=changes)
    events.publish("brand.updated", partner=brand.partner, brand=brand)
    return brand


# API tokens ----------------------------------------------------------------------------------------------------


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str, expires_in_days: int | None = 90) -> tuple[Any, str]:
    """Create an API key for ``user``; returns the stored row and the key, which is shown only once."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the key after the system that will use it, e.g. “CRM sync”.", field="name")
    if expires_in_days is not None and not 1 <= expires_in_days <= 366:
        raise DomainError("Keys expire after 1 to 366 days.", field="expires_in_days")
    token_model = get_token_model()
    if token_model.objects.filter(user=user).count() >= 20:
        raise ConflictError("You have 20 keys already; revoke one you no longer use.")
    expiry = dt.timedelta(days=expires_in_days) if expires_in_days else None
    row, key = token_model.objects.create(user=user, expiry=expiry, name=name[:80])
    audit_record(
        actor=actor,
        action=AuditAction.API_TOKEN_CREATED,
        target=user,
        changes={"key": [None, row.token_key], "name": [None, row.name]},
    )
    return row, key


@transaction.atomic
def api_token_revoke(*, actor: User, token) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.API_TOKEN_REVOKED,
        target=token.user,
        changes={"key": [token.token_key, None], "name": [token.name, None]},
    )
    token.delete()


# Tier changes and removal (tier_create is above) ---------------------------------------------------------------

TIER_EDITABLE_FIELDS = (
    "name",
    "slug",
    "rank",
    "description",
    "min_annual_revenue",
    "min_certified_reps",
    "requirements",
    "benefits",
    "discount_percent",
)


def _tier_save(tier: Tier) -> Tier:
    from django.core.exceptions import ValidationError

    try:
        tier.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from None
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:
        raise ConflictError("Another tier already uses this name, slug or rank.") from None
    return tier


@transaction.atomic
def tier_update(*, actor: User | None, tier: Tier, **fields: Any) -> Tier:
    """Change a tier's name, rank, requirements or benefits; the model's validation applies."""
    unknown = set(fields) - set(TIER_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"These tier fields cannot be changed: {', '.join(sorted(unknown))}.")
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    changes = {}
    for field, value in fields.items():
        before = getattr(tier, field)
        if before != value:
            changes[field] = [str(before), str(value)]
        setattr(tier, field, value)
    tier = _tier_save(tier)
    if changes:
        audit_record(actor=actor, action=AuditAction.TIER_UPDATED, target=tier, changes=changes)
    return tier


@transaction.atomic
def tier_delete(*, actor: User | None, tier: Tier) -> None:
    """Remove a tier nobody is on; partners on it must be moved first (their history keeps the tier name)."""
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    on_tier = Partner.objects.filter(tier=tier).count()
    if on_tier:
        raise ConflictError(f"{on_tier} partner(s) are on the tier “{tier}”; move them to another tier first.")
    audit_record(actor=actor, action=AuditAction.TIER_DELETED, target=tier)
    tier.delete()


# Offboarding ---------------------------------------------------------------------------------------------------


@transaction.atomic
def partner_members_deactivate_all(*, actor: User | None, partner: Partner, reason: str = "") -> list[int]:
    """Deactivate every active membership of a partner (offboarding); returns the affected user ids.

    Unlike ``membership_deactivate`` this removes the last admin too: the partner is leaving the program.
    The rows stay for the audit trail.
    """
    memberships = list(
        Membership.objects.select_for_update().select_related("partner", "user").filter(partner=partner, is_active=True)
    )
    now = timezone.now()
    for membership in memberships:
        membership.is_active = False
        membership.deactivated_at = now
        membership.save(update_fields=["is_active", "deactivated_at"])
        _sync_groups(membership)
        audit_record(
            actor=actor, action=AuditAction.MEMBER_DEACTIVATED, partner=partner, target=membership, reason=reason
        )
    return [m.user_id for m in memberships]


@transaction.atomic
def partner_api_tokens_revoke(*, actor: User | None, partner: Partner, reason: str = "") -> int:
    """Revoke the API keys of the partner's former members who no longer belong to any other active partner.

    People who still work for another partner keep their keys: a key is scoped to its user's partners, so it
    stops reaching this partner's data the moment the membership ends.
    """
    token_model = get_token_model()
    former = Membership.objects.filter(partner=partner).values("user_id")
    still_elsewhere = Membership.objects.filter(is_active=True).exclude(partner=partner).values("user_id")
    tokens = list(
        token_model.objects.filter(user_id__in=former).exclude(user_id__in=still_elsewhere).select_related("user")
    )
    for token in tokens:
        audit_record(
            actor=actor,
            action=AuditAction.API_TOKEN_REVOKED,
            partner=partner,
            target=token.user,
            changes={"key": [token.token_key, None], "name": [token.name, None]},
            reason=reason,
        )
        token.delete()
    return len(tokens)


@transaction.atomic
def partner_managers_unassign_all(*, actor: User | None, partner: Partner) -> int:
    """Remove every channel manager's grant on the partner."""
    managers = channel_managers_of(partner)
    for manager in managers:
        channel_manager_unassign(actor=actor, partner=partner, manager=manager)
    return len(managers)
