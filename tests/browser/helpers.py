"""Helpers for browser journeys: Chromium launch settings, partner hosts, step screenshots, brand colours."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "journeys"

# Debian's Chromium, never a downloaded browser. Background services off: the journeys talk to our server only.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def chromium_path() -> str | None:
    return shutil.which("chromium")


def partner_url(live_server_url: str, partner) -> str:
    """The base URL of a partner's branded portal on the live server: ``http://<subdomain>.localhost:<port>``."""
    parts = urlsplit(live_server_url)
    return f"{parts.scheme}://{partner.brand.subdomain}.localhost:{parts.port}"


def primary_colour(page: Page) -> str:
    """The ``--brand-primary`` custom property as the page's CSS sees it (after the nonce'd brand style)."""
    return page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand-primary').trim()")


def background_colour(locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).backgroundColor")


def rgb(hex_colour: str) -> str:
    """``#b4231b`` → ``rgb(180, 35, 27)``, the form ``getComputedStyle`` reports colours in."""
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


class Journey:
    """Numbered steps of one journey; each leaves a full-page screenshot of the page it acted on.

    ``with journey.step("sign-in", page): ...`` saves ``NN-sign-in.png`` when the step succeeds and
    ``NN-sign-in-FAILED.png`` (then re-raises) when it fails, so a broken journey shows where it stopped.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.saved: list[Path] = []
        shutil.rmtree(directory, ignore_errors=True)  # screenshots of an earlier run would mislead
        directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def step(self, name: str, page: Page) -> Iterator[None]:
        self.count += 1
        stem = f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        try:
            yield
        except BaseException:
            self._shoot(page, f"{stem}-FAILED")
            raise
        self._shoot(page, stem)

    def _shoot(self, page: Page, stem: str) -> None:
        path = self.directory / f"{stem}.png"
        try:
            page.screenshot(path=str(path), full_page=True, timeout=TIMEOUT_MS)
        except Exception as exc:  # a closed or crashed page must not hide the step's own error
            path.with_suffix(".txt").write_text(f"No screenshot: {exc}\n")
            return
        self.saved.append(path)


def console_errors(page: Page) -> list[str]:
    """Collect the page's console errors (a CSP violation shows up here) into a list that fills as it runs."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
