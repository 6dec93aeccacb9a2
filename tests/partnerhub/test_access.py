"""The access layer with two partners and every role."""

import pytest
from guardian.shortcuts import assign_perm

from partnerhub import access, services
from partnerhub.choices import MembershipRole, PartnerStatus
from partnerhub.models import Invitation, Membership, Partner

pytestmark = pytest.mark.django_db


def ids(qs):
    return set(qs.values_list("pk", flat=True))


def test_partner_users_see_only_their_partner(partner_a, partner_b, admin_a, rep_a, admin_b):
    assert ids(Partner.objects.for_user(rep_a)) == {partner_a.pk}
    assert ids(Partner.objects.for_user(admin_b)) == {partner_b.pk}
    assert ids(Membership.objects.for_user(rep_a)) == set(
        Membership.objects.filter(partner=partner_a).values_list("pk", flat=True)
    )
    assert not Membership.objects.for_user(rep_a).filter(partner=partner_b).exists()


def test_the_portals_partners_carry_the_users_admin_rights(partner_a, partner_b, admin_a, rep_a):
    # The portal reads a user's partners and, with them, whether the user administers each one (no query of
    # its own per page); the flag must agree with access.can for every partner and role.
    from partnerhub import selectors

    services.membership_add(actor=None, partner=partner_b, user=admin_a, role=MembershipRole.REP)
    for user in (admin_a, rep_a):
        for partner in selectors.user_partners(user=user):
            assert partner.user_administers == access.can(user, "change", partner), (user.username, partner.name)
    read = {p.pk: p.user_administers for p in selectors.user_partners(user=admin_a)}
    assert read == {partner_a.pk: True, partner_b.pk: False}


def test_rep_cannot_administer_but_admin_can(partner_a, admin_a, rep_a):
    assert ids(Partner.objects.for_user(rep_a, "change")) == set()
    assert ids(Partner.objects.for_user(admin_a, "change")) == {partner_a.pk}
    assert not Membership.objects.for_user(rep_a, "change").exists()
    assert Membership.objects.for_user(admin_a, "change").count() == 2
    assert ids(access.partners_for(rep_a, Invitation, "add")) == set()
    assert ids(access.partners_for(admin_a, Invitation, "add")) == {partner_a.pk}


def test_channel_manager_sees_granted_partners_only(partner_a, partner_b, manager_a, manager_b, admin_a, admin_b):
    assert ids(Partner.objects.for_user(manager_a)) == {partner_a.pk}
    assert ids(Partner.objects.for_user(manager_b)) == {partner_b.pk}
    assert set(Membership.objects.for_user(manager_a).values_list("partner_id", flat=True)) == {partner_a.pk}


def test_channel_manager_with_some_partners(partner_a, partner_b, manager_a):
    third = services.partner_create(actor=None, name="Crest Referral", partner_type="referral", status="active")
    services.channel_manager_assign(actor=None, partner=third, manager=manager_a)
    manager_a = type(manager_a).objects.get(pk=manager_a.pk)
    assert ids(Partner.objects.for_user(manager_a)) == {partner_a.pk, third.pk}
    services.channel_manager_unassign(actor=None, partner=partner_a, manager=manager_a)
    assert ids(Partner.objects.for_user(manager_a)) == {third.pk}


def test_vendor_wide_role_sees_every_partner(partner_a, partner_b, partner_ops, superuser):
    assert ids(Partner.objects.for_user(partner_ops)) >= {partner_a.pk, partner_b.pk}
    assert ids(Partner.objects.for_user(superuser)) >= {partner_a.pk, partner_b.pk}


def test_anonymous_and_inactive_see_nothing(partner_a, rep_a):
    from django.contrib.auth.models import AnonymousUser

    assert not Partner.objects.for_user(AnonymousUser()).exists()
    rep_a.is_active = False
    assert not Partner.objects.for_user(rep_a).exists()


def test_global_permission_never_widens_partner_user(partner_a, partner_b, rep_a):
    """A stray model-level permission on a partner user's group must not reveal partner B."""
    assign_perm("partnerhub.view_membership", partner_a.members_group)
    assign_perm("partnerhub.access_partner", partner_a.members_group)
    rep = type(rep_a).objects.get(pk=rep_a.pk)
    assert ids(Partner.objects.for_user(rep)) == {partner_a.pk}
    assert not Membership.objects.for_user(rep).filter(partner=partner_b).exists()
    assert not rep.has_perm("partnerhub.view_membership")


def test_suspended_partner_drops_out_of_scope(partner_a, rep_a, manager_a):
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Unpaid invoices")
    assert not Partner.objects.for_user(rep_a).exists()
    assert ids(Partner.objects.for_user(manager_a)) == {partner_a.pk}


def test_deactivated_member_loses_access(partner_a, admin_a, rep_a):
    membership = Membership.objects.get(user=rep_a, partner=partner_a)
    services.membership_deactivate(actor=admin_a, membership=membership)
    rep = type(rep_a).objects.get(pk=rep_a.pk)
    assert not Partner.objects.for_user(rep).exists()


def test_person_in_two_partners_sees_both(partner_a, partner_b, rep_a):
    services.membership_add(actor=None, partner=partner_b, user=rep_a, role=MembershipRole.REP)
    assert ids(Partner.objects.for_user(rep_a)) == {partner_a.pk, partner_b.pk}


def test_access_object_hides_existence(partner_a, partner_b, rep_a):
    assert access.access_object(Partner, rep_a, partner_a.pk) == partner_a
    with pytest.raises(access.NotFound):
        access.access_object(Partner, rep_a, partner_b.pk)
    with pytest.raises(access.NotFound):
        access.access_object(Partner, rep_a, 987654321)
    with pytest.raises(access.NotFound):
        access.access_object(Partner, rep_a, "not-a-number")


def test_partner_users_hold_no_global_permissions(partner_a, admin_a, rep_a):
    for user in (admin_a, rep_a):
        user = type(user).objects.get(pk=user.pk)
        assert user.get_all_permissions() == set()


def test_status_lifecycle_is_enforced(partner_a, manager_a):
    from partnerhub.errors import ConflictError, DomainError

    with pytest.raises(DomainError):
        services.partner_suspend(actor=manager_a, partner=partner_a, reason="")
    services.partner_change_status(actor=manager_a, partner=partner_a, status=PartnerStatus.OFFBOARDED, reason="Left")
    with pytest.raises(ConflictError):
        services.partner_reactivate(actor=manager_a, partner=partner_a)


def test_row_sql_refers_to_the_row_under_any_alias(partner_a, partner_b):
    # The portal's partner facts are SQL text with {pk} for the row's key: it must follow the table's alias
    from django.db.models import BooleanField

    from partnerhub.expressions import RowSQL

    is_a = RowSQL("{pk} = %s", [partner_a.pk], output_field=BooleanField())
    assert list(Partner.objects.annotate(is_a=is_a).filter(is_a=True)) == [partner_a]
    inner = Partner.objects.annotate(is_a=is_a).filter(is_a=False).values("pk")
    assert set(Partner.objects.filter(pk__in=inner)) == {partner_b}  # the inner table is aliased there


def test_partners_read_for_a_user_answer_for_that_user_only(partner_a, partner_b, admin_a, rep_a, admin_b):
    # The portal reads the user's partners once per request; asking the access layer about one of those
    # objects again, for the same user, needs no query. For anyone else it is asked of the database.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerhub import selectors

    (read,) = selectors.user_partners(user=admin_a)
    with CaptureQueriesContext(connection) as queries:
        assert access.can(admin_a, "view", read) is True
        assert access.can(admin_a, "change", read) is True
        assert access.member_partner_list(admin_a, read) == [read]
    assert not queries.captured_queries

    assert access.can(rep_a, "view", read) is True
    assert access.can(rep_a, "change", read) is False
    assert access.can(admin_b, "view", read) is False
    assert access.member_partner_list(admin_b, read) == []
    (rep_read,) = selectors.user_partners(user=rep_a)
    assert access.can(rep_a, "change", rep_read) is False
    assert access.member_partner_list(rep_a, Partner.objects.get(pk=partner_b.pk)) == []


def test_partner_scopes_read_the_granted_keys_first(partner_a, partner_b, admin_a, manager_a):
    # A channel manager's 100 partners among 10,000: "id IN (grants)" let PostgreSQL merge the grants with a walk
    # of the whole partner key index in list order; "id = ANY(ARRAY(grants))" reads the granted keys first and
    # fetches only those partners (docs/PERFORMANCE.md, section 11). Same rows either way.
    scopes = [
        Partner.objects.for_user(admin_a),
        access.member_partners(admin_a),
        Partner.objects.for_user(manager_a),
        access.managed_partners(manager_a),
    ]
    for queryset in scopes:
        assert '"partnerhub_partner"."id" = ANY(ARRAY(' in str(queryset.query)
    assert ids(Partner.objects.for_user(manager_a)) == {partner_a.pk}
    assert ids(access.member_partners(admin_a)) == {partner_a.pk}
    assert ids(access.managed_partners(manager_a)) == {partner_a.pk}
