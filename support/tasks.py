"""Celery tasks of support: SLA checks (every minute) and daily digests."""

from celery import shared_task

from support import notifications, sla


@shared_task(acks_late=True)
def check_sla() -> dict:
    """Record SLA warnings and breaches; safe to run concurrently or twice (conditional updates)."""
    return sla.check()


@shared_task(acks_late=True)
def send_support_digests() -> int:
    return notifications.send_digests()
