"""The support API, mounted under /api/v1/ next to the core's routes (partnerhub/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from support.api.views import (
    ArticleViewSet,
    BusinessHoursViewSet,
    CategoryViewSet,
    CustomerViewSet,
    PartnerMetricsViewSet,
    SlaPolicyViewSet,
    TicketViewSet,
)

# SimpleRouter: the core's DefaultRouter already answers /api/v1/ with the API root.
router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("customers", CustomerViewSet, basename="customer")
router.register("articles", ArticleViewSet, basename="article")
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("business-hours", BusinessHoursViewSet, basename="business-hours")
router.register("categories", CategoryViewSet, basename="category")
router.register("metrics/partners", PartnerMetricsViewSet, basename="partner-metrics")

urlpatterns = router.urls
