"""Local preview: build, serve on loopback, rebuild on change, reload the browser.

A build with data errors does not stop the server: every page shows the errors until the
next good build. The reload script is a file (the pages' CSP forbids inline script) that
polls ``/__crmgen/version``.
"""

from __future__ import annotations

import html
import ipaddress
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crmgen import report
from crmgen.build import build_site
from crmgen.model import Diagnostic

WATCHED = ("data", "schema", "templates", "files", "crmgen.yml")
RELOAD_JS = b"""(function () {
  var seen = null;
  function poll() {
    fetch('/__crmgen/version', {cache: 'no-store'}).then(function (r) { return r.text(); })
      .then(function (v) { if (seen !== null && v !== seen) { location.reload(); } seen = v; })
      .catch(function () {}).finally(function () { setTimeout(poll, 1000); });
  }
  poll();
}());
"""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` on a loopback address; anything else is refused."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"'{address}' is not HOST:PORT, e.g. 127.0.0.1:8000")
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"'{host}' is not an IP address; use 127.0.0.1") from exc
    if not ip.is_loopback:
        raise ValueError(
            f"{host} is not a loopback address; crmgen serve only listens on "
            "127.0.0.1 or ::1 (the preview is not meant to be published)"
        )
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range")
    return host, port


@dataclass
class ServeState:
    """What the server shows: the site folder, the build number and the last problems."""

    out: Path
    version: int = 0
    problems: list[Diagnostic] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, version: int, problems: list[Diagnostic]) -> None:
        with self.lock:
            self.version = version
            self.problems = problems


def error_page(problems: list[Diagnostic]) -> bytes:
    """A page listing the build's problems (all escaped)."""
    rows = "".join(
        f"<li><code>{html.escape(report.location(d))}</code> {html.escape(d.message)}</li>"
        for d in report.ordered(problems)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
        "script-src 'self'; connect-src 'self'\">"
        "<title>crmgen: build failed</title></head><body><main><h1>The build failed</h1>"
        f"<p>{html.escape(report.summary(problems))}. Fix the files below; this page reloads "
        f"by itself.</p><ul>{rows}</ul></main>"
        '<script src="/__crmgen/reload.js"></script></body></html>'
    ).encode()


def make_handler(state: ServeState) -> type[SimpleHTTPRequestHandler]:
    """A request handler serving ``state.out`` plus the reload endpoints."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(state.out), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _send(self, body: bytes, kind: str, status: int = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/__crmgen/version":
                self._send(str(state.version).encode(), "text/plain")
                return
            if path == "/__crmgen/reload.js":
                self._send(RELOAD_JS, "text/javascript")
                return
            if path == "/__crmgen/problems.json":
                rows = json.loads(report.format_json(state.problems))
                self._send(json.dumps(rows).encode(), "application/json")
                return
            errors = [d for d in state.problems if d.severity == "error"]
            if errors and (path.endswith("/") or path.endswith(".html")):
                self._send(error_page(state.problems), "text/html; charset=utf-8")
                return
            target = state.out / path.lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if target.suffix == ".html" and target.is_file():
                body = target.read_bytes().replace(
                    b"</body>", b'<script src="/__crmgen/reload.js"></script></body>', 1
                )
                self._send(body, "text/html; charset=utf-8")
                return
            super().do_GET()

    return Handler


def rebuild(root: Path, state: ServeState, audience: str | None) -> list[Diagnostic]:
    """Build into ``state.out`` and publish the result to the handler (a build that found
    nothing changed keeps the version, so no page reloads)."""
    result = build_site(root, state.out, audience=audience)
    problems = list(result.diagnostics)
    state.update(state.version + (0 if result.kept else 1), problems)
    return problems


def watch_changes(root: Path, stop: threading.Event) -> Iterator[set[Any]]:
    """Batches of changes under the watched paths (watchfiles), until ``stop`` is set."""
    from watchfiles import watch

    paths = [root / name for name in WATCHED if (root / name).exists()]
    yield from watch(
        *paths, stop_event=stop, debounce=50, step=20, rust_timeout=500, yield_on_timeout=True
    )


def serve(
    root: Path,
    out: Path,
    host: str,
    port: int,
    *,
    audience: str | None = None,
    on_ready: Callable[[str], None] = lambda url: None,
    on_build: Callable[[list[Diagnostic]], None] = lambda problems: None,
    stop: threading.Event | None = None,
) -> None:
    """Build, serve and rebuild on change until ``stop`` is set (or Ctrl-C)."""
    stop = stop or threading.Event()
    state = ServeState(out)
    on_build(rebuild(root, state, audience))
    out.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((host, port), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown}:{server.server_address[1]}/")
    try:
        watching = False
        for changes in watch_changes(root, stop):
            if changes or not watching:
                # the first time round the watcher is running: build again, so an edit made
                # while it started is not lost (nothing changed: answered from the cache)
                watching = True
                on_build(rebuild(root, state, audience))
    finally:
        server.shutdown()
        server.server_close()
