"""Core services: partners, memberships, invitations, brands and keys, each leaving an audit record."""

import io

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image

from partnerhub import services
from partnerhub.choices import AuditAction, MembershipRole, PartnerStatus
from partnerhub.errors import ActionNotAllowed, ConflictError, DomainError
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, User
from tests.factories import UserFactory, make_member, make_partner

pytestmark = pytest.mark.django_db


def audit_actions(partner=None):
    qs = AuditEvent.objects.all() if partner is None else AuditEvent.objects.filter(partner=partner)
    return list(qs.order_by("id").values_list("action", flat=True))


def png_bytes(size=(40, 20), colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


class Upload(io.BytesIO):
    def __init__(self, data: bytes, name: str = "logo.png"):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def test_partner_create_makes_groups_grants_brand_and_audit():
    partner = services.partner_create(actor=None, name="Northwind Traders", partner_type="reseller")
    assert partner.slug == "northwind-traders"
    assert partner.status == PartnerStatus.PROSPECT
    assert partner.members_group.name == "partner:northwind-traders:members"
    assert partner.brand.subdomain == "northwind-traders"
    assert partner.brand.display_name == "Northwind Traders"
    assert audit_actions(partner) == [AuditAction.PARTNER_CREATED]
    second = services.partner_create(actor=None, name="Northwind Traders", partner_type="reseller")
    assert second.slug == "northwind-traders-2"
    assert second.brand.subdomain == "northwind-traders-2"


def test_partner_parent_must_be_distributor(partner_a):
    with pytest.raises(DomainError) as err:
        services.partner_create(actor=None, name="Child", partner_type="reseller", parent=partner_a)
    assert err.value.field == "parent"
    assert not Partner.objects.filter(name="Child").exists()


def test_tier_change_is_audited_separately(partner_a, partner_ops):
    from tests.factories import TierFactory

    gold = TierFactory(name="Gold")
    services.partner_update(actor=partner_ops, partner=partner_a, tier=gold, website="https://acme.example")
    actions = audit_actions(partner_a)
    assert AuditAction.PARTNER_TIER_CHANGED in actions
    assert AuditAction.PARTNER_UPDATED in actions
    event = AuditEvent.objects.get(action=AuditAction.PARTNER_TIER_CHANGED)
    assert event.changes == {"tier": [None, "Gold"]}
    assert event.actor == partner_ops


def test_suspend_and_reactivate_record_reason(partner_a, manager_a):
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Compliance review")
    partner_a.refresh_from_db()
    assert partner_a.status == PartnerStatus.SUSPENDED
    event = AuditEvent.objects.filter(action=AuditAction.PARTNER_STATUS_CHANGED).latest("id")
    assert event.reason == "Compliance review"
    assert event.changes == {"status": ["active", "suspended"]}
    services.partner_reactivate(actor=manager_a, partner=partner_a)
    partner_a.refresh_from_db()
    assert partner_a.status == PartnerStatus.ACTIVE


def test_membership_groups_follow_role(partner_a, admin_a):
    user = UserFactory()
    membership = services.membership_add(actor=admin_a, partner=partner_a, user=user, role=MembershipRole.REP)
    assert set(user.groups.values_list("name", flat=True)) == {partner_a.members_group.name}
    services.membership_change_role(actor=admin_a, membership=membership, role=MembershipRole.ADMIN)
    assert set(user.groups.values_list("name", flat=True)) == {
        partner_a.members_group.name,
        partner_a.admins_group.name,
    }
    services.membership_deactivate(actor=admin_a, membership=membership)
    assert not user.groups.exists()
    assert audit_actions(partner_a)[-3:] == [
        AuditAction.MEMBER_ADDED,
        AuditAction.MEMBER_ROLE_CHANGED,
        AuditAction.MEMBER_DEACTIVATED,
    ]


def test_last_admin_cannot_be_demoted_or_removed(partner_a, admin_a, rep_a):
    membership = Membership.objects.get(user=admin_a)
    with pytest.raises(ConflictError):
        services.membership_change_role(actor=admin_a, membership=membership, role=MembershipRole.REP)
    rep_membership = Membership.objects.get(user=rep_a)
    services.membership_change_role(actor=admin_a, membership=rep_membership, role=MembershipRole.ADMIN)
    services.membership_change_role(actor=rep_a, membership=membership, role=MembershipRole.REP)
    membership.refresh_from_db()
    assert membership.role == MembershipRole.REP


def test_admin_cannot_deactivate_themselves(partner_a, admin_a):
    make_member(partner_a, MembershipRole.ADMIN)
    with pytest.raises(ActionNotAllowed):
        services.membership_deactivate(actor=admin_a, membership=Membership.objects.get(user=admin_a))


def test_staff_cannot_join_partner(partner_a, manager_a):
    with pytest.raises(DomainError):
        services.membership_add(actor=None, partner=partner_a, user=manager_a)


def test_invitation_sends_branded_link_after_commit(
    partner_a, admin_a, django_capture_on_commit_callbacks, time_machine
):
    # The token is signed with the time in seconds: the e-mail's and the one signed below must share that second.
    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="New.Person@Example.com")
    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    token = services.invitation_token(invitation)
    assert token in message.body
    assert partner_a.brand.display_name in message.subject


def test_invitation_accept_creates_account_once(partner_a, admin_a):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="dana@example.com")
    token = services.invitation_token(invitation)
    membership = services.invitation_accept(
        token=token, first_name="Dana", last_name="Scully", password="x-files-trust-no1"
    )
    assert membership.partner == partner_a and membership.role == MembershipRole.REP
    user = User.objects.get(email="dana@example.com")
    assert user.check_password("x-files-trust-no1")
    with pytest.raises(DomainError) as err:
        services.invitation_accept(token=token, password="another-password-1")
    assert err.value.code == "used"
    assert User.objects.filter(email="dana@example.com").count() == 1


def test_invitation_link_tampered_expired_revoked(partner_a, admin_a):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="eve@example.com")
    token = services.invitation_token(invitation)
    with pytest.raises(DomainError) as err:
        services.invitation_from_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    assert err.value.code == "invalid"
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(DomainError) as err:
        services.invitation_from_token(token)
    assert err.value.code == "expired"
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timezone.timedelta(days=1))
    services.invitation_revoke(actor=admin_a, invitation=invitation)
    with pytest.raises(DomainError) as err:
        services.invitation_from_token(token)
    assert err.value.code == "revoked"


def test_invitation_for_existing_member_or_duplicate_is_refused(partner_a, admin_a, rep_a):
    with pytest.raises(ConflictError):
        services.invitation_create(actor=admin_a, partner=partner_a, email=rep_a.email.upper())
    services.invitation_create(actor=admin_a, partner=partner_a, email="fay@example.com")
    with pytest.raises(ConflictError):
        services.invitation_create(actor=admin_a, partner=partner_a, email="fay@example.com")


def test_invitation_signed_in_user_must_match(partner_a, partner_b, admin_a, rep_b):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="someone.else@example.com")
    with pytest.raises(DomainError) as err:
        services.invitation_accept(token=services.invitation_token(invitation), user=rep_b)
    assert err.value.code == "wrong_user"
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email=rep_b.email)
    membership = services.invitation_accept(token=services.invitation_token(invitation), user=rep_b)
    assert membership.partner == partner_a
    assert set(Partner.objects.for_user(rep_b).values_list("pk", flat=True)) == {partner_a.pk, partner_b.pk}


def test_brand_update_validates_and_bumps_version(partner_a, admin_a):
    brand = partner_a.brand
    with pytest.raises(DomainError) as err:
        services.brand_update(actor=admin_a, brand=brand, primary_color="red;} body{background:url(x)}")
    assert err.value.field == "primary_color"
    brand.refresh_from_db()
    assert brand.primary_color == "#1f4fd1" and brand.version == 1
    services.brand_update(actor=admin_a, brand=brand, primary_color="#AA0000", tagline="Best in the west")
    brand.refresh_from_db()
    assert brand.primary_color == "#aa0000" and brand.version == 2
    assert AuditEvent.objects.filter(action=AuditAction.BRAND_UPDATED, partner=partner_a).count() == 1


def test_logo_is_reencoded_and_polyglot_stripped(partner_a, admin_a):
    payload = png_bytes() + b"<html><script>alert(1)</script></html>"
    brand = services.brand_update(actor=admin_a, brand=partner_a.brand, logo=Upload(payload))
    stored = brand.logo.read()
    assert stored.startswith(b"\x89PNG") and b"<script>" not in stored
    assert (brand.logo_width, brand.logo_height) == (40, 20)


@pytest.mark.parametrize(
    "payload",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.4 not an image",
        b"",
        b"\x89PNG\r\n\x1a\n broken",
    ],
)
def test_logo_rejects_non_images(partner_a, admin_a, payload):
    with pytest.raises(DomainError) as err:
        services.brand_update(actor=admin_a, brand=partner_a.brand, logo=Upload(payload, "logo.png"))
    assert err.value.field == "logo"
    partner_a.brand.refresh_from_db()
    assert not partner_a.brand.logo and partner_a.brand.version == 1


def test_api_token_hashed_at_rest_and_revocable(rep_a):
    row, key = services.api_token_create(actor=rep_a, user=rep_a, name="CRM sync", expires_in_days=30)
    assert key.startswith("ph_")
    stored = ApiToken.objects.get(pk=row.pk)
    assert key not in (stored.digest, stored.token_key)
    assert stored.expiry > timezone.now() + timezone.timedelta(days=29)
    services.api_token_revoke(actor=rep_a, token=stored)
    assert not ApiToken.objects.filter(pk=row.pk).exists()
    assert audit_actions()[-2:] == [AuditAction.API_TOKEN_CREATED, AuditAction.API_TOKEN_REVOKED]


def test_api_token_input_is_validated(rep_a):
    with pytest.raises(DomainError):
        services.api_token_create(actor=rep_a, user=rep_a, name="  ")
    with pytest.raises(DomainError):
        services.api_token_create(actor=rep_a, user=rep_a, name="x", expires_in_days=1000)


def test_suspended_partner_user_cannot_authenticate(partner_a, rep_a, manager_a):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    from tests.factories import PASSWORD

    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username=rep_a.username, password=PASSWORD) == rep_a
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Audit")
    assert authenticate(request, username=rep_a.email, password=PASSWORD) is None


def test_other_partner_unaffected_by_suspension(partner_a, partner_b, rep_b, manager_a):
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Audit")
    assert list(Partner.objects.for_user(rep_b)) == [partner_b]
    assert make_partner("Zeta").status == PartnerStatus.ACTIVE
