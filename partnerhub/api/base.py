"""Base classes every API endpoint builds on. Scoping is implemented here once and cannot be overridden.

* ``ScopedModelViewSet.get_queryset`` applies the access layer (``access.scoped``) to ``base_queryset`` for
  reads; a subclass that defines its own ``get_queryset`` fails at import time (PostHog's guard).
* An object outside the caller's view scope answers 404; an object they can see but not change answers 403.
* After create and update the saved object is re-checked against the scoped queryset; if it fell outside,
  the transaction rolls back (NetBox's ``ObjectValidationMixin``).
* ``ScopedRelatedField`` limits what an id in a request body may point at, so nobody attaches another
  partner's object by id.
* Data that is not partner-owned has its own small bases with the same guard: ``ProgramDataViewSet``
  (program-wide reference data such as tiers: read by every signed-in user, written by vendor staff holding
  the model permission) and ``OwnRowsViewSet`` (rows of the caller alone, such as their API keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.db import transaction
from django.db.models import QuerySet
from rest_framework import exceptions, permissions, serializers, viewsets

from partnerhub import access
from partnerhub.errors import DomainError

# Which access-layer action each viewset action needs on the object.
ACTION_MAP = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class _GuardedQuerysetMixin:
    """Refuses subclasses that define ``get_queryset`` or ``queryset``: the base decides what rows exist."""

    base_queryset = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            return  # the bases in this module are the only places that decide what rows exist
        for forbidden in ("get_queryset", "queryset"):
            if forbidden in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not define {forbidden}; set base_queryset and let the access layer "
                    "scope it (partnerhub.api.base)."
                )
        # DRF's mixins listed before the base would put their plain ``serializer.save()`` ahead of the
        # service-routed, scope-checked writes below.
        for name in ("perform_create", "perform_update", "perform_destroy"):
            owner = next((klass for klass in cls.__mro__ if name in klass.__dict__), None)
            if owner is not None and owner.__module__.startswith("rest_framework"):
                raise TypeError(
                    f"{cls.__name__}.{name} comes from {owner.__name__}; list the partnerhub.api.base class "
                    "before DRF's mixins so that writes go through services and the scope re-check."
                )

    def _base_queryset(self):
        if self.base_queryset is None:
            raise TypeError(f"{type(self).__name__} needs a base_queryset")
        return self.base_queryset.all()


class _ServiceWritesMixin:
    """Writes run in a transaction through ``create_object`` / ``update_object`` / ``destroy_object``, which
    subclasses point at services. The saved object becomes ``serializer.instance`` so the response shows it."""

    def verify_in_scope(self, instance, action: str = "view"):
        pass

    @transaction.atomic
    def perform_create(self, serializer):
        instance = self.create_object(serializer)
        self.verify_in_scope(instance)
        serializer.instance = instance
        return instance

    @transaction.atomic
    def perform_update(self, serializer):
        instance = self.update_object(serializer)
        self.verify_in_scope(instance)
        serializer.instance = instance
        return instance

    @transaction.atomic
    def perform_destroy(self, instance):
        self.destroy_object(instance)

    # Subclasses route writes through services here.
    def create_object(self, serializer):
        return serializer.save()

    def update_object(self, serializer):
        return serializer.save()

    def destroy_object(self, instance):
        instance.delete()


class ScopedViewSetMixin(_ServiceWritesMixin, _GuardedQuerysetMixin):
    """Scopes every read of ``base_queryset`` to the request's user.

    Subclasses set ``base_queryset`` (a queryset of a partner-owned model or of ``Partner``) and may set
    ``action_access`` to name the access action of custom ``@action`` endpoints (default ``change``).
    """

    action_access: dict[str, str] = {}
    lookup_value_regex = r"\d+"

    def access_action(self) -> str:
        action = getattr(self, "action", None) or "list"
        if action in self.action_access:
            return self.action_access[action]
        return ACTION_MAP.get(action, "change")

    def get_queryset(self):
        # Objects are looked up in the *view* scope: what you cannot see is 404, what you can see but may
        # not change is 403 (check_object_permissions below).
        return access.scoped(self._base_queryset(), self.request.user, "view")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        action = self.access_action()
        if action != "view" and not access.can(request.user, action, obj):
            raise exceptions.PermissionDenied(f"You may not {action} this {obj._meta.verbose_name}.")

    def verify_in_scope(self, instance, action: str = "view"):
        if not access.can(self.request.user, action, instance):
            raise exceptions.PermissionDenied("The result would fall outside the partners you may act for.")


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass


class ScopedGenericViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """For endpoints that offer only some of the CRUD actions: add DRF's mixins *after* this class, so that
    the scoped, service-routed ``perform_*`` methods above win over the mixins' plain ``save()``."""


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class VendorStaffModelPermissions(permissions.DjangoModelPermissions):
    """Reads for every signed-in user; writes for vendor staff holding the global model permission.

    Partner users never hold global permissions (the auth backend drops them), and ``is_staff`` is checked
    as well, so a misconfigured group cannot hand a partner user write access to program data.
    """

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": [], "HEAD": [], "OPTIONS": []}

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        if not access.is_vendor_staff(request.user):
            return False
        return super().has_permission(request, view)


class ProgramDataViewSet(_ServiceWritesMixin, _GuardedQuerysetMixin, viewsets.ModelViewSet):
    """Program-wide reference data that belongs to no partner (tiers).

    Nothing here is tenant data, so no partner scope applies; the permission classes are explicit instead.
    """

    permission_classes = [permissions.IsAuthenticated, VendorStaffModelPermissions]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return self._base_queryset()


class SelectorViewSet(_ServiceWritesMixin, viewsets.GenericViewSet):
    """Rows come from one selector (``select``, called with ``user=``), which applies the access rules; for data
    whose rules are more than "partner-owned" (vendor-side queues, audiences of tiers and chosen partners).

    A subclass may not define ``get_queryset`` or ``queryset`` (the selector decides what rows exist). It may add
    prefetches per action (``prefetch``) or override ``decorate`` to add joins, annotations and prefetches, none
    of which can widen the rows. After a write the saved row must still be among the selector's rows, or the
    transaction rolls back. DRF's mixins go after this class, so that writes go through the service-routed methods.
    """

    select: ClassVar[Callable[..., QuerySet]]
    prefetch: ClassVar[dict[str, tuple]] = {}
    lookup_value_regex = r"\d+"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for forbidden in ("get_queryset", "queryset"):
            if forbidden in cls.__dict__:
                raise TypeError(f"{cls.__name__} must not define {forbidden}; set select to a selector.")
        for name in ("perform_create", "perform_update", "perform_destroy"):
            owner = next((klass for klass in cls.__mro__ if name in klass.__dict__), None)
            if owner is not None and owner.__module__.startswith("rest_framework"):
                raise TypeError(f"{cls.__name__}.{name} comes from {owner.__name__}; list SelectorViewSet first.")

    def decorate(self, queryset: QuerySet) -> QuerySet:
        lookups = self.prefetch.get(getattr(self, "action", None) or "", ())
        return queryset.prefetch_related(*lookups) if lookups else queryset

    def get_queryset(self):
        return self.decorate(type(self).select(user=self.request.user))

    def verify_in_scope(self, instance, action: str = "view"):
        if not type(self).select(user=self.request.user).filter(pk=instance.pk).exists():
            raise exceptions.PermissionDenied("The result would fall outside what you may read.")


class OwnRowsViewSet(_ServiceWritesMixin, _GuardedQuerysetMixin, viewsets.GenericViewSet):
    """Rows that belong to the requesting user alone (their API keys, their own profile).

    ``owner_field`` names the lookup that must equal the request's user; anybody else's row answers 404.
    Without a lookup in the URL, ``get_object`` returns the caller's single row (``/me/``).
    """

    permission_classes = [permissions.IsAuthenticated]
    owner_field = "user"

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not access.is_authenticated(user):
            return self._base_queryset().none()  # schema generation, or a request refused a moment later
        return self._base_queryset().filter(**{self.owner_field: user.pk})

    def verify_in_scope(self, instance, action: str = "view"):
        if not self.get_queryset().filter(pk=instance.pk).exists():
            raise exceptions.PermissionDenied("The result would belong to somebody else.")

    def get_object(self):
        lookup = self.lookup_url_kwarg or self.lookup_field
        if lookup in self.kwargs:
            return super().get_object()
        obj = self.get_queryset().first()
        if obj is None:
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, obj)
        return obj


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A relation by numeric id: ``0.5``, ``"abc"`` or ``true`` are the wrong type, not a missing object."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and data.isdigit())):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class ScopedRelatedField(IdRelatedField):
    """A primary-key relation that only accepts objects the requesting user may ``access_action``.

    An id outside the scope is reported exactly like a missing one.

    A relation to ``Partner`` on a serializer of a partner-owned model (``Invitation.partner``) asks "for
    which partners may this user ``access_action`` *such rows*": ``access_action="add"`` on an invitation's
    partner means "partners I may invite people to", not "partners I may create". ``for_model`` names that
    model explicitly; by default it is the serializer's ``Meta.model``.
    """

    def __init__(self, *, access_action: str = "view", for_model=None, **kwargs):
        self.access_action = access_action
        self.for_model = for_model
        super().__init__(**kwargs)

    def _owning_model(self):
        if self.for_model is not None:
            return self.for_model
        meta = getattr(self.parent, "Meta", None)
        return getattr(meta, "model", None)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        owner = self._owning_model()
        if (
            queryset.model is access._partner_model()
            and owner is not None
            and getattr(owner, "partner_field", None) is not None
        ):
            return queryset.filter(pk__in=access.partners_for(user, owner, self.access_action).values("pk"))
        return access.scoped(queryset, user, self.access_action)


def domain_error_to_drf(exc: DomainError) -> exceptions.APIException:
    """Map a service's ``DomainError`` to the DRF exception of the same meaning."""
    if exc.status_code == 403:
        return exceptions.PermissionDenied(exc.message, code=exc.code)
    if exc.status_code == 409:
        # The code goes in with the detail: APIException builds its ErrorDetails in __init__.
        error = exceptions.APIException({exc.field or "non_field_errors": [exc.message]}, code=exc.code)
        error.status_code = 409
        error.default_code = exc.code
        return error
    return serializers.ValidationError({exc.field or "non_field_errors": [exc.message]}, code=exc.code)
