"""Fixtures for browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

The live server is a real HTTP server in a thread of this process, so the journeys share its database (hence
``transactional_db``, which ``live_server`` brings in), its settings and the locmem mailbox
(``django.core.mail.outbox``). Playwright's sync API runs an event loop in the test's thread, where Django would
refuse ORM calls as "async unsafe"; the test thread is not async code, so that check is turned off for the
duration of a journey only.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, Journey, chromium_path, console_errors


# Named ``chromium``, not ``browser``: pytest-playwright parametrizes every test that asks for its own fixture names.
@pytest.fixture
def chromium(live_server, monkeypatch):
    """A headless Chromium for one test; closed (and Playwright stopped) even when the test fails."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail("Browser journeys need Debian's Chromium on PATH (apt-get install chromium).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's database connections in a context-local
            # slot that the usual thread-local cleanup never sees; close them here, or the test database
            # cannot be dropped at the end of the run ("being accessed by other users").
            connections.close_all()


@pytest.fixture
def page_errors():
    """Console errors and uncaught exceptions of every page a journey opened (CSP violations land here)."""
    return []


@pytest.fixture
def open_page(chromium, page_errors):
    """Open a page in a fresh browser context (its own cookies: another person, or a new visit)."""

    def _open():
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors = console_errors(page)
        page_errors.append(errors)
        return page

    return _open


@pytest.fixture
def journey(request):
    """Screenshots of each step under artifacts/journeys/<test name>/."""
    return Journey(ARTIFACTS / request.node.name)
