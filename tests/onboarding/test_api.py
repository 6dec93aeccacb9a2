"""The onboarding REST API, role by role: public applications and the review queue, agreements and acceptances,
checklists, provisioning jobs, offboarding and webhooks — with the isolation suite on every partner-owned
endpoint, vendor-side endpoints refusing partner users, bad input refused with nothing saved, list query counts
pinned, and the OpenAPI schema still valid."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from onboarding import provisioning, services
from onboarding.choices import ApplicationStatus, DeliveryState, JobKind, JobState, MessageKind, StepState
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    PartnerApplication,
    ProvisioningJob,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerhub.choices import AuditAction, MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import AuditEvent, Membership, Partner, User
from tests.conftest import client_for
from tests.factories import TierFactory, UserFactory, make_staff
from tests.isolation import MISSING_ID, APIIsolationTests, results, session_client
from tests.onboarding.conftest import APPLICATION

pytestmark = pytest.mark.django_db

AGREEMENT_TEXT = "The partner sells the vendor's products under the program's terms and conditions."


@pytest.fixture(autouse=True)
def sent_mail(monkeypatch):
    """E-mails to applicants and reviewers, recorded instead of rendered and queued."""
    calls = []
    monkeypatch.setattr("onboarding.services.send_email", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setattr("partnerhub.notifications.send_email", lambda **kwargs: calls.append(kwargs))
    return calls


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def admin_of(partner: Partner) -> User:
    return Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN).select_related("user").first().user


def publish(title: str = "Partner program agreement", body: str = AGREEMENT_TEXT) -> Agreement:
    return services.agreement_publish(actor=None, title=title, body=body)


def make_item(partner: Partner, key: str = "training", *, due_in_days: int = 14, **kwargs) -> ChecklistItem:
    return ChecklistItem.objects.create(
        partner=partner,
        key=key,
        title=kwargs.pop("title", f"Step {key}"),
        due_at=timezone.now() + timedelta(days=due_in_days),
        **kwargs,
    )


def make_job(partner: Partner | None, *, state: str = JobState.FAILED, key: str | None = None) -> ProvisioningJob:
    """A job with its registered steps; a failed one has its first step failed."""
    job = ProvisioningJob.objects.create(
        partner=partner,
        kind=JobKind.PROVISION,
        state=state,
        idempotency_key=key or f"test:{partner.pk if partner else 'none'}:{ProvisioningJob.objects.count()}",
        started_at=timezone.now() - timedelta(minutes=2),
        finished_at=timezone.now() if state == JobState.FAILED else None,
        last_error="RuntimeError: CRM timeout" if state == JobState.FAILED else "",
    )
    provisioning.create_steps(job)
    if state == JobState.FAILED:
        step = job.steps.order_by("position").first()
        step.state, step.attempts, step.last_error = StepState.FAILED, 1, "RuntimeError: CRM timeout"
        step.started_at, step.finished_at = timezone.now() - timedelta(minutes=2), timezone.now()
        step.save()
    return job


def errors_of(response) -> dict[str, str]:
    return {e["attr"]: e["code"] for e in response.json()["errors"]}


# Public applications -------------------------------------------------------------------------------------------


def test_anyone_can_apply_and_gets_only_the_status_link(sent_mail):
    # Given nobody signed in
    client = APIClient()

    # When a company applies
    response = client.post("/api/v1/applications/", APPLICATION, format="json", REMOTE_ADDR="198.51.100.20")

    # Then the application is recorded, and the answer holds the status link and nothing internal
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"company_name", "status", "submitted_at", "status_url"}
    assert body["status"] == ApplicationStatus.SUBMITTED
    assert response["Cache-Control"] == "no-store"
    application = PartnerApplication.objects.get()
    token = body["status_url"].rstrip("/").rsplit("/", 1)[1]
    assert services.application_from_status_token(token) == application
    assert application.country == "DE" and application.contact_email == "nora.winter@northwind.example"
    assert application.ip_address == "198.51.100.20"
    assert [m["template"] for m in sent_mail][:1] == ["onboarding/emails/applicant_submitted"]


@pytest.mark.parametrize(
    ("change", "attr", "code"),
    [
        ({"referral_code": "x"}, "referral_code", "unknown_field"),
        ({"status": "approved"}, "status", "unknown_field"),
        ({"company_name": "C" * 201}, "company_name", "max_length"),
        ({"business_description": "d" * 4001}, "business_description", "max_length"),
        ({"country": "Germany"}, "country", "max_length"),
        ({"country": "1X"}, "country", "invalid"),
        ({"partner_type": "internal"}, "partner_type", "invalid_choice"),
        ({"contact_email": "nora-at-northwind"}, "contact_email", "invalid"),
        ({"contact_phone": "<script>"}, "contact_phone", "invalid"),
        ({"website": "javascript:alert(1)"}, "website", "invalid"),
        ({"expected_annual_revenue": "-5"}, "expected_annual_revenue", "min_value"),
        ({"expected_annual_revenue": "lots"}, "expected_annual_revenue", "invalid"),
        ({"expected_deals_per_quarter": 1_000_000}, "expected_deals_per_quarter", "max_value"),
        ({"expected_deals_per_quarter": 2.5}, "expected_deals_per_quarter", "invalid"),
        ({"company_name": "   "}, "company_name", "blank"),
    ],
)
def test_a_bad_application_is_refused_naming_the_field_and_nothing_is_saved(change, attr, code, sent_mail):
    response = APIClient().post("/api/v1/applications/", {**APPLICATION, **change}, format="json")
    assert response.status_code == 400, response.content
    assert errors_of(response).get(attr) == code, response.content
    assert not PartnerApplication.objects.exists()
    assert sent_mail == []


def test_a_missing_required_field_is_named():
    body = {k: v for k, v in APPLICATION.items() if k != "contact_email"}
    response = APIClient().post("/api/v1/applications/", body, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {"contact_email": "required"}


def test_applications_are_throttled_per_client_address(settings, monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache

    from onboarding.api.views import ApplicationSubmitThrottle

    # The counters in a cache of this test's own: the shared Redis is cleared by other test runs at any moment.
    monkeypatch.setattr(ApplicationSubmitThrottle, "cache", LocMemCache("onbapi-throttle", {}))
    settings.ONBOARDING_APPLICATION_RATE = "2/hour"
    client = APIClient()

    def apply(address, **headers):
        body = {**APPLICATION, "company_name": f"Company {PartnerApplication.objects.count()}"}
        return client.post("/api/v1/applications/", body, format="json", REMOTE_ADDR=address, **headers)

    assert apply("203.0.113.1").status_code == 201
    assert apply("203.0.113.1").status_code == 201
    third = apply("203.0.113.1")
    assert third.status_code == 429
    assert third.json()["errors"][0]["code"] == "throttled"
    # A made-up forwarding header does not open a fresh allowance (no proxy is configured to be trusted).
    assert apply("203.0.113.1", HTTP_X_FORWARDED_FOR="192.0.2.77").status_code == 429
    # Another address has its own allowance.
    assert apply("203.0.113.2").status_code == 201
    assert PartnerApplication.objects.count() == 3


# The review queue ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep_a", "admin_a"])
def test_partner_users_cannot_see_the_queue(request, who, application):
    client = client_for(request.getfixturevalue(who))
    listed = client.get("/api/v1/applications/")
    assert listed.status_code == 403
    assert "results" not in listed.json()
    one = client.get(f"/api/v1/applications/{application.pk}/")
    missing = client.get(f"/api/v1/applications/{MISSING_ID}/")
    assert one.status_code == 404 and one.content == missing.content
    for suffix, body in (("approve/", {}), ("reject/", {"reason": "x"}), ("notes/", {"message": "x"})):
        answer = client.post(f"/api/v1/applications/{application.pk}/{suffix}", body, format="json")
        assert answer.status_code == 404, suffix
    assert fresh(application).status == ApplicationStatus.SUBMITTED
    assert not ApplicationMessage.objects.exists()


def test_anonymous_callers_cannot_read_the_queue(application):
    client = APIClient()
    assert client.get("/api/v1/applications/").status_code == 401
    assert client.get(f"/api/v1/applications/{application.pk}/").status_code == 401
    assert client.post(f"/api/v1/applications/{application.pk}/approve/", {}, format="json").status_code == 401
    assert fresh(application).status == ApplicationStatus.SUBMITTED


def test_reviewers_see_the_queue_with_duplicates_and_the_review_clock(reviewer, manager_a, partner_a):
    # Given an application from a company that looks like partner A
    duplicate = services.application_submit(
        data={**APPLICATION, "company_name": "Acme Resellers GmbH", "website": "https://acme-resellers.example"}
    )
    PartnerApplication.objects.filter(pk=duplicate.pk).update(submitted_at=timezone.now() - timedelta(hours=30))

    # When partner A's channel manager reads the queue
    rows = results(client_for(manager_a).get("/api/v1/applications/"))

    # Then the application carries its duplicate flag naming partner A, and its waiting time
    row = next(r for r in rows if r["id"] == duplicate.pk)
    assert row["duplicate_count"] == 1
    assert row["duplicate_flags"] == [
        {
            "kind": "similar_name",
            "object": "partner",
            "id": partner_a.pk,
            "label": partner_a.name,
            "detail": row["duplicate_flags"][0]["detail"],
            "visible": True,
        }
    ]
    assert row["duplicate_flags"][0]["detail"].endswith("% similar")
    assert 30 * 3600 <= row["waiting_seconds"] < 31 * 3600
    assert "messages" not in row  # the thread is on the detail

    # A reviewer who does not manage partner A sees that there is a match, but not whose
    hidden = client_for(reviewer).get(f"/api/v1/applications/{duplicate.pk}/").json()["duplicate_flags"]
    assert hidden == [{**row["duplicate_flags"][0], "id": None, "label": "", "visible": False}]
    listed = results(client_for(reviewer).get("/api/v1/applications/"))
    assert [flag for r in listed for flag in r["duplicate_flags"] if flag["visible"] or flag["label"]] == []


def test_an_approved_application_belongs_to_its_partners_record(reviewer, manager_b, partner_b, partner_ops):
    # Given an application approved into partner B
    application = services.application_submit(data={**APPLICATION, "company_name": "Bolt Subsidiary"})
    PartnerApplication.objects.filter(pk=application.pk).update(status=ApplicationStatus.APPROVED, partner=partner_b)

    # Then partner B's channel manager and vendor-wide staff open it; another reviewer finds nothing
    assert client_for(manager_b).get(f"/api/v1/applications/{application.pk}/").status_code == 200
    assert client_for(partner_ops).get(f"/api/v1/applications/{application.pk}/").status_code == 200
    other = client_for(reviewer)
    answer = other.get(f"/api/v1/applications/{application.pk}/")
    assert answer.status_code == 404 and answer.content == other.get(f"/api/v1/applications/{MISSING_ID}/").content
    assert application.pk not in {r["id"] for r in results(other.get("/api/v1/applications/"))}
    assert other.post(f"/api/v1/applications/{application.pk}/notes/", {"message": "x"}).status_code == 404


def test_queue_filters(reviewer, application):
    services.application_submit(data={**APPLICATION, "company_name": "Contoso", "country": "fr"})
    services.application_reject(actor=reviewer, application=application, reason="Not a fit")
    client = client_for(reviewer)

    def names(**params):
        return {r["company_name"] for r in results(client.get("/api/v1/applications/", params))}

    assert names(status="rejected") == {"Northwind Traders"}
    assert names(open="true") == {"Contoso"}
    assert names(open="false") == {"Northwind Traders"}
    assert names(country="fr") == {"Contoso"}
    assert names(q="traders") == {"Northwind Traders"}
    assert names(q="NORTHWIND.example") == {"Northwind Traders", "Contoso"}  # the contact e-mail domain
    assert names(has_duplicates="false") >= {"Northwind Traders"}
    for bad in ({"status": "bogus"}, {"open": "maybe"}, {"submitted_after": "yesterday"}, {"country": "FRA"}):
        response = client.get("/api/v1/applications/", bad)
        assert response.status_code == 400, bad
        assert errors_of(response).keys() == bad.keys()
    # Offsets PostgreSQL would refuse are read in UTC; one that leaves the calendar in UTC is a 400
    assert names(submitted_before="0258-05-18T15:22:49-19:05") == set()
    assert names(submitted_after="2000-01-01T00:00:00-19:05") >= {"Northwind Traders", "Contoso"}
    response = client.get("/api/v1/applications/", {"submitted_before": "0001-01-01T00:00:00+19:00"})
    assert response.status_code == 400 and errors_of(response) == {"submitted_before": "invalid"}
    assert "date-time" in response.json()["errors"][0]["detail"]


def test_reviewer_works_an_application_through_its_thread(reviewer, application, sent_mail):
    client = client_for(reviewer)
    url = f"/api/v1/applications/{application.pk}/"

    # An internal note, then a question to the applicant
    note = client.post(f"{url}notes/", {"message": "Checked the trade register."}, format="json")
    assert note.status_code == 201
    assert note.json()["internal"] is True and note.json()["author"]["username"] == "riley"
    asked = client.post(f"{url}request-info/", {"message": "Which regions do you cover?"}, format="json")
    assert asked.status_code == 200
    assert asked.json()["status"] == ApplicationStatus.INFO_REQUESTED
    services.application_reply(application=fresh(application), message="DACH and Benelux.")

    # The detail shows the whole thread, internal notes marked
    detail = client.get(url).json()
    assert [(m["kind"], m["internal"]) for m in detail["messages"]] == [
        (MessageKind.NOTE, True),
        (MessageKind.INFO_REQUEST, False),
        (MessageKind.APPLICANT_REPLY, False),
    ]
    assert detail["messages"][2]["author"] is None
    assert detail["status"] == ApplicationStatus.SUBMITTED and detail["job"] is None
    assert any(m["template"] == "onboarding/emails/applicant_info_requested" for m in sent_mail)


def test_reviewer_approves_with_a_tier_and_a_second_decision_is_a_conflict(reviewer, application):
    tier = TierFactory(name="Silver")
    client = client_for(reviewer)
    url = f"/api/v1/applications/{application.pk}/"

    response = client.post(f"{url}approve/", {"tier": tier.pk, "note": "Strong pipeline."}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["application"]["status"] == ApplicationStatus.APPROVED
    assert body["application"]["tier"] == tier.pk and body["application"]["decision_reason"] == "Strong pipeline."
    job = ProvisioningJob.objects.get(application=application)
    assert body["job"]["id"] == job.pk and body["job"]["kind"] == JobKind.PROVISION
    assert [s["name"] for s in body["job"]["steps"]] == [d.name for d in provisioning.steps_for(JobKind.PROVISION)]
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_APPROVED, actor=reviewer).count() == 1
    assert client.get(url).json()["job"] == job.pk

    for suffix, payload in (
        ("approve/", {}),
        ("reject/", {"reason": "Changed my mind"}),
        ("request-info/", {"message": "?"}),
    ):
        again = client.post(f"{url}{suffix}", payload, format="json")
        assert again.status_code == 409, suffix
        assert again.json()["errors"][0]["code"] == "conflict"
        assert "already approved" in again.json()["errors"][0]["detail"]
    assert ProvisioningJob.objects.count() == 1
    assert fresh(application).status == ApplicationStatus.APPROVED


def test_reject_needs_a_reason_which_the_applicant_receives(reviewer, application, sent_mail):
    client = client_for(reviewer)
    url = f"/api/v1/applications/{application.pk}/reject/"
    missing = client.post(url, {}, format="json")
    assert missing.status_code == 400 and errors_of(missing) == {"reason": "required"}
    blank = client.post(url, {"reason": "   "}, format="json")
    assert blank.status_code == 400 and errors_of(blank) == {"reason": "blank"}
    assert fresh(application).status == ApplicationStatus.SUBMITTED

    done = client.post(url, {"reason": "We have enough resellers in this region."}, format="json")

    assert done.status_code == 200
    assert done.json()["status"] == ApplicationStatus.REJECTED
    assert done.json()["decided_by"]["username"] == "riley"
    rejected = [m for m in sent_mail if m["template"] == "onboarding/emails/applicant_rejected"]
    assert rejected and rejected[0]["context"]["reason"] == "We have enough resellers in this region."


def test_staff_who_may_read_but_not_review_are_refused_decisions(application):
    reader = make_staff(None, username="reader")
    assign_perm("onboarding.view_partnerapplication", reader)
    reader = fresh(reader)
    client = client_for(reader)
    assert client.get(f"/api/v1/applications/{application.pk}/").status_code == 200
    for suffix, payload in (
        ("approve/", {}),
        ("reject/", {"reason": "x"}),
        ("request-info/", {"message": "x"}),
        ("notes/", {"message": "x"}),
    ):
        answer = client.post(f"/api/v1/applications/{application.pk}/{suffix}", payload, format="json")
        assert answer.status_code == 403, suffix
    assert fresh(application).status == ApplicationStatus.SUBMITTED
    assert not ApplicationMessage.objects.exists()
    # Staff without the view permission do not even see it
    support = make_staff(StaffRole.SUPPORT_AGENT, username="sam")
    assert client_for(support).get("/api/v1/applications/").status_code == 403
    assert client_for(support).get(f"/api/v1/applications/{application.pk}/").status_code == 404


def test_approve_input_is_checked_before_anything_changes(reviewer, application):
    client = client_for(reviewer)
    url = f"/api/v1/applications/{application.pk}/approve/"
    for payload, attr, code in (
        ({"tier": "gold"}, "tier", "incorrect_type"),
        ({"tier": 0.5}, "tier", "incorrect_type"),
        ({"tier": True}, "tier", "incorrect_type"),
        ({"tier": MISSING_ID}, "tier", "does_not_exist"),
        ({"note": "n" * 2001}, "note", "max_length"),
        ({"notify": False}, "notify", "unknown_field"),
    ):
        response = client.post(url, payload, format="json")
        assert response.status_code == 400, payload
        assert errors_of(response) == {attr: code}, response.content
    assert fresh(application).status == ApplicationStatus.SUBMITTED
    assert not ProvisioningJob.objects.exists()


# Agreements ----------------------------------------------------------------------------------------------------


def test_every_signed_in_user_reads_published_versions(rep_a, admin_b):
    old = publish(body=AGREEMENT_TEXT + " First edition.")
    current = publish(body=AGREEMENT_TEXT + " Second edition.")
    Agreement.objects.create(title="Draft", version=99, body="A draft that is not published yet.")
    for user in (rep_a, admin_b):
        client = client_for(user)
        assert [r["version"] for r in results(client.get("/api/v1/agreements/"))] == [current.version, old.version]
        assert client.get("/api/v1/agreements/current/").json()["id"] == current.pk
        assert client.get(f"/api/v1/agreements/{old.pk}/").json()["sha256"] == old.sha256
    assert APIClient().get("/api/v1/agreements/").status_code == 401


def test_current_is_not_found_before_the_first_version(rep_a):
    response = client_for(rep_a).get("/api/v1/agreements/current/")
    assert response.status_code == 404


def test_partner_operations_publish_versions_through_the_service(partner_ops):
    client = client_for(partner_ops)
    first = client.post("/api/v1/agreements/", {"title": "Program agreement", "body": AGREEMENT_TEXT}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["version"] == 1 and first.json()["published_at"]
    second = client.post(
        "/api/v1/agreements/", {"title": "Program agreement", "body": AGREEMENT_TEXT + " Amended."}, format="json"
    )
    assert second.json()["version"] == 2
    same = client.post(
        "/api/v1/agreements/", {"title": "Program agreement", "body": AGREEMENT_TEXT + " Amended."}, format="json"
    )
    assert same.status_code == 409
    short = client.post("/api/v1/agreements/", {"title": "T", "body": "Too short"}, format="json")
    assert short.status_code == 400 and errors_of(short) == {"body": "invalid"}
    forced = client.post("/api/v1/agreements/", {"title": "T", "body": AGREEMENT_TEXT, "version": 7}, format="json")
    assert forced.status_code == 400 and errors_of(forced) == {"version": "read_only"}
    assert AuditEvent.objects.filter(action=AuditAction.AGREEMENT_PUBLISHED).count() == 2
    assert Agreement.objects.count() == 2
    # Published versions are never edited or deleted, not even by a superuser
    root = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert root.patch(f"/api/v1/agreements/{first.json()['id']}/", {"title": "X"}, format="json").status_code == 405
    assert root.delete(f"/api/v1/agreements/{first.json()['id']}/").status_code == 405
    assert client.patch(f"/api/v1/agreements/{first.json()['id']}/", {"title": "X"}, format="json").status_code == 403
    assert Agreement.objects.get(pk=first.json()["id"]).title == "Program agreement"


@pytest.mark.parametrize("who", ["rep_a", "admin_a", "manager_a"])
def test_only_staff_with_the_add_permission_publish(request, who):
    response = client_for(request.getfixturevalue(who)).post(
        "/api/v1/agreements/", {"title": "Program agreement", "body": AGREEMENT_TEXT}, format="json"
    )
    assert response.status_code == 403
    assert not Agreement.objects.exists()


def test_partner_admin_accepts_the_current_version_once(admin_a, partner_a, checklist_template):
    make_item(partner_a, "agreement", event="agreement.accepted")
    agreement = publish()
    client = client_for(admin_a)
    url = f"/api/v1/agreements/{agreement.pk}/accept/"

    first = client.post(url, {"partner": partner_a.pk}, format="json", HTTP_USER_AGENT="Integration/1.0")
    again = client.post(url, {"partner": partner_a.pk}, format="json")

    assert first.status_code == 201, first.content
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    acceptance = AgreementAcceptance.objects.get()
    assert (acceptance.partner, acceptance.version, acceptance.accepted_by) == (partner_a, 1, admin_a)
    assert acceptance.sha256 == agreement.sha256 and acceptance.user_agent == "Integration/1.0"
    assert first.json()["ip_address"] == "127.0.0.1"
    assert ChecklistItem.objects.get(partner=partner_a, key="agreement").is_done
    assert services.partner_has_accepted_current(partner_a)


def test_an_old_version_cannot_be_accepted(admin_a, partner_a):
    old = publish(body=AGREEMENT_TEXT + " First edition.")
    publish(body=AGREEMENT_TEXT + " Second edition.")
    response = client_for(admin_a).post(
        f"/api/v1/agreements/{old.pk}/accept/", {"partner": partner_a.pk}, format="json"
    )
    assert response.status_code == 409
    assert not AgreementAcceptance.objects.exists()


@pytest.mark.parametrize("who", ["rep_a", "admin_b", "rep_b", "manager_a", "partner_ops"])
def test_acceptance_for_a_partner_outside_ones_admin_rights_reads_like_a_missing_id(request, who, partner_a):
    agreement = publish()
    client = client_for(request.getfixturevalue(who))
    url = f"/api/v1/agreements/{agreement.pk}/accept/"
    answer = client.post(url, {"partner": partner_a.pk}, format="json")
    missing = client.post(url, {"partner": MISSING_ID}, format="json")
    assert answer.status_code == missing.status_code == 400
    assert errors_of(answer) == errors_of(missing) == {"partner": "does_not_exist"}
    assert not AgreementAcceptance.objects.exists()


def test_accept_input_is_checked(admin_a):
    agreement = publish()
    client = client_for(admin_a)
    for payload, attr, code in (
        ({}, "partner", "required"),
        ({"partner": "acme"}, "partner", "incorrect_type"),
        ({"partner": 1.5}, "partner", "incorrect_type"),
        ({"partner": None}, "partner", "null"),
        ({"partner": 1, "signature": "x"}, "signature", "unknown_field"),
    ):
        response = client.post(f"/api/v1/agreements/{agreement.pk}/accept/", payload, format="json")
        assert response.status_code == 400, payload
        assert errors_of(response) == {attr: code}, response.content
    assert client.post(f"/api/v1/agreements/{MISSING_ID}/accept/", {}, format="json").status_code == 404
    assert not AgreementAcceptance.objects.exists()


class TestAgreementAcceptanceIsolation(APIIsolationTests):
    list_url = "/api/v1/acceptances/"
    model = AgreementAcceptance
    detail_methods = ("GET",)  # acceptances are records: never edited or deleted

    def make_object(self, partner):
        agreement = services.current_agreement() or publish()
        return services.agreement_accept(actor=admin_of(partner), partner=partner, agreement=agreement)

    def update_payload(self, obj):
        return {"version": 99, "ip_address": "192.0.2.1"}


def test_acceptance_list_filters(admin_a, partner_a, manager_a):
    first = publish(body=AGREEMENT_TEXT + " First edition.")
    services.agreement_accept(actor=admin_a, partner=partner_a, agreement=first)
    second = publish(body=AGREEMENT_TEXT + " Second edition.")
    services.agreement_accept(actor=admin_a, partner=partner_a, agreement=second)
    client = client_for(manager_a)
    assert [r["version"] for r in results(client.get("/api/v1/acceptances/", {"version": 2}))] == [2]
    assert [r["agreement"] for r in results(client.get("/api/v1/acceptances/", {"agreement": first.pk}))] == [first.pk]
    assert len(results(client.get("/api/v1/acceptances/", {"partner": partner_a.pk}))) == 2
    assert client.get("/api/v1/acceptances/", {"partner": "a"}).status_code == 400


# Checklists ----------------------------------------------------------------------------------------------------


class TestChecklistItemIsolation(APIIsolationTests):
    list_url = "/api/v1/checklist-items/"
    model = ChecklistItem
    detail_methods = ("GET", "PATCH")

    def make_object(self, partner):
        return make_item(partner, "training", title="Complete the first training")

    def update_payload(self, obj):
        return {"done": True}


def test_partner_admin_ticks_an_item_off_and_reopens_it(admin_a, partner_a):
    item = make_item(partner_a)
    client = client_for(admin_a)

    done = client.patch(f"/api/v1/checklist-items/{item.pk}/", {"done": True}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["done"] is True and done.json()["completed_by"]["username"] == "alice"
    assert fresh(item).completed_by == admin_a and not fresh(item).completed_automatically

    reopened = client.patch(f"/api/v1/checklist-items/{item.pk}/", {"done": False}, format="json")
    assert reopened.json()["done"] is False and fresh(item).completed_at is None


def test_items_completed_by_an_event_cannot_be_reopened(admin_a, partner_a):
    item = make_item(partner_a, "tax-form", event="tax_form.uploaded")
    services.checklist_complete_event(partner=partner_a, event="tax_form.uploaded")
    response = client_for(admin_a).patch(f"/api/v1/checklist-items/{item.pk}/", {"done": False}, format="json")
    assert response.status_code == 409
    assert fresh(item).is_done


def test_reps_see_the_checklist_but_cannot_tick_it(rep_a, partner_a):
    item = make_item(partner_a)
    client = client_for(rep_a)
    assert [r["id"] for r in results(client.get("/api/v1/checklist-items/"))] == [item.pk]
    response = client.patch(f"/api/v1/checklist-items/{item.pk}/", {"done": True}, format="json")
    assert response.status_code == 403
    assert fresh(item).completed_at is None


def test_channel_manager_ticks_an_item_of_their_partner(manager_a, partner_a):
    item = make_item(partner_a)
    response = client_for(manager_a).patch(f"/api/v1/checklist-items/{item.pk}/", {"done": True}, format="json")
    assert response.status_code == 200
    assert fresh(item).completed_by == manager_a


def test_checklist_filters_and_bad_input(admin_a, partner_a, partner_b):
    overdue = make_item(partner_a, "overdue", due_in_days=-3)
    open_item = make_item(partner_a, "open")
    done = make_item(partner_a, "done", completed_at=timezone.now())
    make_item(partner_b, "other", due_in_days=-3)
    client = client_for(admin_a)

    def listed(**params):
        return {r["id"] for r in results(client.get("/api/v1/checklist-items/", params))}

    assert listed() == {overdue.pk, open_item.pk, done.pk}
    assert listed(overdue="true") == {overdue.pk}
    assert listed(overdue="false") == {open_item.pk, done.pk}
    assert listed(done="true") == {done.pk}
    assert listed(done="false") == {overdue.pk, open_item.pk}
    assert listed(partner=partner_a.pk) == {overdue.pk, open_item.pk, done.pk}
    assert listed(partner=partner_b.pk) == set()
    for bad in ({"done": "maybe"}, {"overdue": "yes please"}, {"partner": "acme"}, {"partner": "1.5"}):
        assert client.get("/api/v1/checklist-items/", bad).status_code == 400, bad

    url = f"/api/v1/checklist-items/{open_item.pk}/"
    for payload, attr, code in (
        ({}, "done", "invalid"),
        ({"done": "maybe"}, "done", "invalid"),
        ({"title": "Renamed"}, "title", "read_only"),
        ({"done": True, "due_at": "2030-01-01T00:00:00Z"}, "due_at", "read_only"),
        ({"done": True, "colour": "red"}, "colour", "unknown_field"),
    ):
        response = client.patch(url, payload, format="json")
        assert response.status_code == 400, payload
        assert errors_of(response) == {attr: code}, response.content
    assert client.put(url, {"done": True}, format="json").status_code == 405
    assert fresh(open_item).completed_at is None and fresh(open_item).title == "Step open"


# Jobs ----------------------------------------------------------------------------------------------------------


class TestProvisioningJobIsolation(APIIsolationTests):
    list_url = "/api/v1/jobs/"
    model = ProvisioningJob
    detail_methods = ("GET",)
    object_actions = (("POST", "retry/", None, "json"),)

    def make_object(self, partner):
        return make_job(partner)

    def update_payload(self, obj):
        return {"state": "pending"}

    def snapshot(self, obj):
        data = super().snapshot(obj)
        return {**data, "steps": list(obj.steps.order_by("id").values_list("state", "attempts", "last_error"))}


def test_jobs_show_their_steps_for_live_progress(admin_a, partner_a):
    job = make_job(partner_a)
    body = client_for(admin_a).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["state"] == JobState.FAILED and body["partner_name"] == partner_a.name
    assert body["steps_done"] == 0 and body["duration_seconds"] > 100
    first = body["steps"][0]
    assert first["state"] == StepState.FAILED and first["attempts"] == 1
    assert first["last_error"] == "RuntimeError: CRM timeout" and first["duration_seconds"] is not None
    assert [s["position"] for s in body["steps"]] == sorted(s["position"] for s in body["steps"])


def test_reps_do_not_see_jobs(rep_a, partner_a):
    job = make_job(partner_a)
    client = client_for(rep_a)
    assert results(client.get("/api/v1/jobs/")) == []
    assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 404


def test_channel_manager_retries_a_failed_job(manager_a, partner_a, django_capture_on_commit_callbacks, monkeypatch):
    job = make_job(partner_a)
    queued = []
    monkeypatch.setattr("onboarding.tasks.run_provisioning_job.delay", lambda job_id: queued.append(job_id))
    client = client_for(manager_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/jobs/{job.pk}/retry/", format="json")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == JobState.PENDING
    assert response.json()["steps"][0]["state"] == StepState.PENDING
    assert queued == [job.pk]
    again = client.post(f"/api/v1/jobs/{job.pk}/retry/", format="json")
    assert again.status_code == 409
    assert "Only failed jobs" in again.json()["errors"][0]["detail"]
    with_body = client.post(f"/api/v1/jobs/{job.pk}/retry/", {"force": True}, format="json")
    assert with_body.status_code == 400 and errors_of(with_body) == {"force": "unknown_field"}


def test_partner_admins_see_their_job_but_cannot_retry_it(admin_a, partner_a):
    job = make_job(partner_a)
    response = client_for(admin_a).post(f"/api/v1/jobs/{job.pk}/retry/", format="json")
    assert response.status_code == 403
    assert fresh(job).state == JobState.FAILED


def test_a_job_without_its_partner_yet_is_reached_through_its_application(
    partner_ops, manager_a, manager_b, application, reviewer, partner_b, admin_a
):
    job = services.application_approve(actor=reviewer, application=application)
    assert job.partner_id is None
    for staff in (partner_ops, reviewer, manager_a):
        assert job.pk in {r["id"] for r in results(client_for(staff).get("/api/v1/jobs/"))}, staff
    assert results(client_for(partner_ops).get("/api/v1/jobs/", {"application": application.pk}))[0]["id"] == job.pk
    assert job.pk not in {r["id"] for r in results(client_for(admin_a).get("/api/v1/jobs/"))}
    # Once the job has made the application part of partner B, only staff who see partner B reach it
    PartnerApplication.objects.filter(pk=application.pk).update(partner=partner_b)
    ProvisioningJob.objects.filter(pk=job.pk).update(partner=partner_b)
    assert client_for(manager_a).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert client_for(manager_b).get(f"/api/v1/jobs/{job.pk}/").status_code == 200


def test_job_filters(partner_ops, partner_a):
    failed = make_job(partner_a)
    pending = make_job(partner_a, state=JobState.PENDING)
    client = client_for(partner_ops)
    assert {r["id"] for r in results(client.get("/api/v1/jobs/", {"state": "failed"}))} == {failed.pk}
    assert {r["id"] for r in results(client.get("/api/v1/jobs/", {"partner": partner_a.pk}))} == {failed.pk, pending.pk}
    assert client.get("/api/v1/jobs/", {"state": "exploded"}).status_code == 400
    assert client.get("/api/v1/jobs/", {"partner": "x"}).status_code == 400


# Offboarding ---------------------------------------------------------------------------------------------------


def test_channel_manager_offboards_their_partner(manager_a, partner_a, admin_a):
    client = client_for(manager_a)
    response = client.post("/api/v1/offboarding/", {"partner": partner_a.pk, "reason": "Contract ended"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == JobKind.DEPROVISION and body["partner"] == partner_a.pk
    assert body["reason"] == "Contract ended" and body["requested_by"] == manager_a.display_name
    assert [s["name"] for s in body["steps"]] == [d.name for d in provisioning.steps_for(JobKind.DEPROVISION)]
    event = AuditEvent.objects.get(action=AuditAction.OFFBOARDING_STARTED)
    assert event.partner == partner_a and event.reason == "Contract ended" and event.actor == manager_a
    # While the job runs, asking again answers with the same job.
    again = client.post("/api/v1/offboarding/", {"partner": partner_a.pk, "reason": "Again"}, format="json")
    assert again.json()["id"] == body["id"]
    assert ProvisioningJob.objects.filter(kind=JobKind.DEPROVISION).count() == 1


def test_offboarding_an_offboarded_partner_is_a_conflict(partner_ops, partner_a):
    services.partner_offboard(actor=None, partner=partner_a, reason="x")
    ProvisioningJob.objects.update(state=JobState.SUCCEEDED)
    Partner.objects.filter(pk=partner_a.pk).update(status=PartnerStatus.OFFBOARDED)
    response = client_for(partner_ops).post(
        "/api/v1/offboarding/", {"partner": partner_a.pk, "reason": "Again"}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize("who", ["rep_a", "admin_a", "rep_b", "admin_b"])
def test_partner_users_cannot_offboard(request, who, partner_a, partner_b):
    client = client_for(request.getfixturevalue(who))
    for partner in (partner_a, partner_b):
        response = client.post("/api/v1/offboarding/", {"partner": partner.pk, "reason": "x"}, format="json")
        assert response.status_code == 403
    assert not ProvisioningJob.objects.exists()
    assert APIClient().post("/api/v1/offboarding/", {"partner": partner_a.pk, "reason": "x"}).status_code == 401


def test_offboarding_another_managers_partner_reads_like_a_missing_id(manager_b, partner_a):
    client = client_for(manager_b)
    answer = client.post("/api/v1/offboarding/", {"partner": partner_a.pk, "reason": "x"}, format="json")
    missing = client.post("/api/v1/offboarding/", {"partner": MISSING_ID, "reason": "x"}, format="json")
    assert answer.status_code == missing.status_code == 400
    assert answer.json()["errors"][0]["detail"].replace(str(partner_a.pk), "ID") == missing.json()["errors"][0][
        "detail"
    ].replace(str(MISSING_ID), "ID")
    assert not ProvisioningJob.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.OFFBOARDING_STARTED).exists()


def test_offboarding_input_is_checked(manager_a, partner_a):
    client = client_for(manager_a)
    for payload, attr, code in (
        ({"partner": partner_a.pk}, "reason", "required"),
        ({"partner": partner_a.pk, "reason": "  "}, "reason", "blank"),
        ({"partner": partner_a.pk, "reason": "r" * 501}, "reason", "max_length"),
        ({"partner": "acme", "reason": "x"}, "partner", "incorrect_type"),
        ({"partner": partner_a.pk, "reason": "x", "notify": True}, "notify", "unknown_field"),
    ):
        response = client.post("/api/v1/offboarding/", payload, format="json")
        assert response.status_code == 400, payload
        assert errors_of(response) == {attr: code}, response.content
    assert not ProvisioningJob.objects.exists()
    assert client.get("/api/v1/offboarding/").status_code == 405


# Webhooks ------------------------------------------------------------------------------------------------------


def test_partner_operations_manage_endpoints_and_see_the_secret_once(partner_ops):
    client = client_for(partner_ops)
    created = client.post(
        "/api/v1/webhook-endpoints/",
        {"name": "CRM", "url": "https://crm.example/hooks", "events": ["partner.provisioned", "partner.provisioned"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    assert created.json()["secret"] == endpoint.secret and endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["partner.provisioned"]

    shown = client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/").json()
    assert "secret" not in shown and shown["secret_hint"] == f"whsec_…{endpoint.secret[-4:]}"
    assert all("secret" not in row for row in results(client.get("/api/v1/webhook-endpoints/")))
    assert endpoint.secret not in client.get("/api/v1/webhook-endpoints/").content.decode()

    changed = client.patch(f"/api/v1/webhook-endpoints/{endpoint.pk}/", {"is_active": False}, format="json")
    assert changed.status_code == 200 and "secret" not in changed.json()
    assert fresh(endpoint).is_active is False
    assert (
        client.patch(f"/api/v1/webhook-endpoints/{endpoint.pk}/", {"secret": "mine"}, format="json").status_code == 400
    )
    assert fresh(endpoint).secret == endpoint.secret
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_endpoint_input_is_checked(partner_ops):
    client = client_for(partner_ops)
    for payload, attr, code in (
        ({"name": "CRM", "url": "ftp://crm.example/"}, "url", "invalid"),
        ({"name": "CRM", "url": "https://crm.example/" + "p" * 500}, "url", "max_length"),
        ({"name": "C" * 121, "url": "https://crm.example/"}, "name", "max_length"),
        ({"name": "CRM", "url": "https://crm.example/", "events": ["Partner Provisioned"]}, "events", "invalid"),
        ({"name": "CRM", "url": "https://crm.example/", "events": "partner.provisioned"}, "events", "not_a_list"),
        ({"name": "CRM", "url": "https://crm.example/", "events": ["a.b"] * 21}, "events", "max_length"),
        ({"name": "CRM", "url": "https://crm.example/", "secret": "whsec_mine"}, "secret", "read_only"),
        ({"name": "CRM", "url": "https://crm.example/", "headers": {}}, "headers", "unknown_field"),
    ):
        response = client.post("/api/v1/webhook-endpoints/", payload, format="json")
        assert response.status_code == 400, payload
        named = {(name.split(".")[0], error) for name, error in errors_of(response).items()}
        assert (attr, code) in named, response.content
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_shows_every_attempt(partner_ops, partner_a):
    endpoint = WebhookEndpoint.objects.create(name="ERP", url="https://erp.example/hook")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="partner.provisioned",
        event_id="job-1-partner.provisioned",
        partner=partner_a,
        payload={"event": "partner.provisioned"},
        state=DeliveryState.DELIVERED,
        attempts=2,
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=503, error="", duration_ms=40)
    WebhookAttempt.objects.create(delivery=delivery, status_code=200, error="", duration_ms=35)
    client = client_for(partner_ops)
    row = results(client.get("/api/v1/webhook-deliveries/", {"state": "delivered"}))[0]
    assert row["endpoint_name"] == "ERP" and row["partner"] == partner_a.pk
    assert [a["status_code"] for a in row["attempt_log"]] == [503, 200]
    assert client.get(f"/api/v1/webhook-deliveries/{delivery.pk}/").json()["attempts"] == 2
    assert results(client.get("/api/v1/webhook-deliveries/", {"endpoint": endpoint.pk + 1})) == []
    assert client.get("/api/v1/webhook-deliveries/", {"state": "lost"}).status_code == 400
    assert client.delete(f"/api/v1/webhook-deliveries/{delivery.pk}/").status_code == 403  # a log is never edited
    root = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert root.delete(f"/api/v1/webhook-deliveries/{delivery.pk}/").status_code == 405
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()


# Vendor-side endpoints refuse partner users --------------------------------------------------------------------

VENDOR_SIDE = ("/api/v1/applications/", "/api/v1/webhook-endpoints/", "/api/v1/webhook-deliveries/")


@pytest.fixture
def vendor_rows(application, partner_a):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="partner.provisioned", event_id="e1", partner=partner_a, payload={}
    )
    return {
        "/api/v1/applications/": application.pk,
        "/api/v1/webhook-endpoints/": endpoint.pk,
        "/api/v1/webhook-deliveries/": delivery.pk,
    }


@pytest.mark.parametrize("who", ["rep_a", "admin_a", "admin_b"])
@pytest.mark.parametrize("auth", ["token", "session"])
def test_vendor_side_endpoints_refuse_partner_users(request, who, auth, vendor_rows):
    user = request.getfixturevalue(who)
    client = client_for(user) if auth == "token" else session_client(user)
    for url, pk in vendor_rows.items():
        listed = client.get(url)
        assert listed.status_code == 403, url
        assert "results" not in listed.json()
        one = client.get(f"{url}{pk}/")
        assert one.status_code in (403, 404), url
        assert one.content == client.get(f"{url}{MISSING_ID}/").content
    created = client.post("/api/v1/webhook-endpoints/", {"name": "Mine", "url": "https://x.example/"}, format="json")
    assert created.status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_channel_managers_have_no_webhook_access(manager_a, vendor_rows):
    client = client_for(manager_a)
    assert client.get("/api/v1/webhook-endpoints/").status_code == 403
    assert client.get("/api/v1/webhook-deliveries/").status_code == 403
    assert client.get("/api/v1/applications/").status_code == 200  # they review applications


def test_stray_global_permissions_do_not_open_vendor_side_data_to_partner_users(partner_b, admin_b, vendor_rows):
    for perm in (
        "onboarding.view_partnerapplication",
        "onboarding.review_partnerapplication",
        "onboarding.view_webhookendpoint",
        "onboarding.add_webhookendpoint",
        "onboarding.view_webhookdelivery",
    ):
        assign_perm(perm, partner_b.admins_group)
        assign_perm(perm, admin_b)
    client = client_for(fresh(admin_b))
    for url in VENDOR_SIDE:
        assert client.get(url).status_code == 403, url
    assert client.get(f"/api/v1/applications/{vendor_rows['/api/v1/applications/']}/").status_code == 404


# Query counts --------------------------------------------------------------------------------------------------


def _applications(request, n):
    for i in range(n):
        services.application_submit(data={**APPLICATION, "company_name": f"Applicant {i:02d}"})
    return request.getfixturevalue("reviewer"), n


def _acceptances(request, n, who="admin_a"):
    partner, admin = request.getfixturevalue("partner_a"), request.getfixturevalue("admin_a")
    for i in range(n):
        agreement = publish(body=f"{AGREEMENT_TEXT} Edition {i}.")
        services.agreement_accept(actor=admin, partner=partner, agreement=agreement)
    return request.getfixturevalue(who), n


def _items(request, n, who="admin_a"):
    partner, admin = request.getfixturevalue("partner_a"), request.getfixturevalue("admin_a")
    for i in range(n):
        make_item(partner, f"step-{i}", completed_at=timezone.now() if i % 2 else None, completed_by=admin)
    return request.getfixturevalue(who), n


def _jobs(request, n, who="admin_a"):
    partner = request.getfixturevalue("partner_a")
    for _ in range(n):
        make_job(partner)
    return request.getfixturevalue(who), n


def _agreements(request, n):
    for i in range(n):
        publish(body=f"{AGREEMENT_TEXT} Edition {i}.")
    return request.getfixturevalue("rep_a"), n


def _endpoints(request, n):
    for i in range(n):
        WebhookEndpoint.objects.create(name=f"System {i}", url=f"https://s{i}.example/hook")
    return request.getfixturevalue("partner_ops"), n


def _deliveries(request, n):
    partner = request.getfixturevalue("partner_a")
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    for i in range(n):
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event="partner.provisioned", event_id=f"e{i}", partner=partner, payload={"i": i}
        )
        WebhookAttempt.objects.create(delivery=delivery, status_code=500)
        WebhookAttempt.objects.create(delivery=delivery, status_code=200)
    return request.getfixturevalue("partner_ops"), n


# Per request: the key (1) and knox's sweep of expired keys (1); for partner users the "may this person still
# sign in" check (1), for vendor staff their permissions (user + groups, 2); then the page (1, relations joined)
# and one query per nested list (steps, attempts). Partner users' scopes are subqueries of the page query;
# staff views of vendor-side data check the model permission once more for the list (cached after the first).
LISTS = {
    # + which of the applications named in the page's duplicate flags the reviewer may open (1)
    "applications as a reviewer": ("/api/v1/applications/", _applications, 6),
    "acceptances as a partner admin": ("/api/v1/acceptances/", _acceptances, 4),
    "acceptances as a channel manager": ("/api/v1/acceptances/", lambda r, n: _acceptances(r, n, "manager_a"), 5),
    "checklist items as a partner admin": ("/api/v1/checklist-items/", _items, 4),
    "checklist items as a channel manager": ("/api/v1/checklist-items/", lambda r, n: _items(r, n, "manager_a"), 5),
    "jobs as a partner admin": ("/api/v1/jobs/", _jobs, 5),
    "jobs as partner operations": ("/api/v1/jobs/", lambda r, n: _jobs(r, n, "partner_ops"), 6),
    "agreements as a rep": ("/api/v1/agreements/", _agreements, 4),
    "webhook endpoints": ("/api/v1/webhook-endpoints/", _endpoints, 5),
    "webhook deliveries": ("/api/v1/webhook-deliveries/", _deliveries, 6),
}


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("name", list(LISTS))
def test_list_query_count_is_pinned_and_flat(request, django_assert_num_queries, name, rows):
    url, setup, queries = LISTS[name]
    who, expected = setup(request, rows)
    client = client_for(who)
    assert client.get(url).status_code == 200  # the key's first use is stamped once; measure after it
    with django_assert_num_queries(queries):
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


# Schema --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_schema_validates_and_covers_the_onboarding_api(schema):
    paths = schema["paths"]
    assert {
        "/api/v1/applications/",
        "/api/v1/applications/{id}/",
        "/api/v1/applications/{id}/approve/",
        "/api/v1/applications/{id}/reject/",
        "/api/v1/applications/{id}/request-info/",
        "/api/v1/applications/{id}/notes/",
        "/api/v1/agreements/",
        "/api/v1/agreements/current/",
        "/api/v1/agreements/{id}/accept/",
        "/api/v1/acceptances/",
        "/api/v1/checklist-items/{id}/",
        "/api/v1/jobs/{id}/retry/",
        "/api/v1/offboarding/",
        "/api/v1/webhook-endpoints/{id}/",
        "/api/v1/webhook-deliveries/{id}/",
    } <= set(paths)
    assert set(paths["/api/v1/checklist-items/{id}/"]) == {"get", "patch"}
    assert set(paths["/api/v1/agreements/{id}/"]) == {"get"}
    assert "secret" not in schema["components"]["schemas"]["WebhookEndpoint"]["properties"]
    assert schema["components"]["schemas"]["WebhookEndpointCreate"]["properties"]["secret"]["readOnly"] is True
    submit = paths["/api/v1/applications/"]["post"]
    assert {"201", "400", "429"} <= set(submit["responses"])
    assert "internal" not in schema["components"]["schemas"]["ApplicantPartnerTypeEnum"]["enum"]
    for path, method in (
        ("/api/v1/applications/{id}/approve/", "post"),
        ("/api/v1/applications/{id}/reject/", "post"),
        ("/api/v1/agreements/{id}/accept/", "post"),
        ("/api/v1/jobs/{id}/retry/", "post"),
        ("/api/v1/offboarding/", "post"),
        ("/api/v1/checklist-items/{id}/", "patch"),
    ):
        assert "409" in paths[path][method]["responses"], (path, method)
