"""Provisioning on real Celery worker processes on Redis: end to end, with workers killed mid-step, and with two
workers racing for the same job.

The workers are ``celery -A partnerhub worker`` subprocesses on a queue of their own, working on this test's
database (``DATABASE_URL`` points them at pytest-django's test database). So the test commits its data (it runs
with ``transaction=True``) and every worker is stopped before pytest-django empties the database.

Recovering from a worker killed as a whole (a crashed machine, an OOM kill of the process group) relies on what
production relies on: the task is acknowledged late, so its message stays in Redis's "unacked" set, and Redis
hands it to another worker once the visibility timeout has passed (``CELERY_VISIBILITY_TIMEOUT``, an hour in
production, a few seconds here). The beat task ``reconcile_stuck_work`` is a separate backstop for enqueues
lost before they reached Redis; it is not needed for a killed worker and is not used here.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from onboarding import provisioning, services, webhooks
from onboarding.choices import DeliveryState, JobState, StepState
from onboarding.models import ChecklistItem, IntegrationCredential, ProvisioningJob, ProvisioningStep, WebhookDelivery
from onboarding.tasks import run_provisioning_job
from partnerhub.choices import MembershipRole, PartnerStatus
from partnerhub.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Partner,
    PartnerGroupObjectPermission,
    PartnerUserObjectPermission,
    User,
)
from tests.onboarding import slow_steps
from tests.onboarding.conftest import APPLICATION
from tests.workers import WORKER_REDIS_URL, database_url, new_queue, producer_for, start_worker, wait_for, workers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT = 60
# The whole-worker kill test shortens the visibility timeout. Redis applies it to every unacknowledged message in
# its database, so that test uses a database of its own and never hands another test's running task to its worker.
KILL_REDIS_URL = WORKER_REDIS_URL.rsplit("/", 1)[0] + "/13"
SHORT_VISIBILITY = 5
INVITATION_SUBJECT = "you are invited to the partner portal"


@pytest.fixture
def start(transactional_db, tmp_path):
    """Start workers on this test's database; every one is stopped before the test database is emptied."""
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    base_env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "EMAIL_URL": "file://",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    default_queue = new_queue("test-provisioning")
    with workers() as started:

        def start_one(*, env=None, queue=default_queue, redis_url=WORKER_REDIS_URL):
            n = len(started) + 1
            worker = start_worker(
                queue=queue,
                log=tmp_path / f"worker-{n}.log",
                env={**base_env, **(env or {})},
                redis_url=redis_url,
                name=f"{queue}-{n}",
            )
            started.append(worker)
            return worker

        start_one.mail_dir = mail_dir
        start_one.started = started
        yield start_one


@pytest.fixture
def slow_step(monkeypatch, tmp_path):
    """The slow test step, registered in this process too (the job's step rows come from here); a directory
    where the workers' attempts signal; and the worker environment that loads the step."""
    slow_steps.register()
    monkeypatch.setenv("SLOW_STEP_SECONDS", "0")  # only for in-process runs here; workers get their own value
    signals = tmp_path / "signals"
    signals.mkdir()
    env = {"PROVISIONING_STEP_MODULES": slow_steps.__name__, "SLOW_STEP_SIGNAL_DIR": str(signals)}
    try:
        yield {"signals": signals, "env": env}
    finally:
        slow_steps.unregister()


def logs(start) -> str:
    return "\n".join(f"--- {w.log.name}\n{w.log_text()}" for w in start.started)


def submit_and_approve(reviewer, **overrides):
    application = services.application_submit(data={**APPLICATION, **overrides}, ip_address="203.0.113.7")
    return services.application_approve(actor=reviewer, application=application)


def wait_for_job(job: ProvisioningJob, start, timeout: float = JOB_TIMEOUT) -> ProvisioningJob:
    finished = wait_for(
        lambda: ProvisioningJob.objects.filter(pk=job.pk, state__in=[JobState.SUCCEEDED, JobState.FAILED]).exists(),
        timeout,
        interval=0.25,
    )
    job.refresh_from_db()
    assert finished, f"job still {job.state} at step {job.current_step!r} after {timeout} s\n{logs(start)}"
    assert job.state == JobState.SUCCEEDED, f"{job.last_error}\n{logs(start)}"
    return job


def wait_for_delivery(partner: Partner, start) -> WebhookDelivery:
    assert wait_for(
        lambda: WebhookDelivery.objects.filter(partner=partner, state=DeliveryState.DELIVERED).exists(), JOB_TIMEOUT
    ), logs(start)
    return WebhookDelivery.objects.get(partner=partner)


def messages(mail_dir: Path, *, containing: str) -> list[str]:
    """E-mails the workers wrote (the file backend separates messages in a file with a line of dashes)."""
    found = []
    for path in sorted(mail_dir.iterdir()):
        for message in path.read_text(errors="replace").split("-" * 79):
            if containing in message:
                found.append(message)
    return found


def footprint(partner: Partner) -> dict:
    """Everything provisioning creates for a partner, counted: a repeated step would show up here."""
    partner = Partner.objects.select_related("brand").get(pk=partner.pk)
    return {
        "partners": Partner.objects.filter(name=partner.name).count(),
        "integration_accounts": User.objects.filter(username__startswith=f"integration+{partner.slug}").count(),
        "credentials": IntegrationCredential.objects.filter(partner=partner).count(),
        "api_keys": ApiToken.objects.filter(user__memberships__partner=partner).count(),
        "memberships": Membership.objects.filter(partner=partner).count(),
        "group_grants": PartnerGroupObjectPermission.objects.filter(content_object=partner).count(),
        "manager_grants": PartnerUserObjectPermission.objects.filter(content_object=partner).count(),
        "invitations": Invitation.objects.filter(partner=partner).count(),
        "checklist_items": ChecklistItem.objects.filter(partner=partner).count(),
        "webhook_deliveries": WebhookDelivery.objects.filter(partner=partner).count(),
        "audit_events": Counter(AuditEvent.objects.filter(partner=partner).values_list("action", flat=True)),
        "slow_step_writes": AuditEvent.objects.filter(partner=partner, reason=slow_steps.MARKER).count(),
        "brand_version": partner.brand.version,
        "status": partner.status,
    }


def assert_exactly_once(partner: Partner, reference: Partner) -> None:
    """The partner looks exactly like one provisioned in one uninterrupted in-process run, and every object
    provisioning creates exists once."""
    got = footprint(partner)
    assert got == footprint(reference)
    assert got["partners"] == 1
    assert got["integration_accounts"] == 1 and got["credentials"] == 1 and got["api_keys"] == 1
    assert got["memberships"] == 1  # the integration account; the admin joins when accepting the invitation
    assert got["invitations"] == 1 and got["manager_grants"] == 1 and got["group_grants"] > 0
    assert got["checklist_items"] == 6 and got["webhook_deliveries"] == 1
    assert got["slow_step_writes"] == 1
    assert got["status"] == PartnerStatus.ACTIVE


def provision_in_process(reviewer) -> Partner:
    """A reference partner provisioned in this process (tasks run in-process here), with no interruption."""
    job = submit_and_approve(
        reviewer,
        company_name="Reference Components",
        website="https://reference.example",
        contact_email="ref@reference.example",
    )
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.last_error
    return job.partner


def advisory_lock_held(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
            [provisioning._LOCK_NAMESPACE, job_id],
        )
        return cursor.fetchone()[0] > 0


def accepted_events_for(hook, partner: Partner) -> list[dict]:
    return [r for r in hook.accepted if json.loads(r["body"])["data"]["partner"]["slug"] == partner.slug]


# 1. End to end ---------------------------------------------------------------------------------------------------


def test_a_real_worker_provisions_an_approved_application(start, reviewer, checklist_template, receiver, endpoint_for):
    hook = receiver()
    endpoint = endpoint_for(hook)
    worker = start()

    with producer_for(worker.queue):
        job = submit_and_approve(reviewer)
        assert ProvisioningJob.objects.get(pk=job.pk).state == JobState.PENDING  # queued, not run in this process
        job = wait_for_job(job, start)

    assert job.runs == 1
    assert set(job.steps.values_list("state", flat=True)) == {StepState.SUCCEEDED}
    assert "run_provisioning_job[" in worker.log_text()
    partner = Partner.objects.get(pk=job.partner_id)
    assert partner.status == PartnerStatus.ACTIVE
    # the contact is invited as partner admin, and the worker sent the invitation
    invitation = Invitation.objects.get(partner=partner)
    assert invitation.email == "nora.winter@northwind.example" and invitation.role == MembershipRole.ADMIN
    assert wait_for(lambda: messages(start.mail_dir, containing=INVITATION_SUBJECT), JOB_TIMEOUT), logs(start)
    [sent] = messages(start.mail_dir, containing=INVITATION_SUBJECT)
    assert "To: nora.winter@northwind.example" in sent and partner.name in sent
    # the integration key and the checklist
    credential = IntegrationCredential.objects.get(partner=partner)
    assert credential.encrypted_key and ApiToken.objects.filter(user=credential.user).count() == 1
    assert ChecklistItem.objects.filter(partner=partner).count() == 6
    # exactly one signed partner.provisioned delivery reached the receiver
    delivery = wait_for_delivery(partner, start)
    assert len(hook.accepted) == len(hook.requests) == 1
    [request] = hook.accepted
    assert request["headers"]["X-PartnerHub-Event"] == "partner.provisioned"
    assert request["headers"]["X-PartnerHub-Delivery"] == delivery.event_id == f"job-{job.pk}-partner.provisioned"
    assert webhooks.verify_signature(endpoint.secret, request["body"], request["headers"]["X-PartnerHub-Signature"])
    payload = json.loads(request["body"])
    assert payload["event"] == "partner.provisioned" and payload["data"]["partner"]["slug"] == partner.slug
    assert delivery.attempts == 1


# 2. Workers killed in the middle of a job --------------------------------------------------------------------------


def test_a_worker_killed_as_a_whole_mid_step_loses_nothing_and_repeats_nothing(
    start, slow_step, reviewer, checklist_template, receiver, endpoint_for
):
    hook = receiver()
    endpoint_for(hook)
    reference = provision_in_process(reviewer)
    env = {**slow_step["env"], "SLOW_STEP_SECONDS": "30", "CELERY_VISIBILITY_TIMEOUT": str(SHORT_VISIBILITY)}
    first = start(env=env, redis_url=KILL_REDIS_URL)

    with producer_for(first.queue, KILL_REDIS_URL):
        job = submit_and_approve(reviewer)
        # given the worker is inside the slow step: its write done, its transaction open
        assert wait_for(lambda: (slow_step["signals"] / "attempt-1").exists(), JOB_TIMEOUT), logs(start)
        step = ProvisioningStep.objects.get(job=job, name=slow_steps.NAME)
        assert (step.state, step.attempts) == (StepState.RUNNING, 1)
        assert advisory_lock_held(job.pk)

        # when the whole worker dies at once (main process and pool child, SIGKILL)
        killed = first.kill()
        assert len(killed) >= 2, killed  # the main process and its pool child

        # then PostgreSQL ends its session: the open transaction is rolled back and the job lock is free
        assert wait_for(lambda: not advisory_lock_held(job.pk), 10)
        partner = Partner.objects.get(pk=ProvisioningJob.objects.get(pk=job.pk).partner_id)
        assert footprint(partner)["slow_step_writes"] == 0
        assert ProvisioningJob.objects.get(pk=job.pk).state == JobState.RUNNING
        # and once the visibility timeout has passed, Redis hands the unacknowledged task to the next worker
        ready_at = step.started_at + timedelta(seconds=SHORT_VISIBILITY + 1)
        time.sleep(max(0.0, (ready_at - timezone.now()).total_seconds()))
        start(env=env, queue=first.queue, redis_url=KILL_REDIS_URL)
        job = wait_for_job(job, start)
        partner = Partner.objects.get(pk=job.partner_id)
        wait_for_delivery(partner, start)

    assert job.runs == 2
    attempts = dict(job.steps.values_list("name", "attempts"))
    assert attempts.pop(slow_steps.NAME) == 2
    assert set(attempts.values()) == {1}  # finished steps were not repeated; later ones ran once
    assert AuditEvent.objects.get(partner=partner, reason=slow_steps.MARKER).changes == {"slow_step_attempt": [None, 2]}
    assert_exactly_once(partner, reference)
    assert len(accepted_events_for(hook, partner)) == 1
    assert wait_for(lambda: messages(start.mail_dir, containing=INVITATION_SUBJECT), JOB_TIMEOUT)
    assert len(messages(start.mail_dir, containing=INVITATION_SUBJECT)) == 1


def test_a_killed_pool_child_is_redelivered_at_once_and_the_job_completes_once(
    start, slow_step, reviewer, checklist_template, receiver, endpoint_for
):
    hook = receiver()
    endpoint_for(hook)
    reference = provision_in_process(reviewer)
    # the production visibility timeout (an hour): recovery below cannot come from it
    worker = start(env={**slow_step["env"], "SLOW_STEP_SECONDS": "30"})

    with producer_for(worker.queue):
        job = submit_and_approve(reviewer)
        first_attempt = slow_step["signals"] / "attempt-1"
        assert wait_for(first_attempt.exists, JOB_TIMEOUT), logs(start)
        [child] = worker.pool_pids()
        assert int(first_attempt.read_text()) == child

        # when only the pool child running the task is killed; the worker's main process lives on
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()

        # then the main process rejects the task back to the queue and a new child runs it straight away
        second_attempt = slow_step["signals"] / "attempt-2"
        assert wait_for(second_attempt.exists, JOB_TIMEOUT), logs(start)
        assert time.monotonic() - killed_at < 30  # not after the hour-long visibility timeout
        assert worker.alive() and int(second_attempt.read_text()) != child
        job = wait_for_job(job, start)
        partner = Partner.objects.get(pk=job.partner_id)
        wait_for_delivery(partner, start)

    log = worker.log_text()
    assert "WorkerLostError" in log and "signal 9" in log
    assert job.runs == 2
    attempts = dict(job.steps.values_list("name", "attempts"))
    assert attempts.pop(slow_steps.NAME) == 2
    assert set(attempts.values()) == {1}
    assert_exactly_once(partner, reference)
    assert len(accepted_events_for(hook, partner)) == 1
    assert wait_for(lambda: messages(start.mail_dir, containing=INVITATION_SUBJECT), JOB_TIMEOUT)
    assert len(messages(start.mail_dir, containing=INVITATION_SUBJECT)) == 1


# 3. Two workers racing for one job ----------------------------------------------------------------------------------


def test_two_workers_given_the_same_job_never_run_it_at_the_same_time(
    start, slow_step, reviewer, checklist_template, receiver, endpoint_for
):
    hook = receiver()
    endpoint_for(hook)
    reference = provision_in_process(reviewer)
    env = {**slow_step["env"], "SLOW_STEP_SECONDS": "4"}
    one, two = start(env=env), start(env=env)

    with producer_for(one.queue):
        job = submit_and_approve(reviewer)  # enqueues the job once, after commit
        run_provisioning_job.delay(job.pk)  # and the same task again: a duplicate delivery
        job = wait_for_job(job, start)
        partner = Partner.objects.get(pk=job.partner_id)
        wait_for_delivery(partner, start)

        def outcomes() -> list[str]:
            return [
                line.rsplit(": ", 1)[1].strip("'")
                for line in (one.log_text() + two.log_text()).splitlines()
                if "run_provisioning_job[" in line and " succeeded in " in line
            ]

        assert wait_for(lambda: len(outcomes()) == 2, JOB_TIMEOUT), logs(start)

    # both workers took one copy each; the one that came second found the job locked and left it alone
    assert sorted(outcomes()) == ["locked", "succeeded"], logs(start)
    assert "run_provisioning_job[" in one.log_text() and "run_provisioning_job[" in two.log_text()
    assert job.runs == 1
    assert set(job.steps.values_list("attempts", flat=True)) == {1}
    assert_exactly_once(partner, reference)
    assert len(accepted_events_for(hook, partner)) == 1


def test_two_workers_deliver_to_the_same_endpoint_at_the_same_time(start, endpoint_for):
    # given a receiver that answers a request only once a second one has arrived (or after 8 s)
    arrivals = threading.Barrier(2, timeout=8)  # below the 10 s request timeout of a delivery
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                arrivals.wait()
                together = True
            except threading.BrokenBarrierError:
                together = False
            requests.append({"id": json.loads(body)["id"], "together": together})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:

        class Hook:
            url = f"http://127.0.0.1:{server.server_address[1]}/hooks/partnerhub"

        endpoint_for(Hook, events=["partner.provisioned"])
        first = start()
        start()

        # when two events for the one endpoint are queued together, so each worker takes one
        with producer_for(first.queue), transaction.atomic():
            for n in (1, 2):
                webhooks.queue_event(event="partner.provisioned", event_id=f"evt-{n}", data={"n": n})

        # then both are delivered at once: attempting one delivery does not lock the other out
        assert wait_for(
            lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).count() == 2, JOB_TIMEOUT
        ), (list(WebhookDelivery.objects.values("event_id", "state", "attempts")), logs(start))
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(r["id"] for r in requests) == ["evt-1", "evt-2"]
    assert all(r["together"] for r in requests), requests
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
