#!/usr/bin/env python3
"""Helper of ``make bench``: which gunicorn worker count serves best on this machine.

    python scripts/bench_workers.py [COUNTS...]     # default 2 3 4 5 6

Uses the bench database and settings of ``scripts/bench.py`` (run ``make bench`` once first). For each worker
count it starts gunicorn and loads three endpoints (the partner ceiling, the channel manager's partner list and
the partner admin's membership list) with the same ``wrk`` settings, then prints requests per second and
latency per count. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench

ENDPOINTS = (
    "Ceiling: 50 partners, bare DRF",
    "API partner list, channel manager",
    "API membership list, partner admin",
)


def main(counts: list[int]) -> None:
    cfg = bench.Config.from_env()
    wrk = bench.ensure_wrk()
    bench.ensure_static(cfg)
    prepared = json.loads(
        subprocess.run(
            [bench.PY, "scripts/bench_prepare.py"],
            cwd=bench.ROOT,
            env=cfg.server_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    endpoints = [e for e in prepared["endpoints"] if e["name"] in ENDPOINTS]
    rows = []
    for count in counts:
        cfg.workers = count
        with bench.Server(cfg):
            for endpoint in endpoints:
                result = bench.run_one(cfg, wrk, endpoint)
                rows.append((count, result))
    print()
    print("| workers | endpoint | req/s | p50 ms | p99 ms | CPU ms/req app + db |")
    print("|--:|---|--:|--:|--:|--:|")
    for count, r in rows:
        db = f"{r.db_ms:.1f}" if r.db_ms is not None else "?"
        print(f"| {count} | {r.name} | {r.rps:,.0f} | {r.p50:.1f} | {r.p99:.1f} | {r.app_ms:.1f} + {db} |")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [2, 3, 4, 5, 6])
