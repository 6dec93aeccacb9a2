"""The provisioning engine: a registry of ordered, named steps and the runner that executes a job.

Guarantees:

* **Idempotent steps.** A step's function must leave the same state when run twice. The runner also commits a
  step's effects and its "succeeded" mark in one transaction, so a worker killed in the middle leaves either
  nothing of the step or all of it; the redelivered task re-runs the step from the start.
* **One runner per job.** A PostgreSQL advisory lock (session level, released if the worker dies) keeps a
  redelivered task from running a job alongside a still-living worker.
* **Retries with backoff.** A step raising ``TransientStepError`` is retried by Celery with exponential
  backoff (``retry_countdown``), up to ``MAX_STEP_ATTEMPTS``; any other error fails the step and the job,
  which a channel manager can retry from the console.
* **Visible progress.** Job and step state, attempts, timings and the last error are written as they happen.

Other apps add steps from their ``AppConfig.ready()``::

    from onboarding.provisioning import register_step

    @register_step("comarketing.starting_mdf", title="Grant the starting MDF allocation", position=55)
    def grant_starting_allocation(ctx): ...
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from onboarding.choices import JobKind, JobState, StepState
from onboarding.models import ProvisioningJob, ProvisioningStep

logger = logging.getLogger(__name__)

MAX_STEP_ATTEMPTS = 6
_LOCK_NAMESPACE = 0x50484A42  # "PHJB": keeps job advisory locks apart from any other advisory lock


class TransientStepError(Exception):
    """A step failed for a reason that may pass (a timeout, a busy downstream system): retry it later."""


@dataclass
class StepContext:
    """What a step function receives. ``job.partner`` is set by the first provisioning step."""

    job: ProvisioningJob
    step: ProvisioningStep
    results: dict[str, dict] = field(default_factory=dict)

    @property
    def partner(self):
        return self.job.partner

    @property
    def application(self):
        return self.job.application

    @property
    def actor(self):
        return self.job.requested_by


StepFunction = Callable[[StepContext], dict | None]


@dataclass(frozen=True)
class StepDefinition:
    name: str
    title: str
    position: int
    kind: str
    run: StepFunction


_REGISTRY: dict[str, StepDefinition] = {}


def register_step(name: str, *, title: str, position: int, kind: str = JobKind.PROVISION):
    """Register a step function under a stable ``name``; ``position`` orders steps within a job kind."""

    def decorator(func: StepFunction) -> StepFunction:
        _REGISTRY[name] = StepDefinition(name=name, title=title, position=position, kind=kind, run=func)
        return func

    return decorator


def steps_for(kind: str) -> list[StepDefinition]:
    return sorted((d for d in _REGISTRY.values() if d.kind == kind), key=lambda d: (d.position, d.name))


def definition(name: str) -> StepDefinition:
    return _REGISTRY[name]


def create_steps(job: ProvisioningJob) -> None:
    """Give a new job one row per registered step of its kind (idempotent)."""
    existing = set(job.steps.values_list("name", flat=True))
    ProvisioningStep.objects.bulk_create(
        [
            ProvisioningStep(job=job, name=d.name, title=d.title, position=d.position)
            for d in steps_for(job.kind)
            if d.name not in existing
        ]
    )


def retry_countdown(attempt: int) -> int:
    """Seconds before retry ``attempt`` (1-based): 2, 4, 8, … capped at 5 minutes."""
    return min(2**attempt, 300)


class _JobLock:
    """Session-level advisory lock on a job id; ``acquired`` is False when another worker holds it."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.acquired = False

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, self.job_id])
            self.acquired = bool(cursor.fetchone()[0])
        return self

    def __exit__(self, *exc):
        if self.acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, self.job_id])


@dataclass
class RunOutcome:
    state: str
    retry_in: int | None = None  # seconds, when a step asked to be retried


def _now():
    return timezone.now()


def _short_error(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:2000]


def run_job(job_id: int) -> RunOutcome:
    """Run every unfinished step of a job in order. Safe to call again at any point (redelivery, retry)."""
    with _JobLock(job_id) as lock:
        if not lock.acquired:
            logger.info("Job %s is being run by another worker; leaving it to that worker.", job_id)
            return RunOutcome(state="locked")
        return _run_locked(job_id)


def _run_locked(job_id: int) -> RunOutcome:
    job = ProvisioningJob.objects.select_related("application", "partner", "requested_by").get(pk=job_id)
    if job.state == JobState.SUCCEEDED:
        return RunOutcome(state=job.state)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, started_at=job.started_at or _now(), runs=job.runs + 1, last_error=""
    )
    job.refresh_from_db()
    results = {s.name: s.result for s in job.steps.filter(state=StepState.SUCCEEDED)}
    for step in list(job.steps.exclude(state=StepState.SUCCEEDED).order_by("position", "id")):
        try:
            step_def = definition(step.name)
        except KeyError:
            return _fail(job, step, f"No step named {step.name!r} is registered.")
        step.attempts += 1
        step.state = StepState.RUNNING
        step.started_at = _now()
        step.finished_at = None
        step.save(update_fields=["attempts", "state", "started_at", "finished_at"])
        ProvisioningJob.objects.filter(pk=job.pk).update(current_step=step.name)
        try:
            with transaction.atomic():
                job.refresh_from_db()
                result = step_def.run(StepContext(job=job, step=step, results=results)) or {}
                step.state = StepState.SUCCEEDED
                step.finished_at = _now()
                step.result = result
                step.last_error = ""
                step.save(update_fields=["state", "finished_at", "result", "last_error"])
            results[step.name] = result
        except TransientStepError as exc:
            if step.attempts >= MAX_STEP_ATTEMPTS:
                return _fail(job, step, f"Gave up after {step.attempts} attempts: {_short_error(exc)}")
            step.state = StepState.RETRYING
            step.last_error = _short_error(exc)
            step.save(update_fields=["state", "last_error"])
            ProvisioningJob.objects.filter(pk=job.pk).update(last_error=step.last_error)
            return RunOutcome(state=JobState.RUNNING, retry_in=retry_countdown(step.attempts))
        except Exception as exc:
            logger.exception("Provisioning step %s of job %s failed.", step.name, job.pk)
            return _fail(job, step, _short_error(exc))
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.SUCCEEDED, finished_at=_now(), current_step="", last_error=""
    )
    return RunOutcome(state=JobState.SUCCEEDED)


def _fail(job: ProvisioningJob, step: ProvisioningStep, message: str) -> RunOutcome:
    ProvisioningStep.objects.filter(pk=step.pk).update(state=StepState.FAILED, last_error=message, finished_at=_now())
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.FAILED, finished_at=_now(), last_error=message)
    return RunOutcome(state=JobState.FAILED)
