import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from partnerhub.choices import MembershipRole

from .tenancy import PartnerOwnedModel


class Membership(PartnerOwnedModel):
    """A person's place in a partner: partner admin or partner rep.

    A person may belong to several partners (after a merger, or a distributor's staff serving resellers) and
    switches between them in the portal. Deactivating keeps the row for the audit trail but removes the
    person from the partner's groups, so every grant stops at once.
    """

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.REP)
    title = models.CharField(max_length=120, blank=True, help_text="Job title shown on the team page.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    partner_permissions = {
        "view": "access_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["partner_id", "id"]
        constraints = [models.UniqueConstraint(fields=["partner", "user"], name="membership_unique_user_partner")]
        indexes = [models.Index(fields=["user", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == MembershipRole.ADMIN


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


class Invitation(PartnerOwnedModel):
    """An invitation to join a partner. The link carries a signed, expiring token and works once."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.REP)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nonce = models.CharField(max_length=32, default=_new_nonce, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    partner_permissions = {
        "view": "administer_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "partner",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.partner}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_open(self) -> bool:
        return self.state == "pending"
