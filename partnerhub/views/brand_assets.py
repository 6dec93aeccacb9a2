"""Public brand assets: a partner's logo, as shown on its sign-in page to anyone.

Only the PNG that PartnerHub re-encoded itself is ever stored, and it is served as ``image/png`` with
``nosniff``, so a logo can never be interpreted as markup or script. URLs carry the brand version
(``?v=``), so a versioned URL is cached for a year and a new logo simply gets a new URL.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponseNotModified
from django.views.decorators.http import require_safe

from partnerhub import selectors

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"


@require_safe
def logo(request, subdomain: str):
    brand = selectors.public_brand(subdomain=subdomain)
    if brand is None or not brand.logo:
        raise Http404("Not found.")
    etag = f'"{brand.logo.name.rsplit("/", 1)[-1].removesuffix(".png")}"'
    versioned = request.GET.get("v") == str(brand.version)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        try:
            handle = brand.logo.open("rb")
        except (FileNotFoundError, OSError):
            raise Http404("Not found.") from None
        response = FileResponse(handle, content_type="image/png")
        response["Content-Disposition"] = 'inline; filename="logo.png"'
    response["ETag"] = etag
    response["Cache-Control"] = LONG_CACHE if versioned else SHORT_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-site"
    return response
