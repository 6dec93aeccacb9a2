"""Machinery of the isolation walk: every URL pattern of the project, from the resolver itself.

The walk does not keep its own list of endpoints. ``enumerate_routes`` reads the URL resolver (which holds
the portal, the console and every API router), so a new endpoint is in the walk the moment it is mounted;
``tests/quality/walk_registry.py`` only says how to fill its URL parameters with partner A's objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

# Django's converters and the regex groups DRF's routers produce.
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    """One concrete URL pattern: its namespaced name, its full pattern text and its parameters."""

    name: str
    pattern: str
    params: tuple[str, ...]
    view: object = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.name or self.pattern

    def build(self, values: dict[str, object]) -> str:
        """Substitute parameter values into the pattern (works for both path() and regex patterns)."""
        missing = set(self.params) - set(values)
        if missing:
            raise KeyError(f"{self.key}: no value for {sorted(missing)}")
        path = self.pattern

        def replace(match: re.Match) -> str:
            name = match.group("name") or match.group("rname")
            return str(values[name])

        path = _PARAM.sub(replace, path)
        # Strip regex syntax left by re_path()/router patterns.
        path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\.", ".")
        path = re.sub(r"/\?$", "/", path)
        return "/" + path.lstrip("/")


def _pattern_text(pattern) -> str:
    return str(pattern.pattern)


def enumerate_routes() -> list[Route]:
    """Every leaf URL pattern reachable from ROOT_URLCONF, with namespaced names."""
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str):
        for entry in patterns:
            text = prefix + _pattern_text(entry)
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, text, ns)
            elif isinstance(entry, URLPattern):
                name = entry.name or ""
                if name and namespace:
                    name = f"{namespace}:{name}"
                params = tuple(m.group("name") or m.group("rname") for m in _PARAM.finditer(text))
                routes.append(Route(name=name, pattern=text, params=params, view=entry.callback))

    walk(get_resolver().url_patterns, "", "")
    return routes


def is_format_suffix(route: Route) -> bool:
    """DRF's ``.json``-style duplicates of API routes: same view, same checks; walked through the plain route."""
    return "format" in route.params
