#!/usr/bin/env python3
"""``make bench-provisioning``: provision N approved partner applications on real Celery workers and measure.

Steps:

1. (re)create the bench database (default ``postgres://postgres@127.0.0.1:5432/partnerhub_bench_prov``) and
   migrate it; create a reviewing channel manager, a checklist template and a webhook endpoint that points at
   a local HTTP receiver run by this script (so every job also delivers a signed webhook);
2. submit N applications (their acknowledgement e-mails are sent in this process: setup, not measured);
3. start the workers: by default two ``celery worker --concurrency=1`` processes on Redis, on a queue of this
   run's own, with every e-mail written to files;
4. approve the N applications one after another, as reviewers would in a burst; each approval enqueues its
   provisioning job after commit;
5. wait until every job has finished, then print throughput (partners activated per minute), p50/p95 of the
   time from approval to the partner being active, the queue wait and run time of a job, per-step durations,
   failures, and webhook deliveries.

The script stops the workers it started however it ends (Ctrl-C, SIGTERM, an error). Run it on an otherwise
idle machine: the workers, PostgreSQL and this script share the CPUs.

    python scripts/bench_provisioning.py [--applications 500] [--workers 2] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_celery import Workers, pct, purge_queue, recreate_database, seconds  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/partnerhub_bench_prov"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=500, help="applications to approve (500)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker (1)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PROV_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_PROV_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the jobs (3600)")
    args = parser.parse_args()
    if args.applications < 1 or args.workers < 1 or args.concurrency < 1:
        parser.error("--applications, --workers and --concurrency must be at least 1")
    return args


# Processes ------------------------------------------------------------------------------------------------------


class Receiver:
    """The downstream system of the webhook: answers 200 and counts what it got."""

    def __init__(self):
        self.count = 0
        self.event_ids: set[str] = set()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.count += 1
                    receiver.event_ids.add(json.loads(body)["id"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/partnerhub"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The benchmark --------------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    queue = f"bench-prov-{uuid.uuid4().hex[:10]}"
    run_dir = Path(tempfile.mkdtemp(prefix="bench-prov-"))
    mail_dir = run_dir / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_KEY_PREFIX": queue,
        "EMAIL_URL": "file://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PARTNERHUB_ENV", None)
    env.pop("PROVISIONING_STEP_MODULES", None)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    # Ctrl-C and SIGTERM (e.g. from a CI runner) end the run through the finally blocks that stop the workers;
    # SIGINT is set explicitly because a shell starting this in the background would have it ignored.
    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    workers = Workers(env, run_dir, "bench-prov")
    receiver = Receiver()
    try:
        return run(args, queue, workers, receiver, run_dir)
    except KeyboardInterrupt:
        say("Interrupted; stopping the workers.")
        return 130
    finally:
        workers.stop()
        receiver.close()
        purge_queue(args.redis_url, queue)


def run(args: argparse.Namespace, queue: str, workers: Workers, receiver: Receiver, run_dir: Path) -> int:
    n = args.applications
    say(f"Recreating and migrating {args.database_url}")
    recreate_database(args.database_url)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from django.db.models import Count

    from onboarding import services
    from onboarding.choices import DeliveryState, JobState
    from onboarding.models import (
        ChecklistTemplate,
        ChecklistTemplateItem,
        PartnerApplication,
        ProvisioningJob,
        ProvisioningStep,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from partnerhub import celery_app
    from partnerhub import services as core
    from partnerhub.choices import StaffRole
    from partnerhub.models import User

    reviewer = User.objects.create_user(
        username="bench-reviewer", email="reviewer@vendor.example", password=None, is_staff=True
    )
    core.staff_roles_set(actor=None, user=reviewer, role_values=[StaffRole.CHANNEL_MANAGER])
    reviewer = User.objects.get(pk=reviewer.pk)
    template = ChecklistTemplate.objects.create(name="Resellers", partner_type="reseller")
    for position, (key, title, event, days) in enumerate(
        [
            ("profile", "Complete your profile", "profile.completed", 7),
            ("tax-form", "Upload your tax form", "tax_form.uploaded", 14),
            ("agreement", "Accept the program agreement", "agreement.accepted", 3),
            ("team", "Invite your team", "team.invited", 14),
            ("training", "Complete the first training", "", 30),
            ("first-deal", "Register your first deal", "deal.registered", 60),
        ]
    ):
        ChecklistTemplateItem.objects.create(
            template=template, key=key, title=title, event=event, due_days=days, position=position
        )
    WebhookEndpoint.objects.create(name="Bench CRM", url=receiver.url, events=["partner.provisioned"])

    say(f"Submitting {n} applications")
    celery_app.conf.task_always_eager = True  # setup e-mails are sent here, not queued ahead of the jobs
    words = ["Amber", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper"]
    kinds = ["Systems", "Networks", "Solutions", "Digital", "Security", "Cloud", "Partners", "Labs"]
    applications = []
    for i in range(n):
        name = f"{words[i % 10]} {words[(i // 10) % 10]} {kinds[i % 8]} {i:05d}"
        domain = f"bench-{i:05d}.example"
        applications.append(
            services.application_submit(
                data={
                    "company_name": name,
                    "website": f"https://www.{domain}",
                    "country": "DE",
                    "region": "EMEA",
                    "partner_type": "reseller",
                    "contact_first_name": "Casey",
                    "contact_last_name": f"Contact {i}",
                    "contact_email": f"casey@{domain}",
                    "contact_phone": "+49 30 1234",
                    "contact_title": "Head of Alliances",
                    "expected_annual_revenue": "250000",
                    "expected_deals_per_quarter": 10,
                    "business_description": "Managed services for mid-sized manufacturers.",
                }
            )
        )
    celery_app.conf.task_always_eager = False

    say(f"Starting {args.workers} worker(s) × concurrency {args.concurrency} on {args.redis_url}, queue {queue}")
    workers.start(args.workers, args.concurrency, queue)
    load_before = os.getloadavg()

    say(f"Approving {n} applications (each approval enqueues its job after commit)")
    approve_started = time.monotonic()
    for application in applications:
        services.application_approve(actor=reviewer, application=application)
    approve_seconds = time.monotonic() - approve_started
    say(f"Approved {n} in {approve_seconds:.1f} s; waiting for the jobs")

    deadline = time.monotonic() + args.timeout
    last_report = 0.0
    open_states = [JobState.PENDING, JobState.RUNNING]
    while True:
        remaining = ProvisioningJob.objects.filter(state__in=open_states).count()
        if remaining == 0:
            break
        if time.monotonic() > deadline:
            say(f"Timed out with {remaining} jobs unfinished")
            break
        if time.monotonic() - last_report > 10:
            say(f"  {n - remaining}/{n} jobs finished")
            last_report = time.monotonic()
        time.sleep(0.5)
    # Webhook deliveries are queued by the jobs' last steps; give them a moment to drain.
    pending = [DeliveryState.PENDING, DeliveryState.RETRYING]
    drain_deadline = time.monotonic() + 120
    while WebhookDelivery.objects.filter(state__in=pending).exists() and time.monotonic() < drain_deadline:
        time.sleep(0.5)
    load_after = os.getloadavg()

    # Figures, from the database's own timestamps -------------------------------------------------------------
    jobs = list(ProvisioningJob.objects.select_related("application").order_by("pk"))
    steps = list(ProvisioningStep.objects.order_by("job_id", "position"))
    active_at = {s.job_id: s.finished_at for s in steps if s.name == "core.activate" and s.finished_at}
    succeeded = [j for j in jobs if j.state == JobState.SUCCEEDED]
    failed = [j for j in jobs if j.state == JobState.FAILED]
    approval_to_active = [seconds(j.application.decided_at, active_at.get(j.pk)) for j in succeeded]
    approval_to_active = [v for v in approval_to_active if v is not None]
    queue_wait = [v for v in (seconds(j.application.decided_at, j.started_at) for j in jobs) if v is not None]
    run_time = [v for v in (seconds(j.started_at, j.finished_at) for j in succeeded) if v is not None]
    first_approval = min(j.application.decided_at for j in jobs)
    last_active = max(active_at.values()) if active_at else None
    wall = seconds(first_approval, last_active) or float("nan")
    throughput = len(succeeded) / wall * 60 if wall == wall and wall > 0 else float("nan")
    per_step: dict[str, list[float]] = {}
    for s in steps:
        duration = seconds(s.started_at, s.finished_at)
        if duration is not None:
            per_step.setdefault(s.name, []).append(duration)
    step_total = dict.fromkeys(active_at, 0.0)
    for s in steps:
        if s.job_id in step_total and s.started_at and s.finished_at:
            step_total[s.job_id] += seconds(s.started_at, s.finished_at)
    engine = [seconds(j.started_at, j.finished_at) - step_total[j.pk] for j in succeeded if j.pk in step_total]
    deliveries = dict(WebhookDelivery.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    reruns = sum(1 for j in jobs if j.runs > 1)
    not_approved = PartnerApplication.objects.exclude(jobs__isnull=False).count()

    command = "make bench-provisioning" + ("" if n == 500 else f" N={n}")
    lines = [
        f"Provisioning benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"  command:            {command}  (scripts/bench_provisioning.py --applications {n} "
        f"--workers {args.workers} --concurrency {args.concurrency})",
        f"  machine:            {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        f"  load average:       {load_before[0]:.2f} before, {load_after[0]:.2f} after (1-minute)",
        f"  workers:            {args.workers} × celery worker --concurrency={args.concurrency} (prefork), on Redis",
        f"  applications:       {n} approved in {approve_seconds:.1f} s ({n / approve_seconds:.1f}/s)",
        f"  jobs:               {len(succeeded)} succeeded, {len(failed)} failed, "
        f"{len(jobs) - len(succeeded) - len(failed)} unfinished, {reruns} picked up more than once",
        f"  wall time:          {wall:.1f} s from the first approval to the last partner active",
        f"  throughput:         {throughput:.1f} partners/min",
        f"  approval → active:  p50 {pct(approval_to_active, 50):.2f} s, p95 {pct(approval_to_active, 95):.2f} s, "
        f"max {max(approval_to_active, default=float('nan')):.2f} s",
        f"  queue wait:         p50 {pct(queue_wait, 50):.2f} s, p95 {pct(queue_wait, 95):.2f} s "
        "(approval → a worker starts the job)",
        f"  job run time:       p50 {pct(run_time, 50):.3f} s, p95 {pct(run_time, 95):.3f} s, "
        f"mean {statistics.fmean(run_time) if run_time else float('nan'):.3f} s (a worker starts → finishes)",
        f"  engine overhead:    mean {statistics.fmean(engine) if engine else float('nan'):.3f} s per job "
        "(run time minus the steps' own time: job/step bookkeeping, locks, loading)",
        f"  webhooks:           {deliveries.get(DeliveryState.DELIVERED, 0)} delivered, "
        f"{sum(deliveries.values()) - deliveries.get(DeliveryState.DELIVERED, 0)} not delivered; "
        f"receiver got {receiver.count} requests for {len(receiver.event_ids)} events",
        "  per step (s):       " + f"{'step':<28} {'mean':>7} {'p50':>7} {'p95':>7} {'share':>6}",
    ]
    total_step_time = sum(sum(v) for v in per_step.values()) or float("nan")
    order = {s.name: s.position for s in steps}
    for name in sorted(per_step, key=lambda k: order[k]):
        values = per_step[name]
        lines.append(
            f"                      {name:<28} {statistics.fmean(values):7.3f} {pct(values, 50):7.3f} "
            f"{pct(values, 95):7.3f} {sum(values) / total_step_time:6.1%}"
        )
    if failed:
        lines.append("  failures:")
        for j in failed[:10]:
            lines.append(f"    job {j.pk} at {j.current_step}: {j.last_error.splitlines()[-1] if j.last_error else ''}")
    if not_approved:
        lines.append(f"  {not_approved} applications have no job")
    print("\n".join(lines), flush=True)
    print(f"(worker logs and e-mails: {run_dir})", flush=True)
    return 0 if not failed and len(succeeded) == n else 1


if __name__ == "__main__":
    sys.exit(main())
