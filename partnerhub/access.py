"""The access layer: which partners, and which partner-owned rows, a user may act on.

Every portal view, API viewset, admin list, search and export of partner data goes through ``scope`` (for
partner-owned rows) or ``scope_partners`` (for the partner table itself). Single objects come from
``access_object``, which raises the same ``NotFound`` for "does not exist" and "belongs to someone else", so
ids never leak.

Rules:

* Superusers act on everything.
* Vendor staff (``is_staff``) need the global model permission for the action (``support.view_ticket``) *and*
  the partner in their scope: every partner with ``partnerhub.view_all_partners``, otherwise only the
  partners granted to them with the object permission ``partnerhub.manage_partner`` (channel managers).
* Partner users get nothing from global permissions. They act through their partners' groups, which hold the
  object permissions ``access_partner`` (every active member) and ``administer_partner`` (partner admins),
  and only while the partner may sign in (not suspended or offboarded).

Object grants are read from guardian's direct foreign-key grant tables (``_granted_partners``: the rows of
guardian's ``get_objects_for_user`` with ``accept_global_perms=False``): a stray global permission must never
widen a partner user's view.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.expressions import RawSQL
from django.http import Http404

from partnerhub.choices import SIGN_IN_STATUSES
from partnerhub.expressions import RowSQL, column, table
from partnerhub.querysets import Among  # noqa: F401 (registers the pk__among lookup)

if TYPE_CHECKING:
    from partnerhub.models import Partner

M = TypeVar("M", bound=models.Model)

ACTIONS = ("view", "add", "change", "delete")


class NotFound(Http404):
    """Raised for an object that is missing or outside the caller's scope; the two are indistinguishable."""


def _partner_model():
    from partnerhub.models import Partner

    return Partner


def is_authenticated(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_vendor_staff(user) -> bool:
    return is_authenticated(user) and (user.is_staff or user.is_superuser)


def sees_all_partners(user) -> bool:
    """Vendor-wide roles (superuser, partner operations) act on every partner."""
    return is_vendor_staff(user) and (user.is_superuser or user.has_perm("partnerhub.view_all_partners"))


def managed_partners(user) -> models.QuerySet[Partner]:
    """Partners granted to a vendor staff member, or all of them for vendor-wide roles."""
    if not is_vendor_staff(user):
        return _partners(_NONE)
    if sees_all_partners(user):
        return _partners(_ALL)
    return _granted_partners(user, "manage_partner")


def member_partners(user, permission: str = "access_partner") -> models.QuerySet[Partner]:
    """Partners a user acts for as a member, through the partner's groups, while the partner may sign in.

    ``permission`` is ``access_partner`` (any active member) or ``administer_partner`` (partner admins).
    """
    if not is_authenticated(user):
        return _partners(_NONE)
    return _partners(_grant_ids(user, permission, SIGN_IN_STATUSES))


READ_FOR = "_partnerhub_member_partner_of"  # set on partners read by member_partners for a user (user id)


def _read_for(user, partner) -> bool:
    """Whether ``partner`` is an object this layer read as a member partner of ``user`` (``READ_FOR``)."""
    return is_authenticated(user) and getattr(partner, READ_FOR, None) == user.pk


def member_partner_list(user, partner: Partner | None = None) -> list[Partner]:
    """``list(member_partners(user))``, narrowed to ``partner`` when one is given.

    A partner object that this layer read as a member partner of this very user (``selectors.user_partners``,
    which the portal's middleware runs on every request, marks them) is taken as read: objects live for one
    request, so it is the same answer without a second query. Any other partner object is checked.
    """
    if partner is not None and _read_for(user, partner):
        return [partner]
    partners = list(member_partners(user))
    if partner is not None:
        partners = [p for p in partners if p.pk == partner.pk]
    return partners


def administers(user) -> models.Expression:
    """``can(user, "change", partner)`` for every row of a partner query, as an annotation: the portal reads the
    user's partners and their admin rights in one query."""
    ids = _partner_ids(user, _partner_model(), "change")
    if ids is _NONE or ids is _ALL:
        return models.Value(ids is _ALL, output_field=models.BooleanField())
    return RowSQL("{pk} IN (" + ids.sql + ")", ids.params, output_field=models.BooleanField())


# A partner set is _NONE, _ALL or the SQL of the granted partners' ids (``_grant_ids``): ``scope`` puts the SQL
# straight into its ``partner_id IN (...)``, ``partners_for`` into ``Partner.pk IN (...)``.
_NONE = "none"
_ALL = "all"


def _partners(ids) -> models.QuerySet[Partner]:
    """The partners of a partner set. The granted keys are read first (``pk = ANY(ARRAY(grants))``): with
    ``pk IN (grants)`` PostgreSQL may merge a channel manager's 100 grants with a walk of all 10,000 partners in
    the list's key order, where reading the 100 keys and fetching those partners is a tenth of the work."""
    Partner = _partner_model()
    if ids is _NONE:
        return Partner.objects.none()
    if ids is _ALL:
        return Partner.objects.all()
    return Partner.objects.filter(pk__among=ids)


def _granted_partners(user, codename: str) -> models.QuerySet[Partner]:
    """Partners on which ``user`` holds the object permission ``partnerhub.<codename>`` (``_grant_ids``)."""
    return _partners(_grant_ids(user, codename))


def _grant_ids(user, codename: str, statuses: tuple[str, ...] = ()) -> RawSQL:
    """The ids of the partners on which ``user`` holds the object permission ``partnerhub.<codename>`` (of those
    in ``statuses``, if given), granted to the user directly or to one of their groups, as one SQL subquery.
    Global permissions and superuser status count for nothing here.

    The rows are exactly those of guardian's ``get_objects_for_user(user, "partnerhub.<codename>",
    klass=Partner, accept_global_perms=False, with_superuser=False)``, read from the same direct foreign-key
    grant tables. Only the query's shape differs, and it is chosen for PostgreSQL.

    Guardian writes ``pk IN (user grants) OR pk IN (group grants)``, which PostgreSQL cannot turn into a join,
    so a scoped list such as ``memberships WHERE partner_id IN (...) ORDER BY id DESC LIMIT 51`` walks the whole
    table and tests every row. One ``pk IN (user grants UNION group grants)`` becomes a semi-join that starts
    from the user's few grants (docs/PERFORMANCE.md). The permission is one scalar subquery rather than a join
    on each side, and the user's groups are read from the user-group table alone: the same rows, with fewer
    relations for the planner to weigh on every request. The SQL text is built once per process
    (``_grant_sql``, from table and column names only); every value is a parameter, so the ORM has nothing to
    compile but the outer query.
    """
    statuses = tuple(statuses)
    params = [*statuses, *[user.pk, _partner_content_type_id(), codename] * 2]
    return RawSQL(_grant_sql(len(statuses)), params, output_field=models.BigIntegerField())  # noqa: S611 (names only)


def _partner_content_type_id() -> int:
    return ContentType.objects.get_for_model(_partner_model()).pk


@functools.cache
def _grant_sql(statuses: int) -> str:
    """The SQL of ``_grant_ids``, with ``statuses`` placeholders for the partner's status (0: no status test).
    Only table and column names from the models' metadata are put into the text."""
    from django.contrib.auth.models import Permission

    from partnerhub.models import PartnerGroupObjectPermission, PartnerUserObjectPermission, User

    direct, via_groups, groups = PartnerUserObjectPermission, PartnerGroupObjectPermission, User.groups.through
    permission = (
        f"(SELECT {column(Permission, 'id')} FROM {table(Permission)} "  # noqa: S608 (names only)
        f"WHERE {column(Permission, 'content_type')} = %s AND {column(Permission, 'codename')} = %s)"
    )
    granted = (
        f"SELECT d.{column(direct, 'content_object')} FROM {table(direct)} d "  # noqa: S608 (names only)
        f"WHERE d.{column(direct, 'user')} = %s AND d.{column(direct, 'permission')} = {permission} "
        f"UNION SELECT g.{column(via_groups, 'content_object')} FROM {table(via_groups)} g "
        f"WHERE g.{column(via_groups, 'group')} IN (SELECT ug.{column(groups, 'group')} FROM {table(groups)} ug "
        f"WHERE ug.{column(groups, 'user')} = %s) AND g.{column(via_groups, 'permission')} = {permission}"
    )
    if not statuses:
        return granted
    Partner = _partner_model()
    marks = ", ".join(["%s"] * statuses)
    return (
        f"SELECT p.{column(Partner, 'id')} FROM {table(Partner)} p "  # noqa: S608 (names only)
        f"WHERE p.{column(Partner, 'status')} IN ({marks}) AND p.{column(Partner, 'id')} IN ({granted})"
    )


def _model_perm(model: type[models.Model], action: str) -> str:
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def partners_for(user, model: type[models.Model], action: str = "view") -> models.QuerySet[Partner]:
    """Partners on whose ``model`` rows ``user`` may perform ``action``."""
    return _partners(_partner_ids(user, model, action))


def _partner_ids(user, model: type[models.Model], action: str):
    """``partners_for`` as a partner set: _NONE, _ALL or the SQL of the partners' ids."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    if not is_authenticated(user):
        return _NONE
    if user.is_superuser:
        return _ALL
    if user.is_staff:
        # Vendor staff act as staff only, even where they also belong to an internal-team partner.
        if not user.has_perm(_model_perm(model, action)):
            return _NONE
        if sees_all_partners(user):
            return _ALL
        return _grant_ids(user, "manage_partner")
    partner_perm = _partner_permission(model, action)
    if partner_perm is None:
        return _NONE
    return _grant_ids(user, partner_perm, SIGN_IN_STATUSES)


def _partner_permission(model: type[models.Model], action: str) -> str | None:
    if model is _partner_model():
        return {"view": "access_partner", "change": "administer_partner"}.get(action)
    return getattr(model, "partner_permissions", {}).get(action)


def scope(queryset: models.QuerySet[M], user, action: str = "view") -> models.QuerySet[M]:
    """Restrict a queryset of partner-owned rows to those ``user`` may perform ``action`` on."""
    model = queryset.model
    field = getattr(model, "partner_field", None)
    if field is None:
        raise TypeError(f"{model.__name__} is not partner-owned; declare partner_field or use scope_partners().")
    if is_authenticated(user) and user.is_superuser:
        return queryset
    ids = _partner_ids(user, model, action)
    if ids is _NONE:
        queryset = queryset.none()
    elif ids is not _ALL:  # every partner: the partner foreign key is never null, so nothing to filter
        queryset = queryset.filter(**{f"{field}__in": ids})
    # A model may narrow what vendor staff see within their partners (support agents: escalated tickets only).
    restrict = getattr(model, "restrict_for_staff", None)
    if restrict is not None and is_vendor_staff(user):
        queryset = restrict(queryset, user)
    return queryset


def scope_to_partner(queryset: models.QuerySet[M], user, partner: Partner, action: str = "view") -> models.QuerySet[M]:
    """``scope(queryset, user, action)`` narrowed to the rows of one partner.

    For a partner that this layer read as a member partner of this very user (``member_partner_list``: the portal
    reads the user's partners on every request), the partner-level permission is answered from that read:
    ``access_partner`` holds for every member partner, ``administer_partner`` is ``user_administers``, read with
    it. Then the rows are filtered by the partner's key alone, without the grant subquery. Vendor staff, other
    users' partner objects and any other permission take the full scope.
    """
    model = queryset.model
    field = getattr(model, "partner_field", None)
    if field is None:
        raise TypeError(f"{model.__name__} is not partner-owned; declare partner_field or use scope_partners().")
    if _read_as_member(user, partner):
        permission = _partner_permission(model, action)
        if permission == "access_partner" or (
            permission == "administer_partner" and getattr(partner, "user_administers", None) is True
        ):
            return queryset.filter(**{field: partner.pk})
    return scope(queryset, user, action).filter(**{field: partner.pk})


def _read_as_member(user, partner) -> bool:
    """Whether ``partner`` was read by ``member_partners`` for ``user`` (a partner user) in this request."""
    return _read_for(user, partner) and not is_vendor_staff(user)


def scope_partners(queryset: models.QuerySet[Partner], user, action: str = "view") -> models.QuerySet[Partner]:
    """Restrict a queryset of partners to those ``user`` may perform ``action`` on."""
    if is_authenticated(user) and user.is_superuser:
        return queryset
    ids = _partner_ids(user, queryset.model, action)
    if ids is _NONE:
        return queryset.none()
    if ids is _ALL:
        return queryset
    return queryset.filter(pk__among=ids)  # the granted keys first, as in _partners


def scoped(model_or_queryset, user, action: str = "view") -> models.QuerySet:
    """``scope`` or ``scope_partners``, whichever fits the model."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, models.QuerySet)
        else model_or_queryset._default_manager.all()
    )
    if queryset.model is _partner_model():
        return scope_partners(queryset, user, action)
    return scope(queryset, user, action)


def access_object(model_or_queryset, user, pk, action: str = "view") -> models.Model:
    """Fetch one object the user may perform ``action`` on, or raise ``NotFound``.

    Missing and out-of-scope objects raise the same error, so an id reveals nothing.
    """
    try:
        return scoped(model_or_queryset, user, action).get(pk=pk)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound("Not found.") from None


def can(user, action: str, obj: models.Model) -> bool:
    """Whether ``user`` may perform ``action`` on ``obj`` (one query).

    A partner that this layer read as a member partner of this very user (``member_partner_list``) answers
    without a query: it may be viewed, and it may be changed if the user administers it (read with it).
    """
    if isinstance(obj, _partner_model()) and _read_for(user, obj):
        if action == "view":
            return True
        if action == "change" and hasattr(obj, "user_administers"):
            return obj.user_administers
    return scoped(type(obj), user, action).filter(pk=obj.pk).exists()
