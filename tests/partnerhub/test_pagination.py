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


# A capped count: at most count_limit rows are counted; pages past the cap are counted in full ----------------


def walk(per_page, limit):
    """Every page from the first by its "next", as (names, number, has_next, count, capped)."""
    pages, number = [], 1
    while True:
        page = Paginator(listed(), per_page, count_limit=limit).get_page(str(number))
        pages.append(([p.name for p in page], page.number, page.has_next(), page.paginator.count_capped))
        if not page.has_next():
            return pages
        number = page.next_page_number()


@pytest.mark.parametrize("per_page, limit", [(2, 3), (2, 4), (3, 4), (1, 5), (3, 6), (2, 6), (3, 7), (10, 3)])
def test_a_capped_count_reaches_every_row_by_next(partners, per_page, limit):
    # Every row once, in order, following "next" from the first page: the cap never hides a page
    pages = walk(per_page, limit)
    names = [name for page in pages for name in page[0]]
    assert names == [p.name for p in listed()]
    # Pages are the same rows as Django's
    django = DjangoPaginator(listed(), per_page)
    assert [page[0] for page in pages] == [[p.name for p in django.page(n)] for n in django.page_range]
    # Capped only while the page lies within the cap and the list is longer than it
    for _names, number, _has_next, capped in pages:
        assert capped == (number * per_page <= limit and len(partners) > limit)


def test_a_capped_count_counts_one_row_past_the_cap_without_ordering(partners):
    with CaptureQueriesContext(connection) as queries:
        paginator = Paginator(listed(), 2, count_limit=4)
        page = paginator.get_page("2")
    assert paginator.count == 5 and paginator.count_capped is True
    assert [p.name for p in page] == ["Paged 02", "Paged 03"] and page.has_next()
    counts = [q["sql"] for q in queries if "COUNT" in q["sql"]]
    assert len(counts) == 1 and "LIMIT 5" in counts[0] and "ORDER BY" not in counts[0]


def test_a_list_within_the_cap_is_counted_exactly(partners):
    paginator = Paginator(listed(), 3, count_limit=100)
    page = paginator.get_page("2")
    assert (paginator.count, paginator.num_pages, paginator.count_capped) == (7, 3, False)
    assert page.has_next()


def test_a_page_past_the_cap_is_counted_in_full(partners):
    paginator = Paginator(listed(), 2, count_limit=3)
    page = paginator.get_page("3")
    assert (paginator.count, paginator.num_pages, paginator.count_capped) == (7, 4, False)
    assert [p.name for p in page] == ["Paged 04", "Paged 05"] and page.has_next()


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_page_by_number_is_djangos_page_with_a_cap(partners, number):
    ours = Paginator(listed(), 2, count_limit=3).page(number)
    django = DjangoPaginator(listed(), 2).page(number)
    assert [p.name for p in ours] == [p.name for p in django] and ours.has_next() == django.has_next()
