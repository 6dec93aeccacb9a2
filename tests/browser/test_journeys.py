"""User journeys in a real browser: Debian's Chromium, driven by Playwright, against a live server.

Each journey walks the pages as people do (roles, labels and visible text, no CSS selectors), with data set up
through the services, and leaves a screenshot of every step under artifacts/journeys/<test name>/.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from partnerhub import services
from partnerhub.choices import MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import Membership, Partner
from tests.browser.helpers import background_colour, partner_url, primary_colour, rgb
from tests.factories import PASSWORD, make_member, make_partner, make_staff

pytestmark = pytest.mark.browser

ACME_PRIMARY = "#b4231b"
ACME_NAME = "Acme Cloud Partners"
NEW_PASSWORD = "violet-harbour-lantern-42"
SUSPENDED = "Your portal access is suspended"


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_partner_admin_invites_a_teammate_who_joins_and_signs_in_again(
    live_server, settings, journey, open_page, page_errors
):
    # Given: Acme, branded with its own name and colour, and one partner admin; links in e-mails are built for
    # the live server's port.
    settings.PUBLIC_BASE_URL = live_server.url
    acme = make_partner("Acme Resellers")
    services.brand_update(actor=None, brand=acme.brand, display_name=ACME_NAME, primary_color=ACME_PRIMARY)
    make_member(acme, MembershipRole.ADMIN, username="alice", first_name="Alice", last_name="Admin")
    acme_url = partner_url(live_server.url, acme)
    admin = open_page()

    with journey.step("admin-signs-in-on-acme-host", admin):
        sign_in(admin, acme_url, "alice", PASSWORD)
        expect(admin).to_have_url(f"{acme_url}/")
        expect(admin.get_by_role("heading", level=1)).to_have_text(ACME_NAME)
        expect(admin.get_by_role("banner")).to_contain_text(ACME_NAME)
        # The brand's colour reaches CSS through the nonce'd style block (the CSP would drop any other).
        assert primary_colour(admin) == ACME_PRIMARY

    with journey.step("admin-opens-team-page", admin):
        admin.get_by_role("navigation", name="Main").get_by_role("link", name="Team", exact=True).click()
        expect(admin).to_have_url(f"{acme_url}/team/")
        expect(admin.get_by_role("heading", name="Team", level=1)).to_be_visible()
        expect(admin.get_by_role("heading", name="Invite a colleague")).to_be_visible()
        send = admin.get_by_role("button", name="Send invitation")
        assert background_colour(send) == rgb(ACME_PRIMARY)

    with journey.step("admin-invites-teammate", admin):
        admin.get_by_label("Email address").fill("Tess.Teammate@Example.com")
        admin.get_by_label("Role", exact=True).select_option(label="Partner rep")
        send.click()
        expect(admin.get_by_role("status")).to_contain_text("Invitation sent to tess.teammate@example.com")
        invitations = admin.get_by_role("region", name="Open invitations")
        expect(invitations).to_contain_text("tess.teammate@example.com")
        expect(invitations).to_contain_text("Partner rep")

    # The e-mail left through the task queue (run eagerly here) into the locmem mailbox of this process.
    assert [m.to for m in mail.outbox] == [["tess.teammate@example.com"]]
    message = mail.outbox[0]
    assert message.subject == f"{ACME_NAME}: you are invited to the partner portal"
    links = re.findall(r"https?://\S+/invite/[^/\s]+/", message.body)
    # The link leads to Acme's own portal host, not the vendor's.
    assert len(links) == 1 and links[0].startswith(f"{acme_url}/invite/"), message.body

    teammate = open_page()  # a fresh context: nobody is signed in
    with journey.step("teammate-opens-invitation-link", teammate):
        teammate.goto(links[0])
        expect(teammate.get_by_role("heading", name="You're invited")).to_be_visible()
        expect(teammate.get_by_role("main")).to_contain_text(f"Join {ACME_NAME} as a partner rep")
        expect(teammate.get_by_role("main")).to_contain_text("tess.teammate@example.com")
        assert primary_colour(teammate) == ACME_PRIMARY

    with journey.step("teammate-creates-account", teammate):
        teammate.get_by_label("First name").fill("Tess")
        teammate.get_by_label("Last name").fill("Teammate")
        teammate.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        teammate.get_by_label("Repeat password").fill(NEW_PASSWORD)
        teammate.get_by_role("button", name="Create account and join").click()
        expect(teammate).to_have_url(f"{acme_url}/")
        expect(teammate.get_by_role("status")).to_contain_text(f"Welcome to {ACME_NAME}! You joined as a partner rep.")
        expect(teammate.get_by_role("heading", level=1)).to_have_text(ACME_NAME)
        expect(teammate.get_by_text("Welcome back, Tess")).to_be_visible()
        expect(teammate.get_by_role("main")).to_contain_text("You are a partner rep")
        assert primary_colour(teammate) == ACME_PRIMARY

    membership = Membership.objects.select_related("user").get(partner=acme, user__email="tess.teammate@example.com")
    assert membership.is_active and membership.role == MembershipRole.REP
    assert membership.user.get_full_name() == "Tess Teammate"

    with journey.step("teammate-signs-out", teammate):
        teammate.get_by_label("Account menu for Tess Teammate").click()
        teammate.get_by_role("button", name="Sign out").click()
        expect(teammate).to_have_url(f"{acme_url}/accounts/login/")
        expect(teammate.get_by_role("status")).to_contain_text("You have signed out.")
        expect(teammate.get_by_role("main")).to_contain_text(f"Welcome back to the {ACME_NAME} portal")
        assert primary_colour(teammate) == ACME_PRIMARY

    with journey.step("signed-out-teammate-is-asked-to-sign-in", teammate):
        teammate.goto(f"{acme_url}/team/")
        expect(teammate).to_have_url(f"{acme_url}/accounts/login/?next=/team/")

    with journey.step("teammate-signs-in-with-new-password", teammate):
        sign_in(teammate, acme_url, "tess.teammate@example.com", NEW_PASSWORD)
        expect(teammate).to_have_url(f"{acme_url}/")
        expect(teammate.get_by_role("heading", level=1)).to_have_text(ACME_NAME)
        expect(teammate.get_by_label("Account menu for Tess Teammate")).to_be_visible()
        assert primary_colour(teammate) == ACME_PRIMARY

    assert [error for errors in page_errors for error in errors] == []


def test_channel_manager_suspends_a_partner_whose_reps_lose_access(live_server, journey, open_page, page_errors):
    # Given: Carla manages Acme and Cobalt, not Bolt. Acme has two reps; Arnold is signed in on Acme's portal.
    acme = make_partner("Acme Resellers")
    cobalt = make_partner("Cobalt Systems")
    bolt = make_partner("Bolt Distribution", partner_type="distributor")
    make_staff(StaffRole.CHANNEL_MANAGER, manages=[acme, cobalt], username="carla", first_name="Carla")
    make_member(acme, MembershipRole.REP, username="arnold", first_name="Arnold")
    make_member(acme, MembershipRole.REP, username="annie", first_name="Annie")
    make_member(bolt, MembershipRole.REP, username="boris", first_name="Boris")
    acme_url = partner_url(live_server.url, acme)

    arnold = open_page()
    with journey.step("rep-signed-in-before-suspension", arnold):
        sign_in(arnold, acme_url, "arnold", PASSWORD)
        expect(arnold).to_have_url(f"{acme_url}/")
        expect(arnold.get_by_text("Welcome back, Arnold")).to_be_visible()

    manager = open_page()
    with journey.step("manager-signs-in-to-console", manager):
        manager.goto(f"{live_server.url}/console/")
        expect(manager).to_have_url(re.compile(r"/console/login/"))
        manager.get_by_label("Username").fill("carla")
        manager.get_by_label("Password").fill(PASSWORD)
        manager.get_by_role("button", name="Log in").click()
        expect(manager).to_have_url(f"{live_server.url}/console/")
        expect(manager.get_by_role("heading", name="Your partners", level=1)).to_be_visible()

    with journey.step("manager-sees-only-managed-partners", manager):
        manager.get_by_role("navigation", name="Console").get_by_role("link", name="Partners", exact=True).click()
        expect(manager).to_have_url(f"{live_server.url}/console/partnerhub/partner/")
        results = manager.get_by_role("table")
        expect(results.get_by_role("link", name="Acme Resellers")).to_be_visible()
        expect(results.get_by_role("link", name="Cobalt Systems")).to_be_visible()
        expect(results.get_by_role("link", name="Bolt Distribution")).to_have_count(0)
        expect(manager.get_by_text("Bolt Distribution")).to_have_count(0)
        expect(results.get_by_role("checkbox", name=re.compile(r"^Select this object for an action"))).to_have_count(2)

    with journey.step("manager-chooses-suspend-action", manager):
        manager.get_by_role("checkbox", name="Select this object for an action - Acme Resellers").check()
        manager.get_by_role("combobox", name=re.compile(r"^Action")).select_option(label="Suspend selected partners…")
        manager.get_by_role("button", name="Go").click()
        expect(manager.get_by_role("heading", name="Suspend partners")).to_be_visible()
        expect(manager.get_by_role("main")).to_contain_text("Acme Resellers")
        expect(manager.get_by_role("main")).not_to_contain_text("Cobalt Systems")

    with journey.step("manager-confirms-with-reason", manager):
        manager.get_by_label("Reason").fill("Unpaid invoices since March")
        manager.get_by_role("button", name="Suspend partner").click()
        expect(manager).to_have_url(f"{live_server.url}/console/partnerhub/partner/")
        expect(manager.get_by_text("Suspended 1 partner.")).to_be_visible()
        acme_row = manager.get_by_role("row").filter(has=manager.get_by_role("link", name="Acme Resellers"))
        expect(acme_row).to_contain_text("Suspended")
        cobalt_row = manager.get_by_role("row").filter(has=manager.get_by_role("link", name="Cobalt Systems"))
        expect(cobalt_row).to_contain_text("Active")

    acme.refresh_from_db()
    assert acme.status == PartnerStatus.SUSPENDED
    assert acme.status_reason == "Unpaid invoices since March"
    assert Partner.objects.get(pk=cobalt.pk).status == PartnerStatus.ACTIVE
    assert Partner.objects.get(pk=bolt.pk).status == PartnerStatus.ACTIVE

    with journey.step("signed-in-rep-is-sent-out", arnold):
        arnold.get_by_role("navigation", name="Main").get_by_role("link", name="Team", exact=True).click()
        expect(arnold).to_have_url(f"{acme_url}/accounts/login/")
        expect(arnold.get_by_role("status")).to_contain_text(SUSPENDED)

    with journey.step("sent-out-rep-is-signed-out", arnold):
        arnold.goto(f"{acme_url}/")
        expect(arnold).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    annie = open_page()
    with journey.step("other-rep-cannot-sign-in", annie):
        sign_in(annie, acme_url, "annie", PASSWORD)
        expect(annie).to_have_url(f"{acme_url}/accounts/login/")
        expect(annie.get_by_role("alert")).to_contain_text(SUSPENDED)
        expect(annie.get_by_role("alert")).to_contain_text("Contact your channel manager")

    boris = open_page()  # another partner's rep is untouched
    bolt_url = partner_url(live_server.url, bolt)
    with journey.step("unmanaged-partner-rep-still-signs-in", boris):
        sign_in(boris, bolt_url, "boris", PASSWORD)
        expect(boris).to_have_url(f"{bolt_url}/")
        expect(boris.get_by_text("Welcome back, Boris")).to_be_visible()

    assert [error for errors in page_errors for error in errors] == []
