"""Support e-mail. Each function runs after commit with ids, decides who may read what, and respects each
person's preference (immediately, daily digest, off). Customers get their own ticket's public replies only;
partner notes never reach customers; vendor notes reach vendor staff only."""

from __future__ import annotations

from html import unescape

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from partnerhub.notifications import send_email
from partnerhub.services import portal_base_url
from support.choices import DigestMode, Visibility
from support.models import (
    HelpRequest,
    NotificationPreference,
    PendingNotification,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketMessage,
)

User = get_user_model()


def _ticket_url_for(user, ticket: Ticket) -> str:
    from django.conf import settings

    if user.is_staff:
        return f"{settings.PUBLIC_BASE_URL}{reverse('support:agent_ticket', args=[ticket.pk])}"
    return f"{portal_base_url(ticket.partner)}{reverse('support:ticket', args=[ticket.pk])}"


def deliver(user, *, ticket: Ticket, kind: str, subject: str, text: str) -> None:
    """Send to a user now, queue for their digest, or drop, by their preference."""
    if user is None or not user.is_active or not user.email:
        return
    pref = NotificationPreference.objects.filter(user=user).values_list("mode", flat=True).first()
    mode = pref or DigestMode.IMMEDIATE
    if mode == DigestMode.OFF:
        return
    body = f"{text}\n\n{_ticket_url_for(user, ticket)}"
    if mode == DigestMode.DAILY:
        PendingNotification.objects.create(user=user, ticket=ticket, kind=kind, subject=subject[:200], body=body)
        return
    send_email(
        to=[user.email],
        subject=subject,
        template="support/emails/notification",
        context={"text": body, "ticket": ticket},
    )


def _partner_desk(ticket: Ticket) -> list:
    """Who answers for the partner: the assignee, else the partner's admins."""
    if ticket.assignee_id:
        return [ticket.assignee]
    return list(
        User.objects.filter(
            memberships__partner=ticket.partner, memberships__is_active=True, memberships__role="admin", is_active=True
        )
    )


def _vendor_agents() -> list:
    return list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(groups__permissions__codename="work_escalations") | Q(user_permissions__codename="work_escalations"))
        .distinct()[:50]
    )


def _customer_email(ticket: Ticket, subject: str, text: str) -> None:
    from support.services import customer_ticket_url

    customer = ticket.requester_customer
    if customer is None or not customer.email:
        return
    send_email(
        to=[customer.email],
        subject=subject,
        template="support/emails/customer",
        context={"text": text, "ticket": ticket, "brand": ticket.partner.brand, "url": customer_ticket_url(ticket)},
    )


def ticket_opened(ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("partner__brand", "requester_customer", "assignee").get(pk=ticket_id)
    subject = f"[{ticket.reference}] New ticket: {ticket.subject}"
    for user in _partner_desk(ticket):
        if user.pk != ticket.requester_user_id:
            deliver(
                user,
                ticket=ticket,
                kind="opened",
                subject=subject,
                text=f"{ticket.requester_label} opened a ticket ({ticket.get_priority_display()}).",
            )
    if ticket.requester_customer_id:
        _customer_email(
            ticket,
            f"[{ticket.reference}] We received your request",
            f"We received your request “{ticket.subject}”. Follow it and reply here:",
        )


def message_added(message_id: int) -> None:
    message = TicketMessage.objects.select_related(
        "ticket__partner__brand",
        "ticket__assignee",
        "ticket__vendor_assignee",
        "ticket__requester_user",
        "ticket__requester_customer",
        "author_user",
    ).get(pk=message_id)
    ticket = message.ticket
    author = message.author_user
    text = unescape(strip_tags(message.body))  # plain text again: the templates escape it once, where needed
    subject = f"[{ticket.reference}] {ticket.subject}"
    recipients: list = []
    if message.visibility == Visibility.VENDOR_NOTE:
        recipients = [ticket.vendor_assignee] if ticket.vendor_assignee_id else []
    else:
        recipients = _partner_desk(ticket)
        if ticket.is_escalated and ticket.vendor_assignee_id:
            recipients.append(ticket.vendor_assignee)
        if message.visibility == Visibility.PUBLIC and ticket.requester_user_id:
            recipients.append(ticket.requester_user)
    seen = set()
    label = "note" if message.visibility != Visibility.PUBLIC else "reply"
    for user in recipients:
        if user is None or user.pk in seen or (author is not None and user.pk == author.pk):
            continue
        if message.visibility == Visibility.VENDOR_NOTE and not user.is_staff:
            continue  # defence in depth: vendor notes never go to partner users
        seen.add(user.pk)
        deliver(
            user, ticket=ticket, kind=label, subject=subject, text=f"New {label} from {message.author_label}:\n\n{text}"
        )
    if message.visibility == Visibility.PUBLIC and ticket.requester_customer_id and message.author_customer_id is None:
        _customer_email(
            ticket,
            f"Re: [{ticket.reference}] {ticket.subject}",
            f"{message.author_label if not message.by_vendor else 'Support'} replied:\n\n{text}",
        )


def status_changed(ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("partner__brand", "requester_customer", "requester_user").get(pk=ticket_id)
    if ticket.status == "resolved":
        text = f"Your ticket “{ticket.subject}” was resolved. Tell us how we did, or reply if it is not fixed:"
        if ticket.requester_customer_id:
            _customer_email(ticket, f"[{ticket.reference}] Resolved: {ticket.subject}", text)
        elif ticket.requester_user_id:
            deliver(
                ticket.requester_user,
                ticket=ticket,
                kind="resolved",
                subject=f"[{ticket.reference}] Resolved: {ticket.subject}",
                text=text,
            )


def assigned(ticket_id: int, user_id: int) -> None:
    ticket = Ticket.objects.select_related("partner").get(pk=ticket_id)
    user = User.objects.filter(pk=user_id).first()
    deliver(
        user,
        ticket=ticket,
        kind="assigned",
        subject=f"[{ticket.reference}] Assigned to you: {ticket.subject}",
        text=f"The ticket “{ticket.subject}” ({ticket.get_priority_display()}) is now yours.",
    )


def escalated(ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("partner").get(pk=ticket_id)
    for agent in _vendor_agents():
        deliver(
            agent,
            ticket=ticket,
            kind="escalated",
            subject=f"[{ticket.reference}] Escalated by {ticket.partner.name}: {ticket.subject}",
            text=f"{ticket.partner.name} escalated a {ticket.get_priority_display().lower()} ticket:\n\n"
            f"{ticket.escalation_reason}",
        )


def sla_event(clock_id: int, *, breached: bool) -> None:
    clock = SlaClock.objects.select_related("ticket__partner", "ticket__assignee", "ticket__vendor_assignee").get(
        pk=clock_id
    )
    ticket = clock.ticket
    what = f"{clock.get_target_display()} ({clock.get_scope_display().lower()})"
    if breached:
        subject, text = f"[{ticket.reference}] SLA breached: {what}", f"The {what} target was missed."
    else:
        due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M %Z")
        subject, text = f"[{ticket.reference}] SLA due soon: {what}", f"The {what} target is due at {due}."
    if clock.scope == SlaPolicy.Scope.ESCALATION:
        recipients = [ticket.vendor_assignee] if ticket.vendor_assignee_id else _vendor_agents()
    else:
        recipients = _partner_desk(ticket)
    for user in recipients:
        deliver(user, ticket=ticket, kind="sla", subject=subject, text=text)


def verify_help_request(request_id: int, token: str) -> None:
    request = HelpRequest.objects.select_related("partner__brand").get(pk=request_id)
    url = portal_base_url(request.partner) + reverse("support:help_verify", args=[token])
    send_email(
        to=[request.email],
        subject=f"{request.partner.brand.display_name}: confirm your support request",
        template="support/emails/verify",
        context={"request": request, "url": url, "brand": request.partner.brand},
    )


@transaction.atomic
def send_digests() -> int:
    """One e-mail per person with everything queued for their daily digest. Returns how many were sent."""
    pending = list(
        PendingNotification.objects.select_for_update(skip_locked=True)
        .filter(sent_at__isnull=True)
        .select_related("user")
        .order_by("user_id", "created_at")
    )
    by_user: dict[int, list[PendingNotification]] = {}
    for item in pending:
        by_user.setdefault(item.user_id, []).append(item)
    now = timezone.now()
    for items in by_user.values():
        user = items[0].user
        if user.is_active and user.email:
            send_email(
                to=[user.email],
                subject=f"Your support digest: {len(items)} update(s)",
                template="support/emails/digest",
                context={"items": items, "user": user},
            )
        PendingNotification.objects.filter(pk__in=[i.pk for i in items]).update(sent_at=now)
    return len(by_user)
