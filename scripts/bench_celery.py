"""What the Celery benchmarks (``make bench-provisioning``, ``make bench-cobrand``) share: real worker processes
on a queue of the run's own, clean-up of that queue in Redis, a recreated bench database, and percentiles."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class Workers:
    """Celery workers in sessions of their own: one killpg stops a worker and its pool."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str):
        self.env = env
        self.log_dir = log_dir
        self.name = name  # worker host names: <name>-1@host, <name>-2@host...
        self.procs: list[tuple[subprocess.Popen, Path]] = []

    def start(self, count: int, concurrency: int, queue: str) -> None:
        for n in range(1, count + 1):
            log = self.log_dir / f"worker-{n}.log"
            args = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "partnerhub",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                f"--queues={queue}",
                f"--hostname={self.name}-{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            self.procs.append((proc, log))
        deadline = time.monotonic() + 60
        for proc, log in self.procs:
            # --loglevel=WARNING hides the "ready" line; the banner's queue list is printed once the app has
            # loaded. Tasks sent before the consumer connects wait in Redis (the sender declares the queue).
            while "[queues]" not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"A worker did not start; see {log}:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)

    def stop(self) -> None:
        for proc, _ in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc, _ in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the worker and its pool
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()


def purge_queue(redis_url: str, queue: str) -> None:
    """Remove what this run left in Redis: its queue (messages of an interrupted run included), the queue's
    exchange bindings, tasks still marked unacknowledged for it, and its cache keys."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
        for tag, raw in client.hgetall("unacked").items():
            with contextlib.suppress(ValueError, TypeError, IndexError):
                if json.loads(raw)[2] == queue:  # [message, exchange, routing key]
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
    finally:
        client.close()


def recreate_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a and b else None
