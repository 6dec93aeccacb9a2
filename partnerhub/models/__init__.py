"""Core domain models: users, partners, tiers, brands, memberships, invitations, API tokens and the audit trail."""

from .audit import AuditEvent
from .memberships import Invitation, Membership
from .partners import Partner, PartnerBrand, PartnerGroupObjectPermission, PartnerUserObjectPermission, Tier
from .tenancy import PartnerOwnedModel, PartnerScopedQuerySet
from .tokens import ApiToken
from .users import User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Invitation",
    "Membership",
    "Partner",
    "PartnerBrand",
    "PartnerGroupObjectPermission",
    "PartnerOwnedModel",
    "PartnerScopedQuerySet",
    "PartnerUserObjectPermission",
    "Tier",
    "User",
]
