"""Real Celery worker processes for tests: start ``celery -A partnerhub worker`` on a queue of its own, wait for
it, kill it (the whole process group, or only a pool child), and always clean up.

Each worker runs in a session of its own (``start_new_session``), so its process group holds the main process
and every pool child: one ``killpg`` reaches them all. Tests that start workers point this process's Celery app
at the same Redis database and queue with ``producer_for``, so tasks they enqueue (directly or from
``transaction.on_commit``) reach only their own workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER_REDIS_URL = os.environ.get("WORKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
START_TIMEOUT = 60


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds have passed; the last answer decides."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def new_queue(prefix: str = "test-worker") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def database_url(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` for a worker subprocess that points at the database this process uses (the test DB)."""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


def _process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}  # a zombie has exited; it only waits to be reaped


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(FileNotFoundError):
        return [int(p) for p in children.read_text().split()]
    found = []  # kernels without /proc/<pid>/task/<pid>/children: scan parent ids
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@dataclass
class Worker:
    """A running ``celery worker``: its process (the group leader), log file and queue."""

    process: subprocess.Popen
    log: Path
    queue: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pool_pids(self) -> list[int]:
        """The pool children (prefork processes) that run the tasks."""
        return [pid for pid in _children(self.pid) if _process_alive(pid)]

    def group_pids(self) -> list[int]:
        """Every live process of the worker: the main process and its pool."""
        return [pid for pid in [self.pid, *_children(self.pid)] if _process_alive(pid)]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> list[int]:
        """SIGKILL the whole worker at once (main process and pool), as a crashed machine would; returns the pids
        that were killed once they are all gone."""
        pids = self.group_pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        assert wait_for(lambda: not any(_process_alive(p) for p in pids), 10), f"processes survived: {pids}"
        return pids

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL whatever is left of the group."""
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The main process is gone; make sure no pool child outlived it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            return


def start_worker(
    *,
    queue: str,
    log: Path,
    env: dict[str, str] | None = None,
    redis_url: str = WORKER_REDIS_URL,
    concurrency: int = 1,
    name: str | None = None,
) -> Worker:
    """Start a worker consuming ``queue`` (also its default queue, so tasks it enqueues stay with it) and wait
    until it reports ready. ``env`` adds or overrides environment variables (``DATABASE_URL``, …)."""
    full_env = {
        **os.environ,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    full_env.pop("PARTNERHUB_ENV", None)
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "partnerhub",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        f"--hostname={name or queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process=proc, log=log, queue=queue, env=full_env)
    try:
        ready = wait_for(lambda: " ready." in worker.log_text() or not worker.alive(), START_TIMEOUT)
        assert ready and worker.alive(), "the worker did not start:\n" + worker.log_text()
    except BaseException:
        worker.stop()
        raise
    return worker


@contextlib.contextmanager
def workers() -> Iterator[list[Worker]]:
    """Collect started workers and stop every one of them on the way out, whatever happened; then remove their
    queues from Redis."""
    started: list[Worker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
        for redis_url, queue in {(w.env["CELERY_BROKER_URL"], w.queue) for w in started}:
            purge_queue(redis_url, queue)


def purge_queue(redis_url: str, queue: str) -> None:
    """Delete a test queue's keys (its messages and exchange bindings) once its workers are gone."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
    finally:
        client.close()


@contextlib.contextmanager
def producer_for(queue: str, redis_url: str = WORKER_REDIS_URL):
    """Point this process's Celery app at the workers' Redis and queue, sending for real instead of running
    tasks in-process; restores the previous configuration afterwards. Yields a broker connection."""
    from partnerhub import celery_app

    conf = celery_app.conf
    saved = {
        "task_always_eager": conf.task_always_eager,
        "broker_url": conf.broker_url,
        "task_default_queue": conf.task_default_queue,
    }

    def reset_pools():
        # Drop the app's handles on the previous broker's pools so the next send picks the pools of the current
        # broker URL. kombu keeps the pools themselves in a registry keyed by URL, shared by later tests, so
        # they are left open rather than closed.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.task_always_eager = False
    conf.broker_url = redis_url
    conf.task_default_queue = queue
    reset_pools()
    try:
        with celery_app.connection_for_write(redis_url) as connection:
            yield connection
    finally:
        reset_pools()
        for key, value in saved.items():
            setattr(conf, key, value)
