"""MDF: the ledger never goes negative, also under concurrent approvals on real PostgreSQL connections."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, connections, transaction

from comarketing import mdf
from comarketing.choices import RequestStatus
from comarketing.models import FundAllocation, FundProgram, FundRequest, LedgerEntry
from partnerhub.choices import StaffRole
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from tests.factories import make_staff

TODAY = dt.date.today()
START, END = dt.date(TODAY.year, 1, 1), dt.date(TODAY.year + 1, 12, 31)
ACTIVITY = {"starts_on": TODAY + dt.timedelta(days=3), "ends_on": TODAY + dt.timedelta(days=4)}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def program(db):
    return FundProgram.objects.create(
        name="FY26 MDF", period_start=START, period_end=END, budget=Decimal("1e6"), starting_allocation=Decimal("5000")
    )


@pytest.fixture
def marketing(db):
    return make_staff(StaffRole.MARKETING_MANAGER, username="maya")


def submit(admin, allocation, cost, activity="Webinar"):
    return mdf.request_submit(
        actor=admin, allocation=allocation, activity=activity, planned_cost=cost, **ACTIVITY, expected_leads=40
    )


@pytest.mark.django_db
def test_request_claim_pay_lifecycle_keeps_the_ledger_balanced(partner_a, admin_a, marketing, program):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="10000")
    request = submit(admin_a, allocation, "4000")
    mdf.request_approve(actor=marketing, request=request, amount="3500")
    allocation.refresh_from_db()
    assert (allocation.committed, allocation.available) == (Decimal("3500"), Decimal("6500"))
    claim = mdf.claim_submit(
        actor=admin_a,
        request=request,
        actual_cost="3000",
        leads=55,
        deals=3,
        revenue="90000",
        proofs=[SimpleUploadedFile("invoice.pdf", PDF)],
    )
    allocation.refresh_from_db()
    assert (allocation.committed, allocation.claimed, allocation.available) == (0, Decimal("3000"), Decimal("7000"))
    mdf.claim_decide(actor=marketing, claim=claim, approve=True)
    mdf.claim_pay(actor=marketing, claim=claim, reference="TRX-1001")
    allocation.refresh_from_db()
    assert (allocation.claimed, allocation.paid, allocation.available) == (0, Decimal("3000"), Decimal("7000"))
    request.refresh_from_db()
    assert request.status == RequestStatus.PAID
    kinds = list(LedgerEntry.objects.filter(allocation=allocation).values_list("kind", "amount"))
    assert kinds == [
        ("allocate", Decimal("10000.00")),
        ("commit", Decimal("3500.00")),
        ("claim", Decimal("3000.00")),
        ("release", Decimal("500.00")),
        ("pay", Decimal("3000.00")),
    ]


@pytest.mark.django_db
def test_bad_amounts_and_roles_are_refused(partner_a, admin_a, rep_a, marketing, program):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="1000")
    for bad in ("-5", "0", "abc", "1.005", "NaN", "1e20"):
        with pytest.raises(DomainError):
            submit(admin_a, allocation, bad)
    with pytest.raises(ConflictError):
        submit(admin_a, allocation, "1000.01")
    with pytest.raises(ActionNotAllowed):
        submit(rep_a, allocation, "100")
    request = submit(admin_a, allocation, "100")
    with pytest.raises(ActionNotAllowed):
        mdf.request_approve(actor=admin_a, request=request)
    with pytest.raises(DomainError):
        mdf.claim_submit(actor=admin_a, request=request, actual_cost="50", proofs=[])
    assert FundRequest.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_an_overspend_even_without_the_checks(partner_a, marketing, program):
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="100")
    from django.db.models import F

    with pytest.raises(IntegrityError), transaction.atomic():
        FundAllocation.objects.filter(pk=allocation.pk).update(committed=F("committed") + Decimal("100.01"))


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_approvals_never_overspend(partner_a, admin_a, program):
    """Ten requests of 3,000 against a 10,000 allocation, approved at the same moment on ten connections:
    exactly three win, the allocation never goes negative, and the ledger adds up."""
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="maya")
    allocation = mdf.allocation_grant(actor=marketing, partner=partner_a, program=program, amount="10000")
    requests = []
    for i in range(10):
        # Submitted while funds are free: the check at submission is advisory, approval is what commits.
        requests.append(
            FundRequest.objects.create(
                partner=partner_a,
                allocation=allocation,
                activity=f"Event {i}",
                planned_cost=Decimal("3000"),
                **ACTIVITY,
                submitted_by=admin_a,
            )
        )
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(request):
        try:
            barrier.wait(timeout=10)
            mdf.request_approve(actor=marketing, request=request)
            result = "approved"
        except ConflictError:
            result = "refused"
        except Exception as exc:
            result = f"error: {exc!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=approve, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["approved"] * 3 + ["refused"] * 7, outcomes
    allocation.refresh_from_db()
    assert allocation.committed == Decimal("9000") and allocation.available == Decimal("1000")
    committed = sum(e.amount for e in LedgerEntry.objects.filter(allocation=allocation, kind="commit"))
    assert committed == Decimal("9000")
    assert connection.vendor == "postgresql"
