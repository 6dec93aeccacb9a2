"""A provisioning step for the real-worker tests: it writes to the database, then keeps its transaction open.

Workers load it with ``PROVISIONING_STEP_MODULES=tests.onboarding.slow_steps``: imported that way, the module
registers the step. Imported anywhere else (the test process) it registers nothing by itself; a test registers
the step with ``register()`` for its duration, so the job it creates has a row for this step too, and removes
it with ``unregister()``, so no other test sees it.

The write is deliberately *not* idempotent: every attempt inserts one audit event marked ``MARKER``. Counting
those rows afterwards tells how many attempts committed, so "one row" proves that a killed attempt was rolled
back rather than skipped by a guard.

Behaviour, read from the worker's environment at each call:

* ``SLOW_STEP_SECONDS`` (default 20): how long a slow attempt sleeps inside its transaction, after the write.
* ``SLOW_STEP_SLOW_ATTEMPTS`` (default 1): attempts up to this number are slow; later ones run straight through.
* ``SLOW_STEP_SIGNAL_DIR``: if set, each attempt creates ``attempt-<n>`` there once its write is done, so a test
  knows the moment the step is inside its open transaction.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings

from onboarding import provisioning
from onboarding.provisioning import StepContext
from partnerhub.choices import AuditAction
from partnerhub.services import audit_record

NAME = "tests.slow_write"
POSITION = 35  # between core.integration_key (30) and core.brand_defaults (40)
MARKER = "tests.slow_write"


def slow_write(ctx: StepContext) -> dict:
    attempt = ctx.step.attempts
    audit_record(
        actor=None,
        action=AuditAction.PARTNER_UPDATED,
        partner=ctx.partner,
        target=ctx.partner,
        changes={"slow_step_attempt": [None, attempt]},
        reason=MARKER,
    )
    signal_dir = os.environ.get("SLOW_STEP_SIGNAL_DIR")
    if signal_dir:
        (Path(signal_dir) / f"attempt-{attempt}").write_text(str(os.getpid()))
    if attempt <= int(os.environ.get("SLOW_STEP_SLOW_ATTEMPTS", "1")):
        time.sleep(float(os.environ.get("SLOW_STEP_SECONDS", "20")))
    return {"attempt": attempt}


def register() -> None:
    provisioning.register_step(NAME, title="Write, then hold the transaction open (tests)", position=POSITION)(
        slow_write
    )


def unregister() -> None:
    provisioning._REGISTRY.pop(NAME, None)


if __name__ in settings.PROVISIONING_STEP_MODULES:
    register()
