"""The isolation walk: every URL pattern of the portal, the console and the API, requested as every outsider
role against partner A's objects.

Routes come from the URL resolver, not from a hand-written list, so a new endpoint is walked as soon as it is
mounted — and if it takes parameters nobody told the walk how to fill, this test fails and says how to
register it (``tests/quality/walk_registry.py``). For outsiders (nobody signed in, partner B's rep and admin, a
channel manager of partner B only):

* an object route answers for partner A's object exactly as for an object that does not exist — same status,
  never 2xx, never 5xx — for every method;
* a page or list (also searched for partner A's name) never answers 5xx and never contains partner A's markers;
* console bulk actions aimed at partner A's rows do nothing;
* afterwards partner A's partner, brand, memberships, invitation, key and audit trail are unchanged.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from partnerhub import services
from partnerhub.admin_site import console
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner
from tests.quality.walk import Route, enumerate_routes, is_format_suffix
from tests.quality.walk_registry import (
    CONSOLE_LIST_SUFFIXES,
    CONSOLE_OBJECT_SUFFIXES,
    ROUTES,
    Obj,
    Page,
    Public,
)
from tests.quality.world import MARKER, World, build_world, outsiders

pytestmark = pytest.mark.django_db

GHOST_ID = 987654321
ANONYMOUS_OK = {301, 302, 401, 403, 404, 405}
_CONSOLE_MODEL_ROUTE = re.compile(r"^console:(?P<app>[a-z0-9_]+?)_(?P<model>[a-z0-9]+)_(?P<suffix>[a-z]+)$")
_CONSOLE_OBJECT_REDIRECT = re.compile(r"^console/(?P<app>[a-z0-9_]+)/(?P<model>[a-z0-9]+)/<path:object_id>/$")

HOW_TO_REGISTER = (
    "Route {key!r} ({pattern}) is not registered for the isolation walk. Add it to ROUTES in "
    "tests/quality/walk_registry.py: Page() for a page without parameters, Obj(<param>=lambda w: <partner A's "
    "object>.pk, ghost={{<param>: <a value that exists nowhere>}}) for a route that reaches one object, or "
    "Public('<why it is safe without partner scope>') — and add partner A's object to tests/quality/world.py."
)


def spec_for(route: Route, world: World) -> Page | Obj | Public | str:
    """The walk's instructions for a route, or the message explaining how to register it."""
    if route.key in ROUTES:
        return ROUTES[route.key]
    match = _CONSOLE_MODEL_ROUTE.match(route.name) or _CONSOLE_OBJECT_REDIRECT.match(route.pattern)
    if match:
        label = f"{match['app']}.{match['model']}"
        suffix = match.groupdict().get("suffix")
        if suffix in CONSOLE_LIST_SUFFIXES:
            return Page()
        if suffix is None or suffix in CONSOLE_OBJECT_SUFFIXES:
            if label not in world.objects_by_model:
                return (
                    f"Console pages of {label} cannot be walked: add partner A's {label} object to "
                    "tests/quality/world.py (World.add)."
                )
            obj = world.objects_by_model[label]
            if label in world.shared:
                return Public(
                    "program-wide data every vendor staff member may read", params={"object_id": lambda w, o=obj: o.pk}
                )
            return Obj(methods=("GET", "POST"), ghost={"object_id": GHOST_ID}, object_id=lambda w, o=obj: o.pk)
    return HOW_TO_REGISTER.format(key=route.key, pattern=route.pattern)


def snapshot(world: World) -> dict:
    partner = Partner.objects.select_related("brand").get(pk=world.partner.pk)
    return {
        "partner": (partner.name, partner.status, partner.tier_id, partner.updated_at),
        "brand": (partner.brand.version, partner.brand.display_name, partner.brand.logo.name),
        "memberships": sorted(Membership.objects.filter(partner=partner).values_list("id", "role", "is_active")),
        "invitation": Invitation.objects.filter(pk=world.invitation.pk).values_list("revoked_at", "accepted_at")[0],
        "token": ApiToken.objects.filter(pk=world.token.pk).exists(),
        "audit": AuditEvent.objects.filter(partner=partner).count(),
        "managers": [m.pk for m in services.channel_managers_of(partner)],
    }


class Caller:
    """Sends requests as one role: a browser session for pages and console, an API key for the API."""

    def __init__(self, user):
        self.user = user
        self.browser = Client()
        self.api = Client()
        if user is not None:
            self.browser.force_login(user)
            _, key = services.api_token_create(actor=user, user=user, name="walk")
            self.api_headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
        else:
            self.api_headers = {}

    def send(self, method: str, path: str, data=None):
        is_api = path.startswith("/api/")
        client = self.api if is_api else self.browser
        extra = self.api_headers if is_api else {}
        if self.user is not None and not is_api and "_auth_user_id" not in client.session:
            client.force_login(self.user)  # a page may have ended the session; keep walking as the same person
        call = getattr(client, method.lower())
        if method == "GET":
            return call(path, data or {}, **extra)
        if is_api:
            return call(path, data or {}, content_type="application/json", **extra)
        return call(path, data or {}, **extra)


def leaked(response, markers: list[str]) -> list[str]:
    # Search pages wrap matches in <mark>; without the tags a highlighted snippet of partner A's text still matches.
    body = response.content.decode("utf-8", errors="replace").replace("<mark>", "").replace("</mark>", "")
    return [m for m in markers if m and m in body]


def check_answer(problems: list[str], role: str, label: str, response, markers: list[str]) -> None:
    if response.status_code >= 500:
        problems.append(f"{label}: {response.status_code} (server error)")
    found = leaked(response, markers)
    if found:
        problems.append(f"{label}: answer contains partner A's {found}")
    if role == "anonymous" and response.status_code not in ANONYMOUS_OK | {200}:
        problems.append(f"{label}: unexpected {response.status_code} for anonymous")


@pytest.mark.parametrize("role", ["anonymous", "rep_b", "admin_b", "manager_b"])
def test_every_route_isolates_partner_a(role):
    # Given partner A's world and an outsider
    world = build_world()
    caller = Caller(outsiders()[role])
    before = snapshot(world)
    markers = sorted(set(world.markers) | {MARKER})
    problems: list[str] = []
    walked = 0

    # When every route is requested
    for route in enumerate_routes():
        if is_format_suffix(route):
            continue
        spec = spec_for(route, world)
        if isinstance(spec, str):
            problems.append(spec)
            continue
        walked += 1
        if isinstance(spec, Public):
            path = route.build({name: get(world) for name, get in spec.params.items()})
            for method in spec.methods:
                response = caller.send(method, path)
                if response.status_code >= 500:
                    problems.append(f"{method} {path} as {role}: {response.status_code}")
                if not spec.params:
                    check_answer(problems, role, f"{method} {path} as {role}", response, markers)
        elif isinstance(spec, Page):
            path = route.build({name: get(world) for name, get in spec.params.items()})
            for method in spec.methods:
                check_answer(problems, role, f"{method} {path} as {role}", caller.send(method, path), markers)
            searched = caller.send("GET", path, {"q": MARKER, "search": MARKER})
            # A search page may repeat the caller's own query ("No tickets match …"): that echo is the outsider's
            # input, not partner A's data. The bare term is left out here; every marker of A's objects still counts.
            not_the_query = [m for m in markers if m != MARKER]
            check_answer(problems, role, f"GET {path}?q={MARKER} as {role}", searched, not_the_query)
        else:
            real = route.build({name: get(world) for name, get in spec.params.items()})
            ghost = route.build({name: spec.ghost.get(name, GHOST_ID) for name in spec.params})
            for method in spec.methods:
                answer, missing = caller.send(method, real), caller.send(method, ghost)
                label = f"{method} {real} as {role}"
                check_answer(problems, role, label, answer, markers)
                if answer.status_code != missing.status_code:
                    problems.append(
                        f"{label}: {answer.status_code} for partner A's object but {missing.status_code} for a "
                        "missing one — the answer reveals that the object exists"
                    )
                if 200 <= answer.status_code < 300:
                    problems.append(f"{label}: {answer.status_code} — an outsider reached partner A's object")

    # And every console bulk action is aimed at partner A's rows
    for model, model_admin in console._registry.items():
        target = world.objects_by_model.get(model._meta.label_lower)
        if target is None:
            continue
        names = [a if isinstance(a, str) else a.__name__ for a in (model_admin.actions or [])] + ["delete_selected"]
        path = f"/console/{model._meta.app_label}/{model._meta.model_name}/"
        for name in names:
            response = caller.send(
                "POST",
                path,
                {
                    "action": name,
                    "_selected_action": [target.pk],
                    "index": 0,
                    "post": "yes",
                    "apply": "yes",
                    "reason": "walk",
                    "manager": caller.user.pk if caller.user else "",
                },
            )
            check_answer(problems, role, f"console action {name} on {path} as {role}", response, markers)

    # Then nothing of partner A leaked or changed
    assert walked > 50, f"the walk reached only {walked} routes"
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before, "an outsider's request changed partner A's data"


def test_walk_fails_for_an_unregistered_route():
    """The registration check itself: an unknown parametrised route produces the how-to-register message."""
    route = Route(name="portal:new_thing", pattern="things/<int:pk>/", params=("pk",), view=None)
    message = spec_for(route, World())
    assert isinstance(message, str)
    assert "tests/quality/walk_registry.py" in message and "portal:new_thing" in message
