"""Sign-in, sign-out, lockout, password reset, invitations and the host's brand on the sign-in page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerhub import services
from partnerhub.choices import MembershipRole
from partnerhub.middleware import ACTIVE_PARTNER_SESSION_KEY
from partnerhub.models import Invitation, Membership, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ACME_HOST = "acme-resellers.localhost"


def signed_in_user_id(client: Client):
    return client.session.get("_auth_user_id")


def login(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


# Sign-in and sign-out ------------------------------------------------------------------------------------------


def test_login_page_labels_the_identifier_field(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'for="id_username">Email or username' in response.text
    assert 'autocomplete="current-password"' in response.text


def test_login_by_email(client, admin_a):
    response = login(client, "ALICE@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert signed_in_user_id(client) == str(admin_a.pk)


def test_login_by_username(client, rep_a):
    response = login(client, "arnold")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(rep_a.pk)
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, rep_a):
    response = login(client, "arnold", "not-the-password")
    assert response.status_code == 200
    assert "is not right" in response.text
    assert signed_in_user_id(client) is None


def test_logout_is_post_only(client, rep_a):
    client.force_login(rep_a)
    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_user_id(client) == str(rep_a.pk)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[0][0] == LOGIN
    assert "You have signed out." in response.text
    assert signed_in_user_id(client) is None


def test_lockout_after_five_failed_logins_shows_the_locked_page(client, rep_a):
    for _ in range(4):
        response = login(client, "arnold", "wrong-guess")
        assert response.status_code == 200
        assert "is not right" in response.text
    response = login(client, "arnold", "wrong-guess")
    assert response.status_code == 429
    assert "Sign-in paused" in response.text
    assert "5 failed sign-in attempts" in response.text
    # Even the right password is refused while locked out, and gives nothing away.
    response = login(client, "arnold")
    assert response.status_code == 429
    assert "suspended" not in response.text
    assert signed_in_user_id(client) is None


def test_staff_signing_in_land_in_the_console(client, manager_a):
    response = login(client, manager_a.username)
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    # And the portal sends them there too.
    assert client.get("/team/")["Location"] == "/console/"


# Partner hosts -------------------------------------------------------------------------------------------------


def test_login_page_on_a_partner_host_wears_that_partner_brand(client, partner_a, partner_b):
    services.brand_update(
        actor=None,
        brand=partner_a.brand,
        display_name="Acme Partner Network",
        primary_color="#aa3300",
        accent_color="#ffcc00",
    )
    response = client.get(LOGIN, HTTP_HOST=ACME_HOST)
    assert response.status_code == 200
    assert "Acme Partner Network" in response.text
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    style = re.search(r'<style nonce="([^"]+)">(.*?)</style>', response.text, re.S)
    assert style.group(1) == nonce
    assert "--brand-primary:#aa3300" in style.group(2)
    assert "--brand-accent:#ffcc00" in style.group(2)
    assert "--brand-on-accent:#111827" in style.group(2)  # dark text on a light accent
    assert "Bolt Distribution" not in response.text

    vendor = client.get(LOGIN)
    assert "Acme Partner Network" not in vendor.text
    assert "PartnerHub" in vendor.text


def test_user_of_b_cannot_sign_in_on_a_host(client, partner_a, admin_b):
    response = login(client, "bella", HTTP_HOST=ACME_HOST)
    assert response.status_code == 200
    assert "does not belong to this partner portal" in response.text
    assert signed_in_user_id(client) is None


def test_member_of_a_signs_in_on_a_host(client, admin_a):
    response = login(client, "alice", HTTP_HOST=ACME_HOST)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(admin_a.pk)


def test_signed_in_user_of_b_on_a_host_gets_403_without_a_data(client, admin_a, rep_a, admin_b):
    client.force_login(admin_b)
    for path in ("/", "/team/", "/settings/brand/", "/settings/api-keys/"):
        response = client.get(path, HTTP_HOST=ACME_HOST)
        assert response.status_code == 403, path
        assert "does not belong to this partner portal" in response.text
        for secret in (admin_a.email, rep_a.email, "arnold"):
            assert secret not in response.text


# Suspended partners --------------------------------------------------------------------------------------------


def test_suspended_partner_user_cannot_sign_in(client, partner_a, rep_a):
    services.partner_suspend(actor=None, partner=partner_a, reason="Unpaid invoices")
    response = login(client, "arnold")
    assert response.status_code == 200
    assert "portal access is suspended" in response.text
    assert signed_in_user_id(client) is None
    # A wrong password never reveals the suspension.
    response = login(client, "arnold", "wrong-guess")
    assert "suspended" not in response.text


def test_suspension_ends_an_existing_session(client, partner_a, rep_a):
    client.force_login(rep_a)
    assert client.get("/").status_code == 200
    services.partner_suspend(actor=None, partner=partner_a, reason="Contract ended")
    response = client.get("/team/", follow=True)
    assert response.redirect_chain[0] == (LOGIN, 302)
    assert "portal access is suspended" in response.text
    assert signed_in_user_id(client) is None


# Password reset ------------------------------------------------------------------------------------------------


def test_password_reset_email_link_sets_a_new_password(client, partner_a, rep_a):
    response = client.post("/accounts/password-reset/", {"email": rep_a.email.upper()}, HTTP_HOST=ACME_HOST)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [rep_a.email]
    assert "Acme Resellers" in message.subject  # branded with the host's partner
    html = message.alternatives[0][0]
    assert "Acme Resellers" in html
    link = re.search(r"http://acme-resellers\.localhost/accounts/password-reset/[^/\s]+/[^/\s]+/", message.body)
    assert link, message.body

    new_password = "a-brand-new-passphrase-42"
    confirm = client.get(link.group(0), HTTP_HOST=ACME_HOST)
    assert confirm.status_code == 302  # Django moves the token out of the URL
    form_page = client.get(confirm["Location"], HTTP_HOST=ACME_HOST)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.text
    done = client.post(
        confirm["Location"], {"new_password1": new_password, "new_password2": new_password}, HTTP_HOST=ACME_HOST
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    rep_a.refresh_from_db()
    assert rep_a.check_password(new_password)
    assert login(Client(), "arnold", new_password).status_code == 302
    # The link works once.
    assert "This link no longer works" in client.get(link.group(0), follow=True).text


def test_password_reset_for_unknown_address_looks_the_same(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# Invitations ---------------------------------------------------------------------------------------------------


def invite(partner, admin, email, role=MembershipRole.REP):
    invitation = services.invitation_create(actor=admin, partner=partner, email=email, role=role)
    return invitation, reverse("invitation_accept", args=[services.invitation_token(invitation)])


def test_invitation_creates_a_new_account(client, partner_a, admin_a):
    invitation, url = invite(partner_a, admin_a, "newbie@example.com")
    page = client.get(url)
    assert page.status_code == 200
    assert "Acme Resellers" in page.text
    assert "newbie@example.com" in page.text

    weak = client.post(url, {"first_name": "Nia", "last_name": "Ng", "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    assert not User.objects.filter(email="newbie@example.com").exists()

    password = "river-stone-lantern-7"
    response = client.post(url, {"first_name": "Nia", "last_name": "Ng", "password1": password, "password2": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    user = User.objects.get(email="newbie@example.com")
    assert user.check_password(password)
    assert Membership.objects.get(user=user, partner=partner_a).role == MembershipRole.REP
    assert signed_in_user_id(client) == str(user.pk)
    assert "Welcome to Acme Resellers" in client.get("/").text
    invitation.refresh_from_db()
    assert invitation.accepted_by == user


def test_invitation_accepted_by_existing_signed_in_account(client, partner_a, admin_a, rep_b):
    _, url = invite(partner_a, admin_a, rep_b.email, role=MembershipRole.ADMIN)
    client.force_login(rep_b)
    page = client.get(url)
    assert "Join Acme Resellers" in page.text
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.get(user=rep_b, partner=partner_a).role == MembershipRole.ADMIN
    assert client.session[ACTIVE_PARTNER_SESSION_KEY] == partner_a.pk


def test_existing_account_must_sign_in_first(client, partner_a, admin_a, rep_b):
    _, url = invite(partner_a, admin_a, rep_b.email)
    password = "river-stone-lantern-7"
    response = client.post(url, {"first_name": "B", "last_name": "B", "password1": password, "password2": password})
    assert response.status_code == 400
    assert "sign in first" in response.text
    assert not Membership.objects.filter(user=rep_b, partner=partner_a).exists()


def test_expired_invitation(client, partner_a, admin_a):
    invitation, url = invite(partner_a, admin_a, "late@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get(url)
    assert response.status_code == 410
    assert "Invitation expired" in response.text
    password = "river-stone-lantern-7"
    client.post(url, {"first_name": "L", "last_name": "L", "password1": password, "password2": password})
    assert not User.objects.filter(email="late@example.com").exists()


def test_used_invitation(client, partner_a, admin_a, rep_b):
    _, url = invite(partner_a, admin_a, rep_b.email)
    client.force_login(rep_b)
    assert client.post(url).status_code == 302
    again = client.get(url)
    assert again.status_code == 410
    assert "already used" in again.text


def test_revoked_invitation(client, partner_a, admin_a):
    invitation, url = invite(partner_a, admin_a, "gone@example.com")
    services.invitation_revoke(actor=admin_a, invitation=invitation)
    response = client.get(url)
    assert response.status_code == 410
    assert "withdrawn" in response.text


def test_tampered_invitation_link(client):
    response = client.get(reverse("invitation_accept", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "not valid" in response.text


def test_invitation_for_someone_else_is_refused_to_the_signed_in_user(client, partner_a, admin_a, rep_b):
    _, url = invite(partner_a, admin_a, "someone.else@example.com")
    client.force_login(rep_b)
    page = client.get(url)
    assert "You are signed in as" in page.text
    response = client.post(url)
    assert response.status_code == 403
    assert "This invitation is for someone.else@example.com" in response.text
    assert not Membership.objects.filter(user=rep_b, partner=partner_a).exists()
    assert Invitation.objects.get(email="someone.else@example.com").accepted_at is None


def test_invitation_email_is_branded_and_links_to_the_page(
    partner_a, admin_a, django_capture_on_commit_callbacks, time_machine
):
    # The token is signed with the time in seconds: the e-mail's and the test's must share that second.
    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        _, url = invite(partner_a, admin_a, "mail.me@example.com")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mail.me@example.com"]
    assert "Acme Resellers" in message.subject
    assert url in message.body
    assert "Accept invitation" in message.alternatives[0][0]


def test_staff_account_cannot_accept_an_invitation(client, partner_a, admin_a):
    _, url = invite(partner_a, admin_a, "sam@example.com")
    staff = UserFactory(username="sam", email="sam@example.com", is_staff=True)  # became staff after the invite
    client.force_login(staff)
    response = client.post(url)
    assert response.status_code == 400
    assert "Vendor staff cannot join" in response.text
    assert not Membership.objects.filter(user=staff).exists()


def test_person_of_b_invited_to_a_signs_in_on_a_host_to_accept(client, partner_a, admin_a, rep_b):
    _, url = invite(partner_a, admin_a, rep_b.email)
    response = client.post(
        f"{LOGIN}?next={url}", {"username": rep_b.email, "password": PASSWORD, "next": url}, HTTP_HOST=ACME_HOST
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.post(url, HTTP_HOST=ACME_HOST).status_code == 302
    assert Membership.objects.get(user=rep_b, partner=partner_a).is_active


def test_password_reset_on_a_host_mails_only_that_partners_people(client, partner_a, rep_a, rep_b):
    response = client.post("/accounts/password-reset/", {"email": rep_b.email}, HTTP_HOST=ACME_HOST)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")  # the same answer as for anyone
    assert mail.outbox == []
    client.post("/accounts/password-reset/", {"email": rep_b.email})
    assert len(mail.outbox) == 1  # on the vendor's own host the link is sent


def test_the_session_user_is_read_with_whether_a_partner_still_admits_them(partner_a, partner_b, admin_a, rep_a):
    # get_user reads "may this person still sign in" with the user, in one query; the answer must be the
    # same as asking the memberships directly, in every state.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerhub.auth_backends import PartnerAwareModelBackend
    from partnerhub.choices import SIGN_IN_STATUSES

    backend = PartnerAwareModelBackend()
    both = UserFactory(username="both")
    services.membership_add(actor=None, partner=partner_a, user=both, role=MembershipRole.REP)
    services.membership_add(actor=None, partner=partner_b, user=both, role=MembershipRole.REP)
    loner = UserFactory(username="loner")  # no membership at all
    staff = UserFactory(username="staffer", is_staff=True)

    def check():
        for user in (admin_a, rep_a, both, loner, staff):
            with CaptureQueriesContext(connection) as queries:
                read = backend.get_user(user.pk)
            admitting = Membership.objects.filter(user=user, is_active=True, partner__status__in=SIGN_IN_STATUSES)
            expected = user.is_staff or admitting.exists()
            assert (read is not None) == expected, user.username
            assert len(queries) == 1

    check()
    services.partner_suspend(actor=None, partner=partner_a, reason="Checks")
    check()  # admin_a and rep_a are out; both still has partner_b
    assert backend.get_user(both.pk) is not None and backend.get_user(rep_a.pk) is None
    Membership.objects.filter(user=both, partner=partner_b).update(is_active=False)
    check()
    assert backend.get_user(both.pk) is None
