"""Duplicate flags as the API shows them. Which applications, jobs and matches a reviewer reaches is decided
in ``onboarding.selectors`` (one rule for the pages, the API and the console): a reviewer who cannot open a
match sees its flag without name or id, so a flag never reveals another channel manager's partner."""

from __future__ import annotations

from onboarding.models import PartnerApplication


def visible_flags(application: PartnerApplication, visibility: tuple[set[int], set[int]]) -> list[dict]:
    """The application's duplicate flags, each with ``visible``; a hidden match loses its name and id."""
    partners, others = visibility
    flags = []
    for flag in application.duplicate_flags or []:
        is_partner = flag.get("object") == "partner"
        visible = flag.get("id") in (partners if is_partner else others)
        flags.append(
            {
                "kind": flag.get("kind", ""),
                "object": "partner" if is_partner else "application",
                "id": flag.get("id") if visible else None,
                "label": flag.get("label", "") if visible else "",
                "detail": flag.get("detail", ""),
                "visible": visible,
            }
        )
    return flags
