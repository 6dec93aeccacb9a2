"""How co-marketing plugs into the core and onboarding: roles, the starting-MDF provisioning step, metrics,
home panel."""

from __future__ import annotations

from partnerhub import metrics, portal, roles
from partnerhub.choices import StaffRole


def _crud(model, *actions):
    return [f"comarketing.{action}_{model}" for action in actions or ("view", "add", "change", "delete")]


def grant_staff_permissions() -> None:
    everything = [
        *_crud("asset"),
        *_crud("assetversion"),
        *_crud("assetcategory"),
        *_crud("tag"),
        *_crud("campaign"),
        *_crud("campaignoptin", "view"),
        *_crud("cobrandedfile", "view"),
        *_crud("assetdownload", "view"),
        *_crud("fundprogram"),
        *_crud("fundallocation"),
        *_crud("fundrequest", "view", "change"),
        *_crud("fundclaim", "view", "change"),
        *_crud("claimproof", "view"),
        *_crud("ledgerentry", "view"),
    ]
    roles.grant(StaffRole.MARKETING_MANAGER, everything)
    roles.grant(StaffRole.PARTNER_OPERATIONS, [p for p in everything if ".view_" in p])
    roles.grant(
        StaffRole.CHANNEL_MANAGER,
        [
            *_crud("fundallocation", "view"),
            *_crud("fundrequest", "view"),
            *_crud("fundclaim", "view"),
            *_crud("campaignoptin", "view"),
            *_crud("assetdownload", "view"),
            *_crud("asset", "view"),
            *_crud("campaign", "view"),
        ],
    )


def register_provisioning_step() -> None:
    from onboarding.provisioning import register_step

    @register_step("comarketing.starting_mdf", title="Grant the starting MDF allocation", position=60)
    def grant_starting_allocation(ctx) -> dict:
        from comarketing import mdf
        from comarketing.models import FundAllocation, FundProgram, LedgerEntry

        program = (
            FundProgram.objects.filter(is_active=True, starting_allocation__gt=0).order_by("-period_start").first()
        )
        if program is None:
            return {"granted": "0", "program": None}
        existing = FundAllocation.objects.filter(partner=ctx.partner, program=program).first()
        if existing and LedgerEntry.objects.filter(allocation=existing, note="Starting allocation").exists():
            return {"granted": str(program.starting_allocation), "program": program.pk, "state": "already granted"}
        mdf.allocation_grant(
            actor=ctx.actor,
            partner=ctx.partner,
            program=program,
            amount=program.starting_allocation,
            note="Starting allocation",
        )
        return {"granted": str(program.starting_allocation), "program": program.pk}


def _utilisation(partner_ids, since):
    from django.db.models import Sum

    from comarketing.models import FundAllocation

    rows = (
        FundAllocation.objects.filter(partner_id__in=partner_ids)
        .values("partner_id")
        .annotate(allocated=Sum("allocated"), used=Sum("claimed") + Sum("paid"))
    )
    return {row["partner_id"]: (float(row["used"] / row["allocated"]) if row["allocated"] else None) for row in rows}


def mdf_panel(request, partner):
    from comarketing import selectors

    summary = selectors.balance_summary(user=request.user, partner=partner)
    if not summary["allocated"]:
        return []
    return [
        portal.HomePanel(
            key="comarketing.mdf",
            title="Marketing funds",
            template="comarketing/_home_mdf.html",
            context=summary,
            order=30,
        )
    ]


def connect() -> None:
    grant_staff_permissions()
    register_provisioning_step()
    metrics.register("comarketing.mdf_utilisation", label="MDF utilisation", unit="percent", compute=_utilisation)
    portal.register_home_panel(mdf_panel)
