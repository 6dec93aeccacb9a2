"""Support's part of ``seed_demo``: categories, business hours and SLA policies, knowledge-base articles for
every audience, and tickets in every state — including an escalation with a vendor note and a help-center
ticket from an end customer."""

from __future__ import annotations

from partnerhub import demo

WEEKDAYS = {str(d): [["08:00", "18:00"]] for d in range(1, 6)}

ARTICLES = [
    (
        "Reset a device to factory settings",
        "Step-by-step reset for every model.",
        "all",
        True,
        "<p>Hold the reset button for <strong>ten seconds</strong> until the light blinks amber.</p>"
        "<ol><li>Unplug the network cable.</li><li>Hold reset for ten seconds.</li>"
        "<li>Wait for the green light.</li></ol>",
    ),
    (
        "Licence renewal and grace period",
        "How renewals work and what happens after expiry.",
        "all",
        True,
        "<p>Licences renew yearly. After expiry a <em>30-day grace period</em> keeps every feature running.</p>",
    ),
    (
        "Escalation checklist for partners",
        "What the vendor's second line needs in an escalation.",
        "all",
        False,
        "<p>Attach logs, the firmware version, steps to reproduce and what you already tried.</p>",
    ),
    (
        "Gold partner pricing tools",
        "Deal desk tools for Gold and Platinum partners.",
        "tiers",
        False,
        "<p>Use the special-pricing request in the deal registration form for discounts above your tier.</p>",
    ),
]


@demo.register("support")
def seed(ctx: demo.DemoContext) -> None:
    from support import services
    from support.choices import TicketStatus, Visibility
    from support.models import Article, BusinessHours, Category, SlaPolicy, Ticket

    actor = ctx.superuser
    categories = {}
    for position, name in enumerate(["Hardware", "Licensing", "Networking", "Billing"]):
        category = Category.objects.filter(name=name).first() or services.category_save(
            actor=actor, name=name, slug=name.lower(), position=position
        )
        categories[name] = category
    hours = BusinessHours.objects.filter(name="Office hours (CET)").first() or services.business_hours_save(
        actor=actor, name="Office hours (CET)", timezone="Europe/Berlin", schedule=WEEKDAYS, holidays=["2026-12-25"]
    )
    targets = {
        "low": (24 * 60, 10 * 24 * 60),
        "normal": (8 * 60, 5 * 24 * 60),
        "high": (4 * 60, 2 * 24 * 60),
        "urgent": (60, 8 * 60),
    }
    for scope in ("first_line", "escalation"):
        for priority, (first, resolve) in targets.items():
            if not SlaPolicy.objects.filter(applies_to=scope, tier__isnull=True, priority=priority).exists():
                services.sla_policy_save(
                    actor=actor,
                    name=f"{'Partner' if scope == 'first_line' else 'Vendor'} {priority}",
                    applies_to=scope,
                    tier=None,
                    priority=priority,
                    first_response_minutes=first,
                    resolution_minutes=resolve,
                    warn_before_minutes=30,
                    business_hours=hours,
                )
    agent = ctx.staff.get("sam")
    for title, summary, audience, customers, body in ARTICLES:
        if Article.objects.filter(title=title, partner__isnull=True).exists():
            continue
        tiers = None
        if audience == "tiers":
            from partnerhub.models import Tier

            tiers = list(Tier.objects.filter(name__in=["Gold", "Platinum"]))
        services.article_save(
            actor=agent or actor,
            title=title,
            summary=summary,
            body=body,
            audience=audience,
            customer_visible=customers,
            status="published",
            category=categories["Hardware"],
            tiers=tiers,
        )
        ctx.created.append(f"article {title}")
    northwind = ctx.partners.get("northwind")
    if northwind is None or Ticket.objects.filter(partner=northwind).exists():
        return
    nina, noah = ctx.users("nina"), ctx.users("noah")
    router = services.ticket_open(
        partner=northwind,
        actor=noah,
        subject="Branch router reboots every night",
        description="The router at the Malmö branch restarts at 02:00 since the update.",
        category=categories["Networking"],
        priority="high",
    )
    services.ticket_assign(actor=nina, ticket=router, assignee=noah)
    services.ticket_reply(
        ticket=router,
        actor=nina,
        body="Checked the logs: the watchdog restarts it.",
        visibility=Visibility.PARTNER_NOTE,
    )
    services.ticket_reply(ticket=router, actor=noah, body="We are looking into it and will update you by noon.")
    services.ticket_escalate(
        actor=noah, ticket=router, reason="Watchdog restarts on firmware 4.2; looks like a firmware bug."
    )
    if agent is not None:
        services.ticket_vendor_assign(actor=agent, ticket=router, agent=agent)
        services.ticket_reply(
            ticket=router,
            actor=agent,
            visibility=Visibility.VENDOR_NOTE,
            body="Known issue FW-1182; fix ships in 4.2.1.",
        )
        services.ticket_reply(ticket=router, actor=agent, body="Firmware 4.2.1 fixes this; it is out tomorrow.")
    licence = services.ticket_open(
        partner=northwind,
        actor=nina,
        subject="Licence key not accepted",
        description="Customer Oresund Logistics cannot activate their renewal.",
        category=categories["Licensing"],
    )
    services.ticket_reply(ticket=licence, actor=noah, body="Fixed: the key was for the wrong edition.")
    services.ticket_set_status(actor=noah, ticket=licence, status=TicketStatus.RESOLVED)
    customer = services.customer_get_or_create(
        actor=nina, partner=northwind, email="it@oresund-logistics.example", name="Oresund Logistics IT"
    )
    services.ticket_open(
        partner=northwind,
        customer=customer,
        subject="Wi-Fi drops in the warehouse",
        description="Handheld scanners lose Wi-Fi near the loading docks.",
        category=categories["Networking"],
        channel="help_center",
    )
    ctx.created.append("support tickets")
    ctx.notes.append(
        "Support: partner desk at /support/ ; vendor agents at /agents/tickets/ (sam) ; "
        "help center at http://northwind.localhost:8000/help/"
    )
