"""Bad input never reaches the database: each case is a clear 4xx in the one JSON error shape, naming the
field to fix, and the database is exactly as it was."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from partnerhub import services
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, PartnerBrand, Tier
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mail(monkeypatch):
    monkeypatch.setattr("partnerhub.notifications.send_email", lambda **kwargs: None)


@pytest.fixture
def world(partner_a, partner_b, admin_a, rep_a, manager_a, partner_ops, admin_b):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="pending@acme.example")
    return {
        "partner": partner_a.pk,
        "membership": Membership.objects.get(user=rep_a).pk,
        "invitation": invitation.pk,
        "clients": {
            "admin_a": client_for(admin_a),
            "rep_a": client_for(rep_a),
            "manager_a": client_for(manager_a),
            "ops": client_for(partner_ops),
        },
    }


def fingerprint() -> dict:
    """Everything a bad request could have touched (API key use stamps are left out: reading them is allowed)."""
    return {
        "partners": list(Partner.objects.order_by("pk").values()),
        "brands": list(PartnerBrand.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
        "invitations": list(Invitation.objects.order_by("pk").values()),
        "tiers": list(Tier.objects.order_by("pk").values()),
        "keys": list(ApiToken.objects.order_by("digest").values_list("digest", "name", "expiry")),
        "audit": AuditEvent.objects.count(),
    }


def assert_error(response, status: int, attr: str | None, code: str | None = None) -> dict:
    """The one error shape: {"type", "errors": [{"code", "detail", "attr"}]}, naming ``attr``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] in ("validation_error", "client_error")
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
        assert error["detail"].strip()
    matching = [e for e in body["errors"] if e["attr"] == attr]
    assert matching, f"no error names {attr!r}: {body}"
    if code is not None:
        assert matching[0]["code"] == code, matching[0]
    return matching[0]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


LONG = "x" * 600

# (who, method, url, body, expected attr, expected code)
JSON_CASES = [
    # Unknown fields, named, on every writable serializer.
    (
        "ops",
        "post",
        "/api/v1/partners/",
        {"name": "N", "partner_type": "reseller", "colour": "#000000"},
        "colour",
        "unknown_field",
    ),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"nmae": "Typo"}, "nmae", "unknown_field"),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"primary_colour": "#000000"},
        "primary_colour",
        "unknown_field",
    ),
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"is_admin": True}, "is_admin", "unknown_field"),
    (
        "admin_a",
        "post",
        "/api/v1/invitations/",
        {"partner": "{partner}", "email": "n@acme.example", "cc": "x"},
        "cc",
        "unknown_field",
    ),
    ("admin_a", "post", "/api/v1/me/tokens/", {"name": "CRM", "scopes": ["all"]}, "scopes", "unknown_field"),
    ("ops", "post", "/api/v1/tiers/", {"name": "T", "slug": "t", "rank": 7, "color": "gold"}, "color", "unknown_field"),
    (
        "manager_a",
        "post",
        "/api/v1/partners/{partner}/suspend/",
        {"reason": "x", "notify": False},
        "notify",
        "unknown_field",
    ),
    ("admin_a", "post", "/api/v1/invitations/{invitation}/revoke/", {"reason": "x"}, "reason", "unknown_field"),
    # Read-only fields are refused rather than silently ignored.
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"version": 99}, "version", "read_only"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"status": "active"}, "status", "read_only"),
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"user": 1}, "user", "read_only"),
    # Over-long strings.
    ("ops", "post", "/api/v1/partners/", {"name": LONG, "partner_type": "reseller"}, "name", "max_length"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"region": LONG}, "region", "max_length"),
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"tagline": LONG}, "tagline", "max_length"),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"display_name": "d" * 121},
        "display_name",
        "max_length",
    ),
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"title": LONG}, "title", "max_length"),
    (
        "admin_a",
        "post",
        "/api/v1/invitations/",
        {"partner": "{partner}", "email": "a" * 250 + "@x.example"},
        "email",
        "max_length",
    ),
    ("admin_a", "post", "/api/v1/me/tokens/", {"name": LONG}, "name", "max_length"),
    ("manager_a", "post", "/api/v1/partners/{partner}/suspend/", {"reason": LONG}, "reason", "max_length"),
    (
        "ops",
        "post",
        "/api/v1/tiers/",
        {"name": "T", "slug": "t", "rank": 7, "benefits": "b" * 5001},
        "benefits",
        "max_length",
    ),
    # Colours and other formats.
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"primary_color": "red"}, "primary_color", "invalid"),
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"primary_color": "#12345g"}, "primary_color", "invalid"),
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"accent_color": "#fff"}, "accent_color", "invalid"),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"accent_color": "#000000;}body{x:y"},
        "accent_color",
        None,
    ),
    (
        "ops",
        "post",
        "/api/v1/partners/",
        {"name": "N", "partner_type": "reseller", "primary_color": "blue"},
        "primary_color",
        "invalid",
    ),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"support_email": "not-an-email"},
        "support_email",
        "invalid",
    ),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"support_phone": "<script>"},
        "support_phone",
        "invalid",
    ),
    (
        "manager_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"custom_domain": "https://x.example/a"},
        "custom_domain",
        None,
    ),
    (
        "manager_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"custom_domain": "evil.localhost"},
        "custom_domain",
        "invalid",
    ),
    ("manager_a", "patch", "/api/v1/partners/{partner}/brand/", {"subdomain": "Not A Label"}, "subdomain", "invalid"),
    # The portal's address is vendor configuration.
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", {"subdomain": "elsewhere"}, "subdomain", "staff_only"),
    (
        "admin_a",
        "patch",
        "/api/v1/partners/{partner}/brand/",
        {"custom_domain": "partners.acme.example"},
        "custom_domain",
        "staff_only",
    ),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"website": "javascript:alert(1)"}, "website", "invalid"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"country": "Germany"}, "country", None),
    ("admin_a", "post", "/api/v1/invitations/", {"partner": "{partner}", "email": "not an email"}, "email", "invalid"),
    # Wrong types and values.
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"is_active": "maybe"}, "is_active", "invalid"),
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"role": "owner"}, "role", "invalid_choice"),
    ("admin_a", "patch", "/api/v1/memberships/{membership}/", {"title": ["a", "list"]}, "title", "invalid"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"tier": "gold"}, "tier", "incorrect_type"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"parent": 0.5}, "parent", "incorrect_type"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"name": {"en": "Acme"}}, "name", "invalid"),
    ("manager_a", "patch", "/api/v1/partners/{partner}/", {"name": ""}, "name", "blank"),
    ("ops", "post", "/api/v1/partners/", {"name": "N"}, "partner_type", "required"),
    ("ops", "post", "/api/v1/partners/", {"name": "N", "partner_type": "pirate"}, "partner_type", "invalid_choice"),
    (
        "admin_a",
        "post",
        "/api/v1/me/tokens/",
        {"name": "CRM", "expires_in_days": "ninety"},
        "expires_in_days",
        "invalid",
    ),
    ("admin_a", "post", "/api/v1/me/tokens/", {"name": "CRM", "expires_in_days": 1000}, "expires_in_days", "max_value"),
    ("admin_a", "post", "/api/v1/me/tokens/", {"name": "   "}, "name", "blank"),
    ("ops", "post", "/api/v1/tiers/", {"name": "T", "slug": "t", "rank": 0}, "rank", None),
    (
        "ops",
        "post",
        "/api/v1/tiers/",
        {"name": "T", "slug": "t", "rank": 7, "discount_percent": "150"},
        "discount_percent",
        "max_value",
    ),
    ("ops", "post", "/api/v1/tiers/", {"name": "T", "slug": "bad slug", "rank": 7}, "slug", "invalid"),
    (
        "admin_a",
        "post",
        "/api/v1/invitations/",
        {"partner": "{partner}", "email": "n@acme.example", "role": "root"},
        "role",
        "invalid_choice",
    ),
    (
        "admin_a",
        "post",
        "/api/v1/invitations/",
        {"partner": "abc", "email": "n@acme.example"},
        "partner",
        "incorrect_type",
    ),
    ("admin_a", "post", "/api/v1/invitations/", {"email": "n@acme.example"}, "partner", "required"),
    ("manager_a", "post", "/api/v1/partners/{partner}/suspend/", {"reason": ""}, "reason", "blank"),
    # Not a JSON object at all.
    ("admin_a", "patch", "/api/v1/partners/{partner}/brand/", ["tagline", "x"], "non_field_errors", "invalid"),
]


def _fill(body, world):
    """Put the world's ids where a body says ``"{partner}"``."""
    if isinstance(body, dict):
        return {key: world[item[1:-1]] if item in ("{partner}",) else item for key, item in body.items()}
    return body


@pytest.mark.parametrize(("who", "method", "url", "body", "attr", "code"), JSON_CASES)
def test_bad_json_input_is_refused_and_changes_nothing(world, who, method, url, body, attr, code):
    client = world["clients"][who]
    body = _fill(body, world)
    before = fingerprint()
    response = getattr(client, method)(url.format(**world), body, format="json")
    assert_error(response, 400, attr, code)
    assert fingerprint() == before


def test_unknown_field_error_lists_what_is_accepted(world):
    response = world["clients"]["admin_a"].patch(
        f"/api/v1/partners/{world['partner']}/brand/", {"primary_colour": "#000000"}, format="json"
    )
    error = assert_error(response, 400, "primary_colour", "unknown_field")
    assert "primary_color" in error["detail"] and "tagline" in error["detail"]


@pytest.mark.parametrize(
    "raw",
    [b'{"tagline": "unterminated', b"tagline=x", b"\xff\xfe\x00", b'{"tagline": NaN}'],
)
def test_malformed_json_is_a_parse_error(world, raw):
    before = fingerprint()
    response = world["clients"]["admin_a"].generic(
        "PATCH", f"/api/v1/partners/{world['partner']}/brand/", raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "parse_error"
    assert "JSON" in body["errors"][0]["detail"]
    assert fingerprint() == before


def test_unsupported_media_type(world):
    response = world["clients"]["admin_a"].generic(
        "PATCH", f"/api/v1/partners/{world['partner']}/brand/", b"<tagline/>", content_type="application/xml"
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"tier": "0.5"}, "tier"),
        ({"tier": "abc"}, "tier"),
        ({"parent": "-3"}, "parent"),
        ({"status": "bogus"}, "status"),
        ({"partner_type": "pirate"}, "partner_type"),
        ({"q": "q" * 101}, "q"),
    ],
)
def test_bad_partner_filters(world, params, attr):
    assert_error(world["clients"]["ops"].get("/api/v1/partners/", params), 400, attr)


@pytest.mark.parametrize(
    ("url", "params", "attr"),
    [
        ("/api/v1/memberships/", {"partner": "0.5"}, "partner"),
        ("/api/v1/memberships/", {"role": "owner"}, "role"),
        ("/api/v1/memberships/", {"is_active": "sometimes"}, "is_active"),
        ("/api/v1/invitations/", {"partner": "1e3"}, "partner"),
        ("/api/v1/invitations/", {"state": "lost"}, "state"),
    ],
)
def test_bad_filters_on_other_lists(world, url, params, attr):
    assert_error(world["clients"]["admin_a"].get(url, params), 400, attr)


# Logo uploads --------------------------------------------------------------------------------------------------

SVG_WITH_SCRIPT = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>"""


@pytest.mark.parametrize(
    ("name", "content", "content_type", "phrase"),
    [
        ("logo.png", b"this is plain text pretending to be a PNG", "image/png", "not a readable"),
        ("logo.svg", SVG_WITH_SCRIPT, "image/svg+xml", "SVG"),
        ("logo.png", b"  \n" + SVG_WITH_SCRIPT, "image/png", "SVG"),
        ("logo.html", b"<html><script>alert(1)</script></html>", "text/html", "markup"),
        ("logo.png", png_bytes()[:40], "image/png", "not a readable"),
        ("logo.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj", "application/pdf", "not a readable"),
    ],
)
def test_bad_logos_are_refused(world, name, content, content_type, phrase):
    before = fingerprint()
    response = world["clients"]["admin_a"].put(
        f"/api/v1/partners/{world['partner']}/brand/logo/",
        {"logo": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )
    error = assert_error(response, 400, "logo")
    assert phrase in error["detail"]
    assert fingerprint() == before


def test_empty_or_missing_logo_is_refused(world):
    client = world["clients"]["admin_a"]
    url = f"/api/v1/partners/{world['partner']}/brand/logo/"
    before = fingerprint()
    empty = client.put(url, {"logo": SimpleUploadedFile("logo.png", b"", content_type="image/png")}, format="multipart")
    assert_error(empty, 400, "logo", "empty")
    assert_error(client.put(url, {}, format="multipart"), 400, "logo", "required")
    assert_error(client.put(url, {"logo": "not a file"}, format="multipart"), 400, "logo", "invalid")
    extra = client.put(
        url,
        {"logo": SimpleUploadedFile("l.png", png_bytes(), content_type="image/png"), "width": "999"},
        format="multipart",
    )
    assert_error(extra, 400, "width", "unknown_field")
    assert fingerprint() == before


def test_oversized_logo_is_refused(world, settings):
    settings.LOGO_MAX_BYTES = 1024
    before = fingerprint()
    big = SimpleUploadedFile("logo.png", png_bytes() + b"\0" * 2048, content_type="image/png")
    response = world["clients"]["admin_a"].put(
        f"/api/v1/partners/{world['partner']}/brand/logo/", {"logo": big}, format="multipart"
    )
    assert "larger than" in assert_error(response, 400, "logo")["detail"]
    assert fingerprint() == before


def test_script_appended_to_a_png_does_not_survive(world):
    """A PNG/HTML polyglot is accepted as an image, but what is stored is a fresh PNG without the tail."""
    polyglot = png_bytes() + b"<script>alert(1)</script>"
    response = world["clients"]["admin_a"].put(
        f"/api/v1/partners/{world['partner']}/brand/logo/",
        {"logo": SimpleUploadedFile("logo.png", polyglot, content_type="image/png")},
        format="multipart",
    )
    assert response.status_code == 200
    brand = PartnerBrand.objects.get(partner_id=world["partner"])
    with brand.logo.open("rb") as stored:
        data = stored.read()
    assert data.startswith(b"\x89PNG") and b"<script" not in data
