"""Writes of onboarding: applications and their review, provisioning and offboarding jobs, agreements,
checklists, onboarding documents and the one-time reveal of a provisioned integration key."""

from __future__ import annotations

import functools
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import TrigramSimilarity
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Q
from django.urls import reverse
from django.utils import timezone

from onboarding import provisioning
from onboarding.choices import (
    OPEN_APPLICATION_STATUSES,
    ApplicationStatus,
    ChecklistEvent,
    JobKind,
    JobState,
    MessageKind,
    StepState,
)
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    ChecklistTemplate,
    IntegrationCredential,
    PartnerApplication,
    PartnerDocument,
    ProvisioningJob,
)
from onboarding.secrets_box import unseal
from partnerhub import access
from partnerhub.choices import AuditAction, PartnerStatus, PartnerType
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.expressions import RowSQL, column, table
from partnerhub.models import Partner, Tier
from partnerhub.notifications import send_email
from partnerhub.services import audit_record

User = get_user_model()
STATUS_SALT = "partnerhub.application-status"
NAME_SIMILARITY = 0.45


# Applications --------------------------------------------------------------------------------------------------


def domain_of(website: str, email: str = "") -> str:
    """The company's domain: from the website, else from the contact e-mail (``www.`` dropped, lower case)."""
    host = ""
    if website:
        host = urlsplit(website if "://" in website else f"https://{website}").hostname or ""
    if not host and "@" in email:
        host = email.rsplit("@", 1)[1]
    host = host.lower().strip(".")
    return host[4:] if host.startswith("www.") else host


def find_duplicates(*, company_name: str, domain: str, exclude_application: int | None = None) -> list[dict]:
    """Existing partners and open applications with the same domain or a near-same company name."""
    flags: list[dict] = []
    if domain:
        pattern = rf"^https?://([a-z0-9-]+\.)*{re.escape(domain)}(:[0-9]+)?(/|$)"
        for partner in Partner.objects.filter(website__iregex=pattern).only("id", "name")[:10]:
            flags.append(
                {"kind": "same_domain", "object": "partner", "id": partner.pk, "label": partner.name, "detail": domain}
            )
        same = PartnerApplication.objects.filter(domain=domain, status__in=OPEN_APPLICATION_STATUSES)
        if exclude_application:
            same = same.exclude(pk=exclude_application)
        for application in same.only("id", "company_name")[:10]:
            flags.append(
                {
                    "kind": "same_domain",
                    "object": "application",
                    "id": application.pk,
                    "label": application.company_name,
                    "detail": domain,
                }
            )
    partners = (
        Partner.objects.annotate(score=TrigramSimilarity("name", company_name))
        .filter(score__gte=NAME_SIMILARITY)
        .order_by("-score")
        .only("id", "name")[:5]
    )
    for partner in partners:
        flags.append(
            {
                "kind": "similar_name",
                "object": "partner",
                "id": partner.pk,
                "label": partner.name,
                "detail": f"{partner.score:.0%} similar",
            }
        )
    applications = (
        PartnerApplication.objects.filter(status__in=OPEN_APPLICATION_STATUSES)
        .annotate(score=TrigramSimilarity("company_name", company_name))
        .filter(score__gte=NAME_SIMILARITY)
        .order_by("-score")
        .only("id", "company_name")
    )
    if exclude_application:
        applications = applications.exclude(pk=exclude_application)
    for application in applications[:5]:
        flags.append(
            {
                "kind": "similar_name",
                "object": "application",
                "id": application.pk,
                "label": application.company_name,
                "detail": f"{application.score:.0%} similar",
            }
        )
    seen, unique = set(), []
    for flag in flags:
        key = (flag["object"], flag["id"])
        if key not in seen:
            seen.add(key)
            unique.append(flag)
    return unique


APPLICATION_FIELDS = (
    "company_name",
    "website",
    "country",
    "region",
    "partner_type",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "contact_title",
    "expected_annual_revenue",
    "expected_deals_per_quarter",
    "business_description",
)


@transaction.atomic
def application_submit(
    *, data: dict[str, Any], parent: Partner | None = None, ip_address: str | None = None
) -> PartnerApplication:
    """Record an application, flag possible duplicates for the reviewer and tell applicant and reviewers."""
    unknown = set(data) - set(APPLICATION_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if values.get("partner_type") == PartnerType.INTERNAL:
        raise DomainError(
            "Internal teams are set up by the vendor, not through the application form.", field="partner_type"
        )
    values["country"] = (values.get("country") or "").upper()
    values["contact_email"] = (values.get("contact_email") or "").lower()
    try:
        values["expected_annual_revenue"] = Decimal(str(values.get("expected_annual_revenue") or 0))
    except InvalidOperation:
        raise DomainError(
            "Give the expected annual revenue as a number, e.g. 250000.", field="expected_annual_revenue"
        ) from None
    application = PartnerApplication(**values, parent=parent, ip_address=ip_address)
    application.domain = domain_of(application.website, application.contact_email)
    try:
        application.full_clean(exclude=["parent", "partner", "tier", "decided_by"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from None
    application.save()
    application.duplicate_flags = find_duplicates(
        company_name=application.company_name, domain=application.domain, exclude_application=application.pk
    )
    application.save(update_fields=["duplicate_flags"])
    _email_applicant(application, "submitted", "We received your partner application")
    _email_reviewers(application)
    return application


def status_token(application: PartnerApplication) -> str:
    return signing.dumps({"a": application.pk, "n": application.status_nonce}, salt=STATUS_SALT, compress=True)


def status_url(application: PartnerApplication) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('onboarding:application_status', args=[status_token(application)])}"


def application_from_status_token(token: str) -> PartnerApplication:
    try:
        data = signing.loads(token, salt=STATUS_SALT)
    except signing.BadSignature:
        raise DomainError(
            "This status link is not valid; use the link from your confirmation e-mail.", code="invalid"
        ) from None
    application = PartnerApplication.objects.filter(pk=data.get("a"), status_nonce=data.get("n")).first()
    if application is None:
        raise DomainError("This status link is not valid; use the link from your confirmation e-mail.", code="invalid")
    return application


def _lock_open(application: PartnerApplication) -> PartnerApplication:
    application = PartnerApplication.objects.select_for_update().get(pk=application.pk)
    if not application.is_open:
        raise ConflictError(f"This application was already {application.get_status_display().lower()}.", field="status")
    return application


def _require_reviewer(actor) -> None:
    if not (actor and actor.is_staff and actor.has_perm("onboarding.review_partnerapplication")):
        raise ActionNotAllowed("Only vendor staff who review applications can do this.")


@transaction.atomic
def application_request_info(*, actor, application: PartnerApplication, message: str) -> PartnerApplication:
    """Ask the applicant for more information; the clock keeps running from the original submission."""
    _require_reviewer(actor)
    message = (message or "").strip()
    if not message:
        raise DomainError("Say what information you need.", field="message")
    application = _lock_open(application)
    application.status = ApplicationStatus.INFO_REQUESTED
    application.save(update_fields=["status", "updated_at"])
    ApplicationMessage.objects.create(
        application=application, kind=MessageKind.INFO_REQUEST, author=actor, body=message[:4000]
    )
    _email_applicant(
        application, "info_requested", "Your partner application: more information needed", message=message
    )
    return application


@transaction.atomic
def application_reply(*, application: PartnerApplication, message: str) -> PartnerApplication:
    """The applicant answers a question (through the status link); the application returns to the queue."""
    message = (message or "").strip()
    if not message:
        raise DomainError("Write your answer.", field="message")
    application = _lock_open(application)
    application.status = ApplicationStatus.SUBMITTED
    application.save(update_fields=["status", "updated_at"])
    ApplicationMessage.objects.create(application=application, kind=MessageKind.APPLICANT_REPLY, body=message[:4000])
    _email_reviewers(application, replied=True)
    return application


@transaction.atomic
def application_note(*, actor, application: PartnerApplication, message: str) -> ApplicationMessage:
    """An internal note for other reviewers; never shown to the applicant."""
    _require_reviewer(actor)
    if not (message or "").strip():
        raise DomainError("Write the note.", field="message")
    return ApplicationMessage.objects.create(
        application=application, kind=MessageKind.NOTE, author=actor, body=message.strip()[:4000]
    )


@transaction.atomic
def application_reject(*, actor, application: PartnerApplication, reason: str) -> PartnerApplication:
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the reason; the applicant receives it.", field="reason")
    application = _lock_open(application)
    application.status = ApplicationStatus.REJECTED
    application.decided_at = timezone.now()
    application.decided_by = actor
    application.decision_reason = reason[:2000]
    application.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "updated_at"])
    ApplicationMessage.objects.create(
        application=application, kind=MessageKind.DECISION, author=actor, body=reason[:4000]
    )
    audit_record(actor=actor, action=AuditAction.APPLICATION_REJECTED, target=application, reason=reason)
    _email_applicant(application, "rejected", "Your partner application", reason=reason)
    return application


@transaction.atomic
def application_approve(
    *, actor, application: PartnerApplication, tier: Tier | None = None, note: str = ""
) -> ProvisioningJob:
    """Approve an application and start its provisioning job (after commit). Approving twice is refused;
    the job is unique per application."""
    _require_reviewer(actor)
    application = _lock_open(application)
    application.status = ApplicationStatus.APPROVED
    application.decided_at = timezone.now()
    application.decided_by = actor
    application.decision_reason = (note or "").strip()[:2000]
    if tier is not None:
        application.tier = tier
    application.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "tier", "updated_at"])
    ApplicationMessage.objects.create(
        application=application,
        kind=MessageKind.DECISION,
        author=actor,
        body=application.decision_reason or "Approved.",
    )
    job = job_start(
        actor=actor,
        kind=JobKind.PROVISION,
        application=application,
        idempotency_key=f"provision:application:{application.pk}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.APPLICATION_APPROVED,
        target=application,
        changes={"tier": [None, application.tier.name if application.tier_id else None]},
    )
    _email_applicant(application, "approved", "Welcome to the partner program")
    return job


def _email_applicant(application: PartnerApplication, template: str, subject: str, **context) -> None:
    send_email(
        to=[application.contact_email],
        subject=subject,
        template=f"onboarding/emails/applicant_{template}",
        context={"application": application, "status_url": status_url(application), **context},
    )


def _email_reviewers(application: PartnerApplication, *, replied: bool = False) -> None:
    reviewers = list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(groups__permissions__codename="review_partnerapplication")
            | Q(user_permissions__codename="review_partnerapplication")
        )
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()[:50]
    )
    if not reviewers:
        return
    url = f"{settings.PUBLIC_BASE_URL}{reverse('onboarding:review_detail', args=[application.pk])}"
    send_email(
        to=reviewers,
        subject=("Applicant replied: " if replied else "New partner application: ") + application.company_name,
        template="onboarding/emails/reviewer_new",
        context={"application": application, "url": url, "replied": replied},
    )


# Jobs ----------------------------------------------------------------------------------------------------------


def job_start(
    *,
    actor,
    kind: str,
    idempotency_key: str,
    application: PartnerApplication | None = None,
    partner: Partner | None = None,
    reason: str = "",
) -> ProvisioningJob:
    """Create (or return the existing) job for ``idempotency_key`` and enqueue it after commit."""
    from onboarding.tasks import run_provisioning_job

    job, created = ProvisioningJob.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "application": application,
            "partner": partner,
            "requested_by": actor,
            "reason": reason[:500],
        },
    )
    if created:
        provisioning.create_steps(job)
        transaction.on_commit(lambda: run_provisioning_job.delay(job.pk))
    return job


@transaction.atomic
def job_retry(*, actor, job: ProvisioningJob) -> ProvisioningJob:
    """Put a failed job's failed steps back in the queue (from the console or the API)."""
    from onboarding import selectors

    if not (access.is_vendor_staff(actor) and actor.has_perm("onboarding.retry_provisioningjob")):
        raise ActionNotAllowed("Only vendor staff who run provisioning can retry a job.")
    if not selectors.job_list(user=actor, action="change").filter(pk=job.pk).exists():
        raise ActionNotAllowed("You may not change this job.")
    job = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
    if job.state != JobState.FAILED:
        raise ConflictError(f"Only failed jobs can be retried; this one is {job.get_state_display().lower()}.")
    job.steps.filter(state=StepState.FAILED).update(state=StepState.PENDING, last_error="")
    job.state = JobState.PENDING
    job.finished_at = None
    job.save(update_fields=["state", "finished_at"])
    from onboarding.tasks import run_provisioning_job

    transaction.on_commit(lambda: run_provisioning_job.delay(job.pk))
    return job


@transaction.atomic
def partner_offboard(*, actor, partner: Partner, reason: str) -> ProvisioningJob:
    """Start the offboarding job: users deactivated, keys and grants revoked, status offboarded, data kept."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the reason for offboarding; it is recorded in the audit trail.", field="reason")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.status == PartnerStatus.OFFBOARDED:
        raise ConflictError("This partner is already offboarded.")
    running = (
        ProvisioningJob.objects.filter(partner=partner, kind=JobKind.DEPROVISION)
        .exclude(state=JobState.SUCCEEDED)
        .first()
    )
    if running is not None:
        return running
    count = ProvisioningJob.objects.filter(partner=partner, kind=JobKind.DEPROVISION).count()
    audit_record(actor=actor, action=AuditAction.OFFBOARDING_STARTED, partner=partner, target=partner, reason=reason)
    return job_start(
        actor=actor,
        kind=JobKind.DEPROVISION,
        partner=partner,
        reason=reason,
        idempotency_key=f"deprovision:partner:{partner.pk}:{count + 1}",
    )


def notify_provisioned(*, partner_id: int) -> None:
    """Tell the partner's channel managers that the partner is live (after the job's last step commits)."""
    from partnerhub.services import channel_managers_of

    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        return
    to = [m.email for m in channel_managers_of(partner) if m.email]
    if to:
        send_email(
            to=to,
            subject=f"{partner.name} is provisioned and active",
            template="onboarding/emails/provisioned",
            context={"partner": partner},
        )


# Agreements ----------------------------------------------------------------------------------------------------


def current_agreement() -> Agreement | None:
    return Agreement.objects.filter(published_at__isnull=False).order_by("-version").first()


@transaction.atomic
def agreement_publish(*, actor, title: str, body: str) -> Agreement:
    """Publish a new agreement version. Every partner must accept it before using the portal again."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise DomainError("Give the agreement a title.", field="title")
    if len(body) < 20:
        raise DomainError("The agreement text is missing or too short.", field="body")
    latest = Agreement.objects.select_for_update().order_by("-version").first()
    if latest is not None and latest.body == body and latest.title == title:
        raise ConflictError(f"Version {latest.version} already has exactly this text.")
    agreement = Agreement.objects.create(
        title=title[:200],
        body=body,
        version=(latest.version + 1 if latest else 1),
        published_at=timezone.now(),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.AGREEMENT_PUBLISHED,
        target=agreement,
        changes={"agreement_version": [latest.version if latest else None, agreement.version]},
    )
    return agreement


def partner_has_accepted_current(partner: Partner) -> bool:
    """Whether the partner accepted the current agreement (or none is published).

    Free on a portal page: the portal reads it with the user's partners (``accepted_current_expression``, as
    ``partner.accepted_current_agreement``). Any other partner object costs one query.
    """
    known = getattr(partner, ACCEPTED_CURRENT, None)
    if known is None:
        rows = Partner.objects.filter(pk=partner.pk).annotate(accepted=accepted_current_expression())
        known = rows.values_list("accepted", flat=True).first()
    return bool(known)


ACCEPTED_CURRENT = "accepted_current_agreement"


def accepted_current_expression() -> RowSQL:
    """On a partner query: whether the partner accepted the current agreement, or none is published."""
    return RowSQL(_accepted_current_sql(), output_field=BooleanField())


@functools.cache
def _accepted_current_sql() -> str:
    """The SQL of ``accepted_current_expression``, from table and column names only (see ``RowSQL``)."""
    published = (
        f"SELECT a.{column(Agreement, 'id')} FROM {table(Agreement)} a "  # noqa: S608 (names only)
        f"WHERE a.{column(Agreement, 'published_at')} IS NOT NULL"
    )
    current = f"{published} ORDER BY a.{column(Agreement, 'version')} DESC LIMIT 1"
    return (
        f"NOT EXISTS ({published}) OR EXISTS (SELECT 1 FROM {table(AgreementAcceptance)} x "  # noqa: S608 (names only)
        f"WHERE x.{column(AgreementAcceptance, 'partner')} = {{pk}} "
        f"AND x.{column(AgreementAcceptance, 'agreement')} = ({current}))"
    )


@transaction.atomic
def agreement_accept(
    *, actor, partner: Partner, agreement: Agreement, ip_address: str | None = None, user_agent: str = ""
) -> AgreementAcceptance:
    """A partner admin accepts the current agreement version for their partner (click-through)."""
    from partnerhub import access

    if not access.can(actor, "change", partner):
        raise ActionNotAllowed("Only a partner admin can accept the program agreement for the partner.")
    current = current_agreement()
    if current is None or agreement.pk != current.pk:
        raise ConflictError("This is not the current agreement version; reload the page to read the current one.")
    acceptance = AgreementAcceptance.objects.filter(partner=partner, agreement=agreement).first()
    if acceptance is not None:
        return acceptance
    try:
        with transaction.atomic():
            acceptance = AgreementAcceptance.objects.create(
                partner=partner,
                agreement=agreement,
                version=agreement.version,
                sha256=agreement.sha256,
                accepted_by=actor,
                ip_address=ip_address,
                user_agent=(user_agent or "")[:300],
            )
    except IntegrityError:
        return AgreementAcceptance.objects.get(partner=partner, agreement=agreement)
    audit_record(
        actor=actor,
        action=AuditAction.AGREEMENT_ACCEPTED,
        partner=partner,
        target=acceptance,
        changes={"agreement_accepted": [None, agreement.version]},
        ip_address=ip_address,
    )
    checklist_complete_event(partner=partner, event=ChecklistEvent.AGREEMENT_ACCEPTED, actor=actor)
    return acceptance


# Checklists ----------------------------------------------------------------------------------------------------


def checklist_template_for(partner: Partner) -> ChecklistTemplate | None:
    """The most specific active template: type and tier, then type, then tier, then the general one."""
    candidates = (
        ChecklistTemplate.objects.filter(is_active=True)
        .filter(Q(partner_type=partner.partner_type) | Q(partner_type=""))
        .filter(Q(tier=partner.tier_id) | Q(tier__isnull=True))
    )

    def specificity(template: ChecklistTemplate) -> tuple[int, int]:
        return (bool(template.partner_type), template.tier_id is not None)

    return max(candidates, key=specificity, default=None)


def checklist_create_for_partner(*, partner: Partner) -> int:
    """Copy the matching template's items to the partner (items it already has are kept). Returns the count."""
    template = checklist_template_for(partner)
    if template is None:
        return ChecklistItem.objects.filter(partner=partner).count()
    existing = set(ChecklistItem.objects.filter(partner=partner).values_list("key", flat=True))
    now = timezone.now()
    ChecklistItem.objects.bulk_create(
        [
            ChecklistItem(
                partner=partner,
                key=item.key,
                title=item.title,
                description=item.description,
                url=item.url,
                event=item.event,
                position=item.position,
                due_at=now + timezone.timedelta(days=item.due_days),
            )
            for item in template.items.all()
            if item.key not in existing
        ],
        ignore_conflicts=True,
    )
    for event in _events_already_true(partner):
        checklist_complete_event(partner=partner, event=event, actor=None)
    return ChecklistItem.objects.filter(partner=partner).count()


def _events_already_true(partner: Partner) -> list[str]:
    """Events that happened before the checklist existed. An invitation counts as the team being invited only when
    the partner's own people sent it, as for the live event (the vendor's invitation of the first admin does not)."""
    done = []
    if partner.invitations.filter(invited_by__isnull=False, invited_by__is_staff=False).exists():
        done.append(ChecklistEvent.TEAM_INVITED)
    if AgreementAcceptance.objects.filter(partner=partner).exists() and partner_has_accepted_current(partner):
        done.append(ChecklistEvent.AGREEMENT_ACCEPTED)
    if PartnerDocument.objects.filter(partner=partner, kind=PartnerDocument.Kind.TAX_FORM).exists():
        done.append(ChecklistEvent.TAX_FORM_UPLOADED)
    return done


def checklist_complete_event(*, partner: Partner, event: str, actor=None) -> int:
    """Complete the partner's open items driven by ``event``. Returns how many were completed."""
    return ChecklistItem.objects.filter(partner=partner, event=event, completed_at__isnull=True).update(
        completed_at=timezone.now(),
        completed_by=actor if actor is not None and actor.pk else None,
        completed_automatically=True,
    )


@transaction.atomic
def checklist_item_set_done(*, actor, item: ChecklistItem, done: bool = True) -> ChecklistItem:
    """A partner admin ticks an item off by hand (or un-ticks a manual one)."""
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if done and item.completed_at is None:
        item.completed_at = timezone.now()
        item.completed_by = actor
        item.completed_automatically = False
        item.save(update_fields=["completed_at", "completed_by", "completed_automatically"])
        if item.event:
            checklist_complete_event(partner=item.partner, event=item.event, actor=actor)
    elif not done and item.completed_at is not None:
        if item.completed_automatically:
            raise ConflictError("This step was completed by the system and cannot be reopened by hand.")
        item.completed_at = None
        item.completed_by = None
        item.save(update_fields=["completed_at", "completed_by"])
    return item


# Documents -----------------------------------------------------------------------------------------------------

DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def _sniff_document(data: bytes) -> str:
    """The content type of an onboarding document, judged by its bytes, or a DomainError."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "application/pdf"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            image.verify()
            return "image/png" if image.format == "PNG" else "image/jpeg"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        pass
    raise DomainError("Upload the form as a PDF, PNG or JPEG file.", field="file")


@transaction.atomic
def document_upload(*, actor, partner: Partner, upload, kind: str = PartnerDocument.Kind.TAX_FORM) -> PartnerDocument:
    from partnerhub import access

    if not access.can(actor, "change", partner):
        raise ActionNotAllowed("Only a partner admin can upload the partner's documents.")
    if kind not in PartnerDocument.Kind.values:
        raise DomainError("Unknown document kind.", field="kind")
    data = upload.read(DOCUMENT_MAX_BYTES + 1)
    if len(data) > DOCUMENT_MAX_BYTES:
        raise DomainError("The file is larger than 10 MB; upload a smaller scan.", field="file")
    if not data:
        raise DomainError("The file is empty.", field="file")
    content_type = _sniff_document(data)
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[content_type]
    document = PartnerDocument(
        partner=partner,
        kind=kind,
        content_type=content_type,
        size=len(data),
        original_name=(getattr(upload, "name", "") or "document")[:200],
        uploaded_by=actor,
    )
    document.file.save(f"{kind}.{extension}", ContentFile(data), save=False)
    document.save()
    if kind == PartnerDocument.Kind.TAX_FORM:
        checklist_complete_event(partner=partner, event=ChecklistEvent.TAX_FORM_UPLOADED, actor=actor)
    return document


# Integration key -----------------------------------------------------------------------------------------------


@transaction.atomic
def integration_key_reveal(*, actor, partner: Partner) -> str:
    """Show the provisioned integration key to a partner admin, once; afterwards only its hash remains."""
    from partnerhub import access

    if not access.can(actor, "change", partner):
        raise ActionNotAllowed("Only a partner admin can collect the integration key.")
    credential = IntegrationCredential.objects.select_for_update().filter(partner=partner).first()
    if credential is None:
        raise DomainError("No integration key was issued for this partner.", code="missing")
    if credential.revealed_at or not credential.encrypted_key:
        raise ConflictError("The integration key was already collected; create a new API key if it was lost.")
    key = unseal(credential.encrypted_key)
    if key is None:
        raise ConflictError("The integration key can no longer be read; create a new API key instead.")
    credential.encrypted_key = ""
    credential.revealed_at = timezone.now()
    credential.revealed_by = actor
    credential.save(update_fields=["encrypted_key", "revealed_at", "revealed_by"])
    audit_record(
        actor=actor,
        action=AuditAction.INTEGRATION_KEY_COLLECTED,
        partner=partner,
        target=credential,
        changes={"integration_key": [None, f"{credential.token_key}… collected"]},
    )
    return key
