"""Template source checks that the template engine does not make itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates"]


def template_files():
    for folder in TEMPLATE_DIRS:
        yield from sorted(folder.rglob("*.html"))
        yield from sorted(folder.rglob("*.txt"))


def test_one_line_comments_close_on_their_line():
    """``{# … #}`` is a one-line comment: left open, the engine prints it into the page (before a doctype, it sends
    the browser into quirks mode and past the page's icon and styles)."""
    open_comments = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for path in template_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.count("{#") > line.count("#}")
    ]
    assert open_comments == []


@pytest.mark.django_db
def test_staff_pages_start_with_the_doctype(client):
    from tests.factories import make_staff

    client.force_login(make_staff())
    response = client.get("/review/")
    assert response.status_code == 200
    assert response.content.decode().startswith("<!doctype html>")
