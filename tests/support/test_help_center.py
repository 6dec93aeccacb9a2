"""The partner-branded help center for end customers: only on a partner's own host, spam-checked requests
confirmed by e-mail, the customer's ticket behind a signed link (public messages only), replies, rating, and
files — and nothing of one partner's customers on another partner's help center."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from partnerhub import services as core_services
from support import services
from support.choices import ArticleStatus, Channel, TicketStatus, Visibility
from support.forms import HONEYPOT_FIELD
from support.models import Customer, HelpRequest, Ticket, TicketAttachment, TicketMessage
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit counters and host lookups in a cache of this test's own: the shared Redis is flushed by
    other test runs at any moment."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "help"}}
    from django.core.cache import cache

    cache.clear()


def host_of(partner) -> str:
    return f"{partner.brand.subdomain}.localhost"


def visitor(partner) -> Client:
    """An anonymous browser on the partner's help center host."""
    return Client(HTTP_HOST=host_of(partner))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def link_path(message, pattern: str) -> str:
    """The path of the first link in an e-mail's text that matches ``pattern``."""
    match = re.search(r"https?://[^/\s]+(" + pattern + r")", message.body)
    assert match, message.body
    return match.group(1)


def filled_request(client, time_machine, **overrides) -> dict:
    """The request form's fields as a person fills them in: the signed timestamp from the form, 5 s later."""
    issued = client.get("/help/request/").context["form"].initial["issued"]
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=5))
    data = {
        "name": "Dana Customer",
        "email": "dana@customer.example",
        "subject": "Router blinks red",
        "description": "Since the power cut the router blinks red.",
        "issued": issued,
    }
    data.update(overrides)
    return data


def test_help_center_lives_only_on_partner_hosts(partner_a):
    assert Client().get("/help/").status_code == 404
    assert Client(HTTP_HOST="nobody.localhost").get("/help/").status_code == 404
    response = visitor(partner_a).get("/help/")
    assert response.status_code == 200
    assert f"{partner_a.brand.display_name} Help Center" in response.content.decode()
    core_services.partner_suspend(actor=None, partner=partner_a, reason="Unpaid invoices")
    from partnerhub.middleware import forget_host

    forget_host()  # host lookups are cached for a few minutes
    assert visitor(partner_a).get("/help/").status_code == 404


def test_full_help_center_journey(partner_a, admin_a, rep_a, time_machine, django_capture_on_commit_callbacks):
    customer_browser = visitor(partner_a)
    # Given a customer who asks for help
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_browser.post("/help/request/", filled_request(customer_browser, time_machine))
    assert response.status_code == 302 and response.url == "/help/request/sent/"
    assert "dana@customer.example" in customer_browser.get(response.url).content.decode()
    assert not Ticket.objects.exists()  # nothing reaches the desk before the address is confirmed
    [verify_mail] = mail.outbox
    assert verify_mail.to == ["dana@customer.example"]
    html = verify_mail.alternatives[0][0]
    assert partner_a.brand.display_name in html and "Confirm and send my request" in html

    # When the link in the e-mail is opened
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_browser.get(link_path(verify_mail, r"/help/verify/[^\s]+/"))
    assert response.status_code == 302 and response.url.startswith("/help/tickets/")
    assert response["Referrer-Policy"] == "no-referrer"
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.HELP_CENTER and ticket.partner == partner_a
    assert ticket.requester_customer.email == "dana@customer.example"
    assert ticket.requester_customer.email_verified_at is not None
    received = [m for m in mail.outbox if m.to == ["dana@customer.example"]]
    assert received and "We received your request" in received[0].subject
    ticket_path = response.url
    assert link_path(received[0], r"/help/tickets/[^\s]+/") == ticket_path

    # Then the customer sees their ticket and replies with a file
    page = customer_browser.get(ticket_path)
    assert page.status_code == 200 and "Since the power cut the router blinks red." in page.content.decode()
    assert page["Cache-Control"].startswith("no-store") and "noindex" in page["X-Robots-Tag"]
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_browser.post(
            ticket_path,
            {"action": "reply", "body": "Photo of the lights attached.", "attachments": [_png("lights.png")]},
        )
    assert response.status_code == 302
    reply = TicketMessage.objects.get(body__contains="Photo of the lights")
    assert reply.author_customer == ticket.requester_customer and reply.visibility == Visibility.PUBLIC
    assert reply.attachments.get().content_type == "image/png"

    # And the partner's team answers: the public reply reaches the customer by e-mail, the internal note does not
    mail.outbox.clear()
    desk = signed_in(rep_a)
    url = f"/support/tickets/{ticket.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(url, {"action": "reply", "body": "Customer seems angry; be gentle.", "visibility": "partner_note"})
        desk.post(url, {"action": "reply", "body": "Please unplug it for 30 seconds.", "visibility": "public"})
    to_customer = [m for m in mail.outbox if "dana@customer.example" in m.to]
    assert len(to_customer) == 1
    assert "Please unplug it for 30 seconds." in to_customer[0].body
    assert "Please unplug it for 30 seconds." in to_customer[0].alternatives[0][0]
    assert all("be gentle" not in m.body + m.alternatives[0][0] for m in to_customer)
    assert any("be gentle" in m.body for m in mail.outbox if admin_a.email in m.to)  # the note reached the team
    assert "be gentle" not in customer_browser.get(ticket_path).content.decode()

    # When the team resolves it, the customer is told and rates it once
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(url, {"action": "status", "status": "resolved"})
    assert any("Resolved" in m.subject for m in mail.outbox if "dana@customer.example" in m.to)
    page = customer_browser.get(ticket_path).content.decode()
    assert "How did we do?" in page
    assert customer_browser.post(ticket_path, {"action": "rate", "rating": "7"}).status_code == 400
    assert customer_browser.post(ticket_path, {"action": "rate", "rating": "5", "comment": "Fast!"}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.satisfaction, ticket.satisfaction_comment) == (5, "Fast!")
    assert customer_browser.post(ticket_path, {"action": "rate", "rating": "1"}).status_code == 409
    ticket.refresh_from_db()
    assert ticket.satisfaction == 5
    # the partner sees the rating on its ticket page
    assert "5/5" in desk.get(url).content.decode()


def _png(name: str) -> SimpleUploadedFile:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_verification_link_works_once_and_not_on_another_help_center(
    partner_a, partner_b, time_machine, django_capture_on_commit_callbacks
):
    browser = visitor(partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/help/request/", filled_request(browser, time_machine))
    path = link_path(mail.outbox[0], r"/help/verify/[^\s]+/")
    # on partner B's help center the link answers 404 and stays usable
    assert visitor(partner_b).get(path).status_code == 404
    assert Client().get(path).status_code == 404
    assert HelpRequest.objects.get().used_at is None and not Ticket.objects.exists()
    assert browser.get(path).status_code == 302
    used = browser.get(path)
    assert used.status_code == 400 and "already used" in used.content.decode()
    assert visitor(partner_a).get("/help/verify/not-a-token/").status_code == 400
    assert Ticket.objects.count() == 1
    HelpRequest.objects.update(used_at=None, expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert "expired" in browser.get(path).content.decode()


def test_request_form_refuses_spam_and_bad_input(partner_a, time_machine):
    browser = visitor(partner_a)
    cases = [
        ({HONEYPOT_FIELD: "http://spam.example"}, "We could not accept this form"),
        ({"issued": "forged"}, "We could not check this form"),
        ({"email": "not-an-address"}, "Enter a valid email address"),
        ({"subject": ""}, "This field is required"),
        ({"description": "x" * 20001}, "Ensure this value has at most 20000 characters"),
    ]
    for overrides, text in cases:
        data = filled_request(browser, time_machine, **overrides)
        response = browser.post("/help/request/", data)
        assert response.status_code == 400, overrides
        assert text in response.content.decode(), overrides
    # sent at once after the form was handed out: too fast for a person
    issued = browser.get("/help/request/").context["form"].initial["issued"]
    quick = browser.post(
        "/help/request/",
        {"name": "Bot", "email": "bot@example.com", "subject": "x", "description": "y", "issued": issued},
    )
    assert quick.status_code == 400 and "quicker than we expect" in quick.content.decode()
    assert not HelpRequest.objects.exists()


def test_requests_are_rate_limited_per_address(partner_a, time_machine):
    browser = visitor(partner_a)
    for n in range(5):
        response = browser.post("/help/request/", filled_request(browser, time_machine, subject=f"Question {n}"))
        assert response.status_code == 302
    response = browser.post("/help/request/", filled_request(browser, time_machine, subject="One too many"))
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    assert HelpRequest.objects.count() == 5
    # another address is not affected
    other = Client(HTTP_HOST=host_of(partner_a), REMOTE_ADDR="10.1.2.3")
    assert other.post("/help/request/", filled_request(other, time_machine, subject="Mine")).status_code == 302


@pytest.fixture
def customer_ticket(partner_a, admin_a):
    customer = services.customer_get_or_create(actor=admin_a, partner=partner_a, email="erin@customer.example")
    ticket = services.ticket_open(
        partner=partner_a, actor=admin_a, customer=customer, subject="Printer jams", description="Page 2 jams."
    )
    public = services.ticket_reply(
        ticket=ticket,
        actor=admin_a,
        body="Here is the guide.",
        attachments=[SimpleUploadedFile("guide.txt", b"Open tray 2.")],
    )
    note = services.ticket_reply(
        ticket=ticket,
        actor=admin_a,
        body="Internal: replace the roller next visit.",
        visibility=Visibility.PARTNER_NOTE,
        attachments=[SimpleUploadedFile("internal.txt", b"roller part 77")],
    )
    return {
        "ticket": ticket,
        "customer": customer,
        "path": f"/help/tickets/{services.customer_ticket_token(ticket)}/",
        "token": services.customer_ticket_token(ticket),
        "public_file": public.attachments.get(),
        "note_file": note.attachments.get(),
    }


def test_customer_page_shows_public_messages_and_their_files_only(customer_ticket, partner_a):
    c = customer_ticket
    browser = visitor(partner_a)
    body = browser.get(c["path"]).content.decode()
    assert "Here is the guide." in body and "guide.txt" in body
    assert "replace the roller" not in body and "internal.txt" not in body
    download = browser.get(f"{c['path']}attachments/{c['public_file'].pk}/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert browser.get(f"{c['path']}attachments/{c['note_file'].pk}/").status_code == 404


def test_customer_sees_statuses_in_the_partners_voice(customer_ticket, partner_a, admin_a):
    c = customer_ticket
    browser = visitor(partner_a)
    assert "Status: </span>In progress" in browser.get(c["path"]).content.decode()
    services.ticket_escalate(actor=admin_a, ticket=c["ticket"], reason="Firmware bug for the vendor's engineers")
    body = browser.get(c["path"]).content.decode()
    assert "Status: </span>In progress" in body  # an escalation is the partner's business, not the customer's
    page = body.split("<main", 1)[1].lower()
    assert "escalat" not in page and "vendor" not in page and "firmware bug" not in page
    services.ticket_set_status(actor=admin_a, ticket=c["ticket"], status=TicketStatus.PENDING)
    assert "Status: </span>Waiting for your reply" in browser.get(c["path"]).content.decode()


def test_another_help_center_cannot_open_this_partners_customer_links(customer_ticket, partner_b, admin_b):
    c = customer_ticket
    stranger_host = visitor(partner_b)
    assert stranger_host.get(c["path"]).status_code == 404
    assert stranger_host.post(c["path"], {"action": "reply", "body": "Hijack"}).status_code == 404
    assert stranger_host.get(f"{c['path']}attachments/{c['public_file'].pk}/").status_code == 404
    assert Client().get(c["path"]).status_code == 404  # the vendor's own host has no help center
    # a token for one ticket does not open another ticket's files
    other_customer = services.customer_get_or_create(actor=admin_b, partner=partner_b, email="olaf@bolt.example")
    other = services.ticket_open(
        partner=partner_b, actor=admin_b, customer=other_customer, subject="Bolt issue", description="x"
    )
    other_path = f"/help/tickets/{services.customer_ticket_token(other)}/"
    assert visitor(partner_b).get(other_path).status_code == 200
    assert visitor(partner_b).get(f"{other_path}attachments/{c['public_file'].pk}/").status_code == 404
    # a tampered token is not a ticket
    assert visitor(partner_b).get(c["path"].replace(c["token"], c["token"][:-2] + "xx")).status_code == 404
    assert not TicketMessage.objects.filter(body__contains="Hijack").exists()


def test_customer_reply_errors_save_nothing(customer_ticket, partner_a, admin_a):
    c = customer_ticket
    browser = visitor(partner_a)
    before = TicketMessage.objects.count()
    assert browser.post(c["path"], {"action": "reply", "body": ""}).status_code == 400
    fake_pdf = SimpleUploadedFile("report.pdf", b"<html><script>alert(1)</script></html>")
    response = browser.post(c["path"], {"action": "reply", "body": "See file", "attachments": [fake_pdf]})
    assert response.status_code == 400 and "is not an accepted file" in response.content.decode()
    assert browser.post(c["path"], {"action": "rate", "rating": "5"}).status_code == 409  # not resolved yet
    services.ticket_set_status(actor=admin_a, ticket=c["ticket"], status=TicketStatus.CLOSED)
    assert browser.post(c["path"], {"action": "reply", "body": "Hello?"}).status_code == 409
    assert TicketMessage.objects.count() == before
    assert TicketAttachment.objects.count() == 2


def test_help_articles_search_votes_and_suggestions(partner_a, partner_b, admin_a):
    writer = make_staff("partner_operations", username="kb-writer")
    shown = services.article_save(
        actor=writer,
        title="Reset your router",
        summary="Two minutes, no tools.",
        body="<p>Unplug the router, wait thirty seconds, plug it back in.</p>",
        status=ArticleStatus.PUBLISHED,
    )
    internal = services.article_save(
        actor=writer,
        title="Router RMA process for partners",
        body="<p>Partners return a router through the RMA portal.</p>",
        status=ArticleStatus.PUBLISHED,
        customer_visible=False,
    )
    own = services.article_save(
        actor=admin_a,
        partner=partner_a,
        title="Acme router opening hours",
        body="<p>Our router desk is open 9-17.</p>",
        status=ArticleStatus.PUBLISHED,
    )
    browser = visitor(partner_a)
    home = browser.get("/help/", {"q": "router"})
    titles = [a.title for a in home.context["results"]]
    assert set(titles) == {"Reset your router", "Acme router opening hours"}
    assert "<mark>router</mark>" in home.content.decode()
    assert browser.get(f"/help/articles/{internal.pk}/").status_code == 404
    page = browser.get(f"/help/articles/{shown.pk}/")
    assert page.status_code == 200 and "wait thirty seconds" in page.content.decode()
    # partner B's help center shows the vendor's article but not partner A's own
    assert visitor(partner_b).get(f"/help/articles/{own.pk}/").status_code == 404
    assert {a.title for a in visitor(partner_b).get("/help/", {"q": "router"}).context["results"]} == {
        "Reset your router"
    }
    # one vote per visitor (kept in the session); a second vote changes it
    assert browser.post(f"/help/articles/{shown.pk}/", {"helpful": "yes"}).status_code == 302
    assert browser.post(f"/help/articles/{shown.pk}/", {"helpful": "yes"}).status_code == 302
    assert visitor(partner_a).post(f"/help/articles/{shown.pk}/", {"helpful": "no"}).status_code == 302
    assert browser.post(f"/help/articles/{shown.pk}/", {"helpful": "sideways"}).status_code == 400
    shown.refresh_from_db()
    assert (shown.helpful_count, shown.unhelpful_count) == (1, 1)
    # suggestions while the request is typed: customer-visible articles of this help center only
    fragment = browser.get("/help/suggest/", {"subject": "router blinking", "description": ""}).content.decode()
    assert "Reset your router" in fragment and "RMA" not in fragment
    assert f'href="/help/articles/{shown.pk}/"' in fragment
    request_page = browser.get("/help/request/").content.decode()
    assert 'hx-get="/help/suggest/"' in request_page
    assert Customer.objects.count() == 0
