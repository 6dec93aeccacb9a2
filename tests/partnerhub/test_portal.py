"""The portal pages: home, team management, partner switching, API keys, logos, CSRF and who may do what."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from partnerhub import portal, services
from partnerhub.choices import MembershipRole
from partnerhub.middleware import ACTIVE_PARTNER_SESSION_KEY
from partnerhub.models import ApiToken, Invitation, Membership
from tests.factories import TierFactory, make_member, make_partner

pytestmark = pytest.mark.django_db


def client_as(user, **defaults) -> Client:
    client = Client(**defaults)
    client.force_login(user)
    return client


def membership(user, partner) -> Membership:
    return Membership.objects.get(user=user, partner=partner)


def png_bytes(size=(40, 20), colour=(200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG")
    return out.getvalue()


# Who gets in ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/team/", "/settings/brand/", "/settings/api-keys/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", ["/", "/team/", "/settings/brand/", "/settings/api-keys/"])
def test_staff_are_sent_to_the_console(manager_a, superuser, path):
    for staff in (manager_a, superuser):
        response = client_as(staff).get(path)
        assert response.status_code == 302
        assert response["Location"] == "/console/"


def test_reps_cannot_open_brand_settings(rep_a):
    response = client_as(rep_a).get("/settings/brand/")
    assert response.status_code == 403
    assert "Only partner admins can do this" in response.text


def test_reps_manage_their_own_api_keys(rep_a, admin_a):
    client = client_as(rep_a)
    page = client.get("/settings/api-keys/")
    assert page.status_code == 200
    assert "/settings/brand/" not in page.text  # the brand tab is for partner admins only
    response = client.post("/settings/api-keys/", {"name": "Rep CRM", "expires_in_days": "30"})
    assert response.status_code == 201
    assert ApiToken.objects.get(user=rep_a).name == "Rep CRM"
    assert not ApiToken.objects.filter(user=admin_a).exists()


# Home ----------------------------------------------------------------------------------------------------------


def test_home_shows_partner_status_tier_team_and_next_steps(partner_a, admin_a, rep_a, manager_a):
    tier = TierFactory(name="Gold", benefits="Deal registration protection\nMDF up to 5%")
    services.partner_update(actor=None, partner=partner_a, tier=tier)
    response = client_as(admin_a).get("/")
    assert response.status_code == 200
    text = response.text
    assert '<h1 id="hero-title">Acme Resellers</h1>' in text
    assert 'class="badge badge--active"' in text
    assert "Gold tier" in text
    assert "Deal registration protection" in text and "MDF up to 5%" in text
    assert f">{rep_a.initials}</span>" in text  # avatar with initials
    assert manager_a.email in text  # the channel manager to contact
    # The core's next steps, for an admin of a fresh partner.
    for title in ("Upload your logo", "Set your support contacts", "Connect your CRM"):
        assert title in text
    assert "Invite your team" in text
    assert "1 of 4 done" in text  # not alone any more: the team step is done


def test_home_next_steps_follow_the_partner_state(partner_a, admin_a):
    response = client_as(admin_a).get("/")
    assert "0 of 4 done" in response.text  # alone, no logo, no contacts, no key
    services.brand_update(
        actor=admin_a,
        brand=partner_a.brand,
        support_email="help@acme.example",
        logo=SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png"),
    )
    services.api_token_create(actor=admin_a, user=admin_a, name="CRM")
    response = client_as(admin_a).get("/")
    assert "3 of 4 done" in response.text


def test_an_integration_account_is_not_a_teammate_on_the_home_page(partner_a, admin_a):
    robot = make_member(partner_a, first_name="Acme", last_name="integration")
    robot.set_unusable_password()
    robot.save(update_fields=["password"])
    text = client_as(admin_a).get("/").text
    assert "0 of 4 done" in text  # inviting the team is still to do
    assert '<div class="stat__value">1</div><div class="stat__label">Team member</div>' in text
    assert f">{robot.initials}</span>" not in text
    team = client_as(admin_a).get(reverse("portal:team")).text
    assert robot.email in team  # the team page still lists it, so an admin can remove it


def test_reps_get_no_admin_next_steps(partner_a, admin_a, rep_a):
    response = client_as(rep_a).get("/")
    assert response.status_code == 200
    assert "Upload your logo" not in response.text
    assert "Welcome to your partner portal" in response.text
    assert reverse("portal:settings_brand") not in response.text  # no admin navigation


def test_feature_apps_add_next_steps_and_panels_and_a_broken_one_is_skipped(partner_a, rep_a):
    seen = []

    def deals_step(request, partner):
        seen.append(partner.pk)
        return [
            portal.NextStep(
                key="deals.first",
                title="Register your first deal",
                description="Protect it.",
                url="/deals/new/",
                action_label="Register deal",
                order=1,
            )
        ]

    def broken(request, partner):
        raise RuntimeError("feature app bug")

    def panel(request, partner):
        return [
            portal.HomePanel(
                key="tests.queue", title="Queue from a feature app", template="partials/messages.html", order=1
            )
        ]

    portal.register_next_step(deals_step)
    portal.register_next_step(broken)
    try:
        response = client_as(rep_a).get("/")
    finally:
        portal.unregister(deals_step)
        portal.unregister(broken)
    assert response.status_code == 200
    assert "Register your first deal" in response.text
    assert seen == [partner_a.pk]

    portal.register_home_panel(panel)
    try:
        response = client_as(rep_a).get("/")
    finally:
        portal.unregister(panel)
    assert '<h2 id="panel-1">Queue from a feature app</h2>' in response.text
    assert "Queue from a feature app" not in client_as(rep_a).get("/").text


# Team ----------------------------------------------------------------------------------------------------------


def test_reps_see_the_team_read_only(admin_a, rep_a):
    response = client_as(rep_a).get("/team/")
    assert response.status_code == 200
    assert admin_a.email in response.text
    assert "Invite a colleague" not in response.text
    assert reverse("portal:member_role", args=[membership(admin_a, admin_a.memberships.get().partner).pk]) not in (
        response.text
    )


def test_admin_invites_a_colleague(partner_a, admin_a):
    client = client_as(admin_a)
    response = client.post("/team/invite/", {"email": "New.Rep@Example.com", "role": "rep"})
    assert response.status_code == 302
    invitation = Invitation.objects.get(partner=partner_a)
    assert invitation.email == "new.rep@example.com"
    assert invitation.invited_by == admin_a
    page = client.get("/team/")
    assert "new.rep@example.com" in page.text
    assert "Invitation sent to new.rep@example.com" in page.text


def test_invite_errors_are_form_errors_not_500s(partner_a, admin_a, rep_a):
    client = client_as(admin_a)
    bad = client.post("/team/invite/", {"email": "not-an-address", "role": "rep"})
    assert bad.status_code == 400
    assert "Enter a valid email address" in bad.text
    taken = client.post("/team/invite/", {"email": rep_a.email, "role": "rep"})
    assert taken.status_code == 409
    assert "already a member" in taken.text
    wrong_role = client.post("/team/invite/", {"email": "x@example.com", "role": "owner"})
    assert wrong_role.status_code == 400
    assert not Invitation.objects.exists()


def test_team_actions_answer_htmx_with_the_panel(partner_a, admin_a, rep_a):
    client = client_as(admin_a)
    response = client.post("/team/invite/", {"email": "hx@example.com", "role": "rep"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["X-Portal-Fragment"] == "1"
    assert response.text.lstrip().startswith('<div id="team-panel"')
    assert 'hx-swap-oob="innerHTML"' in response.text
    assert "Invitation sent to hx@example.com" in response.text
    error = client.post("/team/invite/", {"email": "hx@example.com", "role": "rep"}, HTTP_HX_REQUEST="true")
    assert error.status_code == 409
    assert error["X-Portal-Fragment"] == "1"
    assert "already has an open invitation" in error.text


def test_admin_changes_a_role_and_removes_a_member(partner_a, admin_a, rep_a):
    client = client_as(admin_a)
    target = membership(rep_a, partner_a)
    response = client.post(reverse("portal:member_role", args=[target.pk]), {"role": "admin"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == MembershipRole.ADMIN

    response = client.post(reverse("portal:member_deactivate", args=[target.pk]))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    assert rep_a.email not in client.get("/team/").text


def test_last_admin_cannot_be_demoted_or_removed(partner_a, admin_a, rep_a):
    client = client_as(admin_a)
    own = membership(admin_a, partner_a)
    response = client.post(reverse("portal:member_role", args=[own.pk]), {"role": "rep"})
    assert response.status_code == 409
    assert "at least one active partner admin" in response.text
    own.refresh_from_db()
    assert own.role == MembershipRole.ADMIN

    response = client.post(reverse("portal:member_deactivate", args=[own.pk]))
    assert response.status_code == 403
    assert "You cannot deactivate yourself" in response.text
    own.refresh_from_db()
    assert own.is_active


def test_a_rep_cannot_manage_the_team(partner_a, admin_a, rep_a):
    client = client_as(rep_a)
    admin_membership = membership(admin_a, partner_a)
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="p@example.com")
    attempts = [
        ("/team/invite/", {"email": "sneaky@example.com", "role": "admin"}),
        (reverse("portal:member_role", args=[admin_membership.pk]), {"role": "rep"}),
        (reverse("portal:member_deactivate", args=[admin_membership.pk]), {}),
        (reverse("portal:invitation_revoke", args=[invitation.pk]), {}),
    ]
    for url, data in attempts:
        response = client.post(url, data)
        assert response.status_code == 403, url
    admin_membership.refresh_from_db()
    assert admin_membership.role == MembershipRole.ADMIN and admin_membership.is_active
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert not Invitation.objects.filter(email="sneaky@example.com").exists()


def test_admin_of_b_cannot_touch_a_memberships_or_invitations(partner_a, admin_a, rep_a, admin_b):
    client = client_as(admin_b)
    target = membership(rep_a, partner_a)
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="p@example.com")
    for url, data in [
        (reverse("portal:member_role", args=[target.pk]), {"role": "admin"}),
        (reverse("portal:member_deactivate", args=[target.pk]), {}),
        (reverse("portal:invitation_revoke", args=[invitation.pk]), {}),
        (reverse("portal:member_role", args=[999999]), {"role": "admin"}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 404, url
        assert rep_a.email not in response.text
    target.refresh_from_db()
    assert target.role == MembershipRole.REP and target.is_active
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert rep_a.email not in client.get("/team/").text


def test_admin_withdraws_an_invitation(partner_a, admin_a):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="p@example.com")
    response = client_as(admin_a).post(reverse("portal:invitation_revoke", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


# Partner switching ---------------------------------------------------------------------------------------------


def test_switching_between_partners(partner_a, partner_b, admin_a, rep_a, admin_b):
    services.membership_add(actor=None, partner=partner_b, user=rep_a, role=MembershipRole.REP)
    client = client_as(rep_a)
    home = client.get("/")
    assert '<h1 id="hero-title">Acme Resellers</h1>' in home.text
    assert "Work for" in home.text  # the switcher, since rep_a belongs to two partners

    response = client.post("/switch/", {"partner": partner_b.pk, "next": "/team/"})
    assert response.status_code == 302
    assert response["Location"] == "/team/"
    assert client.session[ACTIVE_PARTNER_SESSION_KEY] == partner_b.pk
    team = client.get("/team/")
    assert admin_b.email in team.text
    assert admin_a.email not in team.text

    outsider = make_partner("Crest Referral")
    assert client.post("/switch/", {"partner": outsider.pk}).status_code == 404
    assert client.post("/switch/", {"partner": "x"}).status_code == 404
    assert client.session[ACTIVE_PARTNER_SESSION_KEY] == partner_b.pk
    assert client.post("/switch/", {"partner": partner_b.pk, "next": "https://evil.example/"})["Location"] == "/"


def test_single_partner_users_get_no_switcher(rep_a):
    assert "Work for" not in client_as(rep_a).get("/").text


def test_switch_is_post_only(rep_a, partner_a):
    assert client_as(rep_a).get("/switch/").status_code == 405


# API keys ------------------------------------------------------------------------------------------------------


def test_api_key_is_shown_once_and_revoke_works(admin_a):
    client = client_as(admin_a)
    response = client.post("/settings/api-keys/", {"name": "CRM sync", "expires_in_days": "90"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=admin_a)
    assert token.name == "CRM sync"
    key = response.context["created"]["key"]
    assert key.startswith(token.token_key)
    assert key in response.text

    listing = client.get("/settings/api-keys/")
    assert "CRM sync" in listing.text
    assert token.token_key in listing.text
    assert key not in listing.text  # never shown again

    response = client.post(reverse("portal:api_key_revoke", args=[token.token_key]))
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=admin_a).exists()


def test_api_key_form_errors(admin_a):
    client = client_as(admin_a)
    response = client.post("/settings/api-keys/", {"name": "", "expires_in_days": "90"})
    assert response.status_code == 400
    response = client.post("/settings/api-keys/", {"name": "Forever", "expires_in_days": "100000"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_elses_key(admin_a, admin_b):
    token, _ = services.api_token_create(actor=admin_b, user=admin_b, name="B's CRM")
    response = client_as(admin_a).post(reverse("portal:api_key_revoke", args=[token.token_key]))
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


# Logos ---------------------------------------------------------------------------------------------------------


def test_logo_view_serves_png_with_nosniff_and_long_cache(client, partner_a):
    brand = services.brand_update(
        actor=None, brand=partner_a.brand, logo=SimpleUploadedFile("l.png", png_bytes(), content_type="image/png")
    )
    url = reverse("brand_logo", args=[brand.subdomain])
    response = client.get(f"{url}?v={brand.version}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    # An old or missing version is cached briefly only.
    assert "immutable" not in client.get(f"{url}?v=0")["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    # The login page of that partner's host shows it.
    login_page = client.get("/accounts/login/", HTTP_HOST="acme-resellers.localhost")
    assert f"{url}?v={brand.version}" in login_page.text


def test_logo_view_answers_404_without_a_logo(client, partner_a):
    assert client.get(reverse("brand_logo", args=[partner_a.brand.subdomain])).status_code == 404
    assert client.get(reverse("brand_logo", args=["no-such-partner"])).status_code == 404


# CSRF ----------------------------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_every_state_changing_portal_form(partner_a, partner_b, admin_a, rep_a):
    services.membership_add(actor=None, partner=partner_b, user=admin_a, role=MembershipRole.REP)
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="p@example.com")
    token, _ = services.api_token_create(actor=admin_a, user=admin_a, name="CRM")
    target = membership(rep_a, partner_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    posts = [
        ("/team/invite/", {"email": "csrf@example.com", "role": "rep"}),
        (reverse("portal:member_role", args=[target.pk]), {"role": "admin"}),
        (reverse("portal:member_deactivate", args=[target.pk]), {}),
        (reverse("portal:invitation_revoke", args=[invitation.pk]), {}),
        ("/switch/", {"partner": partner_b.pk}),
        ("/settings/brand/", {"display_name": "Hacked", "primary_color": "#000000", "accent_color": "#000000"}),
        ("/settings/api-keys/", {"name": "Hacked", "expires_in_days": "30"}),
        (reverse("portal:api_key_revoke", args=[token.token_key]), {}),
        ("/accounts/logout/", {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "Your form expired" in response.text
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/accounts/login/", {"username": "alice", "password": "x"}).status_code == 403
    assert anonymous.post("/accounts/password-reset/", {"email": admin_a.email}).status_code == 403
    invite_url = reverse("invitation_accept", args=[services.invitation_token(invitation)])
    assert anonymous.post(invite_url, {}).status_code == 403

    target.refresh_from_db()
    assert target.role == MembershipRole.REP and target.is_active
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert ApiToken.objects.filter(user=admin_a).count() == 1
    partner_a.brand.refresh_from_db()
    assert partner_a.brand.display_name == "Acme Resellers"
    assert client.session.get("_auth_user_id") == str(admin_a.pk)


def test_pages_send_the_csrf_token_for_htmx_and_strict_csp(admin_a):
    response = client_as(admin_a).get("/team/")
    assert 'hx-headers=\'{"X-CSRFToken": "' in response.text
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp
    assert ' style="' not in response.text  # no inline style attributes
    assert "<script>" not in response.text  # no inline scripts
    assert '"allowEval":false' in response.text


def test_team_of_another_member_partner_stays_separate(partner_a, admin_a):
    other = make_partner("Delta Systems")
    stranger = make_member(other, MembershipRole.ADMIN, username="dora")
    response = client_as(admin_a).get("/team/")
    assert stranger.email not in response.text


# Error pages ---------------------------------------------------------------------------------------------------


def test_error_pages_are_branded_and_the_500_page_needs_no_context(client, partner_a, rep_a):
    from django.template.loader import render_to_string

    page = render_to_string("errors/500.html", {})  # no request, no brand, no user: still renders
    assert "Something went wrong on our side" in page
    assert "<style" not in page and "<script" not in page

    client.force_login(rep_a)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.text
    assert "Acme Resellers" in response.text  # the signed-in partner's brand

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Your form expired" in response.text
    assert 'href="/accounts/login/"' in response.text
