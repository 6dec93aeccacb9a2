"""Co-marketing's part of ``seed_scale`` at a small fraction: a searchable asset library shared by audience,
and a year of MDF whose ledger explains every allocation's balance and never overspends."""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal

import pytest
from django.db.models import Count, F, Q, Sum

from comarketing import scale as comarketing_scale
from comarketing import selectors
from comarketing.models import (
    Asset,
    AssetGroupObjectPermission,
    AssetVersion,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub import scale
from partnerhub.models import Partner, User

pytestmark = pytest.mark.django_db

FACTOR = 0.002  # 100 assets, 120 fund requests


@pytest.fixture
def seeded():
    ctx = scale.seed_core(partners=12, users_per_partner=3, managers=1, partners_per_manager=12, log=lambda _: None)
    ctx.factor = FACTOR
    comarketing_scale.seed(ctx)
    return ctx


def _sum(entries, kind: str) -> Decimal:
    return entries.filter(kind=kind).aggregate(s=Sum("amount"))["s"] or Decimal("0")


def test_every_allocation_balance_is_the_sum_of_its_ledger_and_never_negative(seeded):
    allocations = FundAllocation.objects.all()
    assert allocations.count() == 4 * len(seeded.partner_ids)
    for allocation in allocations:
        entries = LedgerEntry.objects.filter(allocation=allocation)
        allocate, commit, release = _sum(entries, "allocate"), _sum(entries, "commit"), _sum(entries, "release")
        assert allocation.allocated == allocate
        assert allocation.paid == _sum(entries, "pay")
        assert allocation.available == allocate - commit + release >= 0
        assert allocation.committed >= 0 and allocation.claimed >= 0
        # What is committed is exactly what approved requests still hold.
        open_requests = allocation.requests.filter(status="approved").aggregate(s=Sum("approved_amount"))["s"]
        assert allocation.committed == (open_requests or 0)


def test_requests_and_claims_cover_every_state_and_agree_with_the_ledger(seeded):
    statuses = set(FundRequest.objects.values_list("status", flat=True))
    assert {"submitted", "approved", "rejected", "paid", "claimed", "claim_approved"} <= statuses
    assert not FundRequest.objects.exclude(partner=F("allocation__partner")).exists()
    with_claims = FundRequest.objects.filter(status__in=["claimed", "claim_approved", "claim_rejected", "paid"])
    assert FundClaim.objects.count() == with_claims.count()
    for request in FundRequest.objects.filter(status__in=["submitted", "rejected"]):
        assert not LedgerEntry.objects.filter(request=request).exists()
    for claim in FundClaim.objects.filter(request__status="paid").select_related("request"):
        assert claim.paid_at and claim.actual_cost <= claim.request.approved_amount
        assert LedgerEntry.objects.get(request=claim.request, kind="pay").amount == claim.actual_cost
    programs = FundProgram.objects.order_by("period_start")
    assert programs.count() == 4 and programs.last().is_active
    assert not FundRequest.objects.filter(
        Q(starts_on__lt=F("allocation__program__period_start")) | Q(ends_on__gt=F("allocation__program__period_end"))
    ).exists()


def test_assets_have_versions_tags_audiences_and_search(seeded):
    assets = Asset.objects.all()
    assert assets.count() == round(comarketing_scale.ASSETS * FACTOR)
    assert not assets.filter(current_version=None).exists()
    assert AssetVersion.objects.count() > assets.count()
    assert not assets.annotate(n=Count("tags")).filter(n=0).exists()
    assert set(assets.values_list("audience", flat=True)) == {"all", "tiers", "partners"}
    for asset in assets.filter(audience="partners"):
        assert AssetGroupObjectPermission.objects.filter(content_object=asset).exists()
    assert not assets.filter(search_vector=None).exists()

    partner = Partner.objects.get(pk=seeded.partner_ids[1])
    admin = User.objects.get(pk=seeded.admin_user_ids[partner.pk])
    visible = selectors.asset_list(user=admin, partner=partner)
    found = selectors.search_assets(visible, comarketing_scale.ASSET_SEARCH)
    tagged = selectors.search_assets(visible, "firewall")  # a tag's name is searchable too

    assert found.exists() and set(found.values_list("pk", flat=True)) <= set(visible.values_list("pk", flat=True))
    assert tagged.exists()


def test_versions_and_claims_point_to_stored_files_with_their_size_and_digest(seeded):
    import hashlib

    from django.core.files.storage import default_storage

    from comarketing.models import ClaimProof

    def stored(name) -> bytes:
        with default_storage.open(name, "rb") as f:
            return f.read()

    # PDF, image and deck versions: a stored file whose size and digest the row states, and a PNG preview
    with_files = AssetVersion.objects.filter(asset__kind__in=("pdf", "image", "slides"))
    assert with_files.filter(asset__kind="slides").exists()
    assert with_files.exists() and not with_files.filter(file="").exists() and not with_files.filter(thumbnail="")
    for version in with_files.distinct("file").order_by("file"):
        data = stored(version.file.name)
        assert len(data) == version.size and hashlib.sha256(data).hexdigest() == version.sha256
        assert data.startswith(b"%PDF-" if version.content_type == "application/pdf" else b"\x89PNG")
        assert stored(version.thumbnail.name).startswith(b"\x89PNG")
    # Every claim carries one proof, uploaded when the claim was submitted, of its partner
    claims = FundClaim.objects.count()
    assert claims and ClaimProof.objects.count() == claims
    assert not FundClaim.objects.filter(proofs__isnull=True).exists()
    assert not ClaimProof.objects.exclude(partner=F("claim__partner")).exists()
    assert not ClaimProof.objects.exclude(uploaded_at=F("claim__submitted_at")).exists()
    proof = ClaimProof.objects.first()
    data = stored(proof.file.name)
    assert data.startswith(b"\x89PNG") and len(data) == proof.size


def test_a_second_seed_reuses_the_stored_samples(seeded):
    from django.core.files.storage import default_storage

    before = set(default_storage.listdir("scale")[1])
    time.sleep(1.1)  # a PDF made a second later has other bytes (its creation date) than the stored one
    comarketing_scale.seed(seeded)
    assert set(default_storage.listdir("scale")[1]) == before
    # The rows of the second seed state the stored files' size and digest
    stated = set(AssetVersion.objects.exclude(file="").values_list("file", "size", "sha256").distinct())
    assert {name for name, _, _ in stated} >= {"scale/sample-datasheet.pdf", "scale/sample-deck.pdf"}
    for name, size, sha256 in stated:
        with default_storage.open(name, "rb") as stored:
            data = stored.read()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), name
