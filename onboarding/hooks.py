"""How onboarding plugs into the core: event subscriptions, the agreement gate, home-page panels."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

from onboarding.choices import ChecklistEvent
from partnerhub import events, portal


def _team_invited(*, partner, invitation, **_):
    from onboarding import services

    if invitation.invited_by_id and invitation.invited_by and not invitation.invited_by.is_staff:
        services.checklist_complete_event(
            partner=partner, event=ChecklistEvent.TEAM_INVITED, actor=invitation.invited_by
        )


def _brand_updated(*, partner, brand, **_):
    from onboarding import services

    if brand.logo and (brand.support_email or brand.support_phone) and brand.tagline:
        services.checklist_complete_event(partner=partner, event=ChecklistEvent.PROFILE_COMPLETED)


def agreement_gate(request, partner):
    """Until the partner has accepted the current program agreement, the portal shows only the agreement."""
    from onboarding import services

    if services.partner_has_accepted_current(partner):
        return None
    return redirect(reverse("onboarding:agreement"))


def _accepted_current():
    from onboarding import services

    return services.accepted_current_expression()


def checklist_panel(request, partner):
    from onboarding import selectors

    items = selectors.checklist_of(user=request.user, partner=partner)
    if not items:
        return []
    done = sum(1 for item in items if item.is_done)
    return [
        portal.HomePanel(
            key="onboarding.checklist",
            title="Onboarding checklist",
            template="onboarding/_home_checklist.html",
            context={
                "items": items,
                "done": done,
                "total": len(items),
                "percent": round(100 * done / len(items)),
                "can_edit": portal.is_partner_admin(request),
            },
            order=5,
        )
    ]


def checklist_next_step(request, partner):
    """For partner admins: the onboarding checklist as a next step leading to /onboarding/ (ticked once complete)."""
    from onboarding import selectors

    if not portal.is_partner_admin(request):
        return []
    items = selectors.checklist_of(user=request.user, partner=partner)
    if not items:
        return []
    done = sum(1 for item in items if item.is_done)
    overdue = sum(1 for item in items if item.is_overdue)
    description = f"{done} of {len(items)} onboarding steps done"
    description += f"; {overdue} overdue." if overdue else "."
    return [
        portal.NextStep(
            key="onboarding.checklist",
            title="Finish your onboarding",
            description=description,
            url=reverse("onboarding:home"),
            action_label="Continue onboarding",
            done=done == len(items),
            order=5,
        )
    ]


def connect() -> None:
    events.subscribe("invitation.sent", _team_invited)
    events.subscribe("brand.updated", _brand_updated)
    portal.register_gate(agreement_gate)
    from onboarding.services import ACCEPTED_CURRENT

    portal.register_partner_annotation(ACCEPTED_CURRENT, _accepted_current)
    portal.register_home_panel(checklist_panel)
    portal.register_next_step(checklist_next_step)
