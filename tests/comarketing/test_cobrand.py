"""Co-branding with hostile partner input: markup, script, over-long text, huge images, local-file tricks."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from comarketing import services
from comarketing.choices import AssetKind, PublishStatus, RenderState, TemplateKind
from comarketing.models import CobrandedFile
from comarketing.rendering import BrandData, render_html_pdf, render_image
from partnerhub import services as core
from partnerhub.choices import StaffRole
from tests.factories import make_staff

TEMPLATE = """<html><head><style>
@page { size: A5; margin: 12mm }
h1 { color: {{ partner.primary_color }}; font-family: DejaVu Sans }
.band { background: {{ partner.accent_color }}; height: 8mm }
</style></head><body>
<div class="band"></div>
{% if partner.logo_data_uri %}<img src="{{ partner.logo_data_uri }}" style="height: 20mm">{% endif %}
<h1>{{ partner.name }}</h1><p>{{ partner.tagline }}</p><p>{{ partner.email }} · {{ partner.phone }}</p>
</body></html>"""


def pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    return "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def brand_data(**overrides) -> BrandData:
    values = {
        "name": "Acme",
        "tagline": "",
        "primary_color": "#1f4fd1",
        "accent_color": "#0f9d8a",
        "text_color": "#ffffff",
        "email": "a@example.com",
        "phone": "",
        "website": "",
        "logo_png": None,
    }
    values.update(overrides)
    return BrandData(**values)


def test_markup_and_script_in_partner_names_are_printed_as_text():
    hostile = '<script>alert(1)</script><img src="file:///etc/passwd"><b>Bold & Co</b>'
    pdf = render_html_pdf(TEMPLATE, brand_data(name=hostile, tagline="</p><iframe src=x>"))
    text = "".join(pdf_text(pdf).split())
    assert "<script>alert(1)</script>" in text  # shown literally, never executed or parsed
    assert "<b>Bold&Co</b>" in text and "root:" not in text


def test_the_renderer_cannot_read_local_files_or_the_network(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    template = (
        f'<link rel="stylesheet" href="file://{secret}"><img src="file://{secret}">'
        '<img src="http://127.0.0.1:9/x.png"><p>ok</p>'
    )
    pdf = render_html_pdf(template, brand_data())
    assert "TOP-SECRET-VALUE" not in pdf_text(pdf)
    assert pdf.startswith(b"%PDF")


def test_over_long_text_is_cut_and_fitted_in_image_templates():
    base = io.BytesIO()
    Image.new("RGB", (800, 400), "white").save(base, format="PNG")
    regions = {"name": [20, 20, 300, 40], "contact": [20, 80, 300, 20], "band": [0, 360, 800, 40]}
    png = render_image(base.getvalue(), regions, brand_data(name="W" * 5000, email="x" * 5000))
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (800, 400)
        assert image.getpixel((400, 380))[:3] == (31, 79, 209)  # the band in the partner's primary colour
        assert image.getpixel((10, 40)) == (255, 255, 255)  # nothing drawn outside the region's left edge


def test_text_reads_on_the_band_and_off_it():
    """On the band the brand's text colour; off it dark on a light template and white on a dark one."""
    base = io.BytesIO()
    image = Image.new("RGB", (600, 300), "white")
    image.paste((17, 24, 39), (0, 150, 600, 200))  # a dark stripe of the template itself
    image.save(base, format="PNG")
    regions = {"band": [0, 250, 600, 50], "name": [10, 255, 580, 40], "contact": [10, 20, 580, 40]}

    def darkest(png, box):
        with Image.open(io.BytesIO(png)) as out:
            return out.convert("L").crop(box).getextrema()[0]

    def lightest(png, box):
        with Image.open(io.BytesIO(png)) as out:
            return out.convert("L").crop(box).getextrema()[1]

    png = render_image(base.getvalue(), regions, brand_data(email="sales@acme.example"))
    assert darkest(png, (10, 20, 590, 60)) < 60  # dark contact text on the white template
    assert lightest(png, (10, 255, 590, 295)) > 240  # white name on the blue band
    on_dark = {**regions, "contact": [10, 155, 580, 40]}
    png = render_image(base.getvalue(), on_dark, brand_data(email="sales@acme.example"))
    assert lightest(png, (10, 155, 590, 195)) > 200  # white contact text on the template's dark stripe


def test_a_decompression_bomb_base_image_is_a_clear_error():
    from partnerhub.errors import DomainError

    big = io.BytesIO()
    Image.new("1", (20000, 20000)).save(big, format="PNG")
    with pytest.raises(DomainError):
        render_image(big.getvalue(), {"name": [0, 0, 10, 10]}, brand_data())


@pytest.mark.django_db
def test_cobrand_request_renders_once_per_asset_and_brand_version(
    partner_a, admin_a, rep_a, django_capture_on_commit_callbacks
):
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mira")
    asset = services.asset_save(
        actor=marketing,
        title="Datasheet",
        kind=AssetKind.PDF,
        status=PublishStatus.PUBLISHED,
        template_kind=TemplateKind.HTML,
    )
    services.asset_add_version(actor=marketing, asset=asset, html_template=TEMPLATE)
    core.brand_update(actor=admin_a, brand=partner_a.brand, display_name="Acme <Secure>", tagline="We & you")
    with django_capture_on_commit_callbacks(execute=True):
        render = services.cobrand_request(actor=rep_a, partner=partner_a, asset=asset)
    render.refresh_from_db()
    assert render.state == RenderState.DONE and render.progress == 100
    assert "Acme<Secure>" in "".join(pdf_text(render.file.read()).split())
    again = services.cobrand_request(actor=rep_a, partner=partner_a, asset=asset)
    assert again.pk == render.pk  # cached
    core.brand_update(actor=admin_a, brand=partner_a.brand, primary_color="#aa0000")
    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.cobrand_request(actor=rep_a, partner=partner_a, asset=asset)
    assert fresh.pk != render.pk and CobrandedFile.objects.filter(partner=partner_a).count() == 2
    services.asset_add_version(actor=marketing, asset=asset, html_template=TEMPLATE.replace("A5", "A4"))
    with django_capture_on_commit_callbacks(execute=True):
        newest = services.cobrand_request(actor=rep_a, partner=partner_a, asset=asset)
    assert newest.pk not in (render.pk, fresh.pk)


@pytest.mark.django_db
def test_broken_vendor_template_fails_visibly(partner_a, rep_a, django_capture_on_commit_callbacks):
    from partnerhub.errors import DomainError

    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mira")
    asset = services.asset_save(
        actor=marketing,
        title="Broken",
        kind=AssetKind.PDF,
        status=PublishStatus.PUBLISHED,
        template_kind=TemplateKind.HTML,
    )
    with pytest.raises(DomainError):
        services.asset_add_version(actor=marketing, asset=asset, html_template="{% if %}")


@pytest.mark.django_db
def test_asset_uploads_are_checked_by_content(partner_a):
    from partnerhub.errors import DomainError

    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mira")
    asset = services.asset_save(actor=marketing, title="Brochure", kind=AssetKind.PDF, status=PublishStatus.PUBLISHED)
    with pytest.raises(DomainError):
        services.asset_add_version(
            actor=marketing, asset=asset, upload=SimpleUploadedFile("brochure.pdf", b"<html><script>x</script></html>")
        )
    pdf = render_html_pdf("<h1>Brochure</h1>", brand_data())
    version = services.asset_add_version(actor=marketing, asset=asset, upload=SimpleUploadedFile("b.pdf", pdf))
    assert version.content_type == "application/pdf" and version.thumbnail  # first page preview made
