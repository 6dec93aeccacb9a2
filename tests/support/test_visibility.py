"""Who may see what on the support pages: vendor notes never reach partner users (pages, history, files,
e-mail), partner notes never reach customers, another partner's tickets, files, articles and customers are never
visible (404, absent from lists and search), knowledge-base audiences hold in lists, pages, search and the help
center, and the agents' queue holds escalated tickets only."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from partnerhub import services as core_services
from partnerhub.choices import MembershipRole, StaffRole
from support import services
from support.choices import ArticleAudience, ArticleStatus, Visibility
from support.models import TicketEvent
from tests.factories import TierFactory, make_member, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Host lookups in a cache of this test's own: the shared Redis is flushed by other test runs at any moment."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "vis"}}
    from django.core.cache import cache

    cache.clear()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def visitor(partner) -> Client:
    return Client(HTTP_HOST=f"{partner.brand.subdomain}.localhost")


def all_mail_to(address: str) -> str:
    """Every e-mail (text and HTML) sent to ``address``, as one string."""
    parts = []
    for message in mail.outbox:
        if address in message.to:
            parts.append(message.subject)
            parts.append(message.body)
            parts.extend(content for content, _ in message.alternatives)
    return "\n".join(parts)


@pytest.fixture
def agent(db):
    return make_staff(StaffRole.SUPPORT_AGENT, username="val-agent", first_name="Val", last_name="Agent")


@pytest.fixture
def escalation(partner_a, admin_a, rep_a, agent, django_capture_on_commit_callbacks):
    """A customer's ticket of partner A, escalated, with a public reply, a partner note and a vendor note (each
    with a file), and a vendor-only assignment in its history. Every e-mail it caused is in ``mail.outbox``."""
    with django_capture_on_commit_callbacks(execute=True):
        customer = services.customer_get_or_create(actor=rep_a, partner=partner_a, email="kim@customer.example")
        ticket = services.ticket_open(
            partner=partner_a,
            actor=rep_a,
            customer=customer,
            subject="Phones drop calls",
            description="Calls drop after 10 minutes.",
            assignee=rep_a,
        )
        services.ticket_reply(
            ticket=ticket,
            actor=rep_a,
            body="PARTNER-NOTE: the customer's PBX is ancient.",
            visibility=Visibility.PARTNER_NOTE,
            attachments=[SimpleUploadedFile("pbx-config.txt", b"partner note file")],
        )
        services.ticket_escalate(actor=admin_a, ticket=ticket, reason="SIP timer issue?")
        services.ticket_vendor_assign(actor=agent, ticket=ticket, agent=agent)
        services.ticket_reply(
            ticket=ticket,
            actor=agent,
            body="VENDOR-NOTE: known defect 8812, fix ships next month.",
            visibility=Visibility.VENDOR_NOTE,
            attachments=[SimpleUploadedFile("defect-8812.txt", b"vendor only file")],
        )
        services.ticket_reply(
            ticket=ticket,
            actor=agent,
            body="PUBLIC-REPLY: please set the session timer to 1800.",
            attachments=[SimpleUploadedFile("timer-howto.txt", b"public file")],
        )
    files = {a.original_name: a for a in ticket.attachments.all()}
    return {"ticket": ticket, "customer": customer, "files": files}


def test_vendor_notes_never_reach_partner_users(escalation, rep_a, admin_a, agent):
    ticket, files = escalation["ticket"], escalation["files"]
    for user in (rep_a, admin_a):
        page = signed_in(user).get(f"/support/tickets/{ticket.pk}/")
        body = page.content.decode()
        assert page.status_code == 200
        assert "PUBLIC-REPLY" in body and "PARTNER-NOTE" in body
        assert "VENDOR-NOTE" not in body and "defect-8812.txt" not in body
        # the vendor-only assignment is history for vendor staff only
        assert "Assigned to vendor agent" not in body
        assert signed_in(user).get(f"/support/attachments/{files['defect-8812.txt'].pk}/").status_code == 404
        assert signed_in(user).get(f"/support/attachments/{files['timer-howto.txt'].pk}/").status_code == 200
        assert signed_in(user).get(f"/support/attachments/{files['pbx-config.txt'].pk}/").status_code == 200
    assert TicketEvent.objects.filter(ticket=ticket, vendor_only=True).exists()
    # the vendor's agent sees all of it
    agent_page = signed_in(agent).get(f"/agents/tickets/{ticket.pk}/").content.decode()
    assert "VENDOR-NOTE" in agent_page and "Assigned to vendor agent" in agent_page
    assert signed_in(agent).get(f"/support/attachments/{files['defect-8812.txt'].pk}/").status_code == 200


def test_vendor_notes_never_reach_partner_users_or_customers_by_email(escalation, rep_a, admin_a, agent):
    for address in (rep_a.email, admin_a.email, "kim@customer.example"):
        assert "VENDOR-NOTE" not in all_mail_to(address), address
    assert "PUBLIC-REPLY" in all_mail_to(rep_a.email)  # the assignee hears of the vendor's public answer
    assert "PUBLIC-REPLY" in all_mail_to("kim@customer.example")


def test_partner_notes_never_reach_customers(escalation, partner_a):
    ticket, files = escalation["ticket"], escalation["files"]
    customer_mail = all_mail_to("kim@customer.example")
    assert customer_mail and "PARTNER-NOTE" not in customer_mail
    path = f"/help/tickets/{services.customer_ticket_token(ticket)}/"
    page = visitor(partner_a).get(path).content.decode()
    assert "PUBLIC-REPLY" in page
    assert "PARTNER-NOTE" not in page and "VENDOR-NOTE" not in page
    assert "pbx-config.txt" not in page and "defect-8812.txt" not in page
    for name, status in (("timer-howto.txt", 200), ("pbx-config.txt", 404), ("defect-8812.txt", 404)):
        assert visitor(partner_a).get(f"{path}attachments/{files[name].pk}/").status_code == status, name
    # the vendor's staff are "Support team" to the customer, not named people
    assert "Val Agent" not in page and "Support team" in page


def test_another_partner_sees_nothing_of_partner_as_support(escalation, partner_a, partner_b, admin_a, manager_b):
    ticket, files = escalation["ticket"], escalation["files"]
    article = services.article_save(
        actor=admin_a,
        partner=partner_a,
        title="Acme internal SIP checklist",
        body="<p>Check the SIP session timer first.</p>",
        status=ArticleStatus.PUBLISHED,
    )
    rep_b = make_member(partner_b, MembershipRole.REP, username="bruno-rep")
    admin_b = make_member(partner_b, MembershipRole.ADMIN, username="bianca-admin")
    for user in (rep_b, admin_b):
        client = signed_in(user)
        assert client.get(f"/support/tickets/{ticket.pk}/").status_code == 404
        assert client.post(f"/support/tickets/{ticket.pk}/", {"action": "reply", "body": "x"}).status_code == 404
        for attachment in files.values():
            assert client.get(f"/support/attachments/{attachment.pk}/").status_code == 404
        assert client.get(f"/kb/{article.pk}/").status_code == 404
        assert client.get(f"/kb/{article.pk}/edit/").status_code in (403, 404)
        desk = client.get("/support/", {"queue": "all", "q": "Phones"}).content.decode()
        assert "Phones drop calls" not in desk
        assert "Phones drop calls" not in client.get("/support/", {"q": ticket.reference}).content.decode()
        kb = client.get("/kb/", {"q": "SIP checklist"}).content.decode()
        assert "Acme internal SIP checklist" not in kb
        assert "Acme internal" not in client.get("/support/suggest/", {"subject": "SIP session timer"}).content.decode()
        assert "kim@customer.example" not in client.get("/support/new/").content.decode()
    # a channel manager of partner B only
    viewer = signed_in(manager_b)
    assert viewer.get(f"/agents/tickets/{ticket.pk}/").status_code == 404
    assert "Phones drop calls" not in viewer.get("/agents/tickets/", {"queue": "all"}).content.decode()
    assert viewer.get(f"/support/attachments/{files['timer-howto.txt'].pk}/").status_code == 404
    # partner B's help center does not show partner A's own article
    assert visitor(partner_b).get(f"/help/articles/{article.pk}/").status_code == 404
    assert "Acme internal" not in visitor(partner_b).get("/help/", {"q": "SIP"}).content.decode()


@pytest.fixture
def audiences(partner_a, partner_b, admin_a):
    """Vendor articles for all partners, for the Gold tier, for partner A by grant, and partner A's own."""
    gold = TierFactory(name="Gold")
    core_services.partner_update(actor=None, partner=partner_a, tier=gold)
    partner_a.refresh_from_db()
    writer = make_staff(StaffRole.PARTNER_OPERATIONS, username="wanda-writer")
    common = {"status": ArticleStatus.PUBLISHED, "body": "<p>Firmware upgrade steps for every model.</p>"}
    articles = {
        "all": services.article_save(actor=writer, title="Firmware for everyone", **common),
        "tiers": services.article_save(
            actor=writer, title="Firmware for Gold", audience=ArticleAudience.TIERS, tiers=[gold], **common
        ),
        "partners": services.article_save(
            actor=writer, title="Firmware for Acme", audience=ArticleAudience.PARTNERS, partners=[partner_a], **common
        ),
        "private": services.article_save(actor=admin_a, partner=partner_a, title="Firmware our way", **common),
        "hidden": services.article_save(
            actor=writer, title="Firmware partner-only notes", customer_visible=False, **common
        ),
        "draft": services.article_save(
            actor=writer, title="Firmware next release", body="<p>Firmware soon.</p>", status=ArticleStatus.DRAFT
        ),
    }
    return articles


def test_kb_audiences_in_lists_pages_and_search(audiences, rep_a, partner_b):
    rep_b = make_member(partner_b, MembershipRole.REP, username="bert-rep")
    expected = {
        rep_a: {"Firmware for everyone", "Firmware for Gold", "Firmware for Acme", "Firmware our way"},
        rep_b: {"Firmware for everyone"},
    }
    for user, titles in expected.items():
        titles = titles | {"Firmware partner-only notes"}  # partners read it; only customers do not
        client = signed_in(user)
        listed = {a.title for a in client.get("/kb/").context["page"]}
        assert listed == titles, user
        found = {a.title for a in client.get("/kb/", {"q": "firmware"}).context["page"]}
        assert found == titles, user
        for key, article in audiences.items():
            status = client.get(f"/kb/{article.pk}/").status_code
            assert status == (200 if article.title in titles else 404), (user, key)


def test_kb_audiences_in_the_help_center(audiences, partner_a, partner_b):
    for partner, titles in (
        (partner_a, {"Firmware for everyone", "Firmware for Gold", "Firmware for Acme", "Firmware our way"}),
        (partner_b, {"Firmware for everyone"}),
    ):
        browser = visitor(partner)
        assert {a.title for a in browser.get("/help/", {"q": "firmware"}).context["results"]} == titles
        assert {a.title for a in browser.get("/help/").context["results"]} == titles
        for article in audiences.values():
            expected = 200 if article.title in titles else 404
            assert browser.get(f"/help/articles/{article.pk}/").status_code == expected, (partner, article.title)


def test_agent_queue_holds_escalated_tickets_only(partner_a, partner_b, admin_a, admin_b, agent, manager_a):
    first_line = services.ticket_open(partner=partner_a, actor=admin_a, subject="First line only", description="x")
    escalated_a = services.ticket_open(partner=partner_a, actor=admin_a, subject="Escalated at A", description="x")
    services.ticket_escalate(actor=admin_a, ticket=escalated_a, reason="Need the vendor")
    escalated_b = services.ticket_open(partner=partner_b, actor=admin_b, subject="Escalated at B", description="x")
    services.ticket_escalate(actor=admin_b, ticket=escalated_b, reason="Need the vendor")
    queue = signed_in(agent).get("/agents/tickets/", {"queue": "all"})
    assert {t.subject for t in queue.context["page"]} == {"Escalated at A", "Escalated at B"}
    assert signed_in(agent).get(f"/agents/tickets/{first_line.pk}/").status_code == 404
    # a channel manager of A sees A's escalations only
    managed = signed_in(manager_a).get("/agents/tickets/", {"queue": "all"})
    assert {t.subject for t in managed.context["page"]} == {"Escalated at A"}
    # the partner's own desk is unaffected
    assert "First line only" in signed_in(admin_a).get("/support/").content.decode()


def test_emails_are_branded_and_escaped_once(partner_a, rep_a, django_capture_on_commit_callbacks):
    core_services.brand_update(actor=None, brand=partner_a.brand, display_name="Acme <b>Bold</b> & Co")
    partner_a.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        customer = services.customer_get_or_create(actor=rep_a, partner=partner_a, email="lou@customer.example")
        ticket = services.ticket_open(
            partner=partner_a, actor=rep_a, customer=customer, subject="Tags <i>here</i>", description="x"
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=rep_a, body="Type <script>alert(1)</script> & press Enter")
    [message] = [m for m in mail.outbox if "lou@customer.example" in m.to]
    html = message.alternatives[0][0]
    # the plain-text part reads as typed; the HTML part escapes it exactly once and carries the partner's colours
    assert "Type <script>alert(1)</script> & press Enter" in message.body
    assert "Type &lt;script&gt;alert(1)&lt;/script&gt; &amp; press Enter" in html
    assert "<script>" not in html and "&amp;lt;" not in html
    assert "Acme &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>Bold</b>" not in html
    assert f"background:{partner_a.brand.primary_color}" in html
    assert "Tags &lt;i&gt;here&lt;/i&gt;" in html
