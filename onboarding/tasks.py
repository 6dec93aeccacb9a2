"""Celery tasks of onboarding: run provisioning jobs, deliver webhooks, re-enqueue stuck work.

Tasks take ids, reload, and call the engine; they are acknowledged late and re-delivered if a worker dies
(settings: CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from onboarding import provisioning, webhooks
from onboarding.choices import DeliveryState, JobState
from onboarding.models import ProvisioningJob, WebhookDelivery

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_provisioning_job(self, job_id: int) -> str:
    """Run (or resume) a provisioning job. Transient step errors come back here with a countdown."""
    if not ProvisioningJob.objects.filter(pk=job_id).exists():
        return "missing"
    while True:
        outcome = provisioning.run_job(job_id)
        if outcome.retry_in is None:
            return outcome.state
        if not self.request.is_eager:
            raise self.retry(countdown=outcome.retry_in)
        # In-process execution (no worker) has no queue to wait in: retry at once.


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    while True:
        outcome, attempts = webhooks.attempt_delivery(delivery_id)
        if outcome != webhooks.DeliveryOutcome.RETRY:
            return outcome
        if not self.request.is_eager:
            raise self.retry(countdown=provisioning.retry_countdown(attempts))
        # In-process execution (no worker): retry at once.


@shared_task
def reconcile_stuck_work(older_than_minutes: int = 10) -> dict:
    """Re-enqueue jobs and deliveries that nobody is working on (an enqueue lost in a cold shutdown).

    Safe to run at any time: the job runner's advisory lock and the delivery row lock keep a job or a
    delivery from running twice at once, and finished steps and deliveries are never repeated.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    jobs = list(
        ProvisioningJob.objects.filter(state__in=[JobState.PENDING, JobState.RUNNING], created_at__lt=cutoff)
        .exclude(steps__started_at__gte=cutoff)
        .values_list("pk", flat=True)
        .distinct()
    )
    for job_id in jobs:
        run_provisioning_job.delay(job_id)
    deliveries = list(
        WebhookDelivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.RETRYING], created_at__lt=cutoff)
        .exclude(attempt_log__attempted_at__gte=cutoff)
        .values_list("pk", flat=True)
        .distinct()
    )
    for delivery_id in deliveries:
        deliver_webhook.delay(delivery_id)
    if jobs or deliveries:
        logger.warning("Re-enqueued %s stuck jobs and %s stuck deliveries.", len(jobs), len(deliveries))
    return {"jobs": len(jobs), "deliveries": len(deliveries)}
