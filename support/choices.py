"""Enumerations of first-line support."""

from django.db import models


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending on customer"
    ESCALATED = "escalated", "Escalated to vendor"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


ACTIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ESCALATED)

# The workflow: which status may follow which (reopen = resolved/closed → open).
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ESCALATED, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING, TicketStatus.ESCALATED, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING: frozenset(
        {TicketStatus.OPEN, TicketStatus.ESCALATED, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.ESCALATED: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.OPEN}),
}


class Channel(models.TextChoices):
    PORTAL = "portal", "Partner portal"
    HELP_CENTER = "help_center", "Help center"
    API = "api", "API"


class Visibility(models.TextChoices):
    """Who may read a message or attachment."""

    PUBLIC = "public", "Public reply"  # requester (customer), partner and vendor
    PARTNER_NOTE = "partner_note", "Partner internal note"  # partner and vendor, never the customer
    VENDOR_NOTE = "vendor_note", "Vendor internal note"  # vendor staff only


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    VENDOR_ASSIGNED = "vendor_assigned", "Assigned to vendor agent"
    PRIORITY = "priority", "Priority changed"
    ESCALATED = "escalated", "Escalated"
    DE_ESCALATED = "de_escalated", "Returned to partner"
    REOPENED = "reopened", "Reopened"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACH = "sla_breach", "SLA breached"
    RATED = "rated", "Satisfaction rated"


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"


class ArticleAudience(models.TextChoices):
    ALL = "all", "All partners"
    TIERS = "tiers", "Chosen tiers"
    PARTNERS = "partners", "Chosen partners"
    PRIVATE = "private", "Own partner only"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class DigestMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "Daily digest"
    OFF = "off", "Off"
