"""SLA clocks with business hours and pauses, under controlled time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from support import services, sla
from support.business_time import add_business_seconds, business_seconds_between
from support.choices import Priority, SlaTarget, TicketStatus, Visibility
from support.models import BusinessHours, SlaClock, SlaPolicy, TicketEvent

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_17 = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def berlin_hours(db):
    return BusinessHours.objects.create(
        name="Berlin office", timezone="Europe/Berlin", schedule=WEEKDAYS_9_TO_17, holidays=["2026-12-25"]
    )


def test_business_seconds_skip_nights_weekends_and_holidays(berlin_hours):
    # Friday 16:00 → Monday 10:00 is 1 h + 1 h of business time
    assert business_seconds_between(berlin_hours, at(2026, 11, 27, 16), at(2026, 11, 30, 10)) == 2 * 3600
    # Thursday 24 Dec 16:30 + 2 h lands on Monday 28 Dec 10:30 (25 Dec holiday, weekend)
    assert add_business_seconds(berlin_hours, at(2026, 12, 24, 16, 30), 2 * 3600) == at(2026, 12, 28, 10, 30)
    # starting before opening counts from opening
    assert add_business_seconds(berlin_hours, at(2026, 11, 30, 7), 3600) == at(2026, 11, 30, 10)
    # around the clock when no hours are set
    assert add_business_seconds(None, at(2026, 11, 27, 16), 3600) == at(2026, 11, 27, 17)
    assert business_seconds_between(berlin_hours, at(2026, 11, 30, 10), at(2026, 11, 30, 9)) == 0


def test_daylight_saving_change_is_respected(berlin_hours):
    # Friday 27 March 2026 16:00 + 2 h of business time → Monday 30 March 10:00 local (after the DST switch)
    result = add_business_seconds(berlin_hours, at(2026, 3, 27, 16), 2 * 3600)
    assert result.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 3, 30, 10)


def test_schedule_without_working_time_is_a_clear_error(db):
    empty = BusinessHours.objects.create(name="Never", timezone="UTC", schedule={})
    with pytest.raises(ValueError, match="no working time"):
        add_business_seconds(empty, timezone.now(), 60)


@pytest.fixture
def policy(berlin_hours):
    return SlaPolicy.objects.create(
        name="Normal",
        priority=Priority.NORMAL,
        first_response_minutes=120,
        resolution_minutes=8 * 60,
        warn_before_minutes=30,
        business_hours=berlin_hours,
    )


def clock(ticket, target, scope="first_line"):
    return SlaClock.objects.get(ticket=ticket, scope=scope, target=target)


def test_clocks_start_pause_resume_and_meet(partner_a, rep_a, admin_a, policy, time_machine):
    time_machine.move_to(at(2026, 11, 27, 16))  # Friday 16:00
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Router down", description="No WAN.")
    assert clock(ticket, SlaTarget.FIRST_RESPONSE).due_at == at(2026, 11, 30, 10)  # Monday 10:00
    assert clock(ticket, SlaTarget.RESOLUTION).due_at == at(2026, 11, 30, 16)  # 1 h Friday + 7 h Monday

    # Monday 09:30: pending on the customer — the clocks pause with 30 min / 6.5 h left
    time_machine.move_to(at(2026, 11, 30, 9, 30))
    services.ticket_set_status(actor=rep_a, ticket=ticket, status=TicketStatus.PENDING)
    first = clock(ticket, SlaTarget.FIRST_RESPONSE)
    assert first.paused_since is not None and first.remaining_seconds == 30 * 60

    # Tuesday 14:00 the customer answers: 30 business minutes from now
    time_machine.move_to(at(2026, 12, 1, 14))
    services.ticket_set_status(actor=rep_a, ticket=ticket, status=TicketStatus.OPEN)
    first = clock(ticket, SlaTarget.FIRST_RESPONSE)
    assert first.paused_since is None and first.due_at == at(2026, 12, 1, 14, 30)
    assert clock(ticket, SlaTarget.RESOLUTION).due_at == at(2026, 12, 2, 12, 30)

    # 14:10 the partner's desk answers publicly: first response met in time
    time_machine.move_to(at(2026, 12, 1, 14, 10))
    services.ticket_reply(ticket=ticket, actor=admin_a, body="Rebooting the modem remotely now.")
    first = clock(ticket, SlaTarget.FIRST_RESPONSE)
    assert first.met_at == at(2026, 12, 1, 14, 10) and first.breached_at is None


def test_a_partner_note_does_not_count_as_first_response(partner_a, rep_a, policy, time_machine):
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Slow VPN", description="Since noon.")
    services.ticket_reply(ticket=ticket, actor=rep_a, body="Checking logs", visibility=Visibility.PARTNER_NOTE)
    assert clock(ticket, SlaTarget.FIRST_RESPONSE).met_at is None


def test_warning_then_breach_are_recorded_once(partner_a, rep_a, admin_a, policy, time_machine, mailoutbox):
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Printer", description="Jammed.")
    time_machine.move_to(at(2026, 11, 30, 10, 35))  # 25 min before first-response due (11:00)
    assert sla.check() == {"warned": 1, "breached": 0}
    assert sla.check() == {"warned": 0, "breached": 0}
    time_machine.move_to(at(2026, 11, 30, 11, 1))
    assert sla.check() == {"warned": 0, "breached": 1}
    assert sla.check() == {"warned": 0, "breached": 0}
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds.count("sla_warning") == 1 and kinds.count("sla_breach") == 1
    assert clock(ticket, SlaTarget.FIRST_RESPONSE).breached_at == at(2026, 11, 30, 11, 1)


def test_paused_clocks_never_breach(partner_a, rep_a, policy, time_machine):
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Licence", description="Expired?")
    services.ticket_set_status(actor=rep_a, ticket=ticket, status=TicketStatus.PENDING)
    time_machine.move_to(at(2026, 12, 10, 12))
    assert sla.check() == {"warned": 0, "breached": 0}


def test_late_first_response_counts_as_breach_even_without_a_check(partner_a, rep_a, admin_a, policy, time_machine):
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Mail", description="Bounces.")
    time_machine.move_to(at(2026, 11, 30, 15))
    services.ticket_reply(ticket=ticket, actor=admin_a, body="Looking into it.")
    assert clock(ticket, SlaTarget.FIRST_RESPONSE).is_breached


def test_escalation_starts_vendor_clocks_and_metrics(partner_a, rep_a, admin_a, berlin_hours, policy, time_machine):
    from tests.factories import make_staff

    SlaPolicy.objects.create(
        name="Vendor normal",
        applies_to="escalation",
        priority=Priority.NORMAL,
        first_response_minutes=60,
        resolution_minutes=240,
        business_hours=berlin_hours,
    )
    agent = make_staff("support_agent", username="vera")
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Firmware bug", description="Crash")
    services.ticket_reply(ticket=ticket, actor=admin_a, body="We reproduced it.")
    time_machine.move_to(at(2026, 11, 30, 10))
    services.ticket_escalate(actor=rep_a, ticket=ticket, reason="Crash in firmware 4.2, needs engineering.")
    assert clock(ticket, SlaTarget.FIRST_RESPONSE, "escalation").due_at == at(2026, 11, 30, 11)
    time_machine.move_to(at(2026, 11, 30, 10, 20))
    services.ticket_reply(ticket=ticket, actor=agent, body="Engineering has a fix.")
    assert clock(ticket, SlaTarget.FIRST_RESPONSE, "escalation").met_at == at(2026, 11, 30, 10, 20)
    services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    figures = sla.partner_metrics([partner_a.pk], since=at(2026, 11, 1))[partner_a.pk]
    assert figures["sla_attainment"] == 1.0
    assert figures["first_line_resolution"] == 0.0  # resolved only after escalation


# The ticket's own due columns follow its clocks -----------------------------------------------------------------


def due_from_clocks(ticket, scope):
    """When the earliest running clock of ``scope`` is due, read from the clocks themselves."""
    running = SlaClock.objects.filter(
        ticket=ticket, scope=scope, met_at__isnull=True, paused_since__isnull=True, due_at__isnull=False
    )
    return min((c.due_at for c in running), default=None)


def assert_due_columns_follow_clocks(ticket, step):
    from support.models import Ticket

    stored = Ticket.objects.values_list("first_line_due_at", "escalation_due_at").get(pk=ticket.pk)
    expected = (due_from_clocks(ticket, "first_line"), due_from_clocks(ticket, "escalation"))
    assert stored == expected, step
    return stored


def test_due_columns_follow_every_change_to_the_clocks(partner_a, rep_a, admin_a, berlin_hours, policy, time_machine):
    from tests.factories import make_staff

    for scope, priority, first, resolve in (
        ("first_line", Priority.HIGH, 30, 240),
        ("escalation", Priority.NORMAL, 60, 300),
        ("escalation", Priority.HIGH, 20, 120),
    ):
        SlaPolicy.objects.create(
            name=f"{scope} {priority}",
            applies_to=scope,
            priority=priority,
            first_response_minutes=first,
            resolution_minutes=resolve,
            business_hours=berlin_hours,
        )
    agent = make_staff("support_agent", username="vik")
    time_machine.move_to(at(2026, 11, 30, 9))
    ticket = services.ticket_open(partner=partner_a, actor=rep_a, subject="Crash", description="On boot.")
    seen = [assert_due_columns_follow_clocks(ticket, "opened")]
    assert seen[0] == (at(2026, 11, 30, 11), None)  # first response due in 2 business hours

    steps = [
        ("pending", lambda: services.ticket_set_status(actor=rep_a, ticket=ticket, status=TicketStatus.PENDING)),
        ("resumed", lambda: services.ticket_set_status(actor=rep_a, ticket=ticket, status=TicketStatus.OPEN)),
        ("high priority", lambda: services.ticket_set_priority(actor=admin_a, ticket=ticket, priority=Priority.HIGH)),
        ("first response", lambda: services.ticket_reply(ticket=ticket, actor=admin_a, body="On it.")),
        ("escalated", lambda: services.ticket_escalate(actor=rep_a, ticket=ticket, reason="Needs engineering.")),
        ("normal priority", lambda: services.ticket_set_priority(actor=admin_a, ticket=ticket, priority="normal")),
        ("vendor answers", lambda: services.ticket_reply(ticket=ticket, actor=agent, body="Fix coming.")),
        ("pending again", lambda: services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.PENDING)),
        ("resolved", lambda: services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)),
    ]
    for minutes, (step, act) in enumerate(steps, start=1):
        time_machine.move_to(at(2026, 11, 30, 9) + dt.timedelta(minutes=7 * minutes))
        act()
        ticket.refresh_from_db()
        seen.append(assert_due_columns_follow_clocks(ticket, step))
    # The walk went through running, paused, escalated and finished clocks
    assert (None, None) in seen and any(first and escalation for first, escalation in seen)
    assert seen[-1] == (None, None)


def test_bulk_refresh_writes_what_each_ticket_refresh_writes(partner_a, rep_a, policy, time_machine):
    from support.models import Ticket

    time_machine.move_to(at(2026, 11, 30, 9))
    tickets = [
        services.ticket_open(partner=partner_a, actor=rep_a, subject=f"Case {n}", description="Details.")
        for n in range(4)
    ]
    services.ticket_set_status(actor=rep_a, ticket=tickets[1], status=TicketStatus.PENDING)
    expected = {t.pk: (due_from_clocks(t, "first_line"), due_from_clocks(t, "escalation")) for t in tickets}
    Ticket.objects.update(first_line_due_at=None, escalation_due_at=None)
    ids = sorted(expected)
    assert sla.refresh_due_in_range(ids[0], ids[-1]) == 4
    stored = {
        pk: (first, esc)
        for pk, first, esc in Ticket.objects.values_list("pk", "first_line_due_at", "escalation_due_at")
    }
    assert stored == expected and expected[tickets[1].pk] == (None, None) and expected[tickets[0].pk][0]
    # One ticket's refresh also sets the instance it was given
    first = tickets[0]
    first.first_line_due_at = first.escalation_due_at = None
    sla.refresh_due(first)
    assert (first.first_line_due_at, first.escalation_due_at) == expected[first.pk]
