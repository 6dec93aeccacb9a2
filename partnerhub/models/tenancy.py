"""The tenant boundary: a ``partner`` foreign key and one queryset method that applies the access layer."""

from django.db import models


class PartnerScopedQuerySet(models.QuerySet):
    """Queryset for partner-owned rows. ``for_user`` is the only way views read them."""

    def for_user(self, user, action: str = "view"):
        from partnerhub import access

        return access.scope(self, user, action)

    def for_partner(self, user, partner, action: str = "view"):
        """``for_user(user, action).filter(partner=partner)``: the rows of one partner that ``user`` may act on."""
        from partnerhub import access

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
