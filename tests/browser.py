"""Open a page in headless Chromium (the system's, through Playwright) and record what it fetches.

Chromium is started as the project's CI does: headless, no sandbox (CI runs as root), and without
the background services that would try to reach the network.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """The system Chromium; its absence is an error (``.ci/run`` installs it), not a skip."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is not installed: run .ci/run, or apt-get install chromium"
    return path


@contextmanager
def page_of(file: Path, width: int = 1200, height: int = 900) -> Iterator[tuple[object, list[str]]]:
    """(page, urls requested) for ``file`` opened in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(file.resolve().as_uri(), wait_until="load")
            yield page, requests
        finally:
            browser.close()
