"""Benchmark-only machinery for ``make bench`` (``scripts/bench.py``), mounted only with ``PARTNERHUB_BENCH=1``.

* ``QueryCountMiddleware`` reports how many SQL queries a request ran (``X-DB-Queries``) and how long they took
  in milliseconds (``X-DB-Time``). It is the outermost middleware, so session, authentication and throttle
  queries count too.
* The ceiling endpoints (``/api/bench/ceiling/<table>/`` for partners, memberships, tickets, articles, assets
  and fund requests) are bare DRF list views: the newest 50 rows of a table with the real endpoint's
  serializer, no authentication, no scoping, no throttle, no pagination. They are the fastest a list of that
  table can be on this stack, so a scoped endpoint's requests per second read as a share of its ceiling.
  Because they are deliberately unscoped, they answer loopback clients only (a direct connection, not through
  a proxy) and are absent unless the flag is set (``partnerhub/settings.py`` and ``partnerhub/urls.py``).
* ``prepare`` picks the benchmark's actors in the ``seed_scale`` data set, gives them API keys and sessions,
  and ``endpoints`` lists what ``make bench`` measures.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.http import Http404
from django.urls import path
from rest_framework import generics, permissions

from comarketing.api.serializers import AssetSerializer, FundRequestSerializer
from comarketing.models import Asset, FundRequest
from partnerhub.api.serializers import MembershipSerializer, PartnerSerializer
from partnerhub.models import Membership, Partner
from support.api.serializers import ArticleSerializer, TicketSerializer
from support.models import Article, Ticket
from support.selectors import PARTNER_TICKET_JOINS

QUERIES_HEADER = "X-DB-Queries"
DB_TIME_HEADER = "X-DB-Time"
CEILING_ROWS = 50
# A word in no partner, article or asset: the "no match" pages measure what a page costs before it has rows.
NO_MATCH = "zyxwvut"
BENCH_KEY_NAME = "make bench"
PARTNER_OPS_USERNAME = "bench-partner-ops"


# Query counting --------------------------------------------------------------------------------------------------


class _QueryCounter:
    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class QueryCountMiddleware:
    """Adds ``X-DB-Queries`` (SQL statements run for this request) and ``X-DB-Time`` (their milliseconds)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = _QueryCounter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response[QUERIES_HEADER] = str(counter.count)
        response[DB_TIME_HEADER] = f"{counter.seconds * 1000:.2f}"
        return response


# Ceiling endpoints -----------------------------------------------------------------------------------------------

LOOPBACK = frozenset({"127.0.0.1", "::1"})


class LoopbackOnly(permissions.BasePermission):
    """Direct loopback clients only: the ceiling shows unscoped rows, so nothing from the network reaches it."""

    def has_permission(self, request, view):
        meta = request.META
        if meta.get("REMOTE_ADDR") not in LOOPBACK or "HTTP_X_FORWARDED_FOR" in meta:
            raise Http404("Not found.")
        return True


class _CeilingView(generics.ListAPIView):
    authentication_classes = []
    permission_classes = [LoopbackOnly]
    throttle_classes = []
    filter_backends = []
    pagination_class = None
    schema = None  # not part of the API


class PartnerCeilingView(_CeilingView):
    """The newest 50 partners, serialized like ``GET /api/v1/partners/``, with nothing else in the way."""

    queryset = Partner.objects.select_related("tier", "parent", "brand").order_by("-id")[:CEILING_ROWS]
    serializer_class = PartnerSerializer


class MembershipCeilingView(_CeilingView):
    """The newest 50 memberships, serialized like ``GET /api/v1/memberships/``, with nothing else in the way."""

    queryset = Membership.objects.select_related("user", "partner").order_by("-id")[:CEILING_ROWS]
    serializer_class = MembershipSerializer


class TicketCeilingView(_CeilingView):
    """The newest 50 tickets, serialized like ``GET /api/v1/tickets/`` for a partner user (same joins)."""

    queryset = Ticket.objects.select_related(*PARTNER_TICKET_JOINS).order_by("-id")[:CEILING_ROWS]
    serializer_class = TicketSerializer


class ArticleCeilingView(_CeilingView):
    """The newest 50 knowledge-base articles, serialized like ``GET /api/v1/articles/``."""

    queryset = Article.objects.select_related("category").order_by("-id")[:CEILING_ROWS]
    serializer_class = ArticleSerializer


class AssetCeilingView(_CeilingView):
    """The newest 50 assets, serialized like ``GET /api/v1/assets/`` (same joins and tag prefetch)."""

    queryset = (Asset.objects.select_related("category", "current_version").prefetch_related("tags").order_by("-id"))[
        :CEILING_ROWS
    ]
    serializer_class = AssetSerializer


class FundRequestCeilingView(_CeilingView):
    """The newest 50 MDF requests, serialized like ``GET /api/v1/fund-requests/`` (same joins)."""

    queryset = FundRequest.objects.select_related(
        "allocation__program", "partner", "submitted_by", "decided_by", "claim"
    ).order_by("-id")[:CEILING_ROWS]
    serializer_class = FundRequestSerializer


app_name = "bench"
urlpatterns = [
    path("ceiling/partners/", PartnerCeilingView.as_view(), name="ceiling-partners"),
    path("ceiling/memberships/", MembershipCeilingView.as_view(), name="ceiling-memberships"),
    path("ceiling/tickets/", TicketCeilingView.as_view(), name="ceiling-tickets"),
    path("ceiling/articles/", ArticleCeilingView.as_view(), name="ceiling-articles"),
    path("ceiling/assets/", AssetCeilingView.as_view(), name="ceiling-assets"),
    path("ceiling/fund-requests/", FundRequestCeilingView.as_view(), name="ceiling-fund-requests"),
]


# Actors and endpoints --------------------------------------------------------------------------------------------


@dataclass
class Actors:
    """Who the benchmark acts as, with their credentials (API keys and session keys)."""

    manager_id: int
    manager_partner_count: int
    manager_token: str
    manager_session: str
    ops_token: str
    admin_id: int
    admin_token: str
    admin_session: str
    partner_id: int
    partner_host: str
    membership_id: int
    rep_id: int = 0
    rep_token: str = ""
    rep_session: str = ""
    other_partner_id: int = 0  # a partner outside the actors' own, whose rows must never show
    expect: dict[str, list[str]] = field(default_factory=dict)  # page key -> text its answer must contain
    refuse: dict[str, list[str]] = field(default_factory=dict)  # page key -> text it must not contain
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Endpoint:
    """One measured URL: how to call it, which table's ceiling it compares with, and whether it is a list."""

    name: str
    path: str
    headers: dict[str, str]
    table: str  # "partner", "membership", "ticket", "article", "asset" or "fund request"
    kind: str  # "list", "detail", "page" or "ceiling"
    rows: str = ""  # what the caller sees, for the report
    own_partner: int | None = None  # JSON lists: every row's "partner" must be this one
    expect: list[str] = field(default_factory=list)  # the answer must contain each of these
    refuse: list[str] = field(default_factory=list)  # ... and none of these (another partner's rows)

    def as_dict(self) -> dict:
        return asdict(self)


def _session_for(user) -> str:
    """A signed-in session for ``user``, stored like a real sign-in would store it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "partnerhub.auth_backends.PartnerAwareModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _fresh_key(user) -> str:
    """A new API key for ``user``; the previous benchmark keys are revoked so they never pile up."""
    from partnerhub import services
    from partnerhub.models import ApiToken

    for token in ApiToken.objects.filter(user=user, name=BENCH_KEY_NAME):
        services.api_token_revoke(actor=user, token=token)
    _, key = services.api_token_create(actor=user, user=user, name=BENCH_KEY_NAME, expires_in_days=1)
    return key


def _partner_ops_user():
    from partnerhub import services
    from partnerhub.choices import StaffRole
    from partnerhub.models import User

    user, created = User.objects.get_or_create(
        username=PARTNER_OPS_USERNAME,
        defaults={
            "email": f"{PARTNER_OPS_USERNAME}@vendor.example",
            "is_staff": True,
            "first_name": "Bench",
            "last_name": "Operations",
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    services.staff_roles_set(actor=None, user=user, role_values=[StaffRole.PARTNER_OPERATIONS])
    return User.objects.get(pk=user.pk)


def prepare() -> Actors:
    """Pick the actors in the ``seed_scale`` data and give them fresh API keys and sessions.

    The channel manager is the first seeded one (who manages the first partners); the partner admin is the
    admin of the first active partner in that manager's book, so the detail pages are in everybody's scope.
    """
    from django.conf import settings

    from partnerhub import access, scale
    from partnerhub.choices import MembershipRole, PartnerStatus
    from partnerhub.models import PartnerUserObjectPermission, User

    grants = PartnerUserObjectPermission.objects.filter(
        permission__codename="manage_partner", user__username__startswith=f"{scale.PREFIX}-cm-"
    )
    first = grants.order_by("user_id").values_list("user_id", flat=True).first()
    if first is None:
        raise RuntimeError("No seed_scale data: run `manage.py seed_scale` first.")
    manager = User.objects.get(pk=first)
    managed = access.managed_partners(manager)
    partner = managed.filter(status=PartnerStatus.ACTIVE).select_related("brand").order_by("id").first()
    if partner is None:
        raise RuntimeError("The first channel manager manages no active partner.")
    admin = (
        Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN, is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
        .user
    )
    member = Membership.objects.filter(partner=partner).exclude(user=admin).order_by("id").first()
    member = member or Membership.objects.get(partner=partner, user=admin)
    rep = (
        Membership.objects.filter(partner=partner, role=MembershipRole.REP, is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    rep = rep.user if rep else admin
    other = Partner.objects.exclude(pk=partner.pk).order_by("id").first()
    expect, refuse = _markers(admin=admin, rep=rep, partner=partner, other=other)
    ops = _partner_ops_user()
    return Actors(
        manager_id=manager.pk,
        manager_partner_count=managed.count(),
        manager_token=_fresh_key(manager),
        manager_session=_session_for(manager),
        ops_token=_fresh_key(ops),
        admin_id=admin.pk,
        admin_token=_fresh_key(admin),
        admin_session=_session_for(admin),
        partner_id=partner.pk,
        partner_host=f"{partner.brand.subdomain}.{settings.PORTAL_BASE_DOMAIN}",
        membership_id=member.pk,
        rep_id=rep.pk,
        rep_token=_fresh_key(rep),
        rep_session=_session_for(rep),
        other_partner_id=other.pk if other else 0,
        expect=expect,
        refuse=refuse,
        counts=data_counts(),
    )


def _markers(*, admin, rep, partner, other) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What each feature page must show (a link to the actor's first row, found with the page's own selector
    and order) and must not show (the same kind of row of another partner)."""
    from django.db.models import F
    from django.urls import reverse

    from comarketing import selectors as marketing
    from support import scale as support_scale
    from support import selectors as support

    expect: dict[str, list[str]] = {}
    refuse: dict[str, list[str]] = {}

    def link(name: str, obj) -> list[str]:
        return [f'href="{reverse(name, args=[obj.pk])}"'] if obj is not None else []

    due_first = (F("sla_due").asc(nulls_last=True), "-id")  # the desk's default order (support.views.SORTS)
    desk = support.with_sla_due(support.desk(user=rep, partner=partner, queue="open")).order_by(*due_first)
    expect["desk"] = link("support:ticket", desk.first())
    theirs = Ticket.objects.filter(partner=other).order_by("-id").first() if other else None
    refuse["desk"] = link("support:ticket", theirs)

    found = support.search_articles(support.article_list(user=admin, partner=partner), support_scale.KB_SEARCH, limit=1)
    expect["kb"] = link("support:article", found[0] if found else None)
    private = Article.objects.filter(partner=other, status="published").order_by("-id").first() if other else None
    refuse["kb"] = link("support:article", private)

    from comarketing import scale as marketing_scale

    visible = marketing.asset_list(user=admin, partner=partner)
    expect["assets"] = link("comarketing:asset", marketing.search_assets(visible, marketing_scale.ASSET_SEARCH).first())
    hidden = marketing.live_assets().filter(audience="partners").exclude(pk__in=visible.values("pk"))
    refuse["assets"] = link("comarketing:asset", marketing.search_assets(hidden, marketing_scale.ASSET_SEARCH).first())

    requests = FundRequest.objects.order_by("-submitted_at", "-id")
    expect["funds"] = link("comarketing:request", requests.filter(partner=partner).first())
    refuse["funds"] = link("comarketing:request", requests.filter(partner=other).first() if other else None)
    return expect, refuse


def data_counts() -> dict[str, int]:
    from django.contrib.auth.models import Group

    from comarketing.models import AssetVersion, FundAllocation, FundClaim, LedgerEntry
    from partnerhub.models import PartnerGroupObjectPermission, PartnerUserObjectPermission, User
    from support.models import Customer, TicketMessage

    return {
        "partners": Partner.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "groups": Group.objects.count(),
        "partner group grants": PartnerGroupObjectPermission.objects.count(),
        "partner user grants": PartnerUserObjectPermission.objects.count(),
        "tickets": Ticket.objects.count(),
        "ticket messages": TicketMessage.objects.count(),
        "customers": Customer.objects.count(),
        "articles": Article.objects.count(),
        "assets": Asset.objects.count(),
        "asset versions": AssetVersion.objects.count(),
        "fund allocations": FundAllocation.objects.count(),
        "fund requests": FundRequest.objects.count(),
        "fund claims": FundClaim.objects.count(),
        "ledger entries": LedgerEntry.objects.count(),
    }


def endpoints(actors: Actors) -> list[Endpoint]:
    """What ``make bench`` measures, in report order."""
    token = {
        "manager": {"Authorization": f"Token {actors.manager_token}"},
        "ops": {"Authorization": f"Token {actors.ops_token}"},
        "admin": {"Authorization": f"Token {actors.admin_token}"},
    }
    token["rep"] = {"Authorization": f"Token {actors.rep_token}"}
    portal = {"Host": actors.partner_host, "Cookie": f"sessionid={actors.admin_session}"}
    rep_portal = {"Host": actors.partner_host, "Cookie": f"sessionid={actors.rep_session}"}
    console = {"Cookie": f"sessionid={actors.manager_session}"}
    partners = actors.counts.get("partners", 0)
    from comarketing.scale import ASSET_SEARCH
    from support.scale import KB_SEARCH

    def marked(key: str) -> dict:
        return {"expect": actors.expect.get(key, []), "refuse": actors.refuse.get(key, [])}

    tickets, articles = actors.counts.get("tickets", 0), actors.counts.get("articles", 0)
    assets, requests = actors.counts.get("assets", 0), actors.counts.get("fund requests", 0)
    features = [
        Endpoint(
            "Portal ticket desk, partner rep",
            "/support/",
            rep_portal,
            "ticket",
            "list",
            f"own partner's open tickets of {tickets:,}",
            **marked("desk"),
        ),
        Endpoint(
            "API ticket list, partner admin",
            "/api/v1/tickets/",
            token["admin"],
            "ticket",
            "list",
            f"own partner's tickets of {tickets:,}",
            own_partner=actors.partner_id,
        ),
        Endpoint(
            f"Portal KB search “{KB_SEARCH}”, partner admin",
            f"/kb/?q={KB_SEARCH}",
            portal,
            "article",
            "list",
            f"first 20 ranked of the articles it may read, of {articles:,}",
            **marked("kb"),
        ),
        Endpoint(
            "Portal KB search, no match (fixed cost), partner admin",
            f"/kb/?q={NO_MATCH}",
            portal,
            "article",
            "page",
            "a word no article has: the page without results",
            expect=[f"No articles match “{NO_MATCH}”"],
        ),
        Endpoint(
            f"Portal asset search “{ASSET_SEARCH}”, partner admin",
            f"/marketing/assets/?q={ASSET_SEARCH}",
            portal,
            "asset",
            "list",
            f"live assets shared with it, of {assets:,}",
            **marked("assets"),
        ),
        Endpoint(
            "Portal asset search, no match (fixed cost), partner admin",
            f"/marketing/assets/?q={NO_MATCH}",
            portal,
            "asset",
            "page",
            "a word no asset has: the page without results",
            expect=[f"No assets match “{NO_MATCH}”"],
        ),
        Endpoint(
            f"API asset list ?q={ASSET_SEARCH}, partner admin",
            f"/api/v1/assets/?q={ASSET_SEARCH}",
            token["admin"],
            "asset",
            "list",
            f"live assets shared with it, of {assets:,}",
        ),
        Endpoint(
            "Portal MDF funds page, partner admin",
            "/marketing/funds/",
            portal,
            "fund request",
            "list",
            f"balance, allocations and own requests of {requests:,}",
            **marked("funds"),
        ),
    ]
    ceilings = [
        Endpoint("Ceiling: 50 tickets, bare DRF", "/api/bench/ceiling/tickets/", {}, "ticket", "ceiling"),
        Endpoint("Ceiling: 50 articles, bare DRF", "/api/bench/ceiling/articles/", {}, "article", "ceiling"),
        Endpoint("Ceiling: 50 assets, bare DRF", "/api/bench/ceiling/assets/", {}, "asset", "ceiling"),
        Endpoint(
            "Ceiling: 50 fund requests, bare DRF", "/api/bench/ceiling/fund-requests/", {}, "fund request", "ceiling"
        ),
    ]
    return [
        Endpoint(
            "API partner list, channel manager",
            "/api/v1/partners/",
            token["manager"],
            "partner",
            "list",
            f"{actors.manager_partner_count} of {partners:,} partners",
        ),
        Endpoint(
            "API partner list, partner operations",
            "/api/v1/partners/",
            token["ops"],
            "partner",
            "list",
            f"all {partners:,} partners",
        ),
        Endpoint(
            "API membership list, partner admin",
            "/api/v1/memberships/",
            token["admin"],
            "membership",
            "list",
            "own partner's team",
        ),
        Endpoint("Portal team page, partner admin", "/team/", portal, "membership", "list", "own partner's team"),
        Endpoint("Console partner list, channel manager", "/console/partnerhub/partner/", console, "partner", "list"),
        Endpoint(
            "Console partner list, no match (fixed cost), channel manager",
            f"/console/partnerhub/partner/?q={NO_MATCH}",
            console,
            "partner",
            "page",
            "a search no partner matches: the change list without rows",
            expect=["0 partners"],
        ),
        Endpoint(
            "API partner detail, channel manager",
            f"/api/v1/partners/{actors.partner_id}/",
            token["manager"],
            "partner",
            "detail",
        ),
        Endpoint(
            "API membership detail, partner admin",
            f"/api/v1/memberships/{actors.membership_id}/",
            token["admin"],
            "membership",
            "detail",
        ),
        Endpoint("Portal home, partner admin", "/", portal, "membership", "page"),
        *features,
        Endpoint("Ceiling: 50 partners, bare DRF", "/api/bench/ceiling/partners/", {}, "partner", "ceiling"),
        Endpoint("Ceiling: 50 memberships, bare DRF", "/api/bench/ceiling/memberships/", {}, "membership", "ceiling"),
        *ceilings,
    ]
