"""Onboarding in a real browser: a company applies on the public form, a channel manager approves it in the review
queue, provisioning runs to the end, and the new partner admin joins from the invitation e-mail, accepts the
program agreement at the gate and lands on the branded portal with the onboarding checklist."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from onboarding import services as onboarding_services
from onboarding import tasks as onboarding_tasks
from onboarding.choices import ApplicationStatus, JobState
from onboarding.forms import MIN_FILL_SECONDS
from onboarding.models import AgreementAcceptance, ChecklistTemplate, ChecklistTemplateItem, PartnerApplication
from onboarding.steps import DEFAULT_COLOURS
from partnerhub.choices import MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import Membership
from tests.browser.helpers import background_colour, partner_url, primary_colour, rgb
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser

COMPANY = "Northwind Traders"
CONTACT_EMAIL = "nora.winter@northwind.example"
NEW_PASSWORD = "amber-meadow-compass-73"
RESELLER_PRIMARY = DEFAULT_COLOURS["reseller"][0]
AGREEMENT_TITLE = "Partner Program Agreement"
AGREEMENT_BODY = (
    "1. Scope. The partner resells the vendor's products to its own customers.\n"
    "2. Support. The vendor supports the partner and its customers.\n"
    "3. Data. Both parties keep customer data safe and confidential."
)
CHECKLIST = [
    ("profile", "Complete your profile", "profile.completed", 7),
    ("agreement", "Accept the program agreement", "agreement.accepted", 3),
    ("team", "Invite your team", "team.invited", 14),
    ("training", "Complete the first training", "", 30),
]


def fill_application(page) -> None:
    """Fill the form as the applicant would: company, contact person, business."""
    page.get_by_label("Company name").fill(COMPANY)
    page.get_by_label("Website").fill("https://www.northwind.example")
    page.get_by_label("Country").select_option(label="Germany")
    page.get_by_label("Sales region").fill("DACH")
    page.get_by_label("Partner type").select_option(value="reseller")
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Winter")
    page.get_by_label("Work e-mail").fill("Nora.Winter@northwind.example")
    page.get_by_label("Phone").fill("+49 30 1234")
    page.get_by_label("Job title").fill("Head of Alliances")
    page.get_by_label("Expected annual revenue (USD)").fill("250000")
    page.get_by_label("Expected deals per quarter").fill("12")
    page.get_by_label("About your business").fill("Managed security services for mid-sized manufacturers.")


@pytest.fixture
def job_queue(monkeypatch):
    """Provisioning jobs are queued, not run inline, so the job page shows the job waiting; the test then runs the
    queued job as a worker would (the same task), and the page must notice by itself."""
    queued: list[int] = []
    monkeypatch.setattr(onboarding_tasks.run_provisioning_job, "delay", lambda job_id: queued.append(job_id))
    return queued


def test_visitor_applies_is_approved_provisioned_and_joins_as_partner_admin(
    live_server, settings, journey, open_page, page_errors, job_queue
):
    # Given: a channel manager who reviews applications, a published program agreement and a checklist for new
    # partners; links in e-mails are built for the live server's port.
    settings.PUBLIC_BASE_URL = live_server.url
    make_staff(
        StaffRole.CHANNEL_MANAGER,
        username="riley",
        first_name="Riley",
        last_name="Reviewer",
        email="riley@vendor.example",
    )
    agreement = onboarding_services.agreement_publish(actor=None, title=AGREEMENT_TITLE, body=AGREEMENT_BODY)
    template = ChecklistTemplate.objects.create(name="Every partner", partner_type="")
    for position, (key, title, event, days) in enumerate(CHECKLIST):
        ChecklistTemplateItem.objects.create(
            template=template, key=key, title=title, event=event, due_days=days, position=position
        )

    visitor = open_page()
    with journey.step("visitor-opens-application-form", visitor):
        visitor.goto(f"{live_server.url}/apply/")
        expect(visitor.get_by_role("heading", name="Become a partner", level=1)).to_be_visible()
        # The spam trap is out of people's sight (bots still find and fill it).
        expect(visitor.locator("input[name=fax_number]")).not_to_be_in_viewport()
        opened = time.monotonic()

    with journey.step("visitor-fills-application", visitor):
        fill_application(visitor)

    with journey.step("visitor-sends-application", visitor):
        # A person takes longer than the form's minimum fill time; a fast test waits the rest of it.
        remaining = MIN_FILL_SECONDS + 0.5 - (time.monotonic() - opened)
        if remaining > 0:
            visitor.wait_for_timeout(remaining * 1000)
        visitor.get_by_role("button", name="Send application").click()
        expect(visitor).to_have_url(f"{live_server.url}/apply/received/")
        expect(visitor.get_by_role("heading", name="Thank you, Nora", level=1)).to_be_visible()
        expect(visitor.get_by_role("main")).to_contain_text(f"We received the application of {COMPANY}")
        expect(visitor.get_by_role("textbox", name="Status link")).to_have_value(
            re.compile(rf"^{live_server.url}/apply/status/")
        )

    application = PartnerApplication.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.contact_email == CONTACT_EMAIL

    manager = open_page()
    with journey.step("manager-signs-in-to-review-queue", manager):
        manager.goto(f"{live_server.url}/review/")
        expect(manager).to_have_url(re.compile(r"/console/login/\?next=/review/$"))
        manager.get_by_label("Username").fill("riley")
        manager.get_by_label("Password").fill(PASSWORD)
        manager.get_by_role("button", name="Log in").click()
        expect(manager).to_have_url(f"{live_server.url}/review/")
        expect(manager.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
        row = manager.get_by_role("row").filter(has=manager.get_by_role("link", name=COMPANY))
        expect(row).to_contain_text("Nora Winter")
        expect(row).to_contain_text(CONTACT_EMAIL)

    with journey.step("manager-opens-application", manager):
        manager.get_by_role("link", name=COMPANY).click()
        expect(manager).to_have_url(f"{live_server.url}/review/{application.pk}/")
        expect(manager.get_by_role("heading", name=COMPANY, level=1)).to_be_visible()
        expect(manager.get_by_role("main")).to_contain_text("Managed security services for mid-sized manufacturers.")

    progress = manager.get_by_role("status").filter(has_text="steps done")
    steps = manager.locator(".job-steps > li")
    with journey.step("manager-approves-and-job-waits-for-worker", manager):
        manager.get_by_label("Note to the applicant").fill("Welcome aboard, Nora!")
        manager.get_by_role("button", name="Approve and provision").click()
        expect(manager).to_have_url(re.compile(rf"^{live_server.url}/review/jobs/\d+/$"))
        expect(manager.locator("#flash")).to_contain_text(f"{COMPANY} is approved. Provisioning has started")
        expect(manager.get_by_role("heading", level=1)).to_have_text(re.compile(rf"of {COMPANY}$"))
        expect(progress).to_have_text(re.compile(r"^0 of \d+ steps done · waiting"))
        expect(steps.first.locator(".badge")).to_have_text("Waiting")

    assert len(job_queue) == 1
    with journey.step("job-page-follows-provisioning-to-the-end", manager):
        assert onboarding_tasks.run_provisioning_job.apply(args=[job_queue[0]]).get() == JobState.SUCCEEDED
        # The page polls by itself: no reload. The progress line: every step done.
        expect(progress).to_have_text(re.compile(r"^(\d+) of \1 steps done · completed$"))
        facts = manager.get_by_role("complementary").filter(has_text="Requested by")
        expect(facts).to_contain_text("StateCompleted")
        for title in (
            "Create the partner, its groups and grants",
            "Create the partner admin's invitation and send it",
            "Apply the brand defaults",
            "Create the onboarding checklist",
            "Activate the partner",
        ):
            expect(steps.filter(has_text=title).locator(".badge")).to_have_text("Done")
        expect(steps.locator(".badge").filter(has_not_text="Done")).to_have_count(0)

    application.refresh_from_db()
    job = application.jobs.get()
    assert job.state == JobState.SUCCEEDED
    partner = application.partner
    assert partner.status == PartnerStatus.ACTIVE
    partner_host = partner_url(live_server.url, partner)

    # The invitation e-mail reached the applicant, with a link to the new partner's own portal host.
    invitations = [m for m in mail.outbox if m.to == [CONTACT_EMAIL] and "/invite/" in m.body]
    assert len(invitations) == 1, [(m.to, m.subject) for m in mail.outbox]
    links = re.findall(r"https?://\S+/invite/[^/\s]+/", invitations[0].body)
    assert len(links) == 1 and links[0].startswith(f"{partner_host}/invite/"), invitations[0].body

    admin = open_page()  # Nora's own browser: nobody is signed in
    with journey.step("new-admin-opens-invitation-link", admin):
        admin.goto(links[0])
        expect(admin.get_by_role("heading", name="You're invited")).to_be_visible()
        expect(admin.get_by_role("main")).to_contain_text(f"Join {COMPANY} as a partner admin")
        expect(admin.get_by_role("main")).to_contain_text(CONTACT_EMAIL)
        assert primary_colour(admin) == RESELLER_PRIMARY

    with journey.step("new-admin-sets-password-and-meets-agreement-gate", admin):
        admin.get_by_label("First name").fill("Nora")
        admin.get_by_label("Last name").fill("Winter")
        admin.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        admin.get_by_label("Repeat password").fill(NEW_PASSWORD)
        admin.get_by_role("button", name="Create account and join").click()
        # Until the agreement is accepted, the portal shows only the agreement.
        expect(admin).to_have_url(f"{partner_host}/onboarding/agreement/")
        expect(admin.get_by_role("heading", name="Program agreement", level=1)).to_be_visible()
        expect(admin.get_by_role("heading", name=AGREEMENT_TITLE)).to_be_visible()
        expect(admin.get_by_role("region", name=f"Agreement text, version {agreement.version}")).to_contain_text(
            "2. Support. The vendor supports the partner"
        )
        assert primary_colour(admin) == RESELLER_PRIMARY

    with journey.step("gate-holds-other-pages", admin):
        admin.goto(f"{partner_host}/team/")
        expect(admin).to_have_url(f"{partner_host}/onboarding/agreement/")

    with journey.step("new-admin-accepts-agreement", admin):
        admin.get_by_label(f"I have read the agreement and accept it on behalf of {COMPANY}.").check()
        accept = admin.get_by_role("button", name="Accept and continue")
        assert background_colour(accept) == rgb(RESELLER_PRIMARY)
        accept.click()
        expect(admin).to_have_url(f"{partner_host}/")
        expect(admin.get_by_role("status")).to_contain_text(
            f"Thank you. {COMPANY} accepted the program agreement, version {agreement.version}."
        )

    with journey.step("new-admin-lands-on-branded-home-with-checklist", admin):
        expect(admin.get_by_role("heading", level=1)).to_have_text(COMPANY)
        expect(admin.get_by_text("Welcome back, Nora")).to_be_visible()
        expect(admin.get_by_role("banner")).to_contain_text(COMPANY)
        expect(admin.get_by_role("main")).to_contain_text("You are a partner admin")
        assert primary_colour(admin) == RESELLER_PRIMARY
        checklist = admin.locator("section.card").filter(
            has=admin.get_by_role("heading", name="Onboarding checklist", level=2)
        )
        expect(checklist).to_be_visible()
        for _key, title, _event, _days in CHECKLIST:
            expect(checklist).to_contain_text(title)
        # Accepting the agreement ticked its checklist item.
        expect(checklist.get_by_text("Accept the program agreement (done)")).to_be_attached()
        expect(checklist.get_by_role("link", name="Continue onboarding")).to_be_visible()

    membership = Membership.objects.select_related("user").get(partner=partner, user__email=CONTACT_EMAIL)
    assert membership.is_active and membership.role == MembershipRole.ADMIN
    assert AgreementAcceptance.objects.filter(partner=partner, agreement=agreement).count() == 1

    assert [error for errors in page_errors for error in errors] == []
