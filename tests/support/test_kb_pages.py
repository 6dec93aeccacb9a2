"""The knowledge base a page at a time: search results page by page in rank order with an honest count, every
article once (tiers and grants are subqueries, not joins), and a partner admin's own articles, drafts
included, all reachable from the portal while the side card shows the latest few; the help center pages its
search results the same way."""

from __future__ import annotations

import re

import pytest
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partnerhub import services as core_services
from partnerhub.choices import MembershipRole, StaffRole
from support import selectors, services, views
from support.choices import ArticleAudience, ArticleStatus
from support.models import Article, Category
from tests.conftest import browser_for
from tests.factories import TierFactory, make_member, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(db):
    return make_staff(StaffRole.PARTNER_OPERATIONS, username="wes-writer")


def publish(writer, title: str, body: str, **fields) -> Article:
    return services.article_save(
        actor=writer, title=title, body=f"<p>{body}</p>", status=ArticleStatus.PUBLISHED, **fields
    )


@pytest.fixture
def library(writer, partner_b):
    """45 vendor articles on "router", ranked apart by how often they say it, and noise on other words."""
    made = []
    for n in range(45):
        times = 1 + n % 7
        made.append(publish(writer, f"Guide {n:02d}", " ".join(["router"] * times) + f" setup step {n}."))
    for n in range(5):
        publish(writer, f"Phones {n}", "Voicemail and call forwarding.")
    # Partner B's own article on the same word: never among partner A's results.
    admin_b = make_member(partner_b, MembershipRole.ADMIN, username="bea-admin")
    publish(admin_b, "Router notes of partner B", "router router router", partner=partner_b)
    return made


def reference_order(user, partner, text: str) -> list[int]:
    """Every match the partner may read, ranked by a plain statement: the rank, then the newest key."""
    query = SearchQuery(text, config="english", search_type="websearch")
    readable = selectors.article_list(user=user, partner=partner).values("pk")
    return list(
        Article.objects.filter(pk__in=readable, search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-id")
        .values_list("pk", flat=True)
    )


def test_search_results_come_a_page_at_a_time_in_rank_order(library, rep_a, partner_a):
    client = browser_for(rep_a)
    expected = reference_order(rep_a, partner_a, "router")
    assert len(expected) == 45
    seen = []
    for number, size in ((1, 20), (2, 20), (3, 5)):
        response = client.get("/kb/", {"q": "router", "page": number})
        page = response.context["page"]
        assert [a.pk for a in page] == expected[(number - 1) * 20 : (number - 1) * 20 + size]
        assert all("<mark>router</mark>" in a.headline for a in page)
        html = response.content.decode()
        assert "45 articles for “router”" in html
        assert f"Page {number} of 3" in html
        assert (f"page={number + 1}" in html) == (number < 3)
        assert "Router notes of partner B" not in html
        seen += [a.pk for a in page]
    assert seen == expected  # every match, once, in order


def test_a_page_past_the_last_shows_the_last(library, rep_a, partner_a):
    page = browser_for(rep_a).get("/kb/", {"q": "router", "page": 99}).context["page"]
    assert page.number == 3 and len(page) == 5


def test_a_common_word_is_counted_up_to_the_cap(library, rep_a, monkeypatch):
    monkeypatch.setattr(views, "KB_COUNT_LIMIT", 30)
    response = browser_for(rep_a).get("/kb/", {"q": "router"})
    html = response.content.decode()
    assert "More than 30 articles for “router”" in html
    assert "Page 1 of" not in html and "page=2" in html
    # A page past the cap is counted in full, so its numbers stay exact
    last = browser_for(rep_a).get("/kb/", {"q": "router", "page": 3})
    assert "Page 3 of 3" in last.content.decode()


def test_a_search_reads_the_same_number_of_statements_for_few_and_many_matches(library, rep_a, writer):
    client = browser_for(rep_a)
    client.get("/kb/", {"q": "voicemail"})  # warm the session and caches

    def statements(q):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/kb/", {"q": q}).status_code == 200
        return len(queries)

    few, many = statements("voicemail"), statements("router")  # 5 matches (one page), 45 (three pages)
    assert many - few == 1  # the count: the first page of a short list is its own count
    for n in range(30):
        publish(writer, f"More router {n}", "router")
    assert statements("router") == many


def test_search_ranks_each_match_in_the_pass_that_finds_it(library, rep_a, partner_a):
    """No DISTINCT and no second read of the matches by key: the audience rule's tiers and grants are subqueries."""
    articles = selectors.article_list(user=rep_a, partner=partner_a)
    with CaptureQueriesContext(connection) as queries:
        found = selectors.search_articles(articles, "router", limit=5)
    assert [a.pk for a in found] == reference_order(rep_a, partner_a, "router")[:5]
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "DISTINCT" not in sql.upper()
    assert '"support_article_tiers"' not in sql.split("FROM", 1)[1].split("WHERE", 1)[0]  # not joined
    assert sql.count("ts_rank") == 2  # the keys of the page, then those rows in the same order


def test_an_article_for_two_of_a_users_tiers_is_listed_once(writer, partner_a, partner_b):
    gold, silver = TierFactory(name="Gold"), TierFactory(name="Silver")
    core_services.partner_update(actor=None, partner=partner_a, tier=gold)
    core_services.partner_update(actor=None, partner=partner_b, tier=silver)
    both = make_member(partner_a, MembershipRole.REP, username="two-hats")
    core_services.membership_add(actor=None, partner=partner_b, user=both, role=MembershipRole.REP)
    article = publish(writer, "Router tiers", "router", audience=ArticleAudience.TIERS, tiers=[gold, silver])
    readable = selectors.article_list(user=both)  # every partner of the user, as the API reads it
    assert list(readable.filter(pk=article.pk).values_list("pk", flat=True)) == [article.pk]
    assert [a.pk for a in selectors.search_articles(readable, "router")] == [article.pk]
    assert "DISTINCT" not in str(readable.query).upper()


@pytest.fixture
def own_articles(admin_a, partner_a):
    """Eight articles of partner A's own in every status, the newest last."""
    made = []
    statuses = [ArticleStatus.DRAFT, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED]
    for n in range(8):
        made.append(
            services.article_save(
                actor=admin_a, partner=partner_a, title=f"Our note {n}", body="<p>Internal.</p>", status=statuses[n % 3]
            )
        )
    return made


def test_the_side_card_shows_the_latest_and_every_own_article_is_listed(own_articles, admin_a):
    client = browser_for(admin_a)
    response = client.get("/kb/")
    latest = [a.title for a in response.context["own_articles"]]
    assert latest == [f"Our note {n}" for n in (7, 6, 5, 4, 3)]
    html = response.content.decode()
    assert 'href="?mine=1"' in html
    listed = client.get("/kb/", {"mine": "1"})
    page = listed.context["page"]
    assert [a.title for a in page] == [f"Our note {n}" for n in range(7, -1, -1)]
    text = listed.content.decode()
    assert "Your team's articles" in text
    assert text.count('class="badge badge--draft"') >= 3  # drafts and archived ones too, with their status
    assert 'class="badge badge--archived"' in text


def test_own_articles_filter_by_category_and_page(own_articles, admin_a, partner_a, monkeypatch):
    guides = Category.objects.create(name="Guides", slug="guides")
    services.article_save(actor=admin_a, article=own_articles[0], category=guides)
    client = browser_for(admin_a)
    assert [a.title for a in client.get("/kb/", {"mine": "1", "category": "guides"}).context["page"]] == ["Our note 0"]
    monkeypatch.setattr(views, "KB_PAGE_SIZE", 3)
    second = client.get("/kb/", {"mine": "1", "page": 2})
    assert len(second.context["page"]) == 3
    assert "mine=1&amp;page=3" in second.content.decode()  # the next page stays on the own list


def test_only_a_partners_admins_list_its_own_articles(own_articles, rep_a, partner_b):
    # A rep gets the readable list: published articles only, no drafts
    rep_page = browser_for(rep_a).get("/kb/", {"mine": "1"})
    assert not rep_page.context["mine"]
    assert {a.status for a in rep_page.context["page"]} == {ArticleStatus.PUBLISHED}
    # Partner B's admin lists partner B's own articles: none of partner A's
    admin_b = make_member(partner_b, MembershipRole.ADMIN, username="bo-admin")
    other = browser_for(admin_b).get("/kb/", {"mine": "1"})
    assert other.context["mine"] and list(other.context["page"]) == []
    assert "Our note" not in other.content.decode()
    assert "Your team has written no articles yet" in other.content.decode()


def test_article_search_refuses_reads_that_are_not_pages(library, rep_a, partner_a):
    search = selectors.ArticleSearch(selectors.article_list(user=rep_a, partner=partner_a), "router")
    assert search.count() == 45 and search.count_up_to(10) == 10
    with pytest.raises(TypeError):
        search[3]
    with pytest.raises(ValueError):
        search[5:]
    assert re.search(r"router", search[0:1][0].headline)


@pytest.fixture
def own_cache(settings):
    """Host lookups in a cache of this test's own: the shared Redis is flushed by other test runs at any moment."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kb"}}
    from django.core.cache import cache

    cache.clear()


def test_the_help_center_pages_its_search_results_too(own_cache, library, partner_a, writer):
    hidden = publish(writer, "Router notes for partners only", "router router router", customer_visible=False)
    visitor = Client(HTTP_HOST=f"{partner_a.brand.subdomain}.localhost")
    seen = []
    for number in (1, 2, 3):
        response = visitor.get("/help/", {"q": "router", "page": number})
        html = response.content.decode()
        assert "45 articles for “router”" in html
        assert f"Page {number} of 3" in html
        assert (f"page={number + 1}" in html) == (number < 3)
        seen += [a.pk for a in response.context["results"]]
        assert all("<mark>router</mark>" in a.headline for a in response.context["results"])
    assert len(seen) == len(set(seen)) == 45
    assert hidden.pk not in seen  # customers never see partner-only articles
    # Without a search, the landing page shows the newest few, not pages
    landing = visitor.get("/help/")
    assert len(landing.context["results"]) == 12 and "page" not in landing.context
