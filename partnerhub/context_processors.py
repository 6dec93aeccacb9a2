"""Template context: the brand a page is drawn in and the partners the user can switch between."""

from __future__ import annotations

from django.conf import settings

from partnerhub.models import PartnerBrand

VENDOR_BRAND = {
    "display_name": "PartnerHub",
    "tagline": "Partner portal",
    "primary_color": "#1f4fd1",
    "accent_color": "#0f9d8a",
    "primary_text_color": "#ffffff",
    "accent_text_color": "#ffffff",
    "logo": None,
    "is_vendor": True,
}


def current_brand(request) -> PartnerBrand | dict:
    """The active partner's brand, else the brand named by the host, else the vendor's own look."""
    partner = getattr(request, "partner", None)
    if partner is not None and hasattr(partner, "brand"):
        return partner.brand
    host_brand = getattr(request, "host_brand", None)
    if host_brand is not None:
        return host_brand
    return VENDOR_BRAND


def portal(request) -> dict:
    return {
        "brand": current_brand(request),
        "active_partner": getattr(request, "partner", None),
        "portal_base_domain": settings.PORTAL_BASE_DOMAIN,
    }
