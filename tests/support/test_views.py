"""Support pages of the partner portal and the vendor agents: the desk with its queues, search and bulk actions,
the new-ticket page with suggestions and attachments checked by content, the ticket page and its actions (errors
answer 4xx and save nothing), downloads, the knowledge base, and the agents' queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerhub.choices import MembershipRole, StaffRole
from support import services, sla
from support.choices import ArticleAudience, ArticleStatus, Priority, TicketStatus
from support.models import (
    Article,
    Customer,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)
from tests.factories import make_member, make_staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML_AS_PDF = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_ticket(partner, actor, subject="Printer offline", description="The office printer stopped.", **kwargs):
    return services.ticket_open(partner=partner, actor=actor, subject=subject, description=description, **kwargs)


def desk_refs(response) -> set[str]:
    return {t.reference for t in response.context["page"].object_list}


@pytest.fixture
def agent(db):
    """A vendor support agent (works escalations of every partner)."""
    return make_staff(StaffRole.SUPPORT_AGENT, username="sam-agent", first_name="Sam", last_name="Agent")


# Desk ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def desk_world(partner_a, partner_b, admin_a, rep_a, admin_b):
    """Tickets of partner A in every queue, and one of partner B."""
    policy = SlaPolicy.objects.create(
        name="Urgent", priority=Priority.URGENT, first_response_minutes=30, resolution_minutes=240
    )
    mine = open_ticket(partner_a, rep_a, subject="Mine: VPN drops", assignee=rep_a)
    unassigned = open_ticket(partner_a, admin_a, subject="Nobody's: licence renewal")
    urgent = open_ticket(partner_a, admin_a, subject="Urgent: core switch down", priority=Priority.URGENT)
    escalated = open_ticket(partner_a, admin_a, subject="Escalated firmware bug", assignee=admin_a)
    services.ticket_escalate(actor=admin_a, ticket=escalated, reason="Crash dump points at firmware.")
    resolved = open_ticket(partner_a, admin_a, subject="Resolved password reset", assignee=admin_a)
    services.ticket_set_status(actor=admin_a, ticket=resolved, status=TicketStatus.RESOLVED)
    other = open_ticket(partner_b, admin_b, subject="Bolt's own router question")
    return {
        "policy": policy,
        "mine": mine,
        "unassigned": unassigned,
        "urgent": urgent,
        "escalated": escalated,
        "resolved": resolved,
        "other": other,
    }


def test_desk_queues_hold_the_right_tickets_with_counts(desk_world, rep_a):
    w = desk_world
    client = signed_in(rep_a)
    expected = {
        "open": {w["mine"], w["unassigned"], w["urgent"], w["escalated"]},
        "mine": {w["mine"]},
        "unassigned": {w["unassigned"], w["urgent"]},
        "breaching": {w["urgent"]},  # the only ticket with a clock due within 4 hours
        "escalated": {w["escalated"]},
        "resolved": {w["resolved"]},
        "all": {w["mine"], w["unassigned"], w["urgent"], w["escalated"], w["resolved"]},
    }
    for queue, tickets in expected.items():
        response = client.get("/support/", {"queue": queue})
        assert response.status_code == 200, queue
        assert desk_refs(response) == {t.reference for t in tickets}, queue
        counts = {key: count for key, _, count in response.context["tabs"]}
        assert counts[queue] == len(tickets)
    body = client.get("/support/", {"queue": "all"}).content.decode()
    assert "Bolt&#x27;s own router question" not in body and "Bolt's own router question" not in body


def test_desk_row_shows_sla_state_badges_and_requester(desk_world, rep_a):
    client = signed_in(rep_a)
    response = client.get("/support/", {"queue": "breaching"})
    [row] = response.context["page"].object_list
    assert row.sla_state == "soon"  # 30 minutes left
    body = response.content.decode()
    assert 'class="badge badge--urgent"' in body and "sla sla--soon" in body
    assert f'href="/support/tickets/{row.pk}/"' in body

    Ticket.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    row.sla_clocks.update(due_at=timezone.now() - dt.timedelta(minutes=5))
    sla.refresh_due(row)  # the clocks changed behind the services' back: store their due times
    [row] = client.get("/support/", {"queue": "breaching"}).context["page"].object_list
    assert row.sla_state == "breached"


def test_desk_search_by_reference_and_text(desk_world, rep_a):
    w = desk_world
    client = signed_in(rep_a)
    by_ref = client.get("/support/", {"queue": "all", "q": w["urgent"].reference})
    assert desk_refs(by_ref) == {w["urgent"].reference}
    by_lower_ref = client.get("/support/", {"queue": "all", "q": w["urgent"].reference.lower()})
    assert desk_refs(by_lower_ref) == {w["urgent"].reference}
    by_text = client.get("/support/", {"queue": "all", "q": "firmware"})
    assert desk_refs(by_text) == {w["escalated"].reference}
    # partner B's ticket is not found by its reference
    assert desk_refs(client.get("/support/", {"queue": "all", "q": w["other"].reference})) == set()
    # odd input is just a search that finds nothing
    odd = client.get("/support/", {"queue": "nope", "q": "'\"&|!(", "sort": "nope", "page": "x"})
    assert odd.status_code == 200 and desk_refs(odd) == set()


def test_desk_page_queries_do_not_grow_with_tickets(partner_a, admin_a, rep_a, django_assert_max_num_queries):
    client = signed_in(rep_a)
    for n in range(3):
        open_ticket(partner_a, admin_a, subject=f"Few {n}", assignee=rep_a)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/support/", {"queue": "all"}).status_code == 200
    for n in range(60):
        open_ticket(partner_a, admin_a, subject=f"Many {n}", assignee=rep_a)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/support/", {"queue": "all"})
    assert len(response.context["page"].object_list) == 50
    # A list that fits on one page needs no COUNT(*) (partnerhub.pagination); a longer one adds that one query.
    counted = [q for q in many.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counted) == 1 and not any(q["sql"].startswith("SELECT COUNT(*)") for q in few.captured_queries)
    assert len(many) - len(counted) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_staff_are_sent_to_the_agents_pages(desk_world, agent):
    client = signed_in(agent)
    assert client.get("/support/").url == reverse("support:agent_queue")
    ticket = desk_world["escalated"]
    assert client.get(f"/support/tickets/{ticket.pk}/").url == reverse("support:agent_ticket", args=[ticket.pk])


def test_bulk_assign_status_and_priority(desk_world, rep_a, admin_a):
    w = desk_world
    client = signed_in(rep_a)
    ids = [w["unassigned"].pk, w["urgent"].pk]
    response = client.post("/support/", {"ticket": ids, "action": "assign", "assignee": "me", "next": "/support/"})
    assert response.status_code == 302
    assert set(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {rep_a.pk}

    response = client.post("/support/", {"ticket": ids, "action": "assign", "assignee": str(admin_a.pk)})
    assert response.status_code == 302
    assert set(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {admin_a.pk}

    response = client.post("/support/", {"ticket": ids, "action": "priority", "priority": Priority.HIGH})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("priority", flat=True)) == {Priority.HIGH}

    response = client.post("/support/", {"ticket": ids, "action": "status", "status": TicketStatus.PENDING})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) == {TicketStatus.PENDING}

    response = client.post("/support/", {"ticket": ids, "action": "assign", "assignee": "nobody"})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {None}


def test_bulk_change_is_all_or_nothing(desk_world, rep_a):
    w = desk_world
    client = signed_in(rep_a)
    # a closed ticket can only be reopened: "pending" fails for it, so the open one is not changed either
    services.ticket_set_status(actor=rep_a, ticket=w["resolved"], status=TicketStatus.CLOSED)
    response = client.post(
        "/support/", {"ticket": [w["unassigned"].pk, w["resolved"].pk], "action": "status", "status": "pending"}
    )
    assert response.status_code == 409
    assert "Nothing was changed" in response.content.decode()
    assert Ticket.objects.get(pk=w["unassigned"].pk).status == TicketStatus.NEW


def test_bulk_change_refuses_bad_input_and_other_partners_tickets(desk_world, rep_a):
    w = desk_world
    client = signed_in(rep_a)
    before = list(Ticket.objects.order_by("pk").values_list("pk", "assignee", "status", "priority"))
    events = TicketEvent.objects.count()
    cases = [
        ({"action": "assign", "assignee": "me"}, 400),  # nothing ticked
        ({"ticket": [w["unassigned"].pk], "action": "assign"}, 400),  # nobody chosen
        ({"ticket": [w["unassigned"].pk], "action": "explode"}, 400),
        ({"ticket": ["abc"], "action": "assign", "assignee": "me"}, 400),
        ({"ticket": [w["unassigned"].pk], "action": "status", "status": "escalated"}, 400),
        ({"ticket": [w["unassigned"].pk], "action": "assign", "assignee": "999999"}, 400),  # not a teammate
        ({"ticket": [w["unassigned"].pk, w["other"].pk], "action": "assign", "assignee": "me"}, 404),
    ]
    for data, status in cases:
        assert client.post("/support/", data).status_code == status, data
    assert list(Ticket.objects.order_by("pk").values_list("pk", "assignee", "status", "priority")) == before
    assert TicketEvent.objects.count() == events


# New ticket ----------------------------------------------------------------------------------------------------


def test_new_ticket_for_me_with_attachments(partner_a, rep_a):
    client = signed_in(rep_a)
    assert client.get("/support/new/").status_code == 200
    response = client.post(
        "/support/new/",
        {
            "subject": "Scanner shows error E42",
            "description": "Since this morning.",
            "priority": "high",
            "requester_kind": "me",
            "attachments": [
                SimpleUploadedFile("log.txt", b"E42 at 09:14\n", content_type="text/plain"),
                SimpleUploadedFile("manual.pdf", PDF, content_type="application/pdf"),
            ],
        },
    )
    ticket = Ticket.objects.get(subject="Scanner shows error E42")
    assert response.status_code == 302 and response.url == f"/support/tickets/{ticket.pk}/"
    assert ticket.partner == partner_a and ticket.requester_user == rep_a and ticket.priority == Priority.HIGH
    assert sorted(ticket.attachments.values_list("original_name", "content_type")) == [
        ("log.txt", "text/plain"),
        ("manual.pdf", "application/pdf"),
    ]


def test_new_ticket_for_a_customer_by_email_and_for_a_teammate(partner_a, rep_a, admin_a):
    client = signed_in(rep_a)
    response = client.post(
        "/support/new/",
        {
            "subject": "Customer cannot log in",
            "description": "Locked out.",
            "priority": "normal",
            "requester_kind": "customer",
            "customer_email": "Dana@Customer.example",
            "customer_name": "Dana",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Customer cannot log in")
    assert ticket.requester_customer.email == "dana@customer.example" and ticket.requester_user is None
    # the same customer is picked again by e-mail, in any letter case
    client.post(
        "/support/new/",
        {
            "subject": "Second issue",
            "description": "Again.",
            "priority": "normal",
            "requester_kind": "customer",
            "customer_email": "DANA@customer.example",
        },
    )
    assert Customer.objects.filter(partner=partner_a).count() == 1
    assert Ticket.objects.get(subject="Second issue").requester_customer == ticket.requester_customer

    client.post(
        "/support/new/",
        {
            "subject": "For my admin",
            "description": "Her laptop.",
            "priority": "low",
            "requester_kind": "teammate",
            "requester": str(admin_a.pk),
        },
    )
    filed = Ticket.objects.get(subject="For my admin")
    assert filed.requester_user == admin_a
    assert filed.messages.get().author_user == rep_a  # who wrote it stays on record


def test_new_ticket_refuses_bad_input_and_saves_nothing(partner_a, rep_a, admin_b):
    client = signed_in(rep_a)
    cases = [
        {"subject": "", "description": "x", "priority": "normal", "requester_kind": "me"},
        {"subject": "x", "description": "", "priority": "normal", "requester_kind": "me"},
        {"subject": "x", "description": "y", "priority": "sky-high", "requester_kind": "me"},
        {"subject": "x", "description": "y", "priority": "normal", "requester_kind": "customer"},
        {
            "subject": "x",
            "description": "y",
            "priority": "normal",
            "requester_kind": "customer",
            "customer_email": "no",
        },
        # another partner's user is no teammate
        {
            "subject": "x",
            "description": "y",
            "priority": "normal",
            "requester_kind": "teammate",
            "requester": admin_b.pk,
        },
        {"subject": "x" * 201, "description": "y", "priority": "normal", "requester_kind": "me"},
    ]
    for data in cases:
        response = client.post("/support/new/", data)
        assert response.status_code == 400, data
        assert "The ticket was not opened" in response.content.decode()
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_html_renamed_pdf_is_refused_by_content(partner_a, rep_a):
    client = signed_in(rep_a)
    response = client.post(
        "/support/new/",
        {
            "subject": "Invoice attached",
            "description": "See the PDF.",
            "priority": "normal",
            "requester_kind": "customer",
            "customer_email": "eve@customer.example",
            "attachments": [SimpleUploadedFile("invoice.pdf", HTML_AS_PDF, content_type="application/pdf")],
        },
    )
    assert response.status_code == 400
    assert "“invoice.pdf” is not an accepted file" in response.content.decode()
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()
    assert not Customer.objects.exists()  # the customer added for it is rolled back with it


def test_suggestions_while_typing_come_from_articles_the_partner_may_read(
    partner_a, partner_b, admin_a, admin_b, rep_a
):
    services.article_save(
        actor=admin_a,
        partner=partner_a,
        title="Resetting the VPN gateway",
        body="Hold the reset button on the gateway for ten seconds.",
        status=ArticleStatus.PUBLISHED,
    )
    services.article_save(
        actor=admin_b,
        partner=partner_b,
        title="Bolt gateway reset secrets",
        body="Bolt's own gateway reset procedure.",
        status=ArticleStatus.PUBLISHED,
    )
    client = signed_in(rep_a)
    response = client.get(
        "/support/suggest/", {"subject": "gateway keeps dropping", "description": ""}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Resetting the VPN gateway" in body and "<mark>gateway</mark>" in body
    assert "Bolt" not in body
    assert client.get("/support/suggest/", {"q": "zzzz qqqq"}).content.decode().strip() == ""
    page = client.get("/support/new/").content.decode()
    assert 'hx-get="/support/suggest/"' in page and "keyup changed delay:400ms" in page


# Ticket page ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ticket_a(partner_a, rep_a):
    return open_ticket(partner_a, rep_a, subject="Phones ring twice", description="Every call rings twice.")


def test_ticket_page_shows_thread_notes_history_and_sla(ticket_a, admin_a, rep_a):
    SlaPolicy.objects.create(name="Normal", priority=Priority.NORMAL, first_response_minutes=60, resolution_minutes=600)
    services.ticket_set_priority(actor=admin_a, ticket=ticket_a, priority=Priority.NORMAL)  # no clock before
    services.ticket_reply(ticket=ticket_a, actor=admin_a, body="Looking into it.")
    services.ticket_reply(ticket=ticket_a, actor=admin_a, body="Probably the SIP trunk.", visibility="partner_note")
    client = signed_in(rep_a)
    response = client.get(f"/support/tickets/{ticket_a.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Every call rings twice." in body and "Looking into it." in body
    assert "Probably the SIP trunk." in body and "msg msg--note" in body and "Internal note" in body
    assert "Phones ring twice" in body and ticket_a.reference in body
    assert "Created" in body  # history


def test_ticket_page_actions(ticket_a, admin_a, rep_a):
    client = signed_in(rep_a)
    url = f"/support/tickets/{ticket_a.pk}/"
    assert client.post(url, {"action": "reply", "body": "On my way.", "visibility": "public"}).status_code == 302
    assert (
        client.post(url, {"action": "reply", "body": "Customer is grumpy.", "visibility": "partner_note"}).status_code
        == 302
    )
    assert list(ticket_a.messages.values_list("visibility", flat=True)) == ["public", "public", "partner_note"]
    assert client.post(url, {"action": "assign", "assignee": str(admin_a.pk)}).status_code == 302
    assert client.post(url, {"action": "priority", "priority": "urgent"}).status_code == 302
    assert client.post(url, {"action": "status", "status": "pending"}).status_code == 302
    ticket_a.refresh_from_db()
    assert (ticket_a.assignee, ticket_a.priority, ticket_a.status) == (admin_a, "urgent", "pending")
    assert client.post(url, {"action": "escalate", "reason": "Needs the vendor's SIP logs."}).status_code == 302
    ticket_a.refresh_from_db()
    assert ticket_a.status == TicketStatus.ESCALATED and ticket_a.escalation_reason == "Needs the vendor's SIP logs."
    assert "Needs the vendor&#x27;s SIP logs." in client.get(url).content.decode()


def test_ticket_page_errors_answer_4xx_and_save_nothing(ticket_a, rep_a, admin_b):
    client = signed_in(rep_a)
    url = f"/support/tickets/{ticket_a.pk}/"
    messages_before, events_before = TicketMessage.objects.count(), TicketEvent.objects.count()
    cases = [
        ({"action": "reply", "body": "", "visibility": "public"}, 400, "This field is required"),
        ({"action": "reply", "body": "Hi", "visibility": "vendor_note"}, 400, "Select a valid choice"),
        ({"action": "escalate", "reason": "  "}, 400, "This field is required"),
        ({"action": "assign", "assignee": str(admin_b.pk)}, 400, "Select a valid choice"),
        ({"action": "priority", "priority": "galactic"}, 400, "Select a valid choice"),
        ({"action": "status", "status": "escalated"}, 400, "Select a valid choice"),
        ({"action": "rate", "rating": "5"}, 409, "rated once they are resolved"),
        ({"action": "launch"}, 400, "Choose an action"),
    ]
    for data, status, text in cases:
        response = client.post(url, data)
        assert response.status_code == status, data
        assert text in response.content.decode(), data
    services.ticket_set_status(actor=rep_a, ticket=ticket_a, status=TicketStatus.CLOSED)
    events_before = TicketEvent.objects.count()
    response = client.post(url, {"action": "reply", "body": "Late reply", "visibility": "public"})
    assert response.status_code == 409 and "reopen it to reply" in response.content.decode()
    response = client.post(url, {"action": "escalate", "reason": "Too late"})
    assert response.status_code == 409
    assert TicketMessage.objects.count() == messages_before
    assert TicketEvent.objects.count() == events_before
    ticket_a.refresh_from_db()
    assert ticket_a.status == TicketStatus.CLOSED and not ticket_a.escalation_reason


def test_requester_rates_a_resolved_ticket(ticket_a, rep_a, admin_a):
    services.ticket_set_status(actor=admin_a, ticket=ticket_a, status=TicketStatus.RESOLVED)
    url = f"/support/tickets/{ticket_a.pk}/"
    assert signed_in(admin_a).post(url, {"action": "rate", "rating": "4"}).status_code == 403  # not the requester
    assert signed_in(rep_a).post(url, {"action": "rate", "rating": "9"}).status_code == 400
    assert signed_in(rep_a).post(url, {"action": "rate", "rating": "4", "comment": "Quick"}).status_code == 302
    ticket_a.refresh_from_db()
    assert (ticket_a.satisfaction, ticket_a.satisfaction_comment) == (4, "Quick")
    assert "4/5" in signed_in(admin_a).get(url).content.decode()


def test_attachment_download_is_an_attachment_never_inline(ticket_a, rep_a):
    services.ticket_reply(
        ticket=ticket_a,
        actor=rep_a,
        body="Log attached",
        attachments=[SimpleUploadedFile("trace.txt", b"line 1\nline 2\n")],
    )
    attachment = TicketAttachment.objects.get()
    response = signed_in(rep_a).get(f"/support/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and 'filename="trace.txt"' in response["Content-Disposition"]
    )
    assert response["Content-Type"] == "text/plain"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"line 1\nline 2\n"
    assert Client().get(f"/support/attachments/{attachment.pk}/").status_code == 302  # sign in first


# Knowledge base ------------------------------------------------------------------------------------------------


@pytest.fixture
def vendor_writer(db):
    return make_staff(StaffRole.PARTNER_OPERATIONS, username="vera-ops")


def test_kb_lists_searches_and_filters_by_category(partner_a, rep_a, vendor_writer):
    from support.models import Category

    routers = Category.objects.create(name="Routers", slug="routers")
    phones = Category.objects.create(name="Phones", slug="phones")
    services.article_save(
        actor=vendor_writer,
        title="Factory reset a router",
        summary="When nothing else helps.",
        body="<p>Hold the <b>reset</b> button for ten seconds.</p>",
        category=routers,
        status=ArticleStatus.PUBLISHED,
    )
    services.article_save(
        actor=vendor_writer,
        title="Voicemail setup",
        body="<p>Dial *86 and follow the prompts; the reset of the PIN is in the menu.</p>",
        category=phones,
        status=ArticleStatus.PUBLISHED,
    )
    services.article_save(actor=vendor_writer, title="Unreleased draft about reset", body="<p>soon</p>")
    client = signed_in(rep_a)
    listing = client.get("/kb/")
    titles = [a.title for a in listing.context["page"].object_list]
    assert sorted(titles) == ["Factory reset a router", "Voicemail setup"]
    found = client.get("/kb/", {"q": "reset"})
    assert found.context["page"][0].title == "Factory reset a router"  # a title match ranks first
    assert "<mark>reset</mark>" in found.content.decode()
    assert "Unreleased draft" not in found.content.decode()
    filtered = client.get("/kb/", {"q": "reset", "category": "phones"})
    assert [a.title for a in filtered.context["page"]] == ["Voicemail setup"]
    assert [a.title for a in client.get("/kb/", {"category": "routers"}).context["page"]] == ["Factory reset a router"]


def test_article_page_and_votes(partner_a, rep_a, admin_a, vendor_writer):
    article = services.article_save(
        actor=vendor_writer,
        title="Firmware 2.1 notes",
        body="<p>Upgrade in the evening.</p>",
        status=ArticleStatus.PUBLISHED,
    )
    url = f"/kb/{article.pk}/"
    response = signed_in(rep_a).get(url)
    assert response.status_code == 200 and "Upgrade in the evening." in response.content.decode()
    assert signed_in(rep_a).post(url, {"helpful": "yes"}).status_code == 302
    assert signed_in(rep_a).post(url, {"helpful": "no"}).status_code == 302  # a second vote changes the first
    assert signed_in(admin_a).post(url, {"helpful": "yes"}).status_code == 302
    assert signed_in(admin_a).post(url, {"helpful": "maybe"}).status_code == 400
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_partner_admin_writes_private_articles_sanitised(partner_a, admin_a, rep_a):
    client = signed_in(admin_a)
    assert client.get("/kb/new/").status_code == 200
    response = client.post(
        "/kb/new/",
        {
            "title": "Our escalation checklist",
            "summary": "Before you escalate",
            "body_format": "html",
            "body": '<p onclick="steal()">Check the logs.</p><script>alert(1)</script><a href="javascript:x()">x</a>',
            "customer_visible": "",
            "status": "draft",
        },
    )
    article = Article.objects.get(title="Our escalation checklist")
    assert response.status_code == 302 and response.url == f"/kb/{article.pk}/"
    assert article.partner == partner_a and article.audience == ArticleAudience.PRIVATE
    assert "script" not in article.body and "onclick" not in article.body and "javascript" not in article.body
    assert "<p>Check the logs.</p>" in article.body
    # a draft: its admins see it, reps do not
    assert client.get(f"/kb/{article.pk}/").status_code == 200
    assert signed_in(rep_a).get(f"/kb/{article.pk}/").status_code == 404
    # plain text becomes escaped paragraphs
    response = client.post(
        f"/kb/{article.pk}/edit/",
        {
            "title": "Our escalation checklist",
            "body_format": "text",
            "body": "Step 1 <b>\n\nStep 2",
            "status": "published",
        },
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == "<p>Step 1 &lt;b&gt;</p>\n\n<p>Step 2</p>" and article.status == ArticleStatus.PUBLISHED
    assert signed_in(rep_a).get(f"/kb/{article.pk}/").status_code == 200
    assert "Our escalation checklist" in signed_in(rep_a).get("/kb/").content.decode()


def test_article_writing_refuses_reps_and_bad_input(partner_a, admin_a, rep_a, vendor_writer):
    assert signed_in(rep_a).get("/kb/new/").status_code == 403
    assert (
        signed_in(rep_a)
        .post("/kb/new/", {"title": "x", "body": "y", "body_format": "text", "status": "draft"})
        .status_code
        == 403
    )
    client = signed_in(admin_a)
    for data in (
        {"title": "", "body": "y", "body_format": "text", "status": "draft"},
        {"title": "x", "body": "", "body_format": "text", "status": "draft"},
        {"title": "x", "body": "<script>only()</script>", "body_format": "html", "status": "draft"},
        {"title": "x", "body": "y", "body_format": "text", "status": "shouting"},
    ):
        assert client.post("/kb/new/", data).status_code == 400, data
    assert not Article.objects.exists()
    vendor_article = services.article_save(
        actor=vendor_writer, title="Vendor owned", body="<p>v</p>", status=ArticleStatus.PUBLISHED
    )
    assert client.get(f"/kb/{vendor_article.pk}/edit/").status_code == 404
    assert (
        client.post(
            f"/kb/{vendor_article.pk}/edit/",
            {"title": "Mine now", "body": "x", "body_format": "text", "status": "published"},
        ).status_code
        == 404
    )
    vendor_article.refresh_from_db()
    assert vendor_article.title == "Vendor owned"


# Vendor agents -------------------------------------------------------------------------------------------------


@pytest.fixture
def escalated_a(partner_a, admin_a, rep_a):
    ticket = open_ticket(partner_a, rep_a, subject="Switch reboots nightly", assignee=admin_a)
    services.ticket_escalate(actor=admin_a, ticket=ticket, reason="Reboots at 02:00; logs attached.")
    return ticket


def test_agent_queue_shows_escalated_tickets_only_sorted_by_escalation_due(
    partner_a, partner_b, admin_a, admin_b, agent, escalated_a
):
    SlaPolicy.objects.create(
        name="Escalation urgent",
        applies_to=SlaPolicy.Scope.ESCALATION,
        priority=Priority.URGENT,
        first_response_minutes=15,
        resolution_minutes=120,
    )
    first_line_only = open_ticket(partner_a, admin_a, subject="Only first line")
    urgent_b = open_ticket(partner_b, admin_b, subject="Bolt urgent escalation", priority=Priority.URGENT)
    services.ticket_escalate(actor=admin_b, ticket=urgent_b, reason="Outage")
    client = signed_in(agent)
    response = client.get("/agents/tickets/")
    assert response.status_code == 200
    refs = [t.reference for t in response.context["page"].object_list]
    assert refs == [urgent_b.reference, escalated_a.reference]  # a running clock first, none last
    assert first_line_only.reference not in response.content.decode()
    assert client.get(f"/agents/tickets/{first_line_only.pk}/").status_code == 404
    assert [t.reference for t in client.get("/agents/tickets/", {"q": urgent_b.reference}).context["page"]] == [
        urgent_b.reference
    ]


def test_agent_takes_replies_and_hands_back(escalated_a, agent, rep_a):
    client = signed_in(agent)
    url = f"/agents/tickets/{escalated_a.pk}/"
    page = client.get(url).content.decode()
    assert "Reboots at 02:00; logs attached." in page and "Vendor-only note" in page
    assert client.post(url, {"action": "take"}).status_code == 302
    escalated_a.refresh_from_db()
    assert escalated_a.vendor_assignee == agent
    assert (
        client.post(url, {"action": "reply", "body": "Known bug 4411.", "visibility": "vendor_note"}).status_code == 302
    )
    assert (
        client.post(url, {"action": "reply", "body": "Please update to 2.1.", "visibility": "public"}).status_code
        == 302
    )
    assert client.post(url, {"action": "status", "status": "open", "note": "Fixed in 2.1"}).status_code == 302
    escalated_a.refresh_from_db()
    assert escalated_a.status == TicketStatus.OPEN
    assert TicketEvent.objects.filter(ticket=escalated_a, kind="de_escalated").exists()
    # the partner sees the public answer marked as the vendor's, and not the vendor note
    partner_page = signed_in(rep_a).get(f"/support/tickets/{escalated_a.pk}/").content.decode()
    assert "Please update to 2.1." in partner_page and "Vendor support" in partner_page
    assert "Known bug 4411." not in partner_page


def test_agent_actions_refuse_bad_input(escalated_a, agent, manager_a):
    client = signed_in(agent)
    url = f"/agents/tickets/{escalated_a.pk}/"
    before = TicketMessage.objects.count()
    assert client.post(url, {"action": "reply", "body": "", "visibility": "public"}).status_code == 400
    assert client.post(url, {"action": "assign", "agent": str(manager_a.pk)}).status_code == 400  # not an agent
    assert client.post(url, {"action": "status", "status": "closed"}).status_code == 400
    assert client.post(url, {"action": "dance"}).status_code == 400
    assert TicketMessage.objects.count() == before
    # a channel manager may read the escalation but not work it
    viewer = signed_in(manager_a)
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, {"action": "take"}).status_code == 403
    assert viewer.post(url, {"action": "reply", "body": "hi", "visibility": "public"}).status_code == 403
    assert TicketMessage.objects.count() == before
    escalated_a.refresh_from_db()
    assert escalated_a.vendor_assignee is None


def test_partner_users_are_sent_from_agent_pages_to_their_own(escalated_a, rep_a, partner_b):
    rep_b = make_member(partner_b, MembershipRole.REP, username="bo-rep")
    assert signed_in(rep_a).get("/agents/tickets/").url == "/support/"
    assert signed_in(rep_a).get(f"/agents/tickets/{escalated_a.pk}/").url == f"/support/tickets/{escalated_a.pk}/"
    assert signed_in(rep_b).get(f"/support/tickets/{escalated_a.pk}/").status_code == 404
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mo-marketing")
    assert signed_in(marketing).get("/agents/tickets/").status_code == 403
    assert Client().get("/agents/tickets/").status_code == 302


def test_home_panel_links_into_the_desk(partner_a, rep_a, admin_a):
    open_ticket(partner_a, admin_a, subject="Assigned to the rep", assignee=rep_a)
    body = signed_in(rep_a).get("/").content.decode()
    assert "/support/?queue=mine" in body and "Assigned to you" in body
    assert 'href="/support/"' in body


def test_public_reply_visibility_choice_is_offered(ticket_a, rep_a):
    body = signed_in(rep_a).get(f"/support/tickets/{ticket_a.pk}/").content.decode()
    assert 'value="public"' in body and 'value="partner_note"' in body and 'value="vendor_note"' not in body


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_row_stamps_read_as_djangos_date_formats(zone):
    import datetime
    import zoneinfo

    from django.utils import dateformat, translation

    from support.views import _month_names, _Stamp

    moments = [
        datetime.datetime(2026, 11, 28, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC),
        datetime.datetime(2027, 1, 1, 0, 0, tzinfo=datetime.UTC),
        datetime.datetime(2024, 2, 29, 7, 5, 3, tzinfo=datetime.UTC),
    ]
    for language in ("en-us", "de"):
        with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
            for moment in moments:
                local = timezone.localtime(moment)
                # alone, and as _mark_sla makes them: with the zone and month names looked up once per list
                shared = (timezone.get_current_timezone(), _month_names(translation.get_language()))
                for stamp in (_Stamp(moment), _Stamp(moment, *shared)):
                    assert stamp.iso == dateformat.format(local, "c")
                    assert stamp.title == dateformat.format(local, "M j, Y H:i e")
