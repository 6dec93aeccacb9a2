"""Co-branded rendering: an asset template plus a partner's brand → a PDF or an image.

Nothing a partner enters can run in the renderer:

* HTML templates are the vendor's; partner data reaches them only as template variables, escaped by Django's
  autoescaping (name, tagline, contact details) or as validated values (``#rrggbb`` colours) and a logo that
  PartnerHub re-encoded itself, passed as a ``data:`` URI.
* WeasyPrint fetches nothing but ``data:`` URLs (no ``file://``, no network), so a template or a value cannot
  read local files or reach internal services.
* Image templates draw partner text with Pillow (text is pixels, never markup), shrinking it to fit its
  region and truncating what still does not fit.
* Over-long values are cut before rendering; huge images are refused by Pillow's pixel limit.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from django.template import Context, Engine
from PIL import Image, ImageDraw, ImageFont

from partnerhub.errors import DomainError

MAX_NAME = 120
MAX_TEXT = 300
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_ENGINE = Engine(autoescape=True, debug=False, dirs=[], app_dirs=False, libraries={})  # no file access


@dataclass(frozen=True)
class BrandData:
    """The partner data a render may use, already bounded and validated."""

    name: str
    tagline: str
    primary_color: str
    accent_color: str
    text_color: str
    email: str
    phone: str
    website: str
    logo_png: bytes | None

    @classmethod
    def from_brand(cls, brand) -> BrandData:
        logo = None
        if brand.logo:
            with brand.logo.open("rb") as handle:
                logo = handle.read()
        return cls(
            name=brand.display_name[:MAX_NAME],
            tagline=brand.tagline[:MAX_TEXT],
            primary_color=brand.primary_color,
            accent_color=brand.accent_color,
            text_color=brand.primary_text_color,
            email=brand.support_email[:MAX_TEXT],
            phone=brand.support_phone[:MAX_TEXT],
            website=(brand.partner.website or "")[:MAX_TEXT],
            logo_png=logo,
        )

    @property
    def logo_data_uri(self) -> str:
        if not self.logo_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(self.logo_png).decode("ascii")


def render_html_pdf(template_source: str, brand: BrandData, *, extra: dict | None = None) -> bytes:
    """Render the vendor's HTML/CSS template with the partner's brand into a PDF."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    try:
        template = _ENGINE.from_string(template_source)
    except Exception as exc:  # a broken vendor template is the vendor's error to fix
        raise DomainError(f"The asset's template does not compile: {exc}", field="html_template") from None
    html = template.render(Context({"partner": brand, **(extra or {})}, autoescape=True))
    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=5)
    return HTML(string=html, base_url="data:,", url_fetcher=fetcher).write_pdf()


def _font(size: int, bold: bool = True):
    path = FONT_PATHS[0] if bold else FONT_PATHS[1]
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.load_default(size)


def _fit_text(draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int], *, bold: bool, fill: str) -> None:
    """Draw ``text`` inside ``box``, shrinking the font down to 10 px and ellipsising what still overflows."""
    x, y, w, h = box
    text = " ".join(text.split())
    if not text or w <= 0 or h <= 0:
        return
    size = max(min(h, 96), 10)
    while size > 10:
        font = _font(size, bold)
        if draw.textlength(text, font=font) <= w:
            break
        size -= 2
    font = _font(size, bold)
    if draw.textlength(text, font=font) > w:
        while text and draw.textlength(text + "…", font=font) > w:
            text = text[:-1]
        text = text.rstrip() + "…"
    draw.text((x, y + (h - size) // 2), text, font=font, fill=fill)


def render_image(base_image: bytes, regions: dict, brand: BrandData) -> bytes:
    """Paste the partner's logo and draw its name and contact into the template's placeholder regions."""
    try:
        with Image.open(io.BytesIO(base_image), formats=["PNG", "JPEG", "WEBP"]) as opened:
            canvas = opened.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise DomainError("The asset's base image cannot be read.", field="file") from None

    def region(key):
        value = regions.get(key)
        if not value or len(value) != 4:
            return None
        x, y, w, h = (int(v) for v in value)
        return max(x, 0), max(y, 0), min(w, canvas.width - max(x, 0)), min(h, canvas.height - max(y, 0))

    if brand.logo_png and (box := region("logo")):
        try:
            with Image.open(io.BytesIO(brand.logo_png), formats=["PNG"]) as logo_file:
                logo = logo_file.convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError):
            logo = None
        if logo is not None and box[2] > 0 and box[3] > 0:
            logo.thumbnail((box[2], box[3]), Image.Resampling.LANCZOS)
            offset = (box[0] + (box[2] - logo.width) // 2, box[1] + (box[3] - logo.height) // 2)
            canvas.alpha_composite(logo, offset)
    draw = ImageDraw.Draw(canvas)
    band = region("band")
    if band:
        draw.rectangle((band[0], band[1], band[0] + band[2], band[1] + band[3]), fill=brand.primary_color)
    if box := region("name"):
        _fit_text(draw, brand.name, box, bold=True, fill=_text_fill(canvas, box, band, brand))
    if box := region("contact"):
        contact = " · ".join(v for v in (brand.email, brand.phone, brand.website) if v)
        _fit_text(draw, contact, box, bold=False, fill=_text_fill(canvas, box, band, brand))
    out = io.BytesIO()
    # Default zlib compression: optimize=True costs most of a render's time for a few per cent of file size.
    canvas.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _text_fill(canvas: Image.Image, box: tuple, band: tuple | None, brand: BrandData) -> str:
    """Text on the brand's band takes the brand's text colour; elsewhere dark or white, whichever reads on the
    template's own pixels under the text."""
    x, y, w, h = box
    if band and band[0] <= x + w / 2 <= band[0] + band[2] and band[1] <= y + h / 2 <= band[1] + band[3]:
        return brand.text_color
    if w <= 0 or h <= 0:
        return "#111827"
    patch = canvas.crop((x, y, x + w, y + h)).convert("L").resize((1, 1), Image.Resampling.BOX)
    return "#111827" if patch.getpixel((0, 0)) >= 128 else "#ffffff"


def pdf_first_page_png(pdf: bytes, *, width: int = 480) -> bytes | None:
    """A PNG preview of a PDF's first page (pypdfium2), or None if it cannot be rendered."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return None
    try:
        document = pdfium.PdfDocument(pdf)
        page = document[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG", optimize=True)
        return out.getvalue()
    except Exception:
        return None
