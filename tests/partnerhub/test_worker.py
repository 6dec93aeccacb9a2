"""A real Celery worker process on Redis picks up a queued task and does the work.

The worker listens on a queue of its own (a fresh name per run) in a Redis database kept for these tests, so
other workers on the same Redis never take its messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from partnerhub import celery_app
from partnerhub.tasks import send_email_task

ROOT = Path(__file__).resolve().parents[2]
WORKER_REDIS_URL = os.environ.get("WORKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
START_TIMEOUT = 60
TASK_TIMEOUT = 30

pytestmark = pytest.mark.worker


def _wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def worker(tmp_path):
    """Start ``celery -A partnerhub worker`` on its own queue; always stop it (and its pool) afterwards."""
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "REDIS_URL": WORKER_REDIS_URL,
        "CELERY_BROKER_URL": WORKER_REDIS_URL,
        "EMAIL_URL": "file://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PARTNERHUB_ENV", None)
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "partnerhub",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        f"--queues={queue}",
        f"--hostname={queue}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = _wait_for(lambda: b" ready." in log_path.read_bytes() or proc.poll() is not None, START_TIMEOUT)
        assert ready and proc.poll() is None, "the worker did not start:\n" + log_path.read_text(errors="replace")
        yield {"queue": queue, "mail_dir": mail_dir, "log": log_path, "process": proc}
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)  # the worker and its pool processes
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:
                # The main process is gone; make sure no pool child outlived it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def producer_on_worker_redis():
    """Point this process's Celery app at the worker's Redis, sending for real instead of running eagerly."""
    conf = celery_app.conf
    saved = {"task_always_eager": conf.task_always_eager, "broker_url": conf.broker_url}
    conf.task_always_eager = False
    conf.broker_url = WORKER_REDIS_URL
    try:
        with celery_app.connection_for_write(WORKER_REDIS_URL) as connection:
            yield connection
    finally:
        conf.task_always_eager = saved["task_always_eager"]
        conf.broker_url = saved["broker_url"]


def test_a_real_worker_sends_a_queued_email(worker, producer_on_worker_redis):
    subject = f"Worker check {uuid.uuid4().hex[:8]}"

    result = send_email_task.apply_async(
        kwargs={"to": ["rep@partner.example"], "subject": subject, "text": "Queued, then sent by the worker."},
        queue=worker["queue"],
        connection=producer_on_worker_redis,
    )

    def delivered() -> list[Path]:
        return [path for path in worker["mail_dir"].iterdir() if subject in path.read_text(errors="replace")]

    assert _wait_for(lambda: bool(delivered()), TASK_TIMEOUT), "the worker did not send the e-mail in time:\n" + worker[
        "log"
    ].read_text(errors="replace")
    message = delivered()[0].read_text()
    assert "To: rep@partner.example" in message
    assert "Queued, then sent by the worker." in message
    log = worker["log"].read_text(errors="replace")
    assert result.id in log and "succeeded" in log
