#!/usr/bin/env python3
"""``make bench-cobrand``: request N co-branded renders (PDF datasheets and image banners) from distinct partner
brands, render them on real Celery workers and measure.

Steps:

1. (re)create the bench database (default ``postgres://postgres@127.0.0.1:5432/partnerhub_bench_cobrand``) and
   migrate it; through the co-marketing services, a marketing manager publishes two co-brandable assets: a
   two-page A4 HTML/CSS datasheet and a 1200 x 628 px social banner with logo, name, contact and colour-band
   regions;
2. create the partners (300 by default, at least N / 2), each with a brand of its own: a generated logo PNG
   uploaded through ``brand_update`` (re-encoded as in production), colours, tagline and contact details, and a
   sales rep who requests the renders;
3. start the workers: by default two ``celery worker --concurrency=1`` processes on Redis, on a queue of this
   run's own, writing files to a media directory of the run's own;
4. request N renders back to back as the partners' reps, alternating datasheet and banner (``--mix``); every
   request is a distinct (partner, asset version, brand version), so none is served from the render cache, and
   each enqueues its render after commit;
5. wait until every render has finished, verify every one (state done, the file exists, it is a PDF of two pages
   naming the partner or a PNG of the banner's size with the partner's colour in the band, no two files alike),
   then request a sample of the same renders again to show that a cached request enqueues and renders nothing;
6. print renders per minute (overall and per kind), p50/p95 of request → ready, queue wait and render time, the
   worker layout and the command. Exit status 1 if anything failed verification.

The script stops the workers it started and removes its queue from Redis however it ends (Ctrl-C, SIGTERM, an
error). Run it on an otherwise idle machine: the workers, PostgreSQL and this script share the CPUs.

    python scripts/bench_cobrand.py [--renders 300] [--partners 300] [--mix both|pdf|image] [--workers 2]
"""

from __future__ import annotations

import argparse
import colorsys
import hashlib
import io
import math
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_celery import Workers, pct, purge_queue, recreate_database, seconds  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/partnerhub_bench_cobrand"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
KINDS = {"both": ("pdf", "image"), "pdf": ("pdf",), "image": ("image",)}
BANNER_SIZE = (1200, 628)
# The partner's name and contact sit on a band in its primary colour (the renderer writes them in the band's
# readable text colour); the logo goes on the light area above it.
BANNER_REGIONS = {
    "logo": [860, 296, 300, 156],
    "name": [60, 484, 760, 64],
    "contact": [60, 564, 760, 40],
    "band": [0, 468, 1200, 160],
}
DATASHEET_PAGES = 2
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# A two-page A4 datasheet as a vendor would write it: a header band in the partner's colours with its logo, the
# product story, a specification table, ordering information and the partner's contact block; a footer with the
# partner's contact details repeats on every page.
DATASHEET = """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 0 0 22mm 0 }
body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #1f2937; font-size: 10pt; line-height: 1.45 }
.band { background: {{ partner.primary_color }}; color: {{ partner.text_color }}; padding: 16mm 16mm 10mm }
.band h1 { margin: 0; font-size: 24pt; letter-spacing: -0.3pt } .band p { margin: 3mm 0 0; font-size: 11.5pt }
.logo { float: right; max-height: 20mm; max-width: 60mm; background: #fff; padding: 3mm; border-radius: 2mm }
main { padding: 8mm 16mm 0 } h2 { color: {{ partner.primary_color }}; font-size: 14pt; margin: 7mm 0 2mm }
.columns { columns: 2; column-gap: 8mm } .columns p { margin: 0 0 3mm }
.highlights { display: flex; gap: 4mm; margin: 6mm 0 }
.highlights div { flex: 1; border-top: 1.2mm solid {{ partner.accent_color }}; background: #f3f4f6; padding: 3mm }
.highlights strong { display: block; font-size: 17pt; color: {{ partner.primary_color }} }
ul.features li { margin: 1.5mm 0 }
table { width: 100%; border-collapse: collapse; margin-top: 2mm; font-size: 9.5pt }
th { text-align: left; width: 38%; color: #374151; font-weight: bold }
th, td { padding: 1.3mm 2mm; border-bottom: 0.3mm solid #e5e7eb; vertical-align: top }
tr:nth-child(even) td, tr:nth-child(even) th { background: #f9fafb }
.next-page { page-break-before: always; padding-top: 4mm }
.contact { margin-top: 6mm; border-left: 2mm solid {{ partner.accent_color }}; padding: 3mm 5mm; background: #f3f4f6 }
.contact h3 { margin: 0 0 2mm; color: {{ partner.primary_color }} }
footer { position: fixed; bottom: -14mm; left: 16mm; right: 16mm; font-size: 8.5pt; color: #4b5563;
         border-top: 0.3mm solid #d1d5db; padding-top: 2.5mm }
</style></head><body>
<footer>{{ partner.name }}{% if partner.email %} · {{ partner.email }}{% endif %}{% if partner.phone %}
 · {{ partner.phone }}{% endif %}{% if partner.website %} · {{ partner.website }}{% endif %}</footer>
<div class="band">{% if partner.logo_data_uri %}<img class="logo" src="{{ partner.logo_data_uri }}" alt="">{% endif %}
<h1>Secure Edge Router X5</h1>
<p>Branch security and routing in one box — presented by {{ partner.name }}{% if partner.tagline %},
{{ partner.tagline }}{% endif %}</p></div>
<main>
<div class="highlights"><div><strong>10 Gbit/s</strong>routed throughput with inspection on</div>
<div><strong>&lt; 15 min</strong>from delivery to a protected branch</div>
<div><strong>5 years</strong>of firmware and signature updates</div></div>
<h2>Why the X5</h2>
<div class="columns">
<p>Branch offices need the same protection as headquarters without a security engineer on site. The X5 combines
routing, a next-generation firewall, intrusion prevention and an SD-WAN edge in a fanless desktop unit that is
configured centrally and shipped straight to the branch.</p>
<p>Zero-touch provisioning enrols the router with your management console the moment it is plugged in; policies,
VPN tunnels and application rules follow automatically. Firmware updates are staged and rolled back per site.</p>
<p>Inline threat protection inspects encrypted traffic at line rate with dedicated hardware, so security does not
cost bandwidth. Threat intelligence is updated every fifteen minutes.</p>
<p>{{ partner.name }} designs, installs and supports X5 deployments, from a single shop to hundreds of
sites, and can run them for you as a managed service.</p>
</div>
<h2>Features</h2>
<ul class="features">
<li>Stateful firewall, IPS, URL filtering and DNS security in one policy</li>
<li>SD-WAN with per-application path selection over up to four uplinks, including LTE/5G</li>
<li>Site-to-site and remote-access VPN (IPsec and WireGuard), 2,000 concurrent tunnels</li>
<li>Zero-touch provisioning and central management from the cloud or on premises</li>
<li>Detailed traffic and threat reports, exportable to your SIEM over syslog or HTTPS</li>
<li>Fanless, silent design for offices and shops; optional rack kit</li>
</ul>
<div class="next-page">
<h2>Specifications</h2>
<table>
<tr><th>Routed throughput</th><td>10 Gbit/s (IMIX 6.2 Gbit/s)</td></tr>
<tr><th>Threat protection throughput</th><td>4.8 Gbit/s, TLS inspection 2.1 Gbit/s</td></tr>
<tr><th>VPN throughput</th><td>IPsec 3.5 Gbit/s, WireGuard 2.8 Gbit/s</td></tr>
<tr><th>Concurrent sessions</th><td>1,500,000; 60,000 new sessions per second</td></tr>
<tr><th>Interfaces</th><td>2 × 10G SFP+, 8 × 2.5G RJ45 (2 PoE+), 1 × USB-C console</td></tr>
<tr><th>Wireless (X5w)</th><td>Wi-Fi 6E, 4 × 4 MU-MIMO, three bands</td></tr>
<tr><th>Cellular (X5c)</th><td>5G / LTE Cat 20, dual SIM</td></tr>
<tr><th>Storage</th><td>128 GB SSD for logs and reports</td></tr>
<tr><th>Power</th><td>External 90 W supply; typical draw 28 W</td></tr>
<tr><th>Dimensions</th><td>272 × 185 × 44 mm, 1.9 kg</td></tr>
<tr><th>Operating temperature</th><td>0–40 °C, 10–90 % humidity non-condensing</td></tr>
<tr><th>Certifications</th><td>CE, FCC, UL, ICSA Labs firewall, Common Criteria (in evaluation)</td></tr>
<tr><th>Management</th><td>Cloud console, on-premises manager, REST API, Terraform provider</td></tr>
<tr><th>Warranty</th><td>Limited lifetime hardware warranty; next-business-day replacement</td></tr>
</table>
<h2>Ordering information</h2>
<table>
<tr><th>X5-BASE</th><td>X5 router with one year of threat protection</td></tr>
<tr><th>X5W-BASE</th><td>X5 with Wi-Fi 6E and one year of threat protection</td></tr>
<tr><th>X5C-BASE</th><td>X5 with 5G modem and one year of threat protection</td></tr>
<tr><th>X5-TP-3Y / X5-TP-5Y</th><td>Threat protection and support, three or five years</td></tr>
<tr><th>X5-RACK</th><td>19-inch rack kit for one or two units</td></tr>
</table>
<div class="contact"><h3>Talk to {{ partner.name }}</h3>
<p>Ask us for a free site survey and a 30-day trial unit.{% if partner.tagline %} {{ partner.tagline }}.{% endif %}</p>
<p>{% if partner.email %}E-mail: {{ partner.email }}<br>{% endif %}{% if partner.phone %}Phone: {{ partner.phone }}
<br>{% endif %}{% if partner.website %}Web: {{ partner.website }}{% endif %}</p></div>
</div>
</main></body></html>"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", "-n", type=int, default=300, help="co-branded renders to request (300)")
    parser.add_argument("--partners", type=int, default=300, help="partners with a brand each (300; at least N/2)")
    parser.add_argument("--mix", choices=sorted(KINDS), default="both", help="kinds of render, alternating (both)")
    parser.add_argument("--cached", type=int, default=50, help="renders requested again in the cached pass (50)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker (1)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_COBRAND_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_COBRAND_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the renders (3600)")
    args = parser.parse_args(argv)
    if min(args.renders, args.partners, args.workers, args.concurrency) < 1 or args.cached < 0:
        parser.error("--renders, --partners, --workers and --concurrency must be at least 1, --cached at least 0")
    return args


# Content --------------------------------------------------------------------------------------------------------

WORDS = ["Amber", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper"]
TRADES = ["Systems", "Networks", "Solutions", "Digital", "Security", "Cloud", "Partners", "Labs"]
TAGLINES = [
    "Managed security for growing businesses",
    "Your network, handled",
    "Branch IT for retail and hospitality",
    "Secure connectivity since 1998",
    "Cloud and network services for manufacturers",
]


def brand_colours(i: int) -> tuple[str, str]:
    """A distinct primary colour per partner (golden-angle hues) and an accent of the opposite hue."""

    def hex_of(hue: float, saturation: float, value: float) -> str:
        r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
        return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"

    hue = (i * 0.381966) % 1.0
    return hex_of(hue, 0.55 + 0.4 * ((i * 7) % 10) / 10, 0.35 + 0.5 * ((i * 3) % 10) / 10), hex_of(hue + 0.5, 0.7, 0.8)


def make_logo(name: str, primary: str, accent: str) -> bytes:
    """A logo as partners upload them: a shaded mark with initials and the company name, 720 x 220 px PNG
    with transparency."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 720, 220
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    p = tuple(int(primary[k : k + 2], 16) for k in (1, 3, 5))
    a = tuple(int(accent[k : k + 2], 16) for k in (1, 3, 5))
    for y in range(20, 200):  # a vertical gradient from the primary to the accent colour
        t = (y - 20) / 180
        draw.line((20, y, 200, y), fill=(*(round(p[c] * (1 - t) + a[c] * t) for c in range(3)), 255))
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rounded_rectangle((20, 20, 200, 200), radius=36, fill=255)
    image.putalpha(Image.composite(image.getchannel("A"), mask, mask))
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    try:
        big, small = ImageFont.truetype(FONT, 84), ImageFont.truetype(FONT, 46)
    except OSError:
        big, small = ImageFont.load_default(84), ImageFont.load_default(46)
    draw = ImageDraw.Draw(image)
    draw.text((110, 110), initials, font=big, fill="white", anchor="mm")
    words = name.split()
    draw.text((230, 62), " ".join(words[:2]), font=small, fill=(17, 24, 39, 255))
    draw.text((230, 122), " ".join(words[2:]), font=small, fill=(*p, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def make_banner() -> bytes:
    """The vendor's base image of the social banner: a shaded background, the offer and a product outline."""
    from PIL import Image, ImageDraw, ImageFont

    width = BANNER_SIZE[0]
    image = Image.new("RGB", BANNER_SIZE, "#f8fafc")
    draw = ImageDraw.Draw(image)
    for y in range(0, 280):
        shade = 15 + round(30 * y / 280)
        draw.line((0, y, width, y), fill=(shade, shade + 8, shade + 30))
    for k in range(6):
        draw.ellipse((760 + k * 40, -160 + k * 24, 1180 + k * 40, 260 + k * 24), outline=(56, 189, 248), width=2)
    draw.rounded_rectangle((820, 100, 1140, 200), radius=12, fill=(226, 232, 240), outline=(148, 163, 184), width=3)
    for k in range(8):
        draw.rectangle((850 + k * 34, 165, 872 + k * 34, 185), fill=(71, 85, 105))
    try:
        title, line = ImageFont.truetype(FONT, 54), ImageFont.truetype(FONT, 28)
    except OSError:
        title, line = ImageFont.load_default(54), ImageFont.load_default(28)
    draw.text((60, 80), "Spring security sale", font=title, fill="white")
    draw.text((60, 160), "20% off Secure Edge X5 routers until 30 June", font=line, fill=(186, 230, 253))
    draw.text((60, 330), "Book a free site survey with your local X5 partner", font=line, fill=(71, 85, 105))
    draw.text((60, 380), "Trial units available now", font=line, fill=(100, 116, 139))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# The benchmark --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What one run measured and found. ``problems`` is empty when every render checked out."""

    renders: int
    partners: int
    mix: str
    setup_seconds: float = 0.0
    request_seconds: float = 0.0
    wall: float = float("nan")
    states: dict[str, int] = field(default_factory=dict)
    per_kind: dict[str, dict] = field(default_factory=dict)
    overall: dict = field(default_factory=dict)
    cached: dict = field(default_factory=dict)
    logo_bytes: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    render_ids: list[int] = field(default_factory=list)
    load_before: tuple[float, ...] = (float("nan"),)
    load_after: tuple[float, ...] = (float("nan"),)

    @property
    def throughput(self) -> float:
        done = self.states.get("done", 0)
        return done / self.wall * 60 if self.wall == self.wall and self.wall > 0 else float("nan")


def setup(*, partners: int, log: Callable[[str], None] = say):
    """Publish the two co-brandable assets and create ``partners`` partners with brands and reps, through the
    services. Returns the assets by kind and a list of (partner, rep, brand, logo size)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from comarketing import services
    from comarketing.choices import AssetKind, PublishStatus, TemplateKind
    from partnerhub import services as core
    from partnerhub.choices import MembershipRole, PartnerStatus, StaffRole
    from partnerhub.models import User

    tag = uuid.uuid4().hex[:6]  # lets setup run twice on one database (the test, a rerun without recreating)
    marketing = User.objects.create_user(
        username=f"bench-marketing-{tag}", email=f"marketing-{tag}@vendor.example", password=None, is_staff=True
    )
    core.staff_roles_set(actor=None, user=marketing, role_values=[StaffRole.MARKETING_MANAGER])
    marketing = User.objects.get(pk=marketing.pk)
    datasheet = services.asset_save(
        actor=marketing,
        title="Secure Edge Router X5 datasheet",
        description="Two-page datasheet with your logo, colours and contact details.",
        kind=AssetKind.PDF,
        status=PublishStatus.PUBLISHED,
        template_kind=TemplateKind.HTML,
        tags=["x5", "datasheet"],
    )
    services.asset_add_version(actor=marketing, asset=datasheet, html_template=DATASHEET)
    banner = services.asset_save(
        actor=marketing,
        title="Spring sale social banner",
        description="LinkedIn banner with your logo, name and contact details.",
        kind=AssetKind.IMAGE,
        status=PublishStatus.PUBLISHED,
        template_kind=TemplateKind.IMAGE,
        tags=["campaign", "social"],
    )
    services.asset_add_version(
        actor=marketing,
        asset=banner,
        upload=SimpleUploadedFile("spring-banner.png", make_banner(), content_type="image/png"),
        regions=BANNER_REGIONS,
    )
    created = []
    started = time.monotonic()
    for i in range(partners):
        name = f"{WORDS[i % 10]} {WORDS[(i // 10) % 10]} {TRADES[i % 8]} {i:04d}"
        domain = f"cobrand-{tag}-{i:04d}.example"
        primary, accent = brand_colours(i)
        partner = core.partner_create(
            actor=None,
            name=name,
            partner_type="reseller",
            status=PartnerStatus.ACTIVE,
            website=f"https://www.{domain}",
            country="DE",
            region="EMEA",
        )
        logo = make_logo(name, primary, accent)
        brand = core.brand_update(
            actor=None,
            brand=partner.brand,
            logo=SimpleUploadedFile("logo.png", logo, content_type="image/png"),
            tagline=TAGLINES[i % len(TAGLINES)],
            primary_color=primary,
            accent_color=accent,
            support_email=f"sales@{domain}",
            support_phone=f"+49 30 {5550000 + i}",
        )
        rep = User.objects.create_user(
            username=f"rep-{tag}-{i:04d}", email=f"rep@{domain}", password=None, first_name="Robin"
        )
        core.membership_add(actor=None, partner=partner, user=rep, role=MembershipRole.REP)
        created.append((partner, rep, brand, len(logo)))
        if (i + 1) % 50 == 0:
            log(f"  {i + 1}/{partners} partners ({time.monotonic() - started:.0f} s)")
    return {"pdf": datasheet, "image": banner}, created


def plan(assets: dict, partners: list, renders: int, mix: str) -> list[tuple]:
    """(kind, asset, partner, rep) for each render: kinds alternate, and a partner gets each asset at most once,
    so every request is a distinct (partner, asset version, brand version)."""
    kinds = KINDS[mix]
    pairs = []
    for round_ in range(len(kinds)):
        for i, (partner, rep, brand, _) in enumerate(partners):
            kind = kinds[(i + round_) % len(kinds)]
            pairs.append((kind, assets[kind], partner, rep, brand))
    if renders > len(pairs):
        raise ValueError(f"{renders} renders need at least {math.ceil(renders / len(kinds))} partners")
    return pairs[:renders]


def verify(render_ids: list[int], expected: dict[int, tuple]) -> list[str]:
    """Check every render by what it produced; returns what is wrong (nothing when all is well)."""
    import pypdfium2 as pdfium
    from PIL import Image

    from comarketing.choices import RenderState
    from comarketing.models import CobrandedFile

    problems: list[str] = []
    digests: dict[str, int] = {}
    band_x, band_y = BANNER_REGIONS["band"][0] + 4, BANNER_REGIONS["band"][1] + BANNER_REGIONS["band"][3] // 2
    renders = {r.pk: r for r in CobrandedFile.objects.filter(pk__in=render_ids).select_related("partner__brand")}
    if len(renders) != len(render_ids):
        problems.append(f"{len(render_ids) - len(renders)} requested renders have no row")
    for pk, render in sorted(renders.items()):
        kind, brand_name, primary = expected[pk]
        label = f"render {pk} ({kind}, {brand_name})"
        if render.state != RenderState.DONE or render.progress != 100 or render.error:
            problems.append(f"{label}: state {render.state}, progress {render.progress}, error {render.error!r}")
            continue
        if not render.file or not render.file.storage.exists(render.file.name):
            problems.append(f"{label}: no file on storage ({render.file.name!r})")
            continue
        with render.file.open("rb") as handle:
            data = handle.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest in digests:
            problems.append(f"{label}: same bytes as render {digests[digest]}")
        digests[digest] = pk
        if kind == "pdf":
            if render.content_type != "application/pdf" or not data.startswith(b"%PDF-"):
                problems.append(f"{label}: not a PDF (content type {render.content_type!r}, starts {data[:8]!r})")
                continue
            try:
                document = pdfium.PdfDocument(data)
                pages = len(document)
                text = "".join(document[i].get_textpage().get_text_range() for i in range(pages))
                document.close()
            except pdfium.PdfiumError as exc:
                problems.append(f"{label}: the PDF does not open: {exc}")
                continue
            if pages != DATASHEET_PAGES:
                problems.append(f"{label}: {pages} pages, expected {DATASHEET_PAGES}")
            if "".join(brand_name.split()) not in "".join(text.split()):
                problems.append(f"{label}: the partner's name is not in the PDF's text")
        else:
            if render.content_type != "image/png" or not data.startswith(b"\x89PNG\r\n\x1a\n"):
                problems.append(f"{label}: not a PNG (content type {render.content_type!r}, starts {data[:8]!r})")
                continue
            try:
                with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                    image.load()
                    size, band = image.size, image.convert("RGB").getpixel((band_x, band_y))
            except (OSError, ValueError) as exc:
                problems.append(f"{label}: the PNG does not open: {exc}")
                continue
            if size != BANNER_SIZE:
                problems.append(f"{label}: {size[0]} × {size[1]} px, expected {BANNER_SIZE[0]} × {BANNER_SIZE[1]}")
            want = tuple(int(primary[k : k + 2], 16) for k in (1, 3, 5))
            if band != want:
                problems.append(f"{label}: the band is {band}, not the partner's colour {want}")
    return problems


def run_benchmark(
    *,
    renders: int,
    partners: int,
    mix: str = "both",
    cached: int = 50,
    timeout: float = 3600,
    before_requests: Callable[[], None] | None = None,
    log: Callable[[str], None] = say,
) -> Result:
    """Set up, request ``renders`` co-branded renders, wait for the workers consuming the Celery app's default
    queue to finish them, verify them and request a sample again. Runs in a configured Django process; the
    workers are the caller's (``before_requests`` is called once setup is done, e.g. to start them)."""
    from celery.signals import before_task_publish
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from comarketing import services
    from comarketing.choices import RenderState
    from comarketing.models import CobrandedFile
    from partnerhub import celery_app

    kinds = KINDS[mix]
    partners = max(partners, math.ceil(renders / len(kinds)))
    result = Result(renders=renders, partners=partners, mix=mix)

    log(f"Publishing two co-brandable assets and creating {partners} partners with their brands")
    started = time.monotonic()
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # setup's own tasks (e-mails) run here, not queued ahead of renders
    try:
        assets, created = setup(partners=partners, log=log)
    finally:
        celery_app.conf.task_always_eager = was_eager
    result.setup_seconds = time.monotonic() - started
    result.logo_bytes = [size for *_, size in created]
    work = plan(assets, created, renders, mix)
    if before_requests is not None:
        before_requests()
    if celery_app.conf.task_always_eager:
        raise RuntimeError("Renders must go to the workers: this process runs Celery tasks eagerly.")
    result.load_before = os.getloadavg()

    log(f"Requesting {renders} co-branded renders ({', '.join(kinds)}), each enqueued after its commit")
    expected: dict[int, tuple] = {}
    kind_of: dict[int, str] = {}
    started = time.monotonic()
    for kind, asset, partner, rep, brand in work:
        render = services.cobrand_request(actor=rep, partner=partner, asset=asset)
        if render.state != RenderState.PENDING:
            result.problems.append(f"render {render.pk} for {partner} was {render.state} on request: a cache hit")
        expected[render.pk] = (kind, brand.display_name, brand.primary_color)
        kind_of[render.pk] = kind
    result.request_seconds = time.monotonic() - started
    ids = list(expected)
    result.render_ids = ids
    log(f"Requested {renders} in {result.request_seconds:.1f} s; waiting for the renders")

    open_states = [RenderState.PENDING, RenderState.RUNNING]
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while remaining := CobrandedFile.objects.filter(pk__in=ids, state__in=open_states).count():
        if time.monotonic() > deadline:
            result.problems.append(f"timed out after {timeout:.0f} s with {remaining} renders unfinished")
            break
        if time.monotonic() - last_report > 10:
            log(f"  {renders - remaining}/{renders} renders finished")
            last_report = time.monotonic()
        time.sleep(0.25)

    result.load_after = os.getloadavg()
    rows = list(CobrandedFile.objects.filter(pk__in=ids))
    for row in rows:
        result.states[row.state] = result.states.get(row.state, 0) + 1
    for row in rows:
        if row.state == RenderState.FAILED:
            result.problems.append(f"render {row.pk} ({kind_of[row.pk]}) failed: {row.error}")
    done = [r for r in rows if r.state == RenderState.DONE]
    if done:
        result.wall = seconds(min(r.created_at for r in rows), max(r.finished_at for r in done)) or float("nan")

    def figures(subset: list) -> dict:
        ready = [v for v in (seconds(r.created_at, r.finished_at) for r in subset) if v is not None]
        wait = [v for v in (seconds(r.created_at, r.started_at) for r in subset) if v is not None]
        run = [v for v in (seconds(r.started_at, r.finished_at) for r in subset) if v is not None]
        sizes = [r.file.size for r in subset if r.file and r.file.storage.exists(r.file.name)]
        return {
            "done": len(subset),
            "rate": len(subset) / result.wall * 60 if result.wall == result.wall and result.wall > 0 else float("nan"),
            "ready": ready,
            "wait": wait,
            "run": run,
            "size": statistics.fmean(sizes) if sizes else float("nan"),
        }

    result.overall = figures(done)
    for kind in kinds:
        result.per_kind[kind] = figures([r for r in done if kind_of[r.pk] == kind])

    log("Verifying every render by its content")
    result.problems.extend(verify(ids, expected))

    sample = work[: min(cached, len(work))]
    if sample:
        log(f"Requesting {len(sample)} of the same renders again (cached)")
        published: list[str] = []

        def count(sender=None, **kwargs):
            published.append(sender)

        before_task_publish.connect(count, weak=False)
        rows_before = CobrandedFile.objects.count()
        finished_before = dict(CobrandedFile.objects.filter(pk__in=ids).values_list("pk", "finished_at"))
        started = time.monotonic()
        hits = []
        try:
            with CaptureQueriesContext(connection) as queries:
                for (_, asset, partner, rep, _), pk in zip(sample, ids, strict=False):
                    again = services.cobrand_request(actor=rep, partner=partner, asset=asset)
                    hits.append(again.pk == pk and again.state == RenderState.DONE)
        finally:
            elapsed = time.monotonic() - started
            before_task_publish.disconnect(count)
        time.sleep(1.0)  # a render enqueued by mistake would have been picked up by now
        finished_after = dict(CobrandedFile.objects.filter(pk__in=ids).values_list("pk", "finished_at"))
        result.cached = {
            "requests": len(sample),
            "hits": sum(hits),
            "seconds": elapsed,
            "published": len(published),
            "new_rows": CobrandedFile.objects.count() - rows_before,
            "rerendered": sum(1 for pk in ids if finished_after.get(pk) != finished_before.get(pk)),
            "queries": len(queries),
        }
        c = result.cached
        if c["hits"] != c["requests"] or c["published"] or c["new_rows"] or c["rerendered"]:
            result.problems.append(
                f"cached pass: {c['hits']}/{c['requests']} served the existing render, {c['published']} tasks "
                f"enqueued, {c['new_rows']} new rows, {c['rerendered']} renders changed"
            )
    return result


def report(result: Result, args: argparse.Namespace) -> str:
    n = args.renders
    extra = []
    if args.partners != 300:
        extra.append(f"--partners {args.partners}")
    if args.mix != "both":
        extra.append(f"--mix {args.mix}")
    if args.workers != 2 or args.concurrency != 1:
        extra.append(f"--workers {args.workers} --concurrency {args.concurrency}")
    command = "make bench-cobrand" + ("" if n == 300 else f" N={n}") + (f' ARGS="{" ".join(extra)}"' if extra else "")
    o = result.overall

    def line(name: str, f: dict) -> list[str]:
        mean = statistics.fmean(f["run"]) if f["run"] else float("nan")
        return [
            f"    {name:<18}{f['done']} done, {f['rate']:.1f} renders/min; request → ready p50 "
            f"{pct(f['ready'], 50):.2f} s, p95 {pct(f['ready'], 95):.2f} s",
            f"    {'':<18}render p50 {pct(f['run'], 50):.3f} s, p95 {pct(f['run'], 95):.3f} s, mean {mean:.3f} s; "
            f"file {f['size'] / 1024:.0f} KB mean",
        ]

    lines = [
        f"Co-branding benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"  command:            {command}  (scripts/bench_cobrand.py --renders {n} --partners {args.partners} "
        f"--mix {args.mix} --workers {args.workers} --concurrency {args.concurrency})",
        f"  machine:            {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        f"  load average:       {result.load_before[0]:.2f} at the first request, {result.load_after[0]:.2f} at the "
        "last render (1-minute)",
        f"  workers:            {args.workers} × celery worker --concurrency={args.concurrency} (prefork, acks_late),"
        " on Redis",
        f"  setup:              {result.partners} partners with brands (logos "
        f"{statistics.fmean(result.logo_bytes) / 1024 if result.logo_bytes else float('nan'):.0f} KB mean) "
        f"in {result.setup_seconds:.1f} s",
        f"  requests:           {n} in {result.request_seconds:.1f} s ({n / result.request_seconds:.1f}/s), "
        "none served from the cache",
        "  renders:            "
        + ", ".join(f"{v} {k}" for k, v in sorted(result.states.items()))
        + f"; wall time {result.wall:.1f} s from the first request to the last render ready",
        f"  throughput:         {result.throughput:.1f} renders/min",
        f"  request → ready:    p50 {pct(o['ready'], 50):.2f} s, p95 {pct(o['ready'], 95):.2f} s, "
        f"max {max(o['ready'], default=float('nan')):.2f} s",
        f"  queue wait:         p50 {pct(o['wait'], 50):.2f} s, p95 {pct(o['wait'], 95):.2f} s "
        "(request → a worker starts the render)",
        f"  render time:        p50 {pct(o['run'], 50):.3f} s, p95 {pct(o['run'], 95):.3f} s "
        "(a worker starts → the file is saved)",
        "  per kind:",
    ]
    for kind, f in result.per_kind.items():
        lines += line("PDF datasheet" if kind == "pdf" else "PNG banner", f)
    c = result.cached
    if c:
        per = c["seconds"] / c["requests"] * 1000
        lines.append(
            f"  cached pass:        {c['requests']} repeated requests in {c['seconds']:.2f} s ({per:.1f} ms each): "
            f"{c['hits']} served the existing render, {c['published']} tasks enqueued, {c['new_rows']} new renders, "
            f"{c['queries'] / c['requests']:.0f} statements each"
        )
    lines.append(
        "  verification:       "
        + ("all renders checked by content: OK" if not result.problems else f"FAILED ({len(result.problems)})")
    )
    for problem in result.problems[:20]:
        lines.append(f"    {problem}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    queue = f"bench-cobrand-{uuid.uuid4().hex[:10]}"
    run_dir = Path(tempfile.mkdtemp(prefix="bench-cobrand-"))
    (run_dir / "mail").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_KEY_PREFIX": queue,
        "MEDIA_ROOT": str(run_dir / "media"),
        "EMAIL_URL": "file://",
        "EMAIL_FILE_PATH": str(run_dir / "mail"),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PARTNERHUB_ENV", None)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    # Ctrl-C and SIGTERM (e.g. from a CI runner) end the run through the finally block that stops the workers;
    # SIGINT is set explicitly because a shell starting this in the background would have it ignored.
    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    workers = Workers(env, run_dir, "bench-cobrand")
    try:
        say(f"Recreating and migrating {args.database_url}")
        recreate_database(args.database_url)

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

        def start_workers():
            say(
                f"Starting {args.workers} worker(s) × concurrency {args.concurrency} on {args.redis_url}, queue {queue}"
            )
            workers.start(args.workers, args.concurrency, queue)

        result = run_benchmark(
            renders=args.renders,
            partners=args.partners,
            mix=args.mix,
            cached=args.cached,
            timeout=args.timeout,
            before_requests=start_workers,
        )
        args.partners = result.partners
        print(report(result, args), flush=True)
        print(f"(worker logs and rendered files: {run_dir})", flush=True)
        return 1 if result.problems else 0
    except KeyboardInterrupt:
        say("Interrupted; stopping the workers.")
        return 130
    finally:
        workers.stop()
        purge_queue(args.redis_url, queue)


if __name__ == "__main__":
    sys.exit(main())
