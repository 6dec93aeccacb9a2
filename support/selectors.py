"""Scoped reads of support. Tickets come through the access layer; messages, attachments and history are
filtered by who is reading (partner user, vendor staff, customer); articles by audience and grants."""

from __future__ import annotations

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import F, Func, Q, QuerySet, Value
from django.utils.html import escape
from django.utils.safestring import mark_safe

from partnerhub import access
from partnerhub.models import Partner
from partnerhub.querysets import known_related
from support import sla
from support.choices import ACTIVE_STATUSES, ArticleAudience, ArticleStatus, TicketStatus, Visibility
from support.models import (
    Article,
    ArticleGroupObjectPermission,
    SlaClock,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

PARTNER_VISIBLE = (Visibility.PUBLIC, Visibility.PARTNER_NOTE)


PARTNER_TICKET_JOINS = ("partner", "category", "assignee", "requester_user", "requester_customer")


def ticket_joins(user) -> tuple[str, ...]:
    """The relations a ticket list joins for ``user``: the vendor agent only for vendor staff (partner users
    never see it). One join less also keeps PostgreSQL's plan of a partner's scoped list on the partner's index
    (within ``join_collapse_limit``) instead of joining every ticket before the scope is applied."""
    if access.is_vendor_staff(user):
        return (*PARTNER_TICKET_JOINS, "vendor_assignee")
    return PARTNER_TICKET_JOINS


STAFF_TICKET_JOINS = ("partner", "category")
STAFF_TICKET_PREFETCHES = ("assignee", "requester_user", "requester_customer", "vendor_assignee")


def with_list_relations(qs: QuerySet[Ticket], user, partner: Partner | None = None) -> QuerySet[Ticket]:
    """What a ticket list shows besides the ticket. Vendor staff read tickets across many partners: their people and
    customers come in one query per relation (constant per page) rather than as joins, which would make PostgreSQL
    join (and hash on mostly empty customer ids) every ticket in scope before sorting a page.

    A list of one ``partner``'s tickets does not join the partner: every row refers to the partner object given
    (building the partner's columns for each of 50 rows cost more CPU than the rest of the row)."""
    qs = qs.select_related(None)
    staff = access.is_vendor_staff(user)
    joins = STAFF_TICKET_JOINS if staff else ticket_joins(user)
    if partner is not None:
        qs = known_related(qs, "partner", partner)
        joins = tuple(join for join in joins if join != "partner")
    if staff:
        return qs.select_related(*joins).prefetch_related(*STAFF_TICKET_PREFETCHES)
    return qs.select_related(*joins)


def ticket_list(*, user, action: str = "view", partner: Partner | None = None) -> QuerySet[Ticket]:
    """Tickets in scope with what a list shows of them; of ``partner`` only when one is given."""
    return with_list_relations(Ticket.objects.for_user(user, action, partner), user, partner)


def access_ticket(*, user, pk, action: str = "view") -> Ticket:
    return access.access_object(ticket_list(user=user, action=action), user, pk, action)


def visible_visibilities(user) -> tuple[str, ...]:
    """Which messages a signed-in person may read: vendor staff all, partner users never vendor notes."""
    if access.is_vendor_staff(user):
        return tuple(Visibility.values)
    return PARTNER_VISIBLE


def messages_for(*, user, ticket: Ticket) -> QuerySet[TicketMessage]:
    return (
        TicketMessage.objects.filter(ticket=ticket, visibility__in=visible_visibilities(user))
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments")
    )


def messages_for_customer(*, ticket: Ticket) -> QuerySet[TicketMessage]:
    return (
        TicketMessage.objects.filter(ticket=ticket, visibility=Visibility.PUBLIC)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments")
    )


def events_for(*, user, ticket: Ticket) -> QuerySet[TicketEvent]:
    qs = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    return qs if access.is_vendor_staff(user) else qs.filter(vendor_only=False)


def access_attachment(*, user, pk) -> TicketAttachment:
    """An attachment of a ticket in scope whose message the user may read; else NotFound."""
    tickets = ticket_list(user=user).values("pk")
    qs = TicketAttachment.objects.filter(ticket__in=tickets, message__visibility__in=visible_visibilities(user))
    return _get(qs, pk)


def _get(qs, pk):
    try:
        return qs.select_related("ticket", "message").get(pk=pk)
    except (TicketAttachment.DoesNotExist, ValueError, TypeError):
        raise access.NotFound("Not found.") from None


def customer_attachment(*, ticket: Ticket, pk) -> TicketAttachment:
    return _get(TicketAttachment.objects.filter(ticket=ticket, message__visibility=Visibility.PUBLIC), pk)


def clocks_for(*, user, ticket: Ticket) -> QuerySet[SlaClock]:
    qs = SlaClock.objects.filter(ticket=ticket).select_related("policy")
    return qs if access.is_vendor_staff(user) else qs.filter(scope="first_line")


# Desk queues ---------------------------------------------------------------------------------------------------


def _desk_queues(user) -> dict[str, Q]:
    """Which tickets each desk queue holds, as conditions on the partner's tickets (``all``: no condition)."""
    active = Q(status__in=ACTIVE_STATUSES)
    return {
        "open": active,
        "mine": active & Q(assignee=user),
        "unassigned": active & Q(assignee__isnull=True),
        "breaching": sla.breaching(),
        "escalated": Q(status=TicketStatus.ESCALATED),
        "resolved": Q(status__in=(TicketStatus.RESOLVED, TicketStatus.CLOSED)),
        "all": Q(),
    }


def desk(*, user, partner: Partner, queue: str = "open", search: str = "") -> QuerySet[Ticket]:
    """A partner's first-line desk: ``mine``, ``unassigned``, ``breaching`` (due within 4 h or breached),
    ``escalated``, ``open`` (every active ticket), ``resolved`` or ``all``."""
    qs = ticket_list(user=user, partner=partner)
    condition = _desk_queues(user).get(queue)
    if condition is not None:
        qs = qs.filter(condition)
    if search:
        if search.upper().startswith("T-") and search[2:].isdigit():
            qs = qs.filter(pk=int(search[2:]))
        else:
            qs = qs.filter(search_vector=SearchQuery(search, config="english", search_type="websearch"))
    return qs


def agent_queue(*, user, queue: str = "open") -> QuerySet[Ticket]:
    """Vendor agents' queue: escalated tickets from every partner in scope; ``mine``, ``unassigned``, ``open``."""
    qs = ticket_list(user=user).filter(escalated_at__isnull=False)
    if queue == "mine":
        qs = qs.filter(vendor_assignee=user, status=TicketStatus.ESCALATED)
    elif queue == "unassigned":
        qs = qs.filter(vendor_assignee__isnull=True, status=TicketStatus.ESCALATED)
    elif queue == "open":
        qs = qs.filter(status=TicketStatus.ESCALATED)
    return qs


# Knowledge base ------------------------------------------------------------------------------------------------


def _partner_articles_q(partners) -> Q:
    """The audience rule of articles for ``partners``. Tiers and grants are subqueries, not joins, so each article
    is one row: the lists need no ``DISTINCT``, and a search ranks its matches in the pass that finds them."""
    partner_ids = [p.pk for p in partners]
    tier_ids = [p.tier_id for p in partners if p.tier_id]
    group_ids = [p.members_group_id for p in partners]
    granted = ArticleGroupObjectPermission.objects.filter(
        group_id__in=group_ids, permission__codename="view_article"
    ).values("content_object_id")
    rule = (
        Q(partner_id__in=partner_ids)
        | Q(partner__isnull=True, audience=ArticleAudience.ALL)
        | Q(partner__isnull=True, audience=ArticleAudience.PARTNERS, pk__in=granted)
    )
    if tier_ids:
        for_tiers = Article.tiers.through.objects.filter(tier_id__in=tier_ids).values("article_id")
        rule |= Q(partner__isnull=True, audience=ArticleAudience.TIERS, pk__in=for_tiers)
    return rule


def articles_for_partner(partner: Partner, *, customers: bool = False) -> QuerySet[Article]:
    """Published articles one partner sees (and, with ``customers``, may show in its help center)."""
    qs = Article.objects.filter(status=ArticleStatus.PUBLISHED).filter(_partner_articles_q([partner]))
    if customers:
        qs = qs.filter(customer_visible=True)
    return qs


def article_list(*, user, partner: Partner | None = None) -> QuerySet[Article]:
    """Articles a signed-in person may read: vendor staff all; partner users their partners' visible ones
    (only ``partner`` when given — the portal's active partner). Each article once, without ``DISTINCT``."""
    if access.is_vendor_staff(user) and (user.is_superuser or user.has_perm("support.view_article")):
        if access.sees_all_partners(user):
            return Article.objects.all()
        # Vendor articles, and partners' private articles only for the partners this person manages.
        return Article.objects.filter(
            Q(partner__isnull=True) | Q(partner__in=access.managed_partners(user).values("pk"))
        )
    partners = access.member_partner_list(user, partner)
    if not partners:
        return Article.objects.none()
    return Article.objects.filter(status=ArticleStatus.PUBLISHED).filter(_partner_articles_q(partners))


def article_list_with_own(*, user) -> QuerySet[Article]:
    """``article_list`` plus, for partner admins, their partners' own articles in every status: the API lists
    what its caller reads and what they write (drafts and archived articles of their own partners)."""
    readable = article_list(user=user)
    if access.is_vendor_staff(user):
        return readable
    administered = access.member_partners(user, "administer_partner").values("pk")
    return Article.objects.filter(Q(pk__in=readable.values("pk")) | Q(partner__in=administered))


def access_article(*, user, pk, partner: Partner | None = None) -> Article:
    # Articles are not partner-owned rows (access.scoped refuses them): article_list is their whole scope.
    return _get_article(article_list(user=user, partner=partner), pk)


def _ranked_keys(articles: QuerySet[Article], query: SearchQuery) -> QuerySet:
    """The keys of the matches of ``query`` among ``articles``, best first (ties: newest key first)."""
    # Ranked in the pass that finds the matches: the keys and vectors alone, never the bodies.
    return (
        articles.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-id")
        .values("pk")
    )


def search_articles(articles: QuerySet[Article], text: str, *, limit: int = 20, offset: int = 0) -> list[Article]:
    """Full-text search with ranking and highlighted snippets (``article.headline``): the ``limit`` best matches
    after the first ``offset``."""
    text = (text or "").strip()
    if not text:
        return list(articles.order_by("-published_at", "-id")[offset : offset + limit])
    query = SearchQuery(text, config="english", search_type="websearch")
    best = _ranked_keys(articles, query)[offset : offset + limit]
    # Only the page's articles are read in full, with their category and a snippet.
    plain_body = Func(F("body"), Value("<[^>]+>"), Value(" "), Value("g"), function="regexp_replace")
    found = list(
        Article.objects.filter(pk__among=best)
        .select_related("category")  # shown with every result
        .annotate(
            rank=SearchRank(F("search_vector"), query),
            raw_headline=SearchHeadline(
                plain_body,
                query,
                config="english",
                start_sel=_MARK_ON,
                stop_sel=_MARK_OFF,
                max_words=30,
                min_words=12,
                max_fragments=2,
            ),
        )
        .order_by("-rank", "-id")
    )
    for article in found:
        article.headline = highlight(article.raw_headline)
    return found


class ArticleSearch:
    """The matches of a search among ``articles``, for ``partnerhub.pagination.Paginator``: a slice is one page of
    ``search_articles`` (ranked, with snippets), and the matches are counted without ranking them, up to a cap
    when the paginator has one (``count_up_to``)."""

    def __init__(self, articles: QuerySet[Article], text: str):
        self.articles = articles
        self.text = text.strip()
        self.search_query = SearchQuery(self.text, config="english", search_type="websearch")

    def _matching_keys(self) -> QuerySet:
        return self.articles.filter(search_vector=self.search_query).order_by().values("pk")

    def count(self) -> int:
        return self._matching_keys().count()

    def count_up_to(self, limit: int) -> int:
        return self._matching_keys()[:limit].count()

    def __getitem__(self, k):
        if not isinstance(k, slice) or k.step is not None:
            raise TypeError("ArticleSearch is read a page at a time, with a slice.")
        start = k.start or 0
        if k.stop is None or start < 0 or k.stop < start:
            raise ValueError("ArticleSearch needs a bounded slice.")
        return search_articles(self.articles, self.text, limit=k.stop - start, offset=start)


_MARK_ON, _MARK_OFF = "\x02", "\x03"


def highlight(raw: str) -> str:
    """A search snippet as safe HTML: everything escaped, only the matches wrapped in <mark>."""
    return mark_safe(  # noqa: S308 (escaped first; only our own <mark> tags are added)
        escape(raw or "").replace(_MARK_ON, "<mark>").replace(_MARK_OFF, "</mark>")
    )


def suggest_articles(*, partner: Partner, text: str, customers: bool = False, limit: int = 5) -> list[Article]:
    """Articles that may answer a ticket being written (subject and description so far)."""
    words = " OR ".join(w for w in (text or "").replace('"', " ").split() if len(w) > 3)[:400]
    if not words:
        return []
    return search_articles(articles_for_partner(partner, customers=customers), words, limit=limit)


# Portal helpers ------------------------------------------------------------------------------------------------


def own_articles(*, user, partner: Partner) -> QuerySet[Article]:
    """Every article a partner wrote (drafts and archived ones too), for that partner's admins only."""
    if partner is None or access.is_vendor_staff(user) or not access.can(user, "change", partner):
        return Article.objects.none()
    return Article.objects.filter(partner=partner).select_related("category")


def access_own_article(*, user, partner: Partner, pk) -> Article:
    """One of the partner's own articles for its admins to edit; NotFound for anything else."""
    return _get_article(own_articles(user=user, partner=partner), pk)


def _get_article(qs, pk) -> Article:
    try:
        return qs.get(pk=pk)
    except (Article.DoesNotExist, ValueError, TypeError):
        raise access.NotFound("Not found.") from None


def customer_list(*, user, partner: Partner) -> QuerySet:
    """The partner's end customers the user may see (the access layer decides)."""
    from support.models import Customer

    return Customer.objects.for_user(user, partner=partner)


def vendor_agents(*, limit: int = 100):
    """Vendor staff who work escalations (to hand an escalated ticket to), by name."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    perm = {"codename": "work_escalations", "content_type__app_label": "support"}
    holders = Q(groups__permissions__in=_permissions(perm)) | Q(user_permissions__in=_permissions(perm))
    return users.filter(holders | Q(is_superuser=True)).distinct().order_by("first_name", "last_name", "id")[:limit]


def _permissions(lookup: dict):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(**lookup).values("pk")


def with_sla_due(qs: QuerySet[Ticket], scope: str = "first_line") -> QuerySet[Ticket]:
    """Annotate ``sla_due``: when the ticket's next running clock of ``scope`` is due (None if none runs)."""
    return qs.annotate(sla_due=sla.due_expression([scope]))


DESK_QUEUES = ("open", "mine", "unassigned", "breaching", "escalated", "resolved", "all")


def desk_counts(*, user, partner: Partner) -> dict[str, int]:
    """How many tickets each desk queue holds: one pass over the partner's tickets, a conditional count per
    queue (the scope is built and checked once, not once per queue)."""
    from django.db.models import Count

    queues = _desk_queues(user)
    tickets = Ticket.objects.for_user(user, partner=partner)
    return tickets.aggregate(**{queue: Count("pk", filter=queues[queue]) for queue in DESK_QUEUES})
