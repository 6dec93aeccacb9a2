"""How support plugs into the core: staff role permissions, metrics, portal home panel."""

from __future__ import annotations

from partnerhub import metrics, portal, roles
from partnerhub.choices import StaffRole


def _crud(model, *actions):
    return [f"support.{action}_{model}" for action in actions or ("view", "add", "change", "delete")]


def grant_staff_permissions() -> None:
    roles.grant(
        StaffRole.SUPPORT_AGENT,
        [
            *_crud("ticket", "view", "change"),
            "support.work_escalations",
            *_crud("ticketmessage", "view", "add"),
            *_crud("ticketattachment", "view"),
            *_crud("ticketevent", "view"),
            *_crud("slaclock", "view"),
            *_crud("article"),
            *_crud("category", "view"),
            *_crud("customer", "view"),
            *_crud("slapolicy", "view"),
            *_crud("businesshours", "view"),
        ],
    )
    roles.grant(
        StaffRole.CHANNEL_MANAGER,
        [
            *_crud("ticket", "view"),
            "support.view_first_line_tickets",
            *_crud("ticketmessage", "view"),
            *_crud("ticketevent", "view"),
            *_crud("slaclock", "view"),
            *_crud("article", "view"),
            *_crud("customer", "view"),
        ],
    )
    roles.grant(
        StaffRole.PARTNER_OPERATIONS,
        [
            *_crud("ticket", "view", "change"),
            "support.view_first_line_tickets",
            *_crud("ticketmessage", "view"),
            *_crud("ticketevent", "view"),
            *_crud("slaclock", "view"),
            *_crud("article"),
            *_crud("category"),
            *_crud("slapolicy"),
            *_crud("businesshours"),
            *_crud("customer", "view"),
        ],
    )


def _sla_attainment(partner_ids, since):
    from support import sla

    return {pid: row.get("sla_attainment") for pid, row in sla.partner_metrics(partner_ids, since=since).items()}


def _first_line_resolution(partner_ids, since):
    from support import sla

    return {pid: row.get("first_line_resolution") for pid, row in sla.partner_metrics(partner_ids, since=since).items()}


def support_panel(request, partner):
    from support import selectors

    qs = selectors.desk(user=request.user, partner=partner, queue="open")
    mine = qs.filter(assignee=request.user).count()
    total = qs.count()
    breaching = selectors.desk(user=request.user, partner=partner, queue="breaching").count()
    return [
        portal.HomePanel(
            key="support.desk",
            title="Support desk",
            template="support/_home_panel.html",
            context={"open": total, "mine": mine, "breaching": breaching},
            order=20,
        )
    ]


def connect() -> None:
    grant_staff_permissions()
    metrics.register("support.sla_attainment", label="SLA attainment", unit="percent", compute=_sla_attainment)
    metrics.register(
        "support.first_line_resolution", label="First-line resolution", unit="percent", compute=_first_line_resolution
    )
    portal.register_home_panel(support_panel)
