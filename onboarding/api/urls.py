"""The onboarding API, mounted under /api/v1/ next to the core's routes (partnerhub/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from onboarding.api.views import (
    AgreementAcceptanceViewSet,
    AgreementViewSet,
    ChecklistItemViewSet,
    OffboardingViewSet,
    PartnerApplicationViewSet,
    ProvisioningJobViewSet,
    WebhookDeliveryViewSet,
    WebhookEndpointViewSet,
)

# SimpleRouter: the core's DefaultRouter already answers /api/v1/ with the API root.
router = SimpleRouter()
router.register("applications", PartnerApplicationViewSet, basename="application")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("acceptances", AgreementAcceptanceViewSet, basename="agreement-acceptance")
router.register("checklist-items", ChecklistItemViewSet, basename="checklist-item")
router.register("jobs", ProvisioningJobViewSet, basename="provisioning-job")
router.register("offboarding", OffboardingViewSet, basename="offboarding")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
