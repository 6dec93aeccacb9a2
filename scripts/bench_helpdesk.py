#!/usr/bin/env python3
"""Peer comparison: django-helpdesk (from PyPI) serving its ticket list on PartnerHub's ticket volume.

``make bench`` measures PartnerHub's ticket lists on 200,000 tickets. This script puts the best-known open
source Django help desk on the same machine, stack and volume and measures its ticket list the same way:

1. install ``django-helpdesk`` (pinned), gunicorn and psycopg2 into a separate virtual environment under
   ``.run/helpdesk/`` (git-ignored), and write a minimal project there: production-like settings, per-queue
   staff permissions on (its way of scoping tickets), its REST API on, and a query-counting middleware that
   sends ``X-DB-Queries`` like PartnerHub's benchmark mode;
2. create its tables in a separate database (``helpdesk_bench``) and bulk-load 150 queues of about 1,333
   tickets each (200,000; a year of history, PartnerHub's spread of statuses and priorities, one to five
   follow-ups per answered ticket): one queue holds as many tickets as the partner ``make bench`` acts for;
3. serve it with gunicorn (4 sync workers, ``DEBUG`` off) and load each endpoint with ``scripts/bench.py``'s
   own routine: warm-up, one checked request, ``wrk`` for the same duration, CPU per request of the workers
   and of their PostgreSQL backends.

Endpoints: the ticket list page's data (django-helpdesk's ticket list is a DataTables page that fetches its
rows from ``datatables_ticket_list``; newest first, every status, its default page of 25) for a staff member
granted one queue and for a superuser (all 200,000 tickets), loaded with ``wrk`` with one connection per
worker (``HELPDESK_CONNECTIONS``); its REST ticket list (``/api/tickets/``) for the staff member is timed
once, as it reads every ticket the caller may see on each request. Results are printed and written to
``.run/helpdesk/RESULTS.md``; docs/PERFORMANCE.md quotes them next to PartnerHub's.

Environment: HELPDESK_BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/helpdesk_bench),
HELPDESK_BENCH_PORT (8766), HELPDESK_TICKETS (200000), HELPDESK_RELOAD=1 to load the tickets again,
HELPDESK_CONNECTIONS (the worker count), and
scripts/bench.py's BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_THREADS, BENCH_WORKERS.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".run" / "helpdesk"
VENV = HOME / "venv"
PROJECT = HOME / "project"
VERSION = "2.6.1"
QUEUES = 150

SETTINGS = """\
import os
from urllib.parse import urlsplit

_db = urlsplit(os.environ["HELPDESK_BENCH_DATABASE_URL"])
SECRET_KEY = "helpdesk-bench-only-secret-key-not-for-any-real-server-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "hdbench.middleware.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdbench.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "postgres",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": str(_db.port or 5432),
        "CONN_MAX_AGE": 60,
    }
}
SITE_ID = 1
STATIC_URL = "/static/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
HELPDESK_API_ENABLED = True
"""

WSGI = """\
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""

URLS = """\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""

MIDDLEWARE = """\
from django.db import connection


class QueryCountMiddleware:
    \"\"\"X-DB-Queries: the SQL statements of the request, counted like PartnerHub's benchmark mode.\"\"\"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = [0]

        def counter(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-DB-Queries"] = str(count[0])
        return response
"""

# Runs inside the helpdesk environment: loads the tickets once, then prints the actors and the paths as JSON.
LOADER = """\
import datetime as dt
import json
import random
import sys
import uuid

import django

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from helpdesk.models import FollowUp, Queue, Ticket
from helpdesk.query import query_to_base64

total, queues, reload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
User = get_user_model()
rng = random.Random(20261128)
now = timezone.now()
if reload:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE helpdesk_ticket CASCADE")  # the tickets and every row that points at them
staff, _ = User.objects.get_or_create(username="desk-agent", defaults={"is_staff": True, "email": "agent@example.com"})
colleague, _ = User.objects.get_or_create(
    username="desk-colleague", defaults={"is_staff": True, "email": "colleague@example.com"}
)
root, _ = User.objects.get_or_create(
    username="desk-admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
)
if not Queue.objects.exists():
    for i in range(queues):
        Queue.objects.create(title=f"Partner desk {i:03d}", slug=f"desk-{i:03d}", allow_public_submission=False)
desks = list(Queue.objects.order_by("id"))
mine = desks[1]
codename = mine.permission_name.split(".", 1)[1]
staff.user_permissions.add(Permission.objects.get(codename=codename))
if not Ticket.objects.exists():
    statuses = [(4, 45), (3, 20), (1, 33), (2, 2)]  # closed, resolved, open, reopened: PartnerHub's spread
    rows = []
    for k in range(total):
        status = rng.choices([s for s, _ in statuses], [w for _, w in statuses])[0]
        active = status in (1, 2)
        created = now - dt.timedelta(days=rng.uniform(0, 10) if active else rng.uniform(2, 365))
        queue = desks[k % len(desks)]
        # django-helpdesk shows a staff member the tickets assigned to them in any queue: the measured agent
        # works only its own queue, as PartnerHub's partner users do.
        agent = staff if queue == mine else colleague
        rows.append(
            Ticket(
                title=f"Firmware upgrade fails on unit {k % 997}",
                queue=queue,
                created=created,
                modified=created + dt.timedelta(hours=rng.randint(0, 48)),
                submitter_email=f"customer{k % 5000:05d}@example.com",
                assigned_to=agent if rng.random() < 0.7 else None,
                status=status,
                description="The firmware upgrade stops at 80 % and the unit rolls back to the previous image.",
                resolution="Upgraded to 7.2.3." if status in (3, 4) else "",
                priority=rng.choice([1, 2, 3, 3, 3, 4, 5]),
                secret_key=str(uuid.uuid4()),
            )
        )
    rows.sort(key=lambda t: t.created)
    with transaction.atomic():
        Ticket.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(
                \"\"\"
                INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public, user_id)
                SELECT t.id, LEAST(now(), t.created + k * interval '3 hours'), 'Comment',
                       'Could you send the diagnostics bundle?', true,
                       CASE WHEN mod(k, 2) = 1 THEN %s END
                FROM helpdesk_ticket t
                CROSS JOIN LATERAL generate_series(1, 1 + mod(t.id, 5)::int) k
                WHERE t.status <> 1 OR mod(t.id, 3) = 0
                \"\"\",
                [staff.pk],
            )


def session(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


newest_first = query_to_base64(
    {"filtering": {}, "filtering_null": {}, "sorting": "created", "sortreverse": True, "search_string": ""}
)
print(
    json.dumps(
        {
            "staff_session": session(staff),
            "root_session": session(root),
            "query": newest_first,
            "tickets": Ticket.objects.count(),
            "followups": FollowUp.objects.count(),
            "queue_tickets": Ticket.objects.filter(Q(queue=mine) | Q(assigned_to=staff)).count(),
            "queues": len(desks),
        }
    )
)
"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def bench_module():
    """scripts/bench.py, for its Config, wrk, CPU accounting and table."""
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ensure_environment() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        say(f"Creating {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    installed = subprocess.run([str(python), "-m", "pip", "show", "django-helpdesk"], capture_output=True, text=True)
    if f"Version: {VERSION}" not in installed.stdout:
        say(f"Installing django-helpdesk {VERSION}, gunicorn and psycopg2 into it")
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"django-helpdesk=={VERSION}", "gunicorn", "psycopg2-binary"],
            check=True,
        )
    package = PROJECT / "hdbench"
    package.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "__init__.py": "",
        "settings.py": SETTINGS,
        "urls.py": URLS,
        "wsgi.py": WSGI,
        "middleware.py": MIDDLEWARE,
    }.items():
        (package / name).write_text(text)
    (PROJECT / "load.py").write_text(LOADER)
    return python


def helpdesk_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PARTNERHUB_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="hdbench.settings",
        PYTHONPATH=str(PROJECT),
        HELPDESK_BENCH_DATABASE_URL=url,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def ensure_database(bench, url: str, python: Path, tickets: int, reload: bool) -> dict:
    admin_url, name = bench.maintenance_url(url)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        sys.exit(f"Unexpected database name {name!r}.")
    if bench.psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":  # noqa: S608 (checked)
        say(f"Creating database {name}")
        bench.psql(admin_url, f'CREATE DATABASE "{name}"')
    env = helpdesk_env(url)
    say("Migrating django-helpdesk's tables")
    subprocess.run([str(python), "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=PROJECT, env=env, check=True)
    say(f"Loading {tickets:,} tickets in {QUEUES} queues (once; a few minutes) and preparing sessions")
    started = time.monotonic()
    out = subprocess.run(
        [str(python), "load.py", str(tickets), str(QUEUES), "1" if reload else "0"],
        cwd=PROJECT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    say(f"Ready in {time.monotonic() - started:.0f} s")
    bench.psql(url, "VACUUM ANALYZE")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Server:
    """django-helpdesk under gunicorn with sync workers on 127.0.0.1; stopped (its process group) on exit."""

    def __init__(self, bench, cfg, python: Path, url: str):
        self.bench, self.cfg, self.python, self.url = bench, cfg, python, url

    def __enter__(self):
        gunicorn = str(self.python.with_name("gunicorn"))
        self.log = open(HOME / "gunicorn.log", "w")
        say(f"Starting gunicorn: {self.cfg.workers} sync workers on http://127.0.0.1:{self.cfg.port}/")
        self.process = subprocess.Popen(
            [
                gunicorn,
                "hdbench.wsgi",
                f"--bind=127.0.0.1:{self.cfg.port}",
                f"--workers={self.cfg.workers}",
                "--worker-class=sync",
                "--log-level=warning",
            ],
            cwd=PROJECT,
            env=helpdesk_env(self.url),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.cfg.master_pid = self.process.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn stopped at start; see {HOME / 'gunicorn.log'}")
            try:
                status, _, _ = self.bench.request(self.cfg.port, "/helpdesk/login/", {})
                if status in (200, 302):
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        sys.exit("gunicorn did not answer within 30 s")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def timed_request(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def main() -> None:
    bench = bench_module()
    url = os.environ.get("HELPDESK_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_bench")
    tickets = bench.env_int("HELPDESK_TICKETS", 200_000)
    cfg = bench.Config.from_env()
    cfg.database_url = url
    cfg.port = bench.env_int("HELPDESK_BENCH_PORT", 8766)
    # A ticket list page takes seconds here: one connection per worker keeps requests from queueing past wrk's
    # 10 s timeout (throughput is the same once every worker is busy).
    cfg.connections = bench.env_int("HELPDESK_CONNECTIONS", cfg.workers)
    wrk = bench.ensure_wrk()
    python = ensure_environment()
    data = ensure_database(bench, url, python, tickets, os.environ.get("HELPDESK_RELOAD", "") == "1")
    staff = {"Cookie": f"sessionid={data['staff_session']}"}
    root = {"Cookie": f"sessionid={data['root_session']}"}
    listing = f"/helpdesk/datatables_ticket_list/{data['query']}"
    endpoints = [
        {
            "name": "django-helpdesk ticket list data, staff with one queue",
            "path": listing,
            "headers": staff,
            "table": "ticket",
            "kind": "list",
            "rows": f"{data['queue_tickets']:,} of {data['tickets']:,} tickets, 25 per page",
        },
        {
            "name": "django-helpdesk ticket list data, superuser",
            "path": listing,
            "headers": root,
            "table": "ticket",
            "kind": "list",
            "rows": f"all {data['tickets']:,} tickets, 25 per page",
        },
    ]
    rest = "/helpdesk/api/tickets/"
    load = float(Path("/proc/loadavg").read_text().split()[0])
    results = []
    with Server(bench, cfg, python, url):
        for endpoint in endpoints:
            status, _, body = bench.request(cfg.port, endpoint["path"], endpoint["headers"])
            if status != 200:
                sys.exit(f"{endpoint['name']}: {endpoint['path']} answered {status}:\n{body[:300]!r}")
            page = json.loads(body)
            rows = page.get("data", page.get("results"))
            if not rows:
                sys.exit(f"{endpoint['name']}: no rows")
            results.append(bench.run_one(cfg, wrk, endpoint))
        # The REST list reads every ticket the caller may see on each request (its get_queryset loops over them
        # to attach custom fields), so it is timed once instead of loaded with wrk.
        say(f"Timing one request of {rest} (it reads every ticket the staff member may see)")
        started = time.monotonic()
        status, headers, body = timed_request(cfg.port, rest, staff)
        rest_seconds = time.monotonic() - started
        rest_note = (
            f"django-helpdesk REST ticket list (`{rest}`), staff with one queue: {status}, one request "
            f"{rest_seconds:.1f} s, {headers.get('x-db-queries', '?')} SQL queries, "
            f"{len(json.loads(body).get('results', [])) if status == 200 else 0} rows on the page."
        )
        say(rest_note)
    table = bench.table(results)
    info = bench.machine(cfg)
    command = "python scripts/bench_helpdesk.py"
    text = "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`: django-helpdesk "
            f"{VERSION}, {data['tickets']:,} tickets in {data['queues']} queues, {data['followups']:,} follow-ups; "
            f"gunicorn {cfg.workers} sync workers; `wrk -t{cfg.threads} -c{cfg.connections} -d{cfg.duration}s`; "
            f"load average {load:.2f} at the start.",
            "",
            *[f"- {key}: {value}" for key, value in info.items()],
            "",
            table,
            "",
            rest_note,
            "",
        ]
    )
    (HOME / "RESULTS.md").write_text(text)
    print()
    print(table)
    say(f"Wrote {(HOME / 'RESULTS.md').relative_to(ROOT)}")


if __name__ == "__main__":
    if urlsplit(os.environ.get("HELPDESK_BENCH_DATABASE_URL", "postgres://x/helpdesk_bench")).scheme != "postgres":
        sys.exit("HELPDESK_BENCH_DATABASE_URL must be a postgres:// URL.")
    main()
