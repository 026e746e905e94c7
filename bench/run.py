"""Time ``crmgen validate`` and ``crmgen build`` on synthetic repos of growing size.

Usage: ``python -m bench.run [--records 1000,10000,50000] [--keep DIR] [--profile]``.

Each repo is generated once (by :mod:`bench.generate`) and cached in ``bench/out/`` (or
``--keep DIR``); every measurement runs in a fresh ``python -m bench.run --child ...``
subprocess so that its peak memory is its own. A child prints one JSON line as its last line.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib
import io
import json
import pstats
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.generate import MARKER, REPO_ROOT, TODAY, generate

DEFAULT_OUT = REPO_ROOT / "bench" / "out"
#: The dashboards issue: the dashboard of 50,000 opportunities, JS bundle included.
DASHBOARD_BUDGET = 1.5 * 1024 * 1024
#: What a browser loads for one dashboard page (keys of :func:`site_sizes`).
DASHBOARD_PARTS = ("dashboard_page", "vega-bundle.js", "dashboard.js", "dashboard.css")
_DATA_SCRIPT = re.compile(rb'<script[^>]*id="dashboard-data"[^>]*>(.*?)</script>', re.DOTALL)
MB = 1024 * 1024
#: The table's columns; RSS is the peak memory of the validate and of the build child.
COLUMNS = ("records", "files", "validate s", "build s", "RSS val MB", "RSS build MB")
COLUMNS_SIZE = ("site MB", "dash MB")


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count(dataset: Any) -> dict[str, Any]:
    severities = [d.severity for d in dataset.diagnostics]
    return {
        "records": {name: len(p.records) for name, p in dataset.projects.items()},
        "errors": severities.count("error"),
        "warnings": severities.count("warning"),
        "first": [str(d) for d in dataset.diagnostics[:3]],
    }


def child_validate(root: Path) -> dict[str, Any]:
    """``load_dataset`` once: the whole ``crmgen validate`` pipeline."""
    from crmgen.build import load_dataset

    start = time.perf_counter()
    dataset = load_dataset(root, today=TODAY)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": _peak_rss_mb(), **_count(dataset)}


def child_stages(root: Path) -> dict[str, Any]:
    """Each step of ``load_dataset`` as the pipeline times it (``progress``), with no cache."""
    from crmgen.build import load_dataset

    times: dict[str, float] = {}
    load_dataset(root, today=TODAY, progress=lambda step, seconds: times.update({step: seconds}))
    return {"stages": times, "rss_mb": _peak_rss_mb()}


def child_build(root: Path, out: Path) -> dict[str, Any]:
    """``build_site`` once, with the time of each phase it reports through ``progress``."""
    from crmgen.build import build_site

    # build_site imports the site modules (and Altair) lazily; time that apart.
    start = time.perf_counter()
    for module in ("dashboards", "render", "views", "write"):
        importlib.import_module(f"crmgen.{module}")
    imports = time.perf_counter() - start
    phases: dict[str, float] = {}
    start = time.perf_counter()

    def progress(step: str, seconds: float) -> None:
        phases[step] = phases.get(step, 0.0) + seconds

    result = build_site(root, out, today=TODAY, progress=progress)
    seconds = time.perf_counter() - start
    errors = [str(d) for d in result.diagnostics if d.severity == "error"]
    return {
        "seconds": seconds,
        "imports": imports,
        "rss_mb": _peak_rss_mb(),
        "phases": phases,
        "written": result.written,
        "errors": len(errors),
        "first": errors[:3],
    }


def child_profile(root: Path) -> dict[str, Any]:
    """cProfile of ``load_dataset``: the top 15 functions by cumulative and by own time."""
    from crmgen.build import load_dataset

    profile = cProfile.Profile()
    profile.runcall(load_dataset, root, today=TODAY)
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("cumulative").print_stats(15)
    stats.sort_stats("tottime").print_stats(15)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    return {"profile": "\n".join(lines)}


def run_child(args: Sequence[str], timeout: float | None) -> dict[str, Any]:
    """Run ``python -m bench.run --child ...`` and return its JSON, or ``{"error": why}``."""
    command = [sys.executable, "-m", "bench.run", "--child", *args]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def fingerprint() -> str:
    """A short hash of everything a generated repo depends on, to know when a cache is stale."""
    digest = hashlib.sha256()
    inputs = [Path(__file__).with_name("generate.py"), REPO_ROOT / "crmgen.yml"]
    inputs += sorted((REPO_ROOT / "schema").glob("*")) + sorted((REPO_ROOT / "files").rglob("*"))
    for path in inputs:
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:10]


def cached_repo(keep: Path, records: int, seed: int) -> tuple[Path, float]:
    """The generated repo for this size (generated now if missing) and the seconds it took."""
    root = keep / f"repo-{records}-s{seed}-{fingerprint()}"
    if (root / MARKER).exists():
        return root, 0.0
    for stale in keep.glob(f"repo-{records}-s{seed}-*"):
        if (stale / MARKER).exists():
            shutil.rmtree(stale)
    start = time.perf_counter()
    generate(root, records, seed=seed)
    return root, time.perf_counter() - start


def site_sizes(site: Path) -> dict[str, int]:
    """Bytes of the site and of what a browser loads for the biggest dashboard page."""
    files = [p for p in site.rglob("*") if p.is_file()]
    sizes = {"site": sum(p.stat().st_size for p in files), "files": len(files)}
    pages = sorted((site / "dashboards").glob("*.html"), key=lambda p: p.stat().st_size)
    if pages:
        page = pages[-1].read_bytes()
        sizes["dashboard_page"] = len(page)
        found = _DATA_SCRIPT.search(page)
        sizes["dashboard_data"] = len(found.group(1)) if found else 0
    for asset in ("vega-bundle.js", "dashboard.js", "dashboard.css"):
        path = site / "assets" / asset
        if path.is_file():
            sizes[asset] = path.stat().st_size
    return sizes


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:.2f}"


def _secs(result: dict[str, Any]) -> str:
    return "-" if "seconds" not in result else f"{result['seconds']:.2f}"


def measure(root: Path, keep: Path, *, build: bool, timeout: float | None) -> dict[str, Any]:
    """Every child run for one repo."""
    row: dict[str, Any] = {"validate": run_child(["validate", str(root)], timeout)}
    row["stages"] = run_child(["stages", str(root)], timeout)
    row["build"] = {"error": "skipped with --no-build"}
    if build:
        site = keep / f"site-{root.name}"
        row["build"] = run_child(["build", str(root), str(site)], timeout)
        if row["build"].get("written"):
            row["sizes"] = site_sizes(site)
    return row


def report(generated: float, row: dict[str, Any]) -> list[str]:
    """The lines printed for one size, after the table row."""
    lines = []
    val, build, stages = row["validate"], row["build"], row["stages"]
    if generated:
        lines.append(f"  generated in {generated:.1f} s")
    if "error" in val:
        lines.append(f"  validate: unavailable ({val['error']})")
    else:
        counts = ", ".join(f"{n} {p}" for p, n in val["records"].items())
        lines.append(f"  validate: {counts}; {val['errors']} errors, {val['warnings']} warnings")
        lines += [f"    {d}" for d in val["first"]]
    if "stages" in stages:
        lines.append(
            "  stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages["stages"].items())
        )
    else:
        lines.append(f"  stages: unavailable ({stages['error']})")
    if "error" in build:
        lines.append(f"  build: unavailable ({build['error']})")
    elif not build["written"]:
        lines.append(f"  build: nothing written, {build['errors']} errors")
        lines += [f"    {d}" for d in build["first"]]
    else:
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in build["phases"].items())
        lines.append(
            f"  build: {build['written']} files written; site modules imported in "
            f"{build['imports']:.2f}s (not counted); phases: {phases}"
        )
    sizes = row.get("sizes", {})
    if "dashboard_page" in sizes:
        total = sum(sizes.get(p, 0) for p in DASHBOARD_PARTS)
        detail = " + ".join(f"{p} {sizes[p] / 1024:.0f} KB" for p in DASHBOARD_PARTS if p in sizes)
        verdict = "under" if total < DASHBOARD_BUDGET else "OVER"
        lines.append(
            f"  dashboard: {detail} = {total / MB:.2f} MB ({verdict} the 1.5 MB budget); "
            f"embedded data {sizes['dashboard_data'] / 1024:.0f} KB"
        )
    elif build.get("written"):
        lines.append("  dashboard: no dashboards/*.html in the built site")
    return lines


def bench(
    sizes: Sequence[int], keep: Path, seed: int, build: bool, profile: bool, timeout: float | None
) -> None:
    """Generate, measure and print a table row (plus details) per size."""
    keep.mkdir(parents=True, exist_ok=True)
    print(f"crmgen benchmark, today={TODAY}, seed={seed}, cache {keep}")
    header = (*COLUMNS, *COLUMNS_SIZE)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for records in sizes:
        root, generated = cached_repo(keep, records, seed)
        files = sum(1 for p in (root / "data").rglob("*.md"))
        row = measure(root, keep, build=build, timeout=timeout)
        val, bld, size = row["validate"], row["build"], row.get("sizes", {})
        dash = sum(size.get(k, 0) for k in DASHBOARD_PARTS) if "dashboard_page" in size else None
        cells = [
            f"{records:,}",
            f"{files:,}",
            _secs(val),
            _secs(bld),
            f"{val.get('rss_mb', 0):.0f}" if "rss_mb" in val else "-",
            f"{bld.get('rss_mb', 0):.0f}" if "rss_mb" in bld else "-",
            _mb(size.get("site")),
            _mb(dash),
        ]
        print("| " + " | ".join(cells) + " |")
        for line in report(generated, row):
            print(line)
        if profile:
            result = run_child(["profile", str(root)], timeout)
            print(result.get("profile") or f"  profile: unavailable ({result.get('error')})")
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--records", default="1000,10000,50000", help="comma-separated sizes")
    parser.add_argument("--keep", type=Path, default=DEFAULT_OUT, help="cache and site folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-build", action="store_true", help="time validation only")
    parser.add_argument("--profile", action="store_true", help="cProfile load_dataset too")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per child run")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, paths = args.child[0], [Path(p) for p in args.child[1:]]
        children: dict[str, Callable[..., dict[str, Any]]] = {
            "validate": child_validate,
            "stages": child_stages,
            "build": child_build,
            "profile": child_profile,
        }
        try:
            result = children[mode](*paths)
        except Exception as exc:  # a missing module or an engine bug: report it, carry on
            result = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result, default=str))
        return
    try:
        sizes = [int(s.replace("_", "")) for s in args.records.split(",") if s.strip()]
    except ValueError:
        parser.error("--records takes whole numbers separated by commas, e.g. 1000,10000")
    bench(sizes, args.keep.resolve(), args.seed, not args.no_build, args.profile, args.timeout)


if __name__ == "__main__":
    main()
