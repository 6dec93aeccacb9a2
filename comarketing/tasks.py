"""Celery tasks of co-marketing: co-branded renders, MDF claim reminders, expiry notices."""

from celery import shared_task
from django.utils import timezone

from comarketing import mdf, services


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90)
def render_cobranded(render_id: int) -> str:
    """Render one co-branded file. Bounded in time: a hostile or broken template cannot hold a worker."""
    return services.cobrand_render(render_id)


@shared_task
def send_mdf_reminders() -> int:
    return mdf.send_claim_reminders()


@shared_task
def flag_expired_assets() -> int:
    """E-mail each owner the published assets that expired (hidden from partners already) once a day."""
    from django.contrib.auth import get_user_model

    from comarketing.choices import PublishStatus
    from comarketing.models import Asset
    from partnerhub.notifications import send_email

    User = get_user_model()
    since = timezone.now() - timezone.timedelta(days=1)
    expired = Asset.objects.filter(
        status=PublishStatus.PUBLISHED, expires_at__lte=timezone.now(), expires_at__gt=since, owner__isnull=False
    )
    owners = User.objects.filter(pk__in=expired.values("owner_id"))
    for owner in owners:
        titles = list(expired.filter(owner=owner).values_list("title", flat=True))
        send_email(
            to=[owner.email],
            subject=f"{len(titles)} asset(s) expired and are hidden from partners",
            template="comarketing/emails/expired",
            context={"titles": titles, "owner": owner},
        )
    return owners.count()
