"""The team page: members and open invitations of the active partner; partner admins manage them.

Everyone on the team sees it; changes need partner-admin rights. Members and invitations are looked up
through the access layer within the active partner, so another partner's ids answer 404. With htmx the
actions answer with the refreshed team panel; without JavaScript they redirect back to the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from partnerhub import portal, selectors, services
from partnerhub.errors import DomainError
from partnerhub.forms import InviteForm, MemberRoleForm, add_domain_error
from partnerhub.pagination import Paginator
from partnerhub.views.mixins import portal_view, render_page_or_fragment

PAGE_SIZE = 50


def _team_context(request, *, invite_form: InviteForm | None = None) -> dict:
    partner = request.partner
    is_admin = portal.is_partner_admin(request)
    # The rows show people, not their partner (it is the active one): only the joins the rows read.
    team = selectors.partner_team(user=request.user, partner=partner).select_related(None).select_related("user")
    members = Paginator(team, PAGE_SIZE)
    invitations = (
        selectors.invitation_list(user=request.user, partner=partner)
        .select_related(None)
        .select_related("invited_by")
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at", "-id")
    )
    if not is_admin:
        invitations = invitations.none()
    return {
        "partner": partner,
        "is_partner_admin": is_admin,
        "members": members.get_page(request.GET.get("page")),
        "invitations": Paginator(invitations, PAGE_SIZE).get_page(request.GET.get("ipage")),
        "invite_form": invite_form or InviteForm(),
    }


def _answer(request, *, status: int = 200, invite_form: InviteForm | None = None):
    """After an action: the refreshed panel (htmx), else back to the page (success) or the page with errors."""
    if status == 200 and not getattr(request, "htmx", False):
        return redirect("portal:team")
    return render_page_or_fragment(
        request,
        page="portal/team.html",
        fragment="portal/_team_fragment.html",
        context=_team_context(request, invite_form=invite_form),
        status=status,
    )


@portal_view
def team(request):
    return render_page_or_fragment(
        request, page="portal/team.html", fragment="portal/_team_fragment.html", context=_team_context(request)
    )


@require_POST
@portal_view(admin=True)
def invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _answer(request, status=400, invite_form=form)
    try:
        invitation = services.invitation_create(
            actor=request.user,
            partner=request.partner,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except DomainError as exc:
        add_domain_error(form, exc)
        return _answer(request, status=exc.status_code, invite_form=form)
    messages.success(request, f"Invitation sent to {invitation.email}. The link works for 7 days.")
    return _answer(request)


@require_POST
@portal_view(admin=True)
def member_role(request, pk: int):
    membership = selectors.access_membership(user=request.user, pk=pk, action="change", partner=request.partner)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose partner admin or partner rep.")
        return _answer(request, status=400)
    try:
        membership = services.membership_change_role(
            actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return _answer(request, status=exc.status_code)
    messages.success(request, f"{membership.user.display_name} is now a {membership.get_role_display().lower()}.")
    return _answer(request)


@require_POST
@portal_view(admin=True)
def member_deactivate(request, pk: int):
    membership = selectors.access_membership(user=request.user, pk=pk, action="change", partner=request.partner)
    try:
        membership = services.membership_deactivate(actor=request.user, membership=membership)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _answer(request, status=exc.status_code)
    messages.success(
        request, f"{membership.user.display_name} was removed from the team of {request.partner.brand.display_name}."
    )
    return _answer(request)


@require_POST
@portal_view(admin=True)
def invitation_revoke(request, pk: int):
    invitation = selectors.access_invitation(user=request.user, pk=pk, action="change", partner=request.partner)
    try:
        invitation = services.invitation_revoke(actor=request.user, invitation=invitation)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _answer(request, status=exc.status_code)
    messages.success(request, f"The invitation for {invitation.email} was withdrawn; its link no longer works.")
    return _answer(request)
