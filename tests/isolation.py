"""A reusable isolation suite for API endpoints, in the spirit of NetBox's ``APIViewTestCases``.

An endpoint's test class inherits ``APIIsolationTests``, names itself ``Test…`` and declares:

* ``list_url`` — the collection, e.g. ``"/api/v1/invitations/"``;
* ``model`` — the model behind it;
* ``make_object(partner)`` — create one object that belongs to ``partner`` (the victim is partner A's);
* ``update_payload(obj)`` — a body that would change the object if the caller were allowed to;
* ``detail_methods`` — the methods the endpoint supports on one object (the others must answer 405 for every
  id alike); ``object_actions`` — custom object endpoints as ``(method, suffix, payload, format)``;
* with ``ForeignKeyCreateIsolationTests`` also ``fk_create_field`` + ``create_payload(partner)`` — a create body
  whose ``fk_create_field`` points at a partner; the suite puts partner A's id there.

The inherited tests first check that an insider (``insider``, partner A's admin by default) reaches the
object and every custom action, so the URLs are real. They then prove, for partner B's rep and admin and a
channel manager of B only, through an API key and through a browser session alike, that:

* partner A's object answers exactly like an id that does not exist (404) to GET, PUT, PATCH, DELETE and every
  custom object action, and nothing about it changes;
* lists (also filtered by partner A's id) hold none of partner A's rows;
* creating with partner A's id in a foreign key is refused exactly like a missing id, and nothing is saved;
* anonymous callers get 401/403 and no data;
* all of the above still holds after partner B's groups (and the channel manager) were given stray GLOBAL
  permissions, which must never widen a partner user's view.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from django.db import models
from django.forms.models import model_to_dict
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from tests.conftest import client_for

OUTSIDERS = ("rep_b", "admin_b", "manager_b")
AUTH_MODES = ("token", "session")
MISSING_ID = 987654321
ALL_DETAIL_METHODS = ("GET", "PUT", "PATCH", "DELETE")

STRAY_PARTNER_PERMISSIONS = (
    "partnerhub.view_all_partners",
    "partnerhub.access_partner",
    "partnerhub.administer_partner",
    "partnerhub.manage_partner",
    "partnerhub.change_partner_status",
)


def session_client(user) -> APIClient:
    """An API client signed in with a real session cookie (as the portal's own JavaScript would be)."""
    client = APIClient()
    client.force_login(user)
    return client


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _send(client: APIClient, method: str, url: str, payload: Any = None, fmt: str = "json"):
    call = getattr(client, method.lower())
    if callable(payload):
        payload = payload()  # a fresh body per request (an uploaded file can be read once)
    if method in ("GET", "HEAD"):
        return call(url)
    if payload is None:
        return call(url)
    return call(url, payload, format=fmt)


class APIIsolationTests:
    """Mixin of isolation tests; see the module docstring for what a subclass declares."""

    list_url: ClassVar[str]
    model: ClassVar[type[models.Model]]
    detail_methods: ClassVar[tuple[str, ...]] = ALL_DETAIL_METHODS
    object_actions: ClassVar[tuple[tuple[str, str, Any, str], ...]] = ()
    # Someone of partner A who reaches the object: proves the URLs tested here are real.
    insider: ClassVar[str] = "admin_a"
    # For ForeignKeyCreateIsolationTests: the field, and which outsiders may use the create form at all.
    fk_create_field: ClassVar[str | None] = None
    creators: ClassVar[tuple[str, ...]] = ()

    # -- what a subclass provides --------------------------------------------------------------------------------

    def make_object(self, partner) -> models.Model:
        raise NotImplementedError

    def update_payload(self, obj) -> dict[str, Any]:
        raise NotImplementedError

    def create_payload(self, partner) -> dict[str, Any]:
        raise NotImplementedError

    def lookup(self, obj) -> str:
        return str(obj.pk)

    def row_lookup(self, row: dict[str, Any]) -> str:
        return str(row["id"])

    # -- helpers -------------------------------------------------------------------------------------------------

    def detail_url(self, key) -> str:
        return f"{self.list_url}{key}/"

    def snapshot(self, obj) -> dict[str, Any] | None:
        fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
        if fresh is None:
            return None
        data = model_to_dict(fresh)
        return json.loads(json.dumps(data, default=str))

    def expected_status(self, method: str) -> int:
        return 404 if method in self.detail_methods else 405

    def assert_same_as_missing(self, client, victim, method: str, suffix: str = "", payload=None, fmt: str = "json"):
        """Partner A's object must answer byte for byte like an id that does not exist."""
        victim_url = self.detail_url(self.lookup(victim)) + suffix
        missing_url = self.detail_url(self.missing_key()) + suffix
        answer = _send(client, method, victim_url, payload, fmt)
        missing = _send(client, method, missing_url, payload, fmt)
        assert answer.status_code == missing.status_code, (method, victim_url, answer.content, missing.content)
        assert answer.content == missing.content, (method, victim_url)
        return answer

    def missing_key(self) -> str:
        return str(MISSING_ID)

    # -- fixtures ------------------------------------------------------------------------------------------------

    @pytest.fixture
    def victim(self, partner_a, admin_a, rep_a, manager_a, partner_b):
        return self.make_object(partner_a)

    @pytest.fixture(params=OUTSIDERS)
    def outsider_name(self, request):
        return request.param

    @pytest.fixture
    def outsider(self, request, outsider_name, partner_b):
        return request.getfixturevalue(outsider_name)

    @pytest.fixture(params=AUTH_MODES)
    def client_of(self, request):
        return client_for if request.param == "token" else session_client

    @pytest.fixture
    def stray_global_permissions(self, partner_b, rep_b, admin_b, manager_b):
        """Give partner B's groups (and the channel manager of B) global permissions they must never use."""
        opts = self.model._meta
        model_perms = [f"{opts.app_label}.{action}_{opts.model_name}" for action in ("view", "add", "change", "delete")]
        for group in (partner_b.members_group, partner_b.admins_group):
            for perm in (*model_perms, *STRAY_PARTNER_PERMISSIONS):
                assign_perm(perm, group)
        for perm in ("partnerhub.manage_partner", "partnerhub.access_partner", "partnerhub.administer_partner"):
            assign_perm(perm, manager_b)

    # -- the tests -----------------------------------------------------------------------------------------------

    def test_insider_reaches_the_object_and_its_actions(self, request, victim):
        client = client_for(request.getfixturevalue(self.insider))
        rows = results(client.get(self.list_url, {"page_size": 200}))
        assert self.lookup(victim) in {self.row_lookup(row) for row in rows}
        if "GET" in self.detail_methods:
            assert client.get(self.detail_url(self.lookup(victim))).status_code == 200
        for method, suffix, payload, fmt in self.object_actions:
            answer = _send(client, method, self.detail_url(self.lookup(victim)) + suffix, payload, fmt)
            assert answer.status_code not in (404, 405), (method, suffix, answer.content)

    def test_object_of_partner_a_is_not_found(self, victim, outsider, client_of):
        client = client_of(outsider)
        before = self.snapshot(victim)
        for method in ALL_DETAIL_METHODS:
            payload = self.update_payload(victim) if method in ("PUT", "PATCH") else None
            answer = self.assert_same_as_missing(client, victim, method, payload=payload)
            assert answer.status_code == self.expected_status(method), (method, answer.content)
            if answer.status_code == 404:
                assert answer.json()["errors"][0]["code"] == "not_found"
        for method, suffix, payload, fmt in self.object_actions:
            answer = self.assert_same_as_missing(client, victim, method, suffix, payload, fmt)
            assert answer.status_code == 404, (method, suffix, answer.content)
        assert self.snapshot(victim) == before

    def test_list_holds_nothing_of_partner_a(self, victim, outsider, client_of, partner_a):
        client = client_of(outsider)
        rows = results(client.get(self.list_url, {"page_size": 200}))
        assert self.lookup(victim) not in {self.row_lookup(row) for row in rows}
        assert all(row.get("partner") != partner_a.pk for row in rows)
        filtered = client.get(self.list_url, {"partner": partner_a.pk})
        if filtered.status_code == 200:
            assert all(row.get("partner") != partner_a.pk for row in filtered.json()["results"])
            assert self.lookup(victim) not in {self.row_lookup(row) for row in filtered.json()["results"]}

    def test_anonymous_gets_nothing(self, victim):
        client = APIClient()
        before = self.snapshot(victim)
        for method, url in (
            ("GET", self.list_url),
            ("POST", self.list_url),
            *((m, self.detail_url(self.lookup(victim))) for m in ALL_DETAIL_METHODS),
        ):
            answer = _send(client, method, url, {} if method in ("POST", "PUT", "PATCH") else None)
            if answer.status_code == 405:
                continue  # the method does not exist here for anybody
            assert answer.status_code in (401, 403), (method, url, answer.status_code)
            assert "results" not in answer.json()
        assert self.snapshot(victim) == before

    def test_stray_global_permissions_reveal_nothing(self, victim, outsider, stray_global_permissions, partner_a):
        client = client_for(type(outsider).objects.get(pk=outsider.pk))
        before = self.snapshot(victim)
        for method in ALL_DETAIL_METHODS:
            payload = self.update_payload(victim) if method in ("PUT", "PATCH") else None
            answer = self.assert_same_as_missing(client, victim, method, payload=payload)
            assert answer.status_code == self.expected_status(method), (method, answer.content)
        for method, suffix, payload, fmt in self.object_actions:
            assert self.assert_same_as_missing(client, victim, method, suffix, payload, fmt).status_code == 404
        rows = results(client.get(self.list_url, {"page_size": 200}))
        assert self.lookup(victim) not in {self.row_lookup(row) for row in rows}
        assert all(row.get("partner") != partner_a.pk for row in rows)
        assert self.snapshot(victim) == before


class ForeignKeyCreateIsolationTests:
    """Add to an ``APIIsolationTests`` subclass whose create body holds a partner foreign key.

    Declares ``fk_create_field``, ``create_payload(partner)`` and ``creators`` (the outsiders who may use the
    create form at all; the others are refused with 403 whatever the id).
    """

    def test_create_with_partner_a_in_a_foreign_key_is_refused_like_a_missing_id(
        self, victim, outsider, outsider_name, client_of, partner_a, partner_b
    ):
        client = client_of(outsider)
        count = self.model._default_manager.count()
        payload = self.create_payload(partner_b)
        answer = client.post(self.list_url, {**payload, self.fk_create_field: partner_a.pk}, format="json")
        missing = client.post(self.list_url, {**payload, self.fk_create_field: MISSING_ID}, format="json")
        assert answer.status_code == missing.status_code
        assert answer.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"]
        if outsider_name in self.creators:
            assert answer.status_code == 400, answer.content
            assert [e["attr"] for e in answer.json()["errors"]] == [self.fk_create_field]
            assert str(partner_a.pk) in answer.json()["errors"][0]["detail"]  # worded exactly like a missing id
        else:
            assert answer.status_code == 403, answer.content
        assert self.model._default_manager.count() == count
        if outsider_name in self.creators:
            # Control: the same body with the outsider's own partner is accepted.
            own = client.post(self.list_url, {**payload, self.fk_create_field: partner_b.pk}, format="json")
            assert own.status_code == 201, own.content
            assert self.model._default_manager.count() == count + 1
