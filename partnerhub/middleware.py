"""Request middleware: which brand the host asks for, and which partner the signed-in user is acting for.

The host selects branding, never authorization: a user of partner A who opens partner B's portal host gets
no active partner there (and the portal refuses), even though B's colours are on the page.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseBadRequest

_VERSION_KEY = "brand-host-version"
_TTL = 300


def _host_of(request) -> str:
    host = request.META.get("HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None
    host = host or request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
    host = host.split(",")[0].strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def forget_host() -> None:
    """Invalidate every cached host → brand lookup (after a brand's hosts or looks change)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)


def brand_for_host(host: str):
    """The ``PartnerBrand`` a host names (``<subdomain>.<PORTAL_BASE_DOMAIN>`` or a custom domain), else None."""
    from partnerhub.models import PartnerBrand

    base = settings.PORTAL_BASE_DOMAIN
    lookup = None
    if base and host.endswith("." + base):
        label = host[: -len(base) - 1]
        if label and "." not in label:
            lookup = {"subdomain": label}
    elif settings.PARTNERHUB_CUSTOM_DOMAINS and host and host not in ("localhost", "127.0.0.1", "testserver"):
        lookup = {"custom_domain": host}
    if lookup is None:
        return None
    version = cache.get(_VERSION_KEY) or 0
    key = f"brand-host:{version}:{host}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    brand = PartnerBrand.objects.select_related("partner").filter(**lookup).first()
    cache.set(key, brand or False, _TTL)
    return brand


class PartnerHostMiddleware:
    """Resolve the partner brand named by the Host header into ``request.host_brand``.

    With ``PARTNERHUB_CUSTOM_DOMAINS`` on, ``ALLOWED_HOSTS`` is expected to be ``*`` and this middleware is the
    host check: a host that is neither configured nor a partner's verified domain is answered with 400, so
    a forged Host header never reaches password-reset links.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = _host_of(request)
        request.host_brand = brand_for_host(host)
        if settings.PARTNERHUB_CUSTOM_DOMAINS and request.host_brand is None and not _configured_host(host):
            return HttpResponseBadRequest("Unknown host.", content_type="text/plain")
        return self.get_response(request)


def _configured_host(host: str) -> bool:
    from django.http.request import validate_host

    configured = [h for h in getattr(settings, "PARTNERHUB_PRIMARY_HOSTS", settings.ALLOWED_HOSTS) if h != "*"]
    return validate_host(host, configured) or host.endswith("." + settings.PORTAL_BASE_DOMAIN)


ACTIVE_PARTNER_SESSION_KEY = "active_partner_id"


def resolve_active_partner(request):
    """The partner the signed-in partner user is acting for in the portal, or None.

    On a partner's own host it is that partner, if the user belongs to it. Elsewhere it is the partner chosen
    with the switcher (kept in the session), or the user's first partner.
    """
    from partnerhub import selectors

    user = request.user
    if not user.is_authenticated or user.is_staff:
        return None
    partners = selectors.user_partners(user=user)
    request.portal_partners = partners  # the nav's partner switcher lists the same partners
    host_brand = getattr(request, "host_brand", None)
    if host_brand is not None:
        return next((p for p in partners if p.pk == host_brand.partner_id), None)
    wanted = request.session.get(ACTIVE_PARTNER_SESSION_KEY)
    chosen = next((p for p in partners if p.pk == wanted), None)
    return chosen or (partners[0] if partners else None)


class ActivePartnerMiddleware:
    """Attach ``request.partner``: the partner the portal user is acting for (None for staff and API calls).

    API requests are scoped by the access layer across all of the caller's partners, so the portal's
    choice of partner is not resolved for them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(("/api/", "/static/", "/healthz")):
            request.partner = None
        else:
            request.partner = resolve_active_partner(request)
        return self.get_response(request)
