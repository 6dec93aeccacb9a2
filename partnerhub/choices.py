"""Enumerations of the core domain."""

from django.db import models


class PartnerType(models.TextChoices):
    RESELLER = "reseller", "Reseller"
    DISTRIBUTOR = "distributor", "Distributor"
    REFERRAL = "referral", "Referral partner"
    SUPPLIER = "supplier", "Supplier"
    INTERNAL = "internal", "Internal team"


class PartnerStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    OFFBOARDED = "offboarded", "Offboarded"


# The lifecycle: which status may follow which. Offboarded is final; data is kept, access is not.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    PartnerStatus.PROSPECT: frozenset({PartnerStatus.ONBOARDING, PartnerStatus.OFFBOARDED}),
    PartnerStatus.ONBOARDING: frozenset({PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED, PartnerStatus.OFFBOARDED}),
    PartnerStatus.ACTIVE: frozenset({PartnerStatus.SUSPENDED, PartnerStatus.OFFBOARDED}),
    PartnerStatus.SUSPENDED: frozenset({PartnerStatus.ACTIVE, PartnerStatus.OFFBOARDED}),
    PartnerStatus.OFFBOARDED: frozenset(),
}

# Partner users may sign in only while their partner is in one of these states.
SIGN_IN_STATUSES = frozenset({PartnerStatus.PROSPECT, PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE})


class MembershipRole(models.TextChoices):
    ADMIN = "admin", "Partner admin"
    REP = "rep", "Partner rep"


class StaffRole(models.TextChoices):
    """Vendor staff roles. Each is an auth Group holding model permissions (see partnerhub.roles)."""

    CHANNEL_MANAGER = "channel_manager", "Channel manager"
    PARTNER_OPERATIONS = "partner_operations", "Partner operations"
    MARKETING_MANAGER = "marketing_manager", "Marketing manager"
    SUPPORT_AGENT = "support_agent", "Support agent"


class AuditAction(models.TextChoices):
    PARTNER_CREATED = "partner.created", "Partner created"
    PARTNER_UPDATED = "partner.updated", "Partner updated"
    PARTNER_STATUS_CHANGED = "partner.status_changed", "Partner status changed"
    PARTNER_TIER_CHANGED = "partner.tier_changed", "Partner tier changed"
    BRAND_UPDATED = "brand.updated", "Brand updated"
    TIER_CREATED = "tier.created", "Tier created"
    TIER_UPDATED = "tier.updated", "Tier updated"
    TIER_DELETED = "tier.deleted", "Tier deleted"
    MANAGER_ASSIGNED = "access.manager_assigned", "Channel manager assigned"
    MANAGER_UNASSIGNED = "access.manager_unassigned", "Channel manager unassigned"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_DEACTIVATED = "member.deactivated", "Member deactivated"
    MEMBER_REACTIVATED = "member.reactivated", "Member reactivated"
    INVITATION_SENT = "invitation.sent", "Invitation sent"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    STAFF_ROLE_CHANGED = "access.staff_role_changed", "Staff role changed"
    API_TOKEN_CREATED = "access.token_created", "API key created"
    API_TOKEN_REVOKED = "access.token_revoked", "API key revoked"
    LOGIN_LOCKED_OUT = "access.locked_out", "Sign-in locked out"
    APPLICATION_APPROVED = "application.approved", "Application approved"
    APPLICATION_REJECTED = "application.rejected", "Application rejected"
    AGREEMENT_PUBLISHED = "agreement.published", "Agreement version published"
    AGREEMENT_ACCEPTED = "agreement.accepted", "Agreement accepted"
    OFFBOARDING_STARTED = "partner.offboarding_started", "Offboarding started"
    INTEGRATION_KEY_COLLECTED = "access.integration_key_collected", "Integration key collected"
    MDF_ALLOCATED = "mdf.allocated", "MDF allocated"
    MDF_REQUEST_APPROVED = "mdf.request_approved", "MDF request approved"
    MDF_REQUEST_CANCELLED = "mdf.request_cancelled", "MDF request cancelled"
    MDF_CLAIMED = "mdf.claimed", "MDF claim filed"
    MDF_CLAIM_DECIDED = "mdf.claim_decided", "MDF claim decided"
    MDF_PAID = "mdf.paid", "MDF paid"
