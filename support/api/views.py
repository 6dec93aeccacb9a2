"""Viewsets of the support API. Thin: each parses input, reads through the scoped bases or a selector, and calls
one service.

* Tickets and customers are partner-owned: ``ScopedGenericViewSet`` scopes every read with the access layer
  (support agents see escalated tickets only, through ``Ticket.restrict_for_staff``); another partner's ticket
  answers 404 on every route below it, including its messages, attachments and files.
* A ticket's messages, attachments and history are read through ``support.selectors`` for the caller: partner
  users never get vendor notes, their attachments or vendor-only events. Writes go through ``ticket_reply``.
* Articles and partner metrics come from one selector each (``SelectorViewSet``): the selector is the only
  source of rows.
* SLA policies, business hours and categories are program-wide configuration (``ProgramDataViewSet``): every
  signed-in user reads them, vendor staff holding the model permission write them through services.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django_filters import utils as filter_utils
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from partnerhub import access, metrics
from partnerhub.api.base import ProgramDataViewSet, ScopedGenericViewSet, SelectorViewSet
from partnerhub.api.pagination import StableCursorPagination
from partnerhub.api.serializers import ConflictErrorResponseSerializer
from partnerhub.models import Partner
from support import selectors, services, sla
from support.api.filtersets import ArticleFilterSet, CustomerFilterSet, TicketFilterSet, visible_clock_scopes
from support.api.serializers import (
    ArticlePatchSerializer,
    ArticleSearchResultsSerializer,
    ArticleSearchSerializer,
    ArticleSerializer,
    ArticleVoteSerializer,
    ArticleVotesSerializer,
    ArticleWriteSerializer,
    AttachmentUploadSerializer,
    BusinessHoursSerializer,
    CategorySerializer,
    CustomerSerializer,
    EscalateSerializer,
    MessageCreateSerializer,
    PartnerMetricsSerializer,
    RateSerializer,
    SlaPolicySerializer,
    TicketAttachmentSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketEventSerializer,
    TicketMessageSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    VendorAssignSerializer,
    visible_partner_ids,
)
from support.choices import Channel
from support.models import (
    Article,
    ArticleGroupObjectPermission,
    BusinessHours,
    Category,
    Customer,
    SlaPolicy,
    Ticket,
    TicketAttachment,
)

CONFLICT = OpenApiResponse(ConflictErrorResponseSerializer, description="The request clashes with the current state.")
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain")
METRIC_KEYS = {"support.sla_attainment": "sla_attainment", "support.first_line_resolution": "first_line_resolution"}
METRICS_DEFAULT_DAYS = 90


WRITES = ["post", "put", "patch"]


def service_errors(*fields: str, **where):
    """Document the ``invalid`` errors a service raises for these inputs (``DomainError(field=...)``, and
    ``non_field_errors`` for one without a field), which no serializer field declares by itself."""

    def decorate(view):
        for name in (*fields, "non_field_errors"):
            view = extend_validation_errors(["invalid"], field_name=name, **where)(view)
        return view

    return decorate


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ThreadPagination(StableCursorPagination):
    """Messages, attachments and history read oldest first, like the conversation they are."""

    ordering = "id"


def with_next_due(queryset: QuerySet[Ticket], user) -> QuerySet[Ticket]:
    """Annotate ``next_due_at``: when the earliest running SLA clock ``user`` may see is due (the ticket's own
    columns, kept by ``support.sla``)."""
    return queryset.annotate(next_due_at=sla.due_expression(visible_clock_scopes(user)))


# Tickets -------------------------------------------------------------------------------------------------------


class TicketPermission(permissions.BasePermission):
    """Tickets are opened by the partner's team (vendor staff answer them); which partner is the ``partner``
    field's to check, where another partner's id reads like a missing one."""

    def has_permission(self, request, view):
        if view.action == "create" and not access.partners_for(request.user, Ticket, "add").exists():
            raise exceptions.PermissionDenied("Tickets are opened by the partner's team; vendor staff answer them.")
        return True


ATTACHMENT_ID = OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Attachment id.")


@service_errors("subject", "description", "priority", "customer", "requester", "assignee", actions=["create"])
@service_errors("status", "priority", "assignee", "note", actions=["partial_update"])
@service_errors("body", "visibility", "attachments", actions=["messages"], methods=["post"])
@service_errors("body", "visibility", "attachments", "files", actions=["attachments"], methods=["post"])
@service_errors("reason", actions=["escalate"])
@service_errors("agent", actions=["assign_vendor"])
@service_errors("rating", actions=["rate"])
@extend_schema_view(
    list=extend_schema(summary="Tickets in your scope"),
    retrieve=extend_schema(summary="A ticket with the SLA clocks you may see"),
    create=extend_schema(
        request=TicketCreateSerializer,
        responses={201: TicketDetailSerializer, 409: CONFLICT},
        summary="Open a ticket",
        description="For one of your partners: for yourself, a teammate (`requester`) or an end customer "
        "(`customer`). The first-line SLA clocks start.",
    ),
    partial_update=extend_schema(
        request=TicketUpdateSerializer,
        responses={200: TicketDetailSerializer, 409: CONFLICT},
        summary="Change status, priority or assignee",
        description="Each change goes through its own rules and is kept in the ticket's history; if one is "
        "refused, none is applied.",
    ),
)
class TicketViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Support tickets of the partners in the caller's scope. Support agents see escalated tickets only."""

    base_queryset = Ticket.objects.select_related(
        "partner", "category", "assignee", "vendor_assignee", "requester_user", "requester_customer"
    )
    serializer_class = TicketSerializer
    filterset_class = TicketFilterSet
    permission_classes = [permissions.IsAuthenticated, TicketPermission]
    http_method_names = ["get", "post", "patch", "head", "options"]
    # Reading the thread needs the ticket in view; writing to it is the service's to allow (it answers 403).
    action_access = {
        "messages": "view",
        "attachments": "view",
        "attachment_download": "view",
        "events": "view",
        "rate": "view",
        "escalate": "change",
        "assign_vendor": "change",
    }

    def get_serializer_class(self):
        return {
            "retrieve": TicketDetailSerializer,
            "create": TicketCreateSerializer,
            "partial_update": TicketUpdateSerializer,
        }.get(self.action, TicketSerializer)

    def filter_queryset(self, queryset):
        user = self.request.user
        queryset = selectors.with_list_relations(queryset, user)
        return with_next_due(super().filter_queryset(queryset), user)

    def _ticket_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        # Read back through the scoped queryset: the answer shows what the caller may see now.
        ticket = with_next_due(self.get_queryset(), self.request.user).get(pk=pk)
        return Response(TicketDetailSerializer(ticket, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        ticket = self.perform_create(serializer)
        return self._ticket_response(ticket.pk, status.HTTP_201_CREATED)

    def create_object(self, serializer):
        data = serializer.validated_data
        return services.ticket_open(
            actor=self.request.user,
            partner=data["partner"],
            subject=data["subject"],
            description=data["description"],
            category=data.get("category"),
            priority=data["priority"],
            customer=data.get("customer"),
            requester=data.get("requester"),
            assignee=data.get("assignee"),
            channel=Channel.API,
        )

    def partial_update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(
            ticket, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        ticket = self.perform_update(serializer)
        return self._ticket_response(ticket.pk)

    def update_object(self, serializer):
        ticket, data, actor = serializer.instance, serializer.validated_data, self.request.user
        if "assignee" in data:
            ticket = services.ticket_assign(actor=actor, ticket=ticket, assignee=data["assignee"])
        if "priority" in data:
            ticket = services.ticket_set_priority(actor=actor, ticket=ticket, priority=data["priority"])
        if "status" in data:
            ticket = services.ticket_set_status(
                actor=actor, ticket=ticket, status=data["status"], note=data.get("note", "")
            )
        return ticket

    # Business operations --------------------------------------------------------------------------------------

    @extend_schema(
        request=EscalateSerializer,
        responses={200: TicketDetailSerializer, 409: CONFLICT},
        summary="Escalate to the vendor",
        description="The partner's team hands the ticket to the vendor's second line; the vendor's SLA clocks start.",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def escalate(self, request, pk=None):
        ticket = self.get_object()
        data = _validated(EscalateSerializer, request)
        services.ticket_escalate(actor=request.user, ticket=ticket, reason=data["reason"])
        return self._ticket_response(ticket.pk)

    @extend_schema(
        request=VendorAssignSerializer,
        responses={200: TicketDetailSerializer, 409: CONFLICT},
        summary="Assign an escalation to a vendor agent (vendor staff)",
    )
    @action(detail=True, methods=["post"], url_path="assign-vendor", url_name="assign-vendor", filterset_class=None)
    def assign_vendor(self, request, pk=None):
        ticket = self.get_object()  # first: another partner's ticket answers 404, whoever asks
        if not access.is_vendor_staff(request.user):
            raise exceptions.PermissionDenied("Only vendor support staff assign escalations.")
        data = _validated(VendorAssignSerializer, request)
        services.ticket_vendor_assign(actor=request.user, ticket=ticket, agent=data["agent"])
        return self._ticket_response(ticket.pk)

    @extend_schema(
        request=RateSerializer,
        responses={200: TicketDetailSerializer, 409: CONFLICT},
        summary="Rate a resolved ticket (its requester)",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def rate(self, request, pk=None):
        ticket = self.get_object()
        data = _validated(RateSerializer, request)
        services.ticket_rate(ticket=ticket, rating=data["rating"], comment=data["comment"], actor=request.user)
        return self._ticket_response(ticket.pk)

    # The thread -----------------------------------------------------------------------------------------------

    def _page(self, queryset, serializer_class):
        paginator = ThreadPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(data)

    def _message_response(self, ticket: Ticket, message) -> Response:
        message = selectors.messages_for(user=self.request.user, ticket=ticket).get(pk=message.pk)
        data = TicketMessageSerializer(message, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses=TicketMessageSerializer(many=True),
        summary="The ticket's messages you may read",
        description="Partner users get public replies and partner notes; vendor staff also vendor notes.",
    )
    @extend_schema(
        methods=["POST"],
        request=MessageCreateSerializer,
        responses={201: TicketMessageSerializer, 409: CONFLICT},
        summary="Reply, or add an internal note",
        description="`public` replies reach the requester; `partner_note` stays with the partner's team and the "
        "vendor; `vendor_note` is for vendor staff only.",
    )
    @action(detail=True, methods=["get", "post"], serializer_class=TicketMessageSerializer, filterset_class=None)
    def messages(self, request, pk=None):
        ticket = self.get_object()
        if request.method == "GET":
            return self._page(selectors.messages_for(user=request.user, ticket=ticket), TicketMessageSerializer)
        data = _validated(MessageCreateSerializer, request)
        message = services.ticket_reply(
            ticket=ticket, body=data["body"], visibility=data["visibility"], actor=request.user, html=data["html"]
        )
        return self._message_response(ticket, message)

    @extend_schema(methods=["GET"], responses=TicketAttachmentSerializer(many=True), summary="Files you may read")
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: TicketMessageSerializer, 409: CONFLICT},
        summary="Upload files (in a new message)",
        description="Multipart upload in the field `files` (repeat it for several). Files are judged by their "
        "content; HTML, SVG, scripts and archives are refused. `body` defaults to a line naming the files.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=TicketAttachmentSerializer,
        filterset_class=None,
    )
    def attachments(self, request, pk=None):
        ticket = self.get_object()
        if request.method == "GET":
            files = TicketAttachment.objects.filter(
                ticket=ticket, message__visibility__in=selectors.visible_visibilities(request.user)
            )
            return self._page(files, TicketAttachmentSerializer)
        data = _validated(AttachmentUploadSerializer, request)
        files = data["files"]
        body = data.get("body", "").strip() or "Attached: " + ", ".join(f.name.rsplit("/", 1)[-1] for f in files)
        message = services.ticket_reply(
            ticket=ticket, body=body, visibility=data["visibility"], actor=request.user, attachments=files
        )
        return self._message_response(ticket, message)

    @extend_schema(
        parameters=[ATTACHMENT_ID],
        responses={(200, media_type): OpenApiTypes.BINARY for media_type in ATTACHMENT_TYPES},
        summary="Download a file",
        description="Streams the file as an attachment (never shown inline) to whoever may read its message.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>\d+)/download",
        url_name="attachment-download",
        filterset_class=None,
    )
    def attachment_download(self, request, pk=None, attachment_id=None):
        ticket = self.get_object()
        attachment = selectors.access_attachment(user=request.user, pk=attachment_id)
        if attachment.ticket_id != ticket.pk:
            raise access.NotFound("Not found.")
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise exceptions.NotFound("The file is no longer stored.") from None
        response = FileResponse(
            handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses=TicketEventSerializer(many=True), summary="The ticket's history you may see")
    @action(detail=True, methods=["get"], serializer_class=TicketEventSerializer, filterset_class=None)
    def events(self, request, pk=None):
        ticket = self.get_object()
        return self._page(selectors.events_for(user=request.user, ticket=ticket), TicketEventSerializer)


# Customers -----------------------------------------------------------------------------------------------------


class CustomerPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if view.action == "create" and not access.partners_for(request.user, Customer, "add").exists():
            raise exceptions.PermissionDenied("Customers are added by the partner's team.")
        return True


@service_errors("email", "name", "company", "phone", actions=["create"])
@extend_schema_view(create=extend_schema(responses={201: CustomerSerializer, 409: CONFLICT}))
class CustomerViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """End customers of the partners in the caller's scope (they file tickets in the partner's help center)."""

    base_queryset = Customer.objects.select_related("partner")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    permission_classes = [permissions.IsAuthenticated, CustomerPermission]

    def create_object(self, serializer):
        return services.customer_create(actor=self.request.user, **serializer.validated_data)


# Rows decided by a selector ------------------------------------------------------------------------------------


# Knowledge base ------------------------------------------------------------------------------------------------


class ArticlePermission(permissions.BasePermission):
    """Writing: vendor staff who may add articles, or partner admins (for their own partner's articles)."""

    def has_permission(self, request, view):
        user = request.user
        if view.action != "create":
            return True
        if access.is_vendor_staff(user):
            allowed = user.has_perm("support.add_article")
        else:
            allowed = access.member_partners(user, "administer_partner").exists()
        if not allowed:
            raise exceptions.PermissionDenied("Articles are written by vendor staff and by partner admins.")
        return True


def _attach_partner_grants(articles, user) -> None:
    """Set ``partner_grants`` (partner ids the article is shared with) on vendor articles, in one query."""
    if not access.is_vendor_staff(user):
        return
    ids = [a.pk for a in articles if a.partner_id is None]
    grants: dict[int, list[int]] = {pk: [] for pk in ids}
    rows = ArticleGroupObjectPermission.objects.filter(
        content_object_id__in=ids, permission__codename="view_article", group__partner_as_members__isnull=False
    ).values_list("content_object_id", "group__partner_as_members__id")
    for article_id, partner_id in rows:
        grants[article_id].append(partner_id)
    for article in articles:
        if article.partner_id is None:
            article.partner_grants = grants[article.pk]


@extend_validation_errors(["required", "blank", "max_length", "invalid"], field_name="q", actions=["search"])
@extend_validation_errors(["invalid", "min_value", "max_value"], field_name="limit", actions=["search"])
@service_errors(
    "partner", "title", "body", "audience", "tiers", "partners", "status", actions=["create", "partial_update"]
)
@extend_schema_view(
    list=extend_schema(summary="Articles you may read (and, for partner admins, your partners' drafts)"),
    create=extend_schema(request=ArticleWriteSerializer, responses={201: ArticleSerializer, 409: CONFLICT}),
    partial_update=extend_schema(request=ArticlePatchSerializer, responses={200: ArticleSerializer, 409: CONFLICT}),
)
class ArticleViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The knowledge base: vendor articles shared with all partners, chosen tiers or chosen partners, and each
    partner's private articles. Archive an article instead of deleting it."""

    select = staticmethod(lambda *, user: selectors.article_list_with_own(user=user))
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilterSet
    permission_classes = [permissions.IsAuthenticated, ArticlePermission]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def decorate(self, queryset):
        queryset = queryset.select_related("category")
        # Tiers are shown to vendor staff only (ArticleSerializer.get_tiers): partner users skip the query.
        return queryset.prefetch_related("tiers") if access.is_vendor_staff(self.request.user) else queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = getattr(self.request, "user", None)
        if access.is_vendor_staff(user):
            context["visible_partner_ids"] = visible_partner_ids(user)
        return context

    def get_serializer_class(self):
        return {"create": ArticleWriteSerializer, "partial_update": ArticlePatchSerializer}.get(
            self.action, ArticleSerializer
        )

    def _article_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        article = self.get_queryset().get(pk=pk)
        _attach_partner_grants([article], self.request.user)
        return Response(ArticleSerializer(article, context=self.get_serializer_context()).data, status=status_code)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        _attach_partner_grants(page, request.user)
        return self.get_paginated_response(
            ArticleSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    def retrieve(self, request, *args, **kwargs):
        return self._article_response(self.get_object().pk)

    def create(self, request, *args, **kwargs):
        serializer = ArticleWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        article = self.perform_create(serializer)
        return self._article_response(article.pk, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        article = self.get_object()
        serializer = ArticlePatchSerializer(
            article, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        article = self.perform_update(serializer)
        return self._article_response(article.pk)

    def _save(self, data: dict, article: Article | None = None) -> Article:
        data = dict(data)
        partner = data.pop("partner", None)
        tiers = data.pop("tiers", None)
        partners = data.pop("partners", None)
        if partners is not None and article is not None:
            partners = self._keep_grants_outside_scope(article, partners)
        return services.article_save(
            actor=self.request.user, article=article, partner=partner, tiers=tiers, partners=partners, **data
        )

    def _keep_grants_outside_scope(self, article: Article, partners: list[Partner]) -> list[Partner]:
        # The caller chose among the partners they see; grants to partners they do not see stay as they are.
        visible = visible_partner_ids(self.request.user)
        if visible is None:
            return partners
        kept = Partner.objects.filter(
            members_group__in=article.articlegroupobjectpermission_set.filter(
                permission__codename="view_article"
            ).values("group_id")
        ).exclude(pk__in=visible)
        return [*partners, *kept]

    def create_object(self, serializer):
        return self._save(serializer.validated_data)

    def update_object(self, serializer):
        return self._save(serializer.validated_data, article=serializer.instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=True, description="Words to find (max. 200 characters)."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many results (1–50, default 20)."),
        ],
        responses=ArticleSearchResultsSerializer,
        summary="Search the articles you may read",
        description="Ranked full-text search over published articles with a highlighted snippet (`headline`).",
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def search(self, request):
        params = _lenient(ArticleSearchSerializer, request.query_params)
        hits = selectors.search_articles(selectors.article_list(user=request.user), params["q"], limit=params["limit"])
        return Response(ArticleSearchResultsSerializer({"query": params["q"], "results": hits}).data)

    @extend_schema(request=ArticleVoteSerializer, responses=ArticleVotesSerializer, summary="Was it helpful?")
    @action(detail=True, methods=["post"], filterset_class=None)
    def vote(self, request, pk=None):
        article = self.get_object()
        data = _validated(ArticleVoteSerializer, request)
        article = services.article_vote(article=article, helpful=data["helpful"], user=request.user)
        return Response(ArticleVotesSerializer(article).data)


def _lenient(serializer_class, query_params) -> dict:
    """Validate query parameters, ignoring keys the endpoint does not use (cache busters, tracking)."""
    wanted = {name: query_params[name] for name in serializer_class().fields if name in query_params}
    serializer = serializer_class(data=wanted)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# Program configuration -----------------------------------------------------------------------------------------


@service_errors("name", "slug", "position", methods=WRITES)
@extend_schema_view(
    create=extend_schema(responses={201: CategorySerializer, 409: CONFLICT}),
    update=extend_schema(responses={200: CategorySerializer, 409: CONFLICT}),
    partial_update=extend_schema(responses={200: CategorySerializer, 409: CONFLICT}),
)
class CategoryViewSet(ProgramDataViewSet):
    """Products and topics tickets and articles are filed under."""

    base_queryset = Category.objects.all()
    serializer_class = CategorySerializer

    def create_object(self, serializer):
        return services.category_save(actor=self.request.user, **serializer.validated_data)

    def update_object(self, serializer):
        return services.category_save(
            actor=self.request.user, category=serializer.instance, **serializer.validated_data
        )

    def destroy_object(self, instance):
        services.category_delete(actor=self.request.user, category=instance)


@service_errors("name", "timezone", "schedule", "holidays", methods=WRITES)
@extend_schema_view(
    create=extend_schema(responses={201: BusinessHoursSerializer, 409: CONFLICT}),
    update=extend_schema(responses={200: BusinessHoursSerializer, 409: CONFLICT}),
    partial_update=extend_schema(responses={200: BusinessHoursSerializer, 409: CONFLICT}),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class BusinessHoursViewSet(ProgramDataViewSet):
    """Working-hour calendars SLA clocks run in (weekday intervals in an IANA time zone, plus holidays)."""

    base_queryset = BusinessHours.objects.all()
    serializer_class = BusinessHoursSerializer

    def create_object(self, serializer):
        return services.business_hours_save(actor=self.request.user, **serializer.validated_data)

    def update_object(self, serializer):
        return services.business_hours_save(
            actor=self.request.user, hours=serializer.instance, **serializer.validated_data
        )

    def destroy_object(self, instance):
        services.business_hours_delete(actor=self.request.user, hours=instance)


@service_errors(*services.SLA_POLICY_FIELDS, methods=WRITES)
@extend_schema_view(
    create=extend_schema(responses={201: SlaPolicySerializer, 409: CONFLICT}),
    update=extend_schema(responses={200: SlaPolicySerializer, 409: CONFLICT}),
    partial_update=extend_schema(responses={200: SlaPolicySerializer, 409: CONFLICT}),
)
class SlaPolicyViewSet(ProgramDataViewSet):
    """Response and resolution targets per scope (first line, escalation), tier and priority."""

    base_queryset = SlaPolicy.objects.select_related("tier", "business_hours")
    serializer_class = SlaPolicySerializer

    def create_object(self, serializer):
        return services.sla_policy_save(actor=self.request.user, **serializer.validated_data)

    def update_object(self, serializer):
        return services.sla_policy_save(
            actor=self.request.user, policy=serializer.instance, **serializer.validated_data
        )

    def destroy_object(self, instance):
        services.sla_policy_delete(actor=self.request.user, policy=instance)


# Metrics -------------------------------------------------------------------------------------------------------


class MetricsFilterSet(django_filters.FilterSet):
    since = django_filters.DateFilter(
        method="keep",
        help_text=f"Tickets created on or after this date (default: the last {METRICS_DEFAULT_DAYS} days).",
    )

    class Meta:
        model = Partner
        fields = ("since",)

    def keep(self, queryset, name, value):
        return queryset  # a window for the figures, not a filter on partners


class MetricsPagination(StableCursorPagination):
    ordering = ("name", "id")


@extend_validation_errors(["invalid"], field_name="since", methods=["get"])
@extend_schema_view(list=extend_schema(summary="SLA attainment and first-line resolution per partner"))
class PartnerMetricsViewSet(SelectorViewSet):
    """Support figures of the partners whose tickets the caller may see, for tickets created since a date."""

    select = staticmethod(lambda *, user: access.partners_for(user, Ticket, "view"))
    serializer_class = PartnerMetricsSerializer
    filterset_class = MetricsFilterSet
    pagination_class = MetricsPagination

    def decorate(self, queryset):
        return queryset.only("id", "name")

    def list(self, request, *args, **kwargs):
        filterset = MetricsFilterSet(request.query_params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        today = timezone.localdate()
        since_date = filterset.form.cleaned_data.get("since") or today - dt.timedelta(days=METRICS_DEFAULT_DAYS)
        if since_date > today:
            raise serializers.ValidationError({"since": ["Choose a date that is not in the future."]}, code="invalid")
        since = timezone.make_aware(dt.datetime.combine(since_date, dt.time.min))
        partners = self.paginate_queryset(filterset.qs)
        figures = metrics.compute([p.pk for p in partners], since=since, keys=list(METRIC_KEYS))
        rows = [
            {
                "partner": p.pk,
                "partner_name": p.name,
                "since": since,
                **{field: figures[key].get(p.pk) for key, field in METRIC_KEYS.items()},
            }
            for p in partners
        ]
        return self.get_paginated_response(PartnerMetricsSerializer(rows, many=True).data)
