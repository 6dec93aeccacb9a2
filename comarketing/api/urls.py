"""The co-marketing API, mounted under /api/v1/ next to the core's routes (partnerhub/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from comarketing.api.views import (
    AssetDownloadViewSet,
    AssetViewSet,
    CampaignOptInViewSet,
    CampaignViewSet,
    ClaimProofViewSet,
    CobrandedFileViewSet,
    FundAllocationViewSet,
    FundClaimViewSet,
    FundProgramViewSet,
    FundRequestViewSet,
)

# SimpleRouter: the core's DefaultRouter already answers /api/v1/ with the API root.
router = SimpleRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("cobranded-files", CobrandedFileViewSet, basename="cobranded-file")
router.register("asset-downloads", AssetDownloadViewSet, basename="asset-download")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("campaign-opt-ins", CampaignOptInViewSet, basename="campaign-opt-in")
router.register("fund-programs", FundProgramViewSet, basename="fund-program")
router.register("fund-allocations", FundAllocationViewSet, basename="fund-allocation")
router.register("fund-requests", FundRequestViewSet, basename="fund-request")
router.register("fund-claims", FundClaimViewSet, basename="fund-claim")
router.register("claim-proofs", ClaimProofViewSet, basename="claim-proof")

urlpatterns = router.urls
