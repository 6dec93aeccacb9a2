"""Co-marketing in a real browser: a partner rep finds an asset in the library, has it co-branded (the page follows
the render until the file is ready) and downloads the PDF, whose first page must carry the partner's brand; then a
partner admin asks for market development funds, a marketing manager approves the request, and the admin sees it
approved with the balance updated."""

from __future__ import annotations

import datetime as dt
import re

import pypdfium2 as pdfium
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from comarketing import mdf
from comarketing import services as marketing_services
from comarketing import tasks as marketing_tasks
from comarketing.choices import AssetKind, PublishStatus, RenderState, RequestStatus, TemplateKind
from comarketing.demo import DATASHEET
from comarketing.models import CobrandedFile, FundAllocation, FundRequest
from partnerhub import services as core_services
from partnerhub.choices import MembershipRole, StaffRole
from tests.browser.helpers import partner_url, primary_colour
from tests.factories import PASSWORD, make_member, make_partner, make_staff

pytestmark = pytest.mark.browser

ACME_PRIMARY = "#b4231b"
ACME_NAME = "Acme Cloud Partners"
DATASHEET_TITLE = "Secure Edge Router X5 datasheet"
ACTIVITY = "Cloud security breakfast, Berlin"


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def hex_rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


def share_of_pixels(image, colour: tuple[int, int, int], tolerance: int = 12) -> float:
    """The share of the image's pixels within ``tolerance`` (per channel) of ``colour``."""
    pixels = list(image.convert("RGB").get_flattened_data())
    close = sum(1 for pixel in pixels if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True)))
    return close / len(pixels)


@pytest.fixture
def render_queue(monkeypatch):
    """Render jobs are queued, not run inline, so the page shows the job waiting; the test then runs the queued
    job as a worker would (the same task body), and the page must notice by itself."""
    queued: list[int] = []
    monkeypatch.setattr(marketing_tasks.render_cobranded, "delay", lambda render_id: queued.append(render_id))
    return queued


def test_rep_cobrands_a_datasheet_and_admin_gets_funds_approved(
    live_server, settings, journey, open_page, page_errors, render_queue
):
    # Given: Acme in its own brand with a rep and an admin; the vendor's marketing manager has published a
    # co-brandable datasheet (and other material) and runs a fund program in which Acme holds 25,000 USD.
    settings.PUBLIC_BASE_URL = live_server.url
    acme = make_partner("Acme Resellers")
    core_services.brand_update(
        actor=None,
        brand=acme.brand,
        display_name=ACME_NAME,
        primary_color=ACME_PRIMARY,
        support_email="sales@acme.example",
    )
    make_member(acme, MembershipRole.REP, username="arnold", first_name="Arnold")
    make_member(acme, MembershipRole.ADMIN, username="alice", first_name="Alice")
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="maya", first_name="Maya", last_name="Marketing")
    datasheet = marketing_services.asset_save(
        actor=marketing,
        title=DATASHEET_TITLE,
        description="Two-page datasheet your customers can take away; carries your logo, colours and contact details.",
        kind=AssetKind.PDF,
        status=PublishStatus.PUBLISHED,
        template_kind=TemplateKind.HTML,
        tags=["x5", "routers", "datasheet"],
    )
    marketing_services.asset_add_version(actor=marketing, asset=datasheet, html_template=DATASHEET)
    email_copy = marketing_services.asset_save(
        actor=marketing, title="Spring sale e-mail", kind=AssetKind.EMAIL_COPY, status=PublishStatus.PUBLISHED
    )
    marketing_services.asset_add_version(
        actor=marketing, asset=email_copy, text_body="Subject: 20% off this spring\n\nHi {first name}, ..."
    )
    today = timezone.localdate()
    program = mdf.fund_program_save(
        actor=marketing,
        name=f"FY{today.year} market development fund",
        period_start=today - dt.timedelta(days=30),
        period_end=today + dt.timedelta(days=330),
        currency="USD",
        budget="500000",
        starting_allocation="0",
        claim_days=60,
        is_active=True,
    )
    mdf.allocation_grant(actor=marketing, partner=acme, program=program, amount="25000", note="Annual allocation")
    acme_url = partner_url(live_server.url, acme)

    rep = open_page()
    with journey.step("rep-signs-in", rep):
        sign_in(rep, acme_url, "arnold", PASSWORD)
        expect(rep).to_have_url(f"{acme_url}/")
        assert primary_colour(rep) == ACME_PRIMARY

    with journey.step("rep-opens-asset-library", rep):
        rep.get_by_role("navigation", name="Main").get_by_role("link", name="Marketing", exact=True).click()
        expect(rep).to_have_url(f"{acme_url}/marketing/assets/")
        expect(rep.get_by_role("heading", name="Asset library", level=1)).to_be_visible()
        expect(rep.get_by_role("link", name="Spring sale e-mail")).to_be_visible()

    with journey.step("rep-searches-assets", rep):
        rep.get_by_role("searchbox", name="Search assets").fill("router datasheet")
        rep.get_by_role("search").get_by_role("button", name="Search").click()
        expect(rep.get_by_role("heading", name=re.compile(r"^1 result for “router datasheet”"))).to_be_visible()
        expect(rep.get_by_role("link", name=DATASHEET_TITLE)).to_be_visible()
        expect(rep.get_by_role("link", name="Spring sale e-mail")).to_have_count(0)

    with journey.step("rep-opens-datasheet", rep):
        rep.get_by_role("link", name=DATASHEET_TITLE).click()
        expect(rep).to_have_url(f"{acme_url}/marketing/assets/{datasheet.pk}/")
        expect(rep.get_by_role("heading", name=DATASHEET_TITLE, level=1)).to_be_visible()
        cobrand_card = rep.get_by_role("region", name="Co-branded version")
        expect(cobrand_card).to_contain_text(f"Your brand: {ACME_NAME}")

    with journey.step("rep-asks-for-cobranded-version", rep):
        cobrand_card.get_by_role("button", name="Generate co-branded version").click()
        expect(rep).to_have_url(re.compile(rf"^{acme_url}/marketing/cobranded/\d+/$"))
        expect(rep.get_by_role("heading", name=DATASHEET_TITLE, level=1)).to_be_visible()
        expect(rep.get_by_role("main")).to_contain_text(f"With the logo, colours and contact details of {ACME_NAME}")
        status = rep.locator("#render-status")
        expect(status).to_contain_text("Queued…")
        expect(rep.get_by_role("progressbar", name="Rendering progress")).to_be_visible()

    assert len(render_queue) == 1
    render = CobrandedFile.objects.get(pk=render_queue[0])
    assert render.state == RenderState.PENDING and render.partner_id == acme.pk

    with journey.step("page-follows-render-until-ready", rep):
        assert marketing_tasks.render_cobranded(render.pk) == "done"  # the worker picks the job up
        # The page polls by itself: no reload.
        expect(status).to_contain_text("Your co-branded PDF is ready.")
        expect(rep.get_by_role("link", name=re.compile(r"^Open PDF"))).to_be_visible()

    with journey.step("rep-downloads-pdf", rep):
        with rep.expect_download() as download_info:
            status.get_by_role("link", name="Download").click()
        download = download_info.value
        assert download.suggested_filename == "secure-edge-router-x5-datasheet-acme-cloud-partners.pdf"
        pdf_path = journey.directory / download.suggested_filename
        download.save_as(pdf_path)

    # The first page of the downloaded PDF, as a reader would see it, is saved next to the screenshots.
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF")
    document = pdfium.PdfDocument(data)
    first = document[0]
    text = first.get_textpage().get_text_range()
    image = first.render(scale=1.5).to_pil().convert("RGB")
    image.save(journey.directory / f"{journey.count:02d}-cobranded-pdf-page-1.png")
    document.close()
    assert " ".join(text.split()).count(ACME_NAME) >= 2, text  # "Presented by …", the call to action, the footer
    assert "sales@acme.example" in text
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 20, "the page looks blank"
    white = share_of_pixels(image, (255, 255, 255), tolerance=3)
    assert white < 0.95, f"the page is {white:.0%} white"
    brand_share = share_of_pixels(image, hex_rgb(ACME_PRIMARY))
    assert brand_share > 0.05, f"only {brand_share:.1%} of the page is in Acme's colour"
    # The brand band sits at the top of the page.
    assert all(abs(a - b) <= 12 for a, b in zip(image.getpixel((10, 10)), hex_rgb(ACME_PRIMARY), strict=True))

    admin = open_page()
    with journey.step("admin-opens-funds", admin):
        sign_in(admin, acme_url, "alice", PASSWORD)
        expect(admin).to_have_url(f"{acme_url}/")
        admin.get_by_role("navigation", name="Main").get_by_role("link", name="Marketing", exact=True).click()
        admin.get_by_role("navigation", name="Marketing").get_by_role("link", name="Marketing funds").click()
        expect(admin).to_have_url(f"{acme_url}/marketing/funds/")
        expect(admin.get_by_role("heading", name="Market development funds", level=1)).to_be_visible()
        balance = admin.get_by_role("list", name="Balance")
        expect(balance.get_by_role("listitem").filter(has_text="Available")).to_contain_text("25,000.00")
        expect(balance.get_by_role("listitem").filter(has_text="Committed")).to_contain_text("0.00")

    with journey.step("admin-fills-fund-request", admin):
        admin.get_by_role("link", name="New request").first.click()
        expect(admin).to_have_url(f"{acme_url}/marketing/funds/requests/new/")
        expect(admin.get_by_label("Fund")).to_contain_text("25,000.00 USD available")
        admin.get_by_label("Activity", exact=True).fill(ACTIVITY)
        admin.get_by_label("Description").fill("Breakfast seminar for 40 IT leads; we measure sign-ups for trials.")
        admin.get_by_label("Planned cost").fill("4000")
        admin.get_by_label("Expected leads").fill("25")
        admin.get_by_label("Starts on").fill((today + dt.timedelta(days=14)).isoformat())
        admin.get_by_label("Ends on").fill((today + dt.timedelta(days=14)).isoformat())

    with journey.step("admin-submits-fund-request", admin):
        admin.get_by_role("button", name="Submit request").click()
        expect(admin).to_have_url(re.compile(rf"^{acme_url}/marketing/funds/requests/\d+/$"))
        expect(admin.get_by_role("status")).to_contain_text(f"Request for “{ACTIVITY}” submitted.")
        expect(admin.get_by_role("heading", name=ACTIVITY, level=1)).to_be_visible()
        expect(admin.get_by_role("main")).to_contain_text("Submitted")
        request_page = admin.url

    fund_request = FundRequest.objects.get()
    assert fund_request.status == RequestStatus.SUBMITTED

    manager = open_page()
    with journey.step("marketing-manager-signs-in-to-mdf-review", manager):
        manager.goto(f"{live_server.url}/marketing/review/")
        expect(manager).to_have_url(re.compile(r"/console/login/\?next=/marketing/review/$"))
        manager.get_by_label("Username").fill("maya")
        manager.get_by_label("Password").fill(PASSWORD)
        manager.get_by_role("button", name="Log in").click()
        expect(manager).to_have_url(f"{live_server.url}/marketing/review/")
        expect(manager.get_by_role("heading", name="MDF review", level=1)).to_be_visible()
        item = manager.locator(f"#request-{fund_request.pk}")
        expect(item).to_contain_text("Acme Resellers")
        expect(item).to_contain_text(ACTIVITY)
        expect(item).to_contain_text("4,000.00 USD")

    with journey.step("marketing-manager-approves-part-of-request", manager):
        item.get_by_label("Amount (USD)").fill("3500")
        item.get_by_label("Note").first.fill("Approved for 35 seats.")
        item.get_by_role("button", name="Approve", exact=True).click()
        expect(manager).to_have_url(f"{live_server.url}/marketing/review/?tab=requests")
        expect(manager.get_by_role("status")).to_contain_text(f"Approved “{ACTIVITY}” for Acme Resellers.")
        expect(manager.locator(f"#request-{fund_request.pk}")).to_have_count(0)

    fund_request.refresh_from_db()
    assert fund_request.status == RequestStatus.APPROVED and str(fund_request.approved_amount) == "3500.00"

    with journey.step("admin-sees-request-approved", admin):
        admin.goto(request_page)
        expect(admin.get_by_role("main")).to_contain_text("Approved")
        decision = admin.get_by_role("region", name="Decision")
        expect(decision).to_contain_text("3,500.00 USD")
        expect(decision).to_contain_text("(of 4,000.00 requested)")

    with journey.step("admin-sees-balance-updated", admin):
        admin.get_by_role("navigation", name="Marketing").get_by_role("link", name="Marketing funds").click()
        expect(admin).to_have_url(f"{acme_url}/marketing/funds/")
        balance = admin.get_by_role("list", name="Balance")
        expect(balance.get_by_role("listitem").filter(has_text="Available")).to_contain_text("21,500.00")
        expect(balance.get_by_role("listitem").filter(has_text="Committed")).to_contain_text("3,500.00")
        row = admin.get_by_role("row").filter(has_text=ACTIVITY)
        expect(row).to_contain_text("Approved")
        assert primary_colour(admin) == ACME_PRIMARY

    allocation = FundAllocation.objects.get(partner=acme, program=program)
    assert allocation.available == allocation.allocated - 3500
    # The admin heard of the decision by e-mail too.
    assert any(ACTIVITY in m.body or ACTIVITY in m.subject for m in mail.outbox if "alice@example.com" in m.to)

    assert [error for errors in page_errors for error in errors] == []
