"""Scoped reads of onboarding."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from onboarding.choices import OPEN_APPLICATION_STATUSES
from onboarding.models import (
    AgreementAcceptance,
    ChecklistItem,
    IntegrationCredential,
    PartnerApplication,
    PartnerDocument,
    ProvisioningJob,
    WebhookDelivery,
)
from partnerhub import access
from partnerhub.models import Partner


def reviewable_q(user) -> Q:
    """Which applications a reviewer opens, on top of the model permission: open and declined ones have no partner
    and are every reviewer's; an approved one is part of its partner's record, for staff who see that partner."""
    if access.sees_all_partners(user):
        return Q()
    return Q(partner__isnull=True) | Q(partner__in=Partner.objects.for_user(user).values("pk"))


def application_list(*, user, open_only: bool = False) -> QuerySet[PartnerApplication]:
    """Applications are vendor-side: vendor staff with the view permission review those ``reviewable_q`` allows."""
    if not (access.is_vendor_staff(user) and user.has_perm("onboarding.view_partnerapplication")):
        return PartnerApplication.objects.none()
    qs = PartnerApplication.objects.select_related("decided_by", "tier", "partner", "parent").filter(reviewable_q(user))
    if open_only:
        qs = qs.filter(status__in=OPEN_APPLICATION_STATUSES)
    return qs


def access_application(*, user, pk) -> PartnerApplication:
    application = application_list(user=user).filter(pk=pk).first() if str(pk).isdigit() else None
    if application is None:
        raise access.NotFound("Not found.")
    return application


def review_queue(*, user) -> QuerySet[PartnerApplication]:
    """Open applications, longest-waiting first (the review clock)."""
    return application_list(user=user, open_only=True).order_by("submitted_at", "id")


def flag_visibility(*, user, applications) -> tuple[set[int], set[int]]:
    """The partner ids and application ids named in these applications' duplicate flags that ``user`` may open
    (at most two queries, whatever the number of applications). A match outside them is shown without its name."""
    partner_ids, application_ids = set(), set()
    for application in applications:
        for flag in application.duplicate_flags or []:
            (partner_ids if flag.get("object") == "partner" else application_ids).add(flag.get("id"))
    partners = (
        set(Partner.objects.for_user(user).filter(pk__in=partner_ids).values_list("pk", flat=True))
        if partner_ids
        else set()
    )
    others = (
        set(application_list(user=user).filter(pk__in=application_ids).values_list("pk", flat=True))
        if application_ids
        else set()
    )
    return partners, others


def checklist_of(*, user, partner: Partner) -> list[ChecklistItem]:
    return list(ChecklistItem.objects.for_user(user, partner=partner).order_by("position", "id"))


def checklist_items(*, user, action: str = "view") -> QuerySet[ChecklistItem]:
    return ChecklistItem.objects.for_user(user, action).select_related("partner", "completed_by")


def checklist_progress(*, user) -> QuerySet[Partner]:
    """Partners in the user's scope with checklist progress, for channel managers: done, total, overdue."""
    from django.utils import timezone

    now = timezone.now()
    return (
        Partner.objects.for_user(user)
        .annotate(
            checklist_total=Count("checklist_items"),
            checklist_done=Count("checklist_items", filter=Q(checklist_items__completed_at__isnull=False)),
            checklist_overdue=Count(
                "checklist_items",
                filter=Q(checklist_items__completed_at__isnull=True, checklist_items__due_at__lt=now),
            ),
        )
        .filter(checklist_total__gt=0)
    )


def job_list(*, user, action: str = "view") -> QuerySet[ProvisioningJob]:
    """Jobs of partners in scope, plus (for vendor staff holding the job permission for ``action``) jobs whose first
    step has not created the partner yet, or failed before it could, reached through an application the staff
    member may open — never by id alone."""
    scoped = ProvisioningJob.objects.for_user(user, action)
    if access.is_vendor_staff(user) and user.has_perm(f"onboarding.{action}_provisioningjob"):
        if access.sees_all_partners(user):
            scoped = ProvisioningJob.objects.all()
        else:
            unassigned = ProvisioningJob.objects.filter(
                partner__isnull=True, application__in=application_list(user=user).values("pk")
            )
            scoped = scoped | unassigned
    return scoped.select_related("partner", "application", "requested_by")


def access_job(*, user, pk, action: str = "view") -> ProvisioningJob:
    job = job_list(user=user, action=action).filter(pk=pk).first() if str(pk).isdigit() else None
    if job is None:
        raise access.NotFound("Not found.")
    return job


def acceptance_list(*, user) -> QuerySet[AgreementAcceptance]:
    return AgreementAcceptance.objects.for_user(user).select_related("agreement", "accepted_by", "partner")


def document_list(*, user, action: str = "view") -> QuerySet[PartnerDocument]:
    return PartnerDocument.objects.for_user(user, action).select_related("uploaded_by", "partner")


def integration_credential(*, user, partner: Partner) -> IntegrationCredential | None:
    return IntegrationCredential.objects.for_user(user, partner=partner).first()


def delivery_list(*, user) -> QuerySet[WebhookDelivery]:
    """The delivery log is vendor-side operations data."""
    if not (access.is_vendor_staff(user) and user.has_perm("onboarding.view_webhookdelivery")):
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.select_related("endpoint", "partner")
