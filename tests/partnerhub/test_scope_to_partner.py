"""``access.scope_to_partner`` (``for_user(user, action, partner)``): one partner's rows, with the permission
answered from the portal's read of the user's partners when it can be, and always the same rows as the full scope
narrowed to the partner."""

import pytest

from comarketing.models import FundRequest
from partnerhub import access, selectors, services
from partnerhub.choices import PartnerStatus
from partnerhub.models import Invitation, Membership, Partner, PartnerGroupObjectPermission
from support import services as support_services
from support.models import Ticket

pytestmark = pytest.mark.django_db

GRANTS = PartnerGroupObjectPermission._meta.db_table  # in the SQL of the full scope, never in the shortcut's


def ids(qs):
    return sorted(qs.values_list("pk", flat=True))


def expected(model, user, partner, action):
    return ids(access.scope(model.objects.all(), user, action).filter(partner=partner.pk))


@pytest.fixture
def rows(partner_a, partner_b, admin_a, admin_b):
    for partner, admin in ((partner_a, admin_a), (partner_b, admin_b)):
        services.invitation_create(actor=admin, partner=partner, email=f"new@{partner.slug}.example", role="rep")
        for subject in ("Printer offline", "Licence renewal"):
            support_services.ticket_open(partner=partner, actor=admin, subject=subject, description="Details.")


def read_partner(user, partner):
    """The partner object as the portal holds it for ``user``: read by ``selectors.user_partners``."""
    return next(p for p in selectors.user_partners(user=user) if p.pk == partner.pk)


@pytest.mark.parametrize("model", [Membership, Invitation, Ticket, FundRequest])
@pytest.mark.parametrize("action", ["view", "change", "delete"])
def test_the_same_rows_as_the_full_scope_for_every_role(
    rows, model, action, partner_a, partner_b, admin_a, rep_a, admin_b, manager_a, superuser
):
    for user in (admin_a, rep_a, admin_b, manager_a, superuser):
        for partner in (partner_a, partner_b):
            want = expected(model, user, partner, action)
            fresh = Partner.objects.get(pk=partner.pk)
            assert ids(model.objects.for_user(user, action, fresh)) == want, (user.username, partner.slug)
            for holder in (admin_a, rep_a, admin_b):
                if Membership.objects.filter(user=holder, partner=partner, is_active=True).exists():
                    held = read_partner(holder, partner)
                    got = ids(model.objects.for_user(user, action, held))
                    assert got == want, (model.__name__, action, user.username, holder.username, partner.slug)


def test_a_partner_read_for_the_user_is_filtered_by_its_key_alone(rows, partner_a, admin_a, rep_a):
    held = read_partner(admin_a, partner_a)
    for model, action in ((Membership, "view"), (Invitation, "view"), (Ticket, "change"), (Membership, "delete")):
        qs = model.objects.for_user(admin_a, action, held)
        assert GRANTS not in str(qs.query), (model.__name__, action)
        assert ids(qs) == expected(model, admin_a, partner_a, action)

    rep_held = read_partner(rep_a, partner_a)
    assert GRANTS not in str(Membership.objects.for_user(rep_a, partner=rep_held).query)
    # A rep does not administer the partner: an admin-only list takes the full scope, and it is empty.
    invitations = Invitation.objects.for_user(rep_a, partner=rep_held)
    assert GRANTS in str(invitations.query)
    assert not invitations.exists()


def test_another_users_partner_object_takes_the_full_scope(rows, partner_a, admin_a, admin_b, manager_a, rep_a):
    held = read_partner(admin_a, partner_a)
    for user in (admin_b, manager_a, rep_a):
        qs = Membership.objects.for_user(user, partner=held)
        assert GRANTS in str(qs.query) or access.is_vendor_staff(user)
    assert not Membership.objects.for_user(admin_b, partner=held).exists()
    assert not Invitation.objects.for_user(rep_a, partner=held).exists()
    got = ids(Membership.objects.for_user(manager_a, partner=held))
    assert got == expected(Membership, manager_a, partner_a, "view")


def test_vendor_staff_who_are_also_members_take_the_staff_scope(rows, partner_a, rep_a):
    # A member who is later made vendor staff acts as staff only, even on their own partner: the shortcut never
    # applies to staff, so the read partner does not open the partner's rows to them.
    rep_a.is_staff = True
    rep_a.save(update_fields=["is_staff"])
    held = read_partner(rep_a, partner_a)
    assert ids(Membership.objects.for_user(rep_a, partner=held)) == expected(Membership, rep_a, partner_a, "view") == []
    assert ids(Ticket.objects.for_user(rep_a, partner=held)) == expected(Ticket, rep_a, partner_a, "view") == []


def test_a_suspended_partner_is_not_read_and_answers_nothing(rows, partner_a, admin_a, manager_a):
    services.partner_suspend(actor=manager_a, partner=partner_a, reason="Review")
    assert partner_a.pk not in [p.pk for p in selectors.user_partners(user=admin_a)]
    fresh = Partner.objects.get(pk=partner_a.pk)
    assert fresh.status == PartnerStatus.SUSPENDED
    assert not Membership.objects.for_user(admin_a, partner=fresh).exists()
    assert not Ticket.objects.for_user(admin_a, partner=fresh).exists()


def test_a_model_without_a_partner_key_is_refused(partner_a, admin_a):
    with pytest.raises(TypeError, match="not partner-owned"):
        access.scope_to_partner(Partner.objects.all(), admin_a, partner_a)


def test_one_partners_tickets_refer_to_the_partner_in_hand(rows, partner_a, admin_a, django_assert_num_queries):
    from support import selectors as support_selectors

    held = read_partner(admin_a, partner_a)
    page = support_selectors.ticket_list(user=admin_a, partner=held).order_by("-id")
    assert '"partnerhub_partner"' not in str(page.query)  # not joined
    tickets = list(page[:50])  # keys first, then the rows: the partner object survives both steps
    assert len(tickets) == 2
    with django_assert_num_queries(0):
        assert all(ticket.partner is held for ticket in tickets)
    fresh = Partner.objects.get(pk=partner_a.pk)  # a partner object not read for the user: the full scope
    tickets = list(support_selectors.ticket_list(user=admin_a, partner=fresh).order_by("-id")[:50])
    with django_assert_num_queries(0):
        assert [ticket.partner for ticket in tickets] == [fresh, fresh]
