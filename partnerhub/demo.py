"""Demo data registry: feature apps add their part of ``manage.py seed_demo`` without the core importing them.

    from partnerhub import demo

    @demo.register("support")
    def seed_support(ctx: demo.DemoContext) -> None: ...

Seeders run in registration order after the core's partners, people and staff exist, inside the same
transaction, and must be idempotent (a second ``seed_demo`` adds only what is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class DemoContext:
    superuser: object
    staff: dict  # username -> User
    partners: dict  # slug -> Partner
    users: Callable[[str], object]  # username -> User
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # extra lines for the printed report


_SEEDERS: list[tuple[str, Callable[[DemoContext], None]]] = []


def register(name: str):
    def decorator(func: Callable[[DemoContext], None]):
        if name not in {n for n, _ in _SEEDERS}:
            _SEEDERS.append((name, func))
        return func

    return decorator


def seeders() -> list[tuple[str, Callable[[DemoContext], None]]]:
    return list(_SEEDERS)
