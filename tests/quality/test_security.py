"""Security properties asserted on real responses: headers, CSRF on every state-changing route, production mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.quality.test_isolation_walk import spec_for
from tests.quality.walk import enumerate_routes, is_format_suffix
from tests.quality.walk_registry import Obj, Page, Public
from tests.quality.world import build_world

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/team/", "/console/", "/console/login/", "/api/docs/"])
def test_security_headers_on_pages(path, admin_a, partner_ops):
    client = signed_in(partner_ops if path.startswith("/console/") and path != "/console/login/" else admin_a)
    response = client.get(path, follow=False)
    assert response.status_code in (200, 302)
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if " " in part.strip())
    assert directives["default-src"] == "'self'"
    # Scripts only from our origin (plus the per-response nonce when a page uses one); never inline or eval.
    assert directives["script-src"].startswith("'self'")
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_api_responses_are_nosniff_json(api_as, admin_a):
    response = api_as(admin_a).get("/api/v1/me/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_lax(admin_a):
    from tests.factories import PASSWORD

    response = Client().post("/accounts/login/", {"username": admin_a.username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["domain"], "session cookies stay host-only so they never cross partner domains"


_PRODUCTION_PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/accounts/login/", HTTP_HOST="portal.example.com")
secure = client.get("/accounts/login/", secure=True, HTTP_HOST="portal.example.com")
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location", ""),
    "hsts": secure.get("Strict-Transport-Security", ""), "status": secure.status_code,
    "csp": secure.get("Content-Security-Policy", ""),
    "cookie_secure": __import__("django.conf").conf.settings.SESSION_COOKIE_SECURE,
    "csrf_secure": __import__("django.conf").conf.settings.CSRF_COOKIE_SECURE,
}))
"""


def test_production_mode_redirects_to_https_and_sends_hsts(tmp_path):
    static_root = tmp_path / "static"
    env = {
        "PATH": os.environ["PATH"],
        "PARTNERHUB_ENV": "production",
        "SECRET_KEY": "x" * 60 + "-production-probe-key",
        "ALLOWED_HOSTS": "portal.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partnerhub"),
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        "STATIC_ROOT": str(static_root),
    }
    # Production serves hashed static files from a manifest, as the Docker image builds it.
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    result = subprocess.run(
        [sys.executable, "-c", _PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301 and seen["plain_location"].startswith("https://portal.example.com/")
    assert seen["status"] == 200
    assert "max-age=31536000" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert "frame-ancestors 'none'" in seen["csp"]
    assert seen["cookie_secure"] and seen["csrf_secure"]


def test_every_state_changing_route_enforces_csrf(superuser):
    """POST without a CSRF token to every portal, account and console route, and every API route with a browser
    session: each answers 403 (or 405 where the route takes no POST) and nothing is done."""
    world = build_world()
    portal_client = Client(enforce_csrf_checks=True)
    portal_client.force_login(world.admin)
    console_client = Client(enforce_csrf_checks=True)
    console_client.force_login(superuser)
    anonymous = Client(enforce_csrf_checks=True)
    failures, checked = [], 0
    for route in enumerate_routes():
        if is_format_suffix(route) or route.key in ("healthz", "logout", "console:logout"):
            continue
        spec = spec_for(route, world)
        assert not isinstance(spec, str), spec
        params = spec.params if isinstance(spec, Obj | Public | Page) else {}
        path = route.build({name: get(world) for name, get in params.items()})
        if path.startswith("/console/"):
            clients = [console_client]
        elif path.startswith(("/accounts/", "/invite/")):
            clients = [anonymous, portal_client]
        else:
            clients = [portal_client]
        for client in clients:
            for method in ("post", "put", "patch", "delete") if path.startswith("/api/") else ("post",):
                response = getattr(client, method)(path, {})
                checked += 1
                if response.status_code not in (403, 405):
                    failures.append(f"{method.upper()} {path}: {response.status_code} without a CSRF token")
    assert checked > 60
    assert not failures, "\n".join(failures)
