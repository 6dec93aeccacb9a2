"""Market development funds: allocations, requests, claims, payments — a ledger that never goes negative.

Every movement locks the allocation row (``SELECT … FOR UPDATE``), checks the balance, updates the running
totals with a single UPDATE and appends a ledger entry, in one transaction. The table's CHECK constraint
(``allocation_never_overspent``) is the last line of defence: even a write that skipped the check is refused
by PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from comarketing.choices import LedgerKind, RequestStatus
from comarketing.models import ClaimProof, FundAllocation, FundClaim, FundProgram, FundRequest, LedgerEntry
from partnerhub import access
from partnerhub.choices import AuditAction
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.models import Partner
from partnerhub.notifications import send_email
from partnerhub.services import audit_record

CENT = Decimal("0.01")
PROOF_MAX_BYTES = 15 * 1024 * 1024


def money(value, *, field: str) -> Decimal:
    """A positive amount with at most two decimals, or a DomainError naming the field."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError("Give the amount as a number, e.g. 2500 or 2500.50.", field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError("The amount must be greater than zero.", field=field)
    if amount != amount.quantize(CENT):
        raise DomainError("Use at most two decimals.", field=field)
    if amount >= Decimal("1e12"):
        raise DomainError("The amount is too large.", field=field)
    return amount


def _require_marketing(actor) -> None:
    if not (actor is not None and actor.is_staff and actor.has_perm("comarketing.change_fundrequest")):
        raise ActionNotAllowed("Only marketing managers decide on MDF requests and claims.")


def _move(
    allocation: FundAllocation,
    kind: str,
    amount: Decimal,
    *,
    actor=None,
    request=None,
    note: str = "",
    **deltas: Decimal,
) -> None:
    """Apply deltas to the running totals (one UPDATE) and record the ledger entry."""
    updates = {field: F(field) + delta for field, delta in deltas.items() if delta}
    try:
        with transaction.atomic():
            FundAllocation.objects.filter(pk=allocation.pk).update(**updates, updated_at=timezone.now())
    except IntegrityError:
        raise ConflictError("Not enough funds available in this allocation.", field="amount") from None
    LedgerEntry.objects.create(
        allocation=allocation, kind=kind, amount=amount, request=request, actor=actor, note=note[:300]
    )
    allocation.refresh_from_db()


def _lock_allocation(pk: int) -> FundAllocation:
    return FundAllocation.objects.select_for_update().select_related("program", "partner").get(pk=pk)


@transaction.atomic
def allocation_grant(*, actor, partner: Partner, program: FundProgram, amount, note: str = "") -> FundAllocation:
    """Add funds to a partner's allocation in a program (creating it). Audited."""
    amount = money(amount, field="amount")
    allocation, _ = FundAllocation.objects.get_or_create(partner=partner, program=program)
    allocation = _lock_allocation(allocation.pk)
    _move(allocation, LedgerKind.ALLOCATE, amount, actor=actor, note=note, allocated=amount)
    audit_record(
        actor=actor,
        action=AuditAction.MDF_ALLOCATED,
        partner=partner,
        target=allocation,
        changes={"allocated": [str(allocation.allocated - amount), str(allocation.allocated)]},
        reason=note,
    )
    return allocation


@transaction.atomic
def request_submit(
    *,
    actor,
    allocation: FundAllocation,
    activity: str,
    planned_cost,
    starts_on: dt.date,
    ends_on: dt.date,
    expected_leads: int = 0,
    activity_type: str = "",
    description: str = "",
) -> FundRequest:
    """A partner admin asks for funds for a planned activity. Refused at once if the balance cannot cover it."""
    if not access.partners_for(actor, FundRequest, "add").filter(pk=allocation.partner_id).exists():
        raise ActionNotAllowed("Only partner admins request market development funds.")
    allocation = _lock_allocation(allocation.pk)
    amount = money(planned_cost, field="planned_cost")
    activity = (activity or "").strip()
    if not activity:
        raise DomainError("Name the activity.", field="activity")
    if ends_on < starts_on:
        raise DomainError("The activity cannot end before it starts.", field="ends_on")
    program = allocation.program
    if not program.is_active or ends_on > program.period_end or starts_on < program.period_start:
        raise DomainError(
            f"The activity must fall within the program period ({program.period_start} to {program.period_end}).",
            field="starts_on",
        )
    if amount > allocation.available:
        raise ConflictError(
            f"Only {allocation.available} {program.currency} is available in this allocation.", field="planned_cost"
        )
    return FundRequest.objects.create(
        partner=allocation.partner,
        allocation=allocation,
        activity=activity[:200],
        activity_type=activity_type[:60],
        description=(description or "")[:4000],
        planned_cost=amount,
        expected_leads=max(int(expected_leads or 0), 0),
        starts_on=starts_on,
        ends_on=ends_on,
        submitted_by=actor,
    )


def _lock_request(request: FundRequest) -> FundRequest:
    return FundRequest.objects.select_for_update().select_related("allocation__program", "partner").get(pk=request.pk)


@transaction.atomic
def request_approve(*, actor, request: FundRequest, amount=None, note: str = "") -> FundRequest:
    """Approve (possibly a lower amount) and commit the funds. Concurrent approvals against one allocation
    are serialised by the row lock; the one that would overspend is refused with 409."""
    _require_marketing(actor)
    request = _lock_request(request)
    if request.status != RequestStatus.SUBMITTED:
        raise ConflictError(f"This request is already {request.get_status_display().lower()}.", field="status")
    amount = money(amount if amount is not None else request.planned_cost, field="amount")
    if amount > request.planned_cost:
        raise DomainError("Approve at most the planned cost.", field="amount")
    allocation = _lock_allocation(request.allocation_id)
    if amount > allocation.available:
        raise ConflictError(
            f"Only {allocation.available} {allocation.program.currency} is available; approve less or add funds first.",
            field="amount",
        )
    _move(allocation, LedgerKind.COMMIT, amount, actor=actor, request=request, note=note, committed=amount)
    request.status = RequestStatus.APPROVED
    request.approved_amount = amount
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note[:1000]
    request.claim_due_on = request.ends_on + dt.timedelta(days=allocation.program.claim_days)
    request.save(
        update_fields=["status", "approved_amount", "decided_by", "decided_at", "decision_note", "claim_due_on"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.MDF_REQUEST_APPROVED,
        partner=request.partner,
        target=request,
        changes={"committed": [None, str(amount)]},
        reason=note,
    )
    _notify_partner(
        request,
        f"MDF request approved: {request.activity}",
        f"{amount} {allocation.program.currency} approved. File your claim with proof of performance "
        f"by {request.claim_due_on}.",
    )
    return request


@transaction.atomic
def request_reject(*, actor, request: FundRequest, note: str) -> FundRequest:
    _require_marketing(actor)
    if not (note or "").strip():
        raise DomainError("Give the reason; the partner receives it.", field="note")
    request = _lock_request(request)
    if request.status != RequestStatus.SUBMITTED:
        raise ConflictError(f"This request is already {request.get_status_display().lower()}.", field="status")
    request.status = RequestStatus.REJECTED
    request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note.strip()[:1000]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _notify_partner(request, f"MDF request declined: {request.activity}", request.decision_note)
    return request


@transaction.atomic
def request_cancel(*, actor, request: FundRequest) -> FundRequest:
    """The partner withdraws a request; approved funds go back to the balance."""
    request = _lock_request(request)
    if not access.can(actor, "change", request):
        raise ActionNotAllowed("Only the partner's admins cancel its requests.")
    if request.status not in (RequestStatus.SUBMITTED, RequestStatus.APPROVED):
        raise ConflictError(f"A {request.get_status_display().lower()} request cannot be cancelled.")
    if request.status == RequestStatus.APPROVED:
        allocation = _lock_allocation(request.allocation_id)
        _move(
            allocation,
            LedgerKind.RELEASE,
            request.approved_amount,
            actor=actor,
            request=request,
            note="Request cancelled",
            committed=-request.approved_amount,
        )
    request.status = RequestStatus.CANCELLED
    request.save(update_fields=["status"])
    audit_record(actor=actor, action=AuditAction.MDF_REQUEST_CANCELLED, partner=request.partner, target=request)
    return request


def sniff_proof(data: bytes, name: str) -> str:
    import io

    from PIL import Image, UnidentifiedImageError

    if not data:
        raise DomainError(f"“{name}” is empty.", field="proofs")
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            image.verify()
            return "image/png" if image.format == "PNG" else "image/jpeg"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(f"“{name}” is not a PDF, PNG or JPEG file.", field="proofs") from None


@transaction.atomic
def claim_submit(
    *, actor, request: FundRequest, actual_cost, leads: int = 0, deals: int = 0, revenue=0, notes: str = "", proofs=()
) -> FundClaim:
    """File proof of performance. The claimed amount (≤ approved) moves from committed to claimed; the rest of
    the commitment is released."""
    from django.core.files.base import ContentFile

    request = _lock_request(request)
    if not access.can(actor, "change", request):
        raise ActionNotAllowed("Only the partner's admins file its claims.")
    if request.status != RequestStatus.APPROVED:
        raise ConflictError(
            f"Claims are filed on approved requests; this one is {request.get_status_display().lower()}.",
            field="status",
        )
    if request.claim_due_on and timezone.localdate() > request.claim_due_on:
        raise ConflictError(f"The claim deadline ({request.claim_due_on}) has passed.", field="status")
    amount = money(actual_cost, field="actual_cost")
    if amount > request.approved_amount:
        raise DomainError(f"Claim at most the approved {request.approved_amount}.", field="actual_cost")
    proofs = list(proofs or [])
    if not proofs:
        raise DomainError("Attach proof of performance (invoices, screenshots, attendee lists).", field="proofs")
    try:
        revenue_value = Decimal(str(revenue or 0))
    except InvalidOperation:
        raise DomainError("Give the revenue as a number.", field="revenue") from None
    if revenue_value < 0:
        raise DomainError("Revenue cannot be negative.", field="revenue")
    claim = FundClaim.objects.create(
        partner=request.partner,
        request=request,
        actual_cost=amount,
        leads=max(int(leads or 0), 0),
        deals=max(int(deals or 0), 0),
        revenue=revenue_value,
        notes=(notes or "")[:4000],
        submitted_by=actor,
    )
    for upload in proofs[:10]:
        name = (getattr(upload, "name", "") or "proof").rsplit("/", 1)[-1][:200]
        data = upload.read(PROOF_MAX_BYTES + 1)
        if len(data) > PROOF_MAX_BYTES:
            raise DomainError(f"“{name}” is larger than 15 MB.", field="proofs")
        content_type = sniff_proof(data, name)
        proof = ClaimProof(
            partner=request.partner, claim=claim, original_name=name, content_type=content_type, size=len(data)
        )
        proof.file.save("proof", ContentFile(data), save=False)
        proof.save()
    allocation = _lock_allocation(request.allocation_id)
    release = request.approved_amount - amount
    _move(allocation, LedgerKind.CLAIM, amount, actor=actor, request=request, committed=-amount, claimed=amount)
    if release:
        _move(
            allocation,
            LedgerKind.RELEASE,
            release,
            actor=actor,
            request=request,
            note="Claimed less than approved",
            committed=-release,
        )
    request.status = RequestStatus.CLAIMED
    request.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=AuditAction.MDF_CLAIMED,
        partner=request.partner,
        target=claim,
        changes={"claimed": [None, str(amount)], "released": [None, str(release)]},
    )
    return claim


@transaction.atomic
def claim_decide(*, actor, claim: FundClaim, approve: bool, note: str = "") -> FundClaim:
    """Approve a claim (funds stay claimed until paid) or reject it (the claimed amount is released)."""
    _require_marketing(actor)
    claim = FundClaim.objects.select_for_update().select_related("request").get(pk=claim.pk)
    request = _lock_request(claim.request)
    if request.status != RequestStatus.CLAIMED:
        raise ConflictError(f"This claim is already {request.get_status_display().lower()}.", field="status")
    if not approve:
        if not (note or "").strip():
            raise DomainError("Give the reason for rejecting the claim.", field="note")
        allocation = _lock_allocation(request.allocation_id)
        _move(
            allocation,
            LedgerKind.RELEASE,
            claim.actual_cost,
            actor=actor,
            request=request,
            note=note,
            claimed=-claim.actual_cost,
        )
    request.status = RequestStatus.CLAIM_APPROVED if approve else RequestStatus.CLAIM_REJECTED
    request.decision_note = (note or request.decision_note)[:1000]
    request.save(update_fields=["status", "decision_note"])
    claim.decided_by, claim.decided_at = actor, timezone.now()
    claim.save(update_fields=["decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action=AuditAction.MDF_CLAIM_DECIDED,
        partner=request.partner,
        target=claim,
        changes={"status": [RequestStatus.CLAIMED, request.status]},
        reason=note,
    )
    _notify_partner(
        request,
        f"MDF claim {'approved' if approve else 'rejected'}: {request.activity}",
        note or ("Payment follows." if approve else ""),
    )
    return claim


@transaction.atomic
def claim_pay(*, actor, claim: FundClaim, reference: str) -> FundClaim:
    _require_marketing(actor)
    if not (reference or "").strip():
        raise DomainError("Give the payment reference (invoice or transfer number).", field="reference")
    claim = FundClaim.objects.select_for_update().get(pk=claim.pk)
    request = _lock_request(claim.request)
    if request.status != RequestStatus.CLAIM_APPROVED:
        raise ConflictError("Only approved claims are paid.", field="status")
    allocation = _lock_allocation(request.allocation_id)
    _move(
        allocation,
        LedgerKind.PAY,
        claim.actual_cost,
        actor=actor,
        request=request,
        note=reference,
        claimed=-claim.actual_cost,
        paid=claim.actual_cost,
    )
    claim.paid_at, claim.payment_reference = timezone.now(), reference.strip()[:120]
    claim.save(update_fields=["paid_at", "payment_reference"])
    request.status = RequestStatus.PAID
    request.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=AuditAction.MDF_PAID,
        partner=request.partner,
        target=claim,
        changes={"paid": [None, str(claim.actual_cost)]},
        reason=reference,
    )
    _notify_partner(request, f"MDF paid: {request.activity}", f"{claim.actual_cost} paid, reference {reference}.")
    return claim


def _notify_partner(request: FundRequest, subject: str, text: str) -> None:
    from partnerhub.models import Membership

    to = list(
        Membership.objects.filter(
            partner_id=request.partner_id, role="admin", is_active=True, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if to:
        send_email(
            to=to, subject=subject, template="comarketing/emails/mdf", context={"text": text, "request": request}
        )


def send_claim_reminders(*, today: dt.date | None = None, days_before: int = 7) -> int:
    """Remind partner admins of claims due within ``days_before`` days (once per request); expire missed ones,
    releasing their commitment."""
    today = today or timezone.localdate()
    count = 0
    due = FundRequest.objects.filter(
        status=RequestStatus.APPROVED,
        reminded_at__isnull=True,
        claim_due_on__lte=today + dt.timedelta(days=days_before),
        claim_due_on__gte=today,
    )
    for request in due:
        with transaction.atomic():
            if not FundRequest.objects.filter(pk=request.pk, reminded_at__isnull=True).update(
                reminded_at=timezone.now()
            ):
                continue
            _notify_partner(
                request,
                f"MDF claim due {request.claim_due_on}: {request.activity}",
                "File your claim with proof of performance before the deadline, or the funds are released.",
            )
            count += 1
    for request in FundRequest.objects.filter(status=RequestStatus.APPROVED, claim_due_on__lt=today):
        with transaction.atomic():
            locked = _lock_request(request)
            if locked.status != RequestStatus.APPROVED:
                continue
            allocation = _lock_allocation(locked.allocation_id)
            _move(
                allocation,
                LedgerKind.RELEASE,
                locked.approved_amount,
                request=locked,
                note="Claim deadline missed",
                committed=-locked.approved_amount,
            )
            locked.status = RequestStatus.EXPIRED
            locked.save(update_fields=["status"])
    return count


FUND_PROGRAM_FIELDS = (
    "name",
    "period_start",
    "period_end",
    "currency",
    "budget",
    "starting_allocation",
    "claim_days",
    "is_active",
)


def _amount_or_zero(value, *, field: str) -> Decimal:
    """A non-negative amount with at most two decimals (a budget or starting allocation may be zero)."""
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError("Give the amount as a number, e.g. 250000 or 2500.50.", field=field) from None
    if amount.is_zero():
        return Decimal("0")
    return money(amount, field=field)


@transaction.atomic
def fund_program_save(*, actor, program: FundProgram | None = None, **fields) -> FundProgram:
    """Create or change a fund program (period, budget, the starting allocation new partners get, claim window)."""
    unknown = set(fields) - set(FUND_PROGRAM_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    perm = "comarketing.change_fundprogram" if program else "comarketing.add_fundprogram"
    if not (actor is not None and actor.is_staff and actor.has_perm(perm)):
        raise ActionNotAllowed("Only the vendor's marketing team manages fund programs.")
    program = FundProgram.objects.select_for_update().get(pk=program.pk) if program else FundProgram()
    for field, value in fields.items():
        setattr(program, field, value.strip() if isinstance(value, str) else value)
    if not (program.name or "").strip():
        raise DomainError("Name the program.", field="name")
    if program.period_start is None or program.period_end is None:
        raise DomainError(
            "Give the program's first and last day.", field="period_start" if not program.period_start else "period_end"
        )
    if program.period_end <= program.period_start:
        raise DomainError("The period must end after it starts.", field="period_end")
    program.currency = (program.currency or "").upper()
    if len(program.currency) != 3 or not program.currency.isalpha():
        raise DomainError("Use a three-letter ISO 4217 currency code such as USD or EUR.", field="currency")
    program.budget = _amount_or_zero(program.budget, field="budget")
    program.starting_allocation = _amount_or_zero(program.starting_allocation, field="starting_allocation")
    if program.starting_allocation > program.budget:
        raise DomainError("The starting allocation cannot exceed the budget.", field="starting_allocation")
    if not 0 <= int(program.claim_days or 0) <= 3650:
        raise DomainError("Give the claim window in days (0 to 3650).", field="claim_days")
    if program.pk:
        from django.db.models import Max, Min

        span = FundRequest.objects.filter(allocation__program=program).aggregate(
            first=Min("starts_on"), last=Max("ends_on")
        )
        if span["first"] and (span["first"] < program.period_start or span["last"] > program.period_end):
            raise ConflictError(
                f"Requests already run from {span['first']} to {span['last']}; keep the period around them.",
                field="period_start",
            )
    program.save()
    return program
