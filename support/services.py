"""Writes of first-line support: tickets, replies and notes, attachments, escalation, SLA, knowledge base,
help-center requests. Internal notes never leave their audience: see ``Visibility`` and ``notifications``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from typing import Any

import nh3
from django.contrib.postgres.search import SearchVector
from django.core import signing
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape, linebreaks
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, get_groups_with_perms, remove_perm

from partnerhub import access
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.models import Membership, Partner, Tier
from support import notifications, sla
from support.choices import (
    PRIORITY_RANK,
    TRANSITIONS,
    ArticleAudience,
    ArticleStatus,
    Channel,
    EventKind,
    Priority,
    SlaTarget,
    TicketStatus,
    Visibility,
)
from support.models import (
    Article,
    ArticleVote,
    BusinessHours,
    Category,
    Customer,
    HelpRequest,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

Scope = sla.Scope
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENTS_PER_MESSAGE = 5
HELP_REQUEST_MAX_AGE = dt.timedelta(hours=24)
CUSTOMER_TOKEN_SALT = "partnerhub.support.customer-ticket"  # noqa: S105 (a signing salt, not a secret)

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"scope"}, "td": {"colspan"}}


def sanitize_html(value: str) -> str:
    """Keep formatting, drop scripts, handlers, styles and dangerous URLs (nh3 allowlist)."""
    return nh3.clean(
        value or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def text_to_html(value: str) -> str:
    """Plain text (forms, e-mail, API ``text``) to safe HTML paragraphs."""
    return linebreaks(escape((value or "").strip()))


def _actor_label(user=None, customer=None) -> str:
    if customer is not None:
        return f"{customer} (customer)"
    return str(user) if user is not None else "System"


def _event(ticket, kind, *, actor=None, before="", after="", note="", vendor_only=False, customer=None):
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=_actor_label(actor, customer)[:200],
        before=str(before)[:200],
        after=str(after)[:200],
        note=note[:1000],
        vendor_only=vendor_only,
    )


def _refresh_search(ticket: Ticket) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        search_vector=SearchVector("subject", weight="A", config="english")
        + SearchVector("description", weight="B", config="english")
    )


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("partner").get(pk=ticket.pk)


def _is_vendor(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


# Attachments ---------------------------------------------------------------------------------------------------


def sniff_attachment(data: bytes, name: str) -> str:
    """The content type of an attachment judged by its bytes, or a DomainError saying what is accepted."""
    if not data:
        raise DomainError(f"“{name}” is empty.", field="attachments")
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "GIF", "WEBP"]) as image:
            image.verify()
            return {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}[image.format]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, KeyError):
        pass
    head = data[:4096].lower()
    if b"\x00" not in data[:8192] and not any(
        tag in head for tag in (b"<html", b"<script", b"<svg", b"<!doctype", b"<?xml", b"<iframe")
    ):
        try:
            data[:65536].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            pass
    raise DomainError(
        f"“{name}” is not an accepted file: attach PDF, PNG, JPEG, GIF, WebP or plain-text files.", field="attachments"
    )


def _store_attachments(ticket: Ticket, message: TicketMessage, uploads) -> list[TicketAttachment]:
    uploads = list(uploads or [])
    if len(uploads) > ATTACHMENTS_PER_MESSAGE:
        raise DomainError(f"Attach at most {ATTACHMENTS_PER_MESSAGE} files to one message.", field="attachments")
    stored = []
    for upload in uploads:
        name = (getattr(upload, "name", "") or "attachment").rsplit("/", 1)[-1][:200]
        data = upload.read(ATTACHMENT_MAX_BYTES + 1)
        if len(data) > ATTACHMENT_MAX_BYTES:
            raise DomainError(f"“{name}” is larger than 10 MB.", field="attachments")
        content_type = sniff_attachment(data, name)
        attachment = TicketAttachment(
            ticket=ticket, message=message, original_name=name, content_type=content_type, size=len(data)
        )
        attachment.file.save(secrets.token_hex(12), ContentFile(data), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


# Tickets -------------------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    partner: Partner,
    subject: str,
    description: str,
    actor=None,
    customer: Customer | None = None,
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    channel: str = Channel.PORTAL,
    attachments=(),
    assignee=None,
    requester=None,
) -> Ticket:
    """Open a ticket for ``partner``, by one of its users (``actor``) or one of its customers.

    ``requester`` files it on behalf of a teammate (a member of ``partner``); the default is ``actor``.
    """
    subject, description = (subject or "").strip(), (description or "").strip()
    if not subject:
        raise DomainError("Give the ticket a subject.", field="subject")
    if len(subject) > 200:
        raise DomainError("Keep the subject under 200 characters.", field="subject")
    if not description:
        raise DomainError("Describe the problem.", field="description")
    if priority not in Priority.values:
        raise DomainError(f"Unknown priority “{priority}”.", field="priority")
    if customer is not None and customer.partner_id != partner.pk:
        raise DomainError("The customer belongs to another partner.", field="customer")
    if actor is not None and not _is_vendor(actor) and not access.can(actor, "view", partner):
        raise ActionNotAllowed("You cannot open tickets for this partner.")
    if assignee is not None:
        _check_assignee(partner, assignee)
    if requester is not None:
        if customer is not None:
            raise DomainError("Choose a teammate or a customer as the requester, not both.", field="requester")
        if not Membership.objects.filter(partner=partner, user=requester, is_active=True).exists():
            raise DomainError(f"{requester} is not on {partner}'s team.", field="requester")
    now = timezone.now()
    ticket = Ticket.objects.create(
        partner=partner,
        subject=subject,
        description=description[:20000],
        category=category,
        priority=priority,
        channel=channel,
        requester_user=(requester or actor) if customer is None else None,
        requester_customer=customer,
        assignee=assignee,
        created_at=now,
    )
    message = TicketMessage.objects.create(
        ticket=ticket,
        author_user=actor if customer is None else None,
        author_customer=customer,
        visibility=Visibility.PUBLIC,
        body=text_to_html(description),
    )
    _store_attachments(ticket, message, attachments)
    _refresh_search(ticket)
    _event(ticket, EventKind.CREATED, actor=actor, customer=customer, after=ticket.get_priority_display())
    sla.start_clocks(ticket, Scope.FIRST_LINE, now)
    transaction.on_commit(lambda: notifications.ticket_opened(ticket.pk))
    return ticket


@transaction.atomic
def customer_get_or_create(*, actor, partner: Partner, email: str, name: str = "") -> Customer:
    """The partner's end customer with this e-mail address (any letter case), added if new, so a partner user
    can file a ticket on a customer's behalf. The address is not verified: the customer did not confirm it."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    if actor is None or _is_vendor(actor) or not access.can(actor, "view", partner):
        raise ActionNotAllowed("You cannot add customers for this partner.")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError("Enter the customer's e-mail address.", field="customer_email") from None
    name = (name or "").strip()
    if len(name) > 120:
        raise DomainError("Keep the customer's name under 120 characters.", field="customer_name")
    customer = Customer.objects.filter(partner=partner, email__iexact=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(partner=partner, email=email, name=name)
        except IntegrityError:  # added by a concurrent request a moment ago
            customer = Customer.objects.get(partner=partner, email__iexact=email)
    elif name and not customer.name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


def _check_assignee(partner: Partner, user) -> None:
    if not Membership.objects.filter(partner=partner, user=user, is_active=True).exists():
        raise DomainError(f"{user} is not on {partner}'s team.", field="assignee")


def _can_work(user, ticket: Ticket) -> bool:
    return access.can(user, "change", ticket)


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    visibility: str = Visibility.PUBLIC,
    actor=None,
    customer: Customer | None = None,
    attachments=(),
    html: bool = False,
) -> TicketMessage:
    """Add a public reply or an internal note.

    Partner users write public replies and partner notes; vendor staff also vendor notes; customers only
    public replies to their own ticket. The first public answer by the partner (or, for an escalation, by the
    vendor) meets the first-response clock; a customer reply on a pending ticket reopens it.
    """
    ticket = _lock(ticket)
    body = sanitize_html(body) if html else text_to_html(body)
    if not nh3.clean(body, tags=set()).strip():
        raise DomainError("Write a message.", field="body")
    if visibility not in Visibility.values:
        raise DomainError(f"Unknown visibility “{visibility}”.", field="visibility")
    vendor = _is_vendor(actor)
    if customer is not None:
        if customer.pk != ticket.requester_customer_id:
            raise ActionNotAllowed("This is not your ticket.")
        if visibility != Visibility.PUBLIC:
            raise ActionNotAllowed("Customers write public replies only.")
    elif actor is None or not _can_work(actor, ticket):
        raise ActionNotAllowed("You cannot reply to this ticket.")
    elif visibility == Visibility.VENDOR_NOTE and not vendor:
        raise ActionNotAllowed("Only vendor staff write vendor notes.")
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError("The ticket is closed; reopen it to reply.", field="status")
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket,
        author_user=actor if customer is None else None,
        author_customer=customer,
        visibility=visibility,
        body=body,
    )
    _store_attachments(ticket, message, attachments)
    if visibility == Visibility.PUBLIC:
        if customer is not None or (actor is not None and actor.pk == ticket.requester_user_id and not vendor):
            if ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
                _set_status(ticket, TicketStatus.OPEN, actor=actor, customer=customer, now=now)
        else:
            if vendor and ticket.is_escalated:
                sla.meet(ticket, Scope.ESCALATION, SlaTarget.FIRST_RESPONSE, now)
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                ticket.save(update_fields=["first_response_at", "updated_at"])
                sla.meet(ticket, Scope.FIRST_LINE, SlaTarget.FIRST_RESPONSE, now)
            if ticket.status == TicketStatus.NEW:
                _set_status(ticket, TicketStatus.OPEN, actor=actor, now=now)
    transaction.on_commit(lambda: notifications.message_added(message.pk))
    return message


def _set_status(ticket: Ticket, status: str, *, actor=None, customer=None, now=None, note: str = "") -> None:
    now = now or timezone.now()
    before = ticket.status
    if status == before:
        return
    if status not in TRANSITIONS[before]:
        raise ConflictError(
            f"A {ticket.get_status_display().lower()} ticket cannot become {TicketStatus(status).label.lower()}.",
            field="status",
        )
    if before == TicketStatus.PENDING:
        sla.resume(ticket, now)
    if status == TicketStatus.PENDING:
        sla.pause(ticket, now)
    fields = ["status", "updated_at"]
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
        sla.stop_scopes(ticket, (Scope.FIRST_LINE, Scope.ESCALATION), now)
    if status == TicketStatus.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
        sla.stop_scopes(ticket, (Scope.FIRST_LINE, Scope.ESCALATION), now)
    reopened = before in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and status == TicketStatus.OPEN
    if reopened:
        ticket.resolved_at = ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    ticket.status = status
    ticket.save(update_fields=fields)
    _event(
        ticket,
        EventKind.REOPENED if reopened else EventKind.STATUS,
        actor=actor,
        customer=customer,
        before=TicketStatus(before).label,
        after=TicketStatus(status).label,
        note=note,
    )


@transaction.atomic
def ticket_set_status(*, actor, ticket: Ticket, status: str, note: str = "") -> Ticket:
    ticket = _lock(ticket)
    if not _can_work(actor, ticket):
        raise ActionNotAllowed("You cannot change this ticket.")
    if status not in TicketStatus.values:
        raise DomainError(f"Unknown status “{status}”.", field="status")
    if status == TicketStatus.ESCALATED:
        raise DomainError("Escalate with a reason through the escalation action.", field="status")
    was_escalated = ticket.status == TicketStatus.ESCALATED
    _set_status(ticket, status, actor=actor, note=note)
    if was_escalated and status in (TicketStatus.OPEN, TicketStatus.PENDING):
        sla.stop_scopes(ticket, (Scope.ESCALATION,), timezone.now())
        _event(ticket, EventKind.DE_ESCALATED, actor=actor, note=note)
    transaction.on_commit(lambda: notifications.status_changed(ticket.pk))
    return ticket


@transaction.atomic
def ticket_assign(*, actor, ticket: Ticket, assignee) -> Ticket:
    """Assign the partner's first-line agent (a member of the ticket's partner), or unassign with None."""
    ticket = _lock(ticket)
    if not _can_work(actor, ticket):
        raise ActionNotAllowed("You cannot change this ticket.")
    if assignee is not None:
        _check_assignee(ticket.partner, assignee)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    before = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _event(ticket, EventKind.ASSIGNED, actor=actor, before=before or "—", after=assignee or "—")
    if assignee is not None and assignee != actor:
        transaction.on_commit(lambda: notifications.assigned(ticket.pk, assignee.pk))
    return ticket


@transaction.atomic
def ticket_set_priority(*, actor, ticket: Ticket, priority: str) -> Ticket:
    ticket = _lock(ticket)
    if not _can_work(actor, ticket):
        raise ActionNotAllowed("You cannot change this ticket.")
    if priority not in Priority.values:
        raise DomainError(f"Unknown priority “{priority}”.", field="priority")
    if priority == ticket.priority:
        return ticket
    before = ticket.get_priority_display()
    ticket.priority = priority
    ticket.save(update_fields=["priority", "updated_at"])
    sla.retarget(ticket)
    _event(ticket, EventKind.PRIORITY, actor=actor, before=before, after=ticket.get_priority_display())
    return ticket


@transaction.atomic
def ticket_escalate(*, actor, ticket: Ticket, reason: str) -> Ticket:
    """The partner hands the ticket to the vendor's second line; the vendor's SLA clocks start."""
    ticket = _lock(ticket)
    if _is_vendor(actor) or not _can_work(actor, ticket):
        raise ActionNotAllowed("Only the partner's team escalates its tickets to the vendor.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the vendor is needed; the vendor's agents read it first.", field="reason")
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise ConflictError("Reopen the ticket before escalating it.", field="status")
    if ticket.status == TicketStatus.ESCALATED:
        raise ConflictError("The ticket is already escalated.", field="status")
    now = timezone.now()
    _set_status(ticket, TicketStatus.ESCALATED, actor=actor, now=now, note=reason)
    ticket.escalated_at = now
    ticket.escalation_reason = reason[:4000]
    ticket.save(update_fields=["escalated_at", "escalation_reason", "updated_at"])
    _event(ticket, EventKind.ESCALATED, actor=actor, note=reason)
    sla.start_clocks(ticket, Scope.ESCALATION, now)
    transaction.on_commit(lambda: notifications.escalated(ticket.pk))
    return ticket


@transaction.atomic
def ticket_vendor_assign(*, actor, ticket: Ticket, agent) -> Ticket:
    """A vendor agent takes (or hands over) an escalated ticket."""
    ticket = _lock(ticket)
    if not (_is_vendor(actor) and _can_work(actor, ticket)):
        raise ActionNotAllowed("Only vendor support staff assign escalations.")
    if agent is not None and not (agent.is_staff and agent.has_perm("support.work_escalations")):
        raise DomainError(f"{agent} does not work escalations.", field="agent")
    if not ticket.is_escalated:
        raise ConflictError("Only escalated tickets are assigned to vendor agents.")
    before = ticket.vendor_assignee
    ticket.vendor_assignee = agent
    ticket.save(update_fields=["vendor_assignee", "updated_at"])
    _event(ticket, EventKind.VENDOR_ASSIGNED, actor=actor, before=before or "—", after=agent or "—", vendor_only=True)
    return ticket


@transaction.atomic
def tickets_bulk_update(
    *,
    actor,
    tickets,
    status: str | None = None,
    assignee: Any = ...,
    priority: str | None = None,
) -> int:
    """Apply the same change to many tickets (desk bulk actions); each goes through its own rules."""
    count = 0
    for ticket in tickets:
        if assignee is not ...:
            ticket_assign(actor=actor, ticket=ticket, assignee=assignee)
        if priority:
            ticket_set_priority(actor=actor, ticket=ticket, priority=priority)
        if status:
            ticket_set_status(actor=actor, ticket=ticket, status=status)
        count += 1
    return count


@transaction.atomic
def ticket_rate(*, ticket: Ticket, rating: int, comment: str = "", actor=None, customer=None) -> Ticket:
    """The requester rates a resolved ticket from 1 to 5."""
    ticket = _lock(ticket)
    is_requester = (customer is not None and customer.pk == ticket.requester_customer_id) or (
        actor is not None and actor.pk == ticket.requester_user_id
    )
    if not is_requester:
        raise ActionNotAllowed("Only the person who raised the ticket rates it.")
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise ConflictError("Tickets are rated once they are resolved.")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise DomainError("Rate from 1 (poor) to 5 (excellent).", field="rating")
    ticket.satisfaction = rating
    ticket.satisfaction_comment = (comment or "").strip()[:1000]
    ticket.save(update_fields=["satisfaction", "satisfaction_comment", "updated_at"])
    _event(ticket, EventKind.RATED, actor=actor, customer=customer, after=f"{rating}/5")
    return ticket


# Help center ---------------------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def help_request_create(
    *,
    partner: Partner,
    email: str,
    name: str,
    subject: str,
    description: str,
    category: Category | None = None,
    ip_address: str | None = None,
) -> HelpRequest:
    """An end customer asks for help in the partner's help center; a single-use link verifies the address."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError("Enter a valid e-mail address; we send you a link to confirm it.", field="email") from None
    if not partner.can_sign_in:
        raise ConflictError("This help center is not taking requests right now.")
    for field, value, limit in (("subject", subject, 200), ("description", description, 20000), ("name", name, 120)):
        if not (value or "").strip():
            raise DomainError(f"Fill in the {field}.", field=field)
        if len(value) > limit:
            raise DomainError(f"Keep the {field} under {limit} characters.", field=field)
    token = secrets.token_urlsafe(32)
    request = HelpRequest.objects.create(
        partner=partner,
        email=email,
        name=name.strip(),
        subject=subject.strip(),
        description=description.strip(),
        category=category,
        token_hash=_hash(token),
        expires_at=timezone.now() + HELP_REQUEST_MAX_AGE,
        ip_address=ip_address,
    )
    transaction.on_commit(lambda: notifications.verify_help_request(request.pk, token))
    return request


@transaction.atomic
def help_request_verify(*, token: str) -> tuple[Ticket, Customer]:
    """Use a verification link once: the customer's address is confirmed and the ticket is opened."""
    request = HelpRequest.objects.select_for_update().select_related("partner").filter(token_hash=_hash(token)).first()
    if request is None:
        raise DomainError("This confirmation link is not valid; submit your request again.", code="invalid")
    if request.used_at is not None:
        raise DomainError("This link was already used; your ticket is open — see the e-mail we sent.", code="used")
    if request.expires_at <= timezone.now():
        raise DomainError("This confirmation link has expired; submit your request again.", code="expired")
    customer = Customer.objects.filter(partner=request.partner, email__iexact=request.email).first()
    if customer is None:
        customer = Customer.objects.create(
            partner=request.partner, email=request.email, name=request.name, email_verified_at=timezone.now()
        )
    elif customer.email_verified_at is None:
        customer.email_verified_at = timezone.now()
        customer.save(update_fields=["email_verified_at"])
    ticket = ticket_open(
        partner=request.partner,
        subject=request.subject,
        description=request.description,
        customer=customer,
        category=request.category,
        channel=Channel.HELP_CENTER,
    )
    request.used_at = timezone.now()
    request.ticket = ticket
    request.save(update_fields=["used_at", "ticket"])
    return ticket, customer


def customer_ticket_token(ticket: Ticket) -> str:
    """The customer's link to follow one ticket (signed; names the ticket and its customer)."""
    return signing.dumps({"t": ticket.pk, "c": ticket.requester_customer_id}, salt=CUSTOMER_TOKEN_SALT, compress=True)


def customer_ticket_url(ticket: Ticket) -> str:
    from django.urls import reverse

    from partnerhub.services import portal_base_url

    return portal_base_url(ticket.partner) + reverse("support:help_ticket", args=[customer_ticket_token(ticket)])


def ticket_from_customer_token(token: str, *, partner: Partner | None = None) -> tuple[Ticket, Customer]:
    try:
        data = signing.loads(token, salt=CUSTOMER_TOKEN_SALT)
    except signing.BadSignature:
        raise DomainError("This ticket link is not valid.", code="invalid") from None
    ticket = (
        Ticket.objects.select_related("partner", "requester_customer")
        .filter(pk=data.get("t"), requester_customer_id=data.get("c"))
        .first()
    )
    if ticket is None or ticket.requester_customer is None or (partner is not None and ticket.partner_id != partner.pk):
        raise DomainError("This ticket link is not valid.", code="invalid")
    return ticket, ticket.requester_customer


# Knowledge base ------------------------------------------------------------------------------------------------

ARTICLE_FIELDS = ("title", "summary", "body", "category", "audience", "customer_visible", "status")


def _refresh_article_search(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("body", weight="C", config="english")
    )


@transaction.atomic
def article_save(
    *,
    actor,
    article: Article | None = None,
    partner: Partner | None = None,
    tiers: list[Tier] | None = None,
    partners: list[Partner] | None = None,
    **fields,
) -> Article:
    """Create or change an article. Vendor staff write vendor articles (shared by audience); partner admins
    write their own partner's private articles. HTML is sanitised; chosen partners get guardian grants."""
    unknown = set(fields) - set(ARTICLE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    vendor = _is_vendor(actor)
    if article is None:
        article = Article(partner=None if vendor else partner, author=actor)
        if not vendor and (partner is None or not access.can(actor, "change", partner)):
            raise ActionNotAllowed("Only partner admins write their partner's articles.")
        if vendor and not actor.has_perm("support.add_article"):
            raise ActionNotAllowed("You cannot write knowledge-base articles.")
    else:
        article = Article.objects.select_for_update().get(pk=article.pk)
        owner_ok = (vendor and article.partner_id is None and actor.has_perm("support.change_article")) or (
            article.partner_id is not None and not vendor and access.can(actor, "change", article.partner)
        )
        if not owner_ok:
            raise ActionNotAllowed("You cannot change this article.")
    for field, value in fields.items():
        if field == "body":
            value = sanitize_html(value)
        if isinstance(value, str) and field != "body":
            value = value.strip()
        setattr(article, field, value)
    if article.partner_id is not None:
        article.audience = ArticleAudience.PRIVATE
    elif article.audience == ArticleAudience.PRIVATE:
        raise DomainError(
            "Vendor articles are shared with all partners, chosen tiers or chosen partners.", field="audience"
        )
    if not (article.title or "").strip():
        raise DomainError("Give the article a title.", field="title")
    if len(article.title) > 200:
        raise DomainError("Keep the title under 200 characters.", field="title")
    if not nh3.clean(article.body or "", tags=set()).strip():
        raise DomainError("Write the article's text.", field="body")
    if not article.slug:
        base = slugify(article.title)[:180] or "article"
        slug, n = base, 2
        while Article.objects.filter(partner=article.partner, slug=slug).exclude(pk=article.pk).exists():
            slug, n = f"{base}-{n}", n + 1
        article.slug = slug
    if article.status == ArticleStatus.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.save()
    if tiers is not None:
        article.tiers.set(tiers)
    if partners is not None:
        if article.partner_id is not None:
            raise DomainError("Partner articles are private to their partner.", field="partners")
        wanted = {p.members_group_id for p in partners}
        current = {g.pk: g for g in get_groups_with_perms(article)}
        for group_id, group in current.items():
            if group_id not in wanted:
                remove_perm("support.view_article", group, article)
        for partner_obj in partners:
            if partner_obj.members_group_id not in current:
                assign_perm("support.view_article", partner_obj.members_group, article)
    _refresh_article_search(article)
    return article


@transaction.atomic
def article_vote(*, article: Article, helpful: bool, user=None, visitor_key: str = "") -> Article:
    """Record one helpful/unhelpful vote per person (or per anonymous visitor); a second vote changes it."""
    if user is None and not visitor_key:
        raise DomainError("Votes need a visitor.")
    lookup = (
        {"article": article, "user": user}
        if user is not None
        else {"article": article, "user": None, "visitor_key": visitor_key[:64]}
    )
    vote = ArticleVote.objects.select_for_update().filter(**lookup).first()
    if vote is None:
        ArticleVote.objects.create(helpful=helpful, **lookup)
    elif vote.helpful != helpful:
        vote.helpful = helpful
        vote.save(update_fields=["helpful"])
    counts = ArticleVote.objects.filter(article=article)
    Article.objects.filter(pk=article.pk).update(
        helpful_count=counts.filter(helpful=True).count(), unhelpful_count=counts.filter(helpful=False).count()
    )
    article.refresh_from_db(fields=["helpful_count", "unhelpful_count"])
    return article


def ticket_priority_rank(priority: str) -> int:
    return PRIORITY_RANK.get(priority, 1)


# Customers and program configuration (API and console) ----------------------------------------------------------


@transaction.atomic
def customer_create(
    *, actor, partner: Partner, email: str, name: str = "", company: str = "", phone: str = ""
) -> Customer:
    """Record an end customer of ``partner`` (their address is not verified until they confirm a help request)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    if actor is not None and not access.partners_for(actor, Customer, "add").filter(pk=partner.pk).exists():
        raise ActionNotAllowed("You cannot add customers to this partner.")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError("Enter a valid e-mail address, for example jane@example.com.", field="email") from None
    if Customer.objects.filter(partner=partner, email__iexact=email).exists():
        raise ConflictError("This partner already has a customer with this e-mail address.", field="email")
    for field, value, limit in (("name", name, 120), ("company", company, 160), ("phone", phone, 40)):
        if len((value or "").strip()) > limit:
            raise DomainError(f"Keep the {field} under {limit} characters.", field=field)
    return Customer.objects.create(
        partner=partner,
        email=email,
        name=(name or "").strip(),
        company=(company or "").strip(),
        phone=(phone or "").strip(),
    )


def _require_model_perm(actor, model, action: str) -> None:
    """Program configuration is vendor staff's, with the model permission (``actor=None``: the system itself)."""
    if actor is None:
        return
    opts = model._meta
    if not (access.is_vendor_staff(actor) and actor.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")):
        raise ActionNotAllowed(f"You cannot {action} {opts.verbose_name_plural}.")


def _apply(obj, fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(obj, name, value.strip() if isinstance(value, str) else value)


CATEGORY_FIELDS = ("name", "slug", "position")


@transaction.atomic
def category_save(*, actor, category: Category | None = None, **fields) -> Category:
    """Create or change a ticket and article category; the slug follows the name unless given."""
    _require_model_perm(actor, Category, "change" if category else "add")
    category = category or Category()
    _apply(category, fields, CATEGORY_FIELDS)
    if not category.name:
        raise DomainError("Give the category a name.", field="name")
    category.slug = slugify(category.slug or category.name)[:80]
    if not category.slug:
        raise DomainError("Give the category a name with letters or digits.", field="name")
    clash = Category.objects.exclude(pk=category.pk)
    if clash.filter(name__iexact=category.name).exists():
        raise ConflictError("A category with this name exists.", field="name")
    if clash.filter(slug=category.slug).exists():
        raise ConflictError("A category with this slug exists.", field="slug")
    category.save()
    return category


@transaction.atomic
def category_delete(*, actor, category: Category) -> None:
    """Remove a category; its tickets and articles keep their content and become uncategorised."""
    _require_model_perm(actor, Category, "delete")
    category.delete()


def _hhmm(value) -> str | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    if value == "24:00" or (int(hours) < 24 and int(minutes) < 60):
        return value
    return None


def clean_business_hours(*, timezone_name: str, schedule, holidays) -> tuple[str, dict, list]:
    """Validate a working-hours calendar, or raise a DomainError naming the field and what to write instead.

    ``schedule`` maps ISO weekdays "1" (Monday) to "7" (Sunday) to lists of ``["HH:MM", "HH:MM"]`` intervals
    (start before end, no overlaps; "24:00" ends a day); ``holidays`` lists ISO dates. At least one day must
    have working time, or no SLA clock could ever end.
    """
    from itertools import pairwise
    from zoneinfo import available_timezones

    timezone_name = (timezone_name or "").strip()
    if timezone_name not in available_timezones():
        raise DomainError(
            f"“{timezone_name[:64]}” is not a time zone; use an IANA name such as Europe/Berlin or America/New_York.",
            field="timezone",
        )
    example = 'for example {"1": [["09:00", "17:00"]], "5": [["09:00", "12:30"], ["13:30", "16:00"]]}'
    if not isinstance(schedule, dict):
        raise DomainError(
            f"The schedule maps weekdays 1 (Monday) to 7 (Sunday) to intervals, {example}.", field="schedule"
        )
    cleaned: dict[str, list[list[str]]] = {}
    for day, spans in schedule.items():
        if str(day) not in {str(d) for d in range(1, 8)}:
            raise DomainError(f"“{str(day)[:20]}” is not a weekday; use 1 (Monday) to 7 (Sunday).", field="schedule")
        if not isinstance(spans, list):
            raise DomainError(f"Day {day}: give a list of [start, end] intervals, {example}.", field="schedule")
        intervals = []
        for span in spans:
            if not (isinstance(span, list | tuple) and len(span) == 2):
                raise DomainError(
                    f'Day {day}: each interval is [start, end], such as ["09:00", "17:00"].', field="schedule"
                )
            start, end = _hhmm(span[0]), _hhmm(span[1])
            if start is None or end is None or start == "24:00":
                raise DomainError(f"Day {day}: write times as HH:MM between 00:00 and 24:00.", field="schedule")
            if end <= start:
                raise DomainError(f"Day {day}: {start}–{end} ends before it starts.", field="schedule")
            intervals.append([start, end])
        intervals.sort()
        for (_, previous_end), (next_start, _) in pairwise(intervals):
            if next_start < previous_end:
                raise DomainError(f"Day {day}: intervals overlap at {next_start}.", field="schedule")
        if intervals:
            cleaned[str(day)] = intervals
    if not cleaned:
        raise DomainError(
            "Give at least one day with working time, or the SLA clocks could never end.", field="schedule"
        )
    if not isinstance(holidays, list | tuple):
        raise DomainError("Holidays are a list of dates such as 2026-12-25.", field="holidays")
    days = set()
    for holiday in holidays:
        try:
            days.add(dt.date.fromisoformat(str(holiday)).isoformat())
        except ValueError:
            raise DomainError(f"“{str(holiday)[:20]}” is not a date; write YYYY-MM-DD.", field="holidays") from None
    return timezone_name, dict(sorted(cleaned.items())), sorted(days)


BUSINESS_HOURS_FIELDS = ("name", "timezone", "schedule", "holidays")


@transaction.atomic
def business_hours_save(*, actor, hours: BusinessHours | None = None, **fields) -> BusinessHours:
    """Create or change working hours; running SLA clocks keep their due times until their ticket next changes."""
    _require_model_perm(actor, BusinessHours, "change" if hours else "add")
    hours = hours or BusinessHours()
    _apply(hours, fields, BUSINESS_HOURS_FIELDS)
    if not hours.name:
        raise DomainError("Give the working hours a name.", field="name")
    if len(hours.name) > 80:
        raise DomainError("Keep the name under 80 characters.", field="name")
    if BusinessHours.objects.exclude(pk=hours.pk).filter(name__iexact=hours.name).exists():
        raise ConflictError("Working hours with this name exist.", field="name")
    hours.timezone, hours.schedule, hours.holidays = clean_business_hours(
        timezone_name=hours.timezone, schedule=hours.schedule, holidays=hours.holidays or []
    )
    hours.save()
    return hours


@transaction.atomic
def business_hours_delete(*, actor, hours: BusinessHours) -> None:
    _require_model_perm(actor, BusinessHours, "delete")
    used = list(SlaPolicy.objects.filter(business_hours=hours).values_list("name", flat=True)[:3])
    if used:
        raise ConflictError(f"SLA policies use these hours ({', '.join(used)}); give them other hours first.")
    hours.delete()


SLA_POLICY_FIELDS = (
    "name",
    "applies_to",
    "tier",
    "priority",
    "first_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
    "business_hours",
)
MAX_SLA_MINUTES = 60 * 24 * 366


@transaction.atomic
def sla_policy_save(*, actor, policy: SlaPolicy | None = None, **fields) -> SlaPolicy:
    """Create or change an SLA policy: one per scope, tier (or every tier) and priority. New tickets use it;
    clocks already running keep their due times until the ticket's priority changes."""
    _require_model_perm(actor, SlaPolicy, "change" if policy else "add")
    policy = policy or SlaPolicy()
    _apply(policy, fields, SLA_POLICY_FIELDS)
    if not policy.name:
        raise DomainError("Give the policy a name.", field="name")
    if policy.applies_to not in SlaPolicy.Scope.values:
        raise DomainError("Choose first_line or escalation.", field="applies_to")
    if policy.priority not in Priority.values:
        raise DomainError(f"Choose a priority: {', '.join(Priority.values)}.", field="priority")
    for field in ("first_response_minutes", "resolution_minutes"):
        value = getattr(policy, field)
        if not isinstance(value, int) or not 1 <= value <= MAX_SLA_MINUTES:
            raise DomainError(f"Give a whole number of minutes from 1 to {MAX_SLA_MINUTES}.", field=field)
    if policy.resolution_minutes < policy.first_response_minutes:
        raise DomainError("The resolution target cannot come before the first response.", field="resolution_minutes")
    if not isinstance(policy.warn_before_minutes, int) or not 0 <= policy.warn_before_minutes <= MAX_SLA_MINUTES:
        raise DomainError(
            f"Warn between 0 and {MAX_SLA_MINUTES} minutes before the due time.", field="warn_before_minutes"
        )
    same_scope = SlaPolicy.objects.exclude(pk=policy.pk).filter(
        applies_to=policy.applies_to, priority=policy.priority, tier=policy.tier
    )
    if same_scope.exists():
        tier = policy.tier.name if policy.tier else "every tier"
        raise ConflictError(
            f"A {policy.get_applies_to_display().lower()} policy for {tier} at {policy.get_priority_display().lower()} "
            "priority exists; change that one instead.",
            field="priority",
        )
    policy.save()
    return policy


@transaction.atomic
def sla_policy_delete(*, actor, policy: SlaPolicy) -> None:
    """Remove a policy; clocks it started keep running to their due times (their policy link is cleared)."""
    _require_model_perm(actor, SlaPolicy, "delete")
    policy.delete()
