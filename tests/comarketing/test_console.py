"""Co-marketing in the vendor console: the asset library with versions, previews and "Add version", chosen
partners as grants; campaigns with their opt-ins; fund programs; allocations with "Grant funds"; requests and
claims decided through intermediate pages; proofs behind authorising links; the read-only ledger; the MDF card on
the dashboard — every page scoped to the viewer's partners, every write through the services, every refusal shown
next to its field with nothing saved. Ends with the console in a real browser (screenshots, no CSP violation)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from guardian.shortcuts import assign_perm
from PIL import Image

from comarketing import mdf, selectors, services
from comarketing.choices import AssetKind, Audience, PublishStatus, RequestStatus
from comarketing.models import (
    Asset,
    AssetVersion,
    Campaign,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub.choices import MembershipRole, StaffRole
from tests.factories import make_member, make_partner, make_staff

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ACTIVITY = {"starts_on": TODAY + dt.timedelta(days=3), "ends_on": TODAY + dt.timedelta(days=4)}
SECRET = "Qsecretkit"


def png(colour=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def marketing(db):
    return make_staff(StaffRole.MARKETING_MANAGER, username="maya", first_name="Maya", last_name="Marketing")


@pytest.fixture
def program(db):
    return FundProgram.objects.create(
        name="FY MDF",
        period_start=dt.date(TODAY.year, 1, 1),
        period_end=dt.date(TODAY.year + 1, 12, 31),
        budget=Decimal("1000000"),
    )


def image_asset(actor, *, title="Spring banner", partners=(), audience=Audience.ALL, **fields) -> Asset:
    asset = services.asset_save(
        actor=actor,
        title=title,
        kind=AssetKind.IMAGE,
        audience=audience,
        partners=list(partners),
        status=fields.pop("status", PublishStatus.PUBLISHED),
        **fields,
    )
    services.asset_add_version(actor=actor, asset=asset, upload=SimpleUploadedFile("banner.png", png()))
    return Asset.objects.get(pk=asset.pk)


def submitted(allocation, admin, cost="1000", activity="Webinar") -> FundRequest:
    return mdf.request_submit(actor=admin, allocation=allocation, activity=activity, planned_cost=cost, **ACTIVITY)


def action(client, model: str, name: str, ids, follow=False, **data):
    body = {"action": name, "_selected_action": [str(i) for i in ids], **data}
    return client.post(f"/console/comarketing/{model}/", body, follow=follow)


# Assets --------------------------------------------------------------------------------------------------------


def test_asset_list_shows_kind_audience_status_expiry_versions_and_downloads(client, marketing, partner_a, rep_a):
    now = timezone.now()
    live = image_asset(marketing, title="Live banner")
    services.asset_add_version(actor=marketing, asset=live, upload=SimpleUploadedFile("v2.png", png((200, 0, 0))))
    services.download_record(actor=rep_a, partner=partner_a, asset=live)
    image_asset(
        marketing, title="Old flyer", publish_at=now - dt.timedelta(days=30), expires_at=now - dt.timedelta(days=1)
    )
    client.force_login(marketing)
    page = client.get("/console/comarketing/asset/").content.decode()
    row = re.search(r"<tr>.*?Live banner.*?</tr>", page, re.S).group(0)
    assert "ph-badge--cm-kind-image" in row and "All partners" in row and "Published" in row
    assert re.search(r'class="field-version_count">2<', row) and re.search(r'class="field-download_count">1<', row)
    expired = re.search(r"<tr>.*?Old flyer.*?</tr>", page, re.S).group(0)
    assert 'class="ph-cm-expired"' in expired and "expired" in expired
    assert "ph-cm-expired" not in row


def test_partner_only_asset_is_invisible_to_a_channel_manager_of_another_partner(
    client, marketing, partner_a, partner_b, manager_a, manager_b
):
    asset = image_asset(marketing, title=f"{SECRET} kit", audience=Audience.PARTNERS, partners=[partner_a])
    version = asset.current_version
    urls = [
        f"/console/comarketing/asset/{asset.pk}/change/",
        f"/console/comarketing/asset/{asset.pk}/add-version/",
        f"/console/comarketing/asset/{asset.pk}/versions/{version.pk}/thumbnail/",
        f"/console/comarketing/asset/{asset.pk}/versions/{version.pk}/file/",
    ]
    client.force_login(manager_b)
    assert SECRET not in client.get("/console/comarketing/asset/").content.decode()
    for url in urls:
        assert client.get(url).status_code == 404, url
    client.force_login(manager_a)
    assert SECRET in client.get("/console/comarketing/asset/").content.decode()
    preview = client.get(urls[2])
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert client.get(urls[1]).status_code == 403  # channel managers read the library; they do not edit it


def test_marketing_creates_an_asset_for_chosen_partners_through_the_service(
    client, marketing, partner_a, partner_b, rep_a, rep_b
):
    client.force_login(marketing)
    form = client.get("/console/comarketing/asset/add/").content.decode()
    assert partner_a.name in form and partner_b.name in form
    response = client.post(
        "/console/comarketing/asset/add/",
        {
            "title": "Co-sell one-pager",
            "description": "For Acme only",
            "kind": "image",
            "tags_text": "Security, one-pager",
            "audience": "partners",
            "partners": [partner_a.pk],
            "status": "published",
            "publish_at_0": (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%d"),
            "publish_at_1": (timezone.localtime() - dt.timedelta(hours=1)).strftime("%H:%M:%S"),
            "template_kind": "",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    asset = Asset.objects.get(title="Co-sell one-pager")
    assert sorted(asset.tags.values_list("name", flat=True)) == ["one-pager", "security"]
    assert selectors.asset_list(user=rep_a).filter(pk=asset.pk).exists()
    assert not selectors.asset_list(user=rep_b).filter(pk=asset.pk).exists()
    change = client.get(f"/console/comarketing/asset/{asset.pk}/change/").content.decode()
    assert f'<option value="{partner_a.pk}" selected>' in change
    assert "Add version" in change


def test_a_refused_asset_is_shown_with_the_message_and_nothing_is_saved(client, marketing):
    client.force_login(marketing)
    response = client.post(
        "/console/comarketing/asset/add/",
        {
            "title": "Brochure",
            "kind": "pdf",
            "audience": "all",
            "status": "draft",
            "publish_at_0": "2030-01-02",
            "publish_at_1": "00:00:00",
            "expires_at_0": "2030-01-01",
            "expires_at_1": "00:00:00",
            "template_kind": "",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "The asset must expire after it is published." in response.content.decode()
    assert not Asset.objects.exists()


def test_add_version_through_the_service_and_previews_behind_the_console(client, marketing):
    asset = image_asset(marketing)
    client.force_login(marketing)
    url = f"/console/comarketing/asset/{asset.pk}/add-version/"
    assert "Upload the file" in client.get(url).content.decode()
    refused = client.post(url, {"file": SimpleUploadedFile("fake.png", b"<svg onload=alert(1)>"), "notes": "x"})
    assert refused.status_code == 400
    assert "is not a PNG, JPEG, WebP or GIF image" in refused.content.decode()
    assert AssetVersion.objects.filter(asset=asset).count() == 1
    bad_json = client.post(url, {"file": SimpleUploadedFile("b.png", png()), "regions": "{logo"})
    assert bad_json.status_code == 400 and "Write the regions as JSON" in bad_json.content.decode()
    added = client.post(url, {"file": SimpleUploadedFile("v2.png", png((0, 160, 0))), "notes": "Greener"})
    assert added.status_code == 302
    asset.refresh_from_db()
    assert asset.current_version.number == 2 and asset.current_version.notes == "Greener"
    page = client.get(f"/console/comarketing/asset/{asset.pk}/change/").content.decode()
    thumbnails = re.findall(r'<img src="([^"]+)" alt="Preview of version (\d)"', page)
    assert [number for _, number in thumbnails] == ["2", "1"]
    assert all(src.startswith(f"/console/comarketing/asset/{asset.pk}/versions/") for src, _ in thumbnails)
    assert "/media/" not in page
    assert client.get(thumbnails[0][0])["Content-Type"] == "image/png"


# Campaigns -----------------------------------------------------------------------------------------------------


def test_campaign_saved_through_the_service_with_opt_ins_and_downloads_inline(
    client, marketing, partner_a, partner_b, admin_a, admin_b, rep_a, manager_b
):
    asset = image_asset(marketing)
    client.force_login(marketing)
    now = timezone.localtime()
    response = client.post(
        "/console/comarketing/campaign/add/",
        {
            "name": "Cloud month",
            "slug": "",
            "status": "published",
            "starts_at_0": (now - dt.timedelta(days=1)).strftime("%Y-%m-%d"),
            "starts_at_1": "09:00:00",
            "ends_at_0": (now + dt.timedelta(days=20)).strftime("%Y-%m-%d"),
            "ends_at_1": "18:00:00",
            "audience": "all",
            "assets": [asset.pk],
            "email_copy": "Meet us",
            "opt_ins-TOTAL_FORMS": "0",
            "opt_ins-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert campaign.slug == "cloud-month" and list(campaign.assets.all()) == [asset]
    services.campaign_opt_in(actor=admin_a, partner=partner_a, campaign=campaign)
    services.campaign_opt_in(actor=admin_b, partner=partner_b, campaign=campaign)
    services.download_record(actor=rep_a, partner=partner_a, asset=asset, campaign=campaign)
    services.download_record(actor=rep_a, partner=partner_a, asset=asset, campaign=campaign)
    page = client.get(f"/console/comarketing/campaign/{campaign.pk}/change/").content.decode()
    opt_in_a = re.search(rf"{partner_a.name}</a>.*?</tr>", page, re.S).group(0)
    assert re.search(r'field-downloads">\s*<p>2</p>', opt_in_a)
    assert partner_b.name in page
    # Partner B's channel manager sees B's opt-in only
    client.force_login(manager_b)
    theirs = client.get(f"/console/comarketing/campaign/{campaign.pk}/change/").content.decode()
    assert partner_b.name in theirs and partner_a.name not in theirs


def test_campaign_date_refusal_is_named_and_a_joined_campaign_is_not_deleted(client, marketing, partner_a, admin_a):
    client.force_login(marketing)
    response = client.post(
        "/console/comarketing/campaign/add/",
        {
            "name": "Backwards",
            "status": "draft",
            "starts_at_0": "2030-01-02",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2030-01-01",
            "ends_at_1": "00:00:00",
            "audience": "all",
            "opt_ins-TOTAL_FORMS": "0",
            "opt_ins-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "The campaign must end after it starts." in response.content.decode()
    assert not Campaign.objects.exists()
    now = timezone.now()
    campaign = services.campaign_save(
        actor=marketing, name="Joined", starts_at=now, ends_at=now + dt.timedelta(days=3), status="published"
    )
    services.campaign_opt_in(actor=admin_a, partner=partner_a, campaign=campaign)
    refused = client.post(f"/console/comarketing/campaign/{campaign.pk}/delete/", {"post": "yes"}, follow=True)
    assert "archive it instead" in refused.content.decode()
    assert Campaign.objects.filter(pk=campaign.pk).exists()


# Funds ---------------------------------------------------------------------------------------------------------


def test_fund_program_through_the_service(client, marketing, manager_a):
    client.force_login(marketing)
    body = {
        "name": "FY27 MDF",
        "period_start": "2027-01-01",
        "period_end": "2026-12-31",
        "currency": "eur",
        "budget": "100000",
        "starting_allocation": "500",
        "claim_days": "60",
        "is_active": "on",
    }
    refused = client.post("/console/comarketing/fundprogram/add/", body)
    assert refused.status_code == 200 and "The period must end after it starts." in refused.content.decode()
    assert not FundProgram.objects.exists()
    saved = client.post("/console/comarketing/fundprogram/add/", {**body, "period_end": "2027-12-31"})
    assert saved.status_code == 302
    assert FundProgram.objects.get().currency == "EUR"
    client.force_login(manager_a)
    assert client.get("/console/comarketing/fundprogram/add/").status_code == 403


def test_grant_funds_from_the_add_page_and_the_bulk_action(client, marketing, partner_a, partner_b, program, manager_a):
    client.force_login(marketing)
    added = client.post(
        "/console/comarketing/fundallocation/add/",
        {"partner": partner_a.pk, "program": program.pk, "amount": "5000", "note": "Launch", "ledger-TOTAL_FORMS": "0"},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    allocation = FundAllocation.objects.get(partner=partner_a)
    assert allocation.allocated == Decimal("5000")
    other = mdf.allocation_grant(actor=marketing, partner=partner_b, program=program, amount="100")

    # The action asks for the amount first, then refuses a bad one with nothing moved
    page = action(client, "fundallocation", "grant_funds", [allocation.pk, other.pk])
    assert page.status_code == 200 and "Grant funds" in page.content.decode()
    bad = action(client, "fundallocation", "grant_funds", [allocation.pk, other.pk], post="yes", amount="10.005")
    assert bad.status_code == 400 and "decimal places" in bad.content.decode()
    assert LedgerEntry.objects.count() == 2
    done = action(client, "fundallocation", "grant_funds", [allocation.pk, other.pk], post="yes", amount="250.50")
    assert done.status_code == 302
    allocation.refresh_from_db()
    other.refresh_from_db()
    assert (allocation.allocated, other.allocated) == (Decimal("5250.50"), Decimal("350.50"))

    # The list shows the balances; the change page the ledger
    listing = client.get("/console/comarketing/fundallocation/").content.decode()
    assert "5,250.50" in listing and "ph-cm-available" in listing
    ledger = client.get(f"/console/comarketing/fundallocation/{allocation.pk}/change/").content.decode()
    assert ledger.count("ph-badge--cm-ledger-allocate") == 2 and "Launch" in ledger

    # A channel manager sees their partner's allocation, cannot grant, and never sees partner B's
    client.force_login(manager_a)
    listing = client.get("/console/comarketing/fundallocation/").content.decode()
    assert partner_a.name in listing and partner_b.name not in listing
    assert client.get("/console/comarketing/fundallocation/add/").status_code == 403
    assert client.get(f"/console/comarketing/fundallocation/{other.pk}/change/").status_code == 404
    action(client, "fundallocation", "grant_funds", [allocation.pk], post="yes", amount="1")
    allocation.refresh_from_db()
    assert allocation.allocated == Decimal("5250.50")


def test_requests_are_approved_and_declined_on_intermediate_pages(client, marketing, partner_a, admin_a, program):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="3000")
    first = submitted(allocation, admin_a, cost="2000", activity="Roadshow")
    second = submitted(allocation, admin_a, cost="2000", activity="Webinar")
    third = submitted(allocation, admin_a, cost="500", activity="Mailing")
    client.force_login(marketing)

    # An amount is for one request at a time
    many = action(client, "fundrequest", "approve_requests", [first.pk, second.pk], post="yes", amount="100")
    assert many.status_code == 400 and "Leave the amount empty" in many.content.decode()
    # Approving both: the second would overspend, is named, and stays submitted
    both = action(client, "fundrequest", "approve_requests", [first.pk, second.pk], post="yes", note="Go", follow=True)
    text = both.content.decode()
    assert "Approved 1 request." in text and "Only 1000.00 USD is available" in text
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (RequestStatus.APPROVED, RequestStatus.SUBMITTED)
    # Declining needs a reason
    empty = action(client, "fundrequest", "reject_requests", [second.pk], post="yes", note="")
    assert empty.status_code == 400 and "Write the reason." in empty.content.decode()
    declined = action(client, "fundrequest", "reject_requests", [second.pk], post="yes", note="Over budget",
                      _return_to_change="1")  # fmt: skip
    assert declined.status_code == 302 and declined["Location"].endswith(f"/fundrequest/{second.pk}/change/")
    second.refresh_from_db()
    assert second.status == RequestStatus.REJECTED and second.decision_note == "Over budget"
    # The change page offers the decisions only while the request waits for one
    assert "Approve…" in client.get(f"/console/comarketing/fundrequest/{third.pk}/change/").content.decode()
    assert "Approve…" not in client.get(f"/console/comarketing/fundrequest/{first.pk}/change/").content.decode()


def test_channel_managers_cannot_decide_and_outsiders_change_nothing(
    client, marketing, partner_a, admin_a, program, manager_a, manager_b
):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="3000")
    fund_request = submitted(allocation, admin_a)
    for who in (manager_a, manager_b):
        client.force_login(who)
        action(client, "fundrequest", "approve_requests", [fund_request.pk], post="yes")
        fund_request.refresh_from_db()
        assert fund_request.status == RequestStatus.SUBMITTED
    client.force_login(manager_b)
    assert client.get(f"/console/comarketing/fundrequest/{fund_request.pk}/change/").status_code == 404
    client.force_login(manager_a)
    page = client.get(f"/console/comarketing/fundrequest/{fund_request.pk}/change/").content.decode()
    assert "Webinar" in page and "Approve…" not in page


def test_claims_are_approved_and_paid_with_proofs_behind_authorising_links(
    client, marketing, partner_a, admin_a, program, manager_a, manager_b
):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="3000")
    fund_request = submitted(allocation, admin_a, cost="2000")
    mdf.request_approve(actor=marketing, request=fund_request)
    claim = mdf.claim_submit(
        actor=admin_a,
        request=fund_request,
        actual_cost="1800",
        leads=30,
        revenue="27000",
        proofs=[SimpleUploadedFile("invoice.pdf", PDF), SimpleUploadedFile("booth.png", png())],
    )
    client.force_login(marketing)
    listing = client.get("/console/comarketing/fundclaim/").content.decode()
    assert "15.0×" in listing and "Claim submitted" in listing
    page = client.get(f"/console/comarketing/fundclaim/{claim.pk}/change/").content.decode()
    links = re.findall(r'<a href="(/console/comarketing/fundclaim/\d+/proofs/\d+/)">([^<]+)</a>', page)
    assert [name for _, name in links] == ["invoice.pdf", "booth.png"]
    file = client.get(links[0][0])
    assert file.status_code == 200 and b"".join(file.streaming_content) == PDF
    assert file["Content-Disposition"].startswith("attachment") and file["X-Content-Type-Options"] == "nosniff"
    assert "Approve…" in page and "Record payment…" not in page

    # Paying needs an approved claim and a reference
    early = action(client, "fundclaim", "pay_claims", [claim.pk], post="yes", reference="TRX-9", follow=True)
    assert "Only approved claims are paid." in early.content.decode()
    assert action(client, "fundclaim", "approve_claims", [claim.pk], post="yes").status_code == 302
    no_ref = action(client, "fundclaim", "pay_claims", [claim.pk], post="yes", reference="")
    assert no_ref.status_code == 400 and "Give the payment reference" in no_ref.content.decode()
    assert action(client, "fundclaim", "pay_claims", [claim.pk], post="yes", reference="TRX-1001").status_code == 302
    claim.refresh_from_db()
    allocation.refresh_from_db()
    assert claim.payment_reference == "TRX-1001" and claim.request.status == RequestStatus.PAID
    assert allocation.paid == Decimal("1800") and allocation.available == Decimal("1200")

    # Channel managers hold no proof permission; another partner's manager gets nothing at all
    client.force_login(manager_a)
    page = client.get(f"/console/comarketing/fundclaim/{claim.pk}/change/").content.decode()
    assert "No proof you may open." in page
    assert client.get(links[0][0]).status_code == 404
    client.force_login(manager_b)
    assert client.get(f"/console/comarketing/fundclaim/{claim.pk}/change/").status_code == 404
    assert client.get(links[0][0]).status_code == 404
    # A proof under another claim's address is not found
    client.force_login(marketing)
    other = re.sub(r"/fundclaim/\d+/", f"/fundclaim/{claim.pk + 1000}/", links[0][0])
    assert client.get(other).status_code == 404


def test_ledger_is_read_only_and_scoped(client, marketing, partner_a, partner_b, program, manager_a):
    mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="100", note="A grant")
    mdf.allocation_grant(actor=marketing, partner=partner_b, program=program, amount="200", note="B grant")
    entry = LedgerEntry.objects.get(note="B grant")
    client.force_login(marketing)
    listing = client.get("/console/comarketing/ledgerentry/").content.decode()
    assert "A grant" in listing and "B grant" in listing
    assert client.get("/console/comarketing/ledgerentry/add/").status_code == 403
    page = client.get(f"/console/comarketing/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()
    assert client.post(f"/console/comarketing/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    # Channel managers hold no ledger permission; given it, one still sees only their partners' entries
    client.force_login(manager_a)
    assert client.get("/console/comarketing/ledgerentry/").status_code == 403
    assign_perm("comarketing.view_ledgerentry", manager_a)
    manager_a = type(manager_a).objects.get(pk=manager_a.pk)
    client.force_login(manager_a)
    listing = client.get("/console/comarketing/ledgerentry/").content.decode()
    assert "A grant" in listing and "B grant" not in listing
    assert client.get(f"/console/comarketing/ledgerentry/{entry.pk}/change/").status_code == 404


# Dashboard -----------------------------------------------------------------------------------------------------


def test_mdf_card_shows_the_viewers_partners_only(client, marketing, partner_a, partner_b, admin_a, program, manager_b):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="8000")
    mdf.allocation_grant(actor=marketing, partner=partner_b, program=program, amount="2000")
    fund_request = submitted(allocation, admin_a, cost="4000")
    mdf.request_approve(actor=marketing, request=fund_request)
    submitted(allocation, admin_a, cost="1000", activity="Mailing")
    client.force_login(marketing)
    card = re.search(r'<section[^>]+id="card-comarketingmdf".*?</section>', client.get("/console/").content.decode(),
                     re.S).group(0)  # fmt: skip
    assert "10,000" in card and "4,000" in card  # allocated in all, committed
    assert "1 request to decide" in card
    assert partner_a.name in card and partner_b.name in card
    assert 'class="ph-cm-seg ph-cm-seg--committed"' in card
    client.force_login(manager_b)
    card = re.search(r'<section[^>]+id="card-comarketingmdf".*?</section>', client.get("/console/").content.decode(),
                     re.S).group(0)  # fmt: skip
    assert "2,000" in card and partner_a.name not in card and "8,000" not in card


def test_mdf_card_is_absent_without_fund_access(client, db, program):
    agent = make_staff(StaffRole.SUPPORT_AGENT, username="sam")
    partner = make_partner("Acme")
    mdf.allocation_grant(actor=None, partner=partner, program=program, amount="100")
    client.force_login(agent)
    assert "card-comarketingmdf" not in client.get("/console/").content.decode()


def test_partner_users_never_reach_the_console(client, rep_a, admin_a):
    for who in (rep_a, admin_a):
        client.force_login(who)
        for url in ("/console/comarketing/asset/", "/console/comarketing/fundrequest/", "/console/"):
            assert client.get(url).status_code == 302


# In a real browser -------------------------------------------------------------------------------------------------


@pytest.fixture
def console_browser(live_server, monkeypatch):
    """Debian's Chromium through Playwright against the live server; every page's console errors collected."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.helpers import CHROMIUM_ARGS, TIMEOUT_MS, chromium_path, console_errors

    if chromium_path() is None:
        pytest.fail("The console check needs Debian's Chromium on PATH (apt-get install chromium).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[list[str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)

        def open_page():
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            errors.append(console_errors(page))
            return page

        try:
            yield open_page, errors
        finally:
            browser.close()
            connections.close_all()


@pytest.mark.browser
def test_comarketing_console_in_a_real_browser(live_server, console_browser, transactional_db):
    """The marketing team works the library, a campaign and the funds in Chromium: every page renders under the
    CSP with no console error; screenshots for review in artifacts/screenshots/comarketing-console/."""
    from playwright.sync_api import expect

    from tests.browser.helpers import ARTIFACTS, Journey
    from tests.factories import PASSWORD

    open_page, errors = console_browser
    acme = make_partner("Acme Resellers")
    bolt = make_partner("Bolt Distribution", partner_type="distributor")
    nimbus = make_partner("Nimbus Cloud Partners")
    admins = {p: make_member(p, MembershipRole.ADMIN) for p in (acme, bolt, nimbus)}
    maya = make_staff(StaffRole.MARKETING_MANAGER, username="maya", first_name="Maya", last_name="Marketing")
    program = FundProgram.objects.create(
        name="FY MDF",
        period_start=dt.date(TODAY.year, 1, 1),
        period_end=dt.date(TODAY.year + 1, 12, 31),
        budget=Decimal("250000"),
        starting_allocation=Decimal("2500"),
    )
    for partner, amount in ((acme, "20000"), (bolt, "12000"), (nimbus, "6000")):
        mdf.allocation_grant(actor=maya, partner=partner, program=program, amount=amount, note="FY allocation")
    acme_allocation = FundAllocation.objects.get(partner=acme)
    roadshow = submitted(acme_allocation, admins[acme], cost="6000", activity="Security roadshow")
    mdf.request_approve(actor=maya, request=roadshow)
    claim = mdf.claim_submit(
        actor=admins[acme],
        request=roadshow,
        actual_cost="5400",
        leads=64,
        deals=4,
        revenue="81000",
        proofs=[SimpleUploadedFile("invoice.pdf", PDF), SimpleUploadedFile("booth.png", png())],
    )
    submitted(FundAllocation.objects.get(partner=bolt), admins[bolt], cost="3000", activity="Partner webinar series")
    submitted(acme_allocation, admins[acme], cost="2500", activity="Customer breakfast")
    now = timezone.now()
    banner = image_asset(maya, title="Cloud month banner", tags=None)
    image_asset(maya, title="Acme co-sell one-pager", audience=Audience.PARTNERS, partners=[acme])
    image_asset(maya, title="Last year's price list", publish_at=now - dt.timedelta(days=400),
                expires_at=now - dt.timedelta(days=2))  # fmt: skip
    campaign = services.campaign_save(
        actor=maya,
        name="Cloud month",
        starts_at=now - dt.timedelta(days=2),
        ends_at=now + dt.timedelta(days=28),
        status="published",
        assets=[banner],
        email_copy="Join us for Cloud month.",
    )
    services.campaign_opt_in(actor=admins[acme], partner=acme, campaign=campaign)
    services.download_record(actor=admins[acme], partner=acme, asset=banner, campaign=campaign)
    journey = Journey(ARTIFACTS.parent / "screenshots" / "comarketing-console")

    page = open_page()
    base = live_server.url
    with journey.step("dashboard-mdf-card", page):
        page.goto(f"{base}/console/login/")
        page.get_by_label("Username").fill("maya")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        card = page.locator("#card-comarketingmdf")
        expect(card.get_by_text("Utilisation", exact=True)).to_be_visible()
        expect(card.locator("svg.ph-cm-mdf__chart")).to_be_visible()
    with journey.step("asset-list", page):
        page.goto(f"{base}/console/comarketing/asset/")
        expect(page.locator(".ph-cm-expired")).to_have_count(1)
    with journey.step("asset-change-with-versions", page):
        page.get_by_role("link", name="Acme co-sell one-pager").click()
        expect(page.locator("img.ph-cm-thumb")).to_have_count(1)
        expect(page.locator("#id_partners_to option")).to_have_text(["Acme Resellers"])
    with journey.step("add-version-refused", page):
        page.get_by_role("link", name="Add version").click()
        page.get_by_label("File").set_input_files(
            {"name": "fake.png", "mimeType": "image/png", "buffer": b"<svg onload=alert(1)>"}
        )
        page.get_by_role("button", name="Add version").click()
        expect(page.get_by_text("is not a PNG, JPEG, WebP or GIF image")).to_be_visible()
    with journey.step("add-version-saved", page):
        page.get_by_label("File").set_input_files(
            {"name": "v2.png", "mimeType": "image/png", "buffer": png((0, 150, 90))}
        )
        page.get_by_label("Notes").fill("Greener background")
        page.get_by_role("button", name="Add version").click()
        expect(page.get_by_text("Version 2 of “Acme co-sell one-pager” is now current.")).to_be_visible()
        expect(page.locator("img.ph-cm-thumb")).to_have_count(2)
    with journey.step("campaign-with-opt-ins", page):
        page.goto(f"{base}/console/comarketing/campaign/{campaign.pk}/change/")
        expect(page.locator("td.field-partner_name").get_by_role("link", name="Acme Resellers")).to_be_visible()
    with journey.step("allocations-with-balances", page):
        page.goto(f"{base}/console/comarketing/fundallocation/")
        expect(page.get_by_role("link", name="Acme Resellers")).to_be_visible()
    with journey.step("grant-funds-form", page):
        page.locator(f'input[name="_selected_action"][value="{acme_allocation.pk}"]').check()
        page.locator('select[name="action"]').select_option("grant_funds")
        page.get_by_role("button", name="Go").click()
        page.get_by_label("Amount").fill("10.005")
        page.get_by_role("button", name="Grant").click()
        expect(page.get_by_text("Ensure that there are no more than 2 decimal places.")).to_be_visible()
    with journey.step("grant-funds-done", page):
        page.get_by_label("Amount").fill("1500")
        page.get_by_label("Note").fill("Q2 top-up")
        page.get_by_role("button", name="Grant").click()
        expect(page.get_by_text("Granted funds to 1 allocation.")).to_be_visible()
    with journey.step("allocation-ledger", page):
        page.goto(f"{base}/console/comarketing/fundallocation/{acme_allocation.pk}/change/")
        expect(page.get_by_text("Q2 top-up")).to_be_visible()
    with journey.step("requests", page):
        page.goto(f"{base}/console/comarketing/fundrequest/")
        expect(page.get_by_role("link", name="Partner webinar series")).to_be_visible()
    with journey.step("approve-request-form", page):
        page.get_by_role("link", name="Partner webinar series").click()
        page.get_by_role("button", name="Approve…").click()
        page.get_by_label("Amount").fill("2500")
        page.get_by_label("Note").fill("Approved at 2,500; keep the venue cost down.")
    with journey.step("request-approved", page):
        page.get_by_role("button", name="Approve and commit").click()
        expect(page.get_by_text("Approved 1 request.")).to_be_visible()
    with journey.step("claim-with-proofs", page):
        page.goto(f"{base}/console/comarketing/fundclaim/{claim.pk}/change/")
        expect(page.get_by_role("link", name="invoice.pdf")).to_be_visible()
    with journey.step("claim-approved", page):
        page.get_by_role("button", name="Approve…").click()
        page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_text("Approved 1 claim.")).to_be_visible()
    with journey.step("pay-claim-form", page):
        page.get_by_role("button", name="Record payment…").click()
        page.get_by_label("Payment reference").fill("TRX-2026-0042")
    with journey.step("claim-paid", page):
        page.get_by_role("button", name="Record payment").click()
        expect(page.get_by_text("Recorded the payment of 1 claim.")).to_be_visible()
    with journey.step("ledger-entries", page):
        page.goto(f"{base}/console/comarketing/ledgerentry/")
        expect(page.get_by_text("TRX-2026-0042")).to_be_visible()
    with journey.step("fund-programs", page):
        page.goto(f"{base}/console/comarketing/fundprogram/")
        expect(page.get_by_role("link", name="FY MDF")).to_be_visible()
    with journey.step("dashboard-after", page):
        page.goto(f"{base}/console/")
        expect(page.locator("#card-comarketingmdf")).to_be_visible()

    claim.refresh_from_db()
    assert claim.payment_reference == "TRX-2026-0042"
    assert FundRequest.objects.get(activity="Partner webinar series").approved_amount == Decimal("2500")
    # The two refused forms answer 400, which Chromium logs; nothing else (no CSP violation, no script error)
    logged = [e for page_errors in errors for e in page_errors]
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert logged == [refused, refused], logged
    assert FundClaim.objects.count() == 1
