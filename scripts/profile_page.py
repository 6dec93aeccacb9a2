#!/usr/bin/env python3
"""Profile ``make bench``'s endpoints in one process: CPU per request, queries, and where the time goes.

Calls the WSGI application directly (no server, no network) with the benchmark server's environment, on the
bench database that ``make bench`` seeded, as the benchmark's actors. For each endpoint whose name contains
the text given: CPU milliseconds per request (the mean of ``--repeat`` requests after a warm-up) and SQL
queries, then with ``--profile`` the functions that take the most time (cProfile).

    python scripts/profile_page.py team                  # CPU ms per request of "Portal team page"
    python scripts/profile_page.py "team page" --profile # ... and the top functions
    python scripts/profile_page.py ""                    # every endpoint, ceilings included
    python scripts/profile_page.py desk --sql --explain 2 # its statements, and the plans of those over 2 ms

Environment: BENCH_DATABASE_URL and BENCH_REDIS_URL as for ``make bench``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def environ_for(path: str, headers: dict[str, str]) -> dict:
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8765",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_HOST": "127.0.0.1:8765",
        "HTTP_ACCEPT_ENCODING": "identity",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call(app, path: str, headers: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = status
        answer["headers"] = dict(response_headers)

    chunks = app(environ_for(path, headers), start_response)
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"], answer["headers"], body


def print_queries(app, endpoint, explain_above: float | None = None) -> None:
    """Each statement of one request with its time; with ``explain_above``, PostgreSQL's plan of every statement
    that took longer than that many milliseconds and reads (``EXPLAIN (ANALYZE, BUFFERS)`` with the request's
    parameters)."""
    from django.db import connection

    timings: list[tuple[float, str, tuple]] = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - started) * 1000, sql, tuple(params or ())))

    with connection.execute_wrapper(wrapper):
        call(app, endpoint.path, endpoint.headers)
    for ms, sql, params in timings:
        print(f"  {ms:7.2f} ms  {(sql % tuple(repr(p) for p in params))[:400]}")
        # Reads only: EXPLAIN ANALYZE runs the statement, and a write would be made a second time.
        if explain_above is not None and ms > explain_above and sql.lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join("             " + row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="measure the endpoints whose name contains this text")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print the top functions by own and total time")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print each SQL statement of one request with its time")
    parser.add_argument(
        "--explain",
        type=float,
        metavar="MS",
        help="with --sql: PostgreSQL's plan (EXPLAIN ANALYZE) of every statement slower than MS milliseconds",
    )
    args = parser.parse_args()

    from bench import Config

    os.environ.update(Config.from_env().server_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from partnerhub import bench

    actors = bench.prepare()
    app = WSGIHandler()
    for endpoint in bench.endpoints(actors):
        if args.name.lower() not in endpoint.name.lower():
            continue
        for _ in range(5):
            status, headers, body = call(app, endpoint.path, endpoint.headers)
        batches = []  # the quickest batch of ten: the least disturbed by whatever else runs
        for _ in range(max(1, args.repeat // 10)):
            started = time.process_time()
            for _ in range(10):
                call(app, endpoint.path, endpoint.headers)
            batches.append((time.process_time() - started) * 100)
        cpu = min(batches)
        print(
            f"{endpoint.name}: {status}, {cpu:.1f} ms CPU/request (quickest batch of 10), "
            f"{headers.get(bench.QUERIES_HEADER)} queries, {headers.get(bench.DB_TIME_HEADER)} ms in SQL, "
            f"{len(body):,} bytes",
            flush=True,
        )
        if args.sql:
            print_queries(app, endpoint, args.explain)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeat):
                call(app, endpoint.path, endpoint.headers)
            profiler.disable()
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                print(out.getvalue())


if __name__ == "__main__":
    main()
