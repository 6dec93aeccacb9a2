"""The core REST API, role by role: partners, status actions, brands and logos, tiers, memberships,
invitations, ``me`` and API keys, plus the isolation suite applied to every partner-facing route."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image
from rest_framework.routers import DefaultRouter
from rest_framework.test import APIClient

from partnerhub import services
from partnerhub.choices import AuditAction, MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, PartnerBrand, Tier
from tests.conftest import client_for
from tests.factories import TierFactory, make_member, make_partner, make_staff
from tests.isolation import APIIsolationTests, ForeignKeyCreateIsolationTests, results, session_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sent_mail(monkeypatch):
    """Invitation e-mails, recorded instead of rendered and queued (their content is the portal's concern)."""
    calls = []
    monkeypatch.setattr("partnerhub.notifications.send_email", lambda **kwargs: calls.append(kwargs))
    return calls


def png_bytes(size=(60, 30), colour=(31, 79, 209, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name="logo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def ids(response) -> set[int]:
    return {row["id"] for row in results(response)}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# Isolation: partner B's users never reach partner A's objects --------------------------------------------------


class TestPartnerIsolation(APIIsolationTests):
    list_url = "/api/v1/partners/"
    model = Partner
    detail_methods = ("GET", "PUT", "PATCH")  # partners are offboarded, never deleted
    object_actions = (
        ("POST", "suspend/", {"reason": "Competitor says so"}, "json"),
        ("POST", "reactivate/", {"reason": "Competitor says so"}, "json"),
        ("GET", "brand/", None, "json"),
        ("PATCH", "brand/", {"tagline": "Owned by B"}, "json"),
        ("PUT", "brand/logo/", lambda: {"logo": png_upload()}, "multipart"),
        ("DELETE", "brand/logo/", None, "json"),
    )

    def make_object(self, partner):
        return partner

    def update_payload(self, obj):
        return {"name": "Hijacked", "partner_type": "reseller"}

    def snapshot(self, obj):
        data = super().snapshot(obj)
        brand = PartnerBrand.objects.get(partner=obj)
        return {**data, "brand": [brand.tagline, brand.version, brand.logo.name]}


class TestMembershipIsolation(APIIsolationTests):
    list_url = "/api/v1/memberships/"
    model = Membership

    def make_object(self, partner):
        return Membership.objects.get(partner=partner, role=MembershipRole.REP)

    def update_payload(self, obj):
        return {"role": "admin", "title": "Promoted by a competitor", "is_active": True}


class TestInvitationIsolation(APIIsolationTests, ForeignKeyCreateIsolationTests):
    list_url = "/api/v1/invitations/"
    model = Invitation
    detail_methods = ("GET",)  # invitations are revoked, not edited or deleted
    object_actions = (("POST", "revoke/", None, "json"),)
    fk_create_field = "partner"
    creators = ("admin_b", "manager_b")

    def make_object(self, partner):
        return services.invitation_create(actor=None, partner=partner, email="newhire@acme.example")

    def update_payload(self, obj):
        return {"email": "attacker@bolt.example"}

    def create_payload(self, partner):
        return {"partner": partner.pk, "email": "someone@example.com", "role": "rep"}


class TestApiTokenIsolation(APIIsolationTests):
    list_url = "/api/v1/me/tokens/"
    model = ApiToken
    detail_methods = ("DELETE",)  # keys are listed and revoked; a key is never shown again

    def make_object(self, partner):
        owner = Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN).first().user
        row, _key = services.api_token_create(actor=owner, user=owner, name="Acme CRM sync")
        return row

    def update_payload(self, obj):
        return {"name": "renamed"}

    def lookup(self, obj):
        return obj.token_key

    def row_lookup(self, row):
        return row["token_key"]

    def missing_key(self):
        return "ph_000000000000"


# Routes are all covered ----------------------------------------------------------------------------------------


def test_every_partner_facing_route_has_an_isolation_suite():
    """A new route registered on the core router fails here until it inherits the isolation suite."""
    from partnerhub.api.urls import router

    assert isinstance(router, DefaultRouter)
    # Suites of this module: feature apps' test modules add their own suites for their own routers.
    covered = {suite.list_url for suite in APIIsolationTests.__subclasses__() if suite.__module__ == __name__}
    # Tiers are program-wide reference data (no partner owns one); test_tiers_* pins who may write them.
    exempt = {"/api/v1/tiers/"}
    registered = {f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry}
    assert registered - exempt == covered


def test_a_viewset_cannot_replace_the_scoped_queryset():
    from partnerhub.api.base import OwnRowsViewSet, ProgramDataViewSet, ScopedModelViewSet

    for base in (ScopedModelViewSet, OwnRowsViewSet, ProgramDataViewSet):
        with pytest.raises(TypeError, match="must not define get_queryset"):
            type("Leaky", (base,), {"get_queryset": lambda self: Partner.objects.all(), "__module__": __name__})


def test_a_viewset_cannot_put_plain_saves_ahead_of_the_services():
    from rest_framework import mixins

    from partnerhub.api.base import OwnRowsViewSet, ScopedGenericViewSet

    for base in (ScopedGenericViewSet, OwnRowsViewSet):
        with pytest.raises(TypeError, match="perform_create comes from CreateModelMixin"):
            type("Unrouted", (mixins.CreateModelMixin, base), {"__module__": __name__})
        type("Routed", (base, mixins.CreateModelMixin), {"__module__": __name__})  # the right order is accepted


# Partners ------------------------------------------------------------------------------------------------------


def test_partner_list_is_scoped_for_every_role(
    api_as, partner_a, partner_b, rep_a, admin_a, admin_b, manager_a, partner_ops, superuser
):
    third = make_partner("Crest Referral", partner_type="referral")
    assert ids(api_as(rep_a).get("/api/v1/partners/")) == {partner_a.pk}
    assert ids(api_as(admin_a).get("/api/v1/partners/")) == {partner_a.pk}
    assert ids(api_as(admin_b).get("/api/v1/partners/")) == {partner_b.pk}
    assert ids(api_as(manager_a).get("/api/v1/partners/")) == {partner_a.pk}
    services.channel_manager_assign(actor=None, partner=third, manager=manager_a)
    assert ids(api_as(fresh(manager_a)).get("/api/v1/partners/")) == {partner_a.pk, third.pk}
    everyone = {partner_a.pk, partner_b.pk, third.pk}
    assert ids(api_as(partner_ops).get("/api/v1/partners/")) == everyone
    assert ids(api_as(superuser).get("/api/v1/partners/")) == everyone


def test_partner_detail_shows_profile_and_brand_summary(api_as, partner_a, rep_a):
    tier = TierFactory(name="Gold")
    services.partner_update(actor=None, partner=partner_a, tier=tier)
    body = api_as(rep_a).get(f"/api/v1/partners/{partner_a.pk}/").json()
    assert body["name"] == "Acme Resellers"
    assert body["tier"] == tier.pk
    assert body["tier_name"] == "Gold"
    assert body["brand"]["display_name"] == "Acme Resellers"
    assert body["brand"]["primary_color"] == "#1f4fd1"
    assert body["brand"]["logo_url"] is None


def test_partner_operations_create_a_partner_through_the_service(api_as, partner_ops):
    response = api_as(partner_ops).post(
        "/api/v1/partners/",
        {
            "name": "Delta Systems",
            "partner_type": "reseller",
            "status": "onboarding",
            "country": "de",
            "primary_color": "#AA3300",
            "subdomain": "delta",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    partner = Partner.objects.get(pk=body["id"])
    assert (partner.name, partner.slug, partner.status, partner.country) == (
        "Delta Systems",
        "delta-systems",
        "onboarding",
        "DE",
    )
    assert (partner.brand.subdomain, partner.brand.primary_color) == ("delta", "#aa3300")
    assert partner.members_group and partner.admins_group
    event = AuditEvent.objects.get(action=AuditAction.PARTNER_CREATED, partner=partner)
    assert event.actor == partner_ops
    assert "primary_color" not in body  # write-only brand values are not echoed as partner fields


@pytest.mark.parametrize("who", ["admin_a", "rep_a", "manager_a"])
def test_only_staff_holding_add_partner_create_partners(request, api_as, who):
    user = request.getfixturevalue(who)
    count = Partner.objects.count()
    response = api_as(user).post("/api/v1/partners/", {"name": "Sneaky", "partner_type": "reseller"}, format="json")
    assert response.status_code == 403
    assert Partner.objects.count() == count


def test_duplicate_slug_is_a_conflict(api_as, partner_ops, partner_a):
    response = api_as(partner_ops).post(
        "/api/v1/partners/", {"name": "Other", "slug": partner_a.slug, "partner_type": "reseller"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["attr"] == "slug"


def test_new_partner_cannot_start_suspended(api_as, partner_ops):
    response = api_as(partner_ops).post(
        "/api/v1/partners/", {"name": "Echo", "partner_type": "reseller", "status": "suspended"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "status"
    assert not Partner.objects.filter(name="Echo").exists()


def test_partner_admin_cannot_edit_the_partner_record(api_as, partner_a, admin_a):
    response = api_as(admin_a).patch(f"/api/v1/partners/{partner_a.pk}/", {"name": "Acme Global"}, format="json")
    assert response.status_code == 403
    assert "vendor staff" in response.json()["errors"][0]["detail"]
    assert fresh(partner_a).name == "Acme Resellers"


def test_channel_manager_edits_profile_and_tier_with_audit(api_as, partner_a, manager_a):
    gold = TierFactory(name="Gold")
    response = api_as(manager_a).patch(
        f"/api/v1/partners/{partner_a.pk}/", {"name": "Acme Global", "tier": gold.pk, "region": "EMEA"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["tier_name"] == "Gold"
    partner = fresh(partner_a)
    assert (partner.name, partner.tier, partner.region) == ("Acme Global", gold, "EMEA")
    assert AuditEvent.objects.filter(action=AuditAction.PARTNER_TIER_CHANGED, partner=partner, actor=manager_a).exists()
    updated = AuditEvent.objects.get(action=AuditAction.PARTNER_UPDATED, partner=partner)
    assert updated.changes["name"] == ["Acme Resellers", "Acme Global"]


def test_channel_manager_puts_a_full_profile(api_as, partner_a, manager_a):
    response = api_as(manager_a).put(
        f"/api/v1/partners/{partner_a.pk}/",
        {"name": "Acme Two", "partner_type": "referral", "tier": None, "parent": None, "website": "", "country": "FR"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (fresh(partner_a).name, fresh(partner_a).partner_type, fresh(partner_a).country) == (
        "Acme Two",
        "referral",
        "FR",
    )


def test_parent_must_be_a_distributor_the_manager_can_see(api_as, partner_a, partner_b, manager_a, partner_ops):
    reseller = make_partner("Foxtrot Resale")
    services.channel_manager_assign(actor=None, partner=reseller, manager=manager_a)
    manager = fresh(manager_a)
    # A reseller cannot be a parent (service rule, named field).
    response = api_as(manager).patch(f"/api/v1/partners/{partner_a.pk}/", {"parent": reseller.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "parent"
    # Partner B is a distributor, but not in this manager's scope: reads like a missing id.
    outside = api_as(manager).patch(f"/api/v1/partners/{partner_a.pk}/", {"parent": partner_b.pk}, format="json")
    assert outside.status_code == 400
    assert "does not exist" in outside.json()["errors"][0]["detail"]
    # Partner operations see B, so B can become A's distributor.
    ok = api_as(partner_ops).patch(f"/api/v1/partners/{partner_a.pk}/", {"parent": partner_b.pk}, format="json")
    assert ok.status_code == 200
    assert fresh(partner_a).parent == partner_b


def test_partner_filters(api_as, partner_ops, partner_a, partner_b):
    gold = TierFactory(name="Gold")
    services.partner_update(actor=None, partner=partner_a, tier=gold)
    child = make_partner("Golf Resale", parent=partner_b)
    client = api_as(partner_ops)
    assert ids(client.get("/api/v1/partners/", {"partner_type": "distributor"})) == {partner_b.pk}
    assert ids(client.get("/api/v1/partners/", {"tier": gold.pk})) == {partner_a.pk}
    assert ids(client.get("/api/v1/partners/", {"parent": partner_b.pk})) == {child.pk}
    assert ids(client.get("/api/v1/partners/", {"q": "acme"})) == {partner_a.pk}
    assert ids(client.get("/api/v1/partners/", {"q": "bolt-dist"})) == {partner_b.pk}
    services.partner_suspend(actor=None, partner=partner_b, reason="Audit")
    assert ids(client.get("/api/v1/partners/", {"status": "suspended"})) == {partner_b.pk}


def test_partner_list_pages_with_a_stable_cursor(api_as, partner_ops):
    for n in range(5):
        make_partner(f"Paged {n}")
    client = api_as(partner_ops)
    seen, url = [], "/api/v1/partners/?page_size=2"
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == Partner.objects.count()


# Status actions ------------------------------------------------------------------------------------------------


def test_channel_manager_suspends_and_reactivates_with_audit(api_as, partner_a, manager_a, rep_a):
    rep_client = api_as(rep_a)
    assert rep_client.get("/api/v1/me/").status_code == 200
    response = api_as(manager_a).post(
        f"/api/v1/partners/{partner_a.pk}/suspend/", {"reason": "Unpaid invoices"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"
    assert response.json()["status_reason"] == "Unpaid invoices"
    event = AuditEvent.objects.get(action=AuditAction.PARTNER_STATUS_CHANGED, partner=partner_a)
    assert (event.actor, event.reason, event.changes) == (
        manager_a,
        "Unpaid invoices",
        {"status": ["active", "suspended"]},
    )
    # The partner's keys stop working at once.
    assert rep_client.get("/api/v1/me/").status_code == 401

    back = api_as(manager_a).post(f"/api/v1/partners/{partner_a.pk}/reactivate/", {"reason": "Paid"}, format="json")
    assert back.status_code == 200
    assert fresh(partner_a).status == PartnerStatus.ACTIVE
    assert AuditEvent.objects.filter(action=AuditAction.PARTNER_STATUS_CHANGED, partner=partner_a).count() == 2
    assert rep_client.get("/api/v1/me/").status_code == 200


def test_status_action_needs_a_reason(api_as, partner_a, manager_a):
    response = api_as(manager_a).post(f"/api/v1/partners/{partner_a.pk}/suspend/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "reason"
    assert fresh(partner_a).status == PartnerStatus.ACTIVE


def test_illegal_status_change_is_a_conflict(api_as, partner_a, manager_a):
    services.partner_change_status(actor=None, partner=partner_a, status=PartnerStatus.OFFBOARDED, reason="Left")
    response = api_as(manager_a).post(f"/api/v1/partners/{partner_a.pk}/reactivate/", {"reason": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "code": "conflict",
        "detail": "A offboarded partner cannot become active; allowed: none (offboarding is final).",
        "attr": "status",
    }


@pytest.mark.parametrize("who", ["admin_a", "rep_a"])
def test_partner_users_cannot_change_status(request, api_as, partner_a, who):
    user = request.getfixturevalue(who)
    response = api_as(user).post(f"/api/v1/partners/{partner_a.pk}/suspend/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert fresh(partner_a).status == PartnerStatus.ACTIVE


def test_staff_without_status_permission_cannot_suspend(api_as, partner_a):
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="mira")
    assert api_as(marketing).get(f"/api/v1/partners/{partner_a.pk}/").status_code == 200
    response = api_as(marketing).post(f"/api/v1/partners/{partner_a.pk}/suspend/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert fresh(partner_a).status == PartnerStatus.ACTIVE


# Brand ---------------------------------------------------------------------------------------------------------


def test_every_member_reads_the_brand(api_as, partner_a, rep_a):
    body = api_as(rep_a).get(f"/api/v1/partners/{partner_a.pk}/brand/").json()
    assert body["display_name"] == "Acme Resellers"
    assert body["partner"] == partner_a.pk
    assert body["version"] == 1


def test_partner_admin_changes_the_brand_with_audit(api_as, partner_a, admin_a):
    response = api_as(admin_a).patch(
        f"/api/v1/partners/{partner_a.pk}/brand/",
        {"tagline": "Solutions that fit", "primary_color": "#0A7B3E", "support_phone": "+49 30 1234567"},
        format="json",
    )
    assert response.status_code == 200, response.content
    brand = PartnerBrand.objects.get(partner=partner_a)
    assert (brand.tagline, brand.primary_color, brand.version) == ("Solutions that fit", "#0a7b3e", 2)
    assert response.json()["version"] == 2
    event = AuditEvent.objects.get(action=AuditAction.BRAND_UPDATED, partner=partner_a)
    assert event.actor == admin_a
    assert event.changes["primary_color"] == ["#1f4fd1", "#0a7b3e"]


def test_rep_cannot_change_the_brand(api_as, partner_a, rep_a):
    response = api_as(rep_a).patch(f"/api/v1/partners/{partner_a.pk}/brand/", {"tagline": "x"}, format="json")
    assert response.status_code == 403
    assert PartnerBrand.objects.get(partner=partner_a).version == 1


def test_staff_need_the_brand_permission(api_as, partner_a, manager_a):
    support = make_staff(StaffRole.SUPPORT_AGENT, username="sam")  # sees every partner, may not edit brands
    assert api_as(support).patch(f"/api/v1/partners/{partner_a.pk}/brand/", {"tagline": "x"}).status_code == 403
    response = api_as(manager_a).patch(f"/api/v1/partners/{partner_a.pk}/brand/", {"tagline": "By CM"}, format="json")
    assert response.status_code == 200
    assert PartnerBrand.objects.get(partner=partner_a).tagline == "By CM"


def test_only_staff_move_a_portal_to_another_address(api_as, partner_a, admin_a, manager_a):
    refused = api_as(admin_a).patch(
        f"/api/v1/partners/{partner_a.pk}/brand/", {"subdomain": "acme-new", "custom_domain": "acme.example"}
    )
    assert refused.status_code == 400
    assert {e["attr"] for e in refused.json()["errors"]} == {"subdomain", "custom_domain"}
    assert PartnerBrand.objects.get(partner=partner_a).subdomain != "acme-new"
    ok = api_as(manager_a).patch(
        f"/api/v1/partners/{partner_a.pk}/brand/", {"subdomain": "acme-new", "custom_domain": "partners.acme.example"}
    )
    assert ok.status_code == 200, ok.content
    brand = PartnerBrand.objects.get(partner=partner_a)
    assert (brand.subdomain, brand.custom_domain) == ("acme-new", "partners.acme.example")


def test_logo_upload_is_re_encoded_and_removable(api_as, partner_a, admin_a):
    client = api_as(admin_a)
    url = f"/api/v1/partners/{partner_a.pk}/brand/logo/"
    response = client.put(url, {"logo": png_upload("acme.png")}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["logo_width"], body["logo_height"], body["version"]) == (60, 30, 2)
    assert body["logo_url"].startswith("http://testserver/media/brands/logos/")
    brand = PartnerBrand.objects.get(partner=partner_a)
    with brand.logo.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "PNG"
    assert AuditEvent.objects.filter(action=AuditAction.BRAND_UPDATED, partner=partner_a).count() == 1

    removed = client.delete(url)
    assert removed.status_code == 200
    assert removed.json()["logo_url"] is None
    assert not PartnerBrand.objects.get(partner=partner_a).logo


def test_logo_upload_needs_multipart(api_as, partner_a, admin_a):
    response = api_as(admin_a).put(f"/api/v1/partners/{partner_a.pk}/brand/logo/", {"logo": "x"}, format="json")
    assert response.status_code == 415


def test_rep_cannot_upload_a_logo(api_as, partner_a, rep_a):
    url = f"/api/v1/partners/{partner_a.pk}/brand/logo/"
    assert api_as(rep_a).put(url, {"logo": png_upload()}, format="multipart").status_code == 403
    assert not PartnerBrand.objects.get(partner=partner_a).logo


# Tiers ---------------------------------------------------------------------------------------------------------


def test_every_signed_in_user_reads_tiers(api_as, rep_a, partner_ops, partner_a):
    gold = TierFactory(name="Gold", rank=20)
    silver = TierFactory(name="Silver", rank=10)
    services.partner_update(actor=None, partner=partner_a, tier=gold)
    rows = results(api_as(rep_a).get("/api/v1/tiers/"))
    assert [row["name"] for row in rows] == ["Silver", "Gold"]  # by rank
    assert {row["partner_count"] for row in rows} == {None}  # program size is not for partners
    staff_rows = {row["id"]: row for row in results(api_as(partner_ops).get("/api/v1/tiers/"))}
    assert staff_rows[gold.pk]["partner_count"] == 1
    assert staff_rows[silver.pk]["partner_count"] == 0
    assert APIClient().get("/api/v1/tiers/").status_code == 401


@pytest.mark.parametrize("who", ["admin_a", "rep_a", "manager_a"])
def test_tier_writes_need_the_tier_permissions(request, api_as, who):
    user = request.getfixturevalue(who)
    tier = TierFactory(name="Gold")
    client = api_as(user)
    assert client.post("/api/v1/tiers/", {"name": "Platinum", "slug": "platinum", "rank": 99}).status_code == 403
    assert client.patch(f"/api/v1/tiers/{tier.pk}/", {"name": "Bronze"}).status_code == 403
    assert client.delete(f"/api/v1/tiers/{tier.pk}/").status_code == 403
    assert list(Tier.objects.values_list("name", flat=True)) == ["Gold"]


def test_partner_user_with_a_stray_global_tier_permission_still_cannot_write(api_as, partner_a, admin_a):
    from guardian.shortcuts import assign_perm

    assign_perm("partnerhub.add_tier", partner_a.admins_group)
    response = api_as(fresh(admin_a)).post("/api/v1/tiers/", {"name": "Platinum", "slug": "platinum", "rank": 99})
    assert response.status_code == 403
    assert not Tier.objects.exists()


def test_partner_operations_manage_tiers_through_the_service(api_as, partner_ops, partner_a):
    client = api_as(partner_ops)
    created = client.post(
        "/api/v1/tiers/",
        {"name": "Platinum", "slug": "platinum", "rank": 4, "discount_percent": "12.50", "benefits": "MDF"},
        format="json",
    )
    assert created.status_code == 201, created.content
    tier = Tier.objects.get(slug="platinum")
    assert created.json()["partner_count"] == 0
    assert client.patch(f"/api/v1/tiers/{tier.pk}/", {"rank": 5}, format="json").json()["rank"] == 5
    services.partner_update(actor=None, partner=partner_a, tier=tier)
    blocked = client.delete(f"/api/v1/tiers/{tier.pk}/")
    assert blocked.status_code == 409
    assert "move them" in blocked.json()["errors"][0]["detail"]
    services.partner_update(actor=None, partner=partner_a, tier=None)
    assert client.delete(f"/api/v1/tiers/{tier.pk}/").status_code == 204
    assert not Tier.objects.filter(pk=tier.pk).exists()


def test_tier_rank_must_be_unique(api_as, partner_ops):
    TierFactory(name="Gold", rank=3)
    response = api_as(partner_ops).post("/api/v1/tiers/", {"name": "Other", "slug": "other", "rank": 3})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "rank"


# Memberships ---------------------------------------------------------------------------------------------------


def test_members_see_their_own_team_only(api_as, partner_a, partner_b, rep_a, admin_a, admin_b, manager_a):
    team_a = set(Membership.objects.filter(partner=partner_a).values_list("pk", flat=True))
    assert ids(api_as(rep_a).get("/api/v1/memberships/")) == team_a
    assert ids(api_as(manager_a).get("/api/v1/memberships/")) == team_a
    rows = results(api_as(admin_a).get("/api/v1/memberships/", {"role": "rep"}))
    assert [row["user"]["username"] for row in rows] == ["arnold"]
    assert rows[0]["partner"] == partner_a.pk


def test_partner_admin_changes_a_role_with_audit(api_as, partner_a, admin_a, rep_a):
    membership = Membership.objects.get(user=rep_a, partner=partner_a)
    response = api_as(admin_a).patch(
        f"/api/v1/memberships/{membership.pk}/", {"role": "admin", "title": "Sales lead"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["role"], response.json()["title"]) == ("admin", "Sales lead")
    assert fresh(rep_a).groups.filter(pk=partner_a.admins_group_id).exists()
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ROLE_CHANGED, partner=partner_a)
    assert (event.actor, event.changes) == (admin_a, {"role": ["rep", "admin"]})


def test_rep_cannot_change_memberships(api_as, partner_a, admin_a, rep_a):
    membership = Membership.objects.get(user=admin_a, partner=partner_a)
    client = api_as(rep_a)
    assert client.patch(f"/api/v1/memberships/{membership.pk}/", {"role": "rep"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 403
    assert fresh(membership).role == MembershipRole.ADMIN and fresh(membership).is_active


def test_delete_deactivates_and_every_grant_stops(api_as, partner_a, admin_a, rep_a):
    membership = Membership.objects.get(user=rep_a, partner=partner_a)
    rep_client = api_as(rep_a)
    response = api_as(admin_a).delete(f"/api/v1/memberships/{membership.pk}/")
    assert response.status_code == 204
    membership = fresh(membership)
    assert not membership.is_active and membership.deactivated_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_DEACTIVATED, target_id=str(membership.pk)).exists()
    assert rep_client.get("/api/v1/partners/").status_code == 401  # no active partner left: the key stops
    # The row stays, visible to the admin, and can be reactivated.
    reactivated = api_as(admin_a).patch(f"/api/v1/memberships/{membership.pk}/", {"is_active": True}, format="json")
    assert reactivated.status_code == 200
    assert fresh(membership).is_active


def test_last_admin_cannot_be_demoted_or_deactivate_themselves(api_as, partner_a, admin_a, manager_a):
    membership = Membership.objects.get(user=admin_a, partner=partner_a)
    demote = api_as(manager_a).patch(f"/api/v1/memberships/{membership.pk}/", {"role": "rep"}, format="json")
    assert demote.status_code == 409
    assert demote.json()["errors"][0]["attr"] == "role"
    itself = api_as(admin_a).delete(f"/api/v1/memberships/{membership.pk}/")
    assert itself.status_code == 403
    assert fresh(membership).is_active and fresh(membership).role == MembershipRole.ADMIN


def test_channel_manager_edits_titles_in_scope(api_as, partner_a, rep_a, manager_a):
    membership = Membership.objects.get(user=rep_a, partner=partner_a)
    response = api_as(manager_a).patch(f"/api/v1/memberships/{membership.pk}/", {"title": "Presales"}, format="json")
    assert response.status_code == 200
    assert fresh(membership).title == "Presales"


def test_memberships_cannot_be_created_or_moved(api_as, partner_a, partner_b, admin_a, rep_a):
    membership = Membership.objects.get(user=rep_a, partner=partner_a)
    client = api_as(admin_a)
    assert client.post("/api/v1/memberships/", {"role": "rep"}, format="json").status_code == 405
    moved = client.patch(f"/api/v1/memberships/{membership.pk}/", {"partner": partner_b.pk}, format="json")
    assert moved.status_code == 400
    assert moved.json()["errors"] == [
        {"code": "read_only", "detail": "This field is read-only and cannot be set.", "attr": "partner"}
    ]
    assert fresh(membership).partner == partner_a


def test_membership_filters(api_as, partner_ops, partner_a, partner_b, admin_a, rep_a, admin_b):
    client = api_as(partner_ops)
    assert {row["partner"] for row in results(client.get("/api/v1/memberships/", {"partner": partner_b.pk}))} == {
        partner_b.pk
    }
    services.membership_deactivate(actor=None, membership=Membership.objects.get(user=rep_a))
    inactive = results(client.get("/api/v1/memberships/", {"is_active": "false"}))
    assert [row["user"]["username"] for row in inactive] == ["arnold"]


# Invitations ---------------------------------------------------------------------------------------------------


def test_partner_admin_invites_with_audit_and_email(api_as, partner_a, admin_a, sent_mail):
    response = api_as(admin_a).post(
        "/api/v1/invitations/", {"partner": partner_a.pk, "email": "New.Hire@Acme.example", "role": "rep"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["state"], body["invited_by"]["username"]) == (
        "new.hire@acme.example",
        "pending",
        "alice",
    )
    assert "nonce" not in body and "token" not in body and "url" not in body  # the link goes to the invitee only
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.invited_by == admin_a
    assert [call["to"] for call in sent_mail] == [["new.hire@acme.example"]]
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT, partner=partner_a, actor=admin_a).exists()


def test_channel_manager_invites_to_a_managed_partner(api_as, partner_a, manager_a):
    response = api_as(manager_a).post("/api/v1/invitations/", {"partner": partner_a.pk, "email": "x@acme.example"})
    assert response.status_code == 201


def test_reps_neither_see_nor_send_invitations(api_as, partner_a, rep_a):
    invitation = services.invitation_create(actor=None, partner=partner_a, email="pending@acme.example")
    client = api_as(rep_a)
    assert results(client.get("/api/v1/invitations/")) == []
    assert client.get(f"/api/v1/invitations/{invitation.pk}/").status_code == 404
    refused = client.post("/api/v1/invitations/", {"partner": partner_a.pk, "email": "y@acme.example"})
    assert refused.status_code == 403
    assert Invitation.objects.count() == 1


def test_second_open_invitation_is_a_conflict(api_as, partner_a, admin_a):
    client = api_as(admin_a)
    assert client.post("/api/v1/invitations/", {"partner": partner_a.pk, "email": "a@acme.example"}).status_code == 201
    again = client.post("/api/v1/invitations/", {"partner": partner_a.pk, "email": "A@acme.example"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["attr"] == "email"
    assert Invitation.objects.count() == 1


def test_revoke_and_state_filter(api_as, partner_a, admin_a):
    pending = services.invitation_create(actor=admin_a, partner=partner_a, email="p@acme.example")
    gone = services.invitation_create(actor=admin_a, partner=partner_a, email="g@acme.example")
    client = api_as(admin_a)
    response = client.post(f"/api/v1/invitations/{gone.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_REVOKED, target_id=str(gone.pk)).exists()
    assert ids(client.get("/api/v1/invitations/", {"state": "pending"})) == {pending.pk}
    assert ids(client.get("/api/v1/invitations/", {"state": "revoked"})) == {gone.pk}
    Invitation.objects.filter(pk=pending.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert ids(client.get("/api/v1/invitations/", {"state": "expired"})) == {pending.pk}


def test_accepted_invitation_cannot_be_revoked(api_as, partner_a, admin_a):
    invitation = services.invitation_create(actor=admin_a, partner=partner_a, email="joined@acme.example")
    services.invitation_accept(token=services.invitation_token(invitation), password="a-long-password-123")
    response = api_as(admin_a).post(f"/api/v1/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 409
    assert fresh(invitation).revoked_at is None


def test_invitation_partner_field_uses_the_invitation_scope(partner_a, partner_b, admin_a, rep_a):
    """``access_action="add"`` on an invitation's partner means "partners I may invite to"."""
    from rest_framework.test import APIRequestFactory

    from partnerhub.api.serializers import InvitationSerializer

    def choices(user):
        request = APIRequestFactory().post("/")
        request.user = user
        field = InvitationSerializer(context={"request": request}).fields["partner"]
        return set(field.get_queryset().values_list("pk", flat=True))

    assert choices(admin_a) == {partner_a.pk}
    assert choices(rep_a) == set()


# Me and API keys -----------------------------------------------------------------------------------------------


def test_me_for_a_partner_user(api_as, partner_a, partner_b, rep_a):
    services.membership_add(actor=None, partner=partner_b, user=rep_a, role=MembershipRole.ADMIN)
    body = api_as(rep_a).get("/api/v1/me/").json()
    assert (body["username"], body["is_staff"], body["staff_roles"]) == ("arnold", False, [])
    partners = [(m["partner"]["name"], m["role"], m["partner"]["brand"]["subdomain"]) for m in body["memberships"]]
    assert partners == [
        ("Acme Resellers", "rep", partner_a.brand.subdomain),
        ("Bolt Distribution", "admin", partner_b.brand.subdomain),
    ]


def test_me_for_vendor_staff(api_as, manager_a, superuser):
    body = api_as(manager_a).get("/api/v1/me/").json()
    assert (body["is_staff"], body["memberships"], body["staff_roles"]) == (True, [], ["channel_manager"])
    assert api_as(superuser).get("/api/v1/me/").json()["staff_roles"] == []
    assert APIClient().get("/api/v1/me/").status_code == 401


def test_api_key_is_shown_once_and_stored_only_as_a_hash(api_as, rep_a):
    response = api_as(rep_a).post("/api/v1/me/tokens/", {"name": "CRM sync", "expires_in_days": 30}, format="json")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    key = response.json()["key"]
    assert key.startswith("ph_") and len(key) > 40
    row = ApiToken.objects.get(token_key=response.json()["token_key"])
    assert row.name == "CRM sync"
    assert row.digest != key and key not in row.digest
    assert abs((row.expiry - timezone.now()) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    # Nowhere in the database: search every text column of the token table for the key.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 (a model's own table name)
        assert not any(key in str(value) for db_row in cursor.fetchall() for value in db_row)
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_CREATED, target_id=str(rep_a.pk)).exists()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").json()["username"] == "arnold"
    listed = results(client.get("/api/v1/me/tokens/"))
    assert "key" not in listed[0] and "digest" not in listed[0]
    assert {t["name"] for t in listed} == {"CRM sync", "tests"}


def test_revoked_key_stops_working(api_as, rep_a):
    created = api_as(rep_a).post("/api/v1/me/tokens/", {"name": "Temporary"}, format="json").json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {created['key']}")
    assert client.delete(f"/api/v1/me/tokens/{created['token_key']}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REVOKED).exists()


def test_expired_key_is_rejected(rep_a):
    client = client_for(rep_a)
    ApiToken.objects.filter(user=rep_a).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_key_of_a_suspended_partners_user_is_rejected(partner_a, rep_a, manager_a):
    client = client_for(rep_a)
    assert client.get("/api/v1/partners/").status_code == 200
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Fraud review")
    response = client.get("/api/v1/partners/")
    assert response.status_code == 401
    assert "cannot sign in" in response.json()["errors"][0]["detail"]


def test_key_limits_are_validated(api_as, rep_a):
    client = api_as(rep_a)
    response = client.post("/api/v1/me/tokens/", {"name": "Forever", "expires_in_days": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "expires_in_days"
    for n in range(19):  # the fixture's key is the 1st
        services.api_token_create(actor=rep_a, user=rep_a, name=f"k{n}")
    assert client.post("/api/v1/me/tokens/", {"name": "One too many"}, format="json").status_code == 409


# Errors and sessions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/v1/partners/abc/", "/api/v1/nothing-here/", "/api/nope", "/api/v1/memberships/1.5/", "/api/v1/me/tokens/!/"],
)
def test_unknown_api_urls_answer_json_404(api_as, rep_a, url):
    response = api_as(rep_a).get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["code"] == "not_found"


def test_session_writes_need_the_csrf_token(partner_a, admin_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_a)
    assert client.get(f"/api/v1/partners/{partner_a.pk}/brand/").status_code == 200
    response = client.patch(f"/api/v1/partners/{partner_a.pk}/brand/", {"tagline": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"][0]["detail"]
    assert PartnerBrand.objects.get(partner=partner_a).tagline == ""


def test_session_and_key_see_the_same(partner_a, partner_b, admin_a):
    assert ids(session_client(admin_a).get("/api/v1/partners/")) == ids(client_for(admin_a).get("/api/v1/partners/"))


def test_person_in_two_partners_acts_in_both(api_as, partner_a, partner_b, rep_a):
    second = make_member(partner_b, MembershipRole.REP, username="bert")
    services.membership_add(actor=None, partner=partner_a, user=second, role=MembershipRole.REP)
    assert ids(api_as(second).get("/api/v1/partners/")) == {partner_a.pk, partner_b.pk}
