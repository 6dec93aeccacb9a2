"""First-line support: partner ticket desks, escalation to the vendor, SLA clocks, knowledge base, help center."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from partnerhub.models import PartnerOwnedModel
from partnerhub.models.tenancy import PartnerScopedQuerySet
from partnerhub.querysets import KeysFirstQuerySet
from support.choices import (
    ArticleAudience,
    ArticleStatus,
    Channel,
    DigestMode,
    EventKind,
    Priority,
    SlaTarget,
    TicketStatus,
    Visibility,
)


class Customer(PartnerOwnedModel):
    """An end customer of a partner: files tickets in the partner's help center, by verified e-mail."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    company = models.CharField(max_length=160, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "email"]
        constraints = [models.UniqueConstraint("partner", Lower("email"), name="customer_email_per_partner")]

    def __str__(self) -> str:
        return self.name or self.email


class Category(models.Model):
    """A product or topic tickets and articles are filed under (program-wide)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """Working hours in a time zone; SLA clocks only run inside them.

    ``schedule`` maps ISO weekday numbers ("1" = Monday … "7" = Sunday) to lists of ``["09:00", "17:30"]``
    intervals; ``holidays`` lists ISO dates on which the clock does not run.
    """

    name = models.CharField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    schedule = models.JSONField(default=dict)
    holidays = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return f"{self.name} ({self.timezone})"


class SlaPolicy(models.Model):
    """Response and resolution targets for a tier and priority, in business time.

    ``applies_to`` tells which clock it drives: the partner's first line (from the ticket's creation) or the
    vendor's handling of an escalation (from the escalation). An empty tier applies to every tier.
    """

    class Scope(models.TextChoices):
        FIRST_LINE = "first_line", "Partner first line"
        ESCALATION = "escalation", "Vendor escalation"

    name = models.CharField(max_length=120)
    applies_to = models.CharField(max_length=20, choices=Scope.choices, default=Scope.FIRST_LINE)
    tier = models.ForeignKey("partnerhub.Tier", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    warn_before_minutes = models.PositiveIntegerField(default=30)
    business_hours = models.ForeignKey(
        BusinessHours,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: the clock runs around the clock.",
    )

    class Meta:
        ordering = ["applies_to", "tier__rank", "priority"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["applies_to", "tier", "priority"], name="sla_policy_unique_scope", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TicketQuerySet(KeysFirstQuerySet, PartnerScopedQuerySet):
    """Ticket lists (desk, agent queue, API) are long and joined: their pages read keys first."""


class Ticket(PartnerOwnedModel):
    """A support case owned by a partner, raised by one of its users or by one of its end customers."""

    objects = TicketQuerySet.as_manager()

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="tickets")
    subject = models.CharField(max_length=200)
    description = models.TextField(max_length=20000)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.PORTAL)
    requester_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The partner's first-line agent.",
    )
    vendor_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The vendor support agent working the escalation.",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.TextField(max_length=4000, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    satisfaction = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    satisfaction_comment = models.CharField(max_length=1000, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    # When the earliest running SLA clock of each scope is due (empty when none runs), kept by ``support.sla``
    # with every change to the clocks: the desk sorts and counts by it without reading the clocks.
    first_line_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalation_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    partner_permissions = {
        "view": "access_partner",
        "add": "access_partner",
        "change": "access_partner",
        "delete": "administer_partner",
    }

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("view_first_line_tickets", "See partners' tickets that were not escalated"),
            ("work_escalations", "Work tickets escalated to the vendor"),
        ]
        indexes = [
            # Covers the desk's queue counts (status, assignee, SLA due per partner) and its order by SLA as
            # index-only scans.
            models.Index(
                fields=["partner", "status", "-id"],
                include=["assignee", "first_line_due_at", "escalation_due_at"],
                name="ticket_partner_status_idx",
            ),
            models.Index(fields=["partner", "assignee", "status"]),
            models.Index(
                fields=["status", "escalated_at"],
                condition=models.Q(escalated_at__isnull=False),
                name="ticket_escalated_idx",
            ),
            GinIndex(fields=["search_vector"], name="ticket_search_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return f"T-{self.pk:06d}" if self.pk else "T-new"

    @property
    def requester_label(self) -> str:
        if self.requester_customer_id:
            return str(self.requester_customer)
        if self.requester_user_id:
            return str(self.requester_user)
        return "—"

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None

    @classmethod
    def restrict_for_staff(cls, queryset, user):
        """Vendor support agents see escalated tickets only; roles that oversee partners see them all."""
        if user.has_perm("support.view_first_line_tickets"):
            return queryset
        return queryset.filter(escalated_at__isnull=False)


class TicketMessage(models.Model):
    """A reply or note on a ticket. ``visibility`` decides who may ever read it (see ``Visibility``)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC)
    body = models.TextField(max_length=20000, help_text="Sanitised HTML.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "visibility", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_visibility_display()} on {self.ticket_id}"

    @property
    def author_label(self) -> str:
        if self.author_customer_id:
            return str(self.author_customer)
        if self.author_user_id:
            return str(self.author_user)
        return "System"

    @property
    def by_vendor(self) -> bool:
        return bool(self.author_user_id and self.author_user.is_staff)


class TicketAttachment(models.Model):
    """A file on a ticket message, checked by content and size. Readable by whoever may read its message."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="ticket-attachments/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class TicketEvent(models.Model):
    """The ticket's history: every status, assignment, priority, escalation and SLA event."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    before = models.CharField(max_length=200, blank=True)
    after = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    vendor_only = models.BooleanField(default=False, help_text="Shown to vendor staff only.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class SlaClock(models.Model):
    """One SLA target of one ticket: when it is due, whether it is paused, met, warned or breached.

    While paused (ticket pending on the customer) ``remaining_seconds`` holds the business time that was left;
    resuming sets a new ``due_at`` that much business time after the resume.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    scope = models.CharField(max_length=20, choices=SlaPolicy.Scope.choices)
    target = models.CharField(max_length=20, choices=SlaTarget.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    remaining_seconds = models.PositiveIntegerField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "scope", "target"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "scope", "target"], name="sla_clock_unique"),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(met_at__isnull=True, paused_since__isnull=True, breached_at__isnull=True),
                name="sla_clock_running_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.get_target_display()} of {self.ticket_id}"

    @property
    def is_running(self) -> bool:
        return self.met_at is None and self.paused_since is None

    @property
    def is_breached(self) -> bool:
        return self.breached_at is not None or (
            self.met_at is not None and self.due_at is not None and self.met_at > self.due_at
        )


class Article(models.Model):
    """A knowledge-base article: the vendor's (``partner`` empty, shared by ``audience``) or a partner's own.

    Articles shared with chosen partners carry guardian grants (``view_article``) to those partners' member
    groups; tiers are chosen with ``tiers``. ``customer_visible`` articles also appear in partners' help centers.
    """

    partner = models.ForeignKey(
        "partnerhub.Partner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="articles",
        help_text="Empty for vendor articles.",
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField(max_length=100000, help_text="Sanitised HTML.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    audience = models.CharField(max_length=20, choices=ArticleAudience.choices, default=ArticleAudience.ALL)
    tiers = models.ManyToManyField("partnerhub.Tier", blank=True, related_name="+")
    customer_visible = models.BooleanField(default=True, help_text="Shown to end customers in help centers.")
    status = models.CharField(max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "slug"], name="article_slug_per_owner", nulls_distinct=False),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="article_search_idx"),
            models.Index(fields=["status", "audience"]),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Article, on_delete=models.CASCADE)


class ArticleGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key grant of an article to a group (a partner's members group)."""

    content_object = models.ForeignKey(Article, on_delete=models.CASCADE)


class ArticleVote(models.Model):
    """One "was this helpful?" answer, by a user or by an anonymous help-center visitor (session key)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    visitor_key = models.CharField(max_length=64, blank=True)
    helpful = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "user"], condition=models.Q(user__isnull=False), name="article_vote_once_per_user"
            ),
            models.UniqueConstraint(
                fields=["article", "visitor_key"],
                condition=models.Q(user__isnull=True),
                name="article_vote_once_per_visitor",
            ),
        ]

    def __str__(self) -> str:
        return f"{'👍' if self.helpful else '👎'} {self.article_id}"


class HelpRequest(models.Model):
    """A help-center ticket waiting for its e-mail to be verified. The single-use link creates the ticket."""

    partner = models.ForeignKey("partnerhub.Partner", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    description = models.TextField(max_length=20000)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    ticket = models.OneToOneField(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Help request from {self.email}"


class NotificationPreference(models.Model):
    """How a person wants support e-mail: at once, in a daily digest, or not at all."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_prefs")
    mode = models.CharField(max_length=20, choices=DigestMode.choices, default=DigestMode.IMMEDIATE)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_mode_display()}"


class PendingNotification(models.Model):
    """A notification waiting for its recipient's daily digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sent_at", "user"])]

    def __str__(self) -> str:
        return self.subject
