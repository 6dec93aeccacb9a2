"""Writes of the asset library, co-branding and campaign kits. MDF lives in ``comarketing.mdf``."""

from __future__ import annotations

import hashlib
import io
import secrets

from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_groups_with_perms, remove_perm

from comarketing.choices import AssetKind, Audience, PublishStatus, RenderState, TemplateKind
from comarketing.models import (
    Asset,
    AssetDownload,
    AssetVersion,
    Campaign,
    CampaignOptIn,
    CobrandedFile,
    Tag,
)
from partnerhub import access
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.models import Partner, PartnerBrand

ASSET_MAX_BYTES = 50 * 1024 * 1024
ASSET_FIELDS = (
    "title",
    "description",
    "kind",
    "category",
    "audience",
    "status",
    "publish_at",
    "expires_at",
    "template_kind",
)


def _require_staff(actor, perm: str) -> None:
    if not (actor is not None and actor.is_staff and actor.has_perm(perm)):
        raise ActionNotAllowed("Only the vendor's marketing team manages the asset library.")


def _refresh_search(asset: Asset) -> None:
    from django.db.models import Value

    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "description", weight="B", config="english"
    )
    tags = " ".join(asset.tags.values_list("name", flat=True))
    if tags:
        # One combined vector: PostgreSQL joins tsvectors with ||, which only SearchVector + SearchVector writes.
        vector = vector + SearchVector(Value(tags), weight="A", config="english")
    Asset.objects.filter(pk=asset.pk).update(search_vector=vector)


@transaction.atomic
def asset_save(
    *,
    actor,
    asset: Asset | None = None,
    tags: list[str] | None = None,
    tiers=None,
    partners: list[Partner] | None = None,
    **fields,
) -> Asset:
    """Create or change an asset's metadata and audience (tiers, or chosen partners via guardian grants)."""
    unknown = set(fields) - set(ASSET_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _require_staff(actor, "comarketing.change_asset" if asset else "comarketing.add_asset")
    asset = Asset.objects.select_for_update().get(pk=asset.pk) if asset else Asset(owner=actor)
    for field, value in fields.items():
        setattr(asset, field, value.strip() if isinstance(value, str) else value)
    if not (asset.title or "").strip():
        raise DomainError("Give the asset a title.", field="title")
    if len(asset.title) > 200:
        raise DomainError("Keep the title under 200 characters.", field="title")
    if asset.kind not in AssetKind.values:
        raise DomainError("Choose what kind of asset this is.", field="kind")
    if asset.audience not in Audience.values:
        raise DomainError("Choose the audience.", field="audience")
    if asset.template_kind == TemplateKind.HTML and asset.kind != AssetKind.PDF:
        raise DomainError("HTML co-branding templates produce PDF assets.", field="template_kind")
    if asset.template_kind == TemplateKind.IMAGE and asset.kind != AssetKind.IMAGE:
        raise DomainError("Image co-branding templates produce image assets.", field="template_kind")
    if asset.expires_at and asset.publish_at and asset.expires_at <= asset.publish_at:
        raise DomainError("The asset must expire after it is published.", field="expires_at")
    asset.save()
    if tags is not None:
        names = sorted({t.strip().lower()[:40] for t in tags if t and t.strip()})
        asset.tags.set([Tag.objects.get_or_create(name=name)[0] for name in names])
    if tiers is not None:
        asset.tiers.set(tiers)
    if partners is not None:
        wanted = {p.members_group_id for p in partners}
        current = {g.pk: g for g in get_groups_with_perms(asset)}
        for group_id, group in current.items():
            if group_id not in wanted:
                remove_perm("comarketing.view_asset", group, asset)
        for partner in partners:
            if partner.members_group_id not in current:
                assign_perm("comarketing.view_asset", partner.members_group, asset)
    _refresh_search(asset)
    return asset


def sniff_asset(data: bytes, name: str, kind: str) -> str:
    """The content type of an uploaded asset file by its bytes, matching the asset's kind."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise DomainError(f"“{name}” is empty.", field="file")
    if kind == AssetKind.PDF:
        if data.startswith(b"%PDF-"):
            return "application/pdf"
        raise DomainError(f"“{name}” is not a PDF file.", field="file")
    if kind == AssetKind.IMAGE:
        try:
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP", "GIF"]) as image:
                image.verify()
                return f"image/{image.format.lower()}"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise DomainError(f"“{name}” is not a PNG, JPEG, WebP or GIF image.", field="file") from None
    if kind == AssetKind.SLIDES:
        import zipfile

        if data.startswith(b"%PDF-"):
            return "application/pdf"
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            names = set()
        if "ppt/presentation.xml" in names:
            return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        if "content.xml" in names and "META-INF/manifest.xml" in names:
            return "application/vnd.oasis.opendocument.presentation"
        raise DomainError(f"“{name}” is not a PowerPoint (.pptx), OpenDocument (.odp) or PDF deck.", field="file")
    raise DomainError("This kind of asset has no file.", field="file")


def _thumbnail_of(content_type: str, data: bytes) -> bytes | None:
    from comarketing.rendering import pdf_first_page_png

    if content_type == "application/pdf":
        return pdf_first_page_png(data)
    if content_type.startswith("image/"):
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail((480, 480))
                out = io.BytesIO()
                image.convert("RGB").save(out, format="PNG", optimize=True)
                return out.getvalue()
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    return None


@transaction.atomic
def asset_add_version(
    *,
    actor,
    asset: Asset,
    upload=None,
    external_url: str = "",
    text_body: str = "",
    html_template: str = "",
    regions: dict | None = None,
    notes: str = "",
) -> AssetVersion:
    """Add a new version (file checked by content and size, thumbnail made) and make it current. Co-branded
    renders of older versions stay cached; partners get the new version on their next render."""
    _require_staff(actor, "comarketing.change_asset")
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    number = (asset.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AssetVersion(
        asset=asset, number=number, created_by=actor, notes=(notes or "")[:500], regions=regions or {}
    )
    if asset.kind == AssetKind.VIDEO:
        if not external_url.startswith(("https://", "http://")):
            raise DomainError("Give the video's web address (https://…).", field="external_url")
        version.external_url = external_url[:500]
    elif asset.kind in (AssetKind.EMAIL_COPY, AssetKind.SOCIAL_COPY):
        if not (text_body or "").strip():
            raise DomainError("Write the copy.", field="text_body")
        version.text_body = text_body.strip()[:20000]
    elif asset.template_kind == TemplateKind.HTML and html_template and upload is None:
        pass  # an HTML template alone is a complete co-brandable PDF version
    else:
        if upload is None:
            raise DomainError("Upload the file.", field="file")
        name = (getattr(upload, "name", "") or "asset").rsplit("/", 1)[-1][:200]
        data = upload.read(ASSET_MAX_BYTES + 1)
        if len(data) > ASSET_MAX_BYTES:
            raise DomainError(f"“{name}” is larger than 50 MB.", field="file")
        version.content_type = sniff_asset(data, name, asset.kind)
        version.size, version.original_name = len(data), name
        version.sha256 = hashlib.sha256(data).hexdigest()
        version.file.save(secrets.token_hex(12), ContentFile(data), save=False)
        thumb = _thumbnail_of(version.content_type, data)
        if thumb:
            version.thumbnail.save(f"{secrets.token_hex(8)}.png", ContentFile(thumb), save=False)
    if asset.template_kind == TemplateKind.HTML:
        if not (html_template or "").strip():
            raise DomainError("Co-brandable PDF assets need their HTML/CSS template.", field="html_template")
        from comarketing.rendering import BrandData, pdf_first_page_png, render_html_pdf

        version.html_template = html_template
        sample = BrandData(
            name="Your company",
            tagline="",
            primary_color="#1f4fd1",
            accent_color="#0f9d8a",
            text_color="#ffffff",
            email="sales@example.com",
            phone="+1 555 0100",
            website="https://example.com",
            logo_png=None,
        )
        preview = pdf_first_page_png(render_html_pdf(html_template, sample))  # compiles and renders, or fails
        if preview and not version.thumbnail:
            version.thumbnail.save(f"{secrets.token_hex(8)}.png", ContentFile(preview), save=False)
        version.content_type = "application/pdf"
    if asset.template_kind == TemplateKind.IMAGE:
        if not any(key in (regions or {}) for key in ("logo", "name", "contact")):
            raise DomainError(
                "Image templates need placeholder regions for the logo, name or contact.", field="regions"
            )
        for key, value in (regions or {}).items():
            if key not in ("logo", "name", "contact", "band") or not (
                isinstance(value, list | tuple)
                and len(value) == 4
                and all(isinstance(v, int) and v >= 0 for v in value)
            ):
                raise DomainError(f"Region “{key}” must be [x, y, width, height] in pixels.", field="regions")
    version.save()
    asset.current_version = version
    asset.save(update_fields=["current_version", "updated_at"])
    return version


# Co-branding ---------------------------------------------------------------------------------------------------


@transaction.atomic
def cobrand_request(*, actor, partner: Partner, asset: Asset) -> CobrandedFile:
    """Return the partner's render of the asset's current version with its current brand, queueing it if it
    does not exist yet (or failed before). The cache key is (partner, asset version, brand version)."""
    from comarketing import selectors

    asset = selectors.asset_list(user=actor, partner=partner).filter(pk=asset.pk).first()
    if asset is None:
        raise access.NotFound("Not found.")
    if not asset.is_cobrandable or asset.current_version_id is None:
        raise ConflictError("This asset cannot be co-branded.")
    brand = PartnerBrand.objects.get(partner=partner)
    render, created = CobrandedFile.objects.get_or_create(
        partner=partner,
        version_id=asset.current_version_id,
        brand_version=brand.version,
        defaults={"requested_by": actor},
    )
    if not created and render.state == RenderState.FAILED:
        CobrandedFile.objects.filter(pk=render.pk).update(state=RenderState.PENDING, progress=0, error="")
        render.refresh_from_db()
        created = True
    if created:
        from comarketing.tasks import render_cobranded

        transaction.on_commit(lambda: render_cobranded.delay(render.pk))
    return render


def cobrand_render(render_id: int) -> str:
    """Produce the file of one render (run by the Celery task). Idempotent: a finished render is kept."""
    from comarketing.rendering import BrandData, render_html_pdf, render_image

    with transaction.atomic():
        render = (
            CobrandedFile.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("version__asset", "partner__brand")
            .filter(pk=render_id)
            .first()
        )
        if render is None or render.state == RenderState.DONE:
            return "skipped"
        render.state, render.progress, render.started_at = RenderState.RUNNING, 10, timezone.now()
        render.save(update_fields=["state", "progress", "started_at"])
    version = render.version
    try:
        brand = BrandData.from_brand(render.partner.brand)
        CobrandedFile.objects.filter(pk=render.pk).update(progress=35)
        if version.asset.template_kind == TemplateKind.HTML:
            data, content_type, ext = render_html_pdf(version.html_template, brand), "application/pdf", "pdf"
        else:
            with version.file.open("rb") as handle:
                base = handle.read()
            data, content_type, ext = render_image(base, version.regions, brand), "image/png", "png"
        CobrandedFile.objects.filter(pk=render.pk).update(progress=85)
    except DomainError as exc:
        CobrandedFile.objects.filter(pk=render.pk).update(
            state=RenderState.FAILED, error=exc.message[:500], finished_at=timezone.now()
        )
        return "failed"
    except Exception as exc:  # a renderer crash must leave a visible, retryable state
        CobrandedFile.objects.filter(pk=render.pk).update(
            state=RenderState.FAILED, error=f"Rendering failed: {type(exc).__name__}"[:500], finished_at=timezone.now()
        )
        return "failed"
    with transaction.atomic():
        render = CobrandedFile.objects.select_for_update().get(pk=render.pk)
        render.file.save(f"{secrets.token_hex(12)}.{ext}", ContentFile(data), save=False)
        render.content_type, render.state, render.progress = content_type, RenderState.DONE, 100
        render.finished_at, render.error = timezone.now(), ""
        render.save(update_fields=["file", "content_type", "state", "progress", "finished_at", "error"])
    return "done"


@transaction.atomic
def download_record(
    *, actor, partner: Partner, asset: Asset, cobranded: bool = False, campaign: Campaign | None = None
) -> AssetDownload:
    download = AssetDownload.objects.create(
        partner=partner,
        asset=asset,
        version_id=asset.current_version_id,
        user=actor,
        cobranded=cobranded,
        campaign=campaign,
    )
    Asset.objects.filter(pk=asset.pk).update(download_count=F("download_count") + 1)
    return download


# Campaigns -----------------------------------------------------------------------------------------------------


@transaction.atomic
def campaign_opt_in(*, actor, partner: Partner, campaign: Campaign) -> CampaignOptIn:
    """A partner joins a campaign: its co-branded kit starts rendering at once."""
    from comarketing import selectors

    if not access.can(actor, "change", partner):
        raise ActionNotAllowed("Only partner admins join campaigns for the partner.")
    if not selectors.campaign_list(user=actor, partner=partner).filter(pk=campaign.pk).exists():
        raise access.NotFound("Not found.")
    if campaign.ends_at <= timezone.now():
        raise ConflictError("This campaign has ended.")
    try:
        with transaction.atomic():
            opt_in = CampaignOptIn.objects.create(partner=partner, campaign=campaign, opted_in_by=actor)
    except IntegrityError:
        opt_in = CampaignOptIn.objects.get(partner=partner, campaign=campaign)
    for asset in campaign.assets.filter(status=PublishStatus.PUBLISHED).exclude(template_kind=""):
        if selectors.asset_list(user=actor, partner=partner).filter(pk=asset.pk).exists():
            cobrand_request(actor=actor, partner=partner, asset=asset)
    return opt_in


CAMPAIGN_FIELDS = (
    "name",
    "slug",
    "description",
    "starts_at",
    "ends_at",
    "audience",
    "email_copy",
    "social_copy",
    "status",
)


def _require_campaign_staff(actor, action: str) -> None:
    if not (actor is not None and actor.is_staff and actor.has_perm(f"comarketing.{action}_campaign")):
        raise ActionNotAllowed("Only the vendor's marketing team manages campaigns.")


@transaction.atomic
def campaign_save(
    *, actor, campaign: Campaign | None = None, tiers=None, partners=None, assets=None, **fields
) -> Campaign:
    """Create or change a campaign: dates, audience (all, tiers, chosen partners), kit assets and copy."""
    from django.utils.text import slugify

    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _require_campaign_staff(actor, "change" if campaign else "add")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk) if campaign else Campaign()
    for field, value in fields.items():
        setattr(campaign, field, value.strip() if isinstance(value, str) else value)
    if not (campaign.name or "").strip():
        raise DomainError("Name the campaign.", field="name")
    campaign.slug = slugify(campaign.slug or campaign.name)[:200]
    if not campaign.slug:
        raise DomainError("Give the campaign a name or slug made of letters or digits.", field="slug")
    if Campaign.objects.filter(slug=campaign.slug).exclude(pk=campaign.pk).exists():
        raise ConflictError(f"Another campaign already uses the slug “{campaign.slug}”.", field="slug")
    if campaign.starts_at is None:
        raise DomainError("Give the start date.", field="starts_at")
    if campaign.ends_at is None:
        raise DomainError("Give the end date.", field="ends_at")
    if campaign.ends_at <= campaign.starts_at:
        raise DomainError("The campaign must end after it starts.", field="ends_at")
    if campaign.audience not in Audience.values:
        raise DomainError("Choose the audience.", field="audience")
    if campaign.status not in PublishStatus.values:
        raise DomainError("Choose the status.", field="status")
    campaign.save()
    if tiers is not None:
        campaign.tiers.set(tiers)
    if partners is not None:
        campaign.partners.set(partners)
    if assets is not None:
        campaign.assets.set(assets)
    return campaign


@transaction.atomic
def campaign_delete(*, actor, campaign: Campaign) -> None:
    """Delete a campaign nobody has joined yet; one with opt-ins is archived instead, so partners keep their kit."""
    _require_campaign_staff(actor, "delete")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.opt_ins.exists():
        raise ConflictError("Partners have joined this campaign; archive it instead of deleting it.")
    campaign.delete()
