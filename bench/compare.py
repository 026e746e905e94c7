"""crmgen side by side with Hugo on the same record files, plus rebuilds, validate and serve.

Usage: ``python -m bench.compare [--records 1000,10000] [--runs 3] [--write bench/RESULTS.md]
[--label NAME] [--skip hugo,warm,incremental,validate,example,serve]``.

Every timed run is a fresh process (``python -m crmgen ...`` or ``hugo ...``) whose wall time,
CPU time and peak memory come from ``os.wait4`` (:mod:`bench.children`). crmgen and Hugo runs
alternate; each number is the median of ``--runs`` runs. The Markdown report goes to stdout
(progress to stderr); ``--label`` appends a summary line per size to ``bench/history.csv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import compare_report
from bench.children import Run, run
from bench.generate import REPO_ROOT, TODAY
from bench.pages import Weight, page_weight, site_weights
from bench.run import DEFAULT_OUT, cached_repo
from bench.serving import ServeResult, copy_example, serve_latency

HUGO_LAYOUT = REPO_ROOT / "bench" / "hugo"
CACHE_FOLDER = ".crmgen-cache"
SKIPPABLE = ("hugo", "warm", "incremental", "validate", "example", "serve")
_AMOUNT = re.compile(rb"^amount: *(\d+)[ \t]*\r?$", re.MULTILINE)
_HUGO_PAGES = re.compile(r"^\s*Pages\s*\|\s*(\d+)", re.MULTILINE)
_CRMGEN_FILES = re.compile(r"built (\d+) files")


class HugoError(RuntimeError):
    """Hugo did not render one page per record file: the comparison would be meaningless."""


@dataclass
class Options:
    """What to measure; see :func:`main`."""

    sizes: list[int]
    runs: int = 3
    seed: int = 0
    keep: Path = DEFAULT_OUT
    timeout: float = 3600.0
    skip: frozenset[str] = frozenset()
    example: Path = REPO_ROOT


@dataclass
class SizeResult:
    """Every run for one generated repo, by kind (``cold``, ``hugo``, ``nothing``...)."""

    records: int
    files: int
    runs: dict[str, list[Run]] = field(default_factory=dict)
    weights: dict[str, Weight] = field(default_factory=dict)
    hugo_pages: int | None = None
    hugo_list: Weight | None = None
    crmgen_files: int | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, result: Run) -> Run:
        """Keep ``result`` under ``kind``; a failed run gets a note."""
        self.runs.setdefault(kind, []).append(result)
        if not result.ok:
            self.notes.append(f"{kind} run failed: {result.failure()}")
        return result


@dataclass
class ExampleResult:
    """Full builds of the example repo and ``crmgen serve`` on a copy of it."""

    files: int
    runs: dict[str, list[Run]] = field(default_factory=dict)
    serve: ServeResult | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, result: Run) -> Run:
        """Keep ``result`` under ``kind``; a failed run gets a note."""
        self.runs.setdefault(kind, []).append(result)
        if not result.ok:
            self.notes.append(f"{kind} run failed: {result.failure()}")
        return result


def log(message: str) -> None:
    """Progress, on stderr so that stdout is only the report."""
    print(f"[compare] {message}", file=sys.stderr, flush=True)


def crmgen(*args: str | Path) -> list[str]:
    """The command line of a crmgen run in this interpreter."""
    return [sys.executable, "-m", "crmgen", *map(str, args)]


def remove(*paths: Path) -> None:
    """Delete folders (or files) if they exist."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def generated_env() -> dict[str, str]:
    """The environment of runs on a generated repo: its fixed ``today``, like bench.run."""
    epoch = dt.datetime.combine(TODAY, dt.time(), dt.UTC).timestamp()
    return {**os.environ, "SOURCE_DATE_EPOCH": str(int(epoch))}


def hugo_build(layout: Path, content: Path, dest: Path, timeout: float) -> Run:
    """Hugo renders ``content`` with the layout in ``layout`` into a fresh ``dest``."""
    remove(dest)
    command = ["hugo", "--source", str(layout), "--contentDir", str(content)]
    command += ["--destination", str(dest), "--noBuildLock", "--cacheDir", str(layout / "cache")]
    return run(command, timeout=timeout)


def check_hugo(result: Run, content: Path, dest: Path) -> int:
    """Hugo's page count; :class:`HugoError` unless every record file became its own page."""
    if not result.ok:
        raise HugoError(f"hugo failed: {result.failure()}\n{result.output}")
    found = _HUGO_PAGES.search(result.output)
    pages = int(found.group(1)) if found else 0
    records = sorted(p.relative_to(content) for p in content.rglob("*.md"))
    sections = sum(1 for p in content.iterdir() if p.is_dir())
    expected = len(records) + sections + 1
    missing = [r for r in records if not (dest / r.with_suffix(".html")).is_file()]
    if pages < expected or missing:
        shown = ", ".join(str(m) for m in missing[:5])
        raise HugoError(
            f"hugo rendered {pages} pages, expected {expected} ({len(records)} records + "
            f"{sections} sections + home); {len(missing)} record pages missing: {shown}"
        )
    return pages


def edit_amount(root: Path) -> tuple[Path, bytes, bytes]:
    """An open opportunity with an ``amount:`` line: (path, original bytes, edited bytes)."""
    for path in sorted((root / "data" / "opportunities").glob("*.md")):
        original = path.read_bytes()
        front = original.split(b"\n---", 1)[0]
        found = _AMOUNT.search(front)
        if found:
            new = str(int(found.group(1)) + 1).encode()
            edited = original[: found.start(1)] + new + original[found.end(1) :]
            return path, original, edited
    raise FileNotFoundError(f"no opportunity with an amount line in {root / 'data'}")


def measure_size(records: int, options: Options, work: Path, layout: Path | None) -> SizeResult:
    """Full builds against Hugo, rebuilds, validate and page weights for one size."""
    root, generated = cached_repo(options.keep, records, options.seed)
    result = SizeResult(records, sum(1 for _ in (root / "data").rglob("*.md")))
    if generated:
        result.notes.append(f"repo generated in {generated:.1f} s")
    env, site, cache = generated_env(), work / f"site-{records}", root / CACHE_FOLDER

    def build(kind: str) -> Run:
        command = crmgen("build", root, "--out", site)
        done = result.add(kind, run(command, env=env, timeout=options.timeout))
        log(f"{records:,}: crmgen {kind}: {done.wall:.2f} s, {done.rss_mib:.0f} MiB")
        return done

    def hugo() -> None:
        if layout is None:
            return
        dest = work / f"hugo-{records}"
        done = result.add("hugo", hugo_build(layout, root / "data", dest, options.timeout))
        log(f"{records:,}: hugo: {done.wall:.2f} s, {done.rss_mib:.0f} MiB")
        if result.hugo_pages is None:
            result.hugo_pages = check_hugo(done, root / "data", dest)
            result.hugo_list = page_weight(dest, "opportunities.html")
            log(f"{records:,}: hugo rendered {result.hugo_pages:,} pages")

    for _ in range(options.runs):
        remove(cache, site)
        cold = build("cold")
        if result.crmgen_files is None and (found := _CRMGEN_FILES.search(cold.output)):
            result.crmgen_files = int(found.group(1))
        if not result.weights and cold.ok:
            result.weights = site_weights(site)
        hugo()
        if "warm" not in options.skip:
            remove(site)
            build("warm")
            hugo()
    if "incremental" not in options.skip:
        path, original, edited = edit_amount(root)
        result.notes.append(f"one-record edit: the amount line of {path.relative_to(root)}")
        try:
            for _ in range(options.runs):
                build("nothing")
                path.write_bytes(edited)
                build("edit")
                path.write_bytes(original)
                build("restore")
        finally:
            path.write_bytes(original)
    if "validate" not in options.skip:
        for _ in range(options.runs):
            remove(cache)
            for kind in ("validate cold", "validate warm"):
                command = crmgen("validate", root)
                done = result.add(kind, run(command, env=env, timeout=options.timeout))
                log(f"{records:,}: crmgen {kind}: {done.wall:.2f} s")
    remove(site, work / f"hugo-{records}")
    return result


def measure_example(options: Options, work: Path) -> ExampleResult:
    """Full builds of the example repo (on a copy) and the latency of ``crmgen serve``."""
    root = copy_example(options.example, work / "example")
    result = ExampleResult(sum(1 for _ in (root / "data").rglob("*.md")))
    site, cache = work / "example-site", root / CACHE_FOLDER
    for _ in range(options.runs):
        remove(cache, site)
        for kind in ("cold", "warm"):
            if kind == "warm":
                remove(site)
            done = result.add(
                kind, run(crmgen("build", root, "--out", site), timeout=options.timeout)
            )
            log(f"example: crmgen {kind}: {done.wall:.2f} s")
    remove(site)
    if "serve" not in options.skip:
        result.serve = serve_latency(root, work / "serve-site", edits=3, timeout=120)
        serve = result.serve
        log(f"example: serve first build {serve.first_build}, edits {serve.edits}")
        if serve.error:
            result.notes.append(f"serve: {serve.error}")
    return result


def prepare_hugo(work: Path) -> Path:
    """A copy of ``bench/hugo`` in ``work``: Hugo writes ``resources/`` into its source."""
    layout = work / "hugo-layout"
    shutil.copytree(HUGO_LAYOUT, layout)
    return layout


def compile_crmgen() -> None:
    """Compile the modules of the crmgen the runs import (as pip does when it installs a
    package), so that no timed run compiles them (see ``children.child_env``)."""
    script = (
        "import compileall, pathlib, crmgen; "
        "compileall.compile_dir(str(pathlib.Path(crmgen.__file__).parent), quiet=1)"
    )
    done = run([sys.executable, "-c", script], timeout=600)
    if not done.ok:
        raise RuntimeError(f"cannot compile crmgen: {done.failure()}\n{done.output}")


def compare(options: Options) -> compare_report.Report:
    """Run every measure and return what the report needs."""
    compile_crmgen()
    machine = compare_report.machine(options.example)
    options.keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="compare-", dir=options.keep))
    try:
        use_hugo = "hugo" not in options.skip
        layout = prepare_hugo(work) if use_hugo else None
        sizes = [measure_size(n, options, work, layout) for n in options.sizes]
        example = None if "example" in options.skip else measure_example(options, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine["load after"] = compare_report.load_average()
    after = compare_report.machine(options.example)["crmgen commit"]
    if after != machine["crmgen commit"]:
        machine["crmgen commit after"] = after
    return compare_report.Report(machine, options.runs, sorted(options.skip), sizes, example)


def parse_sizes(text: str) -> list[int]:
    """``1000,10_000`` -> [1000, 10000]."""
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    """Command line: see the module docstring. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("--records", default="10000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=DEFAULT_OUT, help="repo cache, work folder")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child run")
    parser.add_argument("--skip", default="", help="comma-separated: " + ",".join(SKIPPABLE))
    parser.add_argument("--no-hugo", action="store_true", help="same as --skip hugo")
    parser.add_argument("--no-serve", action="store_true", help="same as --skip serve")
    parser.add_argument("--no-example", action="store_true", help="same as --skip example")
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    parser.add_argument("--label", help="append a summary line per size to --history")
    parser.add_argument("--history", type=Path, default=compare_report.HISTORY)
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    skip |= {name for name in ("hugo", "serve", "example") if getattr(args, f"no_{name}")}
    if unknown := skip - set(SKIPPABLE):
        parser.error(f"--skip: unknown {', '.join(sorted(unknown))}; use {', '.join(SKIPPABLE)}")
    if "hugo" not in skip and shutil.which("hugo") is None:
        parser.error("hugo is not installed; install it or pass --no-hugo")
    try:
        sizes = parse_sizes(args.records)
    except ValueError:
        parser.error("--records takes whole numbers separated by commas, e.g. 1000,10000")
    if not sizes or args.runs < 1:
        parser.error("give at least one size and --runs 1 or more")
    options = Options(
        sizes, args.runs, args.seed, args.keep.resolve(), args.timeout, frozenset(skip)
    )
    try:
        report = compare(options)
    except HugoError as exc:
        print(f"bench.compare: {exc}", file=sys.stderr)
        return 1
    if args.label:
        compare_report.append_history(args.history, args.label, report)
    text = compare_report.markdown(report, compare_report.read_history(args.history))
    out(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
