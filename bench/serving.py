"""The example repo copied aside, and how fast ``crmgen serve`` shows an edit.

The copy is a ``git clone`` of the checkout (so that the history stage reads real commits)
whose ``crmgen.yml``, ``schema/``, ``data/``, ``files/`` and ``templates/`` are then replaced by
the working tree's. The checkout itself is never written to.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.children import Child, Run

#: What a data repo is made of; copied from the working tree over the clone.
REPO_PARTS = ("crmgen.yml", "schema", "data", "files", "templates")
POLL_SECONDS = 0.02
#: ``crmgen serve`` answers before its file watcher runs; an edit made in between is lost.
SETTLE_SECONDS = 1.0


def copy_example(source: Path, dest: Path) -> Path:
    """A throw-away copy of the data repo at ``source`` in ``dest`` (which must not exist)."""
    cloned = subprocess.run(
        ["git", "clone", "--quiet", "--no-checkout", str(source), str(dest)],
        capture_output=True,
        check=False,
    )
    if cloned.returncode != 0:
        dest.mkdir(parents=True)
    else:
        subprocess.run(
            ["git", "-C", str(dest), "checkout", "--quiet", "HEAD", "--", "."], check=False
        )
    for name in REPO_PARTS:
        target, origin = dest / name, source / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if origin.is_dir():
            shutil.copytree(origin, target)
        elif origin.is_file():
            shutil.copy2(origin, target)
    return dest


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def _version(base: str) -> int | None:
    body = _get(base + "__crmgen/version")
    try:
        return int(body) if body is not None else None
    except ValueError:
        return None


def record_page(site: Path, record: Path) -> str | None:
    """The site path of a record's page: ``<project>/<name>.html`` or wherever it was built."""
    project, name = record.parts[record.parts.index("data") + 1], record.stem
    for candidate in (f"{project}/{name}.html", f"{project}/{name}/index.html"):
        if (site / candidate).is_file():
            return candidate
    found = sorted(site.rglob(f"{name}.html"))
    return found[0].relative_to(site).as_posix() if found else None


def edited_record(root: Path, project: str = "opportunities") -> Path:
    """The record the edits go to: the first file of the project, in name order."""
    files = sorted((root / "data" / project).rglob("*.md"))
    if not files:
        raise FileNotFoundError(f"no records in {root / 'data' / project}")
    return files[0]


@dataclass
class ServeResult:
    """First build and per-edit latency of ``crmgen serve``; ``error`` when it did not work."""

    first_build: float | None = None
    edits: list[float] = field(default_factory=list)
    page: str | None = None
    usage: Run | None = None
    error: str | None = None


def serve_latency(root: Path, out: Path, *, edits: int = 3, timeout: float = 300) -> ServeResult:
    """Start ``crmgen serve`` on ``root``; time its first build, then ``edits`` body edits.

    An edit appends a line with a fresh word to a record's body; it counts as shown when
    ``/__crmgen/version`` went up and the record's page contains the word.
    """
    result = ServeResult()
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "crmgen", "serve", str(root), "-a", f"127.0.0.1:{port}"]
    # Not cwd=root: the copy is a clone of the checkout, so `python -m crmgen` run there would
    # import the clone's committed crmgen/ instead of the engine under test.
    child = Child([*command, "--out", str(out)])
    record = edited_record(root)
    original = record.read_bytes()
    try:
        version = _wait(lambda: _version(base), timeout, child)
        if version is None:
            result.error = _why(child, f"no answer from {base} after {timeout:.0f} s")
            return result
        result.first_build = time.perf_counter() - child.started
        result.page = record_page(out, record)
        if result.page is None:
            result.error = f"no page for {record.name} in {out}"
            return result
        time.sleep(SETTLE_SECONDS)
        for number in range(edits):
            word = f"benchedit{number}x{secrets.token_hex(4)}"
            start = time.perf_counter()
            with record.open("ab") as handle:
                handle.write(f"\n{word}\n".encode())

            def shown(seen: int = version, word: bytes = word.encode()) -> int | None:
                now = _version(base)
                if now is None or now <= seen:
                    return None
                body = _get(base + result.page) if result.page else None
                return now if body is not None and word in body else None

            newer = _wait(shown, timeout, child)
            if newer is None:
                result.error = _why(child, f"edit {number + 1} not shown after {timeout:.0f} s")
                return result
            result.edits.append(time.perf_counter() - start)
            version = newer
        return result
    finally:
        record.write_bytes(original)
        child.interrupt()
        result.usage = child.finish(timeout=30)


def _wait(probe: Callable[[], int | None], timeout: float, child: Child) -> int | None:
    """Call ``probe`` until it returns a value, the child exits or ``timeout`` passes."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = probe()
        if value is not None:
            return value
        if not child.running():
            return None
        time.sleep(POLL_SECONDS)
    return None


def _why(child: Child, what: str) -> str:
    if not child.running():
        lines = child.output().strip().splitlines()
        return f"serve exited: {lines[-1] if lines else 'no output'}"
    return what
