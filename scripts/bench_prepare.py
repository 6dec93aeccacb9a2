#!/usr/bin/env python3
"""Helper of ``scripts/bench.py``: pick the benchmark's actors in the bench database and print them as JSON.

Runs with the benchmark server's environment (same database and ``SECRET_KEY``, so the sessions it creates
are valid there). Prints one JSON object: ``{"actors": {...}, "endpoints": [...]}``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    import django

    django.setup()
    from partnerhub import bench

    actors = bench.prepare()
    print(json.dumps({"actors": actors.as_dict(), "endpoints": [e.as_dict() for e in bench.endpoints(actors)]}))


if __name__ == "__main__":
    main()
