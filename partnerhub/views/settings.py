"""Partner settings for partner admins: the brand (looks and support contacts) and API keys."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from partnerhub import selectors, services
from partnerhub.errors import DomainError
from partnerhub.forms import ApiKeyForm, BrandForm, add_domain_error
from partnerhub.views.mixins import portal_view

BRAND_FORM_FIELDS = ("display_name", "tagline", "primary_color", "accent_color", "support_email", "support_phone")


@require_http_methods(["GET", "POST"])
@portal_view(admin=True)
def brand(request):
    """Display name, tagline, colours, logo and support contacts. Hosts are set by the vendor, shown read-only."""
    edited = selectors.brand_of(user=request.user, partner=request.partner, action="change")
    status = 200
    if request.method == "POST":
        form = BrandForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.brand_update(
                    actor=request.user,
                    brand=edited,
                    logo=form.cleaned_data["logo"],
                    remove_logo=form.cleaned_data["remove_logo"],
                    **form.service_fields(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, "Brand saved. Your portal, sign-in page and e-mails use it from now on.")
                return redirect("portal:settings_brand")
        else:
            status = 400
    else:
        form = BrandForm(initial={name: getattr(edited, name) for name in BRAND_FORM_FIELDS})
    context = {"form": form, "edited_brand": edited, "settings_section": "brand"}
    return render(request, "portal/settings_brand.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@portal_view()
def api_keys(request):
    """The signed-in user's own API keys (any partner user). A new key is shown in this response only.

    A key acts for its user, so it is scoped exactly like that user: a rep's key sees what the rep sees.
    """
    created = None
    status = 200
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                row, key = services.api_token_create(
                    actor=request.user,
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status_code
            else:
                created = {"row": row, "key": key}
                form = ApiKeyForm()
                status = 201
        else:
            status = 400
    else:
        form = ApiKeyForm()
    context = {
        "form": form,
        "created": created,
        "tokens": list(selectors.api_tokens_of(user=request.user)),
        "now": timezone.now(),
        "settings_section": "api_keys",
    }
    return render(request, "portal/settings_api_keys.html", context, status=status)


@require_POST
@portal_view()
def api_key_revoke(request, key: str):
    token = selectors.api_tokens_of(user=request.user).filter(token_key=key).first()
    if token is None:
        raise Http404("Not found.")
    name = token.name
    try:
        services.api_token_revoke(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The key “{name}” was revoked; systems using it are refused from now on.")
    return redirect("portal:api_keys")
