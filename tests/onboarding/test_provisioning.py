"""The provisioning engine and its steps, run in-process (the worker tests run the same on a real worker)."""

from __future__ import annotations

import pytest
from django.core import mail

from onboarding import provisioning, services, steps, webhooks
from onboarding.choices import ApplicationStatus, DeliveryState, JobKind, JobState, StepState
from onboarding.models import (
    ChecklistItem,
    IntegrationCredential,
    ProvisioningJob,
    ProvisioningStep,
    WebhookAttempt,
    WebhookDelivery,
)
from onboarding.provisioning import StepContext, TransientStepError, register_step
from partnerhub.choices import MembershipRole, PartnerStatus
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, PartnerGroupObjectPermission

pytestmark = pytest.mark.django_db


def approve(application, reviewer, capture, **kwargs):
    with capture(execute=True):
        job = services.application_approve(actor=reviewer, application=application, **kwargs)
    job.refresh_from_db()
    return job


def provisioned_state(partner: Partner) -> dict:
    """Everything provisioning creates, counted, for exactly-once comparisons."""
    return {
        "partners": Partner.objects.filter(name=partner.name).count(),
        "groups": (partner.members_group_id, partner.admins_group_id),
        "grants": PartnerGroupObjectPermission.objects.filter(content_object=partner).count(),
        "invitations": Invitation.objects.filter(partner=partner).count(),
        "memberships": Membership.objects.filter(partner=partner).count(),
        "credentials": IntegrationCredential.objects.filter(partner=partner).count(),
        "integration_keys": ApiToken.objects.filter(user__memberships__partner=partner).count(),
        "checklist": ChecklistItem.objects.filter(partner=partner).count(),
        "deliveries": WebhookDelivery.objects.filter(partner=partner).count(),
        "brand_version": partner.brand.version,
        "status": partner.status,
    }


def test_approval_provisions_a_working_partner(
    application, reviewer, checklist_template, receiver, endpoint_for, django_capture_on_commit_callbacks
):
    hook = receiver()
    endpoint_for(hook)
    mail.outbox.clear()

    job = approve(application, reviewer, django_capture_on_commit_callbacks)

    assert job.state == JobState.SUCCEEDED, job.last_error
    assert [s.state for s in job.steps.all()] == [StepState.SUCCEEDED] * job.steps.count()
    assert list(job.steps.values_list("name", flat=True)) == [d.name for d in provisioning.steps_for("provision")]
    partner = job.partner
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED and application.partner == partner
    assert partner.status == PartnerStatus.ACTIVE and partner.country == "DE"
    # the approving channel manager manages the new partner
    assert list(Partner.objects.for_user(reviewer)) == [partner]
    # the contact is invited as partner admin
    invitation = Invitation.objects.get(partner=partner)
    assert invitation.email == "nora.winter@northwind.example" and invitation.role == MembershipRole.ADMIN
    assert any(invitation.email in m.to for m in mail.outbox)
    # an integration account with a key, held encrypted until revealed
    credential = IntegrationCredential.objects.get(partner=partner)
    assert credential.encrypted_key and credential.revealed_at is None
    assert ApiToken.objects.filter(user=credential.user, token_key=credential.token_key).exists()
    assert not credential.user.has_usable_password()
    # brand defaults, checklist, webhook
    assert partner.brand.version == 2 and partner.brand.support_email == "nora.winter@northwind.example"
    assert ChecklistItem.objects.filter(partner=partner).count() == 6
    # the vendor's invitation of the first admin is not the partner inviting its team
    assert not ChecklistItem.objects.get(partner=partner, key="team").is_done
    assert [e["event"] for e in hook.events()] == ["partner.provisioned"]
    assert hook.events()[0]["data"]["partner"]["slug"] == partner.slug
    # timings are recorded
    assert job.started_at and job.finished_at and job.runs == 1
    assert all(s.started_at and s.finished_at and s.attempts == 1 for s in job.steps.all())


def test_every_step_is_idempotent(
    application, reviewer, checklist_template, receiver, endpoint_for, django_capture_on_commit_callbacks
):
    hook = receiver()
    endpoint_for(hook)
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    partner = Partner.objects.get(pk=job.partner_id)
    before = provisioned_state(partner)
    audit_before = AuditEvent.objects.filter(partner=partner).count()

    for step in job.steps.all():
        with django_capture_on_commit_callbacks(execute=True):
            provisioning.definition(step.name).run(StepContext(job=job, step=step))

    partner = Partner.objects.get(pk=partner.pk)
    assert provisioned_state(partner) == before
    assert AuditEvent.objects.filter(partner=partner).count() == audit_before
    assert len(hook.accepted) == 1


def test_running_a_finished_job_again_changes_nothing(
    application, reviewer, checklist_template, django_capture_on_commit_callbacks
):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    partner = Partner.objects.get(pk=job.partner_id)
    before = provisioned_state(partner)
    assert provisioning.run_job(job.pk).state == JobState.SUCCEEDED
    assert provisioned_state(Partner.objects.get(pk=partner.pk)) == before


def test_approving_twice_is_refused_and_the_job_is_unique(application, reviewer, django_capture_on_commit_callbacks):
    from partnerhub.errors import ConflictError

    approve(application, reviewer, django_capture_on_commit_callbacks)
    with pytest.raises(ConflictError):
        services.application_approve(actor=reviewer, application=application)
    assert ProvisioningJob.objects.filter(application=application).count() == 1
    again = services.job_start(
        actor=reviewer,
        kind=JobKind.PROVISION,
        application=application,
        idempotency_key=f"provision:application:{application.pk}",
    )
    assert ProvisioningJob.objects.filter(application=application).count() == 1
    assert again.application == application


def test_webhook_receiver_failing_twice_gets_exactly_one_accepted_delivery(
    application, reviewer, receiver, endpoint_for, django_capture_on_commit_callbacks
):
    hook = receiver(statuses=[503, 500])
    endpoint = endpoint_for(hook)

    approve(application, reviewer, django_capture_on_commit_callbacks)

    assert [r["status"] for r in hook.requests] == [503, 500, 200]
    assert len(hook.accepted) == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [
        503,
        500,
        200,
    ]
    # every attempt carried the same delivery id and a valid signature
    ids = {r["headers"]["X-PartnerHub-Delivery"] for r in hook.requests}
    assert ids == {delivery.event_id}
    for request in hook.requests:
        assert webhooks.verify_signature(endpoint.secret, request["body"], request["headers"]["X-PartnerHub-Signature"])
    assert not webhooks.verify_signature(
        "whsec_wrong", hook.requests[0]["body"], hook.requests[0]["headers"]["X-PartnerHub-Signature"]
    )
    # once delivered, nothing is sent again
    assert webhooks.attempt_delivery(delivery.pk)[0] == webhooks.DeliveryOutcome.SKIPPED
    assert len(hook.requests) == 3


def test_unreachable_receiver_gives_up_after_the_limit(
    application, reviewer, endpoint_for, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(webhooks, "MAX_DELIVERY_ATTEMPTS", 3)
    from onboarding.models import WebhookEndpoint

    WebhookEndpoint.objects.create(name="Down", url="http://127.0.0.1:9/nothing-listens-here")
    approve(application, reviewer, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint__name="Down")
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3
    assert delivery.last_error and delivery.attempt_log.count() == 3


def test_a_failing_step_fails_the_job_and_can_be_retried(
    application, reviewer, checklist_template, django_capture_on_commit_callbacks, monkeypatch
):
    calls = {"n": 0}
    original = provisioning.definition("core.checklist")

    def flaky(ctx):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("template store unavailable")
        return original.run(ctx)

    monkeypatch.setitem(
        provisioning._REGISTRY,
        "core.checklist",
        provisioning.StepDefinition(
            name="core.checklist", title=original.title, position=original.position, kind=original.kind, run=flaky
        ),
    )
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    assert job.state == JobState.FAILED and "template store unavailable" in job.last_error
    failed = job.steps.get(name="core.checklist")
    assert failed.state == StepState.FAILED and failed.attempts == 1
    assert job.steps.get(name="core.activate").state == StepState.PENDING
    assert not ChecklistItem.objects.filter(partner=job.partner).exists()  # the step's effects rolled back

    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(actor=reviewer, job=job)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.steps.get(name="core.checklist").attempts == 2
    assert job.steps.get(name="core.create_partner").attempts == 1  # finished steps are not repeated
    assert ChecklistItem.objects.filter(partner=job.partner).count() == 6


def test_transient_errors_are_retried_with_backoff(
    application, reviewer, django_capture_on_commit_callbacks, monkeypatch
):
    attempts = {"n": 0}

    @register_step("tests.flaky_downstream", title="Call a flaky system", position=85)
    def flaky(ctx):
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise TransientStepError("downstream busy")
        return {"ok": True}

    try:
        job = approve(application, reviewer, django_capture_on_commit_callbacks)
    finally:
        provisioning._REGISTRY.pop("tests.flaky_downstream")
    step = ProvisioningStep.objects.get(job=job, name="tests.flaky_downstream")
    assert job.state == JobState.SUCCEEDED
    assert step.attempts == 3 and step.result == {"ok": True}
    assert [provisioning.retry_countdown(n) for n in (1, 2, 3, 10)] == [2, 4, 8, 300]


def test_offboarding_deactivates_users_revokes_keys_and_grants_and_keeps_data(
    application, reviewer, checklist_template, receiver, endpoint_for, django_capture_on_commit_callbacks
):
    hook = receiver()
    endpoint_for(hook)
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    partner = Partner.objects.get(pk=job.partner_id)
    invitation = Invitation.objects.get(partner=partner)
    from partnerhub import services as core

    with django_capture_on_commit_callbacks(execute=True):
        core.invitation_accept(
            token=core.invitation_token(invitation),
            first_name="Nora",
            last_name="Winter",
            password="northwind-rocks-42",
        )
        offboarding = services.partner_offboard(actor=reviewer, partner=partner, reason="Contract ended")
    offboarding.refresh_from_db()
    assert offboarding.state == JobState.SUCCEEDED, offboarding.last_error
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.OFFBOARDED
    assert not Membership.objects.filter(partner=partner, is_active=True).exists()
    assert Membership.objects.filter(partner=partner).count() == 2  # rows kept
    assert not ApiToken.objects.filter(user__memberships__partner=partner).exists()
    assert IntegrationCredential.objects.get(partner=partner).encrypted_key == ""
    assert list(Partner.objects.for_user(reviewer)) == []  # grant revoked
    assert ChecklistItem.objects.filter(partner=partner).count() == 6  # data kept
    assert [e["event"] for e in hook.events()] == ["partner.provisioned", "partner.offboarded"]


def test_steps_registry_orders_by_position():
    names = [d.name for d in provisioning.steps_for(JobKind.PROVISION)]
    assert names.index("core.create_partner") < names.index("core.invite_admin") < names.index("core.activate")
    assert names[-1] == "core.activate"
    assert steps.DEFAULT_COLOURS["reseller"][0].startswith("#")
