"""The support REST API, role by role: tickets with their thread, files and history; customers; the knowledge
base; SLA configuration; partner metrics. Partner isolation is proven with the reusable suite, vendor notes are
proven absent from every partner-facing answer, and list query counts are pinned."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from partnerhub.choices import MembershipRole, StaffRole
from partnerhub.models import Membership
from support import services, sla
from support.choices import ArticleAudience, ArticleStatus, Priority, TicketStatus, Visibility
from support.models import (
    Article,
    BusinessHours,
    Category,
    Customer,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)
from tests.conftest import client_for
from tests.factories import TierFactory, make_member, make_partner, make_staff
from tests.isolation import APIIsolationTests, ForeignKeyCreateIsolationTests, results, session_client

pytestmark = pytest.mark.django_db

VENDOR_SECRET = "Qvendorsecret"  # appears only in vendor notes, their files and vendor-only history
WEEKDAYS = {str(day): [["00:00", "24:00"]] for day in range(1, 8)}


# Helpers and fixtures ------------------------------------------------------------------------------------------


def text_file(name="notes.txt", content=b"Steps to reproduce:\n1. Open the dashboard\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def png_file(name="screen.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def ids(response) -> set[int]:
    return {row["id"] for row in results(response)}


def body_of(response) -> str:
    return response.content.decode("utf-8", errors="replace")


def open_ticket(partner, actor, subject="Dashboard shows no data", **kwargs) -> Ticket:
    return services.ticket_open(
        partner=partner, actor=actor, subject=subject, description="Since this morning the charts stay empty.", **kwargs
    )


def admin_of(partner):
    return Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN, is_active=True).first().user


@pytest.fixture
def agent(db):
    """A vendor support agent (second line: escalated tickets only)."""
    return make_staff(StaffRole.SUPPORT_AGENT, username="sam", email="sam@vendor.example")


@pytest.fixture
def policies(db):
    """Around-the-clock SLA policies for the first line and for escalations."""
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
def ticket_a(partner_a, admin_a, rep_a, policies):
    return open_ticket(partner_a, rep_a)


@pytest.fixture
def escalated_with_vendor_note(ticket_a, rep_a, agent):
    """Partner A's ticket, escalated; the vendor agent took it and wrote a vendor note with a file."""
    services.ticket_escalate(actor=rep_a, ticket=ticket_a, reason="Needs the vendor's engineers.")
    services.ticket_vendor_assign(actor=agent, ticket=ticket_a, agent=agent)
    note = services.ticket_reply(
        ticket=ticket_a,
        actor=agent,
        visibility=Visibility.VENDOR_NOTE,
        body=f"{VENDOR_SECRET}: known bug in build 812, do not tell the partner yet.",
        attachments=[text_file(f"{VENDOR_SECRET}.txt", f"{VENDOR_SECRET} internal log".encode())],
    )
    services.ticket_reply(ticket=ticket_a, actor=agent, body="We are looking into it.")
    ticket_a.refresh_from_db()
    return ticket_a, note


# Isolation: partner B's users never reach partner A's support data -----------------------------------------------


class TestTicketIsolation(APIIsolationTests, ForeignKeyCreateIsolationTests):
    list_url = "/api/v1/tickets/"
    model = Ticket
    detail_methods = ("GET", "PATCH")  # tickets are closed, never replaced or deleted
    fk_create_field = "partner"
    creators = ("rep_b", "admin_b")  # channel managers answer tickets, they do not open them

    def make_object(self, partner):
        rep = Membership.objects.filter(partner=partner, role=MembershipRole.REP).first().user
        ticket = open_ticket(partner, rep, attachments=[text_file("acme-logs.txt")])
        self.attachment = TicketAttachment.objects.get(ticket=ticket)
        return ticket

    @property
    def object_actions(self):
        return (
            ("POST", "escalate/", {"reason": "Competitor wants in"}, "json"),
            ("POST", "assign-vendor/", {"agent": None}, "json"),
            ("POST", "rate/", {"rating": 1}, "json"),
            ("GET", "messages/", None, "json"),
            ("POST", "messages/", {"body": "Written by a competitor"}, "json"),
            ("GET", "attachments/", None, "json"),
            ("POST", "attachments/", lambda: {"files": [text_file()]}, "multipart"),
            ("GET", f"attachments/{self.attachment.pk}/download/", None, "json"),
            ("GET", "events/", None, "json"),
        )

    def update_payload(self, obj):
        return {"status": "closed", "priority": "urgent"}

    def create_payload(self, partner):
        return {"partner": partner.pk, "subject": "Printer on fire", "description": "Smoke everywhere."}

    def snapshot(self, obj):
        data = super().snapshot(obj)
        return {
            **(data or {}),
            "messages": TicketMessage.objects.filter(ticket_id=obj.pk).count(),
            "files": TicketAttachment.objects.filter(ticket_id=obj.pk).count(),
            "events": TicketEvent.objects.filter(ticket_id=obj.pk).count(),
        }


class TestCustomerIsolation(APIIsolationTests, ForeignKeyCreateIsolationTests):
    list_url = "/api/v1/customers/"
    model = Customer
    detail_methods = ("GET",)
    fk_create_field = "partner"
    creators = ("rep_b", "admin_b")

    def make_object(self, partner):
        return services.customer_create(actor=None, partner=partner, email="cfo@acme-customer.example", name="Acme")

    def update_payload(self, obj):
        return {"email": "attacker@bolt.example"}

    def create_payload(self, partner):
        return {"partner": partner.pk, "email": "new.customer@example.com", "name": "New Customer"}


class TestPrivateArticleIsolation(APIIsolationTests, ForeignKeyCreateIsolationTests):
    list_url = "/api/v1/articles/"
    model = Article
    detail_methods = ("GET", "PATCH")  # archived, never deleted
    object_actions = (("POST", "vote/", {"helpful": False}, "json"),)
    fk_create_field = "partner"
    creators = ("admin_b",)  # partner admins write their partner's articles; reps and channel managers do not

    def make_object(self, partner):
        return services.article_save(
            actor=admin_of(partner),
            partner=partner,
            title="Acme runbook: resetting the reseller portal",
            body="<p>Call the night shift first.</p>",
            status=ArticleStatus.PUBLISHED,
        )

    def update_payload(self, obj):
        return {"title": "Defaced", "status": "archived"}

    def create_payload(self, partner):
        return {"partner": partner.pk, "title": "Our escalation ladder", "body": "<p>Ring twice.</p>"}


def test_every_partner_facing_support_route_has_an_isolation_suite():
    """A new route on the support router fails here until it inherits the isolation suite (or is exempt)."""
    from support.api.urls import router

    covered = {suite.list_url for suite in APIIsolationTests.__subclasses__() if suite.__module__ == __name__}
    # Program-wide configuration (no partner owns it; writes pinned below) and aggregates over the caller's
    # own partner scope (test_partner_metrics_follow_the_callers_scope).
    exempt = {"/api/v1/sla-policies/", "/api/v1/business-hours/", "/api/v1/categories/", "/api/v1/metrics/partners/"}
    registered = {f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry}
    assert registered - exempt == covered


def test_attachment_of_partner_a_is_not_reachable_through_partner_bs_own_ticket(partner_a, partner_b, rep_b, policies):
    # Given a file on partner A's ticket and partner B's own ticket
    victim = open_ticket(partner_a, make_member(partner_a), attachments=[text_file("acme.txt", b"Acme secret")])
    own = open_ticket(partner_b, rep_b)
    file_a = TicketAttachment.objects.get(ticket=victim)
    client = client_for(rep_b)
    # When partner B asks for A's file id under its own ticket, then it answers like a missing file
    answer = client.get(f"/api/v1/tickets/{own.pk}/attachments/{file_a.pk}/download/")
    missing = client.get(f"/api/v1/tickets/{own.pk}/attachments/987654321/download/")
    assert answer.status_code == missing.status_code == 404
    assert answer.content == missing.content
    # and B's own lists of messages and files hold nothing of A's
    assert file_a.pk not in {row["id"] for row in results(client.get(f"/api/v1/tickets/{own.pk}/attachments/"))}
    messages = results(client.get(f"/api/v1/tickets/{own.pk}/messages/"))
    assert {m["ticket"] for m in messages} == {own.pk}


def test_search_results_never_hold_partner_a_rows(partner_a, partner_b, admin_a, admin_b, manager_b, policies):
    open_ticket(partner_a, admin_a, subject="Zyqxal firewall meltdown")
    services.article_save(
        actor=admin_a,
        partner=partner_a,
        title="Zyqxal firewall recovery",
        body="<p>Zyqxal steps</p>",
        status="published",
    )
    for who in (admin_b, manager_b):
        client = client_for(who)
        assert results(client.get("/api/v1/tickets/", {"q": "Zyqxal firewall"})) == []
        assert client.get("/api/v1/articles/search/", {"q": "Zyqxal"}).json()["results"] == []
        assert "Zyqxal" not in body_of(client.get("/api/v1/articles/", {"page_size": 200}))
        assert "Zyqxal" not in body_of(client.get("/api/v1/customers/", {"q": "Zyqxal"}))


# Vendor notes never reach partner users ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_a", "rep_a"])
@pytest.mark.parametrize("auth", ["token", "session"])
def test_vendor_notes_never_appear_in_any_partner_facing_answer(request, escalated_with_vendor_note, who, auth):
    # Given an escalated ticket with a vendor note, its file and vendor-only history
    ticket, note = escalated_with_vendor_note
    secret_file = TicketAttachment.objects.get(message=note)
    user = request.getfixturevalue(who)
    client = client_for(user) if auth == "token" else session_client(user)
    base = f"/api/v1/tickets/{ticket.pk}/"

    # When a partner user reads everything the API offers about the ticket
    answers = {
        "list": client.get("/api/v1/tickets/", {"page_size": 200}),
        "search": client.get("/api/v1/tickets/", {"q": "known bug build"}),
        "search by reference": client.get("/api/v1/tickets/", {"q": ticket.reference}),
        "retrieve": client.get(base),
        "messages": client.get(f"{base}messages/", {"page_size": 200}),
        "attachments": client.get(f"{base}attachments/", {"page_size": 200}),
        "events": client.get(f"{base}events/", {"page_size": 200}),
        "article search": client.get("/api/v1/articles/search/", {"q": "known bug build"}),
        "reply": client.post(f"{base}messages/", {"body": "Any news?"}, format="json"),
        "patch": client.patch(base, {"priority": "high"}, format="json"),
    }

    # Then no answer holds the note, its file, the vendor agent or the vendor-only history
    for name, response in answers.items():
        assert response.status_code in (200, 201), (name, response.content)
        text = body_of(response)
        assert VENDOR_SECRET not in text, name
        assert "vendor_note" not in text, name
        assert secret_file.original_name not in text, name
        assert "sam@vendor.example" not in text, name  # the vendor agent who took the ticket
    detail = answers["retrieve"].json()
    assert detail["vendor_assignee"] is None
    assert {c["scope"] for c in detail["sla_clocks"]} == {"first_line"}
    kinds = {e["kind"] for e in results(answers["events"])}
    assert "escalated" in kinds and "vendor_assigned" not in kinds
    public = [m for m in results(answers["messages"]) if m["visibility"] == "public"]
    assert any(m["author_type"] == "vendor" for m in public)  # the vendor's public reply is there
    # and the note's file cannot be fetched, exactly like a missing one
    answer = client.get(f"{base}attachments/{secret_file.pk}/download/")
    missing = client.get(f"{base}attachments/987654321/download/")
    assert answer.status_code == missing.status_code == 404
    assert answer.content == missing.content


def test_vendor_staff_read_the_vendor_note_and_its_history(escalated_with_vendor_note, agent):
    ticket, note = escalated_with_vendor_note
    client = client_for(agent)
    messages = results(client.get(f"/api/v1/tickets/{ticket.pk}/messages/"))
    assert note.pk in {m["id"] for m in messages}
    detail = client.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["vendor_assignee"]["email"] == "sam@vendor.example"
    assert {c["scope"] for c in detail["sla_clocks"]} == {"first_line", "escalation"}
    events = {e["kind"] for e in results(client.get(f"/api/v1/tickets/{ticket.pk}/events/"))}
    assert "vendor_assigned" in events
    secret_file = TicketAttachment.objects.get(message=note)
    download = client.get(f"/api/v1/tickets/{ticket.pk}/attachments/{secret_file.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == f"{VENDOR_SECRET} internal log".encode()


def test_partner_users_cannot_write_vendor_notes(ticket_a, rep_a):
    response = client_for(rep_a).post(
        f"/api/v1/tickets/{ticket_a.pk}/messages/", {"body": "sneaky", "visibility": "vendor_note"}, format="json"
    )
    assert response.status_code == 403
    assert "vendor staff" in response.json()["errors"][0]["detail"]
    assert not TicketMessage.objects.filter(ticket=ticket_a, visibility=Visibility.VENDOR_NOTE).exists()


# Support agents work escalations only ----------------------------------------------------------------------------


def test_support_agents_see_only_escalated_tickets(partner_a, partner_b, rep_a, rep_b, agent, policies):
    # Given first-line tickets of two partners, one of them escalated
    quiet = open_ticket(partner_a, rep_a, subject="Password reset mail is slow")
    escalated = open_ticket(partner_b, rep_b, subject="Licence server down")
    services.ticket_escalate(actor=rep_b, ticket=escalated, reason="Our licence server answers 500.")
    client = client_for(agent)

    # Then the agent lists and reaches the escalated one only
    assert ids(client.get("/api/v1/tickets/")) == {escalated.pk}
    assert ids(client.get("/api/v1/tickets/", {"escalated": "false"})) == set()
    assert client.get(f"/api/v1/tickets/{quiet.pk}/").status_code == 404
    assert client.get(f"/api/v1/tickets/{quiet.pk}/messages/").status_code == 404
    assert client.post(f"/api/v1/tickets/{quiet.pk}/messages/", {"body": "Hi"}, format="json").status_code == 404
    assert client.get(f"/api/v1/tickets/{escalated.pk}/").status_code == 200

    # And once partner A escalates its ticket, the agent sees it and takes it
    services.ticket_escalate(actor=rep_a, ticket=quiet, reason="Mail relay is the vendor's.")
    assert ids(client.get("/api/v1/tickets/")) == {escalated.pk, quiet.pk}
    taken = client.post(f"/api/v1/tickets/{quiet.pk}/assign-vendor/", {"agent": agent.pk}, format="json")
    assert taken.status_code == 200, taken.content
    assert taken.json()["vendor_assignee"]["id"] == agent.pk


def test_channel_managers_see_their_partners_tickets_but_do_not_change_them(ticket_a, manager_a, manager_b):
    assert ids(client_for(manager_a).get("/api/v1/tickets/")) == {ticket_a.pk}
    assert ids(client_for(manager_b).get("/api/v1/tickets/")) == set()
    refused = client_for(manager_a).patch(f"/api/v1/tickets/{ticket_a.pk}/", {"priority": "urgent"}, format="json")
    assert refused.status_code == 403
    assert Ticket.objects.get(pk=ticket_a.pk).priority == Priority.NORMAL


# Ticket journeys --------------------------------------------------------------------------------------------------


def test_partner_rep_opens_works_escalates_and_rates_a_ticket(partner_a, admin_a, rep_a, agent, policies):
    client = client_for(rep_a)
    customer = services.customer_create(actor=rep_a, partner=partner_a, email="it@customer.example", name="Cust IT")

    # Given a ticket opened through the API for a customer, assigned to a teammate
    created = client.post(
        "/api/v1/tickets/",
        {
            "partner": partner_a.pk,
            "subject": "VPN drops every hour",
            "description": "Since the update the tunnel drops.",
            "priority": "high",
            "customer": customer.pk,
            "assignee": admin_a.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert ticket["reference"] == f"T-{ticket['id']:06d}"
    assert ticket["channel"] == "api" and ticket["status"] == "new" and ticket["priority"] == "high"
    assert ticket["requester_customer"]["email"] == "it@customer.example"
    assert ticket["assignee"]["id"] == admin_a.pk
    assert {(c["scope"], c["target"]) for c in ticket["sla_clocks"]} == {
        ("first_line", "first_response"),
        ("first_line", "resolution"),
    }
    assert ticket["sla_due_at"] is not None
    url = f"/api/v1/tickets/{ticket['id']}/"

    # When the rep answers publicly, the first response clock is met and the ticket opens
    reply = client.post(f"{url}messages/", {"body": "Which client version do you run?"}, format="json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["author_type"] == "partner" and reply.json()["visibility"] == "public"
    detail = client.get(url).json()
    assert detail["status"] == "open" and detail["first_response_at"] is not None
    assert {c["state"] for c in detail["sla_clocks"] if c["target"] == "first_response"} == {"met"}

    # And a partner note with a screenshot, then priority and status changes in one request
    upload = client.post(
        f"{url}attachments/", {"files": [png_file()], "visibility": "partner_note"}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["visibility"] == "partner_note"
    [stored] = upload.json()["attachments"]
    assert stored["content_type"] == "image/png" and stored["name"] == "screen.png"
    assert upload.json()["body"] == "<p>Attached: screen.png</p>"
    changed = client.patch(url, {"priority": "urgent", "status": "pending", "note": "Waiting for logs"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["status"] == "pending" and changed.json()["priority"] == "urgent"
    assert {c["state"] for c in changed.json()["sla_clocks"] if c["target"] == "resolution"} == {"paused"}

    # And it is escalated to the vendor with a reason
    escalated = client.post(f"{url}escalate/", {"reason": "Tunnel crash dump attached."}, format="json")
    assert escalated.status_code == 200, escalated.content
    assert escalated.json()["status"] == "escalated" and escalated.json()["escalated"] is True
    assert {c["scope"] for c in escalated.json()["sla_clocks"]} == {"first_line"}  # the vendor's clocks are theirs
    assert SlaClock.objects.filter(ticket_id=ticket["id"], scope="escalation").count() == 2

    # Then the vendor resolves it and the requester rates it
    Ticket.objects.filter(pk=ticket["id"]).update(requester_user=rep_a, requester_customer=None)
    services.ticket_set_status(actor=agent, ticket=Ticket.objects.get(pk=ticket["id"]), status="resolved")
    rated = client.post(f"{url}rate/", {"rating": 5, "comment": "Quick and clear."}, format="json")
    assert rated.status_code == 200, rated.content
    assert rated.json()["satisfaction"] == 5
    kinds = [e["kind"] for e in results(client.get(f"{url}events/"))]
    assert kinds[0] == "created" and "escalated" in kinds and kinds[-1] == "rated"


def test_attachment_download_is_an_attachment_that_is_never_sniffed(ticket_a, rep_a):
    client = client_for(rep_a)
    sent = client.post(
        f"/api/v1/tickets/{ticket_a.pk}/attachments/",
        {"files": [text_file("trace.txt", b"<b>not html</b> trace"), png_file()], "body": "Two files"},
        format="multipart",
    )
    assert sent.status_code == 201, sent.content
    listed = results(client.get(f"/api/v1/tickets/{ticket_a.pk}/attachments/"))
    assert [row["name"] for row in listed] == ["trace.txt", "screen.png"]
    download = client.get(listed[0]["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/plain")
    assert download["Content-Disposition"].startswith("attachment;") and "trace.txt" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download["Cache-Control"]
    assert b"".join(download.streaming_content) == b"<b>not html</b> trace"


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>", "not an accepted file"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not an accepted"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "not an accepted file"),
        ("fake.png", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", "not an accepted file"),
    ],
)
def test_dangerous_uploads_are_refused_and_nothing_is_saved(ticket_a, rep_a, name, content, phrase):
    before = (TicketMessage.objects.count(), TicketAttachment.objects.count())
    response = client_for(rep_a).post(
        f"/api/v1/tickets/{ticket_a.pk}/attachments/", {"files": [text_file(name, content)]}, format="multipart"
    )
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == "attachments" and phrase in error["detail"]
    assert (TicketMessage.objects.count(), TicketAttachment.objects.count()) == before


def test_a_refused_change_in_a_patch_saves_none_of_it(ticket_a, rep_a, partner_b):
    outsider = make_member(partner_b)
    response = client_for(rep_a).patch(
        f"/api/v1/tickets/{ticket_a.pk}/",
        {"priority": "urgent", "status": "resolved", "assignee": outsider.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "assignee"  # another partner's person reads as missing
    ticket = Ticket.objects.get(pk=ticket_a.pk)
    assert (ticket.priority, ticket.status) == (Priority.NORMAL, TicketStatus.NEW)
    # A teammate of the ticket's partner is fine, but an illegal status change then undoes the priority too
    services.ticket_set_status(actor=rep_a, ticket=ticket, status="closed")
    refused = client_for(rep_a).patch(
        f"/api/v1/tickets/{ticket_a.pk}/", {"priority": "urgent", "status": "pending"}, format="json"
    )
    assert refused.status_code == 409, refused.content
    assert refused.json()["errors"][0]["attr"] == "status"
    assert Ticket.objects.get(pk=ticket_a.pk).priority == Priority.NORMAL


def test_ticket_filters(partner_a, partner_b, admin_a, rep_a, rep_b, policies):
    high = open_ticket(partner_a, rep_a, subject="Billing export fails", priority="high", assignee=admin_a)
    low = open_ticket(partner_a, rep_a, subject="Typo on invoice", priority="low")
    escalated = open_ticket(partner_a, rep_a, subject="Cluster wedged")
    services.ticket_escalate(actor=rep_a, ticket=escalated, reason="Vendor bug.")
    SlaClock.objects.exclude(ticket=low).update(due_at=timezone.now() + dt.timedelta(days=2))
    SlaClock.objects.filter(ticket=low).update(due_at=timezone.now() + dt.timedelta(hours=1))
    for ticket in (high, low, escalated):
        sla.refresh_due(ticket)  # the clocks changed behind the services' back: store their due times
    client = client_for(admin_a)

    assert ids(client.get("/api/v1/tickets/", {"priority": "high"})) == {high.pk}
    assert ids(client.get("/api/v1/tickets/", {"assignee": admin_a.pk})) == {high.pk}
    assert ids(client.get("/api/v1/tickets/", {"escalated": "true"})) == {escalated.pk}
    assert ids(client.get("/api/v1/tickets/", {"status": "escalated"})) == {escalated.pk}
    assert ids(client.get("/api/v1/tickets/", {"q": "billing export"})) == {high.pk}
    assert ids(client.get("/api/v1/tickets/", {"q": low.reference})) == {low.pk}
    assert ids(client.get("/api/v1/tickets/", {"breaching": "true"})) == {low.pk}
    assert low.pk not in ids(client.get("/api/v1/tickets/", {"breaching": "false"}))
    assert ids(client.get("/api/v1/tickets/", {"partner": partner_b.pk})) == set()


# Customers --------------------------------------------------------------------------------------------------------


def test_partner_users_add_and_find_their_customers(partner_a, rep_a, manager_a):
    client = client_for(rep_a)
    created = client.post(
        "/api/v1/customers/",
        {"partner": partner_a.pk, "email": "Ops@Globex.example", "name": "Globex Ops", "company": "Globex"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["email"] == "ops@globex.example" and created.json()["email_verified_at"] is None
    again = client.post("/api/v1/customers/", {"partner": partner_a.pk, "email": "OPS@globex.example"}, format="json")
    assert again.status_code == 409 and again.json()["errors"][0]["attr"] == "email"
    assert ids(client.get("/api/v1/customers/", {"q": "globex"})) == {created.json()["id"]}
    assert ids(client.get("/api/v1/customers/", {"verified": "true"})) == set()
    # Vendor staff read them in their scope but do not add any
    assert ids(client_for(manager_a).get("/api/v1/customers/")) == {created.json()["id"]}
    refused = client_for(manager_a).post("/api/v1/customers/", {"partner": partner_a.pk, "email": "x@y.example"})
    assert refused.status_code == 403
    assert Customer.objects.count() == 1


# Knowledge base ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ops(partner_ops):
    return partner_ops


def test_vendor_articles_reach_the_partners_and_tiers_chosen(partner_a, partner_b, admin_a, admin_b, ops, agent):
    gold = TierFactory(name="Gold")
    services_tier_partner = make_partner("Gilded Partners", tier=gold)
    gold_admin = make_member(services_tier_partner, MembershipRole.ADMIN)
    staff = client_for(agent)

    for_a = staff.post(
        "/api/v1/articles/",
        {
            "title": "Rolling back build 812",
            "body": "<p>Roll back with <code>ctl rollback</code>.</p><script>alert(1)</script>",
            "audience": "partners",
            "partners": [partner_a.pk],
            "status": "published",
        },
        format="json",
    )
    assert for_a.status_code == 201, for_a.content
    assert for_a.json()["partners"] == [partner_a.pk] and for_a.json()["partner"] is None
    assert "<script>" not in for_a.json()["body"]
    for_gold = staff.post(
        "/api/v1/articles/",
        {"title": "Gold escalation line", "body": "<p>Call us.</p>", "audience": "tiers", "tiers": [gold.pk]},
        format="json",
    )
    assert for_gold.status_code == 201 and for_gold.json()["status"] == "draft"
    published = staff.patch(f"/api/v1/articles/{for_gold.json()['id']}/", {"status": "published"}, format="json")
    assert published.status_code == 200 and published.json()["published_at"] is not None

    a_sees = ids(client_for(admin_a).get("/api/v1/articles/"))
    b_sees = ids(client_for(admin_b).get("/api/v1/articles/"))
    gold_sees = ids(client_for(gold_admin).get("/api/v1/articles/"))
    assert (for_a.json()["id"] in a_sees, for_a.json()["id"] in b_sees) == (True, False)
    assert (for_gold.json()["id"] in gold_sees, for_gold.json()["id"] in a_sees) == (True, False)
    # Partner users never learn who else an article is shared with
    row = client_for(admin_a).get(f"/api/v1/articles/{for_a.json()['id']}/").json()
    assert row["partners"] is None and row["tiers"] is None
    # Sharing is changed by replacing the list
    moved = staff.patch(f"/api/v1/articles/{for_a.json()['id']}/", {"partners": [partner_b.pk]}, format="json")
    assert moved.status_code == 200 and moved.json()["partners"] == [partner_b.pk]
    assert for_a.json()["id"] in ids(client_for(admin_b).get("/api/v1/articles/"))
    assert for_a.json()["id"] not in ids(client_for(admin_a).get("/api/v1/articles/"))


def test_partner_admins_write_private_articles_and_reps_read_published_ones(partner_a, admin_a, rep_a, admin_b):
    client = client_for(admin_a)
    draft = client.post(
        "/api/v1/articles/",
        {"partner": partner_a.pk, "title": "Our on-call rota", "body": "<p>Week 1: Ana</p>"},
        format="json",
    )
    assert draft.status_code == 201, draft.content
    assert draft.json()["audience"] == "private" and draft.json()["status"] == "draft"
    article_id = draft.json()["id"]
    assert article_id in ids(client.get("/api/v1/articles/"))  # the admin sees the draft
    assert article_id not in ids(client_for(rep_a).get("/api/v1/articles/"))  # the rep does not, yet
    assert client.patch(f"/api/v1/articles/{article_id}/", {"status": "published"}, format="json").status_code == 200
    assert article_id in ids(client_for(rep_a).get("/api/v1/articles/"))
    assert article_id not in ids(client_for(admin_b).get("/api/v1/articles/"))
    # Reps read but do not write; partner articles cannot be shared
    refused = client_for(rep_a).patch(f"/api/v1/articles/{article_id}/", {"title": "Mine now"}, format="json")
    assert refused.status_code == 403
    shared = client.patch(f"/api/v1/articles/{article_id}/", {"audience": "all"}, format="json")
    assert shared.status_code == 400 and shared.json()["errors"][0]["attr"] == "audience"
    assert Article.objects.get(pk=article_id).title == "Our on-call rota"
    assert (
        client_for(rep_a)
        .post("/api/v1/articles/", {"partner": partner_a.pk, "title": "x", "body": "y"}, format="json")
        .status_code
        == 403
    )


def test_article_search_ranks_and_highlights_safely(partner_a, admin_a, agent):
    for title, body in (
        ("Certificate renewal", "<p>Renew the <b>certificate</b> before it expires. Certificate, certificate.</p>"),
        ("Mail relay", "<p>The relay needs a certificate too.</p>"),
        ("Printer drivers", "<p>Nothing to see.</p>"),
    ):
        services.article_save(actor=agent, title=title, body=body, status="published")
    services.article_save(
        actor=agent,
        title="<img src=x onerror=alert(1)> certificate",
        body="<p>certificate &lt;script&gt;</p>",
        status="published",
    )
    response = client_for(admin_a).get("/api/v1/articles/search/", {"q": "certificate", "limit": 3})
    assert response.status_code == 200, response.content
    hits = response.json()["results"]
    assert len(hits) == 3 and hits[0]["title"] == "Certificate renewal"
    assert [h["rank"] for h in hits] == sorted((h["rank"] for h in hits), reverse=True)
    assert all("<mark>" in h["headline"].lower() for h in hits)
    assert all("<script" not in h["headline"] and "<img" not in h["headline"] for h in hits)
    assert client_for(admin_a).get("/api/v1/articles/search/").status_code == 400
    assert client_for(admin_a).get("/api/v1/articles/search/", {"q": "x", "limit": 0}).status_code == 400


def test_votes_count_once_per_person(partner_a, admin_a, rep_a, agent):
    article = services.article_save(actor=agent, title="Helpful", body="<p>Yes</p>", status="published")
    url = f"/api/v1/articles/{article.pk}/vote/"
    assert client_for(admin_a).post(url, {"helpful": True}, format="json").json()["helpful_count"] == 1
    assert client_for(admin_a).post(url, {"helpful": True}, format="json").json()["helpful_count"] == 1
    final = client_for(rep_a).post(url, {"helpful": False}, format="json").json()
    assert (final["helpful_count"], final["unhelpful_count"]) == (1, 1)


# Program configuration --------------------------------------------------------------------------------------------


def test_everyone_reads_sla_configuration_and_only_staff_with_permissions_write_it(rep_a, manager_a, ops, policies):
    for path in ("/api/v1/sla-policies/", "/api/v1/business-hours/", "/api/v1/categories/"):
        assert client_for(rep_a).get(path).status_code == 200
    body = {"name": "Hardware", "position": 2}
    assert client_for(rep_a).post("/api/v1/categories/", body, format="json").status_code == 403
    assert client_for(manager_a).post("/api/v1/categories/", body, format="json").status_code == 403
    created = client_for(ops).post("/api/v1/categories/", body, format="json")
    assert created.status_code == 201 and created.json()["slug"] == "hardware"
    clash = client_for(ops).post("/api/v1/categories/", {"name": "hardware"}, format="json")
    assert clash.status_code == 409 and Category.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "attr", "phrase"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"schedule": {"8": [["09:00", "17:00"]]}}, "schedule", "not a weekday"),
        ({"schedule": {"1": [["17:00", "09:00"]]}}, "schedule", "ends before it starts"),
        ({"schedule": {"1": [["9am", "5pm"]]}}, "schedule", "HH:MM"),
        ({"schedule": {"1": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "schedule", "overlap"),
        ({"schedule": {"1": []}}, "schedule", "at least one day"),
        ({"schedule": {"1": [["09:00"]]}}, "schedule.1.0", "at least 2"),
        ({"holidays": ["25.12.2026"]}, "holidays.0", "Date has wrong format"),
    ],
)
def test_business_hours_are_validated_with_clear_messages(ops, payload, attr, phrase):
    body = {"name": "Berlin", "timezone": "Europe/Berlin", "schedule": {"1": [["09:00", "17:00"]]}, **payload}
    response = client_for(ops).post("/api/v1/business-hours/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == attr and phrase in error["detail"], error
    assert not BusinessHours.objects.exists()


def test_business_hours_and_policies_through_services(ops, policies):
    client = client_for(ops)
    hours = client.post(
        "/api/v1/business-hours/",
        {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "schedule": {"5": [["13:30", "16:00"], ["09:00", "12:30"]], "1": [["09:00", "17:00"]]},
            "holidays": ["2026-12-25"],
        },
        format="json",
    )
    assert hours.status_code == 201, hours.content
    assert hours.json()["schedule"] == {"1": [["09:00", "17:00"]], "5": [["09:00", "12:30"], ["13:30", "16:00"]]}
    duplicate = client.post(
        "/api/v1/sla-policies/",
        {
            "name": "Again",
            "applies_to": "first_line",
            "priority": "normal",
            "first_response_minutes": 30,
            "resolution_minutes": 60,
        },
        format="json",
    )
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["attr"] == "priority"
    backwards = client.post(
        "/api/v1/sla-policies/",
        {
            "name": "Gold urgent",
            "applies_to": "first_line",
            "priority": "urgent",
            "tier": TierFactory().pk,
            "first_response_minutes": 120,
            "resolution_minutes": 60,
        },
        format="json",
    )
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["attr"] == "resolution_minutes"
    in_use = client.delete(f"/api/v1/business-hours/{policies.pk}/")
    assert in_use.status_code == 409 and BusinessHours.objects.filter(pk=policies.pk).exists()
    assert client.delete(f"/api/v1/business-hours/{hours.json()['id']}/").status_code == 204


# Metrics ----------------------------------------------------------------------------------------------------------


def test_partner_metrics_follow_the_callers_scope(
    partner_a, partner_b, rep_a, rep_b, admin_a, manager_a, ops, policies
):
    # Given partner A resolved one ticket itself and one after escalation; partner B has none resolved
    first = open_ticket(partner_a, rep_a)
    services.ticket_set_status(actor=rep_a, ticket=first, status="resolved")
    second = open_ticket(partner_a, rep_a)
    services.ticket_escalate(actor=rep_a, ticket=second, reason="Vendor bug.")
    services.ticket_set_status(actor=rep_a, ticket=second, status="resolved")
    open_ticket(partner_b, rep_b)

    rows = {r["partner"]: r for r in results(client_for(ops).get("/api/v1/metrics/partners/"))}
    assert set(rows) == {partner_a.pk, partner_b.pk}
    assert rows[partner_a.pk]["first_line_resolution"] == 0.5
    assert rows[partner_a.pk]["sla_attainment"] == 1.0
    assert rows[partner_b.pk]["first_line_resolution"] is None
    assert {r["partner"] for r in results(client_for(admin_a).get("/api/v1/metrics/partners/"))} == {partner_a.pk}
    assert {r["partner"] for r in results(client_for(manager_a).get("/api/v1/metrics/partners/"))} == {partner_a.pk}
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert client_for(ops).get("/api/v1/metrics/partners/", {"since": tomorrow}).status_code == 400
    assert client_for(ops).get("/api/v1/metrics/partners/", {"since": "last week"}).status_code == 400
    old = client_for(ops).get("/api/v1/metrics/partners/", {"since": "2020-01-01"})
    assert old.status_code == 200 and results(old)[0]["since"].startswith("2020-01-01")


# Bad input: a clear 4xx, nothing saved ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "status", "attr", "phrase"),
    [
        ("", {"subject": "", "description": "x"}, 400, "subject", "blank"),
        ("", {"subject": "x" * 201, "description": "x"}, 400, "subject", "200 characters"),
        ("", {"subject": "Hi", "description": "x", "priority": "asap"}, 400, "priority", "not a valid choice"),
        ("", {"subject": "Hi", "description": "x", "category": "abc"}, 400, "category", "Incorrect type"),
        ("", {"subject": "Hi", "description": "x", "category": 0.5}, 400, "category", "Incorrect type"),
        ("", {"subject": "Hi", "description": "x", "customer": 987654}, 400, "customer", "does not exist"),
        ("", {"subject": "Hi", "description": "x", "urgency": "high"}, 400, "urgency", "Unknown field"),
        ("", {"subject": "Hi", "description": "x", "status": "closed"}, 400, "status", "Unknown field"),
        ("", {"subject": "   ", "description": "x"}, 400, "subject", "blank"),
    ],
)
def test_bad_ticket_input_is_refused_and_nothing_is_saved(partner_a, rep_a, policies, path, body, status, attr, phrase):
    before = Ticket.objects.count()
    response = client_for(rep_a).post(f"/api/v1/tickets/{path}", {"partner": partner_a.pk, **body}, format="json")
    assert response.status_code == status, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == attr and phrase in error["detail"], error
    assert Ticket.objects.count() == before


@pytest.mark.parametrize(
    ("suffix", "method", "body", "status", "attr"),
    [
        ("", "patch", {}, 400, "non_field_errors"),
        ("", "patch", {"status": "escalated"}, 400, "status"),
        ("", "patch", {"status": "lost"}, 400, "status"),
        ("", "patch", {"note": "why"}, 400, "note"),
        ("", "patch", {"assignee": "me"}, 400, "assignee"),
        ("", "patch", {"subject": "new"}, 400, "subject"),
        ("escalate/", "post", {"reason": ""}, 400, "reason"),
        ("escalate/", "post", {}, 400, "reason"),
        ("rate/", "post", {"rating": 6}, 400, "rating"),
        ("rate/", "post", {"rating": 4}, 409, "non_field_errors"),
        ("messages/", "post", {"body": ""}, 400, "body"),
        ("messages/", "post", {"body": "<p> </p>", "html": True}, 400, "body"),
        ("messages/", "post", {"body": "hi", "visibility": "everyone"}, 400, "visibility"),
        ("attachments/", "post", {"body": "no files"}, 400, "files"),
        ("assign-vendor/", "post", {"agent": None}, 403, None),
    ],
)
def test_bad_ticket_changes_are_refused_and_change_nothing(ticket_a, rep_a, suffix, method, body, status, attr):
    before = (
        Ticket.objects.filter(pk=ticket_a.pk).values_list("status", "priority", "assignee_id", "satisfaction")[0],
        TicketMessage.objects.count(),
        TicketEvent.objects.count(),
    )
    client = client_for(rep_a)
    fmt = "multipart" if suffix == "attachments/" else "json"
    response = getattr(client, method)(f"/api/v1/tickets/{ticket_a.pk}/{suffix}", body, format=fmt)
    assert response.status_code == status, response.content
    if attr:
        assert response.json()["errors"][0]["attr"] == attr, response.content
    assert response.json()["errors"][0]["detail"]
    after = (
        Ticket.objects.filter(pk=ticket_a.pk).values_list("status", "priority", "assignee_id", "satisfaction")[0],
        TicketMessage.objects.count(),
        TicketEvent.objects.count(),
    )
    assert after == before


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"partner": "abc"}, "partner"),
        ({"partner": "1.5"}, "partner"),
        ({"escalated": "maybe"}, "escalated"),
        ({"breaching": "yes"}, "breaching"),
        ({"status": "lost"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"q": "x" * 201}, "q"),
        ({"assignee": "-1"}, "assignee"),
    ],
)
def test_bad_ticket_filters_are_400s_naming_the_filter(rep_a, params, attr):
    response = client_for(rep_a).get("/api/v1/tickets/", params)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == attr


def test_malformed_json_and_wrong_media_types(ticket_a, rep_a):
    client = client_for(rep_a)
    broken = client.generic(
        "POST", f"/api/v1/tickets/{ticket_a.pk}/messages/", "{not json", content_type="application/json"
    )
    assert broken.status_code == 400 and broken.json()["errors"][0]["code"] == "parse_error"
    as_json = client.post(f"/api/v1/tickets/{ticket_a.pk}/attachments/", {"files": []}, format="json")
    assert as_json.status_code == 415
    assert TicketMessage.objects.filter(ticket=ticket_a).count() == 1


def test_anonymous_callers_get_nothing(ticket_a):
    client = APIClient()
    for path in (
        "/api/v1/tickets/",
        f"/api/v1/tickets/{ticket_a.pk}/messages/",
        "/api/v1/articles/search/?q=x",
        "/api/v1/metrics/partners/",
        "/api/v1/customers/",
        "/api/v1/categories/",
    ):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "results" not in response.json()


# Query counts: fixed per page, whether 3 rows or 30 ---------------------------------------------------------------


@dataclass(frozen=True)
class ListCase:
    setup: Callable  # (request, rows) -> (who: user or client, url, rows the page must hold)
    queries: int


def _tickets(request, n):
    partner = request.getfixturevalue("partner_a")
    rep = request.getfixturevalue("rep_a")
    admin = request.getfixturevalue("admin_a")
    request.getfixturevalue("policies")
    customer = services.customer_create(actor=None, partner=partner, email="c@example.com")
    for i in range(n):
        open_ticket(partner, rep, subject=f"Ticket {i}", assignee=admin, customer=customer if i % 2 else None)
    return admin, "/api/v1/tickets/", n


def _escalated_tickets(request, n, who):
    _tickets(request, n)
    agent = request.getfixturevalue("agent")
    rep = request.getfixturevalue("rep_a")
    for ticket in Ticket.objects.all():
        services.ticket_escalate(actor=rep, ticket=ticket, reason="Vendor bug.")
        services.ticket_vendor_assign(actor=agent, ticket=ticket, agent=agent)
    return request.getfixturevalue(who), "/api/v1/tickets/", n


def _thread(request, n):
    """A ticket with ``n`` messages: the first carries one file, every later one two."""
    partner = request.getfixturevalue("partner_a")
    rep = request.getfixturevalue("rep_a")
    request.getfixturevalue("policies")
    ticket = open_ticket(partner, rep, attachments=[text_file()])
    for _ in range(n - 1):
        services.ticket_reply(ticket=ticket, actor=rep, body="More", attachments=[text_file(), png_file()])
    return rep, ticket


def _messages(request, n):
    rep, ticket = _thread(request, n)
    return rep, f"/api/v1/tickets/{ticket.pk}/messages/", n


def _attachments(request, n):
    rep, ticket = _thread(request, n)
    return rep, f"/api/v1/tickets/{ticket.pk}/attachments/", 2 * n - 1


def _events(request, n):
    rep = request.getfixturevalue("rep_a")
    request.getfixturevalue("policies")
    ticket = open_ticket(request.getfixturevalue("partner_a"), rep)
    for i in range(n - 1):
        services.ticket_set_priority(actor=rep, ticket=ticket, priority=["high", "low"][i % 2])
    return request.getfixturevalue("admin_a"), f"/api/v1/tickets/{ticket.pk}/events/", n


def _customers(request, n):
    partner = request.getfixturevalue("partner_a")
    for i in range(n):
        services.customer_create(actor=None, partner=partner, email=f"c{i}@example.com")
    return request.getfixturevalue("rep_a"), "/api/v1/customers/", n


def _articles(request, n, who):
    partner = request.getfixturevalue("partner_a")
    admin = request.getfixturevalue("admin_a")
    agent = request.getfixturevalue("agent")
    tier = TierFactory()
    for i in range(n):
        if i % 2:
            services.article_save(actor=admin, partner=partner, title=f"Own {i}", body="<p>x</p>", status="published")
        else:
            services.article_save(
                actor=agent,
                title=f"Vendor {i}",
                body="<p>x</p>",
                status="published",
                audience=ArticleAudience.PARTNERS,
                partners=[partner],
                tiers=[tier],
            )
    return request.getfixturevalue(who), "/api/v1/articles/", n


def _metrics(request, n):
    request.getfixturevalue("policies")
    for i in range(n):
        partner = make_partner(f"Metric partner {i:02d}")
        rep = make_member(partner)
        services.ticket_set_status(actor=rep, ticket=open_ticket(partner, rep), status="resolved")
    return request.getfixturevalue("partner_ops"), "/api/v1/metrics/partners/", n


def _sla_policies(request, n):
    hours = BusinessHours.objects.create(name="Always", timezone="UTC", schedule=WEEKDAYS)
    for _ in range(n):
        SlaPolicy.objects.create(
            name="Tier high",
            tier=TierFactory(),
            priority="high",
            first_response_minutes=5,
            resolution_minutes=10,
            business_hours=hours,
        )
    return request.getfixturevalue("rep_a"), "/api/v1/sla-policies/", n


# Per request: the key and knox's sweep of expired keys (2); then, for partner users, the "may this person
# still sign in" check (1), for vendor staff their permissions (user + groups, 2); then the page itself (1,
# every relation joined, the next SLA due time a subquery) and what the page prefetches.
LISTS = {
    "tickets as a partner admin": ListCase(_tickets, 4),
    # vendor staff: the page (with partner and category) and one query each for assignees, requesters (people and
    # customers) and vendor agents, whatever the page's size
    "tickets as partner operations": ListCase(partial(_escalated_tickets, who="partner_ops"), 9),
    "tickets as a support agent": ListCase(partial(_escalated_tickets, who="agent"), 9),
    # the ticket (1), the page (1) and the page's files (1)
    "messages of a ticket": ListCase(_messages, 6),
    "attachments of a ticket": ListCase(_attachments, 5),
    "history of a ticket": ListCase(_events, 5),
    "customers": ListCase(_customers, 4),
    # the partner user's partners (1) and the page (1)
    "articles as a partner admin": ListCase(partial(_articles, who="admin_a"), 5),
    # the page (1), its tiers and its partner grants (2)
    "articles as a support agent": ListCase(partial(_articles, who="agent"), 7),
    # + the partners the manager sees (1)
    "articles as a channel manager": ListCase(partial(_articles, who="manager_a"), 8),
    # the page of partners (1) and two aggregates per metric (4)
    "partner metrics": ListCase(_metrics, 9),
    "SLA policies as a rep": ListCase(_sla_policies, 4),
}


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("name", list(LISTS))
def test_list_query_count_is_pinned_and_flat(request, django_assert_num_queries, name, rows):
    case = LISTS[name]
    who, url, expected_rows = case.setup(request, rows)
    client = client_for(who)
    assert client.get(url).status_code == 200  # the key's first use is stamped once; measure after it
    with django_assert_num_queries(case.queries):
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200
    assert len(response.json()["results"]) == expected_rows


# The OpenAPI schema -----------------------------------------------------------------------------------------------


def test_schema_validates_and_documents_the_support_api(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    schema = json.loads(out.read_text())
    paths = schema["paths"]
    assert {
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/",
        "/api/v1/tickets/{id}/escalate/",
        "/api/v1/tickets/{id}/assign-vendor/",
        "/api/v1/tickets/{id}/rate/",
        "/api/v1/tickets/{id}/messages/",
        "/api/v1/tickets/{id}/attachments/",
        "/api/v1/tickets/{id}/attachments/{attachment_id}/download/",
        "/api/v1/tickets/{id}/events/",
        "/api/v1/customers/",
        "/api/v1/customers/{id}/",
        "/api/v1/articles/",
        "/api/v1/articles/{id}/",
        "/api/v1/articles/{id}/vote/",
        "/api/v1/articles/search/",
        "/api/v1/sla-policies/",
        "/api/v1/business-hours/",
        "/api/v1/categories/",
        "/api/v1/metrics/partners/",
    } <= set(paths)
    assert set(paths["/api/v1/tickets/{id}/"]) - {"parameters"} == {"get", "patch"}
    upload = paths["/api/v1/tickets/{id}/attachments/"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
    download = paths["/api/v1/tickets/{id}/attachments/{attachment_id}/download/"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]
    assert {p["name"]: p["schema"]["type"] for p in download["parameters"]} == {
        "id": "integer",
        "attachment_id": "integer",
    }
    assert "409" in paths["/api/v1/tickets/{id}/escalate/"]["post"]["responses"]
    ticket = schema["components"]["schemas"]["Ticket"]["properties"]
    assert ticket["vendor_assignee"]["nullable"] is True
