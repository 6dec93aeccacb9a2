"""Shared fixtures: two competing partners, every role, and API clients."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from partnerhub import services
from partnerhub.choices import MembershipRole, StaffRole
from tests.factories import UserFactory, make_member, make_partner, make_staff


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache: this test worker's keys are deleted (by its key prefix). Flushing the
    whole Redis database would also wipe the sessions and counters of tests running in parallel workers."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


@pytest.fixture
def partner_a(db):
    return make_partner("Acme Resellers")


@pytest.fixture
def partner_b(db):
    return make_partner("Bolt Distribution", partner_type="distributor")


@pytest.fixture
def admin_a(partner_a):
    return make_member(partner_a, MembershipRole.ADMIN, username="alice")


@pytest.fixture
def rep_a(partner_a):
    return make_member(partner_a, MembershipRole.REP, username="arnold")


@pytest.fixture
def admin_b(partner_b):
    return make_member(partner_b, MembershipRole.ADMIN, username="bella")


@pytest.fixture
def rep_b(partner_b):
    return make_member(partner_b, MembershipRole.REP, username="boris")


@pytest.fixture
def manager_a(partner_a):
    """A channel manager who manages partner A only."""
    return make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_a], username="carla")


@pytest.fixture
def manager_b(partner_b):
    """A channel manager who manages partner B only (not A)."""
    return make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_b], username="colin")


@pytest.fixture
def partner_ops(db):
    return make_staff(StaffRole.PARTNER_OPERATIONS, username="olga")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


def client_for(user) -> APIClient:
    """An API client authenticated with a real API key of ``user``."""
    _, key = services.api_token_create(actor=user, user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def browser_for(user) -> Client:
    """A portal client signed in as ``user`` (a session, as a browser has after signing in)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api_as():
    return client_for
