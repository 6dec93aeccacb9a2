"""Support's part of ``seed_scale`` at a small fraction: tickets of existing partners with their threads,
history and SLA clocks, end customers, and a searchable knowledge base that partners read through the access
layer."""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Q
from django.utils import timezone

from partnerhub import scale
from partnerhub.models import Partner, User
from support import scale as support_scale
from support import selectors
from support.choices import TicketStatus, Visibility
from support.models import Article, ArticleGroupObjectPermission, Customer, SlaClock, Ticket, TicketEvent, TicketMessage

pytestmark = pytest.mark.django_db

FACTOR = 0.002  # 400 tickets, 4 + 40 articles


@pytest.fixture
def seeded():
    ctx = scale.seed_core(partners=12, users_per_partner=3, managers=1, partners_per_manager=12, log=lambda _: None)
    ctx.factor = FACTOR
    support_scale.seed(ctx)
    return ctx


def test_tickets_belong_to_seeded_partners_and_their_people(seeded):
    tickets = Ticket.objects.all()

    assert tickets.count() == round(support_scale.TICKETS * FACTOR)
    assert set(tickets.values_list("partner_id", flat=True)) <= set(seeded.partner_ids)
    # The long tail: the first partner created has the busiest desk.
    per_partner = dict(tickets.values_list("partner").annotate(n=Count("id")))
    assert per_partner[seeded.partner_ids[0]] == max(per_partner.values())
    for ticket in tickets.exclude(requester_user=None).exclude(assignee=None)[:50]:
        team = {*seeded.rep_user_ids[ticket.partner_id], seeded.admin_user_ids[ticket.partner_id]}
        assert {ticket.requester_user_id, ticket.assignee_id} <= team
    assert not tickets.filter(requester_customer__isnull=False).exclude(requester_customer__partner=F("partner"))
    assert Customer.objects.filter(partner_id__in=seeded.partner_ids).exists()


def test_tickets_spread_over_statuses_priorities_and_escalations(seeded):
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert statuses == set(TicketStatus.values)
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"low", "normal", "high", "urgent"}
    escalated = Ticket.objects.filter(escalated_at__isnull=False)
    assert escalated.exists() and not Ticket.objects.filter(status="escalated", escalated_at=None).exists()
    assert not Ticket.objects.filter(status__in=("resolved", "closed"), resolved_at=None).exists()
    assert not Ticket.objects.filter(status="closed", closed_at=None).exists()
    assert not Ticket.objects.filter(resolved_at__lt=F("created_at")).exists()


def test_every_ticket_has_a_thread_history_and_first_line_clocks(seeded):
    tickets = Ticket.objects.count()
    opened = TicketMessage.objects.filter(visibility=Visibility.PUBLIC).values("ticket").distinct().count()
    assert opened == tickets
    assert TicketMessage.objects.count() > 2 * tickets
    # Vendor notes only on escalated tickets; every ticket has a "created" event.
    assert not TicketMessage.objects.filter(visibility=Visibility.VENDOR_NOTE, ticket__escalated_at=None).exists()
    assert TicketEvent.objects.filter(kind="created").count() == tickets
    assert SlaClock.objects.filter(scope="first_line").count() == 2 * tickets
    assert SlaClock.objects.filter(scope="escalation").count() == 2 * Ticket.objects.exclude(escalated_at=None).count()
    # A pending ticket's resolution clock is paused; a met clock is never met in the future.
    assert not SlaClock.objects.filter(ticket__status="pending", target="resolution", paused_since=None).exists()
    assert not SlaClock.objects.filter(met_at__gt=timezone.now()).exists()


def test_search_vectors_are_filled_and_find_rows(seeded):
    assert not Ticket.objects.filter(search_vector=None).exists()
    assert not Article.objects.filter(search_vector=None).exists()
    partner = Partner.objects.get(pk=seeded.partner_ids[1])
    admin = User.objects.get(pk=seeded.admin_user_ids[partner.pk])

    found = selectors.search_articles(
        selectors.article_list(user=admin, partner=partner), support_scale.KB_SEARCH, limit=50
    )
    desk = selectors.desk(user=admin, partner=partner, queue="all", search="firmware")

    assert found and all(a.partner_id in (None, partner.pk) for a in found)
    assert desk.exists() and set(desk.values_list("partner_id", flat=True)) == {partner.pk}


def test_knowledge_base_has_vendor_articles_by_audience_and_partners_private_ones(seeded):
    vendor = Article.objects.filter(partner=None)
    assert set(vendor.values_list("audience", flat=True)) <= {"all", "tiers", "partners"}
    assert not Article.objects.filter(~Q(audience="private"), partner__isnull=False).exists()
    for article in vendor.filter(audience="partners"):
        assert ArticleGroupObjectPermission.objects.filter(content_object=article).exists()
    for article in vendor.filter(audience="tiers"):
        assert article.tiers.exists()
    assert Article.objects.filter(partner__isnull=False).count() == round(support_scale.PARTNER_ARTICLES * FACTOR)


def test_desk_counts_in_one_query_match_each_queue(seeded, django_assert_num_queries):
    partner = Partner.objects.get(pk=seeded.partner_ids[0])
    for user_id in (seeded.admin_user_ids[partner.pk], seeded.rep_user_ids[partner.pk][0]):
        user = User.objects.get(pk=user_id)
        expected = {q: selectors.desk(user=user, partner=partner, queue=q).count() for q in selectors.DESK_QUEUES}

        with django_assert_num_queries(1):
            counts = selectors.desk_counts(user=user, partner=partner)

        assert counts == expected and counts["all"] == Ticket.objects.filter(partner=partner).count()


def test_every_ticket_stores_when_its_running_clocks_are_due(seeded):
    # The desk sorts and counts by the ticket's own columns: the seed fills them as the services do
    running = SlaClock.objects.filter(met_at__isnull=True, paused_since__isnull=True)
    expected = {pk: [None, None] for pk in Ticket.objects.values_list("pk", flat=True)}
    for ticket_id, scope, due in running.values_list("ticket_id", "scope", "due_at"):
        slot = 0 if scope == "first_line" else 1
        if due is not None and (expected[ticket_id][slot] is None or due < expected[ticket_id][slot]):
            expected[ticket_id][slot] = due
    stored = {
        pk: [first, esc]
        for pk, first, esc in Ticket.objects.values_list("pk", "first_line_due_at", "escalation_due_at")
    }
    assert stored == expected
    assert any(first for first, _ in stored.values()) and any(esc for _, esc in stored.values())
