"""Base classes every API endpoint builds on. Scoping is implemented here once and cannot be overridden.

* ``ScopedModelViewSet.get_queryset`` applies the access layer (``access.scoped``) to ``base_queryset`` for
  reads; a subclass that defines its own ``get_queryset`` fails at import time (PostHog's guard).
* An object outside the caller's view scope answers 404; an object they can see but not change answers 403.
* After create and update the saved object is re-checked against the scoped queryset; if it fell outside,
  the transaction rolls back (NetBox's ``ObjectValidationMixin``).
* ``ScopedRelatedField`` limits what an id in a request body may point at, so nobody attaches another
  partner's object by id.
"""

from __future__ import annotations

from django.db import transaction
from rest_framework import exceptions, serializers, viewsets

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


class ScopedViewSetMixin:
    """Scopes every read of ``base_queryset`` to the request's user.

    Subclasses set ``base_queryset`` (a queryset of a partner-owned model or of ``Partner``) and may set
    ``action_access`` to name the access action of custom ``@action`` endpoints (default ``change``).
    """

    base_queryset = None
    action_access: dict[str, str] = {}
    lookup_value_regex = r"\d+"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for forbidden in ("get_queryset", "queryset"):
            if forbidden in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not define {forbidden}; set base_queryset and let the access layer "
                    "scope it (partnerhub.api.base)."
                )

    def access_action(self) -> str:
        action = getattr(self, "action", None) or "list"
        if action in self.action_access:
            return self.action_access[action]
        return ACTION_MAP.get(action, "change")

    def get_queryset(self):
        if self.base_queryset is None:
            raise TypeError(f"{type(self).__name__} needs a base_queryset")
        # Objects are looked up in the *view* scope: what you cannot see is 404, what you can see but may
        # not change is 403 (check_object_permissions below).
        return access.scoped(self.base_queryset.all(), self.request.user, "view")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        action = self.access_action()
        if action != "view" and not access.can(request.user, action, obj):
            raise exceptions.PermissionDenied(f"You may not {action} this {obj._meta.verbose_name}.")

    def verify_in_scope(self, instance, action: str = "view"):
        if not access.can(self.request.user, action, instance):
            raise exceptions.PermissionDenied("The result would fall outside the partners you may act for.")

    @transaction.atomic
    def perform_create(self, serializer):
        instance = self.create_object(serializer)
        self.verify_in_scope(instance)
        return instance

    @transaction.atomic
    def perform_update(self, serializer):
        instance = self.update_object(serializer)
        self.verify_in_scope(instance)
        return instance

    # Subclasses route writes through services here.
    def create_object(self, serializer):
        return serializer.save()

    def update_object(self, serializer):
        return serializer.save()


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key relation that only accepts objects the requesting user may ``access_action``.

    An id outside the scope is reported exactly like a missing one.
    """

    def __init__(self, *, access_action: str = "view", **kwargs):
        self.access_action = access_action
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return access.scoped(queryset, user, self.access_action)


def domain_error_to_drf(exc: DomainError) -> exceptions.APIException:
    """Map a service's ``DomainError`` to the DRF exception of the same meaning."""
    if exc.status_code == 403:
        return exceptions.PermissionDenied(exc.message)
    if exc.status_code == 409:
        error = exceptions.APIException({exc.field or "non_field_errors": [exc.message]})
        error.status_code = 409
        error.default_code = exc.code
        return error
    return serializers.ValidationError({exc.field or "non_field_errors": [exc.message]}, code=exc.code)
