"""What every portal page checks before it shows partner data, and how pages answer htmx requests.

``portal_view`` is the one gate of the portal:

* anonymous visitors go to the sign-in page;
* vendor staff go to the console (they work there, not as a partner);
* a partner user without an active partner sees nothing: if none of their partners may sign in any more
  (suspended, offboarded, or their membership was removed) they are signed out with a message; if they
  opened another partner's host they get a 403 that names nothing of that partner;
* ``admin=True`` pages (team, brand and key management) need partner-admin rights on the active partner.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property

from partnerhub import portal, selectors

SUSPENDED_MESSAGE = (
    "Your portal access is suspended: your partner account is not active on the portal right now. "
    "Contact your channel manager if you think this is a mistake."
)
WRONG_HOST_MESSAGE = (
    "Your account does not belong to this partner portal. Sign in at your own partner's portal address."
)
ADMIN_ONLY_MESSAGE = "Only partner admins can do this. Ask a partner admin of your company for help."

FRAGMENT_HEADER = "X-Portal-Fragment"


class PortalNav:
    """What the portal header needs, computed only if the page draws it (``request.portal_nav``)."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def switchable_partners(self):
        return _user_partners(self._request)

    @cached_property
    def is_partner_admin(self) -> bool:
        return portal.is_partner_admin(self._request)


def _user_partners(request) -> list:
    """The signed-in user's partners, as ``ActivePartnerMiddleware`` resolved them for this request."""
    partners = getattr(request, "portal_partners", None)
    return partners if partners is not None else selectors.user_partners(user=request.user)


def forbidden(request, detail: str):
    return render(request, "errors/403.html", {"status": 403, "detail": detail}, status=403)


def _end_session(request):
    logout(request)
    messages.error(request, SUSPENDED_MESSAGE)
    return redirect("login")


def portal_view(view=None, *, admin: bool = False, gated: bool = True):
    """Decorate a portal view: signed-in partner user with an active partner (and admin rights if asked).

    Registered gates (``partnerhub.portal.register_gate``) run first unless ``gated=False``.
    """

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if SESSION_KEY in request.session:
                    # Still signed in, but the auth backend no longer admits the person: every partner of
                    # theirs was suspended or offboarded, or their membership was removed. End the session.
                    return _end_session(request)
                return redirect_to_login(request.get_full_path())
            if user.is_staff or user.is_superuser:
                return redirect(reverse("console:index"))
            if getattr(request, "partner", None) is None:
                if not _user_partners(request):
                    return _end_session(request)
                return forbidden(request, WRONG_HOST_MESSAGE)
            request.portal_nav = PortalNav(request)
            if gated:
                blocked = portal.gate_response(request, request.partner)
                if blocked is not None:
                    return blocked
            if admin and not portal.is_partner_admin(request):
                return forbidden(request, ADMIN_ONLY_MESSAGE)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def render_page_or_fragment(request, *, page: str, fragment: str, context: dict, status: int = 200):
    """Render the whole page, or only ``fragment`` for an htmx request (same context either way).

    Fragments carry ``X-Portal-Fragment`` so the portal's script swaps them in even for a 4xx answer
    (a form error), while other error pages are never swapped into a panel.
    """
    if getattr(request, "htmx", False):
        response = render(request, fragment, context, status=status)
        response[FRAGMENT_HEADER] = "1"
    else:
        response = render(request, page, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response
