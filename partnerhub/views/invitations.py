"""Accepting an invitation: the link from the invitation e-mail, in the inviting partner's brand.

A signed-in person joins with one click (if the invitation is for their e-mail); a new person creates
their account here. The link works once; expired, withdrawn and used links explain what to do instead.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from partnerhub import services
from partnerhub.errors import DomainError
from partnerhub.forms import InvitationSignupForm, add_domain_error
from partnerhub.middleware import ACTIVE_PARTNER_SESSION_KEY

SESSION_BACKEND = "partnerhub.auth_backends.PartnerAwareModelBackend"


def _unusable(request, exc: DomainError):
    status = 404 if exc.code == "invalid" else 410
    return render(request, "portal/invitation_invalid.html", {"detail": exc.message, "code": exc.code}, status=status)


def _joined(request, membership):
    request.session[ACTIVE_PARTNER_SESSION_KEY] = membership.partner_id
    messages.success(
        request,
        f"Welcome to {membership.partner.brand.display_name}! You joined as a {membership.get_role_display().lower()}.",
    )
    return redirect("portal:home")


@never_cache
@require_http_methods(["GET", "POST"])
def accept(request, token: str):
    try:
        invitation = services.invitation_from_token(token)
    except DomainError as exc:
        return _unusable(request, exc)

    user = request.user if request.user.is_authenticated else None
    form = InvitationSignupForm(email=invitation.email) if user is None else None
    error = None
    status = 200
    if request.method == "POST":
        if user is None:
            form = InvitationSignupForm(request.POST, email=invitation.email)
            if form.is_valid():
                try:
                    membership = services.invitation_accept(
                        token=token,
                        first_name=form.cleaned_data["first_name"],
                        last_name=form.cleaned_data["last_name"],
                        password=form.cleaned_data["password1"],
                    )
                except DomainError as exc:
                    if exc.code in ("sign_in",):
                        error = exc
                    else:
                        add_domain_error(form, exc)
                    status = exc.status_code
                else:
                    login(request, membership.user, backend=SESSION_BACKEND)
                    return _joined(request, membership)
            else:
                status = 400
        else:
            try:
                membership = services.invitation_accept(token=token, user=user)
            except DomainError as exc:
                error = exc
                status = 403 if exc.code == "wrong_user" else exc.status_code
            else:
                return _joined(request, membership)

    context = {
        "invitation": invitation,
        "brand": invitation.partner.brand,
        "form": form,
        "error": error,
        "wrong_user": user is not None and user.email.lower() != invitation.email.lower(),
        "token": token,
    }
    return render(request, "portal/invitation_accept.html", context, status=status)
