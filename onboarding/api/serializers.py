"""Serializers of the onboarding API: what a request may carry and what a response shows.

They validate shape and format only; the rules live in ``onboarding.services``. Every input serializer rejects
fields it does not accept (``StrictFieldsMixin`` from the core), so a typo is a 400 naming the field.
"""

from __future__ import annotations

from django.core.validators import RegexValidator, URLValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from onboarding import selectors
from onboarding.api import scopes
from onboarding.choices import StepState
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    PartnerApplication,
    ProvisioningJob,
    ProvisioningStep,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerhub.api.base import IdRelatedField, ScopedRelatedField
from partnerhub.api.serializers import (
    StrictModelSerializer,
    StrictSerializer,
    UserSummarySerializer,
    country_validator,
    phone_validator,
)
from partnerhub.choices import PartnerType
from partnerhub.models import Partner, Tier

AGREEMENT_MAX_LENGTH = 200_000
# Internal teams are set up by the vendor; applicants choose among the others (named in the schema's enums).
APPLICANT_PARTNER_TYPES = [choice for choice in PartnerType.choices if choice[0] != PartnerType.INTERNAL]
DUPLICATE_KINDS = ("same_domain", "similar_name")
DUPLICATE_OBJECTS = ("partner", "application")
event_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", "Use an event name such as partner.provisioned (lower case, dotted)."
)


def _seconds(delta) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


# Applications --------------------------------------------------------------------------------------------------


class ApplicationSubmitSerializer(StrictSerializer):
    """A company applies to join the partner program. No account is needed; the answer holds the status link."""

    company_name = serializers.CharField(max_length=200)
    website = serializers.URLField(
        max_length=300, required=False, allow_blank=True, validators=[URLValidator(schemes=["http", "https"])]
    )
    country = serializers.CharField(
        max_length=2, validators=[country_validator], help_text="Two-letter ISO 3166-1 code, e.g. DE."
    )
    region = serializers.CharField(max_length=80, required=False, allow_blank=True)
    partner_type = serializers.ChoiceField(choices=APPLICANT_PARTNER_TYPES)
    contact_first_name = serializers.CharField(max_length=80)
    contact_last_name = serializers.CharField(max_length=80)
    contact_email = serializers.EmailField(max_length=254)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, validators=[phone_validator])
    contact_title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    expected_annual_revenue = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, help_text="In the program's currency."
    )
    expected_deals_per_quarter = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    business_description = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class ApplicationReceiptSerializer(serializers.ModelSerializer):
    """What the applicant gets back: the signed status link is the only way to follow the application."""

    status_url = serializers.SerializerMethodField(
        help_text="The applicant's private status page (also sent by e-mail). Keep it: it cannot be recovered."
    )

    class Meta:
        model = PartnerApplication
        fields = ("company_name", "status", "submitted_at", "status_url")
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: PartnerApplication) -> str:
        from onboarding import services

        return services.status_url(obj)


class DuplicateFlagSerializer(serializers.Serializer):
    """A possible duplicate found at submission. A match the caller may not open is shown without name or id."""

    kind = serializers.ChoiceField(choices=DUPLICATE_KINDS)
    object = serializers.ChoiceField(choices=DUPLICATE_OBJECTS)
    id = serializers.IntegerField(allow_null=True)
    label = serializers.CharField(allow_blank=True)
    detail = serializers.CharField()
    visible = serializers.BooleanField()


class ApplicationMessageSerializer(serializers.ModelSerializer):
    """One entry of an application's thread. ``internal`` notes are never shown to the applicant."""

    author = UserSummarySerializer(read_only=True, allow_null=True, help_text="Empty for the applicant.")
    internal = serializers.BooleanField(source="is_internal", read_only=True)

    class Meta:
        model = ApplicationMessage
        fields = ("id", "kind", "author", "body", "internal", "created_at")
        read_only_fields = fields


class PartnerApplicationSerializer(serializers.ModelSerializer):
    """An application as vendor staff see it in the review queue."""

    decided_by = UserSummarySerializer(read_only=True, allow_null=True)
    tier_name = serializers.CharField(source="tier.name", read_only=True, allow_null=True, default=None)
    duplicate_flags = serializers.SerializerMethodField()
    duplicate_count = serializers.SerializerMethodField()
    waiting_seconds = serializers.SerializerMethodField(
        help_text="The review clock: time from submission to the decision (or until now, while open)."
    )

    class Meta:
        model = PartnerApplication
        fields = (
            "id",
            "company_name",
            "website",
            "domain",
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
            "status",
            "submitted_at",
            "updated_at",
            "decided_at",
            "decided_by",
            "decision_reason",
            "tier",
            "tier_name",
            "partner",
            "duplicate_flags",
            "duplicate_count",
            "waiting_seconds",
        )
        read_only_fields = fields

    @extend_schema_field(DuplicateFlagSerializer(many=True))
    def get_duplicate_flags(self, obj: PartnerApplication) -> list[dict]:
        # One visibility lookup for the whole page (the list serializer's instance), not one per application.
        cache = self.context.setdefault("_flag_visibility", {})
        if obj.pk not in cache.get("ids", ()):
            page = getattr(self.parent, "instance", None)
            applications = list(page) if isinstance(page, list | tuple) and obj in page else [obj]
            user = getattr(self.context.get("request"), "user", None)
            cache["ids"] = {a.pk for a in applications}
            cache["visibility"] = selectors.flag_visibility(user=user, applications=applications)
        return scopes.visible_flags(obj, cache["visibility"])

    @extend_schema_field(serializers.IntegerField())
    def get_duplicate_count(self, obj: PartnerApplication) -> int:
        return len(obj.duplicate_flags or [])

    @extend_schema_field(serializers.FloatField())
    def get_waiting_seconds(self, obj: PartnerApplication) -> float:
        return _seconds(obj.waiting_time)


class PartnerApplicationDetailSerializer(PartnerApplicationSerializer):
    """One application with its whole thread (internal notes included: this is the reviewers' view)."""

    messages = ApplicationMessageSerializer(many=True, read_only=True)
    job = serializers.SerializerMethodField(help_text="The provisioning job started by the approval.")

    class Meta(PartnerApplicationSerializer.Meta):
        fields = (*PartnerApplicationSerializer.Meta.fields, "job", "messages")
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_job(self, obj: PartnerApplication) -> int | None:
        jobs = [job.pk for job in obj.jobs.all()]
        return jobs[0] if jobs else None


class ApproveSerializer(StrictSerializer):
    tier = IdRelatedField(
        queryset=Tier.objects.all(), required=False, allow_null=True, help_text="The tier the partner starts on."
    )
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Recorded as the decision; optional."
    )


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Sent to the applicant and kept with the decision.")


class RequestInfoSerializer(StrictSerializer):
    message = serializers.CharField(max_length=4000, help_text="Sent to the applicant, who answers on the status page.")


class NoteSerializer(StrictSerializer):
    message = serializers.CharField(max_length=4000, help_text="An internal note for reviewers; never shown outside.")


# Jobs ----------------------------------------------------------------------------------------------------------


class ProvisioningStepSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ProvisioningStep
        fields = (
            "name",
            "title",
            "position",
            "state",
            "attempts",
            "started_at",
            "finished_at",
            "duration_seconds",
            "last_error",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, obj: ProvisioningStep) -> float | None:
        return _seconds(obj.duration)


class ProvisioningJobSerializer(serializers.ModelSerializer):
    """A provisioning or offboarding job with its ordered steps, for live progress."""

    partner_name = serializers.CharField(source="partner.name", read_only=True, allow_null=True, default=None)
    requested_by = serializers.CharField(
        source="requested_by.display_name", read_only=True, allow_null=True, default=None
    )
    duration_seconds = serializers.SerializerMethodField()
    steps_done = serializers.SerializerMethodField()
    steps = ProvisioningStepSerializer(many=True, read_only=True)

    class Meta:
        model = ProvisioningJob
        fields = (
            "id",
            "kind",
            "state",
            "partner",
            "partner_name",
            "application",
            "reason",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "runs",
            "current_step",
            "last_error",
            "steps_done",
            "steps",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, obj: ProvisioningJob) -> float | None:
        return _seconds(obj.duration)

    @extend_schema_field(serializers.IntegerField())
    def get_steps_done(self, obj: ProvisioningJob) -> int:
        return sum(1 for step in obj.steps.all() if step.state == StepState.SUCCEEDED)


class ApprovalSerializer(serializers.Serializer):
    """The approved application and the provisioning job it started."""

    application = PartnerApplicationSerializer(read_only=True)
    job = ProvisioningJobSerializer(read_only=True)


class OffboardingSerializer(StrictSerializer):
    # "change" on the partner: partners the caller may change. Any other id reads as missing.
    partner = ScopedRelatedField(queryset=Partner.objects.all(), access_action="change")
    reason = serializers.CharField(max_length=500, help_text="Recorded in the audit trail and on the job.")


# Agreements ----------------------------------------------------------------------------------------------------


class AgreementSerializer(StrictModelSerializer):
    """A published version of the program agreement. Publishing a new version is the only way to change it."""

    body = serializers.CharField(max_length=AGREEMENT_MAX_LENGTH, help_text="The full text (at least 20 characters).")

    class Meta:
        model = Agreement
        fields = ("id", "title", "version", "body", "sha256", "published_at")
        read_only_fields = ("version", "sha256", "published_at")


class AgreementAcceptSerializer(StrictSerializer):
    # Partners whose acceptances the caller may record (their partner admins). Any other id reads as missing.
    partner = ScopedRelatedField(queryset=Partner.objects.all(), access_action="change", for_model=AgreementAcceptance)


class AgreementAcceptanceSerializer(serializers.ModelSerializer):
    accepted_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = AgreementAcceptance
        fields = (
            "id",
            "partner",
            "agreement",
            "version",
            "sha256",
            "accepted_by",
            "accepted_at",
            "ip_address",
            "user_agent",
        )
        read_only_fields = fields


# Checklists ----------------------------------------------------------------------------------------------------


class ChecklistItemSerializer(StrictModelSerializer):
    """One onboarding step of a partner. Only ``done`` changes; items driven by an event complete themselves."""

    done = serializers.BooleanField(source="is_done", help_text="Tick the item off (true) or reopen it (false).")
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    completed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ChecklistItem
        fields = (
            "id",
            "partner",
            "key",
            "title",
            "description",
            "url",
            "event",
            "position",
            "due_at",
            "done",
            "overdue",
            "completed_at",
            "completed_by",
            "completed_automatically",
        )
        read_only_fields = (
            "partner",
            "key",
            "title",
            "description",
            "url",
            "event",
            "position",
            "due_at",
            "completed_at",
            "completed_automatically",
        )


# Webhooks ------------------------------------------------------------------------------------------------------


class WebhookEndpointSerializer(StrictModelSerializer):
    """A downstream system that receives signed events. The signing secret is shown once, on creation."""

    url = serializers.URLField(max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    events = serializers.ListField(
        child=serializers.CharField(max_length=60, validators=[event_name_validator]),
        max_length=20,
        required=False,
        help_text="Event names (partner.provisioned, partner.offboarded); empty means every event.",
    )
    secret_hint = serializers.SerializerMethodField(help_text="The secret's last characters, to tell keys apart.")

    class Meta:
        model = WebhookEndpoint
        fields = ("id", "name", "url", "events", "is_active", "secret_hint", "created_at")
        read_only_fields = ("created_at",)

    def get_secret_hint(self, obj: WebhookEndpoint) -> str:
        return f"whsec_…{obj.secret[-4:]}"

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookEndpointCreateSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret. Store it now: it is shown only in this response."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ("attempted_at", "status_code", "error", "duration_ms")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint_name = serializers.CharField(source="endpoint.name", read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "endpoint",
            "endpoint_name",
            "event",
            "event_id",
            "partner",
            "job",
            "payload",
            "state",
            "attempts",
            "created_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "attempt_log",
        )
        read_only_fields = fields
