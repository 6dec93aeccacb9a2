"""django-filter FilterSets of the onboarding API.

As in the core (``partnerhub.api.filtersets``): filters narrow a queryset that a selector or the access layer has
already scoped, never widen it; ids are whole numbers compared without a lookup, booleans are strict.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone

from onboarding.choices import ApplicationStatus, DeliveryState, JobKind, JobState
from onboarding.models import (
    AgreementAcceptance,
    ChecklistItem,
    PartnerApplication,
    ProvisioningJob,
    WebhookDelivery,
)
from partnerhub.api.filtersets import IdFilter, StrictBooleanFilter, UtcDateTimeFilter
from partnerhub.choices import PartnerType


class PartnerApplicationFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApplicationStatus.choices)
    partner_type = django_filters.ChoiceFilter(choices=PartnerType.choices)
    country = django_filters.CharFilter(
        method="filter_country", max_length=2, help_text="Two-letter ISO 3166-1 code, e.g. DE."
    )
    open = StrictBooleanFilter(method="filter_open", help_text="true: submitted or waiting for the applicant.")
    has_duplicates = StrictBooleanFilter(
        method="filter_has_duplicates", help_text="true: possible duplicates of a partner or application."
    )
    submitted_after = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method="filter_q", max_length=100, help_text="Search in company name, domain and contact e-mail."
    )

    class Meta:
        model = PartnerApplication
        fields = (
            "status",
            "partner_type",
            "country",
            "open",
            "has_duplicates",
            "submitted_after",
            "submitted_before",
            "q",
        )

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value.strip().upper()) if value.strip() else queryset

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        open_statuses = [ApplicationStatus.SUBMITTED, ApplicationStatus.INFO_REQUESTED]
        return queryset.filter(status__in=open_statuses) if value else queryset.exclude(status__in=open_statuses)

    def filter_has_duplicates(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(duplicate_flags=[]) if value else queryset.filter(duplicate_flags=[])

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(company_name__icontains=value) | Q(domain__icontains=value) | Q(contact_email__icontains=value)
        )


class AgreementAcceptanceFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Acceptances of this partner (id).")
    agreement = IdFilter(field_name="agreement_id", help_text="Acceptances of this agreement version (id).")
    version = IdFilter(field_name="version", help_text="Acceptances of this version number.")

    class Meta:
        model = AgreementAcceptance
        fields = ("partner", "agreement", "version")


class ChecklistItemFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Items of this partner (id).")
    done = StrictBooleanFilter(method="filter_done", help_text="true: completed; false: still open.")
    overdue = StrictBooleanFilter(method="filter_overdue", help_text="true: open and past the due date.")

    class Meta:
        model = ChecklistItem
        fields = ("partner", "done", "overdue")

    def filter_done(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(completed_at__isnull=not value)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(completed_at__isnull=True, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ProvisioningJobFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Jobs of this partner (id).")
    application = IdFilter(field_name="application_id", help_text="The job of this application (id).")
    kind = django_filters.ChoiceFilter(choices=JobKind.choices)
    state = django_filters.ChoiceFilter(choices=JobState.choices)

    class Meta:
        model = ProvisioningJob
        fields = ("partner", "application", "kind", "state")


class WebhookDeliveryFilterSet(django_filters.FilterSet):
    endpoint = IdFilter(field_name="endpoint_id", help_text="Deliveries to this endpoint (id).")
    partner = IdFilter(field_name="partner_id", help_text="Deliveries about this partner (id).")
    state = django_filters.ChoiceFilter(choices=DeliveryState.choices)
    event = django_filters.CharFilter(
        field_name="event", max_length=60, help_text="Event name, e.g. partner.provisioned."
    )

    class Meta:
        model = WebhookDelivery
        fields = ("endpoint", "partner", "state", "event")
