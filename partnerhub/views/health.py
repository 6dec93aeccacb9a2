"""``/healthz``: is this instance able to serve? Checks the database, the cache and the Celery broker.

Load balancers and container health checks call it without credentials, so the answer names each check, says
whether it passed and how long it took, and nothing else: no host names, URLs, versions or error texts.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

BROKER_TIMEOUT_SECONDS = 2.0
logger = logging.getLogger("partnerhub.health")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("unexpected answer")


def _check_cache() -> None:
    key = f"healthz:{secrets.token_hex(8)}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("value not read back")
    finally:
        cache.delete(key)


def _check_broker() -> None:
    """Connect to the Celery broker once, with a short timeout and a single retry."""
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    if url.startswith("filesystem://"):
        # The filesystem transport "connects" without touching the disk; the queue folder must be writable.
        for key in ("data_folder_in", "data_folder_out"):
            folder = options.get(key)
            if folder and not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
                raise RuntimeError("queue folder missing or not writable")
    options.setdefault("socket_connect_timeout", BROKER_TIMEOUT_SECONDS)
    options.setdefault("socket_timeout", BROKER_TIMEOUT_SECONDS)
    with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=BROKER_TIMEOUT_SECONDS)


def _run(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
        ok = True
    except Exception:  # any failure means "not healthy"; the reason goes to the server log only
        logger.warning("health check %s failed", check.__name__, exc_info=True)
        ok = False
    return {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
}


@never_cache
@require_safe
def healthz(request):
    """200 with ``status: ok`` when every check passes, else 503 with ``status: degraded``."""
    checks = {name: _run(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
