"""Co-marketing's part of ``seed_demo``: an asset library with a co-brandable datasheet, a campaign, a fund
program with allocations, and MDF requests and claims in every state."""

from __future__ import annotations

import datetime as dt
import io

from partnerhub import demo

DATASHEET = """<html><head><style>
@page { size: A4; margin: 0 }
body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #111827 }
.band { background: {{ partner.primary_color }}; color: {{ partner.text_color }}; padding: 18mm 16mm 12mm }
.band h1 { margin: 0; font-size: 26pt } .band p { margin: 4mm 0 0; font-size: 12pt }
.logo { float: right; height: 18mm; background: #fff; padding: 3mm; border-radius: 2mm }
main { padding: 12mm 16mm } h2 { color: {{ partner.primary_color }}; font-size: 15pt }
li { margin: 2mm 0 } .accent { border-left: 2mm solid {{ partner.accent_color }}; padding-left: 4mm }
footer { position: absolute; bottom: 12mm; left: 16mm; right: 16mm; font-size: 10pt; color: #374151;
         border-top: 0.4mm solid #d1d5db; padding-top: 4mm }
</style></head><body>
<div class="band">{% if partner.logo_data_uri %}<img class="logo" src="{{ partner.logo_data_uri }}" alt="">{% endif %}
<h1>Secure Edge Router X5</h1>
<p>Presented by {{ partner.name }}{% if partner.tagline %} — {{ partner.tagline }}{% endif %}</p></div>
<main><h2>Why the X5</h2><ul><li>10 Gbit/s routing with inline threat protection</li>
<li>Zero-touch provisioning for branch offices</li><li>Five-year firmware support</li></ul>
<p class="accent">Ask {{ partner.name }} for a free site survey and a 30-day trial unit.</p></main>
<footer>{{ partner.name }}{% if partner.email %} · {{ partner.email }}{% endif %}
{% if partner.phone %} · {{ partner.phone }}{% endif %}
{% if partner.website %} · {{ partner.website }}{% endif %}</footer>
</body></html>"""


def _banner_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 628), "#f8fafc")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1200, 300), fill="#0f172a")
    draw.text((60, 120), "Spring security sale: 20% off X5 routers", fill="#ffffff")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@demo.register("comarketing")
def seed(ctx: demo.DemoContext) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from comarketing import mdf, services
    from comarketing.models import Asset, Campaign, FundAllocation, FundProgram, FundRequest
    from comarketing.rendering import BrandData, render_html_pdf

    maya = ctx.staff.get("maya") or ctx.superuser
    today = timezone.localdate()
    if not Asset.objects.filter(title="Secure Edge Router X5 datasheet").exists():
        datasheet = services.asset_save(
            actor=maya,
            title="Secure Edge Router X5 datasheet",
            description="Two-page datasheet your customers can take away; carries your "
            "logo, colours and contact details.",
            kind="pdf",
            status="published",
            template_kind="html",
            tags=["x5", "routers", "datasheet"],
        )
        services.asset_add_version(actor=maya, asset=datasheet, html_template=DATASHEET)
        banner = services.asset_save(
            actor=maya,
            title="Spring sale social banner",
            kind="image",
            status="published",
            template_kind="image",
            tags=["campaign", "social"],
            description="LinkedIn and X banner with your logo and name.",
        )
        services.asset_add_version(
            actor=maya,
            asset=banner,
            upload=SimpleUploadedFile("banner.png", _banner_png()),
            regions={
                "logo": [900, 380, 240, 160],
                "name": [60, 400, 800, 70],
                "contact": [60, 500, 800, 40],
                "band": [0, 588, 1200, 40],
            },
        )
        brochure = services.asset_save(
            actor=maya,
            title="X5 product brochure",
            kind="pdf",
            status="published",
            tags=["x5", "brochure"],
            description="The vendor's product brochure.",
        )
        sample = BrandData(
            name="X5",
            tagline="",
            primary_color="#0f172a",
            accent_color="#0ea5e9",
            text_color="#ffffff",
            email="",
            phone="",
            website="",
            logo_png=None,
        )
        services.asset_add_version(
            actor=maya, asset=brochure, upload=SimpleUploadedFile("brochure.pdf", render_html_pdf(DATASHEET, sample))
        )
        email = services.asset_save(
            actor=maya, title="Spring sale e-mail", kind="email_copy", status="published", tags=["campaign", "email"]
        )
        services.asset_add_version(
            actor=maya,
            asset=email,
            text_body=(
                "Subject: 20% off Secure Edge routers this spring\n\nHi {first name},\n\nUntil the end of the month, "
                "the X5 router is 20% off when you book a site survey with us."
            ),
        )
        if not Campaign.objects.filter(name="Spring security sale").exists():
            now = timezone.now()
            services.campaign_save(
                actor=maya,
                name="Spring security sale",
                starts_at=now - dt.timedelta(days=7),
                ends_at=now + dt.timedelta(days=60),
                audience="all",
                status="published",
                description="Co-branded banner, datasheet and e-mail to drive X5 router sales.",
                email_copy="20% off Secure Edge routers this spring.",
                social_copy="Secure your branches: 20% off the X5 this spring. #security",
                assets=[datasheet, banner, email],
            )
        ctx.created.append("asset library and campaign")
    program = FundProgram.objects.filter(name=f"FY{today.year} market development fund").first()
    if program is None:
        program = mdf.fund_program_save(
            actor=maya,
            name=f"FY{today.year} market development fund",
            period_start=dt.date(today.year, 1, 1),
            period_end=dt.date(today.year + 1, 6, 30),
            currency="USD",
            budget="500000",
            starting_allocation="2500",
            claim_days=60,
            is_active=True,
        )
        ctx.created.append("fund program")
    amounts = {"northwind": "25000", "skyline": "60000", "brightpath": "8000"}
    for slug, amount in amounts.items():
        partner = ctx.partners.get(slug)
        if partner and not FundAllocation.objects.filter(partner=partner, program=program).exists():
            mdf.allocation_grant(actor=maya, partner=partner, program=program, amount=amount, note="Annual allocation")
    northwind = ctx.partners.get("northwind")
    if northwind is None or FundRequest.objects.filter(partner=northwind).exists():
        return
    nina = ctx.users("nina")
    allocation = FundAllocation.objects.get(partner=northwind, program=program)
    start = today + dt.timedelta(days=10)
    webinar = mdf.request_submit(
        actor=nina,
        allocation=allocation,
        activity="X5 security webinar",
        activity_type="Webinar",
        planned_cost="4000",
        expected_leads=60,
        starts_on=start,
        ends_on=start,
        description="Live demo for 200 invited IT leads.",
    )
    mdf.request_approve(actor=maya, request=webinar, amount="3500", note="Approved at the webinar rate card.")
    claimed = mdf.request_submit(
        actor=nina,
        allocation=allocation,
        activity="Trade fair booth",
        activity_type="Event",
        planned_cost="6000",
        expected_leads=120,
        starts_on=today,
        ends_on=today,
    )
    mdf.request_approve(actor=maya, request=claimed)
    proof = SimpleUploadedFile(
        "invoice.pdf",
        render_html_pdf(
            "<h1>Invoice 2026-114</h1><p>Booth: 5,800.00</p>",
            BrandData(
                name="",
                tagline="",
                primary_color="#000000",
                accent_color="#000000",
                text_color="#000000",
                email="",
                phone="",
                website="",
                logo_png=None,
            ),
        ),
    )
    claim = mdf.claim_submit(
        actor=nina,
        request=claimed,
        actual_cost="5800",
        leads=140,
        deals=6,
        revenue="210000",
        notes="Booth B12, 3 days.",
        proofs=[proof],
    )
    mdf.claim_decide(actor=maya, claim=claim, approve=True)
    mdf.request_submit(
        actor=nina,
        allocation=allocation,
        activity="Partner newsletter sponsorship",
        activity_type="Digital",
        planned_cost="1500",
        expected_leads=25,
        starts_on=start,
        ends_on=start + dt.timedelta(days=30),
    )
    ctx.created.append("MDF requests and claims")
    ctx.notes.append(
        "Marketing: asset library, campaigns and funds at /marketing/ ; MDF review at /marketing/review/ (maya)."
    )
