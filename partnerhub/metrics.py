"""Partner metrics registry: feature apps publish per-partner figures that dashboards and scorecards show.

    from partnerhub import metrics

    metrics.register("support.sla_attainment", label="SLA attainment", unit="percent",
                     compute=lambda partner_ids, since: {...})

``compute(partner_ids, since)`` returns ``{partner_id: value or None}`` in bounded queries (aggregate in SQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Compute = Callable[[list[int], dt.datetime], dict[int, float | int | None]]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "percent" (0..1), "count", "money", "hours"
    compute: Compute


_METRICS: dict[str, Metric] = {}


def register(key: str, *, label: str, unit: str, compute: Compute) -> Metric:
    metric = Metric(key=key, label=label, unit=unit, compute=compute)
    _METRICS[key] = metric
    return metric


def all_metrics() -> list[Metric]:
    return list(_METRICS.values())


def compute(partner_ids: Iterable[int], *, since: dt.datetime, keys: Iterable[str] | None = None) -> dict:
    """``{metric key: {partner_id: value}}`` for the given partners (already scoped by the caller)."""
    ids = list(partner_ids)
    wanted = [m for m in _METRICS.values() if keys is None or m.key in set(keys)]
    return {m.key: m.compute(ids, since) for m in wanted}
