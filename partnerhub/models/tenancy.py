"""The tenant boundary: a ``partner`` foreign key and one queryset method that applies the access layer."""

from django.db import models


class PartnerScopedQuerySet(models.QuerySet):
    """Queryset for partner-owned rows. ``for_user`` is the only way views read them."""

    def for_user(self, user, action: str = "view", partner=None):
        """The rows ``user`` may perform ``action`` on; with ``partner``, that partner's rows only (which the access
        layer may answer from the portal's read of the user's partners, without the grant subquery)."""
        from partnerhub import access

        if partner is None:
            return access.scope(self, user, action)
        return access.scope_to_partner(self, user, partner, action)


class PartnerOwnedModel(models.Model):
    """Abstract base for every row that belongs to one partner.

    ``partner_permissions`` maps an action to the partner-level permission a partner user needs
    (``access_partner`` for members, ``administer_partner`` for partner admins).
    """

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="+")

    objects = PartnerScopedQuerySet.as_manager()

    partner_field = "partner"
    partner_permissions = {
        "view": "access_partner",
        "add": "access_partner",
        "change": "access_partner",
        "delete": "administer_partner",
    }

    class Meta:
        abstract = True
