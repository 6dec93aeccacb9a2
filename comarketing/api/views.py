"""Viewsets of the co-marketing API. Thin: each parses input, reads through a selector or the scoped core bases,
and calls one service.

* Assets and campaigns are the vendor's library, shared by audience: their rows come from one selector each
  (``SelectorViewSet``, ``comarketing.api.scopes``), so an asset shared with chosen partners is invisible to
  everybody else — in the list, a search, a download, a co-branding request or an opt-in.
* Co-branded files, downloads, opt-ins, allocations, requests, claims and proofs are partner-owned: the core's
  ``ScopedGenericViewSet`` scopes every read with the access layer; another partner's row answers 404 on every
  route below it, its file included.
* Fund programs are program-wide configuration (``ProgramDataViewSet``).

Files are never served from a storage address: the ``download`` endpoints below stream them after the same
scoped lookup as their rows, as attachments, with ``nosniff`` and ``no-store``.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from comarketing import mdf, selectors, services
from comarketing.api import scopes
from comarketing.api.filtersets import (
    AssetDownloadFilterSet,
    AssetFilterSet,
    CampaignFilterSet,
    CampaignOptInFilterSet,
    ClaimProofFilterSet,
    CobrandedFileFilterSet,
    FundAllocationFilterSet,
    FundClaimFilterSet,
    FundRequestFilterSet,
)
from comarketing.api.serializers import (
    AssetDownloadSerializer,
    AssetSerializer,
    AssetVersionCreateSerializer,
    AssetVersionSerializer,
    AssetWriteSerializer,
    CampaignOptInSerializer,
    CampaignReportRowSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    ClaimApproveSerializer,
    ClaimPaySerializer,
    ClaimProofSerializer,
    CobrandedFileSerializer,
    DownloadQuerySerializer,
    FundAllocationSerializer,
    FundClaimCreateSerializer,
    FundClaimSerializer,
    FundProgramSerializer,
    FundRequestCreateSerializer,
    FundRequestSerializer,
    GrantSerializer,
    LedgerEntrySerializer,
    OptInRequestSerializer,
    PartnerChoiceSerializer,
    ReasonSerializer,
    RequestApproveSerializer,
)
from comarketing.choices import RenderState
from comarketing.models import (
    Asset,
    AssetDownload,
    Campaign,
    CampaignOptIn,
    ClaimProof,
    CobrandedFile,
    FundAllocation,
    FundClaim,
    FundProgram,
    FundRequest,
    LedgerEntry,
)
from partnerhub import access
from partnerhub.api.base import ProgramDataViewSet, ScopedGenericViewSet, SelectorViewSet
from partnerhub.api.pagination import StableCursorPagination
from partnerhub.api.serializers import ConflictErrorResponseSerializer, EmptySerializer

CONFLICT = OpenApiResponse(ConflictErrorResponseSerializer, description="The request clashes with the current state.")
ASSET_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.presentation",
    "text/plain",
)
RENDER_TYPES = ("application/pdf", "image/png")
PROOF_TYPES = ("application/pdf", "image/png", "image/jpeg")
WRITES = ["post", "put", "patch"]


def binary(*media_types: str, description: str = "The file, as an attachment.") -> dict:
    return {
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=description) for media_type in media_types
    }


def service_errors(*fields: str, codes=("invalid",), **where):
    """Document the errors a service raises for these inputs (``DomainError(field=...)``, and
    ``non_field_errors`` for one without a field), which no serializer field declares by itself."""

    def decorate(view):
        for name in (*fields, "non_field_errors"):
            view = extend_validation_errors(list(codes), field_name=name, **where)(view)
        return view

    return decorate


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class, request) -> dict:
    """Validate the query parameters an action uses, ignoring others (cache busters, tracking)."""
    wanted = {name: request.query_params[name] for name in serializer_class().fields if name in request.query_params}
    serializer = serializer_class(data=wanted, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _acting_partner(request, chosen, *, permission: str = "access_partner", refusal: str):
    """The partner a partner user acts for: the one they named (already checked by a scoped field), or their
    only one. Somebody who acts for several must say which; somebody who acts for none is refused."""
    if chosen is not None:
        return chosen
    partners = list(access.member_partners(request.user, permission).order_by("pk")[:2])
    if len(partners) == 1:
        return partners[0]
    if not partners:
        raise exceptions.PermissionDenied(refusal)
    raise serializers.ValidationError(
        {"partner": ["You act for several partners; say which one (partner=<id>)."]}, code="required"
    )


def stream(fieldfile, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    """Stream a stored file with the type PartnerHub determined from its content; never sniffed, never cached
    by shared caches, and sandboxed should a browser show it."""
    try:
        handle = fieldfile.open("rb")
    except (FileNotFoundError, ValueError):
        raise exceptions.NotFound("The file is no longer stored.") from None
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class OldestFirstPagination(StableCursorPagination):
    """Ledgers and version histories read in the order they happened."""

    ordering = "id"


class ReportPagination(StableCursorPagination):
    ordering = ("name", "id")


class StaffWritesLibrary(permissions.BasePermission):
    """Reading the library: every signed-in user (the selector decides which rows). Writing it: vendor staff only
    (the service checks their model permission). Partner actions (``partner_actions``) are the services' to allow."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or view.action in getattr(view, "partner_actions", ()):
            return True
        if not access.is_vendor_staff(request.user):
            raise exceptions.PermissionDenied(view.staff_write_message)
        return True


PARTNER_PARAM = OpenApiParameter(
    "partner", OpenApiTypes.INT, description="The partner you act for (id); only if you act for several."
)
CAMPAIGN_PARAM = OpenApiParameter(
    "campaign", OpenApiTypes.INT, description="The campaign whose kit this download is from (id)."
)


# Assets --------------------------------------------------------------------------------------------------------


@service_errors(
    "title", "kind", "audience", "template_kind", "expires_at", "tags", actions=["create", "partial_update"]
)
@service_errors("file", "external_url", "text_body", "html_template", "regions", actions=["versions"], methods=["post"])
@extend_validation_errors(
    ["does_not_exist", "incorrect_type", "required"], field_name="partner", actions=["download", "cobrand"]
)
@extend_validation_errors(["does_not_exist", "incorrect_type", "invalid"], field_name="campaign", actions=["download"])
@extend_schema_view(
    list=extend_schema(summary="Assets you may see"),
    retrieve=extend_schema(summary="One asset"),
    create=extend_schema(
        request=AssetWriteSerializer,
        responses={201: AssetSerializer, 409: CONFLICT},
        summary="Create an asset (vendor marketing team)",
        description="Metadata and audience; add its content with `POST /assets/{id}/versions/`.",
    ),
    partial_update=extend_schema(
        request=AssetWriteSerializer,
        responses={200: AssetSerializer, 409: CONFLICT},
        summary="Change an asset (vendor marketing team)",
        description="`partners` replaces the chosen partners you may see; grants to others stay as they are.",
    ),
)
class AssetViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The asset library: partner users see live assets shared with their partners (all partners, their tier, or
    them by name); vendor staff see the library they may work on, drafts and expired assets included."""

    select = staticmethod(scopes.visible_assets)
    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    permission_classes = [permissions.IsAuthenticated, StaffWritesLibrary]
    http_method_names = ["get", "post", "patch", "head", "options"]
    partner_actions = ("cobrand",)
    staff_write_message = "The asset library is kept by the vendor's marketing team."

    def decorate(self, queryset):
        queryset = queryset.select_related("category", "current_version").prefetch_related("tags")
        return queryset.prefetch_related("tiers") if access.is_vendor_staff(self.request.user) else queryset

    def get_serializer_class(self):
        return AssetWriteSerializer if self.action in ("create", "partial_update") else AssetSerializer

    def _asset_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        asset = self.get_queryset().get(pk=pk)
        return Response(AssetSerializer(asset, context=self.get_serializer_context()).data, status=status_code)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {
            **self.get_serializer_context(),
            "asset_partner_ids": scopes.asset_partner_ids([asset.pk for asset in page], request.user),
        }
        return self.get_paginated_response(AssetSerializer(page, many=True, context=context).data)

    def create(self, request, *args, **kwargs):
        serializer = AssetWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        asset = self.perform_create(serializer)
        return self._asset_response(asset.pk, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        asset = self.get_object()
        serializer = AssetWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        serializer.instance = asset
        asset = self.perform_update(serializer)
        return self._asset_response(asset.pk)

    def _save(self, data: dict, asset: Asset | None = None) -> Asset:
        data = dict(data)
        tags, tiers, partners = data.pop("tags", None), data.pop("tiers", None), data.pop("partners", None)
        if partners is not None and asset is not None:
            # The caller chose among the partners they see; grants to partners they do not see stay.
            partners = [*partners, *scopes.partners_granted_outside_view(asset, self.request.user)]
        return services.asset_save(
            actor=self.request.user, asset=asset, tags=tags, tiers=tiers, partners=partners, **data
        )

    def create_object(self, serializer):
        return self._save(serializer.validated_data)

    def update_object(self, serializer):
        return self._save(serializer.validated_data, asset=serializer.instance)

    @extend_schema(
        methods=["GET"], responses=AssetVersionSerializer(many=True), summary="The asset's versions, oldest first"
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AssetVersionCreateSerializer},
        responses={201: AssetVersionSerializer, 409: CONFLICT},
        summary="Add a version and make it current (vendor marketing team)",
        description="Multipart. Files are judged by their content and must match the asset's kind; a co-brandable "
        "PDF needs its HTML template (rendered once with sample data to check it), a co-brandable image its "
        "placeholder regions. Partners' co-branded files of older versions stay until they render the new one.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=AssetVersionSerializer,
        filterset_class=None,
        pagination_class=OldestFirstPagination,
    )
    def versions(self, request, pk=None):
        asset = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(asset.versions.all())
            data = AssetVersionSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        data = _validated(AssetVersionCreateSerializer, request)
        version = services.asset_add_version(
            actor=request.user,
            asset=asset,
            upload=data.get("file"),
            external_url=data.get("external_url", ""),
            text_body=data.get("text_body", ""),
            html_template=data.get("html_template", ""),
            regions=data.get("regions"),
            notes=data.get("notes", ""),
        )
        body = AssetVersionSerializer(version, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[PARTNER_PARAM, CAMPAIGN_PARAM],
        responses={**binary(*ASSET_TYPES), 409: CONFLICT},
        summary="Download the current version",
        description="Streams the file (e-mail and social copy as text) as an attachment and records the download "
        "for your partner. Video links have no file (see `current_version.external_url`); co-brandable templates "
        "are downloaded through `cobrand`.",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def download(self, request, pk=None):
        asset = self.get_object()
        version = asset.current_version
        if version is None or not (version.file or version.text_body):
            raise _conflict(
                "This asset has no file to download: a video opens at its link, a co-brandable template is "
                "downloaded through cobrand."
                if version is not None
                else "This asset has no content yet."
            )
        params = _query(DownloadQuerySerializer, request)
        partner = None
        if not access.is_vendor_staff(request.user):
            partner = _acting_partner(
                request, params.get("partner"), refusal="Downloads are made for a partner you act for."
            )
            if not scopes.visible_assets(user=request.user, partner=partner).filter(pk=asset.pk).exists():
                raise access.NotFound("Not found.")
        campaign = params.get("campaign")
        if campaign is not None and not campaign.assets.filter(pk=asset.pk).exists():
            raise serializers.ValidationError({"campaign": ["This asset is not in that campaign's kit."]})
        if version.file:
            response = stream(
                version.file, filename=version.original_name or f"asset-{asset.pk}", content_type=version.content_type
            )
        else:
            response = HttpResponse(version.text_body.encode(), content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = content_disposition_header(True, f"{asset.title[:80] or 'copy'}.txt")
            response["X-Content-Type-Options"] = "nosniff"
            response["Cache-Control"] = "private, no-store"
        if partner is not None:
            services.download_record(actor=request.user, partner=partner, asset=asset, campaign=campaign)
        return response

    @extend_schema(
        responses=binary("image/png", description="A PNG preview of the current version."),
        summary="The current version's preview image",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def thumbnail(self, request, pk=None):
        asset = self.get_object()
        version = asset.current_version
        if version is None or not version.thumbnail:
            raise exceptions.NotFound("This asset has no preview.")
        return stream(version.thumbnail, filename=f"asset-{asset.pk}.png", content_type="image/png", inline=True)

    @extend_schema(
        request=PartnerChoiceSerializer,
        responses={200: CobrandedFileSerializer, 202: CobrandedFileSerializer, 409: CONFLICT},
        summary="Co-brand this asset with your partner's brand",
        description="Answers the render for the asset's current version and your brand's current version: 200 "
        "when it is ready, 202 while it is queued or rendering (poll `/cobranded-files/{id}/`).",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=PartnerChoiceSerializer)
    def cobrand(self, request, pk=None):
        asset = self.get_object()
        data = _validated(PartnerChoiceSerializer, request)
        partner = _acting_partner(
            request, data.get("partner"), refusal="Co-branded files are made for a partner you act for."
        )
        render = services.cobrand_request(actor=request.user, partner=partner, asset=asset)
        render = selectors.render_list(user=request.user).get(pk=render.pk)
        code = status.HTTP_200_OK if render.state == RenderState.DONE else status.HTTP_202_ACCEPTED
        return Response(CobrandedFileSerializer(render, context=self.get_serializer_context()).data, status=code)


def _conflict(message: str, field: str | None = None) -> exceptions.APIException:
    error = exceptions.APIException({field or "non_field_errors": [message]}, code="conflict")
    error.status_code = status.HTTP_409_CONFLICT
    return error


class CobrandedFileViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Your partners' co-branded files with their state and progress; the file once it is done."""

    base_queryset = CobrandedFile.objects.select_related("version__asset")
    serializer_class = CobrandedFileSerializer
    filterset_class = CobrandedFileFilterSet
    action_access = {"download": "view"}

    @extend_schema(
        responses=binary(*RENDER_TYPES, description="The co-branded file, as an attachment."),
        summary="Download a co-branded file",
        description="404 until the render is done, and once the asset is no longer shared with the partner.",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def download(self, request, pk=None):
        render = self.get_object()
        if render.state != RenderState.DONE or not render.file:
            raise exceptions.NotFound("The file is not ready; poll the render until its state is done.")
        asset = render.version.asset
        partner_user = not access.is_vendor_staff(request.user)
        if (
            partner_user
            and not scopes.visible_assets(user=request.user, partner=render.partner).filter(pk=asset.pk).exists()
        ):
            raise exceptions.NotFound("The asset is no longer shared with this partner.")
        extension = "pdf" if render.content_type == "application/pdf" else "png"
        response = stream(render.file, filename=f"{asset.title[:80]}.{extension}", content_type=render.content_type)
        if partner_user:
            services.download_record(actor=request.user, partner=render.partner, asset=asset, cobranded=True)
        return response


class AssetDownloadViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Who of your partners downloaded which asset version, original or co-branded, from which campaign."""

    base_queryset = AssetDownload.objects.select_related("asset", "version", "user")
    serializer_class = AssetDownloadSerializer
    filterset_class = AssetDownloadFilterSet


# Campaigns -----------------------------------------------------------------------------------------------------


@service_errors("name", "slug", "starts_at", "ends_at", "audience", "status", actions=["create", "partial_update"])
@extend_validation_errors(["does_not_exist", "incorrect_type", "required"], field_name="partner", actions=["opt_in"])
@extend_schema_view(
    list=extend_schema(summary="Campaigns you may see"),
    retrieve=extend_schema(summary="One campaign with its kit"),
    create=extend_schema(
        request=CampaignWriteSerializer,
        responses={201: CampaignSerializer, 409: CONFLICT},
        summary="Create a campaign (vendor marketing team)",
    ),
    partial_update=extend_schema(
        request=CampaignWriteSerializer,
        responses={200: CampaignSerializer, 409: CONFLICT},
        summary="Change a campaign (vendor marketing team)",
    ),
    destroy=extend_schema(
        responses={204: None, 409: CONFLICT},
        summary="Delete a campaign nobody joined (vendor marketing team)",
        description="A campaign partners have joined is archived instead (`status: archived`).",
    ),
)
class CampaignViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Through-channel campaigns: dates, audience, the kit of assets and ready-made copy. Partner admins opt their
    partner in, which starts rendering the kit's co-brandable assets with the partner's brand."""

    select = staticmethod(scopes.visible_campaigns)
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilterSet
    permission_classes = [permissions.IsAuthenticated, StaffWritesLibrary]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    partner_actions = ("opt_in",)
    staff_write_message = "Campaigns are run by the vendor's marketing team."

    def decorate(self, queryset):
        user = self.request.user
        opt_ins = (
            CampaignOptIn.objects.for_user(user)
            .filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset = queryset.annotate(visible_opt_ins=Coalesce(Subquery(opt_ins), Value(0)))
        if access.is_vendor_staff(user):
            queryset = queryset.prefetch_related(
                "tiers",
                Prefetch("partners", queryset=scopes.partners_in_view(user).order_by("pk"), to_attr="visible_partners"),
            )
        return queryset

    def get_serializer_class(self):
        return CampaignWriteSerializer if self.action in ("create", "partial_update") else CampaignSerializer

    def _with_kits(self, campaigns: list[Campaign]) -> list[Campaign]:
        """Set ``visible_asset_ids`` on each campaign: its kit assets the caller may see (one query)."""
        ids = [c.pk for c in campaigns]
        kits: dict[int, list[int]] = {pk: [] for pk in ids}
        if ids:
            visible = scopes.visible_assets(user=self.request.user).values("pk")
            rows = Campaign.assets.through.objects.filter(campaign_id__in=ids, asset_id__in=visible)
            for campaign_id, asset_id in rows.values_list("campaign_id", "asset_id"):
                kits[campaign_id].append(asset_id)
        for campaign in campaigns:
            campaign.visible_asset_ids = kits[campaign.pk]
        return campaigns

    def _campaign_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        campaign = self._with_kits([self.get_queryset().get(pk=pk)])[0]
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data, status=status_code)

    def list(self, request, *args, **kwargs):
        page = self._with_kits(self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(
            CampaignSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    def retrieve(self, request, *args, **kwargs):
        return self._campaign_response(self.get_object().pk)

    def create(self, request, *args, **kwargs):
        serializer = CampaignWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        campaign = self.perform_create(serializer)
        return self._campaign_response(campaign.pk, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        campaign = self.get_object()
        serializer = CampaignWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        serializer.instance = campaign
        campaign = self.perform_update(serializer)
        return self._campaign_response(campaign.pk)

    def destroy(self, request, *args, **kwargs):
        self.perform_destroy(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(self, data: dict, campaign: Campaign | None = None) -> Campaign:
        data = dict(data)
        tiers, partners, assets = data.pop("tiers", None), data.pop("partners", None), data.pop("assets", None)
        if partners is not None and campaign is not None:
            partners = [*partners, *scopes.campaign_partners_outside_view(campaign, self.request.user)]
        return services.campaign_save(
            actor=self.request.user, campaign=campaign, tiers=tiers, partners=partners, assets=assets, **data
        )

    def create_object(self, serializer):
        return self._save(serializer.validated_data)

    def update_object(self, serializer):
        return self._save(serializer.validated_data, campaign=serializer.instance)

    def destroy_object(self, instance):
        services.campaign_delete(actor=self.request.user, campaign=instance)

    @extend_schema(
        request=OptInRequestSerializer,
        responses={201: CampaignOptInSerializer, 200: CampaignOptInSerializer, 409: CONFLICT},
        summary="Join the campaign (partner admins)",
        description="Your partner's co-branded kit starts rendering at once. Joining again answers 200 with the "
        "first opt-in.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="opt-in",
        url_name="opt-in",
        filterset_class=None,
        serializer_class=OptInRequestSerializer,
    )
    def opt_in(self, request, pk=None):
        campaign = self.get_object()
        data = _validated(OptInRequestSerializer, request)
        partner = _acting_partner(
            request,
            data.get("partner"),
            permission="administer_partner",
            refusal="Only partner admins join campaigns for the partner.",
        )
        existed = selectors.opt_in_list(user=request.user).filter(campaign=campaign, partner=partner).exists()
        opt_in = services.campaign_opt_in(actor=request.user, partner=partner, campaign=campaign)
        opt_in = selectors.opt_in_list(user=request.user).get(pk=opt_in.pk)
        body = CampaignOptInSerializer(opt_in, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(
        responses=CampaignReportRowSerializer(many=True),
        summary="Opt-ins and kit downloads per partner",
        description="Every partner in your scope that joined the campaign or downloaded from its kit.",
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        pagination_class=ReportPagination,
        serializer_class=CampaignReportRowSerializer,
    )
    def report(self, request, pk=None):
        campaign = self.get_object()
        page = self.paginate_queryset(selectors.campaign_report(campaign=campaign, user=request.user))
        return self.get_paginated_response(CampaignReportRowSerializer(page, many=True).data)


class CampaignOptInViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Which of your partners joined which campaign, when and by whom."""

    base_queryset = CampaignOptIn.objects.select_related("campaign", "opted_in_by")
    serializer_class = CampaignOptInSerializer
    filterset_class = CampaignOptInFilterSet


# Funds ---------------------------------------------------------------------------------------------------------


@service_errors(*mdf.FUND_PROGRAM_FIELDS, methods=["post", "patch"])
@extend_schema_view(
    create=extend_schema(responses={201: FundProgramSerializer, 409: CONFLICT}),
    partial_update=extend_schema(responses={200: FundProgramSerializer, 409: CONFLICT}),
)
class FundProgramViewSet(ProgramDataViewSet):
    """Market development fund programs: every signed-in user reads them; the marketing team writes them."""

    base_queryset = FundProgram.objects.all()
    serializer_class = FundProgramSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create_object(self, serializer):
        return mdf.fund_program_save(actor=self.request.user, **serializer.validated_data)

    def update_object(self, serializer):
        return mdf.fund_program_save(actor=self.request.user, program=serializer.instance, **serializer.validated_data)


@service_errors("amount", actions=["grant"])
@extend_schema_view(list=extend_schema(summary="Your partners' fund allocations with their balances"))
class FundAllocationViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Each partner's balance per fund program: allocated, committed (approved requests), claimed, paid and
    available. Balances move only through the ledger (grants, approvals, claims, payments)."""

    base_queryset = FundAllocation.objects.select_related("partner", "program")
    serializer_class = FundAllocationSerializer
    filterset_class = FundAllocationFilterSet
    action_access = {"ledger": "view"}

    @extend_schema(
        request=GrantSerializer,
        responses={200: FundAllocationSerializer},
        summary="Grant funds to a partner (vendor marketing team)",
        description="Adds the amount to the partner's allocation in the program, creating it; audited.",
    )
    @action(detail=False, methods=["post"], filterset_class=None, serializer_class=GrantSerializer)
    def grant(self, request):
        user = request.user
        if not (access.is_vendor_staff(user) and user.has_perm("comarketing.add_fundallocation")):
            raise exceptions.PermissionDenied("Only the vendor's marketing team grants market development funds.")
        data = _validated(GrantSerializer, request)
        allocation = mdf.allocation_grant(
            actor=user, partner=data["partner"], program=data["program"], amount=data["amount"], note=data["note"]
        )
        allocation = self.get_queryset().get(pk=allocation.pk)
        return Response(FundAllocationSerializer(allocation, context=self.get_serializer_context()).data)

    @extend_schema(responses=LedgerEntrySerializer(many=True), summary="The allocation's ledger, oldest first")
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        pagination_class=OldestFirstPagination,
        serializer_class=LedgerEntrySerializer,
    )
    def ledger(self, request, pk=None):
        allocation = self.get_object()
        page = self.paginate_queryset(LedgerEntry.objects.filter(allocation=allocation).select_related("actor"))
        return self.get_paginated_response(LedgerEntrySerializer(page, many=True).data)


class FundRequestPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if view.action == "create" and not access.partners_for(request.user, FundRequest, "add").exists():
            raise exceptions.PermissionDenied("Only partner admins request market development funds.")
        return True


@service_errors("planned_cost", "activity", "starts_on", "ends_on", actions=["create"])
@service_errors("amount", actions=["approve"])
@service_errors("note", actions=["reject"])
@extend_schema_view(
    list=extend_schema(summary="Your partners' MDF requests"),
    create=extend_schema(
        request=FundRequestCreateSerializer,
        responses={201: FundRequestSerializer, 409: CONFLICT},
        summary="Request funds for a planned activity (partner admins)",
        description="Refused at once (409) when the allocation's available balance cannot cover the planned cost.",
    ),
)
class FundRequestViewSet(
    ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    """MDF requests of the partners in the caller's scope. Approval commits the funds; the ledger never goes
    negative, also when several approvals against one allocation arrive at the same moment (409 for the loser)."""

    base_queryset = FundRequest.objects.select_related(
        "allocation__program", "partner", "submitted_by", "decided_by", "claim"
    )
    serializer_class = FundRequestSerializer
    filterset_class = FundRequestFilterSet
    permission_classes = [permissions.IsAuthenticated, FundRequestPermission]

    def get_serializer_class(self):
        return FundRequestCreateSerializer if self.action == "create" else FundRequestSerializer

    def _request_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        fund_request = self.get_queryset().get(pk=pk)
        body = FundRequestSerializer(fund_request, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = FundRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        fund_request = self.perform_create(serializer)
        return self._request_response(fund_request.pk, status.HTTP_201_CREATED)

    def create_object(self, serializer):
        return mdf.request_submit(actor=self.request.user, **serializer.validated_data)

    @extend_schema(
        request=RequestApproveSerializer,
        responses={200: FundRequestSerializer, 409: CONFLICT},
        summary="Approve and commit the funds (marketing managers)",
        description="409 when the allocation cannot cover the amount any more, or the request was decided.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=RequestApproveSerializer)
    def approve(self, request, pk=None):
        fund_request = self.get_object()
        data = _validated(RequestApproveSerializer, request)
        mdf.request_approve(actor=request.user, request=fund_request, amount=data.get("amount"), note=data["note"])
        return self._request_response(fund_request.pk)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: FundRequestSerializer, 409: CONFLICT},
        summary="Decline a request (marketing managers); the partner receives the reason",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=ReasonSerializer)
    def reject(self, request, pk=None):
        fund_request = self.get_object()
        data = _validated(ReasonSerializer, request)
        mdf.request_reject(actor=request.user, request=fund_request, note=data["note"])
        return self._request_response(fund_request.pk)

    @extend_schema(
        request=None,
        responses={200: FundRequestSerializer, 409: CONFLICT},
        summary="Withdraw a request (partner admins)",
        description="Approved funds go back to the allocation's available balance.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=EmptySerializer)
    def cancel(self, request, pk=None):
        fund_request = self.get_object()
        _validated(EmptySerializer, request)
        mdf.request_cancel(actor=request.user, request=fund_request)
        return self._request_response(fund_request.pk)


class FundClaimPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if view.action == "create" and not access.partners_for(request.user, FundClaim, "add").exists():
            raise exceptions.PermissionDenied("Only the partner's admins file its claims.")
        return True


@service_errors("actual_cost", "proofs", "revenue", actions=["create"])
@service_errors("note", actions=["reject"])
@service_errors("reference", actions=["pay"])
@extend_schema_view(
    list=extend_schema(summary="Your partners' MDF claims"),
    create=extend_schema(
        request={"multipart/form-data": FundClaimCreateSerializer},
        responses={201: FundClaimSerializer, 409: CONFLICT},
        summary="File a claim with proof of performance (partner admins)",
        description="Multipart; repeat `proofs` for each file. The claimed amount (at most the approved one) moves "
        "from committed to claimed; the rest of the commitment is released.",
    ),
)
class FundClaimViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Claims on approved MDF requests, with their proofs and results; marketing managers approve, reject and pay."""

    base_queryset = FundClaim.objects.select_related("request", "submitted_by", "decided_by")
    serializer_class = FundClaimSerializer
    filterset_class = FundClaimFilterSet
    permission_classes = [permissions.IsAuthenticated, FundClaimPermission]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def _with_proofs(self, queryset):
        # Proofs are listed only where the caller may open them (the same scope as their download).
        return queryset.prefetch_related(Prefetch("proofs", queryset=ClaimProof.objects.for_user(self.request.user)))

    def filter_queryset(self, queryset):
        return self._with_proofs(super().filter_queryset(queryset))

    def get_serializer_class(self):
        return FundClaimCreateSerializer if self.action == "create" else FundClaimSerializer

    def _claim_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        claim = self._with_proofs(self.get_queryset()).get(pk=pk)
        return Response(FundClaimSerializer(claim, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = FundClaimCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        claim = self.perform_create(serializer)
        return self._claim_response(claim.pk, status.HTTP_201_CREATED)

    def create_object(self, serializer):
        data = serializer.validated_data
        return mdf.claim_submit(
            actor=self.request.user,
            request=data["request"],
            actual_cost=data["actual_cost"],
            leads=data["leads"],
            deals=data["deals"],
            revenue=data["revenue"],
            notes=data["notes"],
            proofs=data["proofs"],
        )

    @extend_schema(
        request=ClaimApproveSerializer,
        responses={200: FundClaimSerializer, 409: CONFLICT},
        summary="Approve a claim (marketing managers); payment follows",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=ClaimApproveSerializer)
    def approve(self, request, pk=None):
        claim = self.get_object()
        data = _validated(ClaimApproveSerializer, request)
        mdf.claim_decide(actor=request.user, claim=claim, approve=True, note=data["note"])
        return self._claim_response(claim.pk)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: FundClaimSerializer, 409: CONFLICT},
        summary="Reject a claim (marketing managers); the claimed amount is released",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=ReasonSerializer)
    def reject(self, request, pk=None):
        claim = self.get_object()
        data = _validated(ReasonSerializer, request)
        mdf.claim_decide(actor=request.user, claim=claim, approve=False, note=data["note"])
        return self._claim_response(claim.pk)

    @extend_schema(
        request=ClaimPaySerializer,
        responses={200: FundClaimSerializer, 409: CONFLICT},
        summary="Record the payment of an approved claim (marketing managers)",
    )
    @action(detail=True, methods=["post"], filterset_class=None, serializer_class=ClaimPaySerializer)
    def pay(self, request, pk=None):
        claim = self.get_object()
        data = _validated(ClaimPaySerializer, request)
        mdf.claim_pay(actor=request.user, claim=claim, reference=data["reference"])
        return self._claim_response(claim.pk)


class ClaimProofViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Proof-of-performance files of your partners' claims."""

    base_queryset = ClaimProof.objects.all()
    serializer_class = ClaimProofSerializer
    filterset_class = ClaimProofFilterSet
    action_access = {"download": "view"}

    @extend_schema(
        responses=binary(*PROOF_TYPES, description="The proof, as an attachment."), summary="Download a proof"
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def download(self, request, pk=None):
        proof = self.get_object()
        return stream(proof.file, filename=proof.original_name, content_type=proof.content_type)
