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

from typing import TYPE_CHECKING, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404

from partnerhub.choices import SIGN_IN_STATUSES

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
    Partner = _partner_model()
    if not is_vendor_staff(user):
        return Partner.objects.none()
    if sees_all_partners(user):
        return Partner.objects.all()
    return _built(user, ("managed",), lambda: _granted_partners(user, "manage_partner"))


def member_partners(user, permission: str = "access_partner") -> models.QuerySet[Partner]:
    """Partners a user acts for as a member, through the partner's groups, while the partner may sign in.

    ``permission`` is ``access_partner`` (any active member) or ``administer_partner`` (partner admins).
    """
    Partner = _partner_model()
    if not is_authenticated(user):
        return Partner.objects.none()
    return _built(
        user, ("member", permission), lambda: _granted_partners(user, permission).filter(status__in=SIGN_IN_STATUSES)
    )


def _built(user, key: tuple, build) -> models.QuerySet:
    """``build()``'s queryset, built once per user object and cloned on every use.

    A page asks the access layer for the same partner set several times (the portal gate, the nav, each
    scoped list); building the grant subqueries is most of the ORM's work for a page. What is kept is the
    query, never rows: each clone is evaluated afresh, so a grant given or taken away shows at once.
    """
    built = getattr(user, "_partnerhub_access_queries", None)
    if built is None:
        built = {}
        user._partnerhub_access_queries = built
    queryset = built.get(key)
    if queryset is None:
        queryset = built[key] = build()
    return queryset.all()


def _granted_partners(user, codename: str) -> models.QuerySet[Partner]:
    """Partners on which ``user`` holds the object permission ``partnerhub.<codename>``, granted to the user
    directly or to one of their groups. Global permissions and superuser status count for nothing here.

    The rows are exactly those of guardian's ``get_objects_for_user(user, "partnerhub.<codename>",
    klass=Partner, accept_global_perms=False, with_superuser=False)``, read from the same direct foreign-key
    grant tables. Only the query's shape differs: guardian writes ``pk IN (user grants) OR pk IN (group
    grants)``, which PostgreSQL cannot turn into a join, so a scoped list such as ``memberships WHERE
    partner_id IN (...) ORDER BY id DESC LIMIT 51`` walks the whole table and tests every row. One
    ``pk IN (user grants UNION group grants)`` becomes a semi-join that starts from the user's few grants
    (docs/PERFORMANCE.md).
    """
    from partnerhub.models import PartnerGroupObjectPermission, PartnerUserObjectPermission

    Partner = _partner_model()
    grant = {"permission__content_type": ContentType.objects.get_for_model(Partner), "permission__codename": codename}
    direct = PartnerUserObjectPermission.objects.filter(user=user, **grant).values("content_object_id")
    via_groups = PartnerGroupObjectPermission.objects.filter(group__in=user.groups.all(), **grant).values(
        "content_object_id"
    )
    return Partner.objects.filter(pk__in=direct.union(via_groups))


def _model_perm(model: type[models.Model], action: str) -> str:
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def partners_for(user, model: type[models.Model], action: str = "view") -> models.QuerySet[Partner]:
    """Partners on whose ``model`` rows ``user`` may perform ``action``."""
    Partner = _partner_model()
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    if not is_authenticated(user):
        return Partner.objects.none()
    if user.is_superuser:
        return Partner.objects.all()
    if user.is_staff:
        # Vendor staff act as staff only, even where they also belong to an internal-team partner.
        if user.has_perm(_model_perm(model, action)):
            return managed_partners(user)
        return Partner.objects.none()
    partner_perm = _partner_permission(model, action)
    if partner_perm is None:
        return Partner.objects.none()
    return member_partners(user, partner_perm)


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
    partners = partners_for(user, model, action)
    queryset = queryset.filter(**{f"{field}__in": partners.values("pk")})
    # A model may narrow what vendor staff see within their partners (support agents: escalated tickets only).
    restrict = getattr(model, "restrict_for_staff", None)
    if restrict is not None and is_vendor_staff(user):
        queryset = restrict(queryset, user)
    return queryset


def scope_partners(queryset: models.QuerySet[Partner], user, action: str = "view") -> models.QuerySet[Partner]:
    """Restrict a queryset of partners to those ``user`` may perform ``action`` on."""
    if is_authenticated(user) and user.is_superuser:
        return queryset
    return queryset.filter(pk__in=partners_for(user, queryset.model, action).values("pk"))


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
    """Whether ``user`` may perform ``action`` on ``obj`` (one query)."""
    return scoped(type(obj), user, action).filter(pk=obj.pk).exists()
