"""Serializers of the support API: what a request may carry and what a response shows.

They validate shape and format only; the rules (who may reply, escalate, rate, write an article) live in
``support.services``. Every input serializer refuses keys it does not accept (``StrictFieldsMixin``).

What a response shows depends on who reads it, and the serializers never decide that from the row alone:

* messages and attachments come pre-filtered by ``support.selectors`` (partner users never get vendor notes);
* vendor-side facts of a ticket (the vendor agent working it, the escalation clocks) are ``null`` or absent
  for partner users; the serializer asks ``is_vendor_staff`` of the request's user;
* which partners a vendor article is shared with is shown to vendor staff only, and only for the partners in
  their scope: a partner must not learn who else gets an article.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partnerhub import access
from partnerhub.api.base import IdRelatedField, ScopedRelatedField
from partnerhub.api.serializers import StrictModelSerializer, StrictSerializer, UserSummarySerializer
from partnerhub.models import Membership, Partner, Tier, User
from support import selectors
from support.choices import ArticleAudience, ArticleStatus, Priority, TicketStatus, Visibility
from support.models import (
    Article,
    BusinessHours,
    Category,
    Customer,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

# Choice sets named in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
STATUS_CHANGES = [choice for choice in TicketStatus.choices if choice[0] != TicketStatus.ESCALATED]
VENDOR_AUDIENCES = [choice for choice in ArticleAudience.choices if choice[0] != ArticleAudience.PRIVATE]
SLA_SCOPES = SlaPolicy.Scope.choices
BODY_MAX_LENGTH = 20000
MAX_FILES = 5
SCHEDULE_HELP = (
    'ISO weekday ("1" = Monday … "7" = Sunday) → list of ["HH:MM", "HH:MM"] working intervals, for example '
    '{"1": [["09:00", "17:00"]], "5": [["09:00", "12:30"], ["13:30", "16:00"]]}.'
)


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None)


def _is_vendor(context) -> bool:
    return access.is_vendor_staff(_user(context))


# Relations -----------------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class TeammateField(IdRelatedField):
    """A user id among the active members of partners the caller may see; any other id reads as missing.

    Which partner's team the person must be on is the service's rule (the ticket's partner)."""

    def get_queryset(self):
        user = _user(self.context)
        members = Membership.objects.for_user(user, "view").filter(is_active=True).values("user_id")
        return User.objects.filter(pk__in=members)


@extend_schema_field(OpenApiTypes.INT)
class VendorAgentField(IdRelatedField):
    """An active vendor staff member (the service checks that they work escalations)."""

    def get_queryset(self):
        return User.objects.filter(is_staff=True, is_active=True)


# Program configuration -----------------------------------------------------------------------------------------


class CategorySerializer(StrictModelSerializer):
    class Meta:
        model = Category
        fields = ("id", "name", "slug", "position")
        extra_kwargs = {
            "slug": {"required": False, "help_text": "Derived from the name when left out."},
            # Uniqueness is the service's to check (a 409 naming the clash), not a generic validator's.
            "name": {"validators": []},
        }


class BusinessHoursSerializer(StrictModelSerializer):
    """Working hours in an IANA time zone; SLA clocks only run inside them."""

    timezone = serializers.CharField(max_length=64, help_text="An IANA time zone such as Europe/Berlin.")
    schedule = serializers.DictField(
        child=serializers.ListField(
            child=serializers.ListField(child=serializers.CharField(max_length=5), min_length=2, max_length=2),
            max_length=12,
        ),
        help_text=SCHEDULE_HELP,
    )
    holidays = serializers.ListField(
        child=serializers.DateField(), required=False, max_length=400, help_text="Dates on which no clock runs."
    )

    class Meta:
        model = BusinessHours
        fields = ("id", "name", "timezone", "schedule", "holidays")
        extra_kwargs = {"name": {"validators": []}}

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "holidays" in values:
            values["holidays"] = [day.isoformat() for day in values["holidays"]]
        return values


class SlaPolicySerializer(StrictModelSerializer):
    """Response and resolution targets in business minutes, for one scope, tier (or every tier) and priority."""

    tier = IdRelatedField(queryset=Tier.objects.all(), allow_null=True, required=False)
    business_hours = IdRelatedField(queryset=BusinessHours.objects.all(), allow_null=True, required=False)

    class Meta:
        model = SlaPolicy
        fields = (
            "id",
            "name",
            "applies_to",
            "tier",
            "priority",
            "first_response_minutes",
            "resolution_minutes",
            "warn_before_minutes",
            "business_hours",
        )
        extra_kwargs = {
            "first_response_minutes": {"min_value": 1, "max_value": 527040},
            "resolution_minutes": {"min_value": 1, "max_value": 527040},
            "warn_before_minutes": {"min_value": 0, "max_value": 527040},
        }
        validators = []  # the service answers a duplicate scope with a 409 that names it


# Customers -----------------------------------------------------------------------------------------------------


class CustomerSerializer(StrictModelSerializer):
    """An end customer of a partner. ``email_verified_at`` is set when they confirm a help-center request."""

    partner = ScopedRelatedField(queryset=Partner.objects.all(), access_action="add")

    class Meta:
        model = Customer
        fields = ("id", "partner", "email", "name", "company", "phone", "email_verified_at", "created_at")
        read_only_fields = ("email_verified_at", "created_at")
        extra_kwargs = {"email": {"max_length": 254}}


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("id", "name", "email", "company")
        read_only_fields = fields


# Tickets -------------------------------------------------------------------------------------------------------


class SlaClockSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(help_text="running, paused, met, breached (still open) or missed.")
    policy_name = serializers.CharField(source="policy.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SlaClock
        fields = (
            "scope",
            "target",
            "policy_name",
            "state",
            "started_at",
            "due_at",
            "paused_since",
            "remaining_seconds",
            "met_at",
            "breached_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["running", "paused", "met", "breached", "missed"]))
    def get_state(self, clock: SlaClock) -> str:
        if clock.met_at is not None:
            return "missed" if clock.is_breached else "met"
        if clock.breached_at is not None:
            return "breached"
        return "paused" if clock.paused_since is not None else "running"


class TicketSerializer(serializers.ModelSerializer):
    """A support ticket as listed. ``sla_due_at`` is when the next running clock the caller may see is due."""

    reference = serializers.CharField(read_only=True, help_text="T-000123: quote it in e-mails and search.")
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True, default=None)
    requester_user = UserSummarySerializer(read_only=True, allow_null=True)
    requester_customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    requester_label = serializers.CharField(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    vendor_assignee = serializers.SerializerMethodField(
        help_text="The vendor agent working an escalation (vendor staff only; null for partner users)."
    )
    escalated = serializers.BooleanField(source="is_escalated", read_only=True)
    sla_due_at = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = (
            "id",
            "reference",
            "partner",
            "partner_name",
            "subject",
            "description",
            "category",
            "category_name",
            "priority",
            "status",
            "channel",
            "requester_user",
            "requester_customer",
            "requester_label",
            "assignee",
            "vendor_assignee",
            "escalated",
            "escalated_at",
            "escalation_reason",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "satisfaction",
            "satisfaction_comment",
            "sla_due_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(UserSummarySerializer(allow_null=True))
    def get_vendor_assignee(self, ticket: Ticket) -> dict | None:
        if not _is_vendor(self.context) or ticket.vendor_assignee_id is None:
            return None
        return UserSummarySerializer(ticket.vendor_assignee, context=self.context).data

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_sla_due_at(self, ticket: Ticket):
        due = getattr(ticket, "next_due_at", None)
        return serializers.DateTimeField().to_representation(due) if due else None


class TicketDetailSerializer(TicketSerializer):
    """A ticket with the SLA clocks its reader may see (partner users: the first line's; vendor staff: all)."""

    sla_clocks = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = (*TicketSerializer.Meta.fields, "sla_clocks")
        read_only_fields = fields

    @extend_schema_field(SlaClockSerializer(many=True))
    def get_sla_clocks(self, ticket: Ticket) -> list[dict]:
        clocks = selectors.clocks_for(user=_user(self.context), ticket=ticket)
        return SlaClockSerializer(clocks, many=True, context=self.context).data


class TicketCreateSerializer(StrictSerializer):
    """Open a ticket for one of your partners, for yourself, a teammate (``requester``) or a customer."""

    partner = ScopedRelatedField(
        queryset=Partner.objects.all(), access_action="add", for_model=Ticket, help_text="Your partner (id)."
    )
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=BODY_MAX_LENGTH, help_text="Plain text.")
    category = IdRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    customer = ScopedRelatedField(
        queryset=Customer.objects.all(),
        allow_null=True,
        required=False,
        help_text="The partner's end customer this ticket is for (id); they get the public replies by e-mail.",
    )
    requester = TeammateField(
        allow_null=True, required=False, help_text="A teammate the ticket is filed for (user id); default: you."
    )
    assignee = TeammateField(allow_null=True, required=False, help_text="The first-line agent (user id).")


class TicketUpdateSerializer(StrictSerializer):
    """Change status, priority or first-line assignee; each change is recorded in the ticket's history."""

    status = serializers.ChoiceField(
        choices=STATUS_CHANGES,
        required=False,
        help_text="Escalate through POST /tickets/{id}/escalate/ (it needs a reason).",
    )
    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, help_text="Why the status changes (kept in the history)."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = TeammateField(allow_null=True, required=False, help_text="A member of the ticket's partner, or null.")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of status, priority or assignee.", code="invalid")
        if "note" in attrs and "status" not in attrs:
            raise serializers.ValidationError({"note": ["A note goes with a status change."]}, code="invalid")
        return attrs


class EscalateSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=4000, help_text="Why the vendor is needed: what was tried, what happens. Agents read it first."
    )


class VendorAssignSerializer(StrictSerializer):
    agent = VendorAgentField(allow_null=True, help_text="The vendor agent (user id) who works it, or null.")


class RateSerializer(StrictSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="1 (poor) to 5 (excellent).")
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


# Messages, attachments, history --------------------------------------------------------------------------------


class TicketAttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    content_type = serializers.CharField(read_only=True, help_text="Judged from the file's content, not its name.")
    download_url = serializers.SerializerMethodField(help_text="Streams the file to whoever may read its message.")

    class Meta:
        model = TicketAttachment
        fields = ("id", "ticket", "message", "name", "content_type", "size", "created_at", "download_url")
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, attachment: TicketAttachment) -> str:
        path = reverse("ticket-attachment-download", args=[attachment.ticket_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class TicketMessageSerializer(serializers.ModelSerializer):
    """A reply or note. ``body`` is sanitised HTML."""

    author_label = serializers.CharField(read_only=True)
    author_type = serializers.SerializerMethodField()
    attachments = TicketAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = TicketMessage
        fields = ("id", "ticket", "visibility", "body", "author_label", "author_type", "created_at", "attachments")
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["partner", "vendor", "customer", "system"]))
    def get_author_type(self, message: TicketMessage) -> str:
        if message.author_customer_id:
            return "customer"
        if message.author_user_id:
            return "vendor" if message.by_vendor else "partner"
        return "system"


class MessageCreateSerializer(StrictSerializer):
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, help_text="Plain text, or HTML with html=true.")
    visibility = serializers.ChoiceField(
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        help_text="public (the requester sees it), partner_note (the partner's team and the vendor) or "
        "vendor_note (vendor staff only).",
    )
    html = serializers.BooleanField(default=False, help_text="The body is HTML; it is sanitised.")


class AttachmentUploadSerializer(StrictSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False, max_length=200),
        min_length=1,
        max_length=MAX_FILES,
        help_text="Up to 5 files of at most 10 MB: PDF, PNG, JPEG, GIF, WebP or plain text (judged by content).",
    )
    body = serializers.CharField(
        max_length=BODY_MAX_LENGTH, required=False, allow_blank=True, help_text="The message that carries the files."
    )
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)


class TicketEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketEvent
        fields = ("id", "kind", "actor_label", "before", "after", "note", "created_at")
        read_only_fields = fields


# Knowledge base ------------------------------------------------------------------------------------------------


class ArticleSerializer(serializers.ModelSerializer):
    """A knowledge-base article: the vendor's (``partner`` null) or a partner's private one. ``body`` is
    sanitised HTML. ``tiers`` and ``partners`` (who it is shared with) are shown to vendor staff only."""

    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True, default=None)
    tiers = serializers.SerializerMethodField()
    partners = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = (
            "id",
            "partner",
            "title",
            "slug",
            "summary",
            "body",
            "category",
            "category_name",
            "audience",
            "tiers",
            "partners",
            "customer_visible",
            "status",
            "published_at",
            "updated_at",
            "helpful_count",
            "unhelpful_count",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_tiers(self, article: Article) -> list[int] | None:
        if not _is_vendor(self.context):
            return None
        return sorted(tier.pk for tier in article.tiers.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), allow_null=True))
    def get_partners(self, article: Article) -> list[int] | None:
        if not _is_vendor(self.context) or article.partner_id is not None:
            return None
        visible = self.context.get("visible_partner_ids")  # None: the reader sees every partner
        granted = getattr(article, "partner_grants", None)
        if granted is None:
            granted = shared_with(article)
        return sorted(pk for pk in granted if visible is None or pk in visible)


def shared_with(article: Article) -> list[int]:
    """Ids of the partners whose members' group holds a grant to read ``article``."""
    return list(
        Partner.objects.filter(
            members_group__in=article.articlegroupobjectpermission_set.filter(
                permission__codename="view_article"
            ).values("group_id")
        ).values_list("pk", flat=True)
    )


class ArticleWriteSerializer(StrictSerializer):
    """Vendor staff write vendor articles (``partner`` left out) shared by ``audience``; partner admins write
    their partner's private articles (``partner`` required; ``audience``, ``tiers`` and ``partners`` do not
    apply)."""

    partner = ScopedRelatedField(
        queryset=Partner.objects.all(),
        access_action="change",
        required=False,
        allow_null=True,
        help_text="Partner admins: the partner whose private article this is (id).",
    )
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    body = serializers.CharField(max_length=100000, help_text="HTML; scripts, styles and handlers are removed.")
    category = IdRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    audience = serializers.ChoiceField(choices=VENDOR_AUDIENCES, required=False)
    tiers = IdRelatedField(queryset=Tier.objects.all(), many=True, required=False)
    partners = ScopedRelatedField(
        queryset=Partner.objects.all(),
        many=True,
        required=False,
        help_text="For audience=partners: the partners it is shared with (ids).",
    )
    customer_visible = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False)

    VENDOR_ONLY = ("audience", "tiers", "partners")

    def validate(self, attrs):
        vendor = _is_vendor(self.context)
        creating = self.instance is None
        if vendor and attrs.get("partner") is not None:
            raise serializers.ValidationError(
                {"partner": ["Vendor articles belong to no partner; leave partner out."]}, code="invalid"
            )
        if not vendor:
            errors = {
                name: ["Partner articles are private to their partner; leave this out."]
                for name in self.VENDOR_ONLY
                if name in attrs
            }
            if creating and attrs.get("partner") is None:
                errors["partner"] = ["Choose the partner whose private article this is."]
            if not creating and "partner" in attrs:
                errors["partner"] = ["An article stays with its partner."]
            if errors:
                raise serializers.ValidationError(errors, code="invalid")
        elif not creating and "partner" in attrs:
            raise serializers.ValidationError({"partner": ["An article stays with its owner."]}, code="invalid")
        return attrs


class ArticlePatchSerializer(ArticleWriteSerializer):
    """Change some fields of an article."""

    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=100000, required=False)


class ArticleSearchSerializer(StrictSerializer):
    q = serializers.CharField(max_length=200, help_text="Words to find; quotes, OR and -word work.")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=20)


class ArticleSearchHitSerializer(serializers.ModelSerializer):
    rank = serializers.FloatField(read_only=True, help_text="Higher is a better match.")
    headline = serializers.CharField(
        read_only=True, help_text="A snippet as HTML: text escaped, the matching words wrapped in <mark>."
    )

    class Meta:
        model = Article
        fields = ("id", "partner", "title", "summary", "category", "published_at", "rank", "headline")
        read_only_fields = fields


class ArticleSearchResultsSerializer(serializers.Serializer):
    query = serializers.CharField()
    results = ArticleSearchHitSerializer(many=True)


class ArticleVoteSerializer(StrictSerializer):
    helpful = serializers.BooleanField(help_text="Was the article helpful? A second vote replaces the first.")


class ArticleVotesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Article
        fields = ("id", "helpful_count", "unhelpful_count")
        read_only_fields = fields


# Metrics -------------------------------------------------------------------------------------------------------


class MetricsQuerySerializer(StrictSerializer):
    since = serializers.DateField(
        required=False, help_text="Tickets created on or after this date (default: the last 90 days)."
    )
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False)

    def validate_since(self, value):
        from django.utils import timezone

        if value > timezone.localdate():
            raise serializers.ValidationError("Choose a date that is not in the future.", code="invalid")
        return value


class PartnerMetricsSerializer(serializers.Serializer):
    partner = serializers.IntegerField(help_text="Partner id.")
    partner_name = serializers.CharField()
    since = serializers.DateTimeField()
    sla_attainment = serializers.FloatField(
        allow_null=True, help_text="Share (0–1) of finished first-line SLA clocks met in time; null: none finished."
    )
    first_line_resolution = serializers.FloatField(
        allow_null=True, help_text="Share (0–1) of resolved tickets never escalated; null: none resolved."
    )


def visible_partner_ids(user) -> set[int] | None:
    """For vendor staff who see only some partners, the ids they see (None: every partner)."""
    if not access.is_vendor_staff(user) or access.sees_all_partners(user):
        return None
    return set(access.managed_partners(user).values_list("pk", flat=True))
