"""Enumerations of onboarding and provisioning."""

from django.db import models


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    INFO_REQUESTED = "info_requested", "More information requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_APPLICATION_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.INFO_REQUESTED)


class MessageKind(models.TextChoices):
    INFO_REQUEST = "info_request", "Information requested"
    APPLICANT_REPLY = "applicant_reply", "Applicant reply"
    DECISION = "decision", "Decision"
    NOTE = "note", "Internal note"


class JobKind(models.TextChoices):
    PROVISION = "provision", "Provisioning"
    DEPROVISION = "deprovision", "Offboarding"


class JobState(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Completed"
    FAILED = "failed", "Failed"


class StepState(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class ChecklistEvent(models.TextChoices):
    """Events that complete checklist items automatically."""

    PROFILE_COMPLETED = "profile.completed", "Partner profile completed"
    TAX_FORM_UPLOADED = "tax_form.uploaded", "Tax form uploaded"
    AGREEMENT_ACCEPTED = "agreement.accepted", "Program agreement accepted"
    TEAM_INVITED = "team.invited", "Team member invited"
    TRAINING_COMPLETED = "training.completed", "First training completed"
    DEAL_REGISTERED = "deal.registered", "First deal registered"
    API_KEY_CREATED = "api_key.created", "API key created"
