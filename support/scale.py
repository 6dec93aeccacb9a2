"""Support's part of ``seed_scale``: 200,000 tickets with their threads, history and SLA clocks, the partners'
end customers, and a knowledge base of vendor articles and partners' private ones (full size, ``ctx.factor`` 1).

Tickets follow a long tail over the partners (the first partners created are the busiest; see
``partnerhub.scale.long_tail``), span a year, and are spread over statuses, priorities and channels the way a
first-line desk sees them: most resolved or closed, about one in ten escalated to the vendor. Tickets and
articles are created with ``bulk_create``; messages, history and SLA clocks, several rows per ticket, are built
by PostgreSQL from the tickets (``INSERT … SELECT``); search vectors are filled with one UPDATE per table, the
same expression the services use.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.utils import timezone

from partnerhub import scale
from support import sla

TICKETS = 200_000
VENDOR_ARTICLES = 2_000
PARTNER_ARTICLES = 20_000
SUPPORT_AGENTS = 40
KB_SEARCH = "firmware"  # in every article's body, in some titles and summaries: make bench ranks them all

CATEGORIES = ["Hardware", "Licensing", "Networking", "Billing", "Security", "Cloud", "Installation", "Integrations"]
PRODUCTS = [
    "Edge router X200",
    "Core switch S48",
    "Firewall F5100",
    "Wireless access point W6",
    "VPN gateway G2",
    "Cloud controller",
    "Storage array A30",
    "Licence server",
]
ISSUES = [
    ("Firmware upgrade fails", "The firmware upgrade stops at 80 % and the unit rolls back to the previous image."),
    ("Licence activation error", "Activating the subscription licence returns error 4012 (seat count exceeded)."),
    ("VPN tunnel drops every hour", "Site-to-site tunnels renegotiate every 60 minutes and traffic stalls."),
    ("High CPU after update", "Since the last update the management plane sits at 95 % CPU."),
    ("PoE ports not powering phones", "Ports 1–12 stopped delivering power after a reboot."),
    ("HA failover does not trigger", "Pulling the primary's uplink leaves the standby passive."),
    ("SSO sign-in loop", "Users bounce between the identity provider and the portal after signing in."),
    ("Certificate expired on the appliance", "The web UI certificate expired and browsers refuse the console."),
    ("RMA for a dead unit", "The unit does not power on; the status LED stays off with a known-good supply."),
    ("Invoice does not match the quote", "Support renewals were invoiced at list price instead of the quote."),
    ("Throughput lower than the datasheet", "Inspection enabled, throughput is a third of the published figure."),
    ("Backup to cloud storage fails", "Scheduled configuration backups fail with an authentication error."),
]
REPLIES = [
    "<p>Thanks for the details. Could you send the diagnostics bundle from <em>System → Support</em>?</p>",
    "<p>Attached the diagnostics bundle. The problem started right after the maintenance window.</p>",
    "<p>This matches a known issue in firmware 7.2.1; upgrading to 7.2.3 fixes it. Steps are in the KB.</p>",
    "<p>Upgrade done on the lab unit, the problem is gone. Rolling out to production tonight.</p>",
    "<p>Internal: customer has 40 units on the old image, schedule a call before the rollout.</p>",
    "<p>We reproduced it and raised it with engineering; a workaround is to disable offload on the WAN port.</p>",
    "<p>Confirmed working after the change. You can close the ticket.</p>",
    "<p>Reminder: we are waiting for the serial number and proof of purchase to open the RMA.</p>",
]
STATUSES = [("closed", 45), ("resolved", 20), ("open", 12), ("new", 8), ("pending", 8), ("escalated", 7)]
PRIORITIES = [("low", 20), ("normal", 50), ("high", 22), ("urgent", 8)]
CHANNELS = [("portal", 60), ("help_center", 30), ("api", 10)]
SLA_MINUTES = {"low": (24 * 60, 10 * 24 * 60), "normal": (8 * 60, 5 * 24 * 60), "high": (4 * 60, 2 * 24 * 60)}
SLA_MINUTES["urgent"] = (60, 8 * 60)


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def seed(ctx: scale.ScaleContext) -> None:
    """Customers, tickets with messages, history and SLA clocks, and the knowledge base."""
    rng = random.Random(20261128)
    with transaction.atomic():
        categories = _categories()
        policies = _sla_policies()
        agents = _support_agents(ctx)
        partners = _partners(ctx)
        counts = scale.long_tail(round(TICKETS * ctx.factor), ctx.partner_ids)
        customers = _customers(ctx, rng, partners, counts)
        first, last = _tickets(ctx, rng, counts, customers, categories, agents)
        if first is not None:
            _threads(first, last, policies)
        _articles(ctx, rng, partners, categories, agents)


def _categories() -> list:
    from support.models import Category

    found = []
    for position, name in enumerate(CATEGORIES):
        slug = name.lower()
        category = Category.objects.filter(name=name).first() or Category.objects.filter(slug=slug).first()
        found.append(category or Category.objects.create(name=name, slug=slug, position=position))
    return found


def _sla_policies() -> dict[tuple[str, str], object]:
    """The program-wide policies (every tier) per scope and priority; created around the clock if missing."""
    from support.models import SlaPolicy

    policies = {}
    for scope in ("first_line", "escalation"):
        for priority, (first, resolve) in SLA_MINUTES.items():
            policy = SlaPolicy.objects.filter(applies_to=scope, tier__isnull=True, priority=priority).first()
            policies[scope, priority] = policy or SlaPolicy.objects.create(
                name=f"{'Partner' if scope == 'first_line' else 'Vendor'} {priority}",
                applies_to=scope,
                priority=priority,
                first_response_minutes=first,
                resolution_minutes=resolve,
            )
    return policies


def _support_agents(ctx: scale.ScaleContext) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from partnerhub import roles
    from partnerhub.choices import StaffRole
    from partnerhub.models import User

    prefix = f"{scale.PREFIX}-agent-"
    start = User.objects.filter(username__startswith=prefix).count()
    count = max(2, round(SUPPORT_AGENTS * ctx.factor))
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{start + k:04d}",
                email=f"{prefix}{start + k:04d}@vendor.example",
                is_staff=True,
                first_name="Support",
                last_name=f"Agent {start + k:04d}",
                password=make_password(None),  # unusable: the data set's agents do not sign in
            )
            for k in range(count)
        ]
    )
    group = roles.staff_group(StaffRole.SUPPORT_AGENT)
    through = User.groups.through
    through.objects.bulk_create([through(user_id=u.pk, group_id=group.pk) for u in users])
    ctx.log(f"  support agents: {len(users)}")
    return [u.pk for u in users]


def _partners(ctx: scale.ScaleContext) -> dict[int, dict]:
    from partnerhub.models import Partner

    rows = Partner.objects.filter(pk__in=ctx.partner_ids).values("pk", "slug", "tier_id", "members_group_id")
    return {row["pk"]: row for row in rows}


def _team(ctx: scale.ScaleContext, partner_id: int) -> list[int]:
    admin = ctx.admin_user_ids.get(partner_id)
    return [*ctx.rep_user_ids.get(partner_id, []), *([admin] if admin else [])]


def _customers(ctx, rng, partners, counts) -> dict[int, list[int]]:
    """End customers of each partner: about one for every three of its tickets."""
    from support.models import Customer

    now = timezone.now()
    rows = []
    for partner_id, tickets in counts.items():
        slug = partners[partner_id]["slug"]
        for j in range(max(1, tickets // 3)):
            rows.append(
                Customer(
                    partner_id=partner_id,
                    email=f"customer{j:05d}@{slug}.example",
                    name=f"Customer {j:05d}",
                    company=f"{rng.choice(['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'])} {j % 97}",
                    email_verified_at=now - dt.timedelta(days=rng.randint(1, 365)),
                    created_at=now - dt.timedelta(days=rng.randint(1, 365)),
                )
            )
    with scale.own_timestamps(Customer):
        created = Customer.objects.bulk_create(rows, batch_size=5000)
    by_partner: dict[int, list[int]] = {}
    for customer in created:
        by_partner.setdefault(customer.partner_id, []).append(customer.pk)
    ctx.log(f"  customers: {len(created)}")
    return by_partner


def _tickets(ctx, rng, counts, customers, categories, agents) -> tuple[int | None, int | None]:
    from support.models import Ticket

    now = timezone.now()
    rows = []
    for partner_id, count in counts.items():
        team = _team(ctx, partner_id)
        for _ in range(count):
            status = _pick(rng, STATUSES)
            priority = _pick(rng, PRIORITIES)
            channel = _pick(rng, CHANNELS)
            active = status in ("new", "open", "pending", "escalated")
            age = dt.timedelta(days=rng.uniform(0, 10) if active else rng.uniform(2, 365))
            created = now - age
            issue, detail = rng.choice(ISSUES)
            product = rng.choice(PRODUCTS)
            escalated = status == "escalated" or (status in ("resolved", "closed") and rng.random() < 0.06)
            customer = rng.choice(customers[partner_id]) if channel == "help_center" else None
            requester = None if customer else (rng.choice(team) if team else None)
            # Most answers and resolutions inside the SLA targets, about one in six late.
            respond, resolve = SLA_MINUTES[priority]
            first_response = (
                None if status == "new" else created + dt.timedelta(minutes=respond * rng.uniform(0.05, 1.2))
            )
            resolved = (
                min(now, created + dt.timedelta(minutes=resolve * rng.uniform(0.05, 1.2)))
                if status in ("resolved", "closed")
                else None
            )
            closed = min(now, resolved + dt.timedelta(days=rng.randint(1, 7))) if status == "closed" else None
            escalated_at = None
            if escalated:
                escalated_at = min(now, created + dt.timedelta(hours=rng.randint(1, 48)))
                if resolved and resolved < escalated_at:
                    resolved = escalated_at + dt.timedelta(hours=1)
                    closed = closed and max(closed, resolved)
            rated = resolved is not None and rng.random() < 0.35
            rows.append(
                Ticket(
                    partner_id=partner_id,
                    subject=f"{issue} on {product}"[:200],
                    description=f"{detail} Model: {product}. Seen at the customer's site since {created:%d %B}.",
                    category=rng.choice(categories),
                    priority=priority,
                    status=status,
                    channel=channel,
                    requester_user_id=requester,
                    requester_customer_id=customer,
                    assignee_id=(rng.choice(team) if team and status != "new" and rng.random() < 0.85 else None),
                    vendor_assignee_id=rng.choice(agents) if escalated and rng.random() < 0.7 else None,
                    escalated_at=escalated_at,
                    escalation_reason="Needs engineering: reproducible on the latest firmware." if escalated else "",
                    first_response_at=first_response and min(now, first_response),
                    resolved_at=resolved,
                    closed_at=closed,
                    created_at=created,
                    updated_at=closed
                    or resolved
                    or escalated_at
                    or (first_response and min(now, first_response))
                    or created,
                    satisfaction=rng.choice([3, 4, 4, 5, 5, 5, 2, 1]) if rated else None,
                    satisfaction_comment="Quick and clear answer." if rated and rng.random() < 0.3 else "",
                )
            )
    # Oldest first, so ids grow with creation time as in a real desk.
    rows.sort(key=lambda t: t.created_at)
    with scale.own_timestamps(Ticket):
        created_rows = Ticket.objects.bulk_create(rows, batch_size=5000)
    ctx.log(f"  tickets: {len(created_rows)}")
    if not created_rows:
        return None, None
    first, last = created_rows[0].pk, created_rows[-1].pk
    Ticket.objects.filter(pk__gte=first, pk__lte=last).update(
        search_vector=SearchVector("subject", weight="A", config="english")
        + SearchVector("description", weight="B", config="english")
    )
    return first, last


def _threads(first: int, last: int, policies) -> None:
    """Messages, history and SLA clocks of tickets ``first``..``last``, built by PostgreSQL from the tickets.

    Each ticket opens with its description as the requester's public message; answered tickets get one to
    five more (replies alternate between the agent and the requester, every fourth is a partner note, an
    escalated ticket has a vendor note). History: created, assigned, status and escalation events. Clocks:
    the first line's first response and resolution, met, breached, paused (pending) or running, plus the
    vendor's for escalated tickets.
    """
    from support.models import SlaClock, Ticket, TicketEvent, TicketMessage

    bodies = "ARRAY[" + ", ".join("%s" for _ in REPLIES) + "]"
    params = {"first": first, "last": last}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TicketMessage._meta.db_table}
                (ticket_id, author_user_id, author_customer_id, visibility, body, created_at)
            SELECT t.id,
                   CASE WHEN k = 1 AND t.escalated_at IS NOT NULL THEN t.vendor_assignee_id
                        WHEN mod(k, 2) = 1 THEN t.assignee_id ELSE t.requester_user_id END,
                   CASE WHEN mod(k, 2) = 0 AND NOT (k = 1 AND t.escalated_at IS NOT NULL)
                        THEN t.requester_customer_id END,
                   CASE WHEN k = 1 AND t.escalated_at IS NOT NULL THEN 'vendor_note'
                        WHEN mod(k, 4) = 3 THEN 'partner_note' ELSE 'public' END,
                   CASE WHEN k = 0 THEN '<p>' || t.description || '</p>'
                        ELSE ({bodies})[1 + mod(t.id + k, {len(REPLIES)})::int] END,
                   LEAST(now(), t.created_at + k * interval '3 hours')
            FROM {Ticket._meta.db_table} t
            CROSS JOIN LATERAL generate_series(0, CASE WHEN t.status = 'new' THEN 0 ELSE 1 + mod(t.id, 5)::int END) k
            WHERE t.id BETWEEN %s AND %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [*REPLIES, first, last],
        )
        cursor.execute(
            f"""
            INSERT INTO {TicketEvent._meta.db_table}
                (ticket_id, kind, actor_id, actor_label, before, after, note, vendor_only, created_at)
            SELECT t.id, e.kind, e.actor_id, '', e.before, e.after, e.note, false, e.at
            FROM {Ticket._meta.db_table} t
            CROSS JOIN LATERAL (VALUES
                ('created', t.requester_user_id, '', initcap(t.priority), '', t.created_at),
                ('assigned', t.assignee_id, '', '', '', COALESCE(t.first_response_at, t.created_at)),
                ('escalated', t.assignee_id, '', '', t.escalation_reason, t.escalated_at),
                ('status', t.assignee_id, 'New', initcap(t.status), '', t.updated_at)
            ) AS e(kind, actor_id, before, after, note, at)
            WHERE t.id BETWEEN %(first)s AND %(last)s
              AND (e.kind = 'created'
                   OR (e.kind = 'assigned' AND t.assignee_id IS NOT NULL)
                   OR (e.kind = 'escalated' AND t.escalated_at IS NOT NULL)
                   OR (e.kind = 'status' AND t.status <> 'new'))
            """,  # noqa: S608 (table names from the models)
            params,
        )
        policy_rows = ", ".join(
            f"('{scope}', '{priority}', {p.pk}, {p.first_response_minutes}, {p.resolution_minutes})"
            for (scope, priority), p in policies.items()
        )
        cursor.execute(
            f"""
            INSERT INTO {SlaClock._meta.db_table}
                (ticket_id, policy_id, scope, target, started_at, due_at, paused_since, remaining_seconds,
                 met_at, warned_at, breached_at)
            SELECT c.ticket_id, c.policy_id, c.scope, c.target, c.started_at, c.due_at,
                   CASE WHEN c.met_at IS NULL AND c.paused THEN c.paused_at END,
                   CASE WHEN c.met_at IS NULL AND c.paused
                        THEN GREATEST(0, extract(epoch FROM c.due_at - c.paused_at))::int END,
                   c.met_at, NULL,
                   CASE WHEN COALESCE(c.met_at, now()) > c.due_at AND NOT (c.met_at IS NULL AND c.paused)
                        THEN c.due_at END
            FROM (
                SELECT t.id AS ticket_id, p.policy_id, p.scope, g.target,
                       CASE WHEN p.scope = 'first_line' THEN t.created_at ELSE t.escalated_at END AS started_at,
                       CASE WHEN p.scope = 'first_line' THEN t.created_at ELSE t.escalated_at END
                           + (CASE WHEN g.target = 'first_response' THEN p.first_minutes ELSE p.resolve_minutes END)
                             * interval '1 minute' AS due_at,
                       CASE WHEN g.target = 'first_response' AND p.scope = 'first_line' THEN t.first_response_at
                            WHEN g.target = 'first_response'
                                 AND (t.status <> 'escalated' OR t.vendor_assignee_id IS NOT NULL)
                                THEN LEAST(now(), t.escalated_at + (1 + mod(t.id, 9)) * interval '20 minutes')
                            WHEN g.target = 'resolution' THEN t.resolved_at END AS met_at,
                       t.status = 'pending' AS paused,
                       t.updated_at AS paused_at
                FROM {Ticket._meta.db_table} t
                JOIN (VALUES {policy_rows}) AS p(scope, priority, policy_id, first_minutes, resolve_minutes)
                  ON p.priority = t.priority AND (p.scope = 'first_line' OR t.escalated_at IS NOT NULL)
                CROSS JOIN (VALUES ('first_response'), ('resolution')) AS g(target)
                WHERE t.id BETWEEN %(first)s AND %(last)s
            ) c
            """,  # noqa: S608 (table names from the models, policy values are integers and choices)
            params,
        )
    sla.refresh_due_in_range(first, last)


def _articles(ctx, rng, partners, categories, agents) -> None:
    """Vendor articles shared with all partners, chosen tiers or chosen partners (with their grants), and
    partners' private articles following the same long tail as the tickets."""
    from django.contrib.auth.models import Permission

    from partnerhub.models import Tier
    from support.models import Article, ArticleGroupObjectPermission

    now = timezone.now()
    tiers = list(Tier.objects.order_by("rank").values_list("pk", flat=True))
    rows = []
    vendor_count = round(VENDOR_ARTICLES * ctx.factor) or 1
    start = Article.objects.filter(partner__isnull=True, slug__startswith="scale-v-").count()
    for i in range(start, start + vendor_count):
        rows.append(_article(rng, i, None, categories, agents, now))
    own = scale.long_tail(round(PARTNER_ARTICLES * ctx.factor), ctx.partner_ids)
    for partner_id, count in own.items():
        team = _team(ctx, partner_id)
        for j in range(count):
            rows.append(_article(rng, j, partner_id, categories, team, now))
    with scale.own_timestamps(Article):
        created = Article.objects.bulk_create(rows, batch_size=2000)
    vendor = [a for a in created if a.partner_id is None]
    through = Article.tiers.through
    through.objects.bulk_create(
        [
            through(article_id=a.pk, tier_id=tier)
            for a in vendor
            if a.audience == "tiers"
            for tier in tiers[-2 - a.pk % 2 :]
        ],
        batch_size=5000,
    )
    view = Permission.objects.get(content_type__app_label="support", codename="view_article")
    groups = [partners[pid]["members_group_id"] for pid in ctx.partner_ids]
    grants = []
    for a in vendor:
        if a.audience == "partners":
            for group_id in rng.sample(groups, min(len(groups), rng.randint(1, 20))):
                grants.append(ArticleGroupObjectPermission(content_object=a, group_id=group_id, permission=view))
    ArticleGroupObjectPermission.objects.bulk_create(grants, batch_size=5000)
    Article.objects.filter(pk__gte=created[0].pk, pk__lte=created[-1].pk).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("body", weight="C", config="english")
    )
    ctx.log(f"  articles: {len(vendor)} vendor, {len(created) - len(vendor)} partners' own; {len(grants)} grants")


ARTICLE_TOPICS = [
    ("How to upgrade the firmware of the {p}", "Step-by-step firmware upgrade with rollback.", True),
    ("Resolving licence activation errors on the {p}", "Seat counts, offline activation and error 4012.", False),
    ("Configuring site-to-site VPN on the {p}", "IKEv2 settings that keep tunnels stable.", False),
    ("Known issues in firmware 7.2 for the {p}", "What the firmware 7.2 release changes and breaks.", True),
    ("Replacing a failed {p} (RMA)", "Serial numbers, proof of purchase and shipping.", False),
    ("High availability pairs with the {p}", "Failover tests after a firmware change.", True),
    ("Single sign-on for the {p} console", "SAML settings for common identity providers.", False),
    ("Sizing guide for the {p}", "Throughput with inspection on, by firmware version.", True),
]


def _article(rng, i, partner_id, categories, authors, now):
    from support.models import Article

    title, summary, firmware = rng.choice(ARTICLE_TOPICS)
    product = rng.choice(PRODUCTS)
    status = "published" if rng.random() < 0.9 else rng.choice(["draft", "archived"])
    audience = "private" if partner_id else _pick(rng, [("all", 70), ("tiers", 20), ("partners", 10)])
    text = (
        "<p>Applies to the {p} on firmware 7.x. Back up the configuration first.</p>"
        "<ol><li>Download the image from the partner portal.</li><li>Check the checksum.</li>"
        "<li>Install during a maintenance window and watch the status LED.</li></ol>"
        "<p>{extra}</p>"
    ).format(
        p=product,
        extra="If the firmware upgrade stops, boot the previous image from the recovery menu."
        if firmware
        else "Contact vendor support with the diagnostics bundle if the steps do not help.",
    )
    published = now - dt.timedelta(days=rng.uniform(1, 700)) if status != "draft" else None
    return Article(
        partner_id=partner_id,
        title=title.format(p=product)[:200],
        slug=f"scale-{'v' if partner_id is None else 'p'}-{i:06d}",
        summary=summary,
        body=text,
        category=rng.choice(categories),
        audience=audience,
        customer_visible=rng.random() < 0.6,
        status=status,
        author_id=rng.choice(authors) if authors else None,
        published_at=published,
        updated_at=published or now,
        helpful_count=rng.randint(0, 120),
        unhelpful_count=rng.randint(0, 15),
    )
