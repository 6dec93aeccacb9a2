"""Enumerations of co-marketing."""

from django.db import models


class AssetKind(models.TextChoices):
    PDF = "pdf", "PDF document"
    IMAGE = "image", "Image"
    SLIDES = "slides", "Slide deck"
    VIDEO = "video", "Video link"
    EMAIL_COPY = "email_copy", "E-mail copy"
    SOCIAL_COPY = "social_copy", "Social post copy"


class Audience(models.TextChoices):
    ALL = "all", "All partners"
    TIERS = "tiers", "Chosen tiers"
    PARTNERS = "partners", "Chosen partners"


class PublishStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class TemplateKind(models.TextChoices):
    NONE = "", "Not co-brandable"
    HTML = "html", "HTML/CSS → PDF"
    IMAGE = "image", "Image with placeholder regions"


class RenderState(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    CLAIMED = "claimed", "Claim submitted"
    CLAIM_APPROVED = "claim_approved", "Claim approved"
    CLAIM_REJECTED = "claim_rejected", "Claim rejected"
    PAID = "paid", "Paid"
    EXPIRED = "expired", "Claim deadline missed"


class LedgerKind(models.TextChoices):
    ALLOCATE = "allocate", "Allocated"
    COMMIT = "commit", "Committed (request approved)"
    RELEASE = "release", "Released"
    CLAIM = "claim", "Claimed"
    PAY = "pay", "Paid"
