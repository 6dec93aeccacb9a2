"""Viewsets of the core API. Thin: each parses input, reads through the scoped base, calls one service.

Scoping lives in ``partnerhub.api.base``; the permission classes here add the rules the access layer does not
express alone (only vendor staff edit a partner's profile or status, partner admins and brand editors change a
brand, only people who may invite see the invitation form).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from partnerhub import access, selectors, services
from partnerhub.api.base import OwnRowsViewSet, ProgramDataViewSet, ScopedGenericViewSet, ScopedModelViewSet
from partnerhub.api.filtersets import InvitationFilterSet, MembershipFilterSet, PartnerFilterSet
from partnerhub.api.pagination import StableCursorPagination
from partnerhub.api.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    ConflictErrorResponseSerializer,
    EmptySerializer,
    InvitationSerializer,
    LogoUploadSerializer,
    MembershipSerializer,
    MeSerializer,
    PartnerBrandSerializer,
    PartnerCreateSerializer,
    PartnerSerializer,
    StatusChangeSerializer,
    TierSerializer,
)
from partnerhub.choices import MembershipRole
from partnerhub.models import ApiToken, Invitation, Membership, Partner, PartnerBrand, User

CONFLICT = OpenApiResponse(ConflictErrorResponseSerializer, description="The request clashes with the current state.")


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# Partners ------------------------------------------------------------------------------------------------------


class PartnerPermission(permissions.BasePermission):
    """Partner rules on top of the access layer.

    * Creating a partner: vendor staff holding ``partnerhub.add_partner``.
    * Editing the profile: vendor staff only (the access layer's "change" on a partner also covers partner
      admins, who administer their team, brand and keys but not the partner record).
    * Suspending and reactivating: vendor staff holding ``partnerhub.change_partner_status``.
    * Changing the brand: the partner's admins, or vendor staff holding ``partnerhub.change_partnerbrand``,
      for partners in their scope.
    """

    def has_permission(self, request, view):
        user = request.user
        if view.action == "create" and not (access.is_vendor_staff(user) and user.has_perm("partnerhub.add_partner")):
            raise PermissionDenied("Only vendor staff who may add partners can create one.")
        return True

    def has_object_permission(self, request, view, obj):
        user = request.user
        if view.action in ("update", "partial_update") and not access.is_vendor_staff(user):
            raise PermissionDenied(
                "A partner's profile is kept by vendor staff; ask your channel manager to change it."
            )
        if view.action in ("suspend", "reactivate") and not (
            access.is_vendor_staff(user) and user.has_perm("partnerhub.change_partner_status")
        ):
            raise PermissionDenied("Only vendor staff who manage partner status can suspend or reactivate a partner.")
        if view.action in ("brand", "brand_logo") and request.method not in permissions.SAFE_METHODS:
            # Staff edit brands through their model permission, partner admins through administering the partner.
            model = PartnerBrand if access.is_vendor_staff(user) else Partner
            if not access.partners_for(user, model, "change").filter(pk=obj.pk).exists():
                raise PermissionDenied("Only the partner's admins and vendor staff who edit brands can change it.")
        return True


@extend_schema_view(
    create=extend_schema(
        request=PartnerCreateSerializer, responses={201: PartnerSerializer, 409: CONFLICT}, summary="Create a partner"
    ),
    update=extend_schema(summary="Replace a partner's profile (vendor staff)"),
    partial_update=extend_schema(summary="Change a partner's profile (vendor staff)"),
)
class PartnerViewSet(
    ScopedGenericViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
):
    """Partner organisations in the caller's scope. Partners are never deleted through the API: offboard them."""

    base_queryset = Partner.objects.select_related("tier", "parent", "brand")
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet
    permission_classes = [permissions.IsAuthenticated, PartnerPermission]
    # Brand endpoints check their own rule (PartnerPermission); status actions need "change" in scope.
    action_access = {"brand": "view", "brand_logo": "view", "suspend": "change", "reactivate": "change"}

    def get_serializer_class(self):
        if self.action == "create":
            return PartnerCreateSerializer
        return PartnerSerializer

    def create_object(self, serializer):
        try:
            return services.partner_create(actor=self.request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            # Brand values that clash only at save time (a subdomain taken a moment ago).
            raise serializers.ValidationError(exc.message_dict) from None

    def update_object(self, serializer):
        return services.partner_update(
            actor=self.request.user, partner=serializer.instance, **serializer.validated_data
        )

    def _partner_response(self, partner: Partner) -> Response:
        partner = selectors.access_partner(user=self.request.user, pk=partner.pk)
        return Response(PartnerSerializer(partner, context=self.get_serializer_context()).data)

    @extend_schema(
        request=StatusChangeSerializer,
        responses={200: PartnerSerializer, 409: CONFLICT},
        summary="Suspend a partner",
        description="Every user and API key of the partner stops working at once. The reason is audited.",
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        partner = self.get_object()
        data = _validated(StatusChangeSerializer, request)
        partner = services.partner_suspend(actor=request.user, partner=partner, reason=data["reason"])
        return self._partner_response(partner)

    @extend_schema(
        request=StatusChangeSerializer,
        responses={200: PartnerSerializer, 409: CONFLICT},
        summary="Reactivate a suspended partner",
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        partner = self.get_object()
        data = _validated(StatusChangeSerializer, request)
        partner = services.partner_reactivate(actor=request.user, partner=partner, reason=data["reason"])
        return self._partner_response(partner)

    def _brand_of(self, partner: Partner) -> PartnerBrand:
        try:
            return partner.brand
        except ObjectDoesNotExist:
            raise NotFound("This partner has no brand yet.") from None

    def _brand_response(self, brand: PartnerBrand) -> Response:
        return Response(PartnerBrandSerializer(brand, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses=PartnerBrandSerializer, summary="A partner's brand")
    @extend_schema(
        methods=["PATCH"],
        request=PartnerBrandSerializer,
        responses={200: PartnerBrandSerializer, 409: CONFLICT},
        summary="Change a partner's brand (partner admins, brand editors)",
    )
    @action(detail=True, methods=["get", "patch"], url_path="brand", serializer_class=PartnerBrandSerializer)
    def brand(self, request, pk=None):
        brand = self._brand_of(self.get_object())
        if request.method == "GET":
            return self._brand_response(brand)
        data = _validated(PartnerBrandSerializer, request, instance=brand, partial=True)
        brand = services.brand_update(actor=request.user, brand=brand, **data)
        return self._brand_response(brand)

    @extend_schema(
        methods=["PUT"],
        request={"multipart/form-data": LogoUploadSerializer},
        responses=PartnerBrandSerializer,
        summary="Upload a partner's logo",
        description="Multipart upload in the field `logo`. The image is checked by content and re-encoded as PNG.",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={200: PartnerBrandSerializer}, summary="Remove the logo")
    @action(
        detail=True,
        methods=["put", "delete"],
        url_path="brand/logo",
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=LogoUploadSerializer,
    )
    def brand_logo(self, request, pk=None):
        brand = self._brand_of(self.get_object())
        if request.method == "DELETE":
            brand = services.brand_update(actor=request.user, brand=brand, remove_logo=True)
        else:
            data = _validated(LogoUploadSerializer, request)
            brand = services.brand_update(actor=request.user, brand=brand, logo=data["logo"])
        return self._brand_response(brand)


# Tiers ---------------------------------------------------------------------------------------------------------


class TierPagination(StableCursorPagination):
    ordering = "rank"  # unique


@extend_schema_view(destroy=extend_schema(responses={204: None, 409: CONFLICT}))
class TierViewSet(ProgramDataViewSet):
    """Levels of the partner program: every signed-in user reads them; vendor staff with the tier model
    permissions write them."""

    base_queryset = selectors.tier_list()
    serializer_class = TierSerializer
    pagination_class = TierPagination

    def create_object(self, serializer):
        return services.tier_create(actor=self.request.user, **serializer.validated_data)

    def update_object(self, serializer):
        return services.tier_update(actor=self.request.user, tier=serializer.instance, **serializer.validated_data)

    def destroy_object(self, instance):
        services.tier_delete(actor=self.request.user, tier=instance)


# Memberships ---------------------------------------------------------------------------------------------------


@extend_schema_view(
    update=extend_schema(responses={200: MembershipSerializer, 409: CONFLICT}),
    partial_update=extend_schema(responses={200: MembershipSerializer, 409: CONFLICT}),
    destroy=extend_schema(
        responses={204: None, 409: CONFLICT},
        summary="Deactivate a membership",
        description="The row stays for the audit trail; every grant of the person in this partner stops.",
    ),
)
class MembershipViewSet(ScopedModelViewSet):
    """People in the caller's partners. Nobody is added here: people join through invitations."""

    base_queryset = Membership.objects.select_related("user", "partner")
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]
    # DELETE deactivates, exactly like PATCH {"is_active": false}, so it needs the same "change" right.
    action_access = {"destroy": "change"}

    def update_object(self, serializer):
        return services.membership_update(
            actor=self.request.user, membership=serializer.instance, **serializer.validated_data
        )

    def destroy_object(self, instance):
        services.membership_deactivate(actor=self.request.user, membership=instance)


# Invitations ---------------------------------------------------------------------------------------------------


class InvitationPermission(permissions.BasePermission):
    """Only people who may invite to at least one partner reach the form; which partner is checked by the
    ``partner`` field, where another partner's id reads like a missing one."""

    def has_permission(self, request, view):
        if view.action == "create" and not access.partners_for(request.user, Invitation, "add").exists():
            raise PermissionDenied("Only partner admins and the partner's channel managers can invite people.")
        return True


@extend_schema_view(create=extend_schema(responses={201: InvitationSerializer, 409: CONFLICT}))
class InvitationViewSet(ScopedModelViewSet):
    """Invitations of the caller's partners (partner admins and vendor staff in scope)."""

    base_queryset = Invitation.objects.select_related("partner", "invited_by")
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilterSet
    permission_classes = [permissions.IsAuthenticated, InvitationPermission]
    http_method_names = ["get", "post", "head", "options"]

    def create_object(self, serializer):
        data = serializer.validated_data
        return services.invitation_create(
            actor=self.request.user,
            partner=data["partner"],
            email=data["email"],
            role=data.get("role", MembershipRole.REP),
        )

    @extend_schema(request=None, responses={200: InvitationSerializer, 409: CONFLICT}, summary="Withdraw an invitation")
    @action(detail=True, methods=["post"], serializer_class=EmptySerializer)
    def revoke(self, request, pk=None):
        invitation = self.get_object()
        _validated(EmptySerializer, request)
        invitation = services.invitation_revoke(actor=request.user, invitation=invitation)
        invitation = selectors.access_invitation(user=request.user, pk=invitation.pk)
        return Response(InvitationSerializer(invitation, context=self.get_serializer_context()).data)


# The caller ----------------------------------------------------------------------------------------------------


class MeViewSet(OwnRowsViewSet):
    """The signed-in user: their memberships (with partner and brand) and vendor staff roles."""

    base_queryset = User.objects.all()
    owner_field = "pk"
    serializer_class = MeSerializer

    @extend_schema(summary="The signed-in user")
    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)


class ApiTokenPagination(StableCursorPagination):
    # Newest first; the key's digest breaks ties between keys created in the same microsecond.
    ordering = ("-created", "-digest")


@extend_schema_view(
    list=extend_schema(summary="My API keys"),
    create=extend_schema(
        summary="Create an API key (shown once)", responses={201: ApiTokenCreateSerializer, 409: CONFLICT}
    ),
    destroy=extend_schema(summary="Revoke an API key"),
)
class ApiTokenViewSet(OwnRowsViewSet, mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin):
    """The caller's own API keys. Only a hash is stored; the key is in the create response and nowhere else."""

    base_queryset = ApiToken.objects.all()
    owner_field = "user"
    lookup_field = "token_key"
    lookup_value_regex = r"[A-Za-z0-9_]{4,25}"
    pagination_class = ApiTokenPagination

    def get_serializer_class(self):
        return ApiTokenCreateSerializer if self.action == "create" else ApiTokenSerializer

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # the key must not linger in caches
        return response

    def create_object(self, serializer):
        data = serializer.validated_data
        row, key = services.api_token_create(
            actor=self.request.user, user=self.request.user, name=data["name"], expires_in_days=data["expires_in_days"]
        )
        row.key = key
        return row

    def destroy_object(self, instance):
        services.api_token_revoke(actor=self.request.user, token=instance)
