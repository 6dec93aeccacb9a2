"""``make bench-cobrand`` at a tiny size on two real Celery workers, so the benchmark cannot rot unnoticed: its
setup goes through today's services, its renders run on workers, its verification passes on good files and
catches bad ones, and its report prints."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.db import connection

from comarketing.models import CobrandedFile
from tests.workers import database_url, new_queue, producer_for, start_worker, workers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_cobrand.py"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_cobrand", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through the module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_renders_on_two_workers_verifies_and_serves_repeats_from_the_cache(settings, tmp_path):
    bench = load_script()
    queue = new_queue("test-bench-cobrand")
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # the workers write where this process reads
        "EMAIL_URL": "file://",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    messages: list[str] = []

    # Given two workers started once setup is done, as the script starts them
    with workers() as started:

        def start_two():
            for n in (1, 2):
                log = tmp_path / f"worker-{n}.log"
                started.append(start_worker(queue=queue, log=log, env=env, name=f"{queue}-{n}"))

        # When the benchmark requests four renders (two datasheets, two banners) and then repeats them
        with producer_for(queue):
            result = bench.run_benchmark(
                renders=4, partners=2, cached=4, timeout=90, before_requests=start_two, log=messages.append
            )
        assert len(started) == 2 and all(w.alive() for w in started)
        logs = "\n".join(w.log_text()[-3000:] for w in started)

    # Then every render was done by the workers and checked by its content
    assert result.problems == [], f"{result.problems}\n{messages}\n{logs}"
    assert result.states == {"done": 4}
    assert {kind: f["done"] for kind, f in result.per_kind.items()} == {"pdf": 2, "image": 2}
    assert len(result.overall["ready"]) == 4 and result.throughput > 0
    renders = list(
        CobrandedFile.objects.filter(pk__in=result.render_ids).select_related("partner__brand").order_by("pk")
    )
    assert len({(r.partner_id, r.version_id, r.brand_version) for r in renders}) == 4  # no cache hit in the run
    # and the repeated requests were served from the cache: nothing enqueued, nothing rendered again
    assert result.cached | {"seconds": 0, "queries": 0} == {
        "requests": 4,
        "hits": 4,
        "seconds": 0,
        "published": 0,
        "new_rows": 0,
        "rerendered": 0,
        "queries": 0,
    }
    text = bench.report(result, bench.parse_args(["--renders", "4", "--partners", "2"]))
    assert "verification:       all renders checked by content: OK" in text
    assert 'make bench-cobrand N=4 ARGS="--partners 2"' in text

    # When files go bad, the verification says which and how
    expected = {
        r.pk: (
            "pdf" if r.content_type == "application/pdf" else "image",
            r.partner.brand.display_name,
            r.partner.brand.primary_color,
        )
        for r in renders
    }
    pdfs = [r for r in renders if r.content_type == "application/pdf"]
    pngs = [r for r in renders if r.content_type == "image/png"]
    pdfs[0].file.storage.delete(pdfs[0].file.name)
    with pngs[1].file.storage.open(pngs[1].file.name, "wb") as handle:
        handle.write(pngs[0].file.storage.open(pngs[0].file.name, "rb").read())  # another partner's banner
    problems = bench.verify([r.pk for r in renders], expected)
    assert any(f"render {pdfs[0].pk}" in p and "no file on storage" in p for p in problems), problems
    assert any(f"render {pngs[1].pk}" in p and "same bytes as render" in p for p in problems), problems
    assert any(f"render {pngs[1].pk}" in p and "not the partner's colour" in p for p in problems), problems
