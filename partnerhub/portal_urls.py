"""URL map of the partner portal: sign-in and password reset, invitations, public logos, and the portal itself."""

from django.urls import include, path

from partnerhub.views import auth, brand_assets, invitations, portal, team
from partnerhub.views import settings as settings_views

portal_patterns = [
    path("", portal.home, name="home"),
    path("switch/", portal.switch_partner, name="switch"),
    path("team/", team.team, name="team"),
    path("team/invite/", team.invite, name="team_invite"),
    path("team/members/<int:pk>/role/", team.member_role, name="member_role"),
    path("team/members/<int:pk>/deactivate/", team.member_deactivate, name="member_deactivate"),
    path("team/invitations/<int:pk>/revoke/", team.invitation_revoke, name="invitation_revoke"),
    path("settings/brand/", settings_views.brand, name="settings_brand"),
    path("settings/api-keys/", settings_views.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key>/revoke/", settings_views.api_key_revoke, name="api_key_revoke"),
]

urlpatterns = [
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password-reset/done/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("invite/<str:token>/", invitations.accept, name="invitation_accept"),
    path("brand/<slug:subdomain>/logo.png", brand_assets.logo, name="brand_logo"),
    path("", include((portal_patterns, "portal"))),
]
