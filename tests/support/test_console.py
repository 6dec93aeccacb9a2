"""Support in the vendor console: tickets scoped per role (agents: escalations only) with the whole thread, clocks
and history read-only, the vendor's actions through services, SLA configuration with validated schedules,
vendor articles shared through grants, read-only customers, and the Support card on the dashboard."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerhub.admin_site import DashboardCard, dashboard_cards, register_dashboard_card
from partnerhub.choices import MembershipRole, StaffRole
from partnerhub.errors import DomainError
from partnerhub.models import User
from support import selectors, services
from support.admin import summarize_schedule
from support.choices import ArticleStatus, Priority, TicketStatus, Visibility
from support.models import Article, BusinessHours, Category, Customer, SlaPolicy, Ticket, TicketEvent
from tests.factories import make_member, make_partner, make_staff

pytestmark = pytest.mark.django_db

VENDOR_NOTE = "Qconsolenote: build 812 regression, fix in 813"
WEEKDAYS = {str(day): [["00:00", "24:00"]] for day in range(1, 8)}


def url(name: str, *args) -> str:
    return reverse(f"console:{name}", args=args)


def signed_in(client, user):
    client.force_login(user)
    return client


def listed_ids(response) -> set:
    assert response.status_code == 200, response.status_code
    return {obj.pk for obj in response.context["cl"].result_list}


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def agent(db):
    return make_staff(StaffRole.SUPPORT_AGENT, username="sam", first_name="Sam", last_name="Agent")


@pytest.fixture
def hours(db):
    hours = BusinessHours.objects.create(name="Always", timezone="UTC", schedule=WEEKDAYS)
    for scope in SlaPolicy.Scope.values:
        for priority in Priority.values:
            SlaPolicy.objects.create(
                name=f"{scope} {priority}",
                applies_to=scope,
                priority=priority,
                first_response_minutes=60,
                resolution_minutes=480,
                business_hours=hours,
            )
    return hours


@pytest.fixture
def tickets(partner_a, partner_b, rep_a, rep_b, agent, hours):
    """Partner A: one first-line ticket and one escalation with a vendor note; partner B: one escalation."""
    quiet = services.ticket_open(partner=partner_a, actor=rep_a, subject="Slow dashboard", description="Slow.")
    escalated = services.ticket_open(partner=partner_a, actor=rep_a, subject="Licence sync broken", description="x")
    services.ticket_escalate(actor=rep_a, ticket=escalated, reason="Licence server returns 500.")
    services.ticket_reply(ticket=escalated, actor=agent, body=VENDOR_NOTE, visibility=Visibility.VENDOR_NOTE)
    other = services.ticket_open(partner=partner_b, actor=rep_b, subject="Bolt cannot log in", description="x")
    services.ticket_escalate(actor=rep_b, ticket=other, reason="SSO down.")
    return {"quiet": quiet, "escalated": escalated, "other": other}


# Tickets ----------------------------------------------------------------------------------------------------------


def test_ticket_lists_follow_each_roles_scope(client, tickets, agent, manager_a, manager_b, partner_ops):
    changelist = url("support_ticket_changelist")
    assert listed_ids(signed_in(client, manager_a).get(changelist)) == {tickets["quiet"].pk, tickets["escalated"].pk}
    assert listed_ids(signed_in(client, manager_b).get(changelist)) == {tickets["other"].pk}
    assert listed_ids(signed_in(client, agent).get(changelist)) == {tickets["escalated"].pk, tickets["other"].pk}
    assert listed_ids(signed_in(client, partner_ops).get(changelist)) == {t.pk for t in tickets.values()}


@pytest.mark.parametrize("who", ["rep_a", "admin_a"])
def test_partner_users_never_reach_the_console_tickets(client, request, tickets, who):
    response = signed_in(client, request.getfixturevalue(who)).get(url("support_ticket_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(url("login"))


def test_ticket_pages_outside_the_scope_answer_404(client, tickets, agent, manager_b):
    for who, ticket in ((manager_b, tickets["escalated"]), (agent, tickets["quiet"])):
        signed_in(client, who)
        for view in ("change", "history", "delete"):
            response = client.get(url(f"support_ticket_{view}", ticket.pk))
            missing = client.get(url(f"support_ticket_{view}", 987654321))
            assert response.status_code == missing.status_code == 404, (who, view)
        assert VENDOR_NOTE.encode() not in client.get(url("support_ticket_changelist"), {"q": "licence"}).content


def test_ticket_page_shows_the_thread_with_vendor_notes_clocks_and_history_read_only(client, tickets, agent):
    ticket = tickets["escalated"]
    response = signed_in(client, agent).get(url("support_ticket_change", ticket.pk))
    assert response.status_code == 200
    page = text(response)
    assert VENDOR_NOTE in page
    assert "ph-badge--visibility-vendor_note" in page
    assert "SLA clocks" in page and "Vendor escalation" in page and "Partner first line" in page
    assert "History" in page and "Escalated" in page
    assert 'name="_save"' not in page  # a read-only page: tickets are worked in the portal and the API
    assert "Assign to me" in page and "Resolve" in page
    assert ' style="' not in page.split('id="content"')[1]  # the CSP forbids inline styles


def test_the_thread_is_sanitised_on_the_way_out(client, tickets, agent):
    from support.models import TicketMessage

    message = TicketMessage.objects.filter(ticket=tickets["escalated"]).first()
    TicketMessage.objects.filter(pk=message.pk).update(body='<p onclick="x()">Hi</p><script>alert(1)</script>')
    page = text(signed_in(client, agent).get(url("support_ticket_change", tickets["escalated"].pk)))
    assert "<script>alert(1)</script>" not in page and 'onclick="x()"' not in page
    assert "<p>Hi</p>" in page


def test_agent_takes_and_resolves_an_escalation_through_the_services(client, tickets, agent):
    ticket = tickets["escalated"]
    signed_in(client, agent)
    changelist = url("support_ticket_changelist")
    taken = client.post(
        changelist, {"action": "assign_to_me", "_selected_action": [ticket.pk], "_return_to_change": "1"}
    )
    assert taken.status_code == 302 and taken["Location"] == url("support_ticket_change", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.vendor_assignee_id == agent.pk
    assert TicketEvent.objects.filter(ticket=ticket, kind="vendor_assigned", vendor_only=True).exists()
    resolved = client.post(changelist, {"action": "resolve_tickets", "_selected_action": [ticket.pk]}, follow=True)
    assert "Resolved 1 ticket." in text(resolved)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
    assert TicketEvent.objects.filter(ticket=ticket, kind="status", after="Resolved").exists()


def test_actions_never_touch_tickets_outside_the_scope(client, tickets, agent, manager_b, partner_ops):
    # A channel manager has neither action; an agent cannot reach a first-line ticket by id.
    response = signed_in(client, manager_b).get(url("support_ticket_changelist"))
    assert response.context["action_form"] is None and 'name="action"' not in text(response)
    signed_in(client, agent).post(
        url("support_ticket_changelist"),
        {"action": "resolve_tickets", "_selected_action": [tickets["quiet"].pk], "post": "yes"},
    )
    assert Ticket.objects.get(pk=tickets["quiet"].pk).status == TicketStatus.NEW
    # A refusal by the service is a message, not an error page (partner operations cannot take escalations).
    signed_in(client, partner_ops)
    page = client.post(
        url("support_ticket_changelist"), {"action": "resolve_tickets", "_selected_action": [tickets["other"].pk]}
    )
    assert page.status_code == 302
    assert Ticket.objects.get(pk=tickets["other"].pk).status == TicketStatus.RESOLVED


def test_ticket_search_and_filters(client, tickets, partner_ops):
    signed_in(client, partner_ops)
    changelist = url("support_ticket_changelist")
    assert listed_ids(client.get(changelist, {"q": tickets["other"].reference})) == {tickets["other"].pk}
    assert listed_ids(client.get(changelist, {"q": "licence sync"})) == {tickets["escalated"].pk}
    assert listed_ids(client.get(changelist, {"q": "Bolt"})) == {tickets["other"].pk}  # the partner's name
    assert listed_ids(client.get(changelist, {"escalated": "no"})) == {tickets["quiet"].pk}
    assert listed_ids(client.get(changelist, {"sla": "breaching"})) == {t.pk for t in tickets.values()}
    response = client.get(changelist)
    assert "ph-badge--ticket-escalated" in text(response) and "ph-badge--priority-normal" in text(response)


def test_ticket_list_queries_do_not_grow_with_rows(client, partner_a, rep_a, partner_ops, hours):
    signed_in(client, partner_ops)
    counts = []
    for total in (3, 30):
        while Ticket.objects.count() < total:
            services.ticket_open(partner=partner_a, actor=rep_a, subject="Load", description="x")
        client.get(url("support_ticket_changelist"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("support_ticket_changelist")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# SLA configuration ------------------------------------------------------------------------------------------------


def hours_form(**overrides):
    data = {
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "schedule": '{"1": [["09:00", "17:00"]], "2": [["09:00", "17:00"]]}',
        "holidays": "2026-12-25\n2026-12-26",
    }
    return {**data, **overrides}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"schedule": "{mon: 9-5}"}, "Write the schedule as JSON"),
        ({"schedule": '{"9": [["09:00", "17:00"]]}'}, "is not a weekday; use 1 (Monday) to 7 (Sunday)"),
        ({"schedule": '{"1": [["9", "17"]]}'}, "write times as HH:MM"),
        ({"schedule": '{"1": [["17:00", "09:00"]]}'}, "ends before it starts"),
        ({"schedule": '{"1": [["09:00", "13:00"], ["12:00", "17:00"]]}'}, "intervals overlap at 12:00"),
        ({"schedule": "{}"}, "This field is required."),
        ({"schedule": '{"1": []}'}, "at least one day with working time"),
        ({"timezone": "Europe/Atlantis"}, "is not a time zone; use an IANA name"),
        ({"holidays": "next friday"}, "is not a date; write YYYY-MM-DD"),
    ],
)
def test_business_hours_form_explains_what_to_fix(client, partner_ops, overrides, message):
    response = signed_in(client, partner_ops).post(url("support_businesshours_add"), hours_form(**overrides))
    assert response.status_code == 200
    assert message in text(response), text(response)[:200]
    assert not BusinessHours.objects.exists()


def test_business_hours_are_saved_normalised_and_shown_readably(client, partner_ops):
    signed_in(client, partner_ops)
    schedule = '{"5": [["13:30", "16:00"], ["09:00", "12:30"]], "1": [["09:00", "17:00"]]}'
    response = client.post(url("support_businesshours_add"), hours_form(schedule=schedule))
    assert response.status_code == 302, text(response)
    saved = BusinessHours.objects.get()
    assert saved.schedule == {"1": [["09:00", "17:00"]], "5": [["09:00", "12:30"], ["13:30", "16:00"]]}
    assert saved.holidays == ["2026-12-25", "2026-12-26"]
    page = text(client.get(url("support_businesshours_change", saved.pk)))
    assert '<datalist id="id_timezone-zones">' in page and '<option value="Europe/Berlin">' in page
    assert "&quot;1&quot;: [[&quot;09:00&quot;, &quot;17:00&quot;]]," in page  # one weekday per line
    listed = text(client.get(url("support_businesshours_changelist")))
    assert "Mon 09:00–17:00; Fri 09:00–12:30, 13:30–16:00" in listed


def test_schedule_summary_groups_days():
    week = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}
    assert summarize_schedule(week) == "Mon–Fri 09:00–17:00"
    assert summarize_schedule({**week, "7": [["10:00", "14:00"]]}) == "Mon–Fri 09:00–17:00; Sun 10:00–14:00"


def test_hours_in_use_are_not_deleted(client, partner_ops, hours):
    signed_in(client, partner_ops)
    response = client.post(url("support_businesshours_delete", hours.pk), {"post": "yes"}, follow=True)
    assert "Cannot delete business hours" in text(response) and "first_line normal" in text(response)
    assert BusinessHours.objects.filter(pk=hours.pk).exists()
    with pytest.raises(DomainError, match="SLA policies use these hours"):
        services.business_hours_delete(actor=partner_ops, hours=hours)  # the service says why, too


def test_sla_policies_through_the_service(client, partner_ops, hours):
    signed_in(client, partner_ops)
    form = {
        "name": "Again",
        "applies_to": "first_line",
        "priority": "normal",
        "first_response_minutes": 30,
        "resolution_minutes": 60,
        "warn_before_minutes": 10,
        "business_hours": hours.pk,
    }
    duplicate = client.post(url("support_slapolicy_add"), form)
    assert duplicate.status_code == 200 and "policy for every tier at normal priority exists" in text(duplicate)
    backwards = client.post(
        url("support_slapolicy_add"), {**form, "priority": "low", "tier": "", "resolution_minutes": 5}
    )
    assert "cannot come before the first response" in text(backwards)
    assert SlaPolicy.objects.count() == 8
    listed = text(client.get(url("support_slapolicy_changelist")))
    assert "8 h" in listed and "1 h" in listed


def test_configuration_needs_the_model_permissions(client, manager_a, agent, partner_ops):
    assert signed_in(client, manager_a).get(url("support_slapolicy_changelist")).status_code == 403
    assert signed_in(client, agent).get(url("support_slapolicy_changelist")).status_code == 200
    assert signed_in(client, agent).get(url("support_slapolicy_add")).status_code == 403
    response = signed_in(client, partner_ops).post(url("support_category_add"), {"name": "Networking", "position": 1})
    assert response.status_code == 302
    assert Category.objects.get().slug == "networking"


# Knowledge base ---------------------------------------------------------------------------------------------------


def test_vendor_article_shared_with_chosen_partners_through_grants(
    client, agent, partner_a, partner_b, admin_a, admin_b
):
    signed_in(client, agent)
    response = client.post(
        url("support_article_add"),
        {
            "title": "Rolling back build 812",
            "summary": "When the licence sync fails",
            "body": "<p>Run <code>ctl rollback</code>.</p><script>alert(1)</script>",
            "audience": "partners",
            "partners": [partner_a.pk],
            "customer_visible": "on",
            "status": ArticleStatus.PUBLISHED,
        },
    )
    assert response.status_code == 302, text(response)[:500]
    article = Article.objects.get()
    assert "<script>" not in article.body and article.partner_id is None
    assert article in selectors.article_list(user=admin_a)
    assert article not in selectors.article_list(user=admin_b)
    # Editing keeps the grants unless the list changes
    page = text(client.get(url("support_article_change", article.pk)))
    assert f'<option value="{partner_a.pk}" selected>' in page
    client.post(
        url("support_article_change", article.pk),
        {
            "title": "Rolling back build 812",
            "body": "<p>x</p>",
            "audience": "partners",
            "partners": [partner_b.pk],
            "status": ArticleStatus.PUBLISHED,
        },
    )
    assert article in selectors.article_list(user=admin_b) and article not in selectors.article_list(user=admin_a)


def test_audience_needs_its_choice(client, agent):
    response = signed_in(client, agent).post(
        url("support_article_add"), {"title": "T", "body": "<p>x</p>", "audience": "tiers", "status": "draft"}
    )
    assert "Choose the tiers that read this article." in text(response)
    assert not Article.objects.exists()


def test_partner_private_articles_are_read_only_and_scoped(client, partner_a, admin_a, agent, manager_a, manager_b):
    private = services.article_save(
        actor=admin_a, partner=partner_a, title="Acme night shift", body="<p>Call Ana</p>", status="published"
    )
    page = text(signed_in(client, agent).get(url("support_article_change", private.pk)))
    assert "Acme night shift" in page and 'name="_save"' not in page
    assert signed_in(client, manager_a).get(url("support_article_change", private.pk)).status_code == 200
    assert signed_in(client, manager_b).get(url("support_article_change", private.pk)).status_code == 404
    assert private.pk not in listed_ids(client.get(url("support_article_changelist")))


# Customers --------------------------------------------------------------------------------------------------------


def test_customers_are_read_only_and_scoped(client, partner_a, partner_b, rep_a, manager_a, manager_b, hours):
    customer = services.customer_create(actor=None, partner=partner_a, email="cio@acme-client.example", name="CIO")
    services.ticket_open(partner=partner_a, actor=None, customer=customer, subject="Help", description="x")
    services.customer_create(actor=None, partner=partner_b, email="cio@bolt-client.example")
    signed_in(client, manager_a)
    response = client.get(url("support_customer_changelist"))
    assert listed_ids(response) == {customer.pk}
    assert "?requester_customer__id__exact=" in text(response)
    assert client.get(url("support_customer_change", customer.pk)).status_code == 200
    assert client.get(url("support_customer_add")).status_code == 403
    tickets = client.get(url("support_ticket_changelist"), {"requester_customer__id__exact": customer.pk})
    assert len(listed_ids(tickets)) == 1
    signed_in(client, manager_b)
    assert client.get(url("support_customer_change", customer.pk)).status_code == 404
    assert Customer.objects.count() == 2


# The dashboard ----------------------------------------------------------------------------------------------------


def test_support_card_shows_the_users_partners_only(client, tickets, partner_a, partner_b, rep_a, manager_a):
    services.ticket_set_status(actor=rep_a, ticket=tickets["quiet"], status="resolved")
    response = signed_in(client, manager_a).get(url("index"))
    page = text(response)
    card = page.split('id="card-supportsla"')[1].split("</section>")[0]
    assert "Support: SLA attainment and first-line resolution" in page
    assert partner_a.name in card and partner_b.name not in card
    assert "100%" in card  # partner A resolved its only resolved ticket without the vendor
    assert ' style="' not in card and "<script" not in card
    assert 'href="/static/support/console.css"' in page


def test_support_card_is_absent_for_staff_without_ticket_access(client, db):
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mia")
    response = signed_in(client, marketing).get(url("index"))
    assert response.status_code == 200 and 'id="card-supportsla"' not in text(response)


def test_support_card_queries_do_not_grow_with_partners(client, partner_ops, hours):
    signed_in(client, partner_ops)
    counts = []
    for total in (3, 12):
        for i in range(total - (3 if total == 12 else 0)):
            partner = make_partner(f"Card partner {total}-{i}")
            rep = make_member(partner, MembershipRole.REP)
            ticket = services.ticket_open(partner=partner, actor=rep, subject="x", description="y")
            services.ticket_set_status(actor=rep, ticket=ticket, status="resolved")
        client.get(url("index"))
        with CaptureQueriesContext(connection) as queries:
            page = text(client.get(url("index")))
        counts.append(len(queries))
        assert len(re.findall(r'class="ph-support__bar ph-support__bar--sla"', page)) == min(total, 8) + 1
    assert counts[0] == counts[1], counts


def test_a_failing_card_provider_does_not_take_the_dashboard_down(client, partner_ops, monkeypatch):
    from partnerhub import admin_site

    def broken(request):
        raise RuntimeError("boom")

    def fine(request):
        return [DashboardCard(key="test.fine", title="Fine card", template="admin/support/dashboard_card.html")]

    monkeypatch.setattr(admin_site, "_dashboard_card_providers", list(admin_site._dashboard_card_providers))
    register_dashboard_card(broken)
    register_dashboard_card(fine)
    request = type("Request", (), {"user": partner_ops})()
    assert [card.key for card in dashboard_cards(request)][-1] == "test.fine"


# In a real browser -------------------------------------------------------------------------------------------------


@pytest.fixture
def console_browser(live_server, monkeypatch):
    """Debian's Chromium through Playwright against the live server; every page's console errors collected."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.helpers import CHROMIUM_ARGS, TIMEOUT_MS, chromium_path, console_errors

    if chromium_path() is None:
        pytest.fail("The console check needs Debian's Chromium on PATH (apt-get install chromium).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[list[str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)

        def open_page():
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            errors.append(console_errors(page))
            return page

        try:
            yield open_page, errors
        finally:
            browser.close()
            connections.close_all()


def sign_in_to_console(page, base_url, username):
    from tests.factories import PASSWORD

    page.goto(f"{base_url}/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_support_console_in_a_real_browser(live_server, console_browser, transactional_db):
    """An agent takes an escalation from the dashboard's world; partner operations edit working hours and write
    a vendor article. Every page renders under the CSP with no console error; screenshots for review."""
    from playwright.sync_api import expect

    from tests.browser.helpers import ARTIFACTS, Journey

    open_page, errors = console_browser
    acme = make_partner("Acme Resellers")
    bolt = make_partner("Bolt Distribution", partner_type="distributor")
    rep_a = make_member(acme, MembershipRole.REP, username="arnold")
    rep_b = make_member(bolt, MembershipRole.REP, username="boris")
    make_staff(StaffRole.SUPPORT_AGENT, username="sam", first_name="Sam", last_name="Agent")
    make_staff(StaffRole.PARTNER_OPERATIONS, username="olga", first_name="Olga")
    hours = BusinessHours.objects.create(name="Always", timezone="UTC", schedule=WEEKDAYS)
    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480, business_hours=hours
    )
    SlaPolicy.objects.create(
        name="Escalation normal",
        applies_to="escalation",
        priority="normal",
        first_response_minutes=30,
        resolution_minutes=240,
        business_hours=hours,
    )
    for partner, rep in ((acme, rep_a), (bolt, rep_b)):
        done = services.ticket_open(partner=partner, actor=rep, subject="Export button greyed out", description="x")
        services.ticket_set_status(actor=rep, ticket=done, status="resolved")
    ticket = services.ticket_open(
        partner=acme, actor=rep_a, subject="Licence sync fails after upgrade", description="Error 500 since 8:00."
    )
    services.ticket_reply(ticket=ticket, actor=rep_a, body="Logs attached later.", visibility=Visibility.PARTNER_NOTE)
    services.ticket_escalate(actor=rep_a, ticket=ticket, reason="The licence server answers 500.")
    services.ticket_reply(
        ticket=ticket,
        actor=User.objects.get(username="sam"),
        body="Known regression in build 812; the fix ships in 813.",
        visibility=Visibility.VENDOR_NOTE,
    )
    customer = services.customer_create(actor=None, partner=acme, email="it@acme-client.example", name="Acme IT")
    services.ticket_open(partner=acme, actor=rep_a, customer=customer, subject="Printer offline", description="x")
    journey = Journey(ARTIFACTS.parent / "screenshots" / "support-console")

    agent_page = open_page()
    with journey.step("agent-dashboard-with-support-card", agent_page):
        sign_in_to_console(agent_page, live_server.url, "sam")
        card = agent_page.locator("#card-supportsla")
        expect(card.get_by_text("SLA attainment", exact=True)).to_be_visible()
        expect(card.locator("svg.ph-support__chart")).to_be_visible()
    with journey.step("agent-ticket-list", agent_page):
        agent_page.goto(f"{live_server.url}/console/support/ticket/")
        expect(agent_page.get_by_role("link", name=ticket.reference)).to_be_visible()
        expect(agent_page.get_by_text("Export button greyed out")).to_have_count(0)  # first line only: not theirs
    with journey.step("agent-ticket-page", agent_page):
        agent_page.get_by_role("link", name=ticket.reference).click()
        expect(agent_page.get_by_text("Logs attached later.")).to_be_visible()
        expect(agent_page.get_by_text("Known regression in build 812")).to_be_visible()
        expect(agent_page.get_by_role("heading", name="SLA clocks")).to_be_visible()
    with journey.step("agent-takes-the-escalation", agent_page):
        agent_page.get_by_role("button", name="Assign to me").click()
        expect(agent_page.get_by_text("You now work 1 escalation.")).to_be_visible()

    ops = open_page()
    with journey.step("ops-business-hours-error", ops):
        sign_in_to_console(ops, live_server.url, "olga")
        ops.goto(f"{live_server.url}/console/support/businesshours/add/")
        ops.get_by_label("Name").fill("Berlin office")
        ops.get_by_label("Timezone").fill("Europe/Berlin")
        ops.get_by_label("Schedule").fill('{"1": [["09:00", "13:00"], ["12:00", "17:00"]]}')
        ops.get_by_role("button", name="Save", exact=True).click()
        expect(ops.get_by_text("Day 1: intervals overlap at 12:00.")).to_be_visible()
    with journey.step("ops-business-hours-saved", ops):
        ops.get_by_label("Schedule").fill('{"1": [["09:00", "17:00"]], "2": [["09:00", "17:00"]]}')
        ops.get_by_role("button", name="Save", exact=True).click()
        expect(ops.get_by_text("Mon–Tue 09:00–17:00")).to_be_visible()
    with journey.step("ops-article-form", ops):
        ops.goto(f"{live_server.url}/console/support/article/add/")
        ops.get_by_label("Title").fill("Rolling back a licence sync")
        ops.get_by_label("Body").fill("<p>Run <code>ctl licence resync</code>.</p>")
        ops.get_by_label("Audience").select_option("partners")
        ops.locator("#id_partners_from").select_option(label="Acme Resellers")
        ops.locator("#id_partners_add").click()
        ops.get_by_label("Status").select_option("published")
        expect(ops.locator("#id_partners_to option")).to_have_text(["Acme Resellers"])
    with journey.step("ops-writes-a-vendor-article", ops):
        ops.get_by_role("button", name="Save", exact=True).click()
        expect(ops.locator("#result_list").get_by_role("link", name="Rolling back a licence sync")).to_be_visible()
    with journey.step("ops-sla-policies", ops):
        ops.goto(f"{live_server.url}/console/support/slapolicy/")
        expect(ops.get_by_role("link", name="Escalation normal")).to_be_visible()
    with journey.step("ops-customers", ops):
        ops.goto(f"{live_server.url}/console/support/customer/")
        expect(ops.get_by_role("link", name="it@acme-client.example")).to_be_visible()
    with journey.step("ops-dashboard", ops):
        ops.goto(f"{live_server.url}/console/")
        expect(
            ops.locator("#card-supportsla").get_by_role("link", name=re.compile(r"^Bolt Distribution: 1 ticket"))
        ).to_be_visible()

    assert Ticket.objects.get(pk=ticket.pk).vendor_assignee.username == "sam"
    article = Article.objects.get(title="Rolling back a licence sync")
    assert article in selectors.article_list(user=rep_a) and article not in selectors.article_list(user=rep_b)
    assert [error for page_errors in errors for error in page_errors] == []
