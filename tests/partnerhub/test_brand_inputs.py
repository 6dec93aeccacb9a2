"""The brand settings form: what a partner admin types or uploads can never reach CSS or markup unchecked."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from partnerhub.models import PartnerBrand

pytestmark = pytest.mark.django_db

URL = "/settings/brand/"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def valid_data(**overrides) -> dict:
    data = {
        "display_name": "Acme Resellers",
        "tagline": "",
        "primary_color": "#1f4fd1",
        "accent_color": "#0f9d8a",
        "support_email": "",
        "support_phone": "",
    }
    data.update(overrides)
    return data


def image_bytes(fmt: str = "PNG", size=(60, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def brand_of(partner) -> PartnerBrand:
    return PartnerBrand.objects.get(partner=partner)


def stored_logo(partner) -> bytes:
    brand = brand_of(partner)
    with brand.logo.open("rb") as handle:
        return handle.read()


def test_admin_sees_the_form_with_hosts_read_only(partner_a, admin_a):
    response = admin_client(admin_a).get(URL)
    assert response.status_code == 200
    assert 'name="display_name"' in response.text
    assert "acme-resellers.localhost" in response.text
    assert 'name="subdomain"' not in response.text
    assert 'name="custom_domain"' not in response.text


def test_colours_and_contacts_are_saved_and_reach_css_only_as_custom_properties(partner_a, admin_a):
    client = admin_client(admin_a)
    response = client.post(
        URL,
        valid_data(
            display_name="Acme Partner Network",
            primary_color="#FFEB3B",
            accent_color="#123456",
            support_email="help@acme.example",
            support_phone="+1 555 0100",
        ),
    )
    assert response.status_code == 302
    brand = brand_of(partner_a)
    assert (brand.display_name, brand.primary_color, brand.accent_color) == (
        "Acme Partner Network",
        "#ffeb3b",
        "#123456",
    )
    assert brand.support_email == "help@acme.example"
    page = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">:root{{--brand-primary:#ffeb3b;--brand-on-primary:#111827;' in page.text
    assert "--brand-accent:#123456;--brand-on-accent:#ffffff" in page.text
    assert "help@acme.example" in page.text  # the footer shows the support contacts


def test_subdomain_cannot_be_changed_from_the_portal(partner_a, admin_a):
    admin_client(admin_a).post(URL, valid_data(subdomain="evil", custom_domain="evil.example.com"))
    brand = brand_of(partner_a)
    assert brand.subdomain == "acme-resellers"
    assert brand.custom_domain == ""


@pytest.mark.parametrize(
    "colour",
    ["red;} body{x:url(javascript:1)}", "red", "#12345", "#1234567", "#ggg000", "</style><script>alert(1)</script>"],
)
def test_a_bad_colour_is_a_form_error_and_nothing_is_saved(partner_a, admin_a, colour):
    before = brand_of(partner_a)
    response = admin_client(admin_a).post(URL, valid_data(display_name="Changed", primary_color=colour))
    assert response.status_code == 400
    assert "Enter a colour as # followed by six hexadecimal digits" in response.text
    assert "Nothing was saved" in response.text
    after = brand_of(partner_a)
    assert (after.display_name, after.primary_color, after.version) == (
        before.display_name,
        before.primary_color,
        before.version,
    )
    assert "<script>alert(1)</script>" not in response.text
    assert "javascript:1" not in response.text.split("</style>", 1)[0]  # never inside the style block


def test_a_non_image_logo_is_rejected(partner_a, admin_a):
    upload = SimpleUploadedFile("logo.png", b"just some text, not an image", content_type="image/png")
    response = admin_client(admin_a).post(URL, {**valid_data(display_name="Changed"), "logo": upload})
    assert response.status_code == 400
    assert "not a readable PNG, JPEG, WebP or GIF image" in response.text
    brand = brand_of(partner_a)
    assert not brand.logo
    assert brand.display_name == "Acme Resellers"  # nothing else was saved either


def test_an_svg_logo_with_script_is_rejected(partner_a, admin_a):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
    upload = SimpleUploadedFile("logo.svg", svg, content_type="image/svg+xml")
    response = admin_client(admin_a).post(URL, {**valid_data(), "logo": upload})
    assert response.status_code == 400
    assert "SVG and other markup files are not accepted" in response.text
    assert not brand_of(partner_a).logo


def test_a_png_logo_is_accepted_and_stored_re_encoded(partner_a, admin_a):
    original = image_bytes("PNG")
    upload = SimpleUploadedFile("logo.png", original, content_type="image/png")
    response = admin_client(admin_a).post(URL, {**valid_data(), "logo": upload})
    assert response.status_code == 302
    brand = brand_of(partner_a)
    assert brand.logo.name.endswith(".png")
    assert (brand.logo_width, brand.logo_height) == (60, 30)
    data = stored_logo(partner_a)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (60, 30)
        assert image.mode == "RGBA"  # redrawn by PartnerHub, not the uploaded bytes
    assert data != original


def test_a_jpeg_logo_is_stored_as_png(partner_a, admin_a):
    upload = SimpleUploadedFile("logo.jpg", image_bytes("JPEG"), content_type="image/jpeg")
    assert admin_client(admin_a).post(URL, {**valid_data(), "logo": upload}).status_code == 302
    assert stored_logo(partner_a).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_png_html_polyglot_loses_its_trailing_bytes(partner_a, admin_a):
    payload = b"<html><body><script>alert(document.domain)</script></body></html>"
    upload = SimpleUploadedFile("logo.png", image_bytes("PNG") + payload, content_type="image/png")
    response = admin_client(admin_a).post(URL, {**valid_data(), "logo": upload})
    assert response.status_code == 302
    data = stored_logo(partner_a)
    assert b"<script" not in data and b"<html" not in data
    assert data.endswith(b"IEND\xaeB`\x82")  # the file ends where the PNG ends
    served = Client().get(f"/brand/{brand_of(partner_a).subdomain}/logo.png")
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == data


def test_removing_the_logo(partner_a, admin_a):
    client = admin_client(admin_a)
    client.post(URL, {**valid_data(), "logo": SimpleUploadedFile("l.png", image_bytes(), content_type="image/png")})
    assert brand_of(partner_a).logo
    response = client.post(URL, {**valid_data(), "remove_logo": "on"})
    assert response.status_code == 302
    assert not brand_of(partner_a).logo


def test_required_fields_and_bad_contacts_are_form_errors(partner_a, admin_a):
    response = admin_client(admin_a).post(URL, valid_data(display_name="", support_email="not-an-email"))
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert "Enter a valid email address." in response.text
    assert brand_of(partner_a).display_name == "Acme Resellers"


def test_a_rep_cannot_change_the_brand(partner_a, rep_a):
    response = admin_client(rep_a).post(URL, valid_data(display_name="Rep's brand"))
    assert response.status_code == 403
    assert brand_of(partner_a).display_name == "Acme Resellers"


def test_an_admin_of_b_changes_only_b(partner_a, partner_b, admin_b):
    response = admin_client(admin_b).post(URL, valid_data(display_name="Bolt Brand"))
    assert response.status_code == 302
    assert brand_of(partner_b).display_name == "Bolt Brand"
    assert brand_of(partner_a).display_name == "Acme Resellers"
