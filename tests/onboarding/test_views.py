"""The onboarding pages: the public application form and status page, the vendor review queue and job pages, the
agreement gate and the partner's onboarding page — who may do what, and what each bad input answers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from onboarding import services
from onboarding.choices import ApplicationStatus, JobState, MessageKind, StepState
from onboarding.forms import FORM_TOKEN_SALT
from onboarding.models import (
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    IntegrationCredential,
    PartnerApplication,
    PartnerDocument,
    ProvisioningJob,
)
from onboarding.secrets_box import seal
from partnerhub.choices import StaffRole
from partnerhub.models import Partner, User
from tests.factories import TierFactory, make_staff
from tests.onboarding.conftest import APPLICATION

pytestmark = pytest.mark.django_db

AGREEMENT_TEXT = (
    "1. The partner sells the vendor's products.\n2. The vendor supports the partner.\n3. Both keep data safe."
)


def client_as(user, **defaults) -> Client:
    client = Client(**defaults)
    client.force_login(user)
    return client


def token_issued(seconds_ago: float = 30) -> str:
    return signing.dumps({"t": timezone.now().timestamp() - seconds_ago}, salt=FORM_TOKEN_SALT)


def form_data(**overrides) -> dict:
    data = {key: str(value) for key, value in APPLICATION.items()}
    data.update({"country": "DE", "fax_number": "", "issued": token_issued()})
    data.update(overrides)
    return data


def staff_with(*codenames: str, username: str) -> User:
    """Vendor staff holding exactly these onboarding permissions."""
    user = make_staff(None, username=username)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="onboarding", codename__in=codenames))
    return User.objects.get(pk=user.pk)


def approve(application, reviewer, capture, **kwargs) -> ProvisioningJob:
    with capture(execute=True):
        job = services.application_approve(actor=reviewer, application=application, **kwargs)
    job.refresh_from_db()
    return job


# The public application form -----------------------------------------------------------------------------------


def test_the_form_is_vendor_branded_with_its_spam_traps_hidden_from_people(client):
    response = client.get("/apply/")
    assert response.status_code == 200
    text = response.text
    assert "<title>Become a partner · PartnerHub</title>" in text
    assert '<option value="DE">Germany</option>' in text
    assert 'value="internal"' not in text
    # The honeypot is labelled for bots but hidden from people and screen readers, and out of the tab order.
    honeypot = re.search(r'<div class="hp-field" aria-hidden="true">(.*?)</div>', text, re.S).group(1)
    assert "Fax number" in honeypot and 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    token = re.search(r'name="issued" value="([^"]+)"', text).group(1)
    assert signing.loads(token, salt=FORM_TOKEN_SALT, max_age=60)
    assert response["Cache-Control"].startswith("max-age=0")  # the signed timestamp must not be cached


def test_a_complete_application_is_saved_and_confirmed_with_its_status_link(
    client, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/apply/", form_data(), REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302 and response["Location"] == "/apply/received/"
    application = PartnerApplication.objects.get()
    assert application.company_name == "Northwind Traders" and application.country == "DE"
    assert application.contact_email == "nora.winter@northwind.example"
    assert application.ip_address == "198.51.100.4" and application.parent is None
    # The confirmation page (reloading it never submits again) shows a status link, as the e-mail does.
    confirmation = client.get(response["Location"])
    assert confirmation.status_code == 200
    applicant_mail = next(m for m in mail.outbox if application.contact_email in m.to)
    link = re.compile(r"http://[^\s\"<]+/apply/status/([^/\s\"<]+)/")
    for text in (confirmation.text, applicant_mail.body):
        token = link.search(text).group(1)
        assert services.application_from_status_token(token) == application
    assert any(reviewer.email in m.to for m in mail.outbox)
    assert PartnerApplication.objects.count() == 1


def test_the_confirmation_page_without_a_submission_goes_back_to_the_form(client):
    response = client.get("/apply/received/")
    assert response.status_code == 302 and response["Location"] == "/apply/"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("company_name", "", "This field is required."),
        ("contact_email", "nora-at-northwind", "Enter a valid email address."),
        ("website", "not a website", "Enter a valid URL."),
        ("country", "XX", "Select a valid choice."),
        ("partner_type", "internal", "Select a valid choice."),
        ("expected_annual_revenue", "-5", "greater than or equal to 0"),
        ("expected_annual_revenue", "lots", "Enter a number."),
        ("expected_deals_per_quarter", "100001", "less than or equal to 100000"),
        ("business_description", "", "This field is required."),
        ("business_description", "x" * 4001, "at most 4000 characters"),
    ],
)
def test_each_bad_field_is_a_form_error_with_status_400_and_nothing_is_saved(client, field, value, message):
    response = client.post("/apply/", form_data(**{field: value}))
    assert response.status_code == 400
    assert message in response.text
    assert f'href="#id_{field}"' in response.text  # the error summary links to the field
    assert not PartnerApplication.objects.exists()


def test_the_honeypot_refuses_the_submission(client):
    response = client.post("/apply/", form_data(fax_number="+1 555 0100"))
    assert response.status_code == 400
    assert "If you are a person, reload the page and send it again." in response.text
    assert not PartnerApplication.objects.exists()


def test_a_submission_faster_than_a_person_is_refused_kindly(client):
    form = client.get("/apply/")
    fresh = re.search(r'name="issued" value="([^"]+)"', form.text).group(1)
    response = client.post("/apply/", form_data(issued=fresh))
    assert response.status_code == 400
    assert "quicker than we expect anyone to fill in this form" in response.text
    assert not PartnerApplication.objects.exists()


def test_a_day_old_form_is_refused_and_handed_out_again(client, monkeypatch):
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 25 * 3600)
    stale = token_issued(0)
    monkeypatch.setattr(signing.time, "time", real_time)
    response = client.post("/apply/", form_data(issued=stale))
    assert response.status_code == 400
    assert "open for more than a day" in response.text
    fresh = re.search(r'name="issued" value="([^"]+)"', response.text).group(1)
    assert fresh != stale and signing.loads(fresh, salt=FORM_TOKEN_SALT, max_age=60)
    assert response.context["form"]["company_name"].value() == "Northwind Traders"  # what they typed is kept
    assert not PartnerApplication.objects.exists()


@pytest.fixture
def private_cache(settings):
    """Rate-limit counters in a cache of this test's own: other test runs clear the shared Redis at any moment."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "onbui"}}


def test_more_than_five_applications_an_hour_from_one_address_answer_429(client, private_cache):
    for n in range(5):
        response = client.post("/apply/", form_data(company_name=f"Company {n}"), REMOTE_ADDR="203.0.113.50")
        assert response.status_code == 302
    blocked = client.post("/apply/", form_data(company_name="Company 6"), REMOTE_ADDR="203.0.113.50")
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "3600"
    assert "Please wait a little" in blocked.text
    assert PartnerApplication.objects.count() == 5
    # Another address is not affected.
    other = client.post("/apply/", form_data(company_name="Company 7"), REMOTE_ADDR="203.0.113.51")
    assert other.status_code == 302
    assert PartnerApplication.objects.count() == 6


def test_caught_spam_counts_toward_the_limit(client, private_cache):
    for _ in range(5):
        assert client.post("/apply/", form_data(fax_number="spam"), REMOTE_ADDR="203.0.113.60").status_code == 400
    assert client.post("/apply/", form_data(), REMOTE_ADDR="203.0.113.60").status_code == 429
    assert not PartnerApplication.objects.exists()


def test_on_a_distributors_host_the_form_is_in_its_brand_and_files_the_application_under_it(partner_b):
    from partnerhub import services as core

    core.brand_update(actor=None, brand=partner_b.brand, display_name="Bolt Channel", primary_color="#6d28d9")
    host = f"{partner_b.brand.subdomain}.localhost"
    client = Client(HTTP_HOST=host)
    page = client.get("/apply/")
    assert page.status_code == 200
    assert "<title>Become a partner · Bolt Channel</title>" in page.text
    assert "Sell with Bolt Channel" in page.text
    assert "--brand-primary:#6d28d9" in page.text
    response = client.post("/apply/", form_data())
    assert response.status_code == 302
    application = PartnerApplication.objects.get()
    assert application.parent == partner_b
    confirmation = client.get("/apply/received/")
    assert "Bolt Channel" in confirmation.text


def test_a_reseller_host_shows_the_vendor_form_without_a_parent(partner_a):
    client = Client(HTTP_HOST=f"{partner_a.brand.subdomain}.localhost")
    assert "<title>Become a partner · PartnerHub</title>" in client.get("/apply/").text
    assert client.post("/apply/", form_data()).status_code == 302
    assert PartnerApplication.objects.get().parent is None


# The applicant's status page -----------------------------------------------------------------------------------


def status_path(application) -> str:
    return f"/apply/status/{services.status_token(application)}/"


@pytest.mark.parametrize("token", ["nonsense", "eyJhIjoxfQ:1tXyZ:abc"])
def test_an_invalid_status_link_is_a_404_page_that_says_so(client, token):
    response = client.get(f"/apply/status/{token}/")
    assert response.status_code == 404
    assert "This status link does not work" in response.text
    assert "use the link from your confirmation e-mail" in response.text


def test_a_link_for_a_deleted_application_no_longer_works(client, application):
    path = status_path(application)
    application.delete()
    assert client.get(path).status_code == 404


def test_the_status_page_shows_the_summary_timeline_and_clock_but_never_internal_notes(client, application, reviewer):
    PartnerApplication.objects.filter(pk=application.pk).update(submitted_at=timezone.now() - timedelta(days=2))
    services.application_note(actor=reviewer, application=application, message="Secret: check their credit rating")
    response = client.get(status_path(application))
    assert response.status_code == 200
    text = response.text
    assert "Northwind Traders" in text and "Germany" in text and "Head of Alliances" in text
    assert "Application submitted" in text
    assert "Waiting for 2\xa0days" in text
    assert "credit rating" not in text and "Internal note" not in text
    assert '<meta name="robots" content="noindex">' in text
    assert "no-store" in response["Cache-Control"]


def test_the_applicant_answers_a_question_and_the_application_returns_to_the_queue(client, application, reviewer):
    services.application_request_info(actor=reviewer, application=application, message="Which regions do you cover?")
    path = status_path(application)
    page = client.get(path)
    assert "Which regions do you cover?" in page.text and "Send answer" in page.text

    empty = client.post(path, {"message": "  "})
    assert empty.status_code == 400
    assert "This field is required." in empty.text
    assert not ApplicationMessage.objects.filter(kind=MessageKind.APPLICANT_REPLY).exists()

    response = client.post(path, {"message": "DACH and the Nordics."})
    assert response.status_code == 302 and response["Location"] == path
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    reply = ApplicationMessage.objects.get(kind=MessageKind.APPLICANT_REPLY)
    assert reply.body == "DACH and the Nordics." and reply.author is None
    after = client.get(path)
    assert "You replied" in after.text and "Thank you — your answer is with our partner team." in after.text
    assert "Send answer" not in after.text


def test_a_decided_application_takes_no_more_replies(client, application, reviewer):
    services.application_reject(actor=reviewer, application=application, reason="We have enough partners in DACH.")
    path = status_path(application)
    page = client.get(path)
    assert "We have enough partners in DACH." in page.text
    response = client.post(path, {"message": "Please reconsider"})
    assert response.status_code == 409
    assert "already rejected" in response.text
    assert not ApplicationMessage.objects.filter(kind=MessageKind.APPLICANT_REPLY).exists()


def test_while_provisioning_runs_the_page_polls_a_progress_fragment(client, application, reviewer):
    # Approved, but the job has not run yet (its task waits for the commit that never comes in this test).
    job = services.application_approve(actor=reviewer, application=application)
    path = status_path(application)
    page = client.get(path)
    assert "Setting up your partner portal" in page.text
    assert f'hx-get="{path}"' in page.text and 'hx-trigger="every 1.5s"' in page.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page.text  # works without JS

    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    job.steps.filter(position=job.steps.order_by("position").first().position).update(state=StepState.SUCCEEDED)
    fragment = client.get(path, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and fragment["X-Portal-Fragment"] == "1"
    assert "<html" not in fragment.text
    assert f"1 of {job.steps.count()} steps done" in fragment.text
    assert 'hx-trigger="every 1.5s"' in fragment.text


def test_once_provisioned_the_page_says_to_check_the_invitation_and_links_the_portal(
    client, application, reviewer, checklist_template, django_capture_on_commit_callbacks
):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    assert job.state == JobState.SUCCEEDED
    response = client.get(status_path(application), HTTP_HX_REQUEST="true")
    assert "Your partner portal is ready" in response.text
    assert "We sent an invitation to nora.winter@northwind.example" in response.text
    from partnerhub import services as core

    sign_in = core.portal_base_url(job.partner) + "/accounts/login/"
    assert sign_in.startswith("http") and f'href="{sign_in}"' in response.text  # the new partner's own portal
    assert "hx-trigger" not in response.text  # polling stops
    page = client.get(status_path(application))
    assert "Partner portal ready" in page.text


# The review queue ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review/", "/review/1/", "/review/jobs/1/"])
def test_visitors_are_sent_to_the_console_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/console/login/?next={path}"


@pytest.mark.parametrize("path", ["/review/", "/review/{pk}/"])
def test_partner_users_and_staff_without_the_permission_are_refused(admin_a, rep_a, application, path):
    nobody = make_staff(None, username="stafferina")
    path = path.format(pk=application.pk)
    for user in (admin_a, rep_a, nobody):
        response = client_as(user).get(path)
        assert response.status_code == 403
        assert "for vendor staff who review partner applications" in response.text
        assert "Northwind" not in response.text


def test_the_queue_lists_open_applications_longest_waiting_first_with_the_clock(reviewer):
    old = services.application_submit(
        data={**APPLICATION, "company_name": "Oldest Ltd", "website": "https://oldest.example"}
    )
    mid = services.application_submit(
        data={**APPLICATION, "company_name": "Middle GmbH", "website": "https://middle.example"}
    )
    new = services.application_submit(
        data={**APPLICATION, "company_name": "Newest SA", "website": "https://newest.example"}
    )
    done = services.application_submit(
        data={**APPLICATION, "company_name": "Decided Inc", "website": "https://decided.example"}
    )
    services.application_reject(actor=reviewer, application=done, reason="No.")
    now = timezone.now()
    PartnerApplication.objects.filter(pk=old.pk).update(submitted_at=now - timedelta(days=9))
    PartnerApplication.objects.filter(pk=mid.pk).update(submitted_at=now - timedelta(hours=30))
    PartnerApplication.objects.filter(pk=new.pk).update(submitted_at=now - timedelta(minutes=5))

    response = client_as(reviewer).get("/review/")
    assert response.status_code == 200
    rows = [row["application"].company_name for row in response.context["rows"]]
    assert rows == ["Oldest Ltd", "Middle GmbH", "Newest SA"]
    text = response.text
    assert "Decided Inc" not in text
    assert "clock--late" in text and "1\xa0week" in text  # more than 2 business days: red
    assert response.context["rows"][2]["clock"]["level"] == "ok"
    assert response.context["counts"] == {"open": 3, "waiting_for_us": 3, "waiting_for_applicant": 0}


def test_the_queue_filters_by_status_type_country_and_search(reviewer):
    services.application_submit(
        data={**APPLICATION, "company_name": "Alpha Resell", "website": "https://alpha.example"}
    )
    services.application_submit(
        data={
            **APPLICATION,
            "company_name": "Beta Distribution",
            "website": "https://beta.example",
            "partner_type": "distributor",
            "country": "fr",
        }
    )
    gamma = services.application_submit(
        data={**APPLICATION, "company_name": "Gamma", "website": "https://gamma.example"}
    )
    services.application_reject(actor=reviewer, application=gamma, reason="Not now.")
    client = client_as(reviewer)

    def names(**params):
        response = client.get("/review/", params)
        assert response.status_code == 200
        return sorted(row["application"].company_name for row in response.context["rows"])

    assert names() == ["Alpha Resell", "Beta Distribution"]
    assert names(partner_type="distributor") == ["Beta Distribution"]
    assert names(country="FR") == ["Beta Distribution"]
    assert names(find="alpha") == ["Alpha Resell"]
    assert names(find="beta.example") == ["Beta Distribution"]
    assert names(status="rejected") == ["Gamma"]
    assert names(status="all") == ["Alpha Resell", "Beta Distribution", "Gamma"]
    assert names(status="nonsense") == ["Alpha Resell", "Beta Distribution"]  # unknown filter: the default queue


def test_the_queue_reads_a_fixed_number_of_queries_per_page(reviewer, partner_a, partner_b):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerhub import services as core

    core.partner_update(actor=None, partner=partner_a, website="https://acme.example")
    client = client_as(reviewer)

    def submit(n: int) -> None:
        for i in range(n):
            services.application_submit(
                data={**APPLICATION, "company_name": f"Acme {i} {n}", "website": "https://acme.example"},
                parent=partner_b,
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/review/")
        assert response.status_code == 200
        return len(captured)

    submit(2)
    few = queries()
    submit(8)
    assert queries() == few
    assert len(client.get("/review/").context["rows"]) == 10


def test_duplicate_flags_link_what_the_reviewer_may_see_and_hide_the_rest(partner_a, partner_b, manager_a):
    from partnerhub import services as core

    core.partner_update(actor=None, partner=partner_a, website="https://acme.example")
    core.partner_update(actor=None, partner=partner_b, website="https://bolt.example")
    services.application_submit(
        data={**APPLICATION, "company_name": "Acme Resellers", "website": "https://acme.example"}
    )
    services.application_submit(
        data={**APPLICATION, "company_name": "Bolt Distribution", "website": "https://bolt.example"}
    )
    client = client_as(manager_a)
    queue = client.get("/review/")
    assert queue.text.count("badge--flag") >= 2

    acme = PartnerApplication.objects.get(company_name="Acme Resellers")
    detail = client.get(f"/review/{acme.pk}/")
    assert "Existing partner <strong>Acme Resellers</strong>" in detail.text
    assert f'href="/console/partnerhub/partner/{partner_a.pk}/change/"' in detail.text

    bolt = PartnerApplication.objects.get(company_name="Bolt Distribution")
    detail = client.get(f"/review/{bolt.pk}/")
    assert "An existing partner you don't manage" in detail.text
    assert f"/console/partnerhub/partner/{partner_b.pk}/" not in detail.text


def test_the_detail_shows_every_field_the_thread_and_internal_notes(application, reviewer):
    services.application_request_info(actor=reviewer, application=application, message="Which regions?")
    services.application_reply(application=application, message="DACH.")
    services.application_note(actor=reviewer, application=application, message="Looks solid.")
    response = client_as(reviewer).get(f"/review/{application.pk}/")
    assert response.status_code == 200
    text = response.text
    for value in ("Northwind Traders", "northwind.example", "EMEA", "Nora Winter", "+49 30 1234", "USD 250,000"):
        assert value in text
    assert "Managed security services for mid-sized manufacturers." in text
    assert "Which regions?" in text and "DACH." in text
    assert "Looks solid." in text and "Not shown to the applicant" in text
    assert "Approve and provision" in text and "Decline application" in text


def test_a_reviewer_approves_with_a_tier_and_watches_the_job(
    application, reviewer, checklist_template, django_capture_on_commit_callbacks
):
    gold = TierFactory(name="Gold")
    client = client_as(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/review/{application.pk}/approve/", {"tier": gold.pk, "note": "Welcome aboard."})
    job = ProvisioningJob.objects.get(application=application)
    assert response.status_code == 302 and response["Location"] == f"/review/jobs/{job.pk}/"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED and application.tier == gold
    assert application.decided_by == reviewer and application.decision_reason == "Welcome aboard."

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Create the partner, its groups and grants" in page.text
    assert page.context["progress"]["succeeded"]
    assert "core.create_partner" in page.text and "1 attempt" in page.text
    detail = client.get(f"/review/{application.pk}/")
    assert "Provisioning steps" in detail.text and "Approve and provision" not in detail.text

    again = client.post(f"/review/{application.pk}/approve/", {})
    assert again.status_code == 409
    assert "already approved" in again.text
    assert ProvisioningJob.objects.filter(application=application).count() == 1


def test_a_rejection_needs_a_reason(application, reviewer):
    client = client_as(reviewer)
    response = client.post(f"/review/{application.pk}/reject/", {"reason": "   "})
    assert response.status_code == 400
    assert "Give the reason; the applicant receives it." in response.text
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and not application.messages.exists()

    response = client.post(f"/review/{application.pk}/reject/", {"reason": "Outside our target market."})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.decision_reason == "Outside our target market."


def test_a_reviewer_asks_for_information_and_adds_notes(application, reviewer):
    client = client_as(reviewer)
    assert client.post(f"/review/{application.pk}/request-info/", {"message": ""}).status_code == 400
    assert client.post(f"/review/{application.pk}/note/", {"message": ""}).status_code == 400
    assert not application.messages.exists()

    assert client.post(f"/review/{application.pk}/request-info/", {"message": "Revenue split?"}).status_code == 302
    assert client.post(f"/review/{application.pk}/note/", {"message": "Call them Monday."}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.INFO_REQUESTED
    assert list(application.messages.values_list("kind", "body")) == [
        (MessageKind.INFO_REQUEST, "Revenue split?"),
        (MessageKind.NOTE, "Call them Monday."),
    ]


def test_an_unknown_tier_is_a_form_error(application, reviewer):
    response = client_as(reviewer).post(f"/review/{application.pk}/approve/", {"tier": "999999"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


ACTIONS = [
    ("approve", {}),
    ("reject", {"reason": "No"}),
    ("request-info", {"message": "Why?"}),
    ("note", {"message": "Hm"}),
]


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_review_actions_are_refused_to_everyone_else(client, admin_a, rep_a, application, action, data):
    path = f"/review/{application.pk}/{action}/"
    assert client.post(path, data).status_code == 302  # visitors: console sign-in
    for user in (admin_a, rep_a, make_staff(None, username="no-perms")):
        assert client_as(user).post(path, data).status_code == 403
    reader = staff_with("view_partnerapplication", username="reader")  # may read, may not decide
    assert client_as(reader).get(f"/review/{application.pk}/").status_code == 200
    assert client_as(reader).post(path, data).status_code == 403
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and not application.messages.exists()
    assert not ProvisioningJob.objects.exists()


def test_an_approved_application_is_part_of_its_partners_record(
    application, reviewer, manager_b, partner_ops, checklist_template, django_capture_on_commit_callbacks
):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    # The approving channel manager manages the new partner; partner operations see every partner.
    for user in (reviewer, partner_ops):
        assert client_as(user).get(f"/review/{application.pk}/").status_code == 200
        assert client_as(user).get(f"/review/jobs/{job.pk}/").status_code == 200
    # A channel manager of another partner gets the same 404 as for an application that does not exist.
    other = client_as(manager_b)
    assert other.get(f"/review/{application.pk}/").status_code == 404
    assert other.get(f"/review/jobs/{job.pk}/").status_code == 404
    assert other.post(f"/review/{application.pk}/note/", {"message": "x"}).status_code == 404
    assert other.get("/review/", {"status": "all", "find": "Northwind"}).context["rows"] == []


def test_a_job_waiting_for_its_first_step_is_visible_to_the_reviewer(application, reviewer):
    job = services.application_approve(actor=reviewer, application=application)  # not run: no partner yet
    page = client_as(reviewer).get(f"/review/jobs/{job.pk}/")
    assert page.status_code == 200
    assert 'hx-trigger="every 1.5s"' in page.text and "0 of" in page.text


def test_a_failed_job_is_retried_from_its_page(
    application, reviewer, checklist_template, django_capture_on_commit_callbacks
):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    step = job.steps.get(name="core.activate")
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.FAILED, last_error="Downstream refused")
    job.steps.filter(pk=step.pk).update(state=StepState.FAILED, last_error="ConnectionError: CRM down")
    client = client_as(reviewer)
    page = client.get(f"/review/jobs/{job.pk}/")
    assert "ConnectionError: CRM down" in page.text and "Retry failed steps" in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/review/jobs/{job.pk}/retry/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.steps.get(pk=step.pk).state == StepState.SUCCEEDED

    again = client.post(f"/review/jobs/{job.pk}/retry/")
    assert again.status_code == 409
    assert "Only failed jobs can be retried" in again.text


def test_retrying_needs_the_retry_permission(application, reviewer, django_capture_on_commit_callbacks):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.FAILED)
    watcher = staff_with("view_provisioningjob", "view_partnerapplication", username="watcher")
    assert client_as(watcher).post(f"/review/jobs/{job.pk}/retry/").status_code == 403
    job.refresh_from_db()
    assert job.state == JobState.FAILED


def test_the_console_header_links_the_review_queue(reviewer, partner_ops):
    for user in (reviewer, partner_ops):
        assert 'href="/review/"' in client_as(user).get("/console/").text
    support = make_staff(StaffRole.SUPPORT_AGENT, username="sam")
    assert 'href="/review/"' not in client_as(support).get("/console/").text


# The agreement gate --------------------------------------------------------------------------------------------


@pytest.fixture
def agreement(db):
    return services.agreement_publish(actor=None, title="Partner program agreement", body=AGREEMENT_TEXT)


@pytest.mark.parametrize("path", ["/", "/team/", "/settings/api-keys/", "/onboarding/"])
def test_an_unaccepted_agreement_sends_every_portal_page_to_the_agreement(admin_a, rep_a, agreement, path):
    for user in (admin_a, rep_a):
        response = client_as(user).get(path)
        assert response.status_code == 302 and response["Location"] == "/onboarding/agreement/"


def test_reps_see_who_must_accept_and_cannot_accept_themselves(partner_a, admin_a, rep_a, agreement):
    client = client_as(rep_a)
    page = client.get("/onboarding/agreement/")
    assert page.status_code == 200
    assert "Only a partner admin can accept the agreement" in page.text
    assert admin_a.email in page.text and admin_a.display_name in page.text
    assert "Accept and continue" not in page.text
    response = client.post("/onboarding/agreement/", {"agreement": agreement.pk, "confirm": "on"})
    assert response.status_code == 403
    assert not AgreementAcceptance.objects.exists()


def test_an_admin_accepts_and_the_portal_opens_again(partner_a, admin_a, agreement):
    client = client_as(admin_a, HTTP_USER_AGENT="Mozilla/5.0 (PartnerHub test)")
    page = client.get("/onboarding/agreement/")
    assert page.status_code == 200
    assert "3. Both keep data safe." in page.text
    assert agreement.sha256 in page.text
    assert "I have read the agreement and accept it on behalf of Acme Resellers." in page.text

    unticked = client.post("/onboarding/agreement/", {"agreement": agreement.pk})
    assert unticked.status_code == 400
    assert "Tick the box to confirm" in unticked.text
    assert not AgreementAcceptance.objects.exists()

    response = client.post("/onboarding/agreement/", {"agreement": agreement.pk, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"
    acceptance = AgreementAcceptance.objects.get()
    assert acceptance.partner == partner_a and acceptance.accepted_by == admin_a
    assert acceptance.version == 1 and acceptance.sha256 == agreement.sha256
    assert acceptance.ip_address == "127.0.0.1" and acceptance.user_agent == "Mozilla/5.0 (PartnerHub test)"
    assert client.get("/").status_code == 200
    assert client.get("/onboarding/agreement/")["Location"] == "/"  # nothing left to accept


def test_a_newer_version_gates_again_and_the_old_one_cannot_be_accepted_for_it(partner_a, admin_a, agreement):
    client = client_as(admin_a)
    client.post("/onboarding/agreement/", {"agreement": agreement.pk, "confirm": "on"})
    newer = services.agreement_publish(actor=None, title="Partner program agreement", body=AGREEMENT_TEXT + "\n4. New.")
    assert client.get("/team/")["Location"] == "/onboarding/agreement/"
    page = client.get("/onboarding/agreement/")
    assert "accepted version 1" in page.text and "4. New." in page.text

    stale = client.post("/onboarding/agreement/", {"agreement": agreement.pk, "confirm": "on"})
    assert stale.status_code == 409
    assert "A new version (version 2) was published while you were reading" in stale.text
    assert AgreementAcceptance.objects.count() == 1

    assert client.post("/onboarding/agreement/", {"agreement": newer.pk, "confirm": "on"}).status_code == 302
    assert list(AgreementAcceptance.objects.order_by("version").values_list("version", flat=True)) == [1, 2]
    assert client.get("/team/").status_code == 200


def test_the_portal_reads_acceptance_with_the_partner_and_agrees_with_the_one_query_answer(
    partner_a, partner_b, admin_a, admin_b
):
    # The portal reads "accepted the current agreement?" with the user's partners (no query of its own);
    # it must give the same answer as partner_has_accepted_current in every state.
    from partnerhub import selectors

    def both_answers(partner, user):
        (read,) = [p for p in selectors.user_partners(user=user) if p.pk == partner.pk]
        fresh = Partner.objects.get(pk=partner.pk)  # no annotation: the one-query path
        return read.accepted_current_agreement, services.partner_has_accepted_current(fresh)

    assert both_answers(partner_a, admin_a) == (True, True)  # nothing published
    first = services.agreement_publish(actor=None, title="Partner program agreement", body=AGREEMENT_TEXT)
    assert both_answers(partner_a, admin_a) == (False, False)
    services.agreement_accept(actor=admin_a, partner=partner_a, agreement=first)
    assert both_answers(partner_a, admin_a) == (True, True)
    assert both_answers(partner_b, admin_b) == (False, False)  # another partner's acceptance counts for nothing
    services.agreement_publish(actor=None, title="Partner program agreement", body=AGREEMENT_TEXT + "\n4. New.")
    assert both_answers(partner_a, admin_a) == (False, False)  # only the current version counts


def test_without_an_agreement_the_page_goes_home(admin_a):
    assert client_as(admin_a).get("/onboarding/agreement/")["Location"] == "/"


# The partner's onboarding page ---------------------------------------------------------------------------------


@pytest.fixture
def checklist(partner_a, checklist_template):
    services.checklist_create_for_partner(partner=partner_a)
    return {item.key: item for item in ChecklistItem.objects.filter(partner=partner_a)}


def test_the_onboarding_page_shows_progress_due_dates_and_overdue_steps(admin_a, rep_a, checklist):
    ChecklistItem.objects.filter(pk=checklist["profile"].pk).update(due_at=timezone.now() - timedelta(days=1))
    for user in (admin_a, rep_a):
        response = client_as(user).get("/onboarding/")
        assert response.status_code == 200
        text = response.text
        assert "0 of 6 done" in text and "1 step overdue." in text
        assert "Complete the first training" in text and "Overdue" in text
        assert 'href="/onboarding/" aria-current="page">' in text  # the page's own nav entry is current
        assert '<a href="/" aria-current="page">' not in text
    assert "Mark done" in client_as(admin_a).get("/onboarding/").text
    rep_page = client_as(rep_a).get("/onboarding/").text
    assert "Mark done" not in rep_page and "Tax form" not in rep_page


def test_the_home_page_shows_onboarding_progress_and_admins_get_a_next_step(admin_a, rep_a, checklist):
    response = client_as(rep_a).get("/")
    assert "Onboarding checklist" in response.text and "0 of 6 steps done" in response.text
    assert 'href="/onboarding/"' in response.text
    assert "Finish your onboarding" not in response.text  # the next step is for partner admins
    admin_home = client_as(admin_a).get("/")
    assert "Finish your onboarding" in admin_home.text and "0 of 6 onboarding steps done." in admin_home.text
    ChecklistItem.objects.filter(pk__in=[item.pk for item in checklist.values()]).update(completed_at=timezone.now())
    done_home = client_as(admin_a).get("/")
    step = next(s for s in done_home.context["next_steps"] if s.key == "onboarding.checklist")
    assert step.done and "6 of 6 steps done" in done_home.text


def test_an_admin_ticks_off_a_manual_step_and_reps_may_not(partner_a, admin_a, rep_a, checklist):
    training = checklist["training"]
    refused = client_as(rep_a).post(f"/onboarding/checklist/{training.pk}/", {"done": "1"})
    assert refused.status_code == 403
    training.refresh_from_db()
    assert training.completed_at is None

    client = client_as(admin_a)
    response = client.post(f"/onboarding/checklist/{training.pk}/", {"done": "1"})
    assert response.status_code == 302
    training.refresh_from_db()
    assert training.is_done and training.completed_by == admin_a and not training.completed_automatically
    assert "1 of 6 done" in client.get("/onboarding/").text

    assert client.post(f"/onboarding/checklist/{training.pk}/", {"done": "0"}).status_code == 302
    training.refresh_from_db()
    assert training.completed_at is None
    assert client.post(f"/onboarding/checklist/{training.pk}/", {"done": "maybe"}).status_code == 400


def test_steps_that_an_event_completes_cannot_be_ticked_by_hand(admin_a, checklist):
    tax = checklist["tax-form"]
    response = client_as(admin_a).post(f"/onboarding/checklist/{tax.pk}/", {"done": "1"})
    assert response.status_code == 409
    assert "is ticked off by itself once it happens" in response.text
    tax.refresh_from_db()
    assert tax.completed_at is None


def test_another_partners_step_is_not_found(admin_b, checklist):
    training = checklist["training"]
    assert client_as(admin_b).post(f"/onboarding/checklist/{training.pk}/", {"done": "1"}).status_code == 404
    training.refresh_from_db()
    assert training.completed_at is None


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_tax_form_is_uploaded_checked_by_content_and_downloaded_only_by_its_partner(
    partner_a, admin_a, rep_a, admin_b, checklist
):
    client = client_as(admin_a)
    fake = SimpleUploadedFile("w9.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf")
    refused = client.post("/onboarding/documents/", {"file": fake})
    assert refused.status_code == 400
    assert "Upload the form as a PDF, PNG or JPEG file." in refused.text
    assert not PartnerDocument.objects.exists()

    assert client.post("/onboarding/documents/", {}).status_code == 400
    assert not PartnerDocument.objects.exists()

    response = client.post("/onboarding/documents/", {"file": SimpleUploadedFile("W-9 2025.pdf", PDF)})
    assert response.status_code == 302
    document = PartnerDocument.objects.get()
    assert document.partner == partner_a and document.content_type == "application/pdf"
    assert ChecklistItem.objects.get(pk=checklist["tax-form"].pk).completed_automatically

    download = client.get(f"/onboarding/documents/{document.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="w-9-2025.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download["Cache-Control"]

    assert client_as(admin_b).get(f"/onboarding/documents/{document.pk}/").status_code == 404
    assert client_as(rep_a).get(f"/onboarding/documents/{document.pk}/").status_code == 404
    assert client_as(rep_a).post("/onboarding/documents/", {"file": SimpleUploadedFile("x.pdf", PDF)}).status_code == (
        403
    )
    assert PartnerDocument.objects.count() == 1


def test_the_integration_key_is_shown_once(partner_a, admin_a, rep_a):
    IntegrationCredential.objects.create(
        partner=partner_a, user=rep_a, token_key="ph_abcdefgh", encrypted_key=seal("ph_abcdefgh-the-secret")
    )
    client = client_as(admin_a)
    page = client.get("/onboarding/")
    assert "Show the key" in page.text and "ph_abcdefgh-the-secret" not in page.text

    assert client_as(rep_a).post("/onboarding/integration-key/").status_code == 403

    shown = client.post("/onboarding/integration-key/")
    assert shown.status_code == 200
    assert 'value="ph_abcdefgh-the-secret"' in shown.text
    assert "no-store" in shown["Cache-Control"]

    again = client.post("/onboarding/integration-key/")
    assert again.status_code == 409
    assert "ph_abcdefgh-the-secret" not in again.text
    assert "already collected" in again.text
    later = client.get("/onboarding/")
    assert "Collected on" in later.text and admin_a.display_name in later.text
    assert "ph_abcdefgh-the-secret" not in later.text


def test_admins_see_their_partners_unfinished_provisioning_job(
    application, reviewer, checklist_template, django_capture_on_commit_callbacks
):
    job = approve(application, reviewer, django_capture_on_commit_callbacks)
    partner = job.partner
    from partnerhub import services as core
    from tests.factories import make_member

    admin = make_member(partner, "admin", username="nora-admin")
    client = client_as(admin)
    assert "Setting up your portal" not in client.get("/onboarding/").text  # finished: nothing to show
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    job.steps.filter(name="core.activate").update(state=StepState.RUNNING)
    page = client.get("/onboarding/")
    assert "Setting up your portal" in page.text and 'hx-get="/onboarding/"' in page.text
    fragment = client.get("/onboarding/", HTTP_HX_REQUEST="true")
    assert fragment["X-Portal-Fragment"] == "1" and "<html" not in fragment.text
    assert f"{job.steps.count() - 1} of {job.steps.count()} steps done" in fragment.text
    assert core  # the partner was built through the core services above


# E-mails -------------------------------------------------------------------------------------------------------


def test_onboarding_emails_escape_every_value(reviewer, django_capture_on_commit_callbacks):
    evil = {**APPLICATION, "company_name": "<b>Evil</b> & Co", "contact_first_name": '<img src=x onerror="1">'}
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(data=evil)
        services.application_request_info(actor=reviewer, application=application, message="<script>x</script>")
    htmls = [m.alternatives[0][0] for m in mail.outbox]
    assert len(htmls) == 3  # submitted, reviewer, info requested
    for html in htmls:
        assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
        assert "<img src=x" not in html and "<script>x" not in html
    info = next(m for m in mail.outbox if "more information" in m.subject)
    assert "&lt;script&gt;x&lt;/script&gt;" in info.alternatives[0][0]
    assert "<script>x</script>" in info.body  # the plain-text part is not HTML and keeps the text as written


def test_applicants_through_a_distributor_get_its_brand_and_reviewers_the_vendors(
    partner_b, reviewer, django_capture_on_commit_callbacks
):
    from partnerhub import services as core

    core.brand_update(actor=None, brand=partner_b.brand, display_name="Bolt Channel", primary_color="#6d28d9")
    partner_b = Partner.objects.get(pk=partner_b.pk)
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(data=dict(APPLICATION), parent=partner_b)
    to_applicant = next(m for m in mail.outbox if application.contact_email in m.to).alternatives[0][0]
    to_reviewer = next(m for m in mail.outbox if reviewer.email in m.to).alternatives[0][0]
    assert "Bolt Channel" in to_applicant and "background:#6d28d9" in to_applicant
    assert "Bolt Channel" not in to_reviewer and "#6d28d9" not in to_reviewer
    assert "background:#1f4fd1" in to_reviewer and "Bolt Distribution" in to_reviewer  # names the distributor
