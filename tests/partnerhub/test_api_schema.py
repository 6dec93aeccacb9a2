"""The OpenAPI schema and the interactive docs: generated from the code and valid, every error documented,
and Swagger UI working with no internet access under the site's Content Security Policy."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    """The schema as ``manage.py spectacular --validate --fail-on-warn`` writes it (any warning fails)."""
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_schema_validates_and_covers_the_core_api(schema):
    paths = set(schema["paths"])
    assert {
        "/api/v1/partners/",
        "/api/v1/partners/{id}/",
        "/api/v1/partners/{id}/suspend/",
        "/api/v1/partners/{id}/reactivate/",
        "/api/v1/partners/{id}/brand/",
        "/api/v1/partners/{id}/brand/logo/",
        "/api/v1/tiers/",
        "/api/v1/tiers/{id}/",
        "/api/v1/memberships/",
        "/api/v1/memberships/{id}/",
        "/api/v1/invitations/",
        "/api/v1/invitations/{id}/",
        "/api/v1/invitations/{id}/revoke/",
        "/api/v1/me/",
        "/api/v1/me/tokens/",
        "/api/v1/me/tokens/{token_key}/",
    } <= paths
    assert "delete" not in schema["paths"]["/api/v1/partners/{id}/"]  # partners are offboarded, not deleted
    assert "post" not in schema["paths"]["/api/v1/memberships/"]  # people join through invitations
    assert set(schema["paths"]["/api/v1/invitations/{id}/"]) == {"get"}


def test_every_operation_documents_its_errors(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        assert {"401", "405", "500"} <= codes, (method, path, codes)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method in ("post", "put", "patch") and operation.get("requestBody"):
            assert "400" in codes, (method, path)
        if any(
            p["in"] == "query" and p["name"] not in ("cursor", "page_size", "search")
            for p in operation.get("parameters", [])
        ):
            assert "400" in codes, (method, path)  # filters are validated


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/partners/", "post"),
        ("/api/v1/partners/{id}/suspend/", "post"),
        ("/api/v1/partners/{id}/reactivate/", "post"),
        ("/api/v1/partners/{id}/brand/", "patch"),
        ("/api/v1/memberships/{id}/", "patch"),
        ("/api/v1/memberships/{id}/", "delete"),
        ("/api/v1/invitations/", "post"),
        ("/api/v1/invitations/{id}/revoke/", "post"),
        ("/api/v1/tiers/{id}/", "delete"),
    ],
)
def test_conflicts_are_documented(schema, path, method):
    response = schema["paths"][path][method]["responses"]["409"]
    assert response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ConflictErrorResponse"


def test_lists_are_paginated_and_ids_are_integers(schema):
    for path, _method, operation in operations(schema):
        if operation["operationId"].endswith("_list"):
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/Paginated"), path
            assert {p["name"] for p in operation["parameters"]} >= {"cursor", "page_size"}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "id":
                assert parameter["schema"]["type"] == "integer", path


def test_api_key_scheme_and_secrets(schema):
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    components = schema["components"]["schemas"]
    assert set(components["ApiToken"]["properties"]) == {"token_key", "name", "created", "expiry", "last_used_at"}
    assert components["ApiTokenCreate"]["properties"]["key"]["readOnly"] is True
    assert not any("nonce" in c.get("properties", {}) for c in components.values())
    assert not any("digest" in c.get("properties", {}) for c in components.values())


def test_input_limits_are_in_the_schema(schema):
    brand = schema["components"]["schemas"]["PatchedPartnerBrandRequest"]["properties"]
    assert brand["tagline"]["maxLength"] == 160
    assert brand["primary_color"]["pattern"] == "^#[0-9a-fA-F]{6}$"
    assert schema["components"]["schemas"]["StatusChangeRequest"]["properties"]["reason"]["maxLength"] == 500
    logo = schema["paths"]["/api/v1/partners/{id}/brand/logo/"]["put"]["requestBody"]["content"]
    assert set(logo) == {"multipart/form-data"}


@pytest.mark.parametrize("field", ["Subdomain", "CustomDomain"])
def test_a_brands_portal_address_documents_its_staff_only_error(schema, field):
    """A partner admin who changes the portal's address gets ``staff_only`` (tests/partnerhub/test_api_bad_input.py):
    the schema lists it among that field's error codes, so a client that validates answers accepts it."""
    component = schema["components"]["schemas"][f"PartnersBrandPartialUpdate{field}ErrorComponent"]
    assert "staff_only" in component["properties"]["code"]["enum"]


def test_list_item_errors_are_documented_as_the_api_names_them(schema):
    """A list item's error is sent as ``proofs.0``: the schema documents ``attr`` as a pattern that matches it."""
    components = schema["components"]["schemas"]
    placeholders = [
        name
        for name, component in components.items()
        if {"INDEX", "KEY"}
        & set(".".join(map(str, component.get("properties", {}).get("attr", {}).get("enum", []))).split("."))
    ]
    assert placeholders == []
    attr = components["FundClaimsCreateProofsINDEXErrorComponent"]["properties"]["attr"]
    assert re.fullmatch(attr["pattern"].strip("^$"), "proofs.12")
    assert not re.fullmatch(attr["pattern"].strip("^$"), "proofs.x")
    schedule = components["BusinessHoursCreateScheduleKEYINDEXINDEXErrorComponent"]["properties"]["attr"]
    assert re.fullmatch(schedule["pattern"].strip("^$"), "schedule.1.0.1")


def test_schema_endpoint(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "PartnerHub API"


# Interactive docs ----------------------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.links: list[dict] = []
        self.styles: list[dict] = []
        self._in_script = False
        self.inline_script = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
            self._in_script = True
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "style":
            self.styles.append(attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_script += data.strip()


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_docs_page_has_no_inline_script_and_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = _Assets()
    assets.feed(html)

    # No inline script: script-src 'self' + nonce would block it and leave the page blank.
    assert assets.inline_script == ""
    csp = _csp(response)
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    # The page's own CSS block carries this response's nonce.
    nonce = next(v for v in csp["style-src"] if v.startswith("'nonce-"))[7:-1]
    assert [s.get("nonce") for s in assets.styles] == [nonce]

    urls = [s["src"] for s in assets.scripts] + [link["href"] for link in assets.links]
    assert len(urls) == 5  # bundle, preset, start-up script, stylesheet, icon
    assert not re.search(r"https?://|//cdn", html)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        if parts.path.startswith(settings.STATIC_URL) or parts.path.startswith("/" + settings.STATIC_URL):
            relative = parts.path.split(settings.STATIC_URL, 1)[1]
            assert finders.find(relative), f"{relative} is not among our static files"
        else:
            assert parts.path == "/api/docs/" and "script" in parts.query, url


def test_docs_start_up_script_is_a_same_origin_file(client):
    response = client.get("/api/docs/", {"script": ""})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "SwaggerUIBundle(" in body
    assert '"/api/schema/"' in body
    assert not re.search(r"https?://", body)


@pytest.fixture
def docs_server():
    """A real HTTP server for the app and its static files, on a free loopback port, for this test only.

    (pytest-django's ``live_server`` would flush the database afterwards; the docs need no data.)
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, StaticFilesHandler(WSGIHandler()), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
def test_docs_render_in_a_real_browser_with_no_csp_violation(docs_server):
    """Chromium loads the docs from our server alone: every operation is listed, the console is clean."""
    from playwright.sync_api import sync_playwright

    console, foreign = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on(
                "request",
                lambda request: None if request.url.startswith((docs_server, "data:")) else foreign.append(request.url),
            )
            # The docs page fetches and renders the whole schema: generous waits for a loaded machine.
            page.goto(f"{docs_server}/api/docs/", wait_until="networkidle", timeout=60_000)
            page.wait_for_selector(".opblock", timeout=60_000)
            # Swagger UI renders the operations of a long schema as a virtual list: scroll through it and
            # collect every operation that comes into view.
            seen: set[str] = set()
            for _ in range(400):
                before = len(seen)
                seen.update(page.locator(".opblock-summary-path").all_inner_texts())
                at_bottom = page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight - 2")
                if at_bottom and len(seen) == before:
                    break
                page.mouse.wheel(0, 600)
                page.wait_for_timeout(50)
            summaries = sorted(seen)
        finally:
            browser.close()
    shown = {s.replace("\u200b", "") for s in summaries}
    assert "/api/v1/partners/{id}/suspend/" in shown
    with urllib.request.urlopen(f"{docs_server}/api/schema/?format=json", timeout=60) as response:
        assert shown == set(json.load(response)["paths"])  # every path of the schema is listed
    assert [line for line in console if line.startswith("error")] == []
    assert foreign == []
