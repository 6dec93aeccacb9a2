"""The co-marketing REST API, role by role: the asset library with downloads and co-branding, campaigns with
opt-ins and reports, fund programs, allocations with their ledger, requests, claims with proofs and payment.

Partner isolation is proven with the reusable suite on every partner-owned endpoint (files included); assets and
campaigns shared with chosen partners are proven invisible to everybody else; bad input is refused with nothing
saved; list query counts are pinned; ten concurrent approvals over HTTP never overspend an allocation; and the
OpenAPI schema validates."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal
from itertools import count

import pytest
import yaml
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from guardian.shortcuts import assign_perm
from PIL import Image

from comarketing import mdf, services
from comarketing.choices import AssetKind, Audience, PublishStatus, RenderState, RequestStatus, TemplateKind
from comarketing.models import (
    Asset,
    AssetDownload,
    AssetVersion,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub.choices import MembershipRole, StaffRole
from partnerhub.models import Partner
from tests.conftest import client_for
from tests.factories import TierFactory, make_member, make_partner, make_staff
from tests.isolation import MISSING_ID, APIIsolationTests, results

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
PERIOD = {"period_start": dt.date(TODAY.year, 1, 1), "period_end": dt.date(TODAY.year + 1, 12, 31)}
ACTIVITY = {"starts_on": TODAY + dt.timedelta(days=3), "ends_on": TODAY + dt.timedelta(days=4)}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SECRET_TITLE = "Qsecretkit"  # only in the title of an asset shared with partner A alone
_seq = count()


# Helpers -------------------------------------------------------------------------------------------------------


def png(size=(40, 30), colour=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name="banner.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(), content_type="image/png")


def pdf_upload(name="invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def marketer(**kwargs):
    return make_staff(StaffRole.MARKETING_MANAGER, username=kwargs.pop("username", f"mkt{next(_seq)}"), **kwargs)


def make_asset(*, title="Spring banner", audience=Audience.ALL, partners=(), tiers=None, cobrand=False, **fields):
    """A published image asset with one version (its preview made), shared as asked."""
    staff = marketer()
    asset = services.asset_save(
        actor=staff,
        title=title,
        kind=AssetKind.IMAGE,
        audience=audience,
        status=fields.pop("status", PublishStatus.PUBLISHED),
        template_kind=TemplateKind.IMAGE if cobrand else "",
        partners=list(partners),
        tiers=tiers,
        **fields,
    )
    services.asset_add_version(
        actor=staff,
        asset=asset,
        upload=png_upload(),
        regions={"name": [0, 0, 40, 10]} if cobrand else None,
    )
    return Asset.objects.get(pk=asset.pk)


def make_program(**fields) -> FundProgram:
    values = {"name": f"FY MDF {next(_seq)}", "budget": Decimal("1000000"), **PERIOD, **fields}
    return FundProgram.objects.create(**values)


def make_allocation(partner, amount="10000", program=None) -> FundAllocation:
    return mdf.allocation_grant(actor=None, partner=partner, program=program or make_program(), amount=amount)


def make_request(allocation, *, status=RequestStatus.SUBMITTED, cost="1000", activity="Webinar") -> FundRequest:
    admin = admin_of(allocation.partner)
    fund_request = FundRequest.objects.create(
        partner=allocation.partner,
        allocation=allocation,
        activity=activity,
        planned_cost=Decimal(cost),
        submitted_by=admin,
        **ACTIVITY,
    )
    if status != RequestStatus.SUBMITTED:
        mdf.request_approve(actor=marketer(), request=fund_request)
        fund_request.refresh_from_db()
    return fund_request


def make_claim(allocation, cost="800") -> FundClaim:
    fund_request = make_request(allocation, status=RequestStatus.APPROVED)
    return mdf.claim_submit(
        actor=admin_of(allocation.partner),
        request=fund_request,
        actual_cost=cost,
        leads=12,
        revenue="4000",
        proofs=[pdf_upload()],
    )


def admin_of(partner: Partner):
    membership = partner.memberships.filter(role=MembershipRole.ADMIN, is_active=True).select_related("user").first()
    return membership.user if membership else make_member(partner, MembershipRole.ADMIN)


def make_render(partner) -> CobrandedFile:
    asset = make_asset(title=f"Kit {next(_seq)}", cobrand=True)
    render = CobrandedFile(
        partner=partner,
        version=asset.current_version,
        brand_version=partner.brand.version,
        state=RenderState.DONE,
        progress=100,
        content_type="image/png",
    )
    render.file.save("render.png", ContentFile(png()), save=False)
    render.save()
    return render


def make_campaign(*, audience=Audience.ALL, partners=(), assets=(), name=None, **fields) -> Campaign:
    now = timezone.now()
    return services.campaign_save(
        actor=marketer(),
        name=name or f"Spring push {next(_seq)}",
        starts_at=fields.pop("starts_at", now - dt.timedelta(days=1)),
        ends_at=fields.pop("ends_at", now + dt.timedelta(days=30)),
        audience=audience,
        status=fields.pop("status", PublishStatus.PUBLISHED),
        partners=list(partners),
        assets=list(assets),
        **fields,
    )


def errors_of(response) -> dict[str, str]:
    return {e["attr"]: e["code"] for e in response.json()["errors"]}


def ids(response) -> set[int]:
    return {row["id"] for row in results(response)}


@pytest.fixture
def marketing(db):
    return marketer(username="maya")


@pytest.fixture
def allocation_a(partner_a, admin_a):
    return make_allocation(partner_a)


# Isolation suites on every partner-owned endpoint ----------------------------------------------------------------


class TestCobrandedFileIsolation(APIIsolationTests):
    list_url = "/api/v1/cobranded-files/"
    model = CobrandedFile
    detail_methods = ("GET",)
    object_actions = (("GET", "download/", None, "json"),)

    def make_object(self, partner):
        return make_render(partner)

    def update_payload(self, obj):
        return {"state": "failed"}


class TestAssetDownloadIsolation(APIIsolationTests):
    list_url = "/api/v1/asset-downloads/"
    model = AssetDownload
    detail_methods = ("GET",)

    def make_object(self, partner):
        return services.download_record(actor=admin_of(partner), partner=partner, asset=make_asset())

    def update_payload(self, obj):
        return {"cobranded": True}


class TestCampaignOptInIsolation(APIIsolationTests):
    list_url = "/api/v1/campaign-opt-ins/"
    model = CampaignOptIn
    detail_methods = ("GET",)

    def make_object(self, partner):
        return services.campaign_opt_in(actor=admin_of(partner), partner=partner, campaign=make_campaign())

    def update_payload(self, obj):
        return {"campaign": obj.campaign_id}


class TestFundAllocationIsolation(APIIsolationTests):
    list_url = "/api/v1/fund-allocations/"
    model = FundAllocation
    detail_methods = ("GET",)
    object_actions = (("GET", "ledger/", None, "json"),)

    def make_object(self, partner):
        return make_allocation(partner)

    def update_payload(self, obj):
        return {"allocated": "999999.00"}


class TestFundRequestIsolation(APIIsolationTests):
    list_url = "/api/v1/fund-requests/"
    model = FundRequest
    detail_methods = ("GET",)
    object_actions = (
        ("POST", "approve/", {"amount": "10.00"}, "json"),
        ("POST", "reject/", {"note": "Out of budget"}, "json"),
        ("POST", "cancel/", None, "json"),
    )

    def make_object(self, partner):
        return make_request(make_allocation(partner))

    def update_payload(self, obj):
        return {"planned_cost": "1.00", "status": "approved"}


class TestFundClaimIsolation(APIIsolationTests):
    list_url = "/api/v1/fund-claims/"
    model = FundClaim
    detail_methods = ("GET",)
    object_actions = (
        ("POST", "approve/", {"note": "Fine"}, "json"),
        ("POST", "reject/", {"note": "No proof"}, "json"),
        ("POST", "pay/", {"reference": "TRX-1"}, "json"),
    )

    def make_object(self, partner):
        return make_claim(make_allocation(partner))

    def update_payload(self, obj):
        return {"actual_cost": "1.00"}


class TestClaimProofIsolation(APIIsolationTests):
    list_url = "/api/v1/claim-proofs/"
    model = ClaimProof
    detail_methods = ("GET",)
    object_actions = (("GET", "download/", None, "json"),)

    def make_object(self, partner):
        return make_claim(make_allocation(partner)).proofs.get()

    def update_payload(self, obj):
        return {"original_name": "renamed.pdf"}


def test_every_comarketing_route_has_an_isolation_suite_or_its_own_visibility_test():
    from comarketing.api.urls import router

    suites = {suite.list_url for suite in APIIsolationTests.__subclasses__() if suite.__module__ == __name__}
    # Assets and campaigns are the vendor's library, shared by audience: test_partner_only_* below prove that
    # what is shared with partner A alone stays invisible to everybody else. Programs are program-wide data.
    audience_scoped = {"/api/v1/assets/", "/api/v1/campaigns/", "/api/v1/fund-programs/"}
    registered = {f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry}
    assert registered == suites | audience_scoped


# Files are never at a storage address -------------------------------------------------------------------------


def test_files_are_only_reachable_through_authorising_endpoints(client, partner_a, admin_a, rep_b, allocation_a):
    # Given partner A's co-branded file, proof and asset with their stored files
    render = make_render(partner_a)
    proof = make_claim(allocation_a).proofs.get()
    asset = render.version.asset
    stored = [render.file.name, proof.file.name, asset.current_version.file.name, asset.current_version.thumbnail.name]

    # Then the storage addresses answer nothing, signed in or not
    client.force_login(rep_b)
    for name in stored:
        assert client.get(f"/{settings.MEDIA_URL}{name}").status_code == 404, name

    # And the API's answers link the authorising endpoints, never storage
    insider = client_for(admin_a)
    for url in (
        f"/api/v1/cobranded-files/{render.pk}/",
        f"/api/v1/claim-proofs/{proof.pk}/",
        f"/api/v1/assets/{asset.pk}/",
        f"/api/v1/fund-claims/{proof.claim_id}/",
    ):
        body = insider.get(url).content.decode()
        assert settings.MEDIA_URL not in body and not any(name in body for name in stored), url

    # And the endpoints stream the files as attachments that browsers may not sniff
    response = insider.get(f"/api/v1/claim-proofs/{proof.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="invoice.pdf"')
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]


# The asset library ---------------------------------------------------------------------------------------------


def test_marketing_publishes_an_asset_for_one_partner_and_only_that_partner_finds_it(
    marketing, partner_a, partner_b, rep_a, rep_b, admin_b, manager_a, manager_b
):
    # Given the marketing team creates an asset for partner A alone and adds its content
    staff = client_for(marketing)
    created = staff.post(
        "/api/v1/assets/",
        {
            "title": f"{SECRET_TITLE} co-sell banner",
            "description": "Joint campaign banner",
            "kind": "image",
            "tags": ["Security", "banner"],
            "audience": "partners",
            "partners": [partner_a.pk],
            "status": "published",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    asset_id = created.json()["id"]
    assert created.json()["partners"] == [partner_a.pk] and created.json()["tags"] == ["banner", "security"]
    version = staff.post(f"/api/v1/assets/{asset_id}/versions/", {"file": png_upload(), "notes": "v1"})
    assert version.status_code == 201, version.content
    assert version.json()["number"] == 1 and version.json()["content_type"] == "image/png"

    # Then partner A's rep finds it by list, filters and search, and downloads it (recorded for partner A)
    rep = client_for(rep_a)
    assert asset_id in ids(rep.get("/api/v1/assets/"))
    assert asset_id in ids(rep.get("/api/v1/assets/", {"q": SECRET_TITLE, "kind": "image", "tag": "Security"}))
    assert asset_id not in ids(rep.get("/api/v1/assets/", {"kind": "pdf"}))
    detail = rep.get(f"/api/v1/assets/{asset_id}/").json()
    assert detail["partners"] is None and detail["tiers"] is None and detail["download_count"] is None
    assert detail["current_version"]["notes"] is None  # the vendor's notes stay with the vendor
    download = rep.get(detail["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")
    assert AssetDownload.objects.filter(asset_id=asset_id, partner=partner_a, user=rep_a).count() == 1
    assert rep.get(detail["thumbnail_url"]).status_code == 200
    assert staff.get(f"/api/v1/assets/{asset_id}/").json()["download_count"] == 1

    # And A's channel manager sees it, but nobody of partner B, nor B's channel manager, learns it exists
    assert asset_id in ids(client_for(manager_a).get("/api/v1/assets/"))
    for outsider in (rep_b, admin_b, manager_b):
        client = client_for(outsider)
        assert asset_id not in ids(client.get("/api/v1/assets/", {"page_size": 200}))
        assert results(client.get("/api/v1/assets/", {"q": SECRET_TITLE})) == []
        for suffix, method in (
            ("", "get"),
            ("download/", "get"),
            ("thumbnail/", "get"),
            ("versions/", "get"),
            ("cobrand/", "post"),
            ("", "patch"),
        ):
            real = getattr(client, method)(f"/api/v1/assets/{asset_id}/{suffix}", {}, format="json")
            ghost = getattr(client, method)(f"/api/v1/assets/{MISSING_ID}/{suffix}", {}, format="json")
            assert (real.status_code, real.content) == (ghost.status_code, ghost.content), (outsider, suffix)
            # Partner users may not write the library at all (403 whatever the id); reads are 404 like a ghost's
            assert real.status_code == (403 if method == "patch" and outsider != manager_b else 404), suffix
    assert AssetDownload.objects.filter(asset_id=asset_id).count() == 1


def test_live_dates_and_status_decide_what_partners_see(rep_a, marketing):
    now = timezone.now()
    live = make_asset(title="Live")
    draft = make_asset(title="Draft", status=PublishStatus.DRAFT)
    later = make_asset(title="Later", publish_at=now + dt.timedelta(days=2))
    expired = make_asset(title="Expired", publish_at=now - dt.timedelta(days=9), expires_at=now - dt.timedelta(days=1))
    seen = ids(client_for(rep_a).get("/api/v1/assets/"))
    assert live.pk in seen and not {draft.pk, later.pk, expired.pk} & seen
    staff_rows = results(client_for(marketing).get("/api/v1/assets/"))
    assert {live.pk, draft.pk, later.pk, expired.pk} <= {row["id"] for row in staff_rows}
    assert next(row for row in staff_rows if row["id"] == expired.pk)["is_expired"] is True


def test_tier_audience(partner_a, partner_b, rep_a, rep_b):
    gold = TierFactory(name="Gold")
    Partner.objects.filter(pk=partner_a.pk).update(tier=gold)
    asset = make_asset(title="Gold playbook", audience=Audience.TIERS, tiers=[gold])
    assert asset.pk in ids(client_for(rep_a).get("/api/v1/assets/"))
    assert asset.pk not in ids(client_for(rep_b).get("/api/v1/assets/"))


def test_staff_see_and_change_only_the_grants_in_their_scope(partner_a, partner_b, marketing):
    # Given an asset shared with partners A and B, and an editor whose scope is partners A and C
    partner_c = make_partner("Cobalt Systems")
    asset = make_asset(title="Shared kit", audience=Audience.PARTNERS, partners=[partner_a, partner_b])
    editor = make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_a, partner_c], username="eddie")
    assign_perm("comarketing.change_asset", editor)
    client = client_for(editor)

    # Then the editor sees A among the chosen partners, and never B
    assert client.get(f"/api/v1/assets/{asset.pk}/").json()["partners"] == [partner_a.pk]
    assert client.get("/api/v1/assets/").json()["results"][0]["partners"] == [partner_a.pk]

    # When the editor swaps A for C, B's grant stays, which the marketing team still sees
    changed = client.patch(f"/api/v1/assets/{asset.pk}/", {"partners": [partner_c.pk]}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["partners"] == [partner_c.pk]
    assert client_for(marketing).get(f"/api/v1/assets/{asset.pk}/").json()["partners"] == [partner_b.pk, partner_c.pk]

    # And an edit that would hide the asset from the editor is refused as a whole
    hidden = client.patch(f"/api/v1/assets/{asset.pk}/", {"partners": [], "title": "Gone"}, format="json")
    assert hidden.status_code == 403
    assert Asset.objects.get(pk=asset.pk).title == "Shared kit"

    # And naming partner B (outside the editor's scope) reads like a missing partner
    answer = client.patch(f"/api/v1/assets/{asset.pk}/", {"partners": [partner_b.pk]}, format="json")
    missing = client.patch(f"/api/v1/assets/{asset.pk}/", {"partners": [MISSING_ID]}, format="json")
    assert answer.status_code == missing.status_code == 400
    assert errors_of(answer) == errors_of(missing) == {"partners": "does_not_exist"}


@pytest.mark.parametrize("who", ["rep_a", "admin_a", "manager_a"])
def test_only_the_marketing_team_writes_the_library(request, who):
    asset = make_asset()
    client = client_for(request.getfixturevalue(who))
    before = Asset.objects.count()
    assert client.post("/api/v1/assets/", {"title": "Mine", "kind": "pdf"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/assets/{asset.pk}/", {"title": "Mine"}, format="json").status_code == 403
    assert client.post(f"/api/v1/assets/{asset.pk}/versions/", {"file": png_upload()}).status_code == 403
    assert Asset.objects.count() == before and Asset.objects.get(pk=asset.pk).title == "Spring banner"
    assert AssetVersion.objects.filter(asset=asset).count() == 1


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"title": "", "kind": "pdf"}, "title", "blank"),
        ({"title": "T" * 201, "kind": "pdf"}, "title", "max_length"),
        ({"title": "Deck", "kind": "spreadsheet"}, "kind", "invalid_choice"),
        ({"title": "Deck", "kind": "pdf", "owner": 1}, "owner", "unknown_field"),
        ({"title": "Deck", "kind": "pdf", "partners": ["abc"]}, "partners", "incorrect_type"),
        ({"title": "Deck", "kind": "pdf", "tiers": [MISSING_ID]}, "tiers", "does_not_exist"),
        ({"title": "Deck", "kind": "pdf", "template_kind": "image"}, "template_kind", "invalid"),
        (
            {
                "title": "Deck",
                "kind": "pdf",
                "publish_at": "2030-01-02T00:00:00Z",
                "expires_at": "2030-01-01T00:00:00Z",
            },
            "expires_at",
            "invalid",
        ),
    ],
)
def test_bad_asset_input_is_refused_naming_the_field(marketing, body, attr, code):
    response = client_for(marketing).post("/api/v1/assets/", body, format="json")
    assert response.status_code == 400, response.content
    assert errors_of(response) == {attr: code}
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    ("upload", "attr"),
    [
        ({"file": SimpleUploadedFile("fake.png", b"<svg onload=alert(1)>", content_type="image/png")}, "file"),
        ({"notes": "no file"}, "file"),
        ({"file": png_upload(), "regions": "[1, 2]"}, "regions"),
        ({"file": png_upload(), "surprise": "x"}, "surprise"),
    ],
)
def test_bad_versions_are_refused_and_nothing_is_saved(marketing, upload, attr):
    asset = make_asset()
    response = client_for(marketing).post(f"/api/v1/assets/{asset.pk}/versions/", upload)
    assert response.status_code == 400, response.content
    assert attr in errors_of(response)
    assert AssetVersion.objects.filter(asset=asset).count() == 1
    assert Asset.objects.get(pk=asset.pk).current_version.number == 1


def test_copy_assets_download_as_text_and_video_links_have_no_file(marketing, rep_a):
    staff = marketing
    copy = services.asset_save(actor=staff, title="Launch e-mail", kind=AssetKind.EMAIL_COPY, status="published")
    services.asset_add_version(actor=staff, asset=copy, text_body="Dear {{ customer }}, <b>meet</b> us.")
    video = services.asset_save(actor=staff, title="Demo video", kind=AssetKind.VIDEO, status="published")
    services.asset_add_version(actor=staff, asset=video, external_url="https://video.example/demo")
    client = client_for(rep_a)
    text = client.get(f"/api/v1/assets/{copy.pk}/download/")
    assert text.status_code == 200 and text["Content-Type"] == "text/plain; charset=utf-8"
    assert text.content == b"Dear {{ customer }}, <b>meet</b> us."
    assert text["Content-Disposition"].startswith("attachment")
    link = client.get(f"/api/v1/assets/{video.pk}/download/")
    assert link.status_code == 409 and link.json()["errors"][0]["code"] == "conflict"
    assert client.get(f"/api/v1/assets/{video.pk}/").json()["current_version"]["external_url"] == (
        "https://video.example/demo"
    )
    assert AssetDownload.objects.filter(asset=copy).count() == 1 and not AssetDownload.objects.filter(asset=video)


def test_a_member_of_two_partners_says_which_one_downloads(partner_a, partner_b, rep_a):
    from partnerhub import services as core

    core.membership_add(actor=None, partner=partner_b, user=rep_a, role=MembershipRole.REP)
    asset = make_asset(title="Only A", audience=Audience.PARTNERS, partners=[partner_a])
    client = client_for(rep_a)
    unclear = client.get(f"/api/v1/assets/{asset.pk}/download/")
    assert unclear.status_code == 400 and errors_of(unclear) == {"partner": "required"}
    as_b = client.get(f"/api/v1/assets/{asset.pk}/download/", {"partner": partner_b.pk})
    assert as_b.status_code == 404  # not shared with B, whoever asks for B
    as_a = client.get(f"/api/v1/assets/{asset.pk}/download/", {"partner": partner_a.pk})
    assert as_a.status_code == 200
    assert list(AssetDownload.objects.values_list("partner_id", flat=True)) == [partner_a.pk]


def test_rep_cobrands_an_asset_and_downloads_the_result(partner_a, rep_a, rep_b, django_capture_on_commit_callbacks):
    # Given a co-brandable image template shared with everybody
    asset = make_asset(title="Co-brand me", cobrand=True)
    client = client_for(rep_a)

    # When partner A's rep asks for the co-branded version
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/v1/assets/{asset.pk}/cobrand/", {}, format="json")
    assert queued.status_code == 202, queued.content
    render_id = queued.json()["id"]
    assert queued.json()["download_url"] is None

    # Then the render finishes, its file comes through the authorising endpoint, and the download is recorded
    done = client.get(f"/api/v1/cobranded-files/{render_id}/").json()
    assert done["state"] == "done" and done["progress"] == 100 and done["partner"] == partner_a.pk
    file = client.get(done["download_url"])
    assert file.status_code == 200 and file["Content-Type"] == "image/png"
    assert AssetDownload.objects.get(asset=asset).cobranded is True
    # Asking again answers the cached render
    again = client.post(f"/api/v1/assets/{asset.pk}/cobrand/", {}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, render_id)
    # Partner B's rep co-brands their own, never partner A's
    with django_capture_on_commit_callbacks(execute=True):
        theirs = client_for(rep_b).post(f"/api/v1/assets/{asset.pk}/cobrand/", {}, format="json")
    assert theirs.json()["id"] != render_id
    assert client_for(rep_b).get(f"/api/v1/cobranded-files/{render_id}/").status_code == 404


def test_cobranding_refusals(partner_a, partner_b, rep_a, marketing):
    plain = make_asset(title="Plain")
    client = client_for(rep_a)
    assert client.post(f"/api/v1/assets/{plain.pk}/cobrand/", {}, format="json").status_code == 409
    other = client.post(f"/api/v1/assets/{plain.pk}/cobrand/", {"partner": partner_b.pk}, format="json")
    missing = client.post(f"/api/v1/assets/{plain.pk}/cobrand/", {"partner": MISSING_ID}, format="json")
    assert other.status_code == missing.status_code == 400 and errors_of(other) == errors_of(missing)
    assert client_for(marketing).post(f"/api/v1/assets/{plain.pk}/cobrand/", {}, format="json").status_code == 403
    assert not CobrandedFile.objects.exists()


def test_a_render_of_an_asset_no_longer_shared_cannot_be_downloaded(partner_a, rep_a, marketing):
    render = make_render(partner_a)
    services.asset_save(actor=marketing, asset=render.version.asset, status=PublishStatus.ARCHIVED)
    response = client_for(rep_a).get(f"/api/v1/cobranded-files/{render.pk}/download/")
    assert response.status_code == 404 and not AssetDownload.objects.exists()
    pending = make_render(partner_a)
    CobrandedFile.objects.filter(pk=pending.pk).update(state=RenderState.RUNNING)
    assert client_for(rep_a).get(f"/api/v1/cobranded-files/{pending.pk}/download/").status_code == 404


# Campaigns -----------------------------------------------------------------------------------------------------


def test_campaign_kit_opt_in_and_report(partner_a, partner_b, admin_a, rep_a, admin_b, marketing, manager_b):
    # Given a campaign with a public asset and an asset shared with partner B only
    public = make_asset(title="Public banner", cobrand=True)
    only_b = make_asset(title="B only", audience=Audience.PARTNERS, partners=[partner_b])
    staff = client_for(marketing)
    now = timezone.now()
    created = staff.post(
        "/api/v1/campaigns/",
        {
            "name": "Cloud month",
            "starts_at": (now - dt.timedelta(days=1)).isoformat(),
            "ends_at": (now + dt.timedelta(days=20)).isoformat(),
            "assets": [public.pk, only_b.pk],
            "email_copy": "Meet us",
            "status": "published",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["slug"] == "cloud-month" and created.json()["assets"] == sorted([public.pk, only_b.pk])

    # Then partner A sees the kit without B's asset
    assert client_for(rep_a).get(f"/api/v1/campaigns/{campaign_id}/").json()["assets"] == [public.pk]

    # When A's admin opts in (twice) and a rep tries
    joined = client_for(admin_a).post(f"/api/v1/campaigns/{campaign_id}/opt-in/", {}, format="json")
    assert joined.status_code == 201, joined.content
    assert client_for(admin_a).post(f"/api/v1/campaigns/{campaign_id}/opt-in/", {}, format="json").status_code == 200
    assert client_for(rep_a).post(f"/api/v1/campaigns/{campaign_id}/opt-in/", {}, format="json").status_code == 403
    assert CampaignOptIn.objects.filter(partner=partner_a).count() == 1
    # Opting in queued partner A's co-branded kit
    assert CobrandedFile.objects.filter(partner=partner_a, version__asset=public).exists()
    # And partner A's admin cannot opt partner B in
    other = client_for(admin_a).post(
        f"/api/v1/campaigns/{campaign_id}/opt-in/", {"partner": partner_b.pk}, format="json"
    )
    assert other.status_code == 400 and errors_of(other) == {"partner": "does_not_exist"}

    # Then the report shows partner A to the marketing team, with its opt-in and kit downloads
    client_for(rep_a).get(f"/api/v1/assets/{public.pk}/download/", {"campaign": campaign_id})
    rows = results(staff.get(f"/api/v1/campaigns/{campaign_id}/report/"))
    assert rows == [{"partner": partner_a.pk, "partner_name": partner_a.name, "opted_in": True, "downloads": 1}]
    assert staff.get(f"/api/v1/campaigns/{campaign_id}/").json()["opt_ins"] == 1
    # But not to B's channel manager, nor to B's admin
    assert results(client_for(manager_b).get(f"/api/v1/campaigns/{campaign_id}/report/")) == []
    assert results(client_for(admin_b).get(f"/api/v1/campaigns/{campaign_id}/report/")) == []
    assert client_for(admin_b).get(f"/api/v1/campaigns/{campaign_id}/").json()["opt_ins"] == 0


def test_partner_only_campaign_is_invisible_to_others(partner_a, admin_a, rep_b, admin_b, manager_b, manager_a):
    campaign = make_campaign(name=f"{SECRET_TITLE} launch", audience=Audience.PARTNERS, partners=[partner_a])
    assert campaign.pk in ids(client_for(admin_a).get("/api/v1/campaigns/"))
    assert client_for(manager_a).get(f"/api/v1/campaigns/{campaign.pk}/").json()["partners"] == [partner_a.pk]
    for outsider in (rep_b, admin_b, manager_b):
        client = client_for(outsider)
        assert campaign.pk not in ids(client.get("/api/v1/campaigns/"))
        for method, suffix in (("get", ""), ("post", "opt-in/"), ("get", "report/"), ("patch", ""), ("delete", "")):
            real = getattr(client, method)(f"/api/v1/campaigns/{campaign.pk}/{suffix}", {}, format="json")
            ghost = getattr(client, method)(f"/api/v1/campaigns/{MISSING_ID}/{suffix}", {}, format="json")
            assert (real.status_code, real.content) == (ghost.status_code, ghost.content)
            partner_write = method in ("patch", "delete") and outsider != manager_b
            assert real.status_code == (403 if partner_write else 404), (method, suffix)
    assert not CampaignOptIn.objects.exists() and Campaign.objects.filter(pk=campaign.pk).exists()


def test_campaign_input_and_deletion_rules(marketing, partner_a, admin_a):
    staff = client_for(marketing)
    now = timezone.now()
    bad = staff.post(
        "/api/v1/campaigns/",
        {"name": "Backwards", "starts_at": now.isoformat(), "ends_at": (now - dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert bad.status_code == 400 and errors_of(bad) == {"ends_at": "invalid"}
    campaign = make_campaign(name="Taken")
    clash = staff.post(
        "/api/v1/campaigns/",
        {"name": "Taken", "starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert clash.status_code == 409 and errors_of(clash) == {"slug": "conflict"}
    assert Campaign.objects.count() == 1
    services.campaign_opt_in(actor=admin_a, partner=partner_a, campaign=campaign)
    assert staff.delete(f"/api/v1/campaigns/{campaign.pk}/").status_code == 409
    archived = staff.patch(f"/api/v1/campaigns/{campaign.pk}/", {"status": "archived"}, format="json")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    unused = make_campaign(name="Unused")
    assert staff.delete(f"/api/v1/campaigns/{unused.pk}/").status_code == 204
    assert client_for(admin_a).post("/api/v1/campaigns/", {"name": "x"}, format="json").status_code == 403


# Fund programs and allocations ---------------------------------------------------------------------------------


def test_programs_are_read_by_everyone_and_written_by_marketing(rep_a, manager_a, marketing):
    program = make_program(name="FY MDF")
    assert program.pk in ids(client_for(rep_a).get("/api/v1/fund-programs/"))
    body = {"name": "FY27", "period_start": "2027-01-01", "period_end": "2027-12-31", "budget": "50000"}
    for who in (rep_a, manager_a):
        assert client_for(who).post("/api/v1/fund-programs/", body, format="json").status_code == 403
    staff = client_for(marketing)
    created = staff.post(
        "/api/v1/fund-programs/", {**body, "currency": "eur", "starting_allocation": "500"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "EUR" and created.json()["starting_allocation"] == "500.00"
    for change, attr in (
        ({"period_end": "2026-01-01"}, "period_end"),
        ({"starting_allocation": "60000"}, "starting_allocation"),
        ({"budget": "-1"}, "budget"),
        ({"budget": "10.001"}, "budget"),
        ({"currency": "EURO"}, "currency"),
    ):
        response = staff.patch(f"/api/v1/fund-programs/{created.json()['id']}/", change, format="json")
        assert response.status_code == 400 and attr in errors_of(response), (change, response.content)
    assert FundProgram.objects.get(pk=created.json()["id"]).period_end == dt.date(2027, 12, 31)


def test_marketing_grants_funds_and_the_ledger_shows_every_movement(partner_a, admin_a, rep_a, marketing):
    program = make_program()
    staff = client_for(marketing)
    granted = staff.post(
        "/api/v1/fund-allocations/grant/",
        {"partner": partner_a.pk, "program": program.pk, "amount": "7500.50", "note": "Q1"},
        format="json",
    )
    assert granted.status_code == 200, granted.content
    allocation = granted.json()
    assert (allocation["allocated"], allocation["available"], allocation["currency"]) == ("7500.50", "7500.50", "USD")
    staff.post(
        "/api/v1/fund-allocations/grant/",
        {"partner": partner_a.pk, "program": program.pk, "amount": "499.50"},
        format="json",
    )
    rows = results(client_for(rep_a).get(f"/api/v1/fund-allocations/{allocation['id']}/ledger/"))
    assert [(row["kind"], row["amount"], row["note"]) for row in rows] == [
        ("allocate", "7500.50", "Q1"),
        ("allocate", "499.50", ""),
    ]
    assert client_for(rep_a).get(f"/api/v1/fund-allocations/{allocation['id']}/").json()["allocated"] == "8000.00"
    # Partner admins cannot grant themselves funds
    refused = client_for(admin_a).post(
        "/api/v1/fund-allocations/grant/",
        {"partner": partner_a.pk, "program": program.pk, "amount": "1"},
        format="json",
    )
    assert refused.status_code == 403
    assert LedgerEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-5", "min_value"),
        ("0", "min_value"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("10.005", "max_decimal_places"),
        ("abc", "invalid"),
        ("1e15", "max_digits"),
    ],
)
def test_bad_grant_amounts_are_refused_and_nothing_moves(partner_a, marketing, amount, code):
    program = make_program()
    response = client_for(marketing).post(
        "/api/v1/fund-allocations/grant/",
        {"partner": partner_a.pk, "program": program.pk, "amount": amount},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert errors_of(response) == {"amount": code}
    assert not FundAllocation.objects.exists() and not LedgerEntry.objects.exists()


def test_grant_to_another_managers_partner_reads_like_a_missing_partner(partner_a, partner_b):
    scoped = make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_b], username="gina")
    assign_perm("comarketing.add_fundallocation", scoped)
    program = make_program()
    client = client_for(scoped)
    answer = client.post(
        "/api/v1/fund-allocations/grant/",
        {"partner": partner_a.pk, "program": program.pk, "amount": "5"},
        format="json",
    )
    missing = client.post(
        "/api/v1/fund-allocations/grant/", {"partner": MISSING_ID, "program": program.pk, "amount": "5"}, format="json"
    )
    assert answer.status_code == missing.status_code == 400
    assert errors_of(answer) == errors_of(missing) == {"partner": "does_not_exist"}
    assert not FundAllocation.objects.exists()


# Requests and claims -------------------------------------------------------------------------------------------


def test_request_claim_and_payment_through_the_api(partner_a, admin_a, rep_a, manager_a, marketing, allocation_a):
    partner = client_for(admin_a)
    staff = client_for(marketing)

    # A partner admin requests funds
    created = partner.post(
        "/api/v1/fund-requests/",
        {
            "allocation": allocation_a.pk,
            "activity": "Security roadshow",
            "planned_cost": "4000.00",
            "expected_leads": 40,
            **{k: v.isoformat() for k, v in ACTIVITY.items()},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["status"] == "submitted" and created.json()["partner"] == partner_a.pk

    # Reps and channel managers cannot decide; marketing approves a lower amount
    assert client_for(rep_a).post(f"/api/v1/fund-requests/{request_id}/cancel/").status_code == 403
    assert (
        client_for(manager_a).post(f"/api/v1/fund-requests/{request_id}/approve/", {}, format="json").status_code == 403
    )
    assert partner.post(f"/api/v1/fund-requests/{request_id}/approve/", {}, format="json").status_code == 403
    approved = staff.post(f"/api/v1/fund-requests/{request_id}/approve/", {"amount": "3500"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved" and approved.json()["approved_amount"] == "3500.00"
    again = staff.post(f"/api/v1/fund-requests/{request_id}/approve/", {}, format="json")
    assert again.status_code == 409
    balance = partner.get(f"/api/v1/fund-allocations/{allocation_a.pk}/").json()
    assert (balance["committed"], balance["available"]) == ("3500.00", "6500.00")

    # The partner admin files the claim with proofs
    claim = partner.post(
        "/api/v1/fund-claims/",
        {
            "request": request_id,
            "actual_cost": "3000",
            "leads": 55,
            "deals": 3,
            "revenue": "90000",
            "proofs": [pdf_upload(), png_upload("photo.png")],
        },
        format="multipart",
    )
    assert claim.status_code == 201, claim.content
    claim_id = claim.json()["id"]
    assert [p["original_name"] for p in claim.json()["proofs"]] == ["invoice.pdf", "photo.png"]
    assert claim.json()["roi"] == "30.00" and claim.json()["status"] == "claimed"
    proof_url = claim.json()["proofs"][1]["download_url"]
    assert staff.get(proof_url).status_code == 200

    # Marketing approves and pays; the ledger adds up
    assert staff.post(f"/api/v1/fund-claims/{claim_id}/pay/", {"reference": "TRX-1"}, format="json").status_code == 409
    assert staff.post(f"/api/v1/fund-claims/{claim_id}/approve/", {}, format="json").status_code == 200
    paid = staff.post(f"/api/v1/fund-claims/{claim_id}/pay/", {"reference": "TRX-1001"}, format="json")
    assert (
        paid.status_code == 200 and paid.json()["status"] == "paid" and paid.json()["payment_reference"] == "TRX-1001"
    )
    balance = partner.get(f"/api/v1/fund-allocations/{allocation_a.pk}/").json()
    assert (balance["paid"], balance["available"], balance["committed"]) == ("3000.00", "7000.00", "0.00")
    kinds = [row["kind"] for row in results(partner.get(f"/api/v1/fund-allocations/{allocation_a.pk}/ledger/"))]
    assert kinds == ["allocate", "commit", "claim", "release", "pay"]
    assert partner.get(f"/api/v1/fund-requests/{request_id}/").json()["claim"] == claim_id


def test_reject_and_cancel(partner_a, admin_a, marketing, allocation_a):
    staff = client_for(marketing)
    first = make_request(allocation_a)
    no_reason = staff.post(f"/api/v1/fund-requests/{first.pk}/reject/", {"note": "  "}, format="json")
    assert no_reason.status_code == 400 and errors_of(no_reason) == {"note": "blank"}
    rejected = staff.post(f"/api/v1/fund-requests/{first.pk}/reject/", {"note": "Out of scope"}, format="json")
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_note"] == "Out of scope"
    second = make_request(allocation_a, status=RequestStatus.APPROVED, cost="2500")
    cancelled = client_for(admin_a).post(f"/api/v1/fund-requests/{second.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    allocation_a.refresh_from_db()
    assert allocation_a.committed == 0 and allocation_a.available == Decimal("10000")
    assert client_for(admin_a).post(f"/api/v1/fund-requests/{second.pk}/cancel/").status_code == 409


@pytest.mark.parametrize(
    ("change", "attr", "code"),
    [
        ({"planned_cost": "-5"}, "planned_cost", "min_value"),
        ({"planned_cost": "NaN"}, "planned_cost", "invalid"),
        ({"planned_cost": "100.005"}, "planned_cost", "max_decimal_places"),
        ({"planned_cost": "lots"}, "planned_cost", "invalid"),
        ({"planned_cost": "10001"}, "planned_cost", "conflict"),
        ({"allocation": "abc"}, "allocation", "incorrect_type"),
        ({"allocation": MISSING_ID}, "allocation", "does_not_exist"),
        ({"status": "approved"}, "status", "unknown_field"),
        ({"partner": 1}, "partner", "unknown_field"),
        ({"ends_on": (TODAY - dt.timedelta(days=30)).isoformat()}, "ends_on", "invalid"),
        ({"starts_on": "2001-01-01", "ends_on": "2001-01-02"}, "starts_on", "invalid"),
        ({"expected_leads": -1}, "expected_leads", "min_value"),
        ({"activity": ""}, "activity", "blank"),
    ],
)
def test_bad_requests_are_refused_naming_the_field_and_nothing_is_saved(admin_a, allocation_a, change, attr, code):
    body = {
        "allocation": allocation_a.pk,
        "activity": "Webinar",
        "planned_cost": "1000",
        **{k: v.isoformat() for k, v in ACTIVITY.items()},
        **change,
    }
    response = client_for(admin_a).post("/api/v1/fund-requests/", body, format="json")
    assert response.status_code == (409 if code == "conflict" else 400), response.content
    assert errors_of(response) == {attr: code}
    assert not FundRequest.objects.exists()


def test_requesting_from_another_partners_allocation_reads_like_a_missing_one(admin_b, partner_b, allocation_a):
    client = client_for(admin_b)
    body = {"activity": "Webinar", "planned_cost": "10", **{k: v.isoformat() for k, v in ACTIVITY.items()}}
    answer = client.post("/api/v1/fund-requests/", {**body, "allocation": allocation_a.pk}, format="json")
    missing = client.post("/api/v1/fund-requests/", {**body, "allocation": MISSING_ID}, format="json")
    assert answer.status_code == missing.status_code == 400
    assert answer.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"] == "does_not_exist"
    assert str(allocation_a.pk) in answer.json()["errors"][0]["detail"]  # worded exactly like a missing id
    assert not FundRequest.objects.exists()
    # Reps may not request at all
    assert client_for(make_member(partner_b)).post("/api/v1/fund-requests/", body, format="json").status_code == 403


@pytest.mark.parametrize(
    ("amount", "code", "status_code"),
    [
        ("-1", "min_value", 400),
        ("NaN", "invalid", 400),
        ("1.234", "max_decimal_places", 400),
        ("2000", "invalid", 400),
        ("abc", "invalid", 400),
        ("20000", "invalid", 400),
    ],
)
def test_bad_approvals_change_nothing(marketing, allocation_a, amount, code, status_code):
    fund_request = make_request(allocation_a, cost="1000")
    response = client_for(marketing).post(
        f"/api/v1/fund-requests/{fund_request.pk}/approve/", {"amount": amount}, format="json"
    )
    assert response.status_code == status_code, response.content
    assert errors_of(response) == {"amount": code}
    fund_request.refresh_from_db()
    allocation_a.refresh_from_db()
    assert fund_request.status == RequestStatus.SUBMITTED and allocation_a.committed == 0
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["allocate"]


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"proofs": []}, "proofs"),
        (
            {
                "proofs": [
                    SimpleUploadedFile("invoice.pdf", b"<html><script>x</script>", content_type="application/pdf")
                ]
            },
            "proofs",
        ),
        ({"actual_cost": "5000"}, "actual_cost"),
        ({"actual_cost": "10.001"}, "actual_cost"),
        ({"revenue": "-1"}, "revenue"),
        ({"request": MISSING_ID}, "request"),
        ({"paid_at": "2024-01-01"}, "paid_at"),
    ],
)
def test_bad_claims_are_refused_and_nothing_is_saved(admin_a, allocation_a, change, attr):
    fund_request = make_request(allocation_a, status=RequestStatus.APPROVED, cost="1000")
    body = {"request": fund_request.pk, "actual_cost": "900", "proofs": [pdf_upload()], **change}
    if not body["proofs"]:
        del body["proofs"]
    response = client_for(admin_a).post("/api/v1/fund-claims/", body, format="multipart")
    assert response.status_code == 400, response.content
    assert attr in errors_of(response)
    assert not FundClaim.objects.exists() and not ClaimProof.objects.exists()
    allocation_a.refresh_from_db()
    assert (allocation_a.committed, allocation_a.claimed) == (Decimal("1000"), 0)


def test_channel_managers_read_their_partners_funds_only(partner_a, partner_b, manager_a, allocation_a):
    allocation_b = make_allocation(partner_b)
    claim = make_claim(allocation_a)
    client = client_for(manager_a)
    assert ids(client.get("/api/v1/fund-allocations/")) == {allocation_a.pk}
    assert allocation_b.pk not in ids(client.get("/api/v1/fund-allocations/", {"partner": partner_b.pk}))
    assert claim.pk in ids(client.get("/api/v1/fund-claims/"))
    # Channel managers hold no proof permission: the claim lists none, and the file is not theirs to open
    assert client.get(f"/api/v1/fund-claims/{claim.pk}/").json()["proofs"] == []
    assert client.get(f"/api/v1/claim-proofs/{claim.proofs.get().pk}/download/").status_code == 404


# Ten approvals at once over HTTP ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_api_approvals_never_overspend(partner_a, admin_a):
    """Ten requests of 3,000 against a 10,000 allocation, approved through the API at the same moment, each on
    its own thread and database connection: three win, seven get 409, and the ledger adds up."""
    staff = make_staff(StaffRole.MARKETING_MANAGER, username="maya")
    allocation = make_allocation(partner_a)
    requests = [
        FundRequest.objects.create(
            partner=partner_a,
            allocation=allocation,
            activity=f"Event {i}",
            planned_cost=Decimal("3000"),
            submitted_by=admin_a,
            **ACTIVITY,
        )
        for i in range(10)
    ]
    clients = [client_for(staff) for _ in requests]
    barrier = threading.Barrier(len(requests))
    codes: list[int] = []
    lock = threading.Lock()

    def approve(client, fund_request):
        try:
            barrier.wait(timeout=30)
            code = client.post(f"/api/v1/fund-requests/{fund_request.pk}/approve/", {}, format="json").status_code
        except Exception as exc:  # recorded, so a crash fails the assertion below with its cause
            code = repr(exc)
        finally:
            connections.close_all()
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=approve, args=pair) for pair in zip(clients, requests, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(codes, key=str) == [200] * 3 + [409] * 7, codes
    allocation.refresh_from_db()
    assert allocation.committed == Decimal("9000") and allocation.available == Decimal("1000")
    assert sum(e.amount for e in LedgerEntry.objects.filter(allocation=allocation, kind="commit")) == Decimal("9000")
    assert FundRequest.objects.filter(status=RequestStatus.APPROVED).count() == 3


# Query counts --------------------------------------------------------------------------------------------------


def _assets(request, n, who):
    partner = request.getfixturevalue("partner_a")
    for i in range(n):
        make_asset(title=f"Asset {i}", audience=Audience.PARTNERS if i % 2 else Audience.ALL, partners=[partner])
    return request.getfixturevalue(who), n


def _campaigns(request, n, who):
    partner, admin = request.getfixturevalue("partner_a"), request.getfixturevalue("admin_a")
    asset = make_asset()
    for i in range(n):
        campaign = make_campaign(name=f"Campaign {i}", assets=[asset])
        if i % 2:
            services.campaign_opt_in(actor=admin, partner=partner, campaign=campaign)
    return request.getfixturevalue(who), n


def _renders(request, n, who):
    partner = request.getfixturevalue("partner_a")
    for _ in range(n):
        make_render(partner)
    return request.getfixturevalue(who), n


def _downloads(request, n, who):
    partner, rep = request.getfixturevalue("partner_a"), request.getfixturevalue("rep_a")
    asset = make_asset()
    for _ in range(n):
        services.download_record(actor=rep, partner=partner, asset=asset)
    return request.getfixturevalue(who), n


def _allocations(request, n, who):
    partner = request.getfixturevalue("partner_a")
    for _ in range(n):
        make_allocation(partner)
    return request.getfixturevalue(who), n


def _requests(request, n, who):
    allocation = make_allocation(request.getfixturevalue("partner_a"), amount="1000000")
    for i in range(n):
        make_request(allocation, status=RequestStatus.APPROVED if i % 2 else RequestStatus.SUBMITTED)
    return request.getfixturevalue(who), n


def _claims(request, n, who):
    allocation = make_allocation(request.getfixturevalue("partner_a"), amount="1000000")
    for _ in range(n):
        make_claim(allocation)
    return request.getfixturevalue(who), n


def _proofs(request, n, who):
    allocation = make_allocation(request.getfixturevalue("partner_a"), amount="1000000")
    for _ in range(n):
        make_claim(allocation)
    return request.getfixturevalue(who), n


def _ledger(request, n, who):
    allocation = make_allocation(request.getfixturevalue("partner_a"), program=make_program())
    for _ in range(n - 1):
        mdf.allocation_grant(actor=None, partner=allocation.partner, program=allocation.program, amount="1")
    request.node.ledger_url = f"/api/v1/fund-allocations/{allocation.pk}/ledger/"
    return request.getfixturevalue(who), n


# Per request: the key (1) and knox's sweep of expired keys (1); for partner users the "may this person still
# sign in" check (1), for vendor staff their permissions (user + groups, 2); then the page (1, relations joined)
# and one query per prefetched relation. Partner users' scopes are subqueries of the page query.
LISTS = {
    # + tags (1); partner users: their partners, which the audience rule needs as values (1); staff: tiers (1)
    # and the partners each asset is granted to (1)
    "assets as a rep": ("/api/v1/assets/", _assets, "rep_a", 6),
    "assets as marketing": ("/api/v1/assets/", _assets, "marketing", 8),
    "assets as a channel manager": ("/api/v1/assets/", _assets, "manager_a", 8),
    # + the page's kit assets the reader may see (1); partner users: their partners, for the campaigns' and the
    # kit assets' audience rules (2); staff: tiers and chosen partners (2)
    "campaigns as a partner admin": ("/api/v1/campaigns/", _campaigns, "admin_a", 7),
    "campaigns as marketing": ("/api/v1/campaigns/", _campaigns, "marketing", 8),
    "co-branded files as a rep": ("/api/v1/cobranded-files/", _renders, "rep_a", 4),
    "downloads as a rep": ("/api/v1/asset-downloads/", _downloads, "rep_a", 4),
    "downloads as a channel manager": ("/api/v1/asset-downloads/", _downloads, "manager_a", 5),
    "allocations as a rep": ("/api/v1/fund-allocations/", _allocations, "rep_a", 4),
    "allocations as a channel manager": ("/api/v1/fund-allocations/", _allocations, "manager_a", 5),
    "requests as a partner admin": ("/api/v1/fund-requests/", _requests, "admin_a", 4),
    "requests as marketing": ("/api/v1/fund-requests/", _requests, "marketing", 5),
    # + proofs (1)
    "claims as a partner admin": ("/api/v1/fund-claims/", _claims, "admin_a", 5),
    "claims as marketing": ("/api/v1/fund-claims/", _claims, "marketing", 6),
    "proofs as a partner admin": ("/api/v1/claim-proofs/", _proofs, "admin_a", 4),
    # the allocation (1), then its entries (1)
    "ledger as a rep": (None, _ledger, "rep_a", 5),
}


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("name", list(LISTS))
def test_list_query_count_is_pinned_and_flat(request, django_assert_num_queries, name, rows):
    url, setup, who, queries = LISTS[name]
    if who == "marketing":
        request.getfixturevalue("marketing")
    user, expected = setup(request, rows, who)
    url = url or request.node.ledger_url
    client = client_for(user)
    assert client.get(url).status_code == 200  # the key's first use is stamped once; measure after it
    with django_assert_num_queries(queries):
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200
    assert len(response.json()["results"]) >= expected


# Schema --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_schema_validates_and_covers_the_comarketing_api(schema):
    paths = schema["paths"]
    assert {
        "/api/v1/assets/",
        "/api/v1/assets/{id}/",
        "/api/v1/assets/{id}/versions/",
        "/api/v1/assets/{id}/download/",
        "/api/v1/assets/{id}/cobrand/",
        "/api/v1/cobranded-files/{id}/download/",
        "/api/v1/asset-downloads/",
        "/api/v1/campaigns/{id}/opt-in/",
        "/api/v1/campaigns/{id}/report/",
        "/api/v1/campaign-opt-ins/",
        "/api/v1/fund-programs/{id}/",
        "/api/v1/fund-allocations/grant/",
        "/api/v1/fund-allocations/{id}/ledger/",
        "/api/v1/fund-requests/{id}/approve/",
        "/api/v1/fund-requests/{id}/reject/",
        "/api/v1/fund-requests/{id}/cancel/",
        "/api/v1/fund-claims/{id}/pay/",
        "/api/v1/claim-proofs/{id}/download/",
    } <= set(paths)
    assert set(paths["/api/v1/fund-requests/{id}/"]) == {"get"}
    assert set(paths["/api/v1/fund-claims/"]["post"]["requestBody"]["content"]) == {"multipart/form-data"}
    for path in ("/api/v1/fund-requests/{id}/approve/", "/api/v1/fund-claims/{id}/pay/", "/api/v1/fund-requests/"):
        assert "409" in paths[path]["post"]["responses"], path
    planned = schema["components"]["schemas"]["FundRequestCreateRequest"]["properties"]["planned_cost"]
    assert planned["format"] == "decimal" and planned["pattern"].endswith(r"\d{0,2})?$")
    assert "application/pdf" in paths["/api/v1/claim-proofs/{id}/download/"]["get"]["responses"]["200"]["content"]
