"""Authentication backend that knows about partners."""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import BooleanField

from partnerhub.choices import SIGN_IN_STATUSES
from partnerhub.expressions import RowSQL, column, table

_MAY_SIGN_IN = "_partnerhub_may_sign_in"


def _admitted() -> RowSQL:
    """On a user query: whether an active membership of the user's is with a partner that may sign in."""
    return RowSQL(_admitted_sql(), tuple(SIGN_IN_STATUSES), output_field=BooleanField())


@functools.cache
def _admitted_sql() -> str:
    """The SQL of ``_admitted`` (see ``RowSQL``): read with the user on every request, so it is written once
    instead of built and compiled each time."""
    from partnerhub.models import Membership, Partner

    marks = ", ".join(["%s"] * len(SIGN_IN_STATUSES))
    return (
        f"EXISTS (SELECT 1 FROM {table(Membership)} m "  # noqa: S608 (names only)
        f"INNER JOIN {table(Partner)} p ON p.{column(Partner, 'id')} = m.{column(Membership, 'partner')} "
        f"WHERE m.{column(Membership, 'user')} = {{pk}} AND m.{column(Membership, 'is_active')} "
        f"AND p.{column(Partner, 'status')} IN ({marks}))"
    )


def user_may_sign_in(user) -> bool:
    """Vendor staff may always sign in; partner users only while a partner of theirs may sign in."""
    if not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    known = getattr(user, _MAY_SIGN_IN, None)  # read with the user by get_user, in the same query
    if known is None:
        users = get_user_model()._default_manager.filter(pk=user.pk)
        known = users.annotate(admitted=_admitted()).values_list("admitted", flat=True).first()
    return bool(known)


class PartnerAwareModelBackend(ModelBackend):
    """Django's model backend with two partner rules.

    * A partner user whose every partner is suspended or offboarded (or whose memberships are all
      deactivated) cannot sign in.
    * Partner users never get global model permissions, even if a group was misconfigured: a global
      permission would see every partner.
    """

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user_may_sign_in(user)

    def get_user(self, user_id):
        """The signed-in user of a session, read together with whether a partner of theirs still admits them
        (one query on every request instead of two)."""
        user = get_user_model()._default_manager.annotate(**{_MAY_SIGN_IN: _admitted()}).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not (user_obj.is_staff or user_obj.is_superuser):
            return set()
        return super().get_all_permissions(user_obj, obj)

    def get_user_permissions(self, user_obj, obj=None):
        if not (user_obj.is_staff or user_obj.is_superuser):
            return set()
        return super().get_user_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj, obj=None):
        if not (user_obj.is_staff or user_obj.is_superuser):
            return set()
        return super().get_group_permissions(user_obj, obj)
