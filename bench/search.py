"""Measure the search index: its share of the build time, its size, and queries in Chromium.

Usage: ``python -m bench.search REPO [--site DIR] [--query TEXT ...] [--no-browser]``.

Builds ``REPO`` (a generated repo: ``python -m bench.generate``) once from scratch (no cache)
and prints one JSON object: the time of each build step (``search`` is the index), the
index's files and bytes (all of them, the manifest, the largest shard of each kind), and for
each query what a browser loads for it and how long it answers: ``cold_ms`` from the first
keystroke with nothing loaded but the page, ``warm_ms`` the same query again (every shard
loaded), ``next_ms`` one more letter typed. The site is served on 127.0.0.1; Debian's
Chromium, as the browser tests use it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.generate import TODAY

DEFAULT_QUERIES = ("atl", "robtics", "ashgrove", "ashgrov academy", "budget phase", "seo")


def build(repo: Path, site: Path) -> dict[str, float]:
    """Build ``repo`` into ``site`` from scratch (its cache removed first); the seconds of
    each step."""
    from crmgen.build import build_site

    shutil.rmtree(repo / ".crmgen-cache", ignore_errors=True)
    times: dict[str, float] = {}
    start = time.perf_counter()
    result = build_site(
        repo, site, today=TODAY, progress=lambda s, t: times.__setitem__(s, round(t, 3))
    )
    times["total"] = round(time.perf_counter() - start, 3)
    if not result.written:
        raise SystemExit(f"the build failed: {[str(d) for d in result.diagnostics[:5]]}")
    return times


def sizes(site: Path) -> dict[str, Any]:
    """Files and bytes of the index, by kind (``d-``, ``v-``, ``t-``, ``f-``)."""
    files = sorted((site / "search").iterdir())
    out: dict[str, Any] = {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}
    out["manifest"] = (site / "search" / "index.json").stat().st_size
    for kind in ("d", "v", "t", "f"):
        mine = [f.stat().st_size for f in files if f.name.startswith(kind + "-")]
        out[kind] = {"files": len(mine), "bytes": sum(mine), "largest": max(mine, default=0)}
    return out


def queries(site: Path, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each query typed into the header box of a fresh page: bytes loaded and times."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from browser import chromium, open_page, serve_dir  # type: ignore[import-not-found]

    found = []
    script = (
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/search/'))"
        ".reduce((n, e) => n + e.encodedBodySize, 0)"
    )

    def ask(page: Any, text: str) -> float:
        page.fill("#site-search", "")
        page.fill("#site-search", text)
        page.wait_for_selector(f'.search-popup[data-query="{text}"]', timeout=60_000)
        return float(page.get_attribute(".search-popup", "data-ms"))

    with serve_dir(site) as url, chromium() as browser:
        for text in texts:
            with open_page(browser) as (page, errors):
                page.goto(url + "index.html")
                cold = ask(page, text)
                loaded = page.evaluate(script)
                warm = ask(page, text)
                hits = page.locator(".search-popup .search-hit").count()
                first = page.locator(".search-hit-title").first.text_content() if hits else ""
                nxt = ask(page, text + "e")
                found.append(
                    {
                        "query": text,
                        "kb_loaded": round(loaded / 1024, 1),
                        "cold_ms": cold,
                        "warm_ms": warm,
                        "next_ms": nxt,
                        "results": hits,
                        "first": first,
                        "errors": errors,
                    }
                )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--site", type=Path, help="build here (default: a temporary folder)")
    parser.add_argument("--query", action="append", help="a query to time (repeatable)")
    parser.add_argument("--no-browser", action="store_true", help="only build and size")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crmgen-search-") as tmp:
        site = args.site or Path(tmp) / "site"
        times = build(args.repo, site)
        report: dict[str, Any] = {
            "steps": times,
            "search_share": round(times.get("search", 0.0) / times["total"], 4),
            "index": sizes(site),
        }
        if not args.no_browser:
            report["queries"] = queries(site, tuple(args.query or DEFAULT_QUERIES))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
