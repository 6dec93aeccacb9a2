"""A real Celery worker process on Redis picks up a queued task and does the work.

The worker listens on a queue of its own (a fresh name per run) in a Redis database kept for these tests, so
other workers on the same Redis never take its messages.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from partnerhub.tasks import send_email_task
from tests.workers import WORKER_REDIS_URL, new_queue, producer_for, purge_queue, start_worker, wait_for

TASK_TIMEOUT = 30

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(tmp_path):
    """Start ``celery -A partnerhub worker`` on its own queue; always stop it (and its pool) afterwards."""
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    running = start_worker(
        queue=new_queue(),
        log=tmp_path / "worker.log",
        env={"EMAIL_URL": "file://", "EMAIL_FILE_PATH": str(mail_dir)},
    )
    try:
        yield {"queue": running.queue, "mail_dir": mail_dir, "log": running.log, "process": running.process}
    finally:
        running.stop()
        purge_queue(WORKER_REDIS_URL, running.queue)


@pytest.fixture
def producer_on_worker_redis(worker):
    """Point this process's Celery app at the worker's Redis, sending for real instead of running eagerly."""
    with producer_for(worker["queue"]) as connection:
        yield connection


def test_a_real_worker_sends_a_queued_email(worker, producer_on_worker_redis):
    subject = f"Worker check {uuid.uuid4().hex[:8]}"

    result = send_email_task.apply_async(
        kwargs={"to": ["rep@partner.example"], "subject": subject, "text": "Queued, then sent by the worker."},
        queue=worker["queue"],
        connection=producer_on_worker_redis,
    )

    def delivered() -> list[Path]:
        return [path for path in worker["mail_dir"].iterdir() if subject in path.read_text(errors="replace")]

    assert wait_for(lambda: bool(delivered()), TASK_TIMEOUT), "the worker did not send the e-mail in time:\n" + worker[
        "log"
    ].read_text(errors="replace")
    message = delivered()[0].read_text()
    assert "To: rep@partner.example" in message
    assert "Queued, then sent by the worker." in message
    log = worker["log"].read_text(errors="replace")
    assert result.id in log and "succeeded" in log
