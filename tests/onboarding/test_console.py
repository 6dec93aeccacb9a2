"""Onboarding in the vendor console: the application queue (review clock, duplicates, thread, decisions through
the services), agreements and acceptances, checklist templates and progress, provisioning jobs with live progress
and retry, webhook endpoints (secret shown once) and deliveries, documents, and "Offboard…" on the partner list —
each scoped like the rest of the console (404 outside the scope), with constant queries and nothing inline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from onboarding import provisioning, services
from onboarding.admin import business_time, duration_label
from onboarding.choices import ApplicationStatus, DeliveryState, JobKind, JobState, StepState
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    ChecklistTemplate,
    PartnerApplication,
    ProvisioningJob,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerhub import services as core
from partnerhub.choices import AuditAction, StaffRole
from partnerhub.models import AuditEvent, Partner
from tests.factories import TierFactory, make_partner, make_staff
from tests.onboarding.conftest import APPLICATION

pytestmark = pytest.mark.django_db

AGREEMENT_TEXT = "The partner sells the vendor's products under the program's terms and conditions."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INLINE_STYLE = re.compile(rb"\sstyle\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.fixture(autouse=True)
def sent_mail(monkeypatch):
    calls = []
    monkeypatch.setattr("onboarding.services.send_email", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setattr("partnerhub.notifications.send_email", lambda **kwargs: calls.append(kwargs))
    return calls


def url(name: str, *args) -> str:
    return reverse(f"console:{name}", args=args)


def signed_in(client, user):
    client.force_login(user)
    return client


def listed(response) -> set:
    assert response.status_code == 200, response.status_code
    return {obj.pk for obj in response.context["cl"].result_list}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def action(client, changelist: str, name: str, ids, follow: bool = False, **extra):
    data = {"action": name, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(url(changelist), data, follow=follow)


def submit(**changes) -> PartnerApplication:
    return services.application_submit(data={**APPLICATION, **changes})


def make_item(partner, key="training", *, due_in_days=14, **kwargs) -> ChecklistItem:
    return ChecklistItem.objects.create(
        partner=partner,
        key=key,
        title=kwargs.pop("title", f"Step {key}"),
        due_at=timezone.now() + timedelta(days=due_in_days),
        **kwargs,
    )


def make_job(partner, *, state=JobState.FAILED, application=None) -> ProvisioningJob:
    job = ProvisioningJob.objects.create(
        partner=partner,
        application=application,
        state=state,
        idempotency_key=f"console:{ProvisioningJob.objects.count()}",
        started_at=timezone.now() - timedelta(seconds=90),
        finished_at=timezone.now() if state == JobState.FAILED else None,
    )
    provisioning.create_steps(job)
    if state == JobState.FAILED:
        step = job.steps.order_by("position").first()
        step.state, step.attempts, step.last_error = StepState.FAILED, 2, "TimeoutError: CRM did not answer"
        step.save()
    return job


def approved_into(partner, **changes) -> PartnerApplication:
    application = submit(**changes)
    PartnerApplication.objects.filter(pk=application.pk).update(
        status=ApplicationStatus.APPROVED, partner=partner, decided_at=timezone.now()
    )
    return fresh(application)


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


# Who gets in ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep_a", "admin_a"])
def test_partner_users_never_reach_onboarding_console_pages(client, request, who, partner_a):
    signed_in(client, request.getfixturevalue(who))
    for name in (
        "onboarding_partnerapplication_changelist",
        "onboarding_provisioningjob_changelist",
        "onboarding_checklistitem_progress",
        "onboarding_partnerdocument_changelist",
    ):
        response = client.get(url(name))
        assert response.status_code == 302 and response["Location"].startswith(url("login")), name


# Review clock --------------------------------------------------------------------------------------------------


def test_the_review_clock_counts_weekdays_only():
    friday_evening = datetime(2025, 6, 6, 17, 0, tzinfo=UTC)
    monday_morning = datetime(2025, 6, 9, 9, 0, tzinfo=UTC)
    assert business_time(friday_evening, monday_morning) == timedelta(hours=7 + 9)
    assert business_time(monday_morning, monday_morning + timedelta(days=14)) == timedelta(days=10)
    assert business_time(monday_morning, friday_evening) == timedelta(0)
    assert duration_label(timedelta(days=2, hours=5)) == "2 d 5 h"
    assert duration_label(timedelta(minutes=3, seconds=4)) == "3 min 4 s"


# Applications --------------------------------------------------------------------------------------------------


def test_the_queue_shows_the_review_clock_red_after_two_business_days(client, reviewer):
    late = submit(company_name="Late Co", website="https://late.example")
    fresh_one = submit(company_name="Fresh Co", website="https://fresh.example")
    PartnerApplication.objects.filter(pk=late.pk).update(submitted_at=timezone.now() - timedelta(days=5))
    response = signed_in(client, reviewer).get(url("onboarding_partnerapplication_changelist"))
    assert listed(response) == {late.pk, fresh_one.pk}
    rows = {
        row.split("</th>")[0]: row for row in response.content.decode().split('<th class="field-company_name">')[1:]
    }
    late_row = next(row for key, row in rows.items() if "Late Co" in key)
    fresh_row = next(row for key, row in rows.items() if "Fresh Co" in key)
    assert "ph-clock--late" in late_row
    assert "ph-clock--late" not in fresh_row


def test_the_queue_follows_the_review_pages_scope(client, manager_a, manager_b, partner_a, partner_b, partner_ops):
    open_one = submit(company_name="Open Co")
    of_a = approved_into(partner_a, company_name="Acme Subsidiary")
    of_b = approved_into(partner_b, company_name="Bolt Subsidiary")
    assert listed(signed_in(client, manager_a).get(url("onboarding_partnerapplication_changelist"))) == {
        open_one.pk,
        of_a.pk,
    }
    assert client.get(url("onboarding_partnerapplication_change", of_b.pk)).status_code == 404
    assert client.get(url("onboarding_partnerapplication_change", 987654)).status_code == 404
    ops = listed(signed_in(client, partner_ops).get(url("onboarding_partnerapplication_changelist")))
    assert ops == {open_one.pk, of_a.pk, of_b.pk}


def test_application_page_shows_duplicates_and_the_thread(client, manager_a, reviewer, partner_a):
    application = submit(company_name="Acme Resellers GmbH", website="https://acme-resellers.example")
    services.application_note(actor=reviewer, application=application, message="Looks like Acme's subsidiary.")
    services.application_request_info(actor=reviewer, application=application, message="Are you part of Acme?")
    services.application_reply(application=fresh(application), message="Yes, since 2019.")

    page = signed_in(client, manager_a).get(url("onboarding_partnerapplication_change", application.pk))

    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{url("partnerhub_partner_change", partner_a.pk)}">{partner_a.name}</a>' in html
    assert "ph-thread__item--note" in html and "Looks like Acme&#x27;s subsidiary." in html
    assert "Are you part of Acme?" in html and "Yes, since 2019." in html
    for label in ("Approve…", "Request information…", "Reject…", "Add note…"):
        assert label in html
    # A reviewer who does not manage partner A sees the match without its name or link
    other = signed_in(client, reviewer).get(url("onboarding_partnerapplication_change", application.pk))
    assert "A partner you cannot open" in other.content.decode()
    assert url("partnerhub_partner_change", partner_a.pk) not in other.content.decode()


def test_approve_asks_then_provisions_through_the_service(client, reviewer, django_capture_on_commit_callbacks):
    application = submit()
    tier = TierFactory(name="Gold")
    signed_in(client, reviewer)
    changelist = "onboarding_partnerapplication_changelist"

    page = action(client, changelist, "approve_applications", [application.pk], _return_to_change="1")
    assert page.status_code == 200 and b"Approve and provision" in page.content
    assert not INLINE_STYLE.search(page.content) and not INLINE_SCRIPT.search(page.content)
    assert fresh(application).status == ApplicationStatus.SUBMITTED

    done = action(
        client,
        changelist,
        "approve_applications",
        [application.pk],
        post="yes",
        tier=str(tier.pk),
        note="Strong pipeline",
        _return_to_change="1",
    )

    assert done.status_code == 302 and done["Location"] == url("onboarding_partnerapplication_change", application.pk)
    application = fresh(application)
    assert application.status == ApplicationStatus.APPROVED and application.tier == tier
    assert application.decided_by == reviewer and application.decision_reason == "Strong pipeline"
    assert ProvisioningJob.objects.filter(application=application, kind=JobKind.PROVISION).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_APPROVED, actor=reviewer).exists()
    # The decided application offers no decision buttons; deciding again is refused and reported
    page = client.get(url("onboarding_partnerapplication_change", application.pk))
    assert "Approve…" not in page.content.decode() and "Add note…" in page.content.decode()
    again = action(client, changelist, "reject_applications", [application.pk], post="yes", reason="No", follow=True)
    assert any("already approved" in str(m) for m in again.context["messages"])
    assert fresh(application).status == ApplicationStatus.APPROVED


def test_reject_needs_a_reason(client, reviewer, sent_mail):
    application = submit()
    signed_in(client, reviewer)
    changelist = "onboarding_partnerapplication_changelist"
    missing = action(client, changelist, "reject_applications", [application.pk], post="yes", reason="  ")
    assert missing.status_code == 400 and b"Write the reason." in missing.content
    assert fresh(application).status == ApplicationStatus.SUBMITTED
    too_long = action(client, changelist, "reject_applications", [application.pk], post="yes", reason="r" * 2001)
    assert too_long.status_code == 400 and fresh(application).status == ApplicationStatus.SUBMITTED

    done = action(client, changelist, "reject_applications", [application.pk], post="yes", reason="Region is full")

    assert done.status_code == 302
    assert fresh(application).status == ApplicationStatus.REJECTED
    assert any(m["template"] == "onboarding/emails/applicant_rejected" for m in sent_mail)


def test_request_information_and_notes_go_through_the_services(client, reviewer):
    application = submit()
    signed_in(client, reviewer)
    changelist = "onboarding_partnerapplication_changelist"
    action(client, changelist, "request_information", [application.pk], post="yes", message="Your VAT number?")
    action(client, changelist, "add_note", [application.pk], post="yes", message="Checked the register.")
    assert fresh(application).status == ApplicationStatus.INFO_REQUESTED
    kinds = list(ApplicationMessage.objects.filter(application=application).values_list("kind", "author", "body"))
    assert kinds == [
        ("info_request", reviewer.pk, "Your VAT number?"),
        ("note", reviewer.pk, "Checked the register."),
    ]


def test_staff_who_only_read_applications_get_no_decisions(client, partner_a):
    application = submit()
    reader = make_staff(None, username="reader")
    assign_perm("onboarding.view_partnerapplication", reader)
    signed_in(client, fresh(reader))
    page = client.get(url("onboarding_partnerapplication_change", application.pk))
    assert page.status_code == 200 and "Approve…" not in page.content.decode()
    refused = action(
        client, "onboarding_partnerapplication_changelist", "approve_applications", [application.pk], post="yes"
    )
    assert fresh(application).status == ApplicationStatus.SUBMITTED
    assert refused.status_code in (200, 302)
    assert not ProvisioningJob.objects.exists()
    # And nobody edits an applicant's answers
    client.post(url("onboarding_partnerapplication_change", application.pk), {"company_name": "Changed"})
    assert fresh(application).company_name == APPLICATION["company_name"]


# Agreements ----------------------------------------------------------------------------------------------------


def test_partner_operations_publish_an_agreement_version(client, partner_ops):
    signed_in(client, partner_ops)
    response = client.post(url("onboarding_agreement_add"), {"title": "Program agreement", "body": AGREEMENT_TEXT})
    assert response.status_code == 302, getattr(response, "context", {}) and response.context.get("errors")
    agreement = Agreement.objects.get()
    assert agreement.version == 1 and agreement.published_at and agreement.created_by == partner_ops
    assert AuditEvent.objects.filter(action=AuditAction.AGREEMENT_PUBLISHED).count() == 1

    same = client.post(url("onboarding_agreement_add"), {"title": "Program agreement", "body": AGREEMENT_TEXT})
    assert same.status_code == 200 and "already has exactly this text" in same.content.decode()
    short = client.post(url("onboarding_agreement_add"), {"title": "Program agreement", "body": "Too short"})
    assert short.status_code == 200 and "too short" in short.content.decode()
    assert Agreement.objects.count() == 1

    page = client.get(url("onboarding_agreement_change", agreement.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    client.post(url("onboarding_agreement_change", agreement.pk), {"title": "Changed", "body": AGREEMENT_TEXT})
    assert fresh(agreement).title == "Program agreement"


def test_channel_managers_read_agreements_and_their_partners_acceptances(
    client, manager_a, admin_a, admin_b, partner_a, partner_b
):
    agreement = services.agreement_publish(actor=None, title="Program agreement", body=AGREEMENT_TEXT)
    mine = services.agreement_accept(actor=admin_a, partner=partner_a, agreement=agreement, ip_address="192.0.2.4")
    services.agreement_accept(actor=admin_b, partner=partner_b, agreement=agreement)
    signed_in(client, manager_a)
    assert client.get(url("onboarding_agreement_add")).status_code == 403
    page = client.get(url("onboarding_agreement_changelist"))
    assert listed(page) == {agreement.pk}
    assert "1 partner<" in page.content.decode()  # only the acceptances this manager may see are counted
    acceptances = client.get(url("onboarding_agreementacceptance_changelist"))
    assert listed(acceptances) == {mine.pk}
    assert "192.0.2.4" in acceptances.content.decode()
    other = AgreementAcceptance.objects.exclude(pk=mine.pk).get()
    assert client.get(url("onboarding_agreementacceptance_change", other.pk)).status_code == 404


# Checklists ----------------------------------------------------------------------------------------------------


def test_partner_operations_edit_templates_with_their_items(client, partner_ops):
    signed_in(client, partner_ops)
    data = {
        "name": "Distributors",
        "partner_type": "distributor",
        "tier": "",
        "is_active": "on",
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-position": "0",
        "items-0-key": "agreement",
        "items-0-title": "Accept the agreement",
        "items-0-due_days": "3",
        "items-0-event": "agreement.accepted",
        "items-1-position": "1",
        "items-1-key": "training",
        "items-1-title": "Complete the training",
        "items-1-due_days": "30",
        "items-1-event": "",
    }
    assert client.post(url("onboarding_checklisttemplate_add"), data).status_code == 302
    template = ChecklistTemplate.objects.get(name="Distributors")
    assert list(template.items.values_list("key", "due_days")) == [("agreement", 3), ("training", 30)]

    duplicate = client.post(
        url("onboarding_checklisttemplate_add"), {**data, "name": "Another", "items-TOTAL_FORMS": "0"}
    )
    assert duplicate.status_code == 200
    assert ChecklistTemplate.objects.count() == 1


def test_channel_managers_cannot_edit_templates(client, manager_a):
    signed_in(client, manager_a)
    assert client.get(url("onboarding_checklisttemplate_changelist")).status_code == 403


def test_checklist_progress_is_scoped_and_finds_stuck_partners(client, manager_a, partner_a, partner_b):
    make_item(partner_a, "profile", completed_at=timezone.now())
    make_item(partner_a, "tax-form", due_in_days=-2)
    make_item(partner_b, "profile", due_in_days=-2)
    calm = make_partner("Calm Co")
    core.channel_manager_assign(actor=None, partner=calm, manager=manager_a)
    make_item(calm, "profile", completed_at=timezone.now())
    make_item(calm, "training", due_in_days=20)
    signed_in(client, fresh(manager_a))

    page = client.get(url("onboarding_checklistitem_progress"))

    assert page.status_code == 200
    entries = {e["partner"].pk: e for e in page.context["entries"]}
    assert set(entries) == {partner_a.pk, calm.pk}
    assert (entries[partner_a.pk]["done"], entries[partner_a.pk]["total"], entries[partner_a.pk]["overdue"]) == (
        1,
        2,
        1,
    )
    assert entries[partner_a.pk]["stuck"] and not entries[calm.pk]["stuck"]
    stuck = client.get(url("onboarding_checklistitem_progress"), {"show": "stuck"})
    assert [e["partner"].pk for e in stuck.context["entries"]] == [partner_a.pk]
    # No progress for 14 days also counts as stuck
    Partner.objects.filter(pk=calm.pk).update(created_at=timezone.now() - timedelta(days=30))
    ChecklistItem.objects.filter(partner=calm).update(completed_at=None)
    stuck = client.get(url("onboarding_checklistitem_progress"), {"show": "stuck"})
    assert {e["partner"].pk for e in stuck.context["entries"]} == {partner_a.pk, calm.pk}
    assert client.get(url("onboarding_checklistitem_progress"), {"q": "Bolt"}).context["entries"] == []
    assert partner_b.name not in page.content.decode()


def test_checklist_progress_queries_do_not_grow_with_partners(client, partner_ops):
    def grow(n, start=0):
        for i in range(start, start + n):
            partner = make_partner(f"Grow {i:02d}")
            make_item(partner, "profile", due_in_days=-1)
            make_item(partner, "training", completed_at=timezone.now())

    signed_in(client, partner_ops)
    grow(3)
    small = queries(client, url("onboarding_checklistitem_progress"))
    grow(27, start=3)
    assert queries(client, url("onboarding_checklistitem_progress")) == small


def test_items_are_ticked_off_through_the_service(client, manager_a, partner_a, partner_b):
    mine = make_item(partner_a)
    theirs = make_item(partner_b)
    signed_in(client, manager_a)
    assert listed(client.get(url("onboarding_checklistitem_changelist"))) == {mine.pk}
    action(client, "onboarding_checklistitem_changelist", "tick_off", [mine.pk, theirs.pk])
    assert fresh(mine).completed_by == manager_a and not fresh(mine).completed_automatically
    assert fresh(theirs).completed_at is None
    assert client.get(url("onboarding_checklistitem_change", theirs.pk)).status_code == 404


# Provisioning jobs ---------------------------------------------------------------------------------------------


def test_job_page_shows_steps_with_live_progress_and_retry(client, manager_a, partner_a, monkeypatch):
    job = make_job(partner_a)
    signed_in(client, manager_a)
    page = client.get(url("onboarding_provisioningjob_change", job.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-job-url="{reverse("provisioning-job-detail", args=[job.pk])}"' in html
    assert 'src="/static/onboarding/console-job.js"' in html
    assert "TimeoutError: CRM did not answer" in html and "Retry failed steps" in html
    assert html.count("<tr data-step=") == len(provisioning.steps_for(JobKind.PROVISION))
    assert not INLINE_STYLE.search(page.content) and not INLINE_SCRIPT.search(page.content)

    queued = []
    monkeypatch.setattr("onboarding.tasks.run_provisioning_job.delay", lambda job_id: queued.append(job_id))
    done = action(client, "onboarding_provisioningjob_changelist", "retry_jobs", [job.pk], _return_to_change="1")
    assert done.status_code == 302 and done["Location"] == url("onboarding_provisioningjob_change", job.pk)
    assert fresh(job).state == JobState.PENDING
    assert not job.steps.filter(state=StepState.FAILED).exists()
    # A job that is not failed offers no retry, and retrying it anyway is refused and reported
    page = client.get(url("onboarding_provisioningjob_change", job.pk))
    assert "Retry failed steps" not in page.content.decode()
    again = action(client, "onboarding_provisioningjob_changelist", "retry_jobs", [job.pk], follow=True)
    assert any("Only failed jobs" in str(m) for m in again.context["messages"])


def test_jobs_are_scoped(client, manager_a, partner_a, partner_b, reviewer):
    mine = make_job(partner_a)
    theirs = make_job(partner_b)
    application = submit()
    waiting = make_job(None, state=JobState.PENDING, application=application)
    signed_in(client, manager_a)
    assert listed(client.get(url("onboarding_provisioningjob_changelist"))) == {mine.pk, waiting.pk}
    assert client.get(url("onboarding_provisioningjob_change", theirs.pk)).status_code == 404
    action(client, "onboarding_provisioningjob_changelist", "retry_jobs", [theirs.pk])
    assert fresh(theirs).state == JobState.FAILED


def test_job_list_queries_are_constant(client, partner_ops, partner_a):
    signed_in(client, partner_ops)
    for _ in range(3):
        make_job(partner_a)
    small = queries(client, url("onboarding_provisioningjob_changelist"))
    for _ in range(27):
        make_job(partner_a)
    assert queries(client, url("onboarding_provisioningjob_changelist")) == small


# Webhooks ------------------------------------------------------------------------------------------------------


def test_webhook_secret_is_shown_once_on_creation(client, partner_ops):
    signed_in(client, partner_ops)
    response = client.post(
        url("onboarding_webhookendpoint_add"),
        {"name": "CRM", "url": "https://crm.example/hooks", "events": "partner.provisioned, partner.offboarded"},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["partner.offboarded", "partner.provisioned"]
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    for path in (url("onboarding_webhookendpoint_change", endpoint.pk), url("onboarding_webhookendpoint_changelist")):
        page = client.get(path)
        assert endpoint.secret not in page.content.decode()
        assert f"whsec_…{endpoint.secret[-4:]}" in page.content.decode()


def test_webhook_endpoint_input_is_checked(client, partner_ops):
    signed_in(client, partner_ops)
    for data in (
        {"name": "CRM", "url": "ftp://crm.example/", "events": ""},
        {"name": "CRM", "url": "https://crm.example/", "events": "Partner Provisioned!"},
        {"name": "C" * 121, "url": "https://crm.example/", "events": ""},
    ):
        response = client.post(url("onboarding_webhookendpoint_add"), data)
        assert response.status_code == 200 and response.context["errors"], data
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_is_read_only_with_every_attempt(client, partner_ops, manager_a, partner_a):
    endpoint = WebhookEndpoint.objects.create(name="ERP", url="https://erp.example/hook")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="partner.provisioned",
        event_id="job-1",
        partner=partner_a,
        payload={"event": "partner.provisioned", "data": {"partner": {"name": partner_a.name}}},
        state=DeliveryState.FAILED,
        attempts=2,
        last_status_code=503,
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=503, duration_ms=40)
    WebhookAttempt.objects.create(delivery=delivery, error="ConnectionError: refused", duration_ms=3)
    signed_in(client, partner_ops)
    page = client.get(url("onboarding_webhookdelivery_change", delivery.pk))
    html = page.content.decode()
    assert page.status_code == 200 and "ConnectionError: refused" in html and "503" in html
    assert "ph-json" in html and 'name="_save"' not in html
    signed_in(client, manager_a)
    assert client.get(url("onboarding_webhookdelivery_changelist")).status_code == 403
    assert client.get(url("onboarding_webhookdelivery_change", delivery.pk)).status_code == 404
    assert client.get(url("onboarding_webhookendpoint_changelist")).status_code == 403


# Documents -----------------------------------------------------------------------------------------------------


def test_documents_are_listed_and_downloaded_in_scope_only(client, manager_a, manager_b, admin_a, partner_a):
    document = services.document_upload(
        actor=admin_a, partner=partner_a, upload=SimpleUploadedFile("w9.pdf", PDF, content_type="application/pdf")
    )
    signed_in(client, manager_a)
    assert listed(client.get(url("onboarding_partnerdocument_changelist"))) == {document.pk}
    download = client.get(url("onboarding_partnerdocument_download", document.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"

    signed_in(client, manager_b)
    assert listed(client.get(url("onboarding_partnerdocument_changelist"))) == set()
    for path in (
        url("onboarding_partnerdocument_download", document.pk),
        url("onboarding_partnerdocument_change", document.pk),
    ):
        assert client.get(path).status_code == 404
    assert client.get(url("onboarding_partnerdocument_download", 987654)).status_code == 404
    assert client.get(url("onboarding_partnerdocument_download", "x")).status_code == 404


# Offboarding from the partner list -----------------------------------------------------------------------------


def test_offboard_asks_for_a_reason_then_starts_the_job(client, manager_a, partner_a):
    signed_in(client, manager_a)
    page = action(client, "partnerhub_partner_changelist", "offboard_partners", [partner_a.pk])
    assert page.status_code == 200 and b"Start offboarding" in page.content and partner_a.name.encode() in page.content
    assert not INLINE_STYLE.search(page.content)
    missing = action(client, "partnerhub_partner_changelist", "offboard_partners", [partner_a.pk], post="yes")
    assert missing.status_code == 400 and b"Write the reason." in missing.content
    assert not ProvisioningJob.objects.exists()

    done = action(
        client, "partnerhub_partner_changelist", "offboard_partners", [partner_a.pk], post="yes", reason="Ended"
    )

    assert done.status_code == 302
    job = ProvisioningJob.objects.get()
    assert (job.kind, job.partner, job.reason, job.requested_by) == (JobKind.DEPROVISION, partner_a, "Ended", manager_a)
    event = AuditEvent.objects.get(action=AuditAction.OFFBOARDING_STARTED)
    assert event.actor == manager_a and event.reason == "Ended"


def test_offboard_stays_in_scope_and_needs_the_status_permission(client, manager_b, partner_a):
    signed_in(client, manager_b)
    response = action(
        client,
        "partnerhub_partner_changelist",
        "offboard_partners",
        [partner_a.pk],
        post="yes",
        reason="x",
        follow=True,
    )
    assert any("None of the selected" in str(m) for m in response.context["messages"])
    assert not ProvisioningJob.objects.exists()
    agent = make_staff(StaffRole.SUPPORT_AGENT, username="sam")
    page = signed_in(client, agent).get(url("partnerhub_partner_changelist"))
    assert "offboard_partners" not in page.content.decode()
    assert (
        "offboard_partners" in signed_in(client, manager_b).get(url("partnerhub_partner_changelist")).content.decode()
    )


# Every page: scoped queries, nothing inline --------------------------------------------------------------------


def test_onboarding_console_pages_carry_no_inline_style_or_script(client, partner_ops, partner_a, admin_a):
    application = submit()
    job = make_job(partner_a)
    item = make_item(partner_a)
    agreement = services.agreement_publish(actor=None, title="Program agreement", body=AGREEMENT_TEXT)
    acceptance = services.agreement_accept(actor=admin_a, partner=partner_a, agreement=agreement)
    template = ChecklistTemplate.objects.create(name="Resellers", partner_type="reseller")
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="partner.provisioned", event_id="e", payload={})
    document = services.document_upload(
        actor=admin_a, partner=partner_a, upload=SimpleUploadedFile("w9.pdf", PDF, content_type="application/pdf")
    )
    signed_in(client, partner_ops)
    pages = [
        url("onboarding_partnerapplication_changelist"),
        url("onboarding_partnerapplication_change", application.pk),
        url("onboarding_agreement_changelist"),
        url("onboarding_agreement_add"),
        url("onboarding_agreement_change", agreement.pk),
        url("onboarding_agreementacceptance_changelist"),
        url("onboarding_agreementacceptance_change", acceptance.pk),
        url("onboarding_checklisttemplate_change", template.pk),
        url("onboarding_checklistitem_changelist"),
        url("onboarding_checklistitem_change", item.pk),
        url("onboarding_checklistitem_progress"),
        url("onboarding_provisioningjob_changelist"),
        url("onboarding_provisioningjob_change", job.pk),
        url("onboarding_webhookendpoint_add"),
        url("onboarding_webhookendpoint_change", endpoint.pk),
        url("onboarding_webhookdelivery_changelist"),
        url("onboarding_webhookdelivery_change", delivery.pk),
        url("onboarding_partnerdocument_changelist"),
        url("onboarding_partnerdocument_change", document.pk),
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not INLINE_STYLE.search(response.content), path
        assert not INLINE_SCRIPT.search(response.content), path
        assert b"/static/onboarding/console.css" in response.content, path


@pytest.mark.parametrize(
    "name",
    [
        "onboarding_partnerapplication_changelist",
        "onboarding_checklistitem_changelist",
        "onboarding_agreementacceptance_changelist",
        "onboarding_webhookdelivery_changelist",
    ],
)
def test_changelist_queries_are_constant_as_rows_grow(client, partner_ops, partner_a, admin_a, name):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")

    def grow(n, start=0):
        for i in range(start, start + n):
            submit(company_name=f"Applicant {i:02d}")
            make_item(partner_a, f"step-{i}")
            agreement = services.agreement_publish(actor=None, title="Agreement", body=f"{AGREEMENT_TEXT} {i}")
            services.agreement_accept(actor=admin_a, partner=partner_a, agreement=agreement)
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint, event="partner.provisioned", event_id=f"e{i}", partner=partner_a, payload={}
            )
            WebhookAttempt.objects.create(delivery=delivery, status_code=500)

    signed_in(client, partner_ops)
    grow(3)
    small = queries(client, url(name))
    grow(22, start=3)
    assert queries(client, url(name)) == small


def test_applicant_text_is_escaped_in_paragraphs(client, reviewer):
    application = submit(business_description="<b>Bold claims</b>\nSecond line <script>x</script>")
    services.application_note(actor=reviewer, application=application, message="<i>careful</i>")
    page = signed_in(client, reviewer).get(url("onboarding_partnerapplication_change", application.pk))
    html = page.content.decode()
    assert "<p>&lt;b&gt;Bold claims&lt;/b&gt;<br>Second line &lt;script&gt;x&lt;/script&gt;</p>" in html
    assert "<p>&lt;i&gt;careful&lt;/i&gt;</p>" in html
    assert "<b>Bold claims</b>" not in html and "<i>careful</i>" not in html


# A real browser: live progress of a running job ----------------------------------------------------------------


@pytest.mark.browser
def test_job_page_follows_a_running_job_live_in_a_real_browser(live_server, monkeypatch, django_user_model):
    """Chromium opens a running job's page; as the steps move on in the database, the page's script (polling the
    API with the console session) updates the rows, then reloads once the job is done. No console errors (a CSP
    violation would be one)."""
    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this test's thread
    partner = make_partner("Acme Resellers")
    manager = make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner], username="carla")
    job = make_job(partner, state=JobState.RUNNING)
    steps = list(job.steps.order_by("position"))
    steps[0].state, steps[0].attempts, steps[0].started_at = StepState.RUNNING, 1, timezone.now()
    steps[0].save()
    session = Client()
    session.force_login(manager)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            context = browser.new_context()
            context.add_cookies(
                [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
            )
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live_server.url}{url('onboarding_provisioningjob_change', job.pk)}")
            expect(page.locator("[data-job-live]")).to_have_text("Updating live…")

            # When the first step finishes and the second is retried
            steps[0].state, steps[0].finished_at = StepState.SUCCEEDED, timezone.now()
            steps[0].save()
            steps[1].state, steps[1].attempts, steps[1].last_error = StepState.RETRYING, 2, "TimeoutError: busy"
            steps[1].save()

            # Then the rows follow without a reload
            row = page.locator(f'tr[data-step="{steps[1].name}"]')
            expect(row.locator('[data-field="state"]')).to_have_text("Retrying", timeout=8000)
            expect(row.locator('[data-field="attempts"]')).to_have_text("2")
            expect(row.locator('[data-field="last_error"]')).to_have_text("TimeoutError: busy")
            expect(page.locator("[data-job-count]")).to_have_text(f"1 of {len(steps)} steps done")

            # And when the job is done, the page shows it as the server draws it
            job.steps.update(state=StepState.SUCCEEDED, last_error="")
            ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
            expect(page.locator("[data-job-badge]")).to_have_text("Completed", timeout=10000)
            expect(page.locator("[data-job-count]")).to_have_text(f"{len(steps)} of {len(steps)} steps done")
        finally:
            browser.close()
            # Connections opened while Playwright's loop ran sit in a context-local slot the usual cleanup misses;
            # close them, or the test database cannot be dropped afterwards.
            connections.close_all()
    assert errors == []
