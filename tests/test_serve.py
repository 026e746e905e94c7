"""``crmgen serve``: loopback only, rebuild on change, errors on the page, reload script."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen.serve import parse_address, serve


def test_only_loopback_addresses() -> None:
    assert parse_address("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_address("localhost:0") == ("127.0.0.1", 0)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("0.0.0.0:8000", "192.168.1.5:80", "example.com:80", "127.0.0.1", "1.2.3.4:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode("utf-8"))


def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_rebuilds_on_change_and_shows_errors(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    stop = threading.Event()
    urls: list[str] = []
    builds: list[int] = []
    thread = threading.Thread(
        target=serve,
        args=(root, tmp_path / "preview", "127.0.0.1", 0),
        kwargs={
            "on_ready": urls.append,
            "on_build": lambda p: builds.append(len(p)),
            "stop": stop,
        },
        daemon=True,
    )
    thread.start()
    try:
        _wait(lambda: bool(urls))
        url = urls[0]
        page = _get(url + "clients/acme.html")
        assert "Acme" in page and "/__crmgen/reload.js" in page
        version = _get(url + "__crmgen/version")
        time.sleep(0.6)  # let the watcher start before editing
        (root / "data/clients/acme.md").write_text(record("title: Acme Renamed"))
        _wait(lambda: _get(url + "__crmgen/version") != version)
        assert "Acme Renamed" in _get(url + "clients/acme.html")
        version = _get(url + "__crmgen/version")
        (root / "data/clients/acme.md").write_text(record("title: Acme\nemail: broken"))
        _wait(lambda: _get(url + "__crmgen/version") != version)
        broken = _get(url + "clients/acme.html")
        assert "The build failed" in broken
        assert "data/clients/acme.md:3:8" in broken and "email must be an email" in broken
        assert "/__crmgen/version" in _get(url + "__crmgen/reload.js")
        assert thread.is_alive()  # a data error does not kill the server
    finally:
        stop.set()
        thread.join(timeout=10)
