"""django-filter FilterSets of the core API.

Filters narrow a queryset the access layer has already scoped; they never widen it. Id filters compare
numbers only and never look the id up: a lookup would answer "no such partner" for a missing id but
"no rows" for another partner's id, which would tell one from the other.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from partnerhub.api.serializers import INVITATION_STATES
from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType
from partnerhub.models import Invitation, Membership, Partner


class PositiveIntegerField(forms.IntegerField):
    default_error_messages = {"invalid": "Enter a whole number such as 42."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An id given as a whole number (``0.5`` and ``abc`` are 400s), compared without a lookup."""

    field_class = PositiveIntegerField


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is a 400 instead of being ignored."""

    widget = forms.TextInput
    # Declared, not only raised, so that the OpenAPI schema documents the "invalid" error of the filter.
    default_error_messages = {"invalid": "Use true or false."}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, turned into UTC before it reaches the database (PostgreSQL refuses offsets beyond
    ±15:59 that Python accepts); one that cannot be expressed in UTC is a 400."""

    default_error_messages = {"invalid": "Enter a date-time such as 2026-01-31T09:00:00Z."}

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class PartnerFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PartnerStatus.choices)
    partner_type = django_filters.ChoiceFilter(choices=PartnerType.choices)
    tier = IdFilter(field_name="tier_id", help_text="Partners on this tier (id).")
    parent = IdFilter(field_name="parent_id", help_text="Partners that buy through this distributor (id).")
    q = django_filters.CharFilter(
        method="filter_q", max_length=100, help_text="Search in name and slug (case-insensitive)."
    )

    class Meta:
        model = Partner
        fields = ("status", "partner_type", "tier", "parent", "q")

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class MembershipFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Memberships of this partner (id).")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)
    is_active = StrictBooleanFilter()

    class Meta:
        model = Membership
        fields = ("partner", "role", "is_active")


class InvitationFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Invitations to this partner (id).")
    state = django_filters.ChoiceFilter(
        choices=[(state, state.capitalize()) for state in INVITATION_STATES], method="filter_state"
    )

    class Meta:
        model = Invitation
        fields = ("partner", "state")

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == "accepted":
            return queryset.filter(accepted_at__isnull=False)
        if value == "revoked":
            return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=False)
        open_ = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        if value == "expired":
            return open_.filter(expires_at__lte=now)
        return open_.filter(expires_at__gt=now)
