"""Every list endpoint runs a fixed number of queries per page, pinned exactly, whether it shows 3 rows or 30.

A query count that grows with the rows (an N+1) or any change to the pinned number fails here; when a change
is intended, update the number in ``LISTS`` and say why in the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from partnerhub import services
from partnerhub.choices import MembershipRole
from partnerhub.models import ApiToken
from tests.conftest import client_for
from tests.factories import TierFactory, UserFactory, make_member, make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mail(monkeypatch):
    monkeypatch.setattr("partnerhub.notifications.send_email", lambda **kwargs: None)


def _partners_for_ops(request, n):
    distributor = request.getfixturevalue("partner_b")
    tier = TierFactory()
    for i in range(n):
        make_partner(f"Reseller {i:02d}", tier=tier, parent=distributor)
    return request.getfixturevalue("partner_ops"), n + 1  # and the distributor


def _partners_for_rep(request, n):
    rep = UserFactory(username="multi")
    for i in range(n):
        services.membership_add(actor=None, partner=make_partner(f"Member of {i:02d}"), user=rep)
    return rep, n


def _partners_for_manager(request, n):
    manager = request.getfixturevalue("manager_a")
    for i in range(n - 1):
        services.channel_manager_assign(actor=None, partner=make_partner(f"Managed {i:02d}"), manager=manager)
    return type(manager).objects.get(pk=manager.pk), n


def _tiers(request, n):
    for _ in range(n):
        TierFactory()
    return request.getfixturevalue("rep_a"), n


def _tiers_for_staff(request, n):
    _tiers(request, n)
    return request.getfixturevalue("partner_ops"), n


def _memberships(request, n):
    partner = request.getfixturevalue("partner_a")
    admin = request.getfixturevalue("admin_a")
    for _ in range(n - 1):
        make_member(partner, MembershipRole.REP)
    return admin, n


def _memberships_for_ops(request, n):
    _memberships(request, n)
    return request.getfixturevalue("partner_ops"), n


def _invitations(request, n):
    partner = request.getfixturevalue("partner_a")
    admin = request.getfixturevalue("admin_a")
    for i in range(n):
        services.invitation_create(actor=admin, partner=partner, email=f"invitee{i}@acme.example")
    return admin, n


def _invitations_for_manager(request, n):
    _invitations(request, n)
    return request.getfixturevalue("manager_a"), n


def _tokens(request, n):
    rep = request.getfixturevalue("rep_a")
    client = client_for(rep)
    # Stored directly: the service caps a person at 20 keys; the list must stay flat past that all the same.
    for i in range(n - 1):
        ApiToken.objects.create(user=rep, expiry=None, name=f"key {i}")
    return client, n


def _me(request, n):
    rep, _ = _partners_for_rep(request, n)
    return rep, None


@dataclass(frozen=True)
class ListCase:
    url: str
    setup: Callable
    queries: int


# Per request: the key (1) and knox's sweep of the key owner's expired keys (1); then, for partner users, the
# "may this person still sign in" check (1), for vendor staff their permissions (user + groups, 2); then the
# page itself (1, every relation joined or annotated), and for ``me`` the user row and memberships.
LISTS = {
    "partners as partner operations": ListCase("/api/v1/partners/", _partners_for_ops, 5),
    "partners as a member of many": ListCase("/api/v1/partners/", _partners_for_rep, 4),
    "partners as a channel manager": ListCase("/api/v1/partners/", _partners_for_manager, 5),
    "tiers as a rep": ListCase("/api/v1/tiers/", _tiers, 4),
    "tiers as partner operations": ListCase("/api/v1/tiers/", _tiers_for_staff, 3),
    "memberships as a partner admin": ListCase("/api/v1/memberships/", _memberships, 4),
    "memberships as partner operations": ListCase("/api/v1/memberships/", _memberships_for_ops, 5),
    "invitations as a partner admin": ListCase("/api/v1/invitations/", _invitations, 4),
    "invitations as a channel manager": ListCase("/api/v1/invitations/", _invitations_for_manager, 5),
    "my API keys": ListCase("/api/v1/me/tokens/", _tokens, 4),
    "me with many memberships": ListCase("/api/v1/me/", _me, 5),
}


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("name", list(LISTS))
def test_list_query_count_is_pinned_and_flat(request, django_assert_num_queries, name, rows):
    case = LISTS[name]
    who, expected_rows = case.setup(request, rows)
    client = who if isinstance(who, APIClient) else client_for(who)
    assert client.get(case.url).status_code == 200  # the key's first use is stamped once; measure after it
    with django_assert_num_queries(case.queries):
        response = client.get(case.url, {"page_size": 200})
    assert response.status_code == 200
    body = response.json()
    if expected_rows is None:
        assert len(body["memberships"]) == rows
    else:
        assert len(body["results"]) == expected_rows
