"""Signed outbound webhooks: events queued in the database, delivered by Celery with retries and a log.

Each request carries::

    X-PartnerHub-Event: partner.provisioned
    X-PartnerHub-Delivery: <event id, unique per endpoint — drop repeats>
    X-PartnerHub-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>

A receiver verifies the signature with ``verify_signature`` (or its own port of it) and rejects timestamps
older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from onboarding.choices import DeliveryState
from onboarding.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_DELIVERY_ATTEMPTS = 8
TIMEOUT_SECONDS = 10


def partner_payload(partner) -> dict:
    return {
        "id": partner.pk,
        "name": partner.name,
        "slug": partner.slug,
        "type": partner.partner_type,
        "status": partner.status,
        "tier": partner.tier.name if partner.tier_id else None,
        "country": partner.country,
    }


def queue_event(*, event: str, event_id: str, data: dict, partner=None, job=None) -> int:
    """Record one delivery per interested endpoint (once per ``event_id``) and send them after commit."""
    created_ids = []
    for endpoint in WebhookEndpoint.objects.filter(is_active=True):
        if not endpoint.wants(event):
            continue
        payload = {"id": event_id, "event": event, "created_at": timezone.now().isoformat(), "data": data}
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint,
            event_id=event_id,
            defaults={"event": event, "payload": payload, "partner": partner, "job": job},
        )
        if created:
            created_ids.append(delivery.pk)
    if created_ids:
        from onboarding.tasks import deliver_webhook

        transaction.on_commit(lambda: [deliver_webhook.delay(pk) for pk in created_ids])
    return WebhookDelivery.objects.filter(event_id=event_id).count()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """Check an ``X-PartnerHub-Signature`` header (for receivers and tests)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(expected, parts.get("v1", ""))


class DeliveryOutcome:
    DELIVERED = "delivered"
    RETRY = "retry"
    GAVE_UP = "gave_up"
    SKIPPED = "skipped"


def attempt_delivery(delivery_id: int) -> tuple[str, int]:
    """Try one delivery once. Returns (outcome, attempts so far). Never sends a delivered event again."""
    import requests

    with transaction.atomic():
        delivery = (
            # Lock the delivery row only: locking the joined endpoint too would make every other delivery to
            # the same endpoint, attempted meanwhile by another worker, skip itself and never be sent.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state in (DeliveryState.DELIVERED, DeliveryState.FAILED):
            return DeliveryOutcome.SKIPPED, getattr(delivery, "attempts", 0)
        body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PartnerHub-Webhooks/1",
            "X-PartnerHub-Event": delivery.event,
            "X-PartnerHub-Delivery": delivery.event_id,
            "X-PartnerHub-Signature": sign(delivery.endpoint.secret, body),
        }
        started = time.monotonic()
        status_code, error = None, ""
        try:
            response = requests.post(
                delivery.endpoint.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
            )
            status_code = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration = int((time.monotonic() - started) * 1000)
        delivery.attempts += 1
        WebhookAttempt.objects.create(delivery=delivery, status_code=status_code, error=error, duration_ms=duration)
        delivery.last_status_code = status_code
        delivery.last_error = error or ("" if status_code and status_code < 300 else f"HTTP {status_code}")
        if status_code is not None and 200 <= status_code < 300:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = timezone.now()
            outcome = DeliveryOutcome.DELIVERED
        elif delivery.attempts >= MAX_DELIVERY_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
            outcome = DeliveryOutcome.GAVE_UP
        else:
            delivery.state = DeliveryState.RETRYING
            outcome = DeliveryOutcome.RETRY
        delivery.save(update_fields=["attempts", "last_status_code", "last_error", "state", "delivered_at"])
        return outcome, delivery.attempts
