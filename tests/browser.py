"""Helpers for browser tests: serve a built site on 127.0.0.1 and drive Debian's Chromium.

Playwright is launched with ``executable_path`` set to the system Chromium (a browser
download cannot work here) and every request that is not to the local server is aborted,
so a page that reaches for the network fails the test instead of hanging.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def serve_dir(folder: Path, prefix: str = "") -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 at a free port; yields the base URL.

    With ``prefix`` (e.g. ``repo/``) the site is served under that sub-path, the way
    GitHub Pages serves a project site.
    """
    root = folder
    if prefix:
        root = folder.parent / f"{folder.name}-served"
        target = root / prefix.strip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(folder.resolve(), target_is_directory=True)
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{prefix}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(
    browser: Any, *, javascript: bool = True, viewport: dict[str, int] | None = None
) -> Iterator[tuple[Any, list[str]]]:
    """A page whose only reachable origin is 127.0.0.1; yields it and its console errors."""
    context = browser.new_context(
        java_script_enabled=javascript,
        service_workers="block",
        viewport=viewport or {"width": 1400, "height": 900},
    )

    def guard(route: Any) -> None:
        url = route.request.url
        # the local site, and the browser's own pages (its PDF viewer loads chrome:// files)
        if url.startswith(("http://127.0.0.1:", "data:", "blob:", "chrome:", "chrome-extension:")):
            route.continue_()
        else:
            errors.append(f"blocked request to {url}")
            route.abort()

    errors: list[str] = []
    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    try:
        yield page, errors
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page (axe from axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    return [v for v in violations if v.get("impact") in ("serious", "critical")]
