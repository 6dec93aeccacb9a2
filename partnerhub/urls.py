"""URL map: the partner portal at /, the vendor console at /console/, the API at /api/, health at /healthz."""

from django.conf import settings
from django.urls import include, path

from partnerhub.admin_site import console
from partnerhub.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("console/", console.urls),
    path("api/", include("partnerhub.api.urls")),
    path("", include("onboarding.urls")),
    path("", include("support.urls")),
    path("", include("comarketing.urls")),
    path("", include("partnerhub.portal_urls")),
]

if settings.PARTNERHUB_BENCH:
    # Benchmark-only endpoints (make bench); absent unless PARTNERHUB_BENCH is set.
    urlpatterns.insert(0, path("api/bench/", include("partnerhub.bench")))

handler400 = "partnerhub.views.errors.bad_request"
handler403 = "partnerhub.views.errors.permission_denied"
handler404 = "partnerhub.views.errors.page_not_found"
handler500 = "partnerhub.views.errors.server_error"
