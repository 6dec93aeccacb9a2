"""The benchmark machinery of ``make bench`` on a tiny data set, and the access-layer query shape it led to.

* Without ``PARTNERHUB_BENCH`` neither the ceiling endpoints nor the query-count header exist.
* With it, the ceiling lists the newest rows of a table exactly as the real endpoint serializes them, only
  to direct loopback clients, and every response says how many SQL queries it ran.
* ``bench.prepare`` finds its actors in ``seed_scale`` data and every endpoint the benchmark measures
  answers 200 with their credentials (the full benchmark itself is ``make bench``, not part of the tests).
* ``access._granted_partners`` returns exactly guardian's rows, in the UNION shape that keeps scoped lists
  from walking whole tables.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches
from guardian.shortcuts import assign_perm, get_objects_for_user

from comarketing import scale as comarketing_scale
from partnerhub import access, bench, scale, services
from partnerhub.choices import MembershipRole, PartnerStatus
from partnerhub.models import Membership, Partner
from support import scale as support_scale
from tests.factories import UserFactory, make_member, make_partner, make_staff

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CEILING_PARTNERS = "/api/bench/ceiling/partners/"
CEILING_MEMBERSHIPS = "/api/bench/ceiling/memberships/"


def _reload_urls() -> None:
    import partnerhub.urls

    importlib.reload(partnerhub.urls)
    clear_url_caches()


@pytest.fixture
def bench_mode(settings):
    """The server as ``make bench`` runs it: flag on, query counter outermost, ceiling URLs mounted."""
    settings.PARTNERHUB_BENCH = True
    settings.MIDDLEWARE = ["partnerhub.bench.QueryCountMiddleware", *settings.MIDDLEWARE]
    _reload_urls()
    yield
    settings.PARTNERHUB_BENCH = False
    _reload_urls()


# Without the flag -----------------------------------------------------------------------------------------------


def test_without_the_flag_there_is_no_ceiling_and_no_query_header(client, partner_a, admin_a, api_as):
    assert client.get(CEILING_PARTNERS).status_code == 404
    assert client.get(CEILING_MEMBERSHIPS).status_code == 404

    response = api_as(admin_a).get("/api/v1/memberships/")

    assert response.status_code == 200
    assert bench.QUERIES_HEADER not in response.headers


@pytest.mark.parametrize("flag", ["true", "false"])
def test_the_settings_mount_the_middleware_and_urls_only_with_the_flag(flag):
    # A fresh interpreter reads the real settings and URL map, as gunicorn does.
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import Resolver404, resolve\n"
        "mounted = []\n"
        "for table in ('partners', 'memberships', 'tickets', 'articles', 'assets', 'fund-requests'):\n"
        "    path = f'/api/bench/ceiling/{table}/'\n"
        "    try:\n"
        "        mounted.append(resolve(path).url_name)\n"
        "    except Resolver404:\n"
        "        pass\n"
        "print(settings.MIDDLEWARE[0], ','.join(mounted) or '-')\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        "PARTNERHUB_ENV": "development",
        "PARTNERHUB_BENCH": flag,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first_middleware, mounted = result.stdout.split()
    if flag == "true":
        assert first_middleware == "partnerhub.bench.QueryCountMiddleware"
        assert mounted == (
            "ceiling-partners,ceiling-memberships,ceiling-tickets,ceiling-articles,ceiling-assets,ceiling-fund-requests"
        )
    else:
        assert first_middleware != "partnerhub.bench.QueryCountMiddleware"
        assert mounted == "-"


# With the flag --------------------------------------------------------------------------------------------------


def test_the_ceiling_lists_the_newest_rows_like_the_real_endpoint(bench_mode, client, partner_ops, api_as):
    partners = [make_partner(f"Ceiling {i}") for i in range(3)]
    real = api_as(partner_ops).get("/api/v1/partners/").json()["results"]

    response = client.get(CEILING_PARTNERS)

    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == sorted((p.pk for p in partners), reverse=True)
    assert rows == real  # same serializer, same newest-first order
    assert response[bench.QUERIES_HEADER] == "1"
    assert float(response[bench.DB_TIME_HEADER]) >= 0


def test_the_ceiling_stops_at_fifty_rows(bench_mode, client, partner_a):
    for _ in range(bench.CEILING_ROWS + 2):
        make_member(partner_a)

    rows = client.get(CEILING_MEMBERSHIPS).json()

    assert len(rows) == bench.CEILING_ROWS
    newest = Membership.objects.order_by("-id").values_list("id", flat=True)[: bench.CEILING_ROWS]
    assert [row["id"] for row in rows] == list(newest)
    assert set(rows[0]) == {"id", "partner", "user", "role", "title", "is_active", "created_at", "deactivated_at"}


@pytest.mark.parametrize(
    "extra",
    [{"REMOTE_ADDR": "203.0.113.9"}, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}],
    ids=["remote-client", "through-a-proxy"],
)
def test_the_ceiling_answers_direct_loopback_clients_only(bench_mode, client, partner_a, extra):
    assert client.get(CEILING_PARTNERS, **extra).status_code == 404
    assert client.get(CEILING_PARTNERS).status_code == 200


def test_the_query_header_counts_every_query_of_the_request(bench_mode, partner_a, admin_a, api_as):
    api = api_as(admin_a)
    api.get("/api/v1/memberships/")  # the key's first use is recorded once; later requests only read
    with CaptureQueriesContext(connection) as one_member:
        first = api.get("/api/v1/memberships/")
    for _ in range(5):
        make_member(partner_a)

    with CaptureQueriesContext(connection) as six_members:
        second = api.get("/api/v1/memberships/")

    assert len(second.json()["results"]) == 6
    # Token, permission and list queries all count, and more rows do not mean more queries.
    assert int(first[bench.QUERIES_HEADER]) == len(one_member.captured_queries) >= 3
    assert int(second[bench.QUERIES_HEADER]) == len(six_members.captured_queries) == len(one_member.captured_queries)


def _bench_script():
    """``scripts/bench.py`` as a module, for its check of an endpoint's answer."""
    if "bench_script" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_script", ROOT / "scripts" / "bench.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return sys.modules["bench_script"]


def test_every_benchmarked_endpoint_answers_with_the_prepared_actors(bench_mode, client):
    ctx = scale.seed_core(partners=4, users_per_partner=3, managers=1, partners_per_manager=3, log=lambda _: None)
    ctx.factor = 0.001  # 200 tickets, 50 assets, 60 fund requests
    support_scale.seed(ctx)
    comarketing_scale.seed(ctx)
    script = _bench_script()

    actors = bench.prepare()

    assert actors.manager_partner_count == 3
    partner = Partner.objects.get(pk=actors.partner_id)
    assert partner.status == PartnerStatus.ACTIVE
    assert Membership.objects.filter(partner=partner, user_id=actors.admin_id, role=MembershipRole.ADMIN).exists()
    assert Membership.objects.get(pk=actors.membership_id).partner_id == partner.pk
    assert actors.counts["partners"] == 4 and actors.counts["memberships"] == 12
    assert actors.counts["tickets"] == 200 and actors.counts["assets"] == 50
    assert Membership.objects.get(partner=partner, user_id=actors.rep_id).role == MembershipRole.REP
    # Every feature page has a row of the actor's partner to find, and one of another partner not to show.
    # (In so small a library there may be no asset shared only with others that matches the search.)
    for page in ("desk", "kb", "assets", "funds"):
        assert actors.expect[page] and (actors.refuse[page] or page == "assets"), page
        assert not set(actors.expect[page]) & set(actors.refuse[page])
    seen = {}
    for endpoint in bench.endpoints(actors):
        headers = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in endpoint.headers.items()}
        response = client.get(endpoint.path, **headers)
        assert response.status_code == 200, f"{endpoint.name}: {endpoint.path} answered {response.status_code}"
        assert int(response[bench.QUERIES_HEADER]) >= 1, endpoint.name
        data = response.json() if response["Content-Type"].startswith("application/json") else None
        assert script.check_rows(endpoint.as_dict(), response.content, data) is None, endpoint.name
        seen[endpoint.name] = response
    # Each actor sees what the report says: the manager's book, every partner, the admin's own team
    assert len(seen["API partner list, channel manager"].json()["results"]) == 3
    assert len(seen["API partner list, partner operations"].json()["results"]) == 4
    team = seen["API membership list, partner admin"].json()["results"]
    assert len(team) == 3 and {row["partner"] for row in team} == {partner.pk}
    assert len(seen["Ceiling: 50 memberships, bare DRF"].json()) == 12
    tickets = seen["API ticket list, partner admin"].json()["results"]
    assert tickets and {row["partner"] for row in tickets} == {partner.pk}
    assert len(seen["Ceiling: 50 tickets, bare DRF"].json()) == bench.CEILING_ROWS
    assert len(seen["Ceiling: 50 assets, bare DRF"].json()) == 50
    assert seen[f"API asset list ?q={comarketing_scale.ASSET_SEARCH}, partner admin"].json()["results"]
    # The fixed-cost pages are the same pages with no results
    kb = seen["Portal KB search, no match (fixed cost), partner admin"].content.decode()
    assert 'aria-label="Results for' not in kb
    kb_search = seen[f"Portal KB search “{support_scale.KB_SEARCH}”, partner admin"].content.decode()
    assert 'aria-label="Results for' in kb_search
    assets = seen["Portal asset search, no match (fixed cost), partner admin"].content.decode()
    assert "0 results" in assets and 'class="cm-grid"' not in assets
    console = seen["Console partner list, no match (fixed cost), channel manager"].content.decode()
    assert "0 partners" in console and "/change/" not in console
    assert "/change/" in seen["Console partner list, channel manager"].content.decode()


def test_the_bench_check_refuses_another_partners_rows_and_empty_lists():
    script = _bench_script()
    page = {"kind": "list", "expect": ['href="/kb/1/"'], "refuse": ['href="/kb/2/"']}
    api = {"kind": "list", "own_partner": 7}

    assert script.check_rows(page, b'<a href="/kb/1/">', None) is None
    assert "lacks" in script.check_rows(page, b'<a href="/kb/3/">', None)
    assert "another partner" in script.check_rows(page, b'<a href="/kb/1/"><a href="/kb/2/">', None)
    assert script.check_rows(api, b"", {"results": [{"partner": 7}]}) is None
    assert "another partner" in script.check_rows(api, b"", {"results": [{"partner": 7}, {"partner": 8}]})
    assert script.check_rows(api, b"", {"results": []}) == "the list is empty"


def test_prepare_replaces_its_previous_api_keys(bench_mode):
    from partnerhub.models import ApiToken

    scale.seed_core(partners=2, users_per_partner=2, managers=1, partners_per_manager=2, log=lambda _: None)
    first = bench.prepare()

    second = bench.prepare()

    assert first.admin_token != second.admin_token
    assert ApiToken.objects.filter(user_id=second.admin_id, name=bench.BENCH_KEY_NAME).count() == 1


# The access layer's grant query ----------------------------------------------------------------------------------


def test_granted_partners_are_exactly_guardians_rows(partner_a, partner_b):
    # Given grants of every kind: direct, through a group, both, on other permissions, global, none
    partner_c, partner_d = make_partner("Cobalt"), make_partner("Delta")
    direct = make_staff(manages=[partner_a], username="direct")
    grouped = UserFactory(username="grouped")
    group = Group.objects.create(name="managers of c and d")
    grouped.groups.add(group)
    assign_perm("partnerhub.manage_partner", group, partner_c)
    assign_perm("partnerhub.manage_partner", group, partner_d)
    both = make_staff(manages=[partner_b], username="both")
    both.groups.add(group)
    global_only = UserFactory(username="global")
    assign_perm("partnerhub.manage_partner", global_only)
    assign_perm("partnerhub.access_partner", global_only)
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    member = make_member(partner_a, MembershipRole.ADMIN, username="member")
    services.membership_add(actor=None, partner=partner_d, user=member, role=MembershipRole.REP)
    services.partner_suspend(actor=None, partner=partner_d, reason="Grants stay; sign-in stops")
    nobody = UserFactory(username="nobody")

    for user in (direct, grouped, both, global_only, superuser, member, nobody):
        for codename in ("access_partner", "administer_partner", "manage_partner"):
            # When the access layer reads the grants
            ours = set(access._granted_partners(user, codename).values_list("pk", flat=True))
            # Then they are guardian's rows, global permissions and superuser status ignored
            theirs = get_objects_for_user(
                user, f"partnerhub.{codename}", klass=Partner, accept_global_perms=False, with_superuser=False
            )
            assert ours == set(theirs.values_list("pk", flat=True)), (user.username, codename)

    assert set(access._granted_partners(both, "manage_partner")) == {partner_b, partner_c, partner_d}
    assert set(access._granted_partners(member, "administer_partner")) == {partner_a}
    # The partner's sign-in status is member_partners' business, on top of the grants
    assert set(access._granted_partners(member, "access_partner")) == {partner_a, partner_d}
    assert set(access.member_partners(member)) == {partner_a}
    assert not access._granted_partners(global_only, "manage_partner").exists()


def test_scoped_lists_read_grants_as_one_union_not_an_or(partner_a, admin_a, manager_a):
    # PostgreSQL plans "IN (a UNION b)" as a join from the grants; "IN (a) OR IN (b)" tests every row.
    for user in (admin_a, manager_a):
        sql = str(access.scoped(Membership.objects.all(), user).query)
        assert "UNION" in sql
        assert " OR " not in sql
        # The grants are read without joining the permission or group tables: fewer relations to plan
        assert "JOIN" not in sql
        assert '"auth_group" ' not in sql
