"""Co-marketing pages: the partner portal's asset library, co-branded renders, campaign kits and market
development funds (MDF), and the vendor marketing team's MDF review, utilisation/ROI and campaign reports.

Views are thin: reads come from ``comarketing.selectors`` (the access layer behind them), writes go through
``comarketing.services`` and ``comarketing.mdf``; a ``DomainError`` becomes a 4xx answer with its message next to
the field it names, and nothing is saved.

Files are objects too. Asset originals, thumbnails, co-branded files and MDF proofs live in private storage and
are only ever streamed by the views below, after the same scoped lookup as their pages: an asset the active
partner may see (live and shared with it), a render of the active partner, a proof of a claim in the reader's
scope. Anything else answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Prefetch, Q, Sum
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comarketing import mdf, selectors, services
from comarketing.choices import RenderState, RequestStatus
from comarketing.forms import (
    AssetFilterForm,
    ClaimDecisionForm,
    ClaimForm,
    FundRequestForm,
    RequestDecisionForm,
)
from comarketing.models import Asset, AssetVersion, Campaign, ClaimProof, CobrandedFile, FundRequest
from partnerhub import access, portal
from partnerhub.errors import DomainError
from partnerhub.forms import add_domain_error
from partnerhub.pagination import Paginator
from partnerhub.views.mixins import forbidden, portal_view, render_page_or_fragment

ASSET_PAGE_SIZE = 24
# A search for a common word matches thousands of assets: the library says "more than 1,000" instead of
# counting every match on every page (pages past the cap are counted in full).
ASSET_COUNT_LIMIT = 1000
PAGE_SIZE = 25
REPORT_PAGE_SIZE = 50
CLAIM_DUE_SOON_DAYS = 7  # red
CLAIM_DUE_WARN_DAYS = 14  # amber
POLL_STATES = (RenderState.PENDING, RenderState.RUNNING)
STAFF_ONLY_MESSAGE = (
    "This page is for the vendor's marketing team. Partners find their assets, campaigns and funds under "
    "Marketing in their portal."
)
REVIEW_TABS = [
    ("requests", "Requests to decide"),
    ("claims", "Claims to decide"),
    ("payments", "Claims to pay"),
]
OPEN_REQUEST_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.APPROVED, RequestStatus.CLAIMED)
REQUEST_FILTERS = [
    ("", "All"),
    ("open", "In progress"),
    (RequestStatus.SUBMITTED, "Awaiting decision"),
    (RequestStatus.APPROVED, "Claim due"),
    ("closed", "Closed"),
]


# Files ---------------------------------------------------------------------------------------------------------


def _stream(fieldfile, *, filename: str, content_type: str, inline: bool = False, max_age: int = 0):
    """Stream a stored file: a download unless ``inline``; never sniffed, never allowed to run anything.

    The stored type is the one PartnerHub determined from the file's content. ``sandbox`` in the CSP makes an
    inline PDF or image an opaque, script-less document even if a viewer would otherwise run something in it.
    """
    try:
        handle = fieldfile.open("rb")
    except (OSError, ValueError):
        raise access.NotFound("Not found.") from None
    response = FileResponse(
        handle, as_attachment=not inline, filename=filename, content_type=content_type or "application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = f"private, max-age={max_age}" if max_age else "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _ext(content_type: str) -> str:
    return {
        "application/pdf": "pdf",
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/webp": "webp",
        "image/gif": "gif",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
        "application/vnd.oasis.opendocument.presentation": "odp",
    }.get(content_type, "bin")


# Portal: lookups -----------------------------------------------------------------------------------------------


def _visible_asset(request, pk) -> Asset:
    """An asset the active partner may see right now (published, live, shared with it), else 404."""
    asset = (
        selectors.asset_list(user=request.user, partner=request.partner)
        .filter(pk=pk)
        .select_related("category", "current_version")
        .first()
    )
    if asset is None:
        raise access.NotFound("Not found.")
    return asset


def _visible_campaign(request, pk) -> Campaign:
    campaign = selectors.campaign_list(user=request.user, partner=request.partner).filter(pk=pk).first()
    if campaign is None:
        raise access.NotFound("Not found.")
    return campaign


def _campaign_for(request, asset: Asset) -> Campaign | None:
    """The campaign a download or render is made from (``campaign`` parameter): one the active partner sees
    that contains the asset. A campaign that does not fit answers 404."""
    raw = request.POST.get("campaign") if request.method == "POST" else request.GET.get("campaign")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise access.NotFound("Not found.")
    campaign = (
        selectors.campaign_list(user=request.user, partner=request.partner).filter(pk=int(raw), assets=asset).first()
    )
    if campaign is None:
        raise access.NotFound("Not found.")
    return campaign


def _partner_render(request, pk) -> CobrandedFile:
    """A co-branded file of the active partner whose asset the partner may still see, else 404."""
    render = access.access_object(
        selectors.render_list(user=request.user).filter(partner=request.partner), request.user, pk
    )
    if not selectors.asset_list(user=request.user, partner=request.partner).filter(pk=render.version.asset_id).exists():
        raise access.NotFound("Not found.")
    return render


def _current_render(request, asset: Asset) -> CobrandedFile | None:
    """The active partner's render of the asset's current version with its current brand, if it exists."""
    if not asset.is_cobrandable or asset.current_version_id is None:
        return None
    return (
        selectors.render_list(user=request.user)
        .filter(
            partner=request.partner, version_id=asset.current_version_id, brand_version=request.partner.brand.version
        )
        .first()
    )


# Portal: asset library -----------------------------------------------------------------------------------------


@require_GET
@portal_view
def asset_library(request):
    """Assets shared with the active partner: ranked full-text search, filters by kind, category and tag."""
    form = AssetFilterForm(request.GET or None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    chosen = form.filters()
    assets = selectors.asset_list(user=request.user, partner=request.partner)
    if chosen["kind"]:
        assets = assets.filter(kind=chosen["kind"])
    if chosen["category"]:
        assets = assets.filter(category=chosen["category"])
    if chosen["tag"]:
        assets = assets.filter(tags__name=chosen["tag"])
    if chosen["cobrand"]:
        assets = assets.exclude(template_kind="")
    assets = (
        selectors.search_assets(assets, chosen["q"])
        .select_related("category", "current_version")
        # A plain list on each asset: ``asset.tags.all`` would build a related manager and a queryset per card.
        .prefetch_related(Prefetch("tags", to_attr="tag_list"))
        .defer("current_version__html_template", "current_version__text_body", "search_vector")
    )
    page = Paginator(assets, ASSET_PAGE_SIZE, count_limit=ASSET_COUNT_LIMIT).get_page(request.GET.get("page"))
    state = {
        "q": chosen["q"],
        "kind": chosen["kind"],
        "category": chosen["category"].slug if chosen["category"] else "",
        "tag": chosen["tag"],
        "cobrand": "on" if chosen["cobrand"] else "",
    }
    context = {
        "form": form,
        "chosen": chosen,
        "page": page,
        "query": urlencode({k: v for k, v in state.items() if v}),
        "filtered": any(state.values()),
        "section": "assets",
    }
    return render(request, "comarketing/assets.html", context, status=status)


def _asset_page(request, asset: Asset, *, status: int = 200):
    versions = (
        AssetVersion.objects.filter(asset=asset)
        .only("id", "asset_id", "number", "notes", "created_at", "size", "content_type", "original_name")
        .order_by("-number")[:20]
    )
    now = timezone.now()
    context = {
        "asset": asset,
        "version": asset.current_version,
        "versions": versions,
        "tags": list(asset.tags.all()),
        "render": _current_render(request, asset),
        "campaigns": selectors.campaign_list(user=request.user, partner=request.partner)
        .filter(assets=asset, ends_at__gt=now)
        .order_by("starts_at")[:5],
        "section": "assets",
    }
    return render(request, "comarketing/asset.html", context, status=status)


@require_GET
@portal_view
def asset(request, pk: int):
    """One asset: description, versions, the original's download, video link or copy text, and co-branding."""
    return _asset_page(request, _visible_asset(request, pk))


@require_GET
@portal_view
def asset_thumbnail(request, pk: int):
    """The preview image of the current version of an asset the active partner may see."""
    asset = _visible_asset(request, pk)
    version = asset.current_version
    if version is None or not version.thumbnail:
        raise access.NotFound("Not found.")
    # The address carries the version (``?v=``), so a new version is a new URL and caching a while is safe.
    return _stream(
        version.thumbnail, filename=f"asset-{asset.pk}.png", content_type="image/png", inline=True, max_age=3600
    )


@require_GET
@portal_view
def asset_download(request, pk: int):
    """Download the current version's original file; the download is recorded (with its campaign, if any)."""
    asset = _visible_asset(request, pk)
    campaign = _campaign_for(request, asset)
    version = asset.current_version
    if version is None or not version.file:
        raise access.NotFound("Not found.")
    filename = version.original_name or f"{slugify(asset.title) or 'asset'}.{_ext(version.content_type)}"
    response = _stream(version.file, filename=filename, content_type=version.content_type)
    services.download_record(actor=request.user, partner=request.partner, asset=asset, campaign=campaign)
    return response


@require_POST
@portal_view
def cobrand(request, pk: int):
    """Ask for the active partner's co-branded version of an asset; it renders in the background."""
    asset = _visible_asset(request, pk)
    campaign = _campaign_for(request, asset)
    try:
        render_row = services.cobrand_request(actor=request.user, partner=request.partner, asset=asset)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _asset_page(request, asset, status=exc.status_code)
    if campaign is not None:
        messages.success(request, f"Your co-branded “{asset.title}” is being prepared.")
        return redirect(reverse("comarketing:campaign", args=[campaign.pk]) + "#kit")
    return redirect("comarketing:render", pk=render_row.pk)


@require_GET
@portal_view
def render_status(request, pk: int):
    """Progress of a co-branded render (an htmx fragment while it runs; a reload works without script)."""
    render_row = _partner_render(request, pk)
    context = {
        "render": render_row,
        "asset": render_row.version.asset,
        "polling": render_row.state in POLL_STATES,
        "section": "assets",
    }
    return render_page_or_fragment(
        request, page="comarketing/render.html", fragment="comarketing/_render_status.html", context=context
    )


@require_GET
@portal_view
def render_file(request, pk: int):
    """The co-branded file. PDFs open inline in a sandbox (``?download=1`` saves them); images are PNG.
    Every fetch is recorded as a co-branded download, with the campaign it came from."""
    render_row = _partner_render(request, pk)
    asset = render_row.version.asset
    campaign = _campaign_for(request, asset)
    if render_row.state != RenderState.DONE or not render_row.file:
        return redirect("comarketing:render", pk=render_row.pk)
    name = slugify(f"{asset.title} {request.partner.brand.display_name}") or "cobranded"
    response = _stream(
        render_row.file,
        filename=f"{name}.{_ext(render_row.content_type)}",
        content_type=render_row.content_type,
        inline=request.GET.get("download") != "1",
    )
    services.download_record(
        actor=request.user, partner=request.partner, asset=asset, cobranded=True, campaign=campaign
    )
    return response


# Portal: campaigns ---------------------------------------------------------------------------------------------


@require_GET
@portal_view
def campaigns(request):
    """Current and upcoming campaigns for the active partner, and whether it has joined each."""
    now = timezone.now()
    listed = (
        selectors.campaign_list(user=request.user, partner=request.partner)
        .filter(ends_at__gt=now)
        .annotate(asset_count=Count("assets", distinct=True))
        .order_by("starts_at", "id")
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    joined = set(
        selectors.opt_in_list(user=request.user)
        .filter(partner=request.partner, campaign__in=[c.pk for c in page.object_list])
        .values_list("campaign_id", flat=True)
    )
    for item in page.object_list:
        item.joined = item.pk in joined
        item.is_running = item.starts_at <= now
    context = {"page": page, "now": now, "section": "campaigns"}
    return render(request, "comarketing/campaigns.html", context)


def _kit(request, campaign: Campaign, assets: list[Asset], opted_in: bool) -> tuple[list[dict], bool]:
    """The campaign's assets with the active partner's render of each co-brandable one (when it has joined)."""
    renders = {}
    if opted_in:
        wanted = [a.current_version_id for a in assets if a.is_cobrandable and a.current_version_id]
        renders = {
            r.version_id: r
            for r in selectors.render_list(user=request.user).filter(
                partner=request.partner, version_id__in=wanted, brand_version=request.partner.brand.version
            )
        }
    kit = [{"asset": a, "render": renders.get(a.current_version_id) if a.is_cobrandable else None} for a in assets]
    polling = any(item["render"] is not None and item["render"].state in POLL_STATES for item in kit)
    return kit, polling


def _campaign_page(request, campaign: Campaign, *, status: int = 200):
    now = timezone.now()
    assets = list(
        selectors.asset_list(user=request.user, partner=request.partner)
        .filter(campaigns=campaign)
        .select_related("current_version", "category")
        .defer("current_version__html_template", "search_vector")
        .order_by("title", "id")
    )
    opt_in = selectors.opt_in_list(user=request.user).filter(partner=request.partner, campaign=campaign).first()
    kit, polling = _kit(request, campaign, assets, opt_in is not None)
    context = {
        "campaign": campaign,
        "opt_in": opt_in,
        "kit": kit,
        "polling": polling,
        "ended": campaign.ends_at <= now,
        "upcoming": campaign.starts_at > now,
        "is_partner_admin": portal.is_partner_admin(request),
        "section": "campaigns",
    }
    return render_page_or_fragment(
        request, page="comarketing/campaign.html", fragment="comarketing/_kit.html", context=context, status=status
    )


@require_GET
@portal_view
def campaign(request, pk: int):
    """A campaign: dates, copy and assets; after joining, the co-branded kit with each file's progress."""
    return _campaign_page(request, _visible_campaign(request, pk))


@require_POST
@portal_view(admin=True)
def campaign_opt_in(request, pk: int):
    """A partner admin joins the campaign for the partner; its co-branded kit starts rendering."""
    campaign_row = _visible_campaign(request, pk)
    try:
        services.campaign_opt_in(actor=request.user, partner=request.partner, campaign=campaign_row)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _campaign_page(request, campaign_row, status=exc.status_code)
    messages.success(request, f"{request.partner.brand.display_name} joined “{campaign_row.name}”. Your kit is below.")
    return redirect(reverse("comarketing:campaign", args=[campaign_row.pk]) + "#kit")


# Portal: market development funds ------------------------------------------------------------------------------


def _balance_chart(summary: dict) -> dict:
    """A stacked bar of the allocation (paid, claimed, committed, available), in SVG user units (0 to 1000)."""
    allocated = Decimal(summary["allocated"] or 0)
    parts = [
        ("paid", "Paid", summary["paid"]),
        ("claimed", "Claimed", summary["claimed"]),
        ("committed", "Committed", summary["committed"]),
        ("available", "Available", summary["available"]),
    ]
    segments, x = [], 0
    for key, label, amount in parts:
        amount = Decimal(amount or 0)
        width = round(amount / allocated * 1000) if allocated > 0 else 0
        width = min(width, 1000 - x)
        segments.append(
            {
                "key": key,
                "label": label,
                "amount": amount,
                "x": x,
                "width": width,
                "percent": (amount / allocated * 100) if allocated > 0 else 0,
            }
        )
        x += width
    return {"segments": segments, "allocated": allocated}


def _mark_due(requests, today: dt.date) -> None:
    """For the list: ``due_state`` — overdue or soon (red), near (amber) or ok — for requests whose claim is due."""
    for item in requests:
        item.due_state, item.days_left = "", None
        if item.status == RequestStatus.APPROVED and item.claim_due_on:
            item.days_left = (item.claim_due_on - today).days
            if item.days_left < 0:
                item.due_state = "overdue"
            elif item.days_left <= CLAIM_DUE_SOON_DAYS:
                item.due_state = "soon"
            elif item.days_left <= CLAIM_DUE_WARN_DAYS:
                item.due_state = "near"
            else:
                item.due_state = "ok"


REQUEST_ROW_FIELDS = (
    "id",
    "partner_id",
    "activity",
    "activity_type",
    "status",
    "planned_cost",
    "approved_amount",
    "starts_on",
    "ends_on",
    "claim_due_on",
    "submitted_at",
)


def _partner_requests(request):
    return selectors.request_list(user=request.user, partner=request.partner)


@require_GET
@portal_view
def funds(request):
    """The partner's MDF balance with a chart, its funds by program, and its requests with claim deadlines."""
    summary = selectors.balance_summary(user=request.user, partner=request.partner)
    allocations = selectors.allocation_list(user=request.user, partner=request.partner)
    chosen = request.GET.get("status", "")
    if chosen not in dict(REQUEST_FILTERS):
        chosen = ""
    # The table shows the request's own columns only: no joins, and none of the long text fields.
    listed = _partner_requests(request).select_related(None).only(*REQUEST_ROW_FIELDS)
    if chosen == "open":
        listed = listed.filter(status__in=OPEN_REQUEST_STATUSES)
    elif chosen == "closed":
        listed = listed.exclude(status__in=OPEN_REQUEST_STATUSES)
    elif chosen:
        listed = listed.filter(status=chosen)
    page = Paginator(listed.order_by("-submitted_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    _mark_due(page.object_list, today)
    context = {
        "summary": summary,
        "chart": _balance_chart(summary),
        "allocations": allocations[:20],
        "currency": next((a.program.currency for a in allocations[:1]), "USD"),
        "page": page,
        "filters": REQUEST_FILTERS,
        "chosen": chosen,
        "query": urlencode({"status": chosen} if chosen else {}),
        "is_partner_admin": portal.is_partner_admin(request),
        "section": "funds",
    }
    return render(request, "comarketing/funds.html", context)


@require_http_methods(["GET", "POST"])
@portal_view(admin=True)
def request_new(request):
    """A partner admin asks for funds for a planned activity."""
    allocations = selectors.allocation_list(user=request.user, action="add", partner=request.partner).filter(
        program__is_active=True
    )
    status = 200
    if request.method == "POST":
        form = FundRequestForm(request.POST, allocations=allocations)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = mdf.request_submit(
                    actor=request.user,
                    allocation=data["allocation"],
                    activity=data["activity"],
                    activity_type=data["activity_type"],
                    description=data["description"],
                    planned_cost=data["planned_cost"],
                    expected_leads=data["expected_leads"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Request for “{created.activity}” submitted. You'll hear of the decision.")
                return redirect("comarketing:request", pk=created.pk)
        else:
            status = 400
    else:
        form = FundRequestForm(allocations=allocations)
    context = {"form": form, "has_funds": allocations.exists(), "section": "funds"}
    return render(request, "comarketing/request_new.html", context, status=status)


def _partner_request(request, pk) -> FundRequest:
    return access.access_object(_partner_requests(request), request.user, pk)


def _request_page(request, fund_request: FundRequest, *, claim_form=None, status: int = 200):
    claim = selectors.claim_list(user=request.user).filter(request=fund_request).first()
    proofs = list(access.scoped(ClaimProof.objects.filter(claim=claim), request.user)) if claim else []
    is_admin = portal.is_partner_admin(request)
    today = timezone.localdate()
    _mark_due([fund_request], today)
    can_claim = (
        is_admin
        and fund_request.status == RequestStatus.APPROVED
        and not (fund_request.claim_due_on and today > fund_request.claim_due_on)
    )
    if can_claim and claim_form is None:
        claim_form = ClaimForm(initial={"actual_cost": fund_request.approved_amount})
    context = {
        "fund_request": fund_request,
        "claim": claim,
        "proofs": proofs,
        "claim_form": claim_form if can_claim else None,
        "can_cancel": is_admin and fund_request.status in (RequestStatus.SUBMITTED, RequestStatus.APPROVED),
        "is_partner_admin": is_admin,
        "roi": (claim.revenue / claim.actual_cost) if claim and claim.actual_cost else None,
        "section": "funds",
    }
    return render(request, "comarketing/request.html", context, status=status)


@require_GET
@portal_view
def fund_request(request, pk: int):
    """One MDF request: the decision, the claim deadline, the claim with its proofs, and the admin's actions."""
    return _request_page(request, _partner_request(request, pk))


@require_POST
@portal_view(admin=True)
def request_claim(request, pk: int):
    """File the claim (actual cost, results, proof of performance) on an approved request."""
    fund_request_row = _partner_request(request, pk)
    form = ClaimForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            mdf.claim_submit(
                actor=request.user,
                request=fund_request_row,
                actual_cost=data["actual_cost"],
                leads=data["leads"],
                deals=data["deals"],
                revenue=data["revenue"],
                notes=data["notes"],
                proofs=data["proofs"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, "Claim filed. The marketing team reviews it and pays approved claims.")
            return redirect("comarketing:request", pk=fund_request_row.pk)
    fund_request_row.refresh_from_db()
    return _request_page(request, fund_request_row, claim_form=form, status=status)


@require_POST
@portal_view(admin=True)
def request_cancel(request, pk: int):
    """Withdraw a request; approved funds return to the balance."""
    fund_request_row = _partner_request(request, pk)
    try:
        mdf.request_cancel(actor=request.user, request=fund_request_row)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _request_page(request, fund_request_row, status=exc.status_code)
    messages.success(request, f"Request for “{fund_request_row.activity}” cancelled.")
    return redirect("comarketing:request", pk=fund_request_row.pk)


@require_GET
def proof(request, pk: int):
    """A proof-of-performance file of a claim in the reader's scope (partner users: their partners' claims;
    marketing staff: partners they may see); always a download."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    item = selectors.access_proof(user=request.user, pk=pk)
    return _stream(item.file, filename=item.original_name, content_type=item.content_type)


# Vendor: marketing managers ------------------------------------------------------------------------------------


def marketing_view(permission: str):
    """Vendor staff holding ``permission`` only: visitors go to the console's sign-in, everyone else gets 403."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url=reverse("console:login"))
            if not (access.is_vendor_staff(user) and user.has_perm(permission)):
                return forbidden(request, STAFF_ONLY_MESSAGE)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator


def _review_context(request, tab: str, *, failed: dict | None = None) -> dict:
    user = request.user
    search = (request.GET.get("q") or "").strip()[:200]
    requests = selectors.request_list(user=user).filter(status=RequestStatus.SUBMITTED)
    proofs = Prefetch("proofs", queryset=access.scoped(ClaimProof.objects.all(), user))
    claims = selectors.claim_list(user=user).select_related(
        "request__allocation__program", "submitted_by", "decided_by"
    )
    to_decide = claims.filter(request__status=RequestStatus.CLAIMED)
    to_pay = claims.filter(request__status=RequestStatus.CLAIM_APPROVED)
    if search:
        requests = requests.filter(Q(partner__name__icontains=search) | Q(activity__icontains=search))
        match = Q(partner__name__icontains=search) | Q(request__activity__icontains=search)
        to_decide, to_pay = to_decide.filter(match), to_pay.filter(match)
    counts = {"requests": requests.count(), "claims": to_decide.count(), "payments": to_pay.count()}
    listed = {
        "requests": requests.order_by("submitted_at", "id"),
        "claims": to_decide.prefetch_related(proofs).order_by("submitted_at", "id"),
        "payments": to_pay.prefetch_related(proofs).order_by("decided_at", "id"),
    }[tab]
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "tabs": [(key, label, counts[key]) for key, label in REVIEW_TABS],
        "tab": tab,
        "page": page,
        "search": search,
        "query": urlencode({k: v for k, v in {"tab": tab, "q": search}.items() if v}),
        "can_decide": user.has_perm("comarketing.change_fundrequest"),
        "failed": failed or {},
        "staff_section": "review",
    }


@require_GET
@marketing_view("comarketing.view_fundrequest")
def review(request):
    """MDF requests and claims waiting for the marketing team, across the partners in the reviewer's scope."""
    tab = request.GET.get("tab", "requests")
    if tab not in dict(REVIEW_TABS):
        tab = "requests"
    return render(request, "comarketing/review.html", _review_context(request, tab))


def _review_failure(request, tab: str, pk: int, form, message: str, status: int):
    messages.error(request, f"Nothing was changed. {message}")
    context = _review_context(request, tab, failed={"pk": pk, "form": form, "message": message})
    return render(request, "comarketing/review.html", context, status=status)


@require_POST
@marketing_view("comarketing.view_fundrequest")
def review_request(request, pk: int):
    """Approve a request (the amount, at most the planned cost) or reject it with a reason."""
    fund_request_row = selectors.access_request(user=request.user, pk=pk)
    form = RequestDecisionForm(request.POST)
    if not form.is_valid():
        return _review_failure(request, "requests", pk, form, "Choose approve or reject.", 400)
    data = form.cleaned_data
    try:
        if data["decision"] == "approve":
            mdf.request_approve(
                actor=request.user, request=fund_request_row, amount=data["amount"] or None, note=data["note"]
            )
            done = f"Approved “{fund_request_row.activity}” for {fund_request_row.partner.name}."
        else:
            mdf.request_reject(actor=request.user, request=fund_request_row, note=data["note"])
            done = f"Rejected “{fund_request_row.activity}”; {fund_request_row.partner.name} is told why."
    except DomainError as exc:
        return _review_failure(request, "requests", pk, form, exc.message, exc.status_code)
    messages.success(request, done)
    return redirect(reverse("comarketing:review") + "?tab=requests")


@require_POST
@marketing_view("comarketing.view_fundclaim")
def review_claim(request, pk: int):
    """Approve or reject a claim, or record the payment of an approved one."""
    claim = access.access_object(selectors.claim_list(user=request.user), request.user, pk)
    form = ClaimDecisionForm(request.POST)
    tab = "payments" if request.POST.get("decision") == "pay" else "claims"
    if not form.is_valid():
        return _review_failure(request, tab, pk, form, "Choose approve, reject or mark paid.", 400)
    data = form.cleaned_data
    activity, partner_name = claim.request.activity, claim.partner.name
    try:
        if data["decision"] == "pay":
            mdf.claim_pay(actor=request.user, claim=claim, reference=data["reference"])
            done = f"Payment of the claim on “{activity}” recorded ({data['reference'].strip()})."
        else:
            approve = data["decision"] == "approve"
            mdf.claim_decide(actor=request.user, claim=claim, approve=approve, note=data["note"])
            done = f"{'Approved' if approve else 'Rejected'} the claim on “{activity}” for {partner_name}."
    except DomainError as exc:
        return _review_failure(request, tab, pk, form, exc.message, exc.status_code)
    messages.success(request, done)
    return redirect(reverse("comarketing:review") + f"?tab={tab}")


@require_GET
@marketing_view("comarketing.view_fundallocation")
def utilisation(request):
    """Per partner in scope: allocated and used funds, and the results of approved claims (ROI = revenue/cost)."""
    page = Paginator(selectors.utilisation(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    results = {
        r["partner_id"]: r
        for r in selectors.roi(user=request.user)
        .filter(partner_id__in=[p.pk for p in rows])
        .values("partner_id")
        .annotate(cost=Sum("actual_cost"), leads=Sum("leads"), deals=Sum("deals"), revenue=Sum("revenue"))
    }
    top = max((p.allocated or 0 for p in rows), default=0)
    for index, partner in enumerate(rows):
        result = results.get(partner.pk, {})
        partner.used = (partner.claimed or 0) + (partner.paid or 0)
        partner.cost = result.get("cost") or Decimal("0")
        partner.leads = result.get("leads") or 0
        partner.deals = result.get("deals") or 0
        partner.revenue = result.get("revenue") or Decimal("0")
        partner.roi = (partner.revenue / partner.cost) if partner.cost else None
        partner.used_percent = (partner.used / partner.allocated * 100) if partner.allocated else 0
        # Bar chart geometry (SVG user units): one row per partner, scaled to the largest allocation shown.
        partner.bar_y = index * 36
        partner.bar_allocated = round(partner.allocated / top * 600) if top else 0
        partner.bar_used = round(partner.used / top * 600) if top else 0
    totals = selectors.roi(user=request.user).aggregate(
        cost=Sum("actual_cost"), leads=Sum("leads"), deals=Sum("deals"), revenue=Sum("revenue")
    )
    totals["roi"] = (totals["revenue"] / totals["cost"]) if totals["cost"] else None
    context = {
        "page": page,
        "rows": rows,
        "totals": totals,
        "chart_height": max(len(rows), 1) * 36,
        "staff_section": "utilisation",
    }
    return render(request, "comarketing/utilisation.html", context)


@require_GET
@marketing_view("comarketing.view_campaign")
def review_campaigns(request):
    """Campaigns, newest first, with links to their opt-in and download reports."""
    listed = selectors.campaign_list(user=request.user).order_by("-starts_at", "-id")
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "now": timezone.now(), "staff_section": "campaigns"}
    return render(request, "comarketing/review_campaigns.html", context)


@require_GET
@marketing_view("comarketing.view_campaign")
def campaign_report(request, pk: int):
    """Which partners in the viewer's scope joined a campaign, and how often they downloaded its kit."""
    campaign_row = selectors.campaign_list(user=request.user).filter(pk=pk).first()
    if campaign_row is None:
        raise access.NotFound("Not found.")
    rows = selectors.campaign_report(campaign=campaign_row, user=request.user).order_by("name", "id")
    page = Paginator(rows, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    # The report's partners come from the selector; their figures are counted here per partner on the page,
    # each from its own scoped table, so one partner's opt-ins in other campaigns never multiply its downloads.
    ids = [p.pk for p in page.object_list]
    downloads = dict(
        selectors.download_list(user=request.user)
        .filter(campaign=campaign_row, partner_id__in=ids)
        .order_by()
        .values_list("partner_id")
        .annotate(n=Count("id"))
    )
    joined = set(
        selectors.opt_in_list(user=request.user)
        .filter(campaign=campaign_row, partner_id__in=ids)
        .values_list("partner_id", flat=True)
    )
    for partner in page.object_list:
        partner.downloads, partner.opted_in = downloads.get(partner.pk, 0), partner.pk in joined
    totals = {
        "partners": page.paginator.count,
        "opted_in": selectors.opt_in_list(user=request.user).filter(campaign=campaign_row).count(),
        "downloads": selectors.download_list(user=request.user).filter(campaign=campaign_row).count(),
    }
    context = {"campaign": campaign_row, "page": page, "totals": totals, "staff_section": "campaigns"}
    return render(request, "comarketing/campaign_report.html", context)
