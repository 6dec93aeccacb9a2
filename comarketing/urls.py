"""Co-marketing pages: the partner portal's asset library, campaigns and funds under /marketing/, and the vendor
marketing team's review pages under /marketing/review/."""

from django.urls import path

from comarketing import views

app_name = "comarketing"
urlpatterns = [
    # Partner portal: asset library and co-branded files
    path("marketing/assets/", views.asset_library, name="assets"),
    path("marketing/assets/<int:pk>/", views.asset, name="asset"),
    path("marketing/assets/<int:pk>/thumbnail/", views.asset_thumbnail, name="asset_thumbnail"),
    path("marketing/assets/<int:pk>/download/", views.asset_download, name="asset_download"),
    path("marketing/assets/<int:pk>/cobrand/", views.cobrand, name="cobrand"),
    path("marketing/cobranded/<int:pk>/", views.render_status, name="render"),
    path("marketing/cobranded/<int:pk>/file/", views.render_file, name="render_file"),
    # Partner portal: campaigns
    path("marketing/campaigns/", views.campaigns, name="campaigns"),
    path("marketing/campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("marketing/campaigns/<int:pk>/opt-in/", views.campaign_opt_in, name="campaign_opt_in"),
    # Partner portal: market development funds
    path("marketing/funds/", views.funds, name="funds"),
    path("marketing/funds/requests/new/", views.request_new, name="request_new"),
    path("marketing/funds/requests/<int:pk>/", views.fund_request, name="request"),
    path("marketing/funds/requests/<int:pk>/claim/", views.request_claim, name="request_claim"),
    path("marketing/funds/requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("marketing/funds/proofs/<int:pk>/", views.proof, name="proof"),
    # Vendor marketing team
    path("marketing/review/", views.review, name="review"),
    path("marketing/review/requests/<int:pk>/", views.review_request, name="review_request"),
    path("marketing/review/claims/<int:pk>/", views.review_claim, name="review_claim"),
    path("marketing/review/utilisation/", views.utilisation, name="utilisation"),
    path("marketing/review/campaigns/", views.review_campaigns, name="review_campaigns"),
    path("marketing/review/campaigns/<int:pk>/", views.campaign_report, name="campaign_report"),
]
