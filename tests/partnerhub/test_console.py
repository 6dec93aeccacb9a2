"""The vendor console at /console/: scoping per role, 404 outside the scope, status and assignment actions through
the services (audited), and bounded queries on the dashboard and the lists."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from partnerhub import services
from partnerhub.admin_site import ScopedModelAdmin
from partnerhub.choices import AuditAction, MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner
from tests.factories import UserFactory, make_member, make_partner, make_staff

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"console:{name}", args=args)


def signed_in(client, user):
    client.force_login(user)
    return client


def listed_ids(response) -> set:
    assert response.status_code == 200, response.status_code
    return {obj.pk for obj in response.context["cl"].result_list}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def invitations(partner_a, partner_b, admin_a, admin_b):
    return {
        "a": services.invitation_create(actor=admin_a, partner=partner_a, email="new.rep@acme.example"),
        "b": services.invitation_create(actor=admin_b, partner=partner_b, email="new.rep@bolt.example"),
    }


# Who gets in ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep_a", "admin_a"])
def test_partner_users_cannot_reach_the_console(client, request, who):
    user = request.getfixturevalue(who)
    signed_in(client, user)
    for path in (url("index"), url("partnerhub_partner_changelist")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(url("login") + "?next=")


def test_anonymous_visitors_are_sent_to_the_console_login(client):
    response = client.get(url("index"))
    assert response.status_code == 302
    assert response["Location"] == f"{url('login')}?next={url('index')}"


def test_vendor_staff_get_the_dashboard(client, manager_a, partner_a):
    response = signed_in(client, manager_a).get(url("index"))
    assert response.status_code == 200
    assert b"PartnerHub console" in response.content
    assert partner_a.name.encode() in response.content


# Scoping of lists ----------------------------------------------------------------------------------------------


def test_channel_manager_sees_only_their_partner_in_every_list(
    client, partner_a, partner_b, admin_a, admin_b, manager_a, invitations
):
    signed_in(client, manager_a)
    assert listed_ids(client.get(url("partnerhub_partner_changelist"))) == {partner_a.pk}
    assert listed_ids(client.get(url("partnerhub_membership_changelist"))) == set(
        Membership.objects.filter(partner=partner_a).values_list("pk", flat=True)
    )
    assert listed_ids(client.get(url("partnerhub_partnerbrand_changelist"))) == {partner_a.brand.pk}
    assert listed_ids(client.get(url("partnerhub_invitation_changelist"))) == {invitations["a"].pk}
    audit = listed_ids(client.get(url("partnerhub_auditevent_changelist")))
    assert audit == set(AuditEvent.objects.filter(partner=partner_a).values_list("pk", flat=True))
    assert not AuditEvent.objects.filter(pk__in=audit, partner=partner_b).exists()


def test_search_and_filters_stay_in_scope(client, partner_a, partner_b, manager_a):
    services.partner_update(actor=None, partner=partner_b, country="FR")
    services.partner_update(actor=None, partner=partner_a, country="DE")
    signed_in(client, manager_a)
    assert listed_ids(client.get(url("partnerhub_partner_changelist"), {"q": "Bolt"})) == set()
    assert listed_ids(client.get(url("partnerhub_partner_changelist"), {"q": "Acme"})) == {partner_a.pk}
    services.brand_update(actor=None, brand=partner_a.brand, display_name="Zephyr Cloud")
    services.brand_update(actor=None, brand=partner_b.brand, display_name="Zephyr Logistics")
    assert listed_ids(client.get(url("partnerhub_partner_changelist"), {"q": "zephyr"})) == {partner_a.pk}
    response = client.get(url("partnerhub_partner_changelist"))
    country_filter = next(f for f in response.context["cl"].filter_specs if f.lookup_kwarg == "country")
    assert list(country_filter.lookup_choices) == ["DE"]
    # Filtering on the other partner's values finds nothing rather than revealing it.
    assert listed_ids(client.get(url("partnerhub_partner_changelist"), {"country": "FR"})) == set()


def test_autocomplete_offers_only_partners_in_scope(client, partner_a, partner_b, manager_a):
    response = signed_in(client, manager_a).get(
        url("autocomplete"),
        {"app_label": "partnerhub", "model_name": "invitation", "field_name": "partner", "term": ""},
    )
    assert response.status_code == 200
    assert {int(r["id"]) for r in response.json()["results"]} == {partner_a.pk}


def test_vendor_wide_role_sees_every_partner(client, partner_a, partner_b, partner_ops):
    ids = listed_ids(signed_in(client, partner_ops).get(url("partnerhub_partner_changelist")))
    assert {partner_a.pk, partner_b.pk} <= ids


# 404 outside the scope -----------------------------------------------------------------------------------------


def test_out_of_scope_objects_answer_404(client, partner_a, partner_b, admin_b, manager_a):
    membership_b = Membership.objects.get(partner=partner_b, user=admin_b)
    signed_in(client, manager_a)
    for path in (
        url("partnerhub_partner_change", partner_b.pk),
        url("partnerhub_partner_history", partner_b.pk),
        url("partnerhub_membership_change", membership_b.pk),
        url("partnerhub_partnerbrand_change", partner_b.brand.pk),
        url("partnerhub_partner_change", 999_999),
        url("partnerhub_partner_change", "not-a-number"),
    ):
        assert client.get(path).status_code == 404, path
    # Their own partner opens normally.
    assert client.get(url("partnerhub_partner_change", partner_a.pk)).status_code == 200


def test_posting_to_an_out_of_scope_change_page_changes_nothing(client, partner_b, manager_a):
    response = signed_in(client, manager_a).post(
        url("partnerhub_partner_change", partner_b.pk), {"name": "Taken over", "partner_type": "reseller"}
    )
    assert response.status_code == 404
    assert fresh(partner_b).name == "Bolt Distribution"


# Status actions ------------------------------------------------------------------------------------------------


def action(client, name: str, ids, follow: bool = False, **extra):
    data = {"action": name, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(url("partnerhub_partner_changelist"), data, follow=follow)


def test_suspend_asks_for_a_reason_then_suspends_and_audits(client, partner_a, manager_a):
    signed_in(client, manager_a)
    page = action(client, "suspend_partners", [partner_a.pk])
    assert page.status_code == 200
    assert b"Reason" in page.content and partner_a.name.encode() in page.content
    assert fresh(partner_a).status == PartnerStatus.ACTIVE

    missing = action(client, "suspend_partners", [partner_a.pk], post="yes", reason="   ")
    assert missing.status_code == 400
    assert b"Give a reason" in missing.content
    assert fresh(partner_a).status == PartnerStatus.ACTIVE

    done = action(client, "suspend_partners", [partner_a.pk], post="yes", reason="Unpaid invoices")
    assert done.status_code == 302
    partner = fresh(partner_a)
    assert partner.status == PartnerStatus.SUSPENDED
    assert partner.status_reason == "Unpaid invoices"
    event = AuditEvent.objects.filter(partner=partner_a, action=AuditAction.PARTNER_STATUS_CHANGED).latest("id")
    assert event.actor == manager_a
    assert event.reason == "Unpaid invoices"
    assert event.changes == {"status": ["active", "suspended"]}


def test_reactivate_restores_a_suspended_partner(client, partner_a, manager_a):
    services.partner_suspend(actor=None, partner=partner_a, reason="Audit")
    response = action(signed_in(client, manager_a), "reactivate_partners", [partner_a.pk])
    assert response.status_code == 302
    assert fresh(partner_a).status == PartnerStatus.ACTIVE
    event = AuditEvent.objects.filter(partner=partner_a, action=AuditAction.PARTNER_STATUS_CHANGED).latest("id")
    assert event.actor == manager_a and event.changes == {"status": ["suspended", "active"]}


def test_a_refused_transition_is_reported_not_applied(client, manager_a, partner_a):
    prospect = make_partner("Prospect Co", status=PartnerStatus.PROSPECT)
    services.channel_manager_assign(actor=None, partner=prospect, manager=manager_a)
    response = action(signed_in(client, fresh(manager_a)), "reactivate_partners", [prospect.pk], follow=True)
    assert fresh(prospect).status == PartnerStatus.PROSPECT
    assert any("cannot become active" in str(m) for m in response.context["messages"])


def test_actions_on_out_of_scope_ids_do_nothing(client, partner_a, partner_b, manager_a):
    services.partner_suspend(actor=None, partner=partner_b, reason="Audit")
    signed_in(client, manager_a)
    before = AuditEvent.objects.count()
    action(client, "suspend_partners", [partner_b.pk], post="yes", reason="Hostile")
    action(client, "reactivate_partners", [partner_b.pk])
    action(client, "suspend_partners", ["garbage", partner_b.pk], post="yes", reason="Hostile")
    assert fresh(partner_b).status == PartnerStatus.SUSPENDED
    assert fresh(partner_a).status == PartnerStatus.ACTIVE
    assert AuditEvent.objects.count() == before


def test_status_cannot_be_changed_by_editing_the_form(client, partner_a, partner_ops):
    signed_in(client, partner_ops)
    page = client.get(url("partnerhub_partner_change", partner_a.pk))
    form = page.context["adminform"].form
    assert "status" not in form.fields
    data = _form_data(page)
    data.update(status="offboarded", name="Acme Resellers GmbH")
    response = client.post(url("partnerhub_partner_change", partner_a.pk), data)
    assert response.status_code == 302, _errors(response)
    partner = fresh(partner_a)
    assert partner.status == PartnerStatus.ACTIVE
    assert partner.name == "Acme Resellers GmbH"
    event = AuditEvent.objects.filter(partner=partner_a, action=AuditAction.PARTNER_UPDATED).latest("id")
    assert event.actor == partner_ops and event.changes == {"name": ["Acme Resellers", "Acme Resellers GmbH"]}


def test_support_agent_can_view_but_not_act(client, partner_a):
    agent = make_staff(StaffRole.SUPPORT_AGENT, username="sam")
    signed_in(client, agent)
    page = client.get(url("partnerhub_partner_changelist"))
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no actions offered
    action(client, "suspend_partners", [partner_a.pk], post="yes", reason="No")
    assert fresh(partner_a).status == PartnerStatus.ACTIVE
    response = client.post(url("partnerhub_partner_change", partner_a.pk), {"name": "X", "partner_type": "reseller"})
    assert response.status_code == 403
    assert fresh(partner_a).name == "Acme Resellers"


# Channel manager assignment ------------------------------------------------------------------------------------


def test_partner_operations_assign_a_channel_manager_by_action(client, partner_a, partner_b, manager_a, partner_ops):
    signed_in(client, partner_ops)
    page = action(client, "assign_channel_manager", [partner_b.pk])
    assert page.status_code == 200 and b"Channel manager" in page.content
    response = action(client, "assign_channel_manager", [partner_b.pk], post="yes", manager=str(manager_a.pk))
    assert response.status_code == 302
    assert set(Partner.objects.for_user(fresh(manager_a)).values_list("pk", flat=True)) == {partner_a.pk, partner_b.pk}
    event = AuditEvent.objects.filter(partner=partner_b, action=AuditAction.MANAGER_ASSIGNED).latest("id")
    assert event.actor == partner_ops
    assert event.changes == {"channel_manager": [None, manager_a.username]}


def test_partner_operations_assign_and_unassign_on_the_change_form(client, partner_a, manager_a, partner_ops):
    other = make_staff(StaffRole.CHANNEL_MANAGER, username="cora")
    signed_in(client, partner_ops)
    page = client.get(url("partnerhub_partner_change", partner_a.pk))
    assert "channel_managers" in page.context["adminform"].form.fields
    data = _form_data(page)
    data["channel_managers"] = [str(other.pk)]
    response = client.post(url("partnerhub_partner_change", partner_a.pk), data)
    assert response.status_code == 302, _errors(response)
    assert set(services.channel_managers_of(partner_a)) == {other}
    events = AuditEvent.objects.filter(partner=partner_a, actor=partner_ops)
    actions = {(e.action, tuple(e.changes.get("channel_manager", ()))) for e in events}
    assert (AuditAction.MANAGER_ASSIGNED, (None, "cora")) in actions
    assert (AuditAction.MANAGER_UNASSIGNED, ("carla", None)) in actions


def test_channel_manager_cannot_assign(client, partner_a, manager_a, manager_b):
    signed_in(client, manager_a)
    page = client.get(url("partnerhub_partner_change", partner_a.pk))
    assert "channel_managers" not in page.context["adminform"].form.fields
    data = _form_data(page)
    data["channel_managers"] = [str(manager_b.pk)]
    assert client.post(url("partnerhub_partner_change", partner_a.pk), data).status_code == 302
    action(client, "assign_channel_manager", [partner_a.pk], post="yes", manager=str(manager_b.pk))
    assert services.channel_managers_of(partner_a) == [manager_a]
    assert not AuditEvent.objects.filter(partner=partner_a, actor=manager_a, action=AuditAction.MANAGER_ASSIGNED)


# Partners, memberships, brands, invitations: writes through services --------------------------------------------


def test_partner_operations_create_a_partner_through_the_service(client, partner_ops):
    response = signed_in(client, partner_ops).post(
        url("partnerhub_partner_add"),
        {"name": "Delta Systems", "slug": "", "partner_type": "reseller", "status": "onboarding", "country": "nl"},
    )
    assert response.status_code == 302, _errors(response)
    partner = Partner.objects.get(name="Delta Systems")
    assert partner.slug == "delta-systems" and partner.country == "NL" and partner.status == "onboarding"
    assert partner.brand.subdomain  # the service created the brand and the partner's groups
    assert partner.members_group and partner.admins_group
    assert AuditEvent.objects.filter(partner=partner, action=AuditAction.PARTNER_CREATED, actor=partner_ops).exists()


def test_channel_manager_cannot_create_partners(client, manager_a):
    response = signed_in(client, manager_a).post(
        url("partnerhub_partner_add"), {"name": "Sneaky", "partner_type": "reseller", "status": "active"}
    )
    assert response.status_code == 403
    assert not Partner.objects.filter(name="Sneaky").exists()


def test_refused_membership_change_is_shown_and_nothing_is_saved(client, partner_a, admin_a, manager_a):
    membership = Membership.objects.get(partner=partner_a, user=admin_a)
    signed_in(client, manager_a)
    response = client.post(
        url("partnerhub_membership_change", membership.pk), {"role": "rep", "title": "Boss", "is_active": "on"}
    )
    assert response.status_code == 200
    assert b"at least one active partner admin" in response.content
    membership.refresh_from_db()
    assert membership.role == MembershipRole.ADMIN and membership.title == ""


def test_membership_change_goes_through_the_service(client, partner_a, admin_a, rep_a, manager_a):
    membership = Membership.objects.get(partner=partner_a, user=rep_a)
    response = signed_in(client, manager_a).post(
        url("partnerhub_membership_change", membership.pk), {"role": "admin", "title": "Sales lead"}
    )
    assert response.status_code == 302, _errors(response)
    membership.refresh_from_db()
    assert (membership.role, membership.title, membership.is_active) == ("admin", "Sales lead", False)
    assert not fresh(rep_a).groups.filter(pk=partner_a.members_group_id).exists()
    assert AuditEvent.objects.filter(actor=manager_a, action=AuditAction.MEMBER_DEACTIVATED).exists()


def _png(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(out, format="PNG")
    return out.getvalue()


def test_brand_logo_upload_is_re_encoded_by_the_service(client, partner_a, manager_a):
    brand = partner_a.brand
    signed_in(client, manager_a)
    page = client.get(url("partnerhub_partnerbrand_change", brand.pk))
    assert b'<rect x="0.5" y="0.5" width="17" height="17" rx="4" fill="#1f4fd1"' in page.content  # swatch
    data = {
        "display_name": brand.display_name,
        "tagline": "",
        "primary_color": "#112233",
        "accent_color": brand.accent_color,
        "subdomain": brand.subdomain,
        "custom_domain": "",
        "support_email": "",
        "support_phone": "",
        "logo": SimpleUploadedFile("logo.png", _png() + b"<script>trailing</script>", content_type="image/png"),
    }
    response = client.post(url("partnerhub_partnerbrand_change", brand.pk), data)
    assert response.status_code == 302, _errors(response)
    brand.refresh_from_db()
    assert brand.primary_color == "#112233"
    assert brand.logo.name.endswith(".png") and brand.logo.name != "brands/logos/logo.png"
    assert b"<script>" not in brand.logo.read()
    assert (brand.logo_width, brand.logo_height) == (40, 20)
    event = AuditEvent.objects.filter(partner=partner_a, action=AuditAction.BRAND_UPDATED).latest("id")
    assert event.actor == manager_a and set(event.changes) == {"primary_color", "logo"}


def test_refused_brand_value_is_shown_next_to_the_field(client, partner_a, partner_b, manager_a):
    brand = partner_a.brand
    data = {
        "display_name": brand.display_name,
        "primary_color": brand.primary_color,
        "accent_color": brand.accent_color,
        "subdomain": partner_b.brand.subdomain,  # taken by the other partner
    }
    response = signed_in(client, manager_a).post(url("partnerhub_partnerbrand_change", brand.pk), data)
    assert response.status_code == 200
    assert "subdomain" in response.context["adminform"].form.errors
    assert fresh(brand).subdomain == partner_a.brand.subdomain


def test_invitation_revoke_action_uses_the_service_and_stays_in_scope(client, manager_a, invitations):
    signed_in(client, manager_a)
    ids = [invitations["a"].pk, invitations["b"].pk]
    response = client.post(
        url("partnerhub_invitation_changelist"),
        {"action": "revoke_invitations", "_selected_action": [str(i) for i in ids], "index": "0"},
    )
    assert response.status_code == 302
    assert fresh(invitations["a"]).revoked_at is not None
    assert fresh(invitations["b"]).revoked_at is None
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_REVOKED, actor=manager_a).count() == 1


def test_audit_trail_is_read_only(client, partner_a, partner_ops):
    event = AuditEvent.objects.filter(partner=partner_a).first()
    signed_in(client, partner_ops)
    assert client.get(url("partnerhub_auditevent_change", event.pk)).status_code == 200
    assert client.get(url("partnerhub_auditevent_add")).status_code == 403
    assert client.post(url("partnerhub_auditevent_delete", event.pk), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# Vendor staff and API keys -------------------------------------------------------------------------------------


def test_partner_operations_set_staff_roles_through_the_service(client, partner_ops, rep_a):
    staff = UserFactory(username="nina", is_staff=True)
    signed_in(client, partner_ops)
    data = _form_data(client.get(url("partnerhub_user_change", staff.pk)))
    data["roles"] = ["support_agent", "marketing_manager"]
    response = client.post(url("partnerhub_user_change", staff.pk), data)
    assert response.status_code == 302, _errors(response)
    assert set(fresh(staff).groups.values_list("name", flat=True)) == {
        "Vendor: Support agent",
        "Vendor: Marketing manager",
    }
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_ROLE_CHANGED, actor=partner_ops).exists()
    # A partner user cannot be given a staff role: the service refuses and the page says why.
    data = _form_data(client.get(url("partnerhub_user_change", rep_a.pk)))
    data["roles"] = ["channel_manager"]
    refused = client.post(url("partnerhub_user_change", rep_a.pk), data)
    assert refused.status_code == 200
    assert b"Partner users cannot hold vendor staff roles" in refused.content
    assert not fresh(rep_a).is_staff


def test_channel_manager_has_no_user_or_key_pages(client, manager_a, rep_a):
    signed_in(client, manager_a)
    assert client.get(url("partnerhub_user_changelist")).status_code == 403
    assert client.get(url("partnerhub_apitoken_changelist")).status_code == 403
    assert client.post(url("partnerhub_user_change", manager_a.pk), {"roles": []}).status_code in (403, 404)
    assert fresh(manager_a).groups.filter(name="Vendor: Channel manager").exists()


def test_api_keys_are_listed_and_revoked_without_showing_secrets(client, superuser, rep_a):
    token, key = services.api_token_create(actor=rep_a, user=rep_a, name="CRM sync")
    signed_in(client, superuser)
    page = client.get(url("partnerhub_apitoken_changelist"))
    assert page.status_code == 200
    assert token.token_key.encode() in page.content
    assert key.encode() not in page.content
    assert token.digest.encode() not in page.content
    response = client.post(
        url("partnerhub_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.token_key], "index": "0"},
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REVOKED, actor=superuser).exists()


# Dashboard and query counts -------------------------------------------------------------------------------------


def _grow(manager, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        status = [PartnerStatus.ACTIVE, PartnerStatus.ONBOARDING, PartnerStatus.PROSPECT][i % 3]
        partner = make_partner(f"Scale Partner {i:03d}", status=status)
        services.channel_manager_assign(actor=None, partner=partner, manager=manager)
        make_member(partner, MembershipRole.ADMIN)


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["manager", "ops"])
def test_dashboard_queries_do_not_grow_with_partners(client, manager_a, partner_ops, role):
    user = manager_a if role == "manager" else partner_ops
    signed_in(client, user)
    _grow(manager_a, 3)
    small = _queries(client, url("index"))
    _grow(manager_a, 27, start=3)
    large = _queries(client, url("index"))
    assert small == large
    assert large <= 20


def test_dashboard_shows_only_the_scope(client, partner_a, partner_b, manager_a):
    services.partner_change_status(actor=None, partner=partner_b, status="suspended", reason="x")
    response = signed_in(client, manager_a).get(url("index"))
    dashboard = response.context["dashboard"]
    assert dashboard["total"] == 1 and dashboard["suspended_count"] == 0
    assert partner_b.name.encode() not in response.content
    # Bars are drawn on the server, coloured by class, linked to the filtered list.
    assert b'class="ph-chart__bar ph-chart__bar--active"' in response.content
    assert b"?status__exact=active" in response.content


@pytest.mark.parametrize(
    "name", ["partnerhub_partner_changelist", "partnerhub_membership_changelist", "partnerhub_auditevent_changelist"]
)
def test_changelist_queries_are_constant_as_rows_grow(client, manager_a, name):
    signed_in(client, manager_a)
    _grow(manager_a, 3)
    small = _queries(client, url(name))
    _grow(manager_a, 25, start=3)
    large = _queries(client, url(name))
    assert small == large


def test_partner_change_page_queries_do_not_grow_with_the_team(client, partner_a, manager_a):
    signed_in(client, manager_a)
    small = _queries(client, url("partnerhub_partner_change", partner_a.pk))
    for _ in range(10):
        make_member(partner_a)
    assert _queries(client, url("partnerhub_partner_change", partner_a.pk)) == small


# Content Security Policy: nothing inline ------------------------------------------------------------------------


INLINE_STYLE = re.compile(rb"\sstyle\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def test_console_pages_carry_no_inline_style_or_script(client, partner_a, admin_a, manager_a, partner_ops):
    signed_in(client, partner_ops)
    pages = [
        url("index"),
        url("partnerhub_partner_changelist"),
        url("partnerhub_partner_change", partner_a.pk),
        url("partnerhub_partner_add"),
        url("partnerhub_partnerbrand_change", partner_a.brand.pk),
        url("partnerhub_membership_changelist"),
        url("partnerhub_auditevent_changelist"),
        url("partnerhub_user_changelist"),
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src" in response["Content-Security-Policy"]
        assert not INLINE_STYLE.search(response.content), path
        assert not INLINE_SCRIPT.search(response.content), path
    confirmation = action(client, "suspend_partners", [partner_a.pk])
    assert not INLINE_STYLE.search(confirmation.content)


# The guard ----------------------------------------------------------------------------------------------------


def test_console_admins_cannot_override_the_scope():
    with pytest.raises(TypeError, match="must not define get_queryset"):

        class Leaky(ScopedModelAdmin):
            def get_queryset(self, request):
                return Partner.objects.all()

    with pytest.raises(TypeError, match="must not define get_object"):

        class Leaky2(ScopedModelAdmin):
            def get_object(self, request, object_id, from_field=None):
                return Partner.objects.get(pk=object_id)


def test_every_registered_console_page_is_scoped():
    from partnerhub.admin_site import ScopedInline, console

    for model_admin in console._registry.values():
        assert isinstance(model_admin, ScopedModelAdmin), type(model_admin)
        for inline in model_admin.inlines:
            assert issubclass(inline, ScopedInline), inline


# Helpers ------------------------------------------------------------------------------------------------------


def _form_data(page):
    """The POST data a browser would send for a change page as rendered (main form and inlines)."""
    data = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if name in ("channel_managers", "roles"):
            data[name] = [str(getattr(v, "pk", v)) for v in value or []]
        elif value is None:
            data[name] = ""
        elif hasattr(value, "pk"):
            data[name] = str(value.pk)
        else:
            data[name] = str(value)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = str(management.initial.get(name, ""))
        for sub in formset.forms:
            for name, field in sub.fields.items():
                value = sub.initial.get(name, field.initial)
                key = f"{sub.prefix}-{name}"
                if isinstance(value, bool):
                    if value:
                        data[key] = "on"
                elif value is None:
                    data[key] = ""
                elif hasattr(value, "pk"):
                    data[key] = str(value.pk)
                elif name == "logo":
                    continue
                else:
                    data[key] = str(value)
    return data


def _errors(response):
    if getattr(response, "context", None) and "errors" in response.context:
        return [str(e) for e in response.context["errors"]]
    return response.status_code


def test_membership_and_partner_of_the_other_partner_are_not_offered_in_forms(client, partner_a, partner_b, manager_a):
    page = signed_in(client, manager_a).get(url("partnerhub_invitation_add"))
    assert set(page.context["adminform"].form.fields["partner"].queryset.values_list("pk", flat=True)) == {partner_a.pk}
    response = client.post(
        url("partnerhub_invitation_add"), {"partner": str(partner_b.pk), "email": "x@bolt.example", "role": "rep"}
    )
    assert response.status_code == 200
    assert "partner" in response.context["adminform"].form.errors
    assert not Invitation.objects.filter(email="x@bolt.example").exists()


def test_user_page_shows_memberships(client, partner_ops, admin_a, partner_a):
    page = signed_in(client, partner_ops).get(url("partnerhub_user_change", admin_a.pk))
    assert page.status_code == 200
    assert partner_a.name.encode() in page.content
    assert b"Partner memberships" in page.content


def test_brand_list_shows_swatches(client, partner_a, manager_a):
    page = signed_in(client, manager_a).get(url("partnerhub_partnerbrand_changelist"))
    assert f'fill="{partner_a.brand.primary_color}"'.encode() in page.content


def test_partner_user_credentials_do_not_open_the_console(client, rep_a):
    from tests.factories import PASSWORD

    response = client.post(url("login"), {"username": rep_a.username, "password": PASSWORD, "next": url("index")})
    assert response.status_code == 200
    assert b"staff account" in response.content
    assert client.get(url("index")).status_code == 302


def test_channel_manager_invites_through_the_service(client, partner_a, manager_a):
    response = signed_in(client, manager_a).post(
        url("partnerhub_invitation_add"), {"partner": str(partner_a.pk), "email": "New.Rep@Acme.example", "role": "rep"}
    )
    assert response.status_code == 302, _errors(response)
    invitation = Invitation.objects.get(partner=partner_a, email="new.rep@acme.example")
    assert invitation.invited_by == manager_a and invitation.expires_at > invitation.created_at
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT, actor=manager_a, partner=partner_a).exists()
    again = client.post(
        url("partnerhub_invitation_add"), {"partner": str(partner_a.pk), "email": "new.rep@acme.example", "role": "rep"}
    )
    assert again.status_code == 200
    assert b"already has an open invitation" in again.content
    assert Invitation.objects.filter(partner=partner_a, email="new.rep@acme.example").count() == 1


def test_tiers_go_through_services_and_count_within_scope(client, partner_a, partner_b, partner_ops, manager_a):
    from partnerhub.models import Tier

    tier_data = {
        "name": "Diamond",
        "slug": "diamond",
        "rank": "9",
        "description": "",
        "min_annual_revenue": "1000000",
        "min_certified_reps": "10",
        "requirements": "",
        "benefits": "",
        "discount_percent": "30",
    }
    signed_in(client, partner_ops)
    assert client.post(url("partnerhub_tier_add"), tier_data).status_code == 302
    diamond = Tier.objects.get(slug="diamond")
    clash = client.post(url("partnerhub_tier_add"), {**tier_data, "name": "Obsidian", "slug": "obsidian"})
    assert clash.status_code == 200 and not Tier.objects.filter(slug="obsidian").exists()
    services.partner_update(actor=None, partner=partner_a, tier=diamond)
    services.partner_update(actor=None, partner=partner_b, tier=diamond)
    # A channel manager only counts the partners they manage, and cannot change tiers.
    signed_in(client, manager_a)
    tiers = client.get(url("partnerhub_tier_changelist")).context["cl"].result_list
    assert {t.slug: t.visible_partners for t in tiers}["diamond"] == 1
    assert client.post(url("partnerhub_tier_change", diamond.pk), {**tier_data, "rank": "10"}).status_code == 403
    assert fresh(diamond).rank == 9
