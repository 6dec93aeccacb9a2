"""Co-marketing pages: the asset library, co-branded files, campaigns and MDF in the partner portal, and the
vendor marketing team's review pages. Every file is served by an authorising view: another partner's file
answers 404 like a missing one, and bad input answers 4xx with nothing saved."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from comarketing import mdf, services
from comarketing.choices import AssetKind, Audience, PublishStatus, RenderState, RequestStatus, TemplateKind
from comarketing.models import (
    Asset,
    AssetDownload,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundClaim,
    FundProgram,
    FundRequest,
    Tag,
)
from partnerhub.choices import StaffRole
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TEMPLATE = """<html><head><style>
@page { size: A6; margin: 8mm }
h1 { color: {{ partner.primary_color }}; font-family: DejaVu Sans }
.band { background: {{ partner.accent_color }}; height: 6mm }
</style></head><body><div class="band"></div>
{% if partner.logo_data_uri %}<img src="{{ partner.logo_data_uri }}" alt="">{% endif %}
<h1>{{ partner.name }}</h1><p>{{ partner.email }}</p></body></html>"""


def png_bytes(size=(64, 40), colour="#1f4fd1") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketing(db):
    return make_staff(StaffRole.MARKETING_MANAGER, username="mira")


@pytest.fixture
def make_asset(marketing):
    def make(title, *, kind=AssetKind.PDF, partners=None, upload=True, template="", **fields):
        fields.setdefault("status", PublishStatus.PUBLISHED)
        fields.setdefault("publish_at", timezone.now() - dt.timedelta(days=1))
        audience = Audience.PARTNERS if partners else Audience.ALL
        asset = services.asset_save(
            actor=marketing,
            title=title,
            kind=kind,
            audience=audience,
            partners=partners,
            template_kind=TemplateKind.HTML if template else TemplateKind.NONE,
            **fields,
        )
        version = {}
        if kind == AssetKind.IMAGE:
            version["upload"] = SimpleUploadedFile("banner.png", png_bytes())
        elif kind == AssetKind.PDF and upload:
            version["upload"] = SimpleUploadedFile(f"{title}.pdf", PDF)
        elif kind in (AssetKind.EMAIL_COPY, AssetKind.SOCIAL_COPY):
            version["text_body"] = f"Copy of {title}"
        if template:
            version["html_template"] = template
        services.asset_add_version(actor=marketing, asset=asset, **version)
        asset.refresh_from_db()
        return asset

    return make


@pytest.fixture
def program(db):
    return FundProgram.objects.create(
        name="FY MDF",
        period_start=dt.date(TODAY.year, 1, 1),
        period_end=dt.date(TODAY.year + 1, 12, 31),
        budget=Decimal("1000000"),
    )


@pytest.fixture
def allocation_a(partner_a, marketing, program):
    return mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="10000")


def request_form(fund, **overrides) -> dict:
    data = {
        "allocation": fund.pk,
        "activity": "Cloud security breakfast",
        "activity_type": "Event",
        "description": "Thirty IT leads, one morning.",
        "planned_cost": "2500.00",
        "expected_leads": "30",
        "starts_on": (TODAY + dt.timedelta(days=10)).isoformat(),
        "ends_on": (TODAY + dt.timedelta(days=11)).isoformat(),
    }
    data.update(overrides)
    return data


def approved_request(admin, marketing, allocation, cost="3000") -> FundRequest:
    request = mdf.request_submit(
        actor=admin,
        allocation=allocation,
        activity="Partner roadshow",
        planned_cost=cost,
        starts_on=TODAY - dt.timedelta(days=5),
        ends_on=TODAY - dt.timedelta(days=4),
    )
    return mdf.request_approve(actor=marketing, request=request)


# Asset library -------------------------------------------------------------------------------------------------


def test_search_finds_shared_assets_and_never_another_partners_partner_only_asset(partner_a, rep_a, rep_b, make_asset):
    # Given an asset for every partner and one shared with partner A only (a guardian grant to A's group)
    make_asset("Firewall datasheet", description="Next-generation firewall appliances")
    make_asset("Firewall price list", description="Firewall prices for chosen partners", partners=[partner_a])
    make_asset("Switch brochure", description="Campus switching")
    url = reverse("comarketing:assets")

    # When each partner searches for firewalls
    seen_by_a = browser(rep_a).get(url, {"q": "firewall"})
    seen_by_b = browser(rep_b).get(url, {"q": "firewall"})

    # Then A finds both, B only the shared one — in search results and in the plain list
    assert seen_by_a.status_code == 200
    assert {a.title for a in seen_by_a.context["page"]} == {"Firewall price list", "Firewall datasheet"}
    assert "Switch brochure" not in seen_by_a.content.decode()
    assert [a.title for a in seen_by_b.context["page"]] == ["Firewall datasheet"]
    assert "Firewall price list" not in seen_by_b.content.decode()
    assert "Firewall price list" not in browser(rep_b).get(url).content.decode()


def test_a_search_page_is_the_ranked_slice_and_a_long_result_says_more_than_the_cap(
    rep_a, partner_a, make_asset, monkeypatch
):
    from comarketing import selectors as asset_selectors
    from comarketing import views as asset_views

    # Given 7 firewall assets of different relevance, a page of 2 and a count capped at 3
    for n in range(7):
        make_asset(f"Firewall {n}", description="firewall " * (n % 3) + "appliance")
    make_asset("Switch", description="campus switching")
    monkeypatch.setattr(asset_views, "ASSET_PAGE_SIZE", 2)
    monkeypatch.setattr(asset_views, "ASSET_COUNT_LIMIT", 3)
    ranked = asset_selectors.search_assets(asset_selectors.asset_list(user=rep_a, partner=partner_a), "firewall")
    plain = [a.title for a in ranked]  # the whole ranked list, read at once (no slice, so not keys first)
    assert len(plain) == 7
    client = browser(rep_a)
    url = reverse("comarketing:assets")

    # When the partner walks the results by "next"
    seen, number, pages = [], 1, []
    while True:
        response = client.get(url, {"q": "firewall", "page": number})
        assert response.status_code == 200
        page = response.context["page"]
        seen += [a.title for a in page]
        pages.append((page.number, page.paginator.count_capped, response.content.decode()))
        if not page.has_next():
            break
        number = page.next_page_number()

    # Then the pages are the ranked list in order, every match once
    assert seen == plain
    # And the first page says "more than 3" with no page total; a page past the cap is counted exactly
    _, first_capped, first_html = pages[0]
    assert first_capped and "More than 3 results for" in first_html and "Page 1 of" not in first_html
    last_number, last_capped, last_html = pages[-1]
    assert last_number == 4 and not last_capped
    assert "7 results for" in last_html and "Page 4 of 4" in last_html


def test_a_partners_search_can_rank_from_the_index_of_published_assets(rep_a, partner_a, make_asset):
    from django.db import connection

    from comarketing import selectors as asset_selectors

    make_asset("Firewall datasheet")
    make_asset("Firewall draft", status=PublishStatus.DRAFT)
    ranked = asset_selectors.search_assets(asset_selectors.asset_list(user=rep_a, partner=partner_a), "firewall")
    keys = ranked.values("pk")[:25]  # the statement a page's keys come from
    sql, params = keys.query.sql_with_params()

    # The partner's filter implies the partial index's condition, so PostgreSQL may use it. On so few rows it
    # would rather read the table or another index; with those ruled out (the other indexes are dropped inside
    # the test's transaction, scans other than by bitmap switched off), it chooses between the two search
    # indexes and takes the smaller one its filter allows.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname NOT IN (%s, %s, %s)",
            [Asset._meta.db_table, "asset_search_idx", "asset_published_search_idx", f"{Asset._meta.db_table}_pkey"],
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "asset_published_search_idx" in plan, plan
    assert [a.title for a in ranked] == ["Firewall datasheet"]


def test_filters_by_kind_category_and_tag_and_refuses_an_unknown_kind(rep_a, make_asset):
    from comarketing.models import AssetCategory

    category = AssetCategory.objects.create(name="Security", slug="security")
    brochure = make_asset("Brochure", category=category)
    # Tags are attached directly: asset_save(tags=...) cannot store tags yet (its search refresh adds two
    # tsvectors with "+"; PostgreSQL concatenates them with "||").
    brochure.tags.add(Tag.objects.create(name="zero trust"))
    make_asset("Banner", kind=AssetKind.IMAGE)
    client = browser(rep_a)
    url = reverse("comarketing:assets")

    assert [a.title for a in client.get(url, {"kind": "image"}).context["page"]] == ["Banner"]
    assert [a.title for a in client.get(url, {"category": "security"}).context["page"]] == ["Brochure"]
    assert [a.title for a in client.get(url, {"tag": "zero trust"}).context["page"]] == ["Brochure"]
    refused = client.get(url, {"kind": "spreadsheet"})
    assert refused.status_code == 400
    assert "Choose one of the listed options." in refused.content.decode()


def test_each_card_lists_its_own_tags_as_filter_links(rep_a, make_asset):
    tagged = make_asset("Zero trust brochure")
    tagged.tags.add(Tag.objects.create(name="zero trust"), Tag.objects.create(name="cloud"))
    make_asset("Untagged banner", kind=AssetKind.IMAGE)

    page = browser(rep_a).get(reverse("comarketing:assets")).content.decode()

    cards = {
        re.search(r'<h3 class="cm-card__title"><a [^>]+>([^<]+)</a>', card).group(1): card
        for card in page.split('<li class="card cm-card">')[1:]
    }
    assert set(cards) == {"Zero trust brochure", "Untagged banner"}
    chips = cards["Zero trust brochure"]
    assert '<a class="cm-chip" href="?tag=cloud">cloud</a>' in chips
    assert '<a class="cm-chip" href="?tag=zero%20trust">zero trust</a>' in chips
    assert 'aria-label="Tags"' not in cards["Untagged banner"]


def test_expired_draft_and_future_assets_are_hidden_from_partners(rep_a, make_asset):
    now = timezone.now()
    live = make_asset("Live brochure")
    draft = make_asset("Draft brochure", status=PublishStatus.DRAFT)
    expired = make_asset(
        "Expired brochure", publish_at=now - dt.timedelta(days=30), expires_at=now - dt.timedelta(days=1)
    )
    future = make_asset("Future brochure", publish_at=now + dt.timedelta(days=3))
    client = browser(rep_a)

    listed = client.get(reverse("comarketing:assets"))
    assert [a.title for a in listed.context["page"]] == ["Live brochure"]
    assert client.get(reverse("comarketing:asset", args=[live.pk])).status_code == 200
    for hidden in (draft, expired, future):
        assert client.get(reverse("comarketing:asset", args=[hidden.pk])).status_code == 404
        assert client.get(reverse("comarketing:asset_download", args=[hidden.pk])).status_code == 404
    assert not AssetDownload.objects.exists()


def test_download_streams_the_original_as_an_attachment_and_records_it(partner_a, rep_a, make_asset):
    asset = make_asset("Datasheet")
    client = browser(rep_a)

    response = client.get(reverse("comarketing:asset_download", args=[asset.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF
    download = AssetDownload.objects.get()
    assert (download.partner, download.user, download.cobranded, download.campaign) == (partner_a, rep_a, False, None)
    asset.refresh_from_db()
    assert asset.download_count == 1


def test_a_download_from_a_campaign_is_recorded_with_the_campaign(rep_a, make_asset):
    asset, other = make_asset("Datasheet"), make_asset("Unrelated")
    campaign = make_campaign(assets=[asset])
    client = browser(rep_a)

    assert (
        client.get(reverse("comarketing:asset_download", args=[asset.pk]), {"campaign": campaign.pk}).status_code == 200
    )
    assert AssetDownload.objects.get().campaign == campaign
    # A campaign that does not contain the asset is not a way to attribute downloads: 404, nothing recorded
    assert (
        client.get(reverse("comarketing:asset_download", args=[other.pk]), {"campaign": campaign.pk}).status_code == 404
    )
    assert client.get(reverse("comarketing:asset_download", args=[other.pk]), {"campaign": "x"}).status_code == 404
    assert AssetDownload.objects.count() == 1


def test_thumbnail_original_and_cobrand_of_an_asset_not_shared_with_b_answer_404(
    partner_a, rep_a, rep_b, admin_b, make_asset
):
    image = make_asset("Partner-only banner", kind=AssetKind.IMAGE, partners=[partner_a])
    assert image.current_version.thumbnail
    thumbnail = reverse("comarketing:asset_thumbnail", args=[image.pk])

    own = browser(rep_a).get(thumbnail)
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert own["X-Content-Type-Options"] == "nosniff"
    for outsider in (rep_b, admin_b):
        client = browser(outsider)
        assert client.get(thumbnail).status_code == 404
        assert client.get(reverse("comarketing:asset_download", args=[image.pk])).status_code == 404
        assert client.get(reverse("comarketing:asset", args=[image.pk])).status_code == 404
        assert client.post(reverse("comarketing:cobrand", args=[image.pk])).status_code == 404
    assert not AssetDownload.objects.exists() and not CobrandedFile.objects.exists()


def test_copy_text_and_video_assets_show_their_content(rep_a, make_asset, marketing):
    copy = make_asset("Launch e-mail", kind=AssetKind.EMAIL_COPY)
    video = services.asset_save(
        actor=marketing, title="Demo video", kind=AssetKind.VIDEO, status=PublishStatus.PUBLISHED
    )
    services.asset_add_version(actor=marketing, asset=video, external_url="https://videos.example/demo")
    client = browser(rep_a)

    page = client.get(reverse("comarketing:asset", args=[copy.pk])).content.decode()
    assert "Copy of Launch e-mail" in page and 'data-copy-target="asset-copy"' in page
    page = client.get(reverse("comarketing:asset", args=[video.pk])).content.decode()
    assert 'href="https://videos.example/demo"' in page and 'rel="noopener noreferrer"' in page


# Co-branded files ----------------------------------------------------------------------------------------------


def test_cobranded_file_is_made_for_a_and_answers_404_for_b(
    partner_a, rep_a, rep_b, admin_b, make_asset, django_capture_on_commit_callbacks
):
    # Given a co-brandable HTML asset shared with every partner
    asset = make_asset("Co-branded flyer", upload=False, template=TEMPLATE)
    client = browser(rep_a)

    # When partner A's rep asks for the co-branded version (the render runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("comarketing:cobrand", args=[asset.pk]))

    # Then it is rendered for A and served inline in a sandbox, and recorded as a co-branded download
    render = CobrandedFile.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("comarketing:render", args=[render.pk])
    assert render.partner == partner_a and render.state == RenderState.DONE
    page = client.get(reverse("comarketing:render", args=[render.pk]))
    assert page.status_code == 200 and "Open PDF" in page.content.decode()
    file_url = reverse("comarketing:render_file", args=[render.pk])
    opened = client.get(file_url)
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert opened["Content-Disposition"].startswith("inline;")
    assert "sandbox" in opened["Content-Security-Policy"] and opened["X-Content-Type-Options"] == "nosniff"
    assert b"".join(opened.streaming_content).startswith(b"%PDF")
    assert client.get(file_url, {"download": "1"})["Content-Disposition"].startswith("attachment;")
    assert AssetDownload.objects.filter(partner=partner_a, cobranded=True).count() == 2

    # And partner B (even though it may see the asset itself) gets 404 for A's file, like a missing one
    for outsider in (rep_b, admin_b):
        other = browser(outsider)
        assert other.get(reverse("comarketing:render", args=[render.pk])).status_code == 404
        assert other.get(file_url).status_code == 404
        assert other.get(reverse("comarketing:render_file", args=[987654321])).status_code == 404
    assert not AssetDownload.objects.exclude(partner=partner_a).exists()


def test_progress_fragment_polls_until_the_render_is_done(partner_a, rep_a, make_asset):
    asset = make_asset("Flyer", upload=False, template=TEMPLATE)
    render = CobrandedFile.objects.create(
        partner=partner_a,
        version=asset.current_version,
        brand_version=partner_a.brand.version,
        progress=35,
        state=RenderState.RUNNING,
    )
    client = browser(rep_a)
    url = reverse("comarketing:render", args=[render.pk])

    fragment = client.get(url, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and fragment["X-Portal-Fragment"] == "1"
    assert "<html" not in body and 'value="35"' in body and f'hx-get="{url}"' in body

    full_page = client.get(url).content.decode()
    assert "<html" in full_page and 'http-equiv="refresh"' in full_page  # works without script by reloading

    CobrandedFile.objects.filter(pk=render.pk).update(
        state=RenderState.DONE, progress=100, content_type="application/pdf"
    )
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Open PDF" in done and "hx-get" not in done

    # A render not yet done is not served: the file address leads back to the progress page
    CobrandedFile.objects.filter(pk=render.pk).update(state=RenderState.RUNNING)
    assert client.get(reverse("comarketing:render_file", args=[render.pk]))["Location"] == url


def test_a_non_cobrandable_asset_cannot_be_cobranded(rep_a, make_asset):
    asset = make_asset("Plain datasheet")
    response = browser(rep_a).post(reverse("comarketing:cobrand", args=[asset.pk]))
    assert response.status_code == 409
    assert "This asset cannot be co-branded." in response.content.decode()
    assert not CobrandedFile.objects.exists()


# Campaigns -----------------------------------------------------------------------------------------------------


def make_campaign(*, assets=(), partners=None, starts=-1, ends=30, name="Spring security push") -> Campaign:
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=name,
        slug=name.lower().replace(" ", "-"),
        starts_at=now + dt.timedelta(days=starts),
        ends_at=now + dt.timedelta(days=ends),
        audience=Audience.PARTNERS if partners else Audience.ALL,
        status=PublishStatus.PUBLISHED,
        email_copy="Dear customer, meet zero trust.",
        social_copy="Zero trust, made simple.",
    )
    campaign.assets.set(assets)
    if partners:
        campaign.partners.set(partners)
    return campaign


def test_campaign_list_shows_current_and_upcoming_campaigns_of_the_partner(partner_a, rep_a, rep_b):
    make_campaign(name="Running now")
    make_campaign(name="Next quarter", starts=40, ends=70)
    make_campaign(name="Last year", starts=-400, ends=-300)
    make_campaign(name="Acme exclusive", partners=[partner_a])

    titles_a = [c.name for c in browser(rep_a).get(reverse("comarketing:campaigns")).context["page"]]
    titles_b = [c.name for c in browser(rep_b).get(reverse("comarketing:campaigns")).context["page"]]

    assert set(titles_a) == {"Running now", "Next quarter", "Acme exclusive"}
    assert set(titles_b) == {"Running now", "Next quarter"}


def test_campaign_opt_in_by_admin_renders_the_kit_and_rep_is_refused(
    partner_a, admin_a, rep_a, rep_b, make_asset, django_capture_on_commit_callbacks
):
    flyer = make_asset("Campaign flyer", upload=False, template=TEMPLATE)
    datasheet = make_asset("Campaign datasheet")
    campaign = make_campaign(assets=[flyer, datasheet], partners=[partner_a])
    opt_in_url = reverse("comarketing:campaign_opt_in", args=[campaign.pk])

    # A rep may not join for the partner
    assert browser(rep_a).post(opt_in_url).status_code == 403
    assert not CampaignOptIn.objects.exists()
    # Partner B does not see A's campaign at all
    assert browser(rep_b).get(reverse("comarketing:campaign", args=[campaign.pk])).status_code == 404

    # The admin joins; the co-branded kit renders
    admin = browser(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        joined = admin.post(opt_in_url)
    assert joined.status_code == 302
    assert CampaignOptIn.objects.get().partner == partner_a
    render = CobrandedFile.objects.get(partner=partner_a)
    assert render.state == RenderState.DONE

    page = admin.get(reverse("comarketing:campaign", args=[campaign.pk]))
    body = page.content.decode()
    kit_link = f"{reverse('comarketing:render_file', args=[render.pk])}?campaign={campaign.pk}&amp;download=1"
    assert page.status_code == 200 and "Your co-branded kit" in body and kit_link in body
    assert f"{reverse('comarketing:asset_download', args=[datasheet.pk])}?campaign={campaign.pk}" in body
    fragment = admin.get(reverse("comarketing:campaign", args=[campaign.pk]), HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and kit_link in fragment.content.decode()

    # Downloads from the kit are recorded with the campaign
    file = admin.get(reverse("comarketing:render_file", args=[render.pk]), {"campaign": campaign.pk, "download": "1"})
    assert file.status_code == 200
    download = AssetDownload.objects.get()
    assert (download.campaign, download.cobranded, download.asset) == (campaign, True, flyer)


def test_joining_an_ended_campaign_is_a_conflict(admin_a):
    campaign = make_campaign(starts=-30, ends=-1)
    response = browser(admin_a).post(reverse("comarketing:campaign_opt_in", args=[campaign.pk]))
    assert response.status_code == 409 and "This campaign has ended." in response.content.decode()
    assert not CampaignOptIn.objects.exists()


# MDF -----------------------------------------------------------------------------------------------------------


def test_funds_page_shows_the_balance_chart_and_claim_deadlines(partner_a, admin_a, rep_a, marketing, allocation_a):
    soon = approved_request(admin_a, marketing, allocation_a, cost="1000")
    near = approved_request(admin_a, marketing, allocation_a, cost="1000")
    late = approved_request(admin_a, marketing, allocation_a, cost="1000")
    for request, days in ((soon, 3), (near, 10), (late, -1)):
        FundRequest.objects.filter(pk=request.pk).update(claim_due_on=TODAY + dt.timedelta(days=days))

    response = browser(rep_a).get(reverse("comarketing:funds"))

    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["summary"]["available"] == Decimal("7000")
    assert 'class="cm-seg cm-seg--committed" x="0" y="0" width="300"' in body  # 3,000 of 10,000
    assert 'class="cm-seg cm-seg--available" x="300" y="0" width="700"' in body
    assert "style=" not in body.split("<main", 1)[1]  # the chart has no inline styles (CSP)
    assert 'cm-due cm-due--soon">' in body and "in 3 days" in body  # red within a week
    assert 'cm-due cm-due--near">' in body and "in 10 days" in body  # amber within two weeks
    assert 'cm-due cm-due--overdue">' in body
    assert reverse("comarketing:request_new") not in body  # reps see funds read-only


def test_mdf_request_happy_path(partner_a, admin_a, allocation_a):
    client = browser(admin_a)
    assert client.get(reverse("comarketing:request_new")).status_code == 200

    response = client.post(reverse("comarketing:request_new"), request_form(allocation_a))

    request = FundRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("comarketing:request", args=[request.pk])
    assert (request.partner, request.planned_cost, request.expected_leads, request.activity_type) == (
        partner_a,
        Decimal("2500.00"),
        30,
        "Event",
    )
    page = client.get(response["Location"]).content.decode()
    assert "Cloud security breakfast" in page and "Waiting for the marketing team" in page


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"planned_cost": "abc"}, 400, "Give the amount as a number"),
        ({"planned_cost": "-5"}, 400, "The amount must be greater than zero."),
        ({"planned_cost": "10.005"}, 400, "Use at most two decimals."),
        ({"planned_cost": ""}, 400, "Give the planned cost."),
        ({"planned_cost": "10000.01"}, 409, "Only 10000.00 USD is available"),
        ({"activity": "  "}, 400, "Name the activity."),
        ({"ends_on": (TODAY + dt.timedelta(days=2)).isoformat()}, 400, "cannot end before it starts"),
        ({"starts_on": "2001-01-01", "ends_on": "2001-01-02"}, 400, "must fall within the program period"),
        ({"starts_on": "2026-13-01"}, 400, "Give the date as YYYY-MM-DD."),
        ({"expected_leads": "-1"}, 400, "greater than or equal to 0"),
        ({"activity_type": "Bribery"}, 400, "Select a valid choice."),
        ({"allocation": "987654321"}, 400, "Choose one of your partner&#x27;s funds."),
    ],
)
def test_mdf_request_bad_input_is_refused_and_nothing_is_saved(admin_a, allocation_a, overrides, status, message):
    response = browser(admin_a).post(reverse("comarketing:request_new"), request_form(allocation_a, **overrides))

    assert response.status_code == status
    assert message in response.content.decode()
    assert "Nothing was saved." in response.content.decode()
    assert not FundRequest.objects.exists()
    allocation_a.refresh_from_db()
    assert allocation_a.available == Decimal("10000")


def test_another_partners_fund_cannot_be_requested_from(admin_a, partner_b, marketing, program, allocation_a):
    allocation_b = mdf.allocation_grant(actor=marketing, partner=partner_b, program=program, amount="5000")
    response = browser(admin_a).post(reverse("comarketing:request_new"), request_form(allocation_b))
    assert response.status_code == 400
    assert not FundRequest.objects.exists()


def test_rep_cannot_request_claim_or_cancel(rep_a, admin_a, marketing, allocation_a):
    client = browser(rep_a)
    assert client.get(reverse("comarketing:request_new")).status_code == 403
    assert client.post(reverse("comarketing:request_new"), request_form(allocation_a)).status_code == 403
    assert not FundRequest.objects.exists()
    request = approved_request(admin_a, marketing, allocation_a)
    page = client.get(reverse("comarketing:request", args=[request.pk])).content.decode()
    assert "File your claim" not in page and "Cancel request" not in page
    claim = {
        "actual_cost": "100",
        "leads": "1",
        "deals": "0",
        "revenue": "0",
        "proofs": SimpleUploadedFile("i.pdf", PDF),
    }
    assert client.post(reverse("comarketing:request_claim", args=[request.pk]), claim).status_code == 403
    assert client.post(reverse("comarketing:request_cancel", args=[request.pk])).status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and not FundClaim.objects.exists()


def test_claim_with_a_non_pdf_proof_is_refused_and_a_real_one_is_filed(admin_a, marketing, allocation_a):
    request = approved_request(admin_a, marketing, allocation_a, cost="3000")
    client = browser(admin_a)
    url = reverse("comarketing:request_claim", args=[request.pk])
    claim = {"actual_cost": "2800", "leads": "40", "deals": "3", "revenue": "45000", "notes": "Went well"}

    fake = SimpleUploadedFile("invoice.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf")
    refused = client.post(url, {**claim, "proofs": fake})
    assert refused.status_code == 400
    assert "“invoice.pdf” is not a PDF, PNG or JPEG file." in refused.content.decode()
    assert not FundClaim.objects.exists() and not ClaimProof.objects.exists()
    too_much = client.post(url, {**claim, "actual_cost": "3000.01", "proofs": SimpleUploadedFile("i.pdf", PDF)})
    assert too_much.status_code == 400 and "Claim at most the approved 3000.00." in too_much.content.decode()
    assert client.post(url, claim).status_code == 400  # no proof at all
    request.refresh_from_db()
    allocation_a.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and allocation_a.committed == Decimal("3000")

    filed = client.post(
        url, {**claim, "proofs": [SimpleUploadedFile("invoice.pdf", PDF), SimpleUploadedFile("room.png", png_bytes())]}
    )
    assert filed.status_code == 302
    assert FundClaim.objects.get().actual_cost == Decimal("2800")
    assert sorted(ClaimProof.objects.values_list("content_type", flat=True)) == ["application/pdf", "image/png"]
    request.refresh_from_db()
    assert request.status == RequestStatus.CLAIMED


def test_cancel_returns_approved_funds(admin_a, marketing, allocation_a):
    request = approved_request(admin_a, marketing, allocation_a, cost="3000")
    response = browser(admin_a).post(reverse("comarketing:request_cancel", args=[request.pk]))
    assert response.status_code == 302
    request.refresh_from_db()
    allocation_a.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED and allocation_a.available == Decimal("10000")
    again = browser(admin_a).post(reverse("comarketing:request_cancel", args=[request.pk]))
    assert again.status_code == 409


def test_proof_and_request_urls_are_isolated(
    partner_a, admin_a, rep_a, admin_b, rep_b, manager_a, manager_b, marketing, allocation_a
):
    request = approved_request(admin_a, marketing, allocation_a)
    mdf.claim_submit(actor=admin_a, request=request, actual_cost="100", proofs=[SimpleUploadedFile("invoice.pdf", PDF)])
    proof = ClaimProof.objects.get()
    url = reverse("comarketing:proof", args=[proof.pk])

    for reader in (admin_a, rep_a, marketing):
        response = browser(reader).get(url)
        assert response.status_code == 200, reader
        assert (
            response["Content-Disposition"].startswith("attachment;")
            and response["X-Content-Type-Options"] == "nosniff"
        )
    for outsider in (admin_b, rep_b, manager_b, manager_a):  # the channel manager's role has no proof access
        assert browser(outsider).get(url).status_code == 404
        assert browser(outsider).get(reverse("comarketing:proof", args=[987654321])).status_code == 404
    for outsider in (admin_b, rep_b):
        client = browser(outsider)
        assert client.get(reverse("comarketing:request", args=[request.pk])).status_code == 404
        assert client.post(reverse("comarketing:request_cancel", args=[request.pk])).status_code in (403, 404)
    assert Client().get(url).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.CLAIMED


# Vendor review -------------------------------------------------------------------------------------------------


def test_marketing_manager_approves_rejects_and_pays(partner_a, admin_a, marketing, allocation_a):
    first = mdf.request_submit(
        actor=admin_a,
        allocation=allocation_a,
        activity="Webinar",
        planned_cost="2000",
        starts_on=TODAY - dt.timedelta(days=3),
        ends_on=TODAY - dt.timedelta(days=2),
    )
    second = mdf.request_submit(
        actor=admin_a,
        allocation=allocation_a,
        activity="Trade show",
        planned_cost="6000",
        starts_on=TODAY + dt.timedelta(days=3),
        ends_on=TODAY + dt.timedelta(days=5),
    )
    client = browser(marketing)
    queue = client.get(reverse("comarketing:review"))
    assert queue.status_code == 200 and "Webinar" in queue.content.decode() and "Trade show" in queue.content.decode()

    # Bad input is refused with nothing changed: an amount above the plan, a rejection without a reason
    over = client.post(
        reverse("comarketing:review_request", args=[first.pk]), {"decision": "approve", "amount": "2500"}
    )
    assert over.status_code == 400 and "Approve at most the planned cost." in over.content.decode()
    silent = client.post(reverse("comarketing:review_request", args=[second.pk]), {"decision": "reject", "note": ""})
    assert silent.status_code == 400 and "Give the reason" in silent.content.decode()
    assert set(FundRequest.objects.values_list("status", flat=True)) == {RequestStatus.SUBMITTED}

    # Approve a lower amount, reject the other with a reason
    approved = client.post(
        reverse("comarketing:review_request", args=[first.pk]), {"decision": "approve", "amount": "1800"}
    )
    assert approved.status_code == 302
    rejected = client.post(
        reverse("comarketing:review_request", args=[second.pk]), {"decision": "reject", "note": "Outside the plan"}
    )
    assert rejected.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.approved_amount) == (RequestStatus.APPROVED, Decimal("1800"))
    assert (second.status, second.decision_note) == (RequestStatus.REJECTED, "Outside the plan")
    assert (
        client.post(reverse("comarketing:review_request", args=[first.pk]), {"decision": "approve"}).status_code == 409
    )

    # The claim is approved, then paid with a reference
    claim = mdf.claim_submit(
        actor=admin_a,
        request=first,
        actual_cost="1500",
        leads=20,
        deals=2,
        revenue="30000",
        proofs=[SimpleUploadedFile("invoice.pdf", PDF)],
    )
    claims = client.get(reverse("comarketing:review"), {"tab": "claims"}).content.decode()
    assert "invoice.pdf" in claims and reverse("comarketing:proof", args=[claim.proofs.get().pk]) in claims
    assert client.post(reverse("comarketing:review_claim", args=[claim.pk]), {"decision": "approve"}).status_code == 302
    unpaid = client.post(reverse("comarketing:review_claim", args=[claim.pk]), {"decision": "pay", "reference": " "})
    assert unpaid.status_code == 400 and "Give the payment reference" in unpaid.content.decode()
    paid = client.post(reverse("comarketing:review_claim", args=[claim.pk]), {"decision": "pay", "reference": "TRX-77"})
    assert paid.status_code == 302
    first.refresh_from_db()
    allocation_a.refresh_from_db()
    assert first.status == RequestStatus.PAID and allocation_a.paid == Decimal("1500")

    # Utilisation and ROI show the partner with its results
    report = client.get(reverse("comarketing:utilisation"))
    row = next(p for p in report.context["rows"] if p.pk == partner_a.pk)
    assert (row.allocated, row.used, row.revenue, row.roi) == (Decimal("10000"), Decimal("1500"), Decimal("30000"), 20)
    assert "<svg" in report.content.decode() and partner_a.name in report.content.decode()


def test_review_pages_refuse_partner_users_and_hide_other_partners(
    partner_a, admin_a, rep_a, manager_a, manager_b, marketing, allocation_a
):
    request = mdf.request_submit(
        actor=admin_a,
        allocation=allocation_a,
        activity="Acme webinar",
        planned_cost="100",
        starts_on=TODAY + dt.timedelta(days=3),
        ends_on=TODAY + dt.timedelta(days=4),
    )
    decide = reverse("comarketing:review_request", args=[request.pk])
    for partner_user in (admin_a, rep_a):
        client = browser(partner_user)
        for name in ("review", "utilisation", "review_campaigns"):
            assert client.get(reverse(f"comarketing:{name}")).status_code == 403
        assert client.post(decide, {"decision": "approve"}).status_code == 403
    assert Client().get(reverse("comarketing:review")).status_code == 302

    # A channel manager of B sees nothing of A; one of A sees the request but may not decide
    other = browser(manager_b)
    assert "Acme webinar" not in other.get(reverse("comarketing:review")).content.decode()
    assert partner_a.name not in other.get(reverse("comarketing:utilisation")).content.decode()
    assert other.post(decide, {"decision": "approve"}).status_code == 404
    own = browser(manager_a)
    assert "Acme webinar" in own.get(reverse("comarketing:review")).content.decode()
    assert own.post(decide, {"decision": "approve"}).status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_campaign_report_counts_opt_ins_and_downloads_of_partners_in_scope(
    partner_a, partner_b, admin_a, admin_b, manager_b, marketing, make_asset
):
    datasheet = make_asset("Datasheet")
    campaign = make_campaign(assets=[datasheet])
    services.campaign_opt_in(actor=admin_a, partner=partner_a, campaign=campaign)
    services.campaign_opt_in(actor=admin_a, partner=partner_a, campaign=make_campaign(name="Another campaign"))
    for _ in range(3):
        services.download_record(actor=admin_a, partner=partner_a, asset=datasheet, campaign=campaign)
    services.download_record(actor=admin_b, partner=partner_b, asset=datasheet, campaign=campaign)

    report = browser(marketing).get(reverse("comarketing:campaign_report", args=[campaign.pk]))
    rows = {p.name: (bool(p.opted_in), p.downloads) for p in report.context["page"]}
    assert rows == {partner_a.name: (True, 3), partner_b.name: (False, 1)}
    assert report.context["totals"] == {"partners": 2, "opted_in": 1, "downloads": 4}

    scoped = browser(manager_b).get(reverse("comarketing:campaign_report", args=[campaign.pk]))
    assert {p.name for p in scoped.context["page"]} == {partner_b.name}
    assert partner_a.name not in scoped.content.decode()


def test_portal_navigation_links_to_marketing(rep_a):
    home = browser(rep_a).get(reverse("portal:home")).content.decode()
    assert f'href="{reverse("comarketing:assets")}"' in home
    # On a marketing page the main navigation's Marketing is the current section, the page itself is current in
    # the section's navigation
    page = browser(rep_a).get(reverse("comarketing:funds")).content.decode()
    assert f'href="{reverse("comarketing:assets")}" aria-current="true"' in page
    assert f'href="{reverse("comarketing:funds")}" aria-current="page"' in page
    assert f'href="{reverse("comarketing:assets")}" aria-current="page"' not in page


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_lists_keep_a_fixed_number_of_queries_per_page(partner_a, admin_a, marketing, allocation_a, make_asset):
    # Given a few assets and requests, then many more
    def add(n, start):
        for i in range(start, start + n):
            asset = make_asset(f"Brochure {i}", kind=AssetKind.IMAGE if i % 2 else AssetKind.PDF)
            asset.tags.add(Tag.objects.get_or_create(name=f"t{i}")[0])
            mdf.request_submit(
                actor=admin_a,
                allocation=allocation_a,
                activity=f"Event {i}",
                planned_cost="10",
                starts_on=TODAY + dt.timedelta(days=3),
                ends_on=TODAY + dt.timedelta(days=4),
            )

    add(2, 0)
    partner_client, staff_client = browser(admin_a), browser(marketing)
    pages = [
        (partner_client, reverse("comarketing:assets")),
        (partner_client, reverse("comarketing:assets") + "?q=brochure"),
        (partner_client, reverse("comarketing:funds")),
        (staff_client, reverse("comarketing:review")),
    ]
    before = [_queries(client, url) for client, url in pages]
    add(6, 2)
    after = [_queries(client, url) for client, url in pages]
    assert after == before


@pytest.mark.parametrize(
    ("starts", "ends", "shown"),
    [
        (dt.date(2026, 11, 28), dt.date(2026, 11, 28), "Nov 28, 2026"),
        (dt.date(2026, 12, 8), dt.date(2026, 12, 18), "Dec 8 – Dec 18, 2026"),
        (dt.date(2026, 12, 8), dt.date(2027, 1, 7), "Dec 8, 2026 – Jan 7, 2027"),
    ],
)
def test_activity_dates_read_naturally(starts, ends, shown):
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    item = SimpleNamespace(starts_on=starts, ends_on=ends)
    assert render_to_string("comarketing/_dates.html", {"item": item}).strip() == shown
