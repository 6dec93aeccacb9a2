"""The portal's paginator: a list that fits on its first page is read without ``COUNT(*)``; the pages are Django's."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator as DjangoPaginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerhub.models import Partner
from partnerhub.pagination import Paginator
from tests.factories import make_partner


@pytest.fixture
def partners(db):
    return [make_partner(f"Paged {n:02d}") for n in range(7)]


def listed():
    return Partner.objects.filter(name__startswith="Paged").order_by("name")


def page_facts(page):
    return (
        [p.name for p in page],
        page.number,
        page.paginator.count,
        page.paginator.num_pages,
        page.has_next(),
        page.has_previous(),
    )


@pytest.mark.parametrize("number", [None, "", "1", "0", "-2", "abc", "1.0", "2", "3", "99"])
@pytest.mark.parametrize("per_page", [3, 7, 10])
def test_same_pages_as_django(partners, number, per_page):
    ours = Paginator(listed(), per_page).get_page(number)
    django = DjangoPaginator(listed(), per_page).get_page(number)
    assert page_facts(ours) == page_facts(django)


def test_a_list_on_one_page_is_read_in_one_query(partners):
    with CaptureQueriesContext(connection) as queries:
        page = Paginator(listed(), 10).get_page(None)
        facts = page_facts(page)
    assert facts[2] == 7 and len(facts[0]) == 7
    assert len(queries) == 1 and "COUNT" not in queries[0]["sql"]


def test_a_longer_list_is_counted(partners):
    with CaptureQueriesContext(connection) as queries:
        page = Paginator(listed(), 3).get_page("1")
        facts = page_facts(page)
    assert facts[2] == 7 and facts[3] == 3 and facts[4] is True
    assert any("COUNT" in q["sql"] for q in queries)


def test_an_empty_list_is_one_empty_page(db):
    with CaptureQueriesContext(connection) as queries:
        page = Paginator(Partner.objects.none(), 10).get_page(None)
        facts = page_facts(page)
    assert facts == ([], 1, 0, 1, False, False)
    assert len(queries) <= 1
