"""The portal home page and the partner switcher."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from partnerhub import portal, selectors, services
from partnerhub.choices import MembershipRole
from partnerhub.forms import SwitchPartnerForm
from partnerhub.middleware import ACTIVE_PARTNER_SESSION_KEY
from partnerhub.views.mixins import portal_view

TEAM_PREVIEW = 8


@portal_view
def home(request):
    partner = request.partner
    team = selectors.partner_team(user=request.user, partner=partner, people_only=True)
    membership = team.filter(user=request.user).first()
    context = {
        "partner": partner,
        "tier": partner.tier,
        "membership": membership,
        "is_partner_admin": portal.is_partner_admin(request),
        "team_preview": list(team[:TEAM_PREVIEW]),
        "team_count": team.count(),
        "channel_managers": services.channel_managers_of(partner),
        "next_steps": portal.next_steps(request, partner),
        "home_panels": portal.home_panels(request, partner),
    }
    context["team_more"] = max(context["team_count"] - TEAM_PREVIEW, 0)
    if context["is_partner_admin"]:
        context["open_invitations"] = (
            selectors.invitation_list(user=request.user, partner=partner)
            .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
            .count()
        )
    else:
        context["admin_count"] = team.filter(role=MembershipRole.ADMIN).count()
    context["steps_done"] = sum(1 for step in context["next_steps"] if step.done)
    return render(request, "portal/home.html", context)


@require_POST
@portal_view
def switch_partner(request):
    """Choose which of the user's partners the portal acts for (kept in the session).

    On a partner's own host the host decides, so switching there leads to the other partner's portal.
    """
    form = SwitchPartnerForm(request.POST)
    if not form.is_valid():
        raise Http404("Not found.")
    chosen = next((p for p in selectors.user_partners(user=request.user) if p.pk == form.cleaned_data["partner"]), None)
    if chosen is None:
        raise Http404("Not found.")
    if getattr(request, "host_brand", None) is not None:
        if chosen.pk == request.host_brand.partner_id:
            return redirect("portal:home")
        return HttpResponseRedirect(services.portal_base_url(chosen) + "/")
    request.session[ACTIVE_PARTNER_SESSION_KEY] = chosen.pk
    messages.success(request, f"You are now working for {chosen.brand.display_name}.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(next_url)
    return redirect("portal:home")
