"""The core API under /api/v1/, its OpenAPI schema at /api/schema/ and Swagger UI at /api/docs/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from partnerhub.api import schema  # noqa: F401  (registers the API key scheme with drf-spectacular)
from partnerhub.api.docs import SwaggerDocsView
from partnerhub.api.views import (
    ApiTokenViewSet,
    InvitationViewSet,
    MembershipViewSet,
    MeViewSet,
    PartnerViewSet,
    TierViewSet,
)

router = DefaultRouter()
router.register("partners", PartnerViewSet, basename="partner")
router.register("tiers", TierViewSet, basename="tier")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("me/tokens", ApiTokenViewSet, basename="me-token")

urlpatterns = [
    path("v1/me/", MeViewSet.as_view({"get": "retrieve"}), name="me"),
    path("v1/", include(router.urls)),
    path("v1/", include("onboarding.api.urls")),  # feature app routers, by dotted path (no import of the app)
    path("v1/", include("support.api.urls")),
    path("v1/", include("comarketing.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
]
