"""Onboarding: applications, review, program agreements, checklists, provisioning jobs and outbound webhooks."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from onboarding.choices import (
    ApplicationStatus,
    ChecklistEvent,
    DeliveryState,
    JobKind,
    JobState,
    MessageKind,
    StepState,
)
from partnerhub.choices import PartnerType
from partnerhub.models import PartnerOwnedModel


def _nonce() -> str:
    return secrets.token_urlsafe(18)


class PartnerApplication(models.Model):
    """A company's request to join the partner program, from the public application form or the API.

    Applications are vendor-side data (there is no partner yet): vendor staff review them. The applicant
    follows it through a signed status link. Possible duplicates of existing partners and other open
    applications are computed at submission and shown to the reviewer, never silently merged.
    """

    company_name = models.CharField(max_length=200)
    website = models.URLField(max_length=300, blank=True)
    domain = models.CharField(max_length=253, blank=True, db_index=True, help_text="Company domain, lower case.")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    region = models.CharField(max_length=80, blank=True)
    partner_type = models.CharField(max_length=20, choices=PartnerType.choices)
    parent = models.ForeignKey(
        "partnerhub.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The distributor whose portal the application came through (two-tier).",
    )
    contact_first_name = models.CharField(max_length=80)
    contact_last_name = models.CharField(max_length=80)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=40, blank=True)
    contact_title = models.CharField(max_length=120, blank=True)
    expected_annual_revenue = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    expected_deals_per_quarter = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(100_000)])
    business_description = models.TextField(max_length=4000, blank=True)
    status = models.CharField(max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(max_length=2000, blank=True)
    tier = models.ForeignKey("partnerhub.Tier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate_flags = models.JSONField(default=list, blank=True)
    partner = models.OneToOneField(
        "partnerhub.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )
    status_nonce = models.CharField(max_length=32, default=_nonce, unique=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        permissions = [("review_partnerapplication", "Approve, reject and question partner applications")]
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            models.Index(Lower("company_name"), name="application_company_lower_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.get_status_display()})"

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.INFO_REQUESTED)

    @property
    def waiting_since(self):
        return self.submitted_at

    @property
    def waiting_time(self):
        """How long the application has waited for (or took until) a decision: the review clock."""
        end = self.decided_at or timezone.now()
        return end - self.submitted_at


class ApplicationMessage(models.Model):
    """A message on an application: a reviewer's question, the applicant's reply, a decision, an internal note.

    Internal notes are never shown to the applicant.
    """

    application = models.ForeignKey(PartnerApplication, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the applicant.",
    )
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.application_id}"

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.NOTE


class Agreement(models.Model):
    """A version of the program agreement. The text is stored and fingerprinted (SHA-256); once published it is
    never edited — a change is a new version, which every partner must accept again."""

    title = models.CharField(max_length=200)
    version = models.PositiveIntegerField(unique=True)
    body = models.TextField()
    sha256 = models.CharField(max_length=64, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def save(self, *args, **kwargs):
        self.sha256 = hashlib.sha256(self.body.encode("utf-8")).hexdigest()
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class AgreementAcceptance(PartnerOwnedModel):
    """Who accepted which agreement version for a partner, when, and from which address."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="agreement_acceptances")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="acceptances")
    version = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    partner_permissions = {
        "view": "access_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-accepted_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "agreement"], name="acceptance_once_per_version")]

    def __str__(self) -> str:
        return f"{self.partner} accepted v{self.version}"


class ChecklistTemplate(models.Model):
    """Onboarding steps for partners of a type and/or tier. The most specific active template applies."""

    name = models.CharField(max_length=120)
    partner_type = models.CharField(
        max_length=20, choices=PartnerType.choices, blank=True, help_text="Empty: any partner type."
    )
    tier = models.ForeignKey(
        "partnerhub.Tier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: any tier.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner_type", "tier"],
                condition=models.Q(is_active=True),
                name="checklist_template_one_active_per_scope",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True, help_text="Where the partner does it (e.g. a training course).")
    due_days = models.PositiveIntegerField(default=14, validators=[MaxValueValidator(365)])
    event = models.CharField(
        max_length=40,
        choices=ChecklistEvent.choices,
        blank=True,
        help_text="Completed automatically when this happens.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["template", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["template", "key"], name="checklist_template_item_key")]

    def __str__(self) -> str:
        return self.title


class ChecklistItem(PartnerOwnedModel):
    """One onboarding step of one partner, copied from a template when the partner was provisioned."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="checklist_items")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    event = models.CharField(max_length=40, choices=ChecklistEvent.choices, blank=True)
    position = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_automatically = models.BooleanField(default=False)

    partner_permissions = {
        "view": "access_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["partner_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="checklist_item_key_per_partner")]
        indexes = [models.Index(fields=["partner", "completed_at"]), models.Index(fields=["due_at", "completed_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.due_at < timezone.now()


class PartnerDocument(PartnerOwnedModel):
    """A document a partner uploads during onboarding (a tax form). Checked by content: PDF, PNG or JPEG."""

    class Kind(models.TextChoices):
        TAX_FORM = "tax_form", "Tax form"

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TAX_FORM)
    file = models.FileField(upload_to="partner-documents/%Y/%m/")
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    partner_permissions = {
        "view": "administer_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.partner_id}"


class ProvisioningJob(PartnerOwnedModel):
    """A run of ordered, named steps that provisions (or offboards) a partner.

    The job and each step store their state, attempts, timings and last error, so the portal and the console
    show live progress and a failed step can be retried. ``idempotency_key`` makes starting a job for the
    same application twice return the same job.
    """

    partner = models.ForeignKey(
        "partnerhub.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="provisioning_jobs"
    )
    kind = models.CharField(max_length=20, choices=JobKind.choices, default=JobKind.PROVISION)
    state = models.CharField(max_length=20, choices=JobState.choices, default=JobState.PENDING, db_index=True)
    application = models.ForeignKey(
        PartnerApplication, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    idempotency_key = models.CharField(max_length=120, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0, help_text="How many times a worker picked the job up.")
    current_step = models.CharField(max_length=60, blank=True)
    last_error = models.TextField(blank=True)

    partner_permissions = {
        "view": "administer_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("retry_provisioningjob", "Retry failed provisioning steps")]

    def __str__(self) -> str:
        target = self.partner or self.application
        return f"{self.get_kind_display()} of {target}"

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class ProvisioningStep(models.Model):
    """One named step of a job. Its effects and its "done" mark commit together, so a killed worker leaves
    either nothing or the whole step."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=60)
    title = models.CharField(max_length=160)
    position = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=StepState.choices, default=StepState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="provisioning_step_unique_name")]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_state_display()})"

    @property
    def duration(self):
        if not self.started_at or not self.finished_at:
            return None
        return self.finished_at - self.started_at


def _webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A downstream system (CRM, ERP, provisioning) that receives signed events from PartnerHub."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80, default=_webhook_secret)
    events = models.JSONField(default=list, blank=True, help_text="Event names; empty means every event.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event for one endpoint, delivered at least once and recorded with every attempt.

    ``event_id`` is unique per endpoint and sent as ``X-PartnerHub-Delivery``, so a receiver can drop a
    repeat; PartnerHub stops sending once one attempt is accepted (2xx).
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=60)
    event_id = models.CharField(max_length=120)
    partner = models.ForeignKey(
        "partnerhub.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(ProvisioningJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()
    state = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.attempted_at:%H:%M:%S}"


class IntegrationCredential(PartnerOwnedModel):
    """The API key provisioning issued for a partner's integration, held encrypted until a partner admin
    reveals it once; after that only the key's hash remains (in ``partnerhub.ApiToken``)."""

    partner = models.OneToOneField("partnerhub.Partner", on_delete=models.CASCADE, related_name="integration")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_key = models.CharField(max_length=25, help_text="The key's public prefix.")
    encrypted_key = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    revealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    partner_permissions = {
        "view": "administer_partner",
        "add": "administer_partner",
        "change": "administer_partner",
        "delete": "administer_partner",
    }

    def __str__(self) -> str:
        return f"Integration key {self.token_key}… of {self.partner_id}"
