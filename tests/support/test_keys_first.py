"""Ticket pages and the KB search read keys first: the same rows in the same order as a plain read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext

from partnerhub.querysets import KeysFirstQuerySet
from support import selectors, services
from support.choices import Priority
from support.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(partner_a, partner_b, admin_a, rep_a, admin_b):
    made = []
    for n in range(12):
        actor = rep_a if n % 2 else admin_a
        priority = [Priority.LOW, Priority.NORMAL, Priority.HIGH][n % 3]
        made.append(
            services.ticket_open(
                partner=partner_a, actor=actor, subject=f"Case {n:02d}", description="Details.", priority=priority
            )
        )
    for n in range(3):
        services.ticket_open(partner=partner_b, actor=admin_b, subject=f"Other {n}", description="Details.")
    return made


def plain(queryset, k: slice) -> list:
    """The same slice read as Django reads it."""
    return list(super(KeysFirstQuerySet, queryset).__getitem__(k))


@pytest.mark.parametrize("k", [slice(0, 5), slice(0, 51), slice(3, 9), slice(10, 20), slice(None, 4)])
@pytest.mark.parametrize("order", [("-id",), ("priority", "-id"), ("subject",), ("sla_due", "-id")])
def test_a_page_read_keys_first_is_the_plain_page(tickets, admin_a, k, order):
    queryset = selectors.with_sla_due(
        Ticket.objects.for_user(admin_a).select_related("category", "requester_user", "assignee")
    ).order_by(*order)
    assert [t.pk for t in queryset[k]] == [t.pk for t in plain(queryset, k)]


def test_the_scope_holds_and_one_query_reads_the_page(tickets, admin_a, admin_b):
    queryset = Ticket.objects.for_user(admin_b).select_related("requester_user").order_by("-id")
    with CaptureQueriesContext(connection) as queries:
        page = list(queryset[:50])
    assert {t.partner_id for t in page} == {admin_b.memberships.get().partner_id}
    assert len(page) == 3
    assert len(queries) == 1
    assert "= ANY(ARRAY(SELECT" in queries[0]["sql"]
    # The joined rows are there without more queries
    with CaptureQueriesContext(connection) as more:
        names = [t.requester_user.username for t in page]
    assert names and not more.captured_queries


def test_plain_reads_stay_plain(tickets, admin_a):
    queryset = Ticket.objects.for_user(admin_a).select_related("requester_user").order_by("-id")
    for read in (
        lambda: queryset.first(),
        lambda: queryset[0],
        lambda: list(queryset.values("pk")[:5]),
        lambda: list(queryset.distinct()[:5]),
        lambda: list(Ticket.objects.order_by("-id")[:5]),  # no joins, nothing to gain
    ):
        with CaptureQueriesContext(connection) as queries:
            read()
        assert "ANY(ARRAY" not in queries[0]["sql"]


def test_annotations_read_for_the_page_only_and_right(tickets, admin_a):
    queryset = (
        Ticket.objects.for_user(admin_a)
        .annotate(label=Concat(F("subject"), Value(" / "), F("priority")))
        .order_by("-label", "-id")
    )
    page = list(queryset[2:7])
    assert [t.label for t in page] == [t.label for t in plain(queryset, slice(2, 7))]
    assert all(t.label == f"{t.subject} / {t.priority}" for t in page)


# The KB search ranks the readable matches' keys first, then reads the best ones in full --------------------------


def test_kb_search_is_the_best_of_every_readable_match_ranked(partner_a, partner_b, admin_a, admin_b):
    from django.contrib.postgres.search import SearchQuery, SearchRank

    from partnerhub.choices import StaffRole
    from support.models import Article
    from tests.factories import make_staff

    agent = make_staff(StaffRole.SUPPORT_AGENT, username="kb-agent", email="kb-agent@vendor.example")
    # Vendor articles of every relevance, ties included, and partners' own articles (B's must never show to A)
    for n in range(9):
        body = "<p>" + "firmware " * (n % 4) + "update notes</p>"
        services.article_save(actor=agent, title=f"Guide {n}", body=body, status="published")
    services.article_save(actor=agent, title="Firmware draft", body="<p>firmware</p>", status="draft")
    services.article_save(
        actor=admin_a, partner=partner_a, title="A's firmware", body="<p>firmware</p>", status="published"
    )
    services.article_save(
        actor=admin_b, partner=partner_b, title="B's firmware", body="<p>firmware</p>", status="published"
    )
    readable = selectors.article_list(user=admin_a, partner=partner_a)
    query = SearchQuery("firmware", config="english", search_type="websearch")
    every = list(
        Article.objects.filter(pk__in=readable.filter(search_vector=query).values("pk"))
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-id")
    )
    assert "B's firmware" not in {a.title for a in every} and "A's firmware" in {a.title for a in every}

    for limit in (1, 3, 5, 50):
        with CaptureQueriesContext(connection) as queries:
            found = selectors.search_articles(readable, "firmware", limit=limit)
        assert [a.pk for a in found] == [a.pk for a in every[:limit]]
        assert [a.rank for a in found] == [a.rank for a in every[:limit]]
        assert all("<mark>" in a.headline for a in found)
        assert len(queries) == 1
