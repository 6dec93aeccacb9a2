"""SLA clocks: start, pause, resume, meet, warn and breach — and the metrics dashboards read.

A ticket has up to four clocks: first response and resolution for the partner's first line (from creation)
and for the vendor's escalation (from escalation). Clocks run in the policy's business hours and pause while
the ticket is pending on the customer.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Least
from django.utils import timezone

from partnerhub.expressions import column, table
from support.business_time import add_business_seconds, business_seconds_between
from support.choices import ACTIVE_STATUSES, EventKind, SlaTarget
from support.models import SlaClock, SlaPolicy, Ticket, TicketEvent

Scope = SlaPolicy.Scope


def policy_for(ticket: Ticket, scope: str) -> SlaPolicy | None:
    """The tier-specific policy for the ticket's priority, else the one for every tier."""
    tier_id = ticket.partner.tier_id if ticket.partner_id else None
    candidates = (
        SlaPolicy.objects.select_related("business_hours")
        .filter(applies_to=scope, priority=ticket.priority)
        .filter(Q(tier_id=tier_id) | Q(tier__isnull=True))
    )
    return min(candidates, key=lambda p: p.tier_id is None, default=None)


DUE_COLUMNS = {Scope.FIRST_LINE: "first_line_due_at", Scope.ESCALATION: "escalation_due_at"}


@functools.cache
def _due_sql(which: str) -> str:
    """SQL that stores, on one ticket (``which="one"``, returning the values) or a range of tickets by id
    (``"range"``), when their earliest running clock of each scope is due. The first two parameters are the
    scopes. Only table and column names from the models' metadata are put into the text."""
    first_line, escalation = (column(Ticket, name) for name in DUE_COLUMNS.values())
    due, scope, ticket_id = column(SlaClock, "due_at"), column(SlaClock, "scope"), column(Ticket, "id")
    where = {
        "one": f"t.{ticket_id} = %s RETURNING t.{first_line}, t.{escalation}",
        "range": f"t.{ticket_id} BETWEEN %s AND %s",
    }[which]
    return (
        f"UPDATE {table(Ticket)} t SET ({first_line}, {escalation}) = ("  # noqa: S608 (names only)
        f"SELECT MIN(c.{due}) FILTER (WHERE c.{scope} = %s), MIN(c.{due}) FILTER (WHERE c.{scope} = %s) "
        f"FROM {table(SlaClock)} c WHERE c.{column(SlaClock, 'ticket')} = t.{ticket_id} "
        f"AND c.{column(SlaClock, 'met_at')} IS NULL AND c.{column(SlaClock, 'paused_since')} IS NULL) "
        f"WHERE {where}"
    )


def due_expression(scopes=tuple(DUE_COLUMNS)):
    """When the ticket's earliest running clock of ``scopes`` is due, read from its own row (empty if none)."""
    columns = [F(DUE_COLUMNS[scope]) for scope in scopes]
    return columns[0] if len(columns) == 1 else Least(*columns)  # PostgreSQL's LEAST skips empty values


def due_by(moment: dt.datetime, scopes=tuple(DUE_COLUMNS)) -> Q:
    """Tickets with a running clock of ``scopes`` due at ``moment`` or earlier (overdue ones included)."""
    condition = Q()
    for scope in scopes:
        condition |= Q(**{f"{DUE_COLUMNS[scope]}__lte": moment})
    return condition


# A running clock due within this window (or overdue) puts its ticket in the "breaching" queues and filters.
BREACHING_WINDOW = dt.timedelta(hours=4)


def breaching(scopes=tuple(DUE_COLUMNS)) -> Q:
    """Active tickets with a running clock of ``scopes`` due within ``BREACHING_WINDOW``, or overdue."""
    return Q(status__in=ACTIVE_STATUSES) & due_by(timezone.now() + BREACHING_WINDOW, scopes)


def refresh_due(ticket: Ticket) -> None:
    """After any change to ``ticket``'s clocks: store when its earliest running clock of each scope is due, on
    its row and on ``ticket`` itself (so that a later save of this instance writes the same)."""
    with connection.cursor() as cursor:
        cursor.execute(_due_sql("one"), [Scope.FIRST_LINE.value, Scope.ESCALATION.value, ticket.pk])
        row = cursor.fetchone()
    ticket.first_line_due_at, ticket.escalation_due_at = row if row else (None, None)


def refresh_due_in_range(first: int, last: int) -> int:
    """``refresh_due`` for the tickets with ids ``first``..``last``, in one statement (bulk loads)."""
    with connection.cursor() as cursor:
        cursor.execute(_due_sql("range"), [Scope.FIRST_LINE.value, Scope.ESCALATION.value, first, last])
        return cursor.rowcount


def start_clocks(ticket: Ticket, scope: str, at: dt.datetime) -> list[SlaClock]:
    """Start (or restart, for a new escalation) the first-response and resolution clocks of ``scope``."""
    policy = policy_for(ticket, scope)
    if policy is None:
        return []
    hours = policy.business_hours
    clocks = []
    for target, minutes in (
        (SlaTarget.FIRST_RESPONSE, policy.first_response_minutes),
        (SlaTarget.RESOLUTION, policy.resolution_minutes),
    ):
        due = add_business_seconds(hours, at, minutes * 60)
        clock, _ = SlaClock.objects.update_or_create(
            ticket=ticket,
            scope=scope,
            target=target,
            defaults={
                "policy": policy,
                "started_at": at,
                "due_at": due,
                "paused_since": None,
                "remaining_seconds": None,
                "met_at": None,
                "warned_at": None,
                "breached_at": None,
            },
        )
        clocks.append(clock)
    refresh_due(ticket)
    return clocks


def retarget(ticket: Ticket) -> None:
    """After a priority change: recompute the running clocks' due times under the new priority's policy."""
    for clock in SlaClock.objects.filter(ticket=ticket, met_at__isnull=True).select_related("policy"):
        policy = policy_for(ticket, clock.scope)
        if policy is None:
            continue
        minutes = (
            policy.first_response_minutes if clock.target == SlaTarget.FIRST_RESPONSE else policy.resolution_minutes
        )
        clock.policy = policy
        if clock.paused_since is None:
            clock.due_at = add_business_seconds(policy.business_hours, clock.started_at, minutes * 60)
        else:
            spent = business_seconds_between(policy.business_hours, clock.started_at, clock.paused_since)
            clock.remaining_seconds = max(minutes * 60 - spent, 0)
        clock.warned_at = None
        clock.save(update_fields=["policy", "due_at", "remaining_seconds", "warned_at"])
    refresh_due(ticket)


def _hours(clock: SlaClock):
    return clock.policy.business_hours if clock.policy_id else None


def pause(ticket: Ticket, at: dt.datetime) -> None:
    """Stop the running clocks (pending on the customer), keeping the business time that was left."""
    for clock in SlaClock.objects.filter(ticket=ticket, met_at__isnull=True, paused_since__isnull=True).select_related(
        "policy__business_hours"
    ):
        clock.remaining_seconds = business_seconds_between(_hours(clock), at, clock.due_at) if clock.due_at else 0
        clock.paused_since = at
        clock.save(update_fields=["remaining_seconds", "paused_since"])
    refresh_due(ticket)


def resume(ticket: Ticket, at: dt.datetime) -> None:
    """Restart paused clocks: the time left when they paused, counted from now in business time."""
    for clock in SlaClock.objects.filter(ticket=ticket, met_at__isnull=True, paused_since__isnull=False).select_related(
        "policy__business_hours"
    ):
        clock.due_at = add_business_seconds(_hours(clock), at, clock.remaining_seconds or 0)
        clock.paused_since = None
        clock.remaining_seconds = None
        clock.save(update_fields=["due_at", "paused_since", "remaining_seconds"])
    refresh_due(ticket)


def _meet(ticket: Ticket, at: dt.datetime, **which) -> None:
    """Close the open clocks of ``ticket`` chosen by ``which`` (lookups on the clock) at ``at``; a late one is
    recorded as breached even if no check ran meanwhile. Then store the ticket's due times."""
    clocks = SlaClock.objects.filter(ticket=ticket, met_at__isnull=True, **which)
    clocks.filter(breached_at__isnull=True, due_at__lt=at, paused_since__isnull=True).update(breached_at=at)
    clocks.update(met_at=at, paused_since=None)
    refresh_due(ticket)


def meet(ticket: Ticket, scope: str, target: str, at: dt.datetime) -> None:
    """The target was reached at ``at``."""
    _meet(ticket, at, scope=scope, target=target)


def stop_scopes(ticket: Ticket, scopes, at: dt.datetime) -> None:
    """Close every open clock of ``scopes`` (the vendor returned the ticket, or it was resolved or closed)."""
    _meet(ticket, at, scope__in=list(scopes))


def check(now: dt.datetime | None = None) -> dict[str, int]:
    """Record warnings and breaches for running clocks (run every minute by Celery beat). Idempotent."""
    from support import notifications

    now = now or timezone.now()
    warned = breached = 0
    running = SlaClock.objects.filter(
        met_at__isnull=True, paused_since__isnull=True, breached_at__isnull=True, due_at__isnull=False
    ).select_related("policy", "ticket__partner")
    for clock in running.filter(due_at__lte=now).iterator():
        with transaction.atomic():
            updated = SlaClock.objects.filter(pk=clock.pk, breached_at__isnull=True).update(breached_at=now)
            if not updated:
                continue
            TicketEvent.objects.create(
                ticket=clock.ticket,
                kind=EventKind.SLA_BREACH,
                actor_label="SLA",
                after=f"{clock.get_scope_display()}: {clock.get_target_display()}",
                vendor_only=clock.scope == Scope.ESCALATION,
            )
            transaction.on_commit(lambda c=clock: notifications.sla_event(c.pk, breached=True))
            breached += 1
    for clock in running.filter(due_at__gt=now, warned_at__isnull=True).iterator():
        warn_from = clock.due_at - dt.timedelta(minutes=clock.policy.warn_before_minutes if clock.policy else 30)
        if now < warn_from:
            continue
        with transaction.atomic():
            if not SlaClock.objects.filter(pk=clock.pk, warned_at__isnull=True).update(warned_at=now):
                continue
            TicketEvent.objects.create(
                ticket=clock.ticket,
                kind=EventKind.SLA_WARNING,
                actor_label="SLA",
                after=f"{clock.get_scope_display()}: {clock.get_target_display()}",
                vendor_only=clock.scope == Scope.ESCALATION,
            )
            transaction.on_commit(lambda c=clock: notifications.sla_event(c.pk, breached=False))
            warned += 1
    return {"warned": warned, "breached": breached}


# Metrics -------------------------------------------------------------------------------------------------------


def partner_metrics(partner_ids, *, since: dt.datetime) -> dict[int, dict[str, float | int | None]]:
    """Per partner, for tickets created since ``since``: SLA attainment (share of finished first-line clocks
    met in time) and first-line resolution rate (share of resolved tickets never escalated)."""
    clocks = (
        SlaClock.objects.filter(
            ticket__partner_id__in=partner_ids, ticket__created_at__gte=since, scope=Scope.FIRST_LINE
        )
        .exclude(met_at__isnull=True, breached_at__isnull=True)
        .values("ticket__partner_id")
        .annotate(total=Count("id"), missed=Count("id", filter=Q(breached_at__isnull=False)))
    )
    resolved = (
        Ticket.objects.filter(partner_id__in=partner_ids, created_at__gte=since, resolved_at__isnull=False)
        .values("partner_id")
        .annotate(total=Count("id"), first_line=Count("id", filter=Q(escalated_at__isnull=True)))
    )
    result: dict[int, dict] = {
        pid: {"sla_attainment": None, "first_line_resolution": None, "clocks": 0, "resolved": 0} for pid in partner_ids
    }
    for row in clocks:
        entry = result.setdefault(row["ticket__partner_id"], {})
        entry["clocks"] = row["total"]
        entry["sla_attainment"] = round((row["total"] - row["missed"]) / row["total"], 4) if row["total"] else None
    for row in resolved:
        entry = result.setdefault(row["partner_id"], {})
        entry["resolved"] = row["total"]
        entry["first_line_resolution"] = round(row["first_line"] / row["total"], 4) if row["total"] else None
    return result
