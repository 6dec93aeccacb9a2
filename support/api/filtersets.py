"""django-filter FilterSets of the support API.

Filters narrow a queryset the access layer (or a selector) has already scoped; they never widen it. Ids are
compared as numbers without a lookup (``IdFilter``), so another partner's id and a missing one both give an
empty list; bad values (``partner=abc``, ``escalated=maybe``, ``status=lost``) are 400s naming the filter.
"""

from __future__ import annotations

import django_filters
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q

from partnerhub import access
from partnerhub.api.filtersets import IdFilter, StrictBooleanFilter
from support import sla
from support.choices import ArticleAudience, ArticleStatus, Priority, TicketStatus
from support.models import Article, Customer, SlaPolicy, Ticket


def visible_clock_scopes(user) -> tuple[str, ...]:
    """Partner users see (and are measured by) the first line's clocks; vendor staff see the escalation's too."""
    if access.is_vendor_staff(user):
        return tuple(SlaPolicy.Scope.values)
    return (SlaPolicy.Scope.FIRST_LINE,)


class TicketFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Tickets of this partner (id).")
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    assignee = IdFilter(field_name="assignee_id", help_text="Tickets assigned to this first-line agent (user id).")
    category = IdFilter(field_name="category_id", help_text="Tickets in this category (id).")
    escalated = StrictBooleanFilter(method="filter_escalated", help_text="Escalated to the vendor (ever).")
    breaching = StrictBooleanFilter(
        method="filter_breaching",
        help_text="Open tickets whose SLA clock is due within 4 hours or overdue (true), or not (false).",
    )
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Full-text search in subject and description (quotes, OR, -word), or a reference like T-000123.",
    )

    class Meta:
        model = Ticket
        fields = ("partner", "status", "priority", "assignee", "category", "escalated", "breaching", "q")

    def filter_escalated(self, queryset, name, value):
        return queryset.filter(escalated_at__isnull=not value)

    def filter_breaching(self, queryset, name, value):
        condition = sla.breaching(visible_clock_scopes(self.request.user))
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        reference = value.upper().removeprefix("T-")
        if reference.isdigit() and len(reference) <= 12:
            return queryset.filter(pk=int(reference))
        return queryset.filter(search_vector=SearchQuery(value, config="english", search_type="websearch"))


class CustomerFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Customers of this partner (id).")
    verified = StrictBooleanFilter(method="filter_verified", help_text="Confirmed their e-mail address.")
    q = django_filters.CharFilter(method="filter_q", max_length=100, help_text="Search e-mail, name and company.")

    class Meta:
        model = Customer
        fields = ("partner", "verified", "q")

    def filter_verified(self, queryset, name, value):
        return queryset.filter(email_verified_at__isnull=not value)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(email__icontains=value) | Q(name__icontains=value) | Q(company__icontains=value))


class ArticleFilterSet(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", help_text="Private articles of this partner (id).")
    vendor = StrictBooleanFilter(method="filter_vendor", help_text="Vendor articles (true) or partners' (false).")
    category = IdFilter(field_name="category_id", help_text="Articles in this category (id).")
    status = django_filters.ChoiceFilter(choices=ArticleStatus.choices)
    audience = django_filters.ChoiceFilter(choices=ArticleAudience.choices)

    class Meta:
        model = Article
        fields = ("partner", "vendor", "category", "status", "audience")

    def filter_vendor(self, queryset, name, value):
        return queryset.filter(partner__isnull=value)
