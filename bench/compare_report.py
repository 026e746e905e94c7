"""The Markdown report of :mod:`bench.compare` and its history file, ``bench/history.csv``.

Each table has the columns measure | crmgen | hugo | ratio | target | met. A cell is a number
with its unit (``12.34 s``, ``616 MiB``, ``1.02 MB``, ``7.9x``, ``1.20 s (3.6%)``), ``n/a``
(nothing to compare), ``skipped`` (left out with ``--skip``) or ``failed`` (see the notes).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.children import Run, median
from bench.generate import REPO_ROOT

if TYPE_CHECKING:
    from bench.compare import ExampleResult, SizeResult
    from bench.pages import Weight

HISTORY = REPO_ROOT / "bench" / "history.csv"
HISTORY_FIELDS = (
    "label", "date", "commit", "records", "full_cold_s", "full_warm_s", "hugo_s",
    "rebuild_one_s", "nothing_s", "validate_cold_s", "validate_warm_s", "peak_build_mib",
)  # fmt: skip
HISTORY_HEADER = (
    "label", "date", "commit", "records", "full cold s", "full warm s", "Hugo s",
    "one record s", "nothing s", "validate cold s", "validate warm s", "peak build MiB",
)  # fmt: skip
HEADER = ("measure", "crmgen", "hugo", "ratio", "target", "met")
SECTIONS = (
    "Machine", "Full build", "Incremental rebuild", "Validate", "Peak memory", "Cores used",
    "Page weights", "Example repo", "What each optimisation bought", "Notes",
)  # fmt: skip
GIB_MIB = 1024.0


@dataclass
class Report:
    """Everything measured in one ``bench.compare`` run."""

    machine: dict[str, str]
    runs: int
    skipped: list[str]
    sizes: list[SizeResult]
    example: ExampleResult | None


@dataclass(frozen=True)
class Target:
    """A budget: the value must be at most ``limit``, judged at ``at`` records (0: any size)."""

    text: str
    limit: float
    at: int = 0

    def met(self, value: float | None, records: int = 0) -> str:
        """``yes``/``no``, or ``-`` when this size cannot tell (under budget, smaller repo)."""
        if value is None:
            return "-"
        if value > self.limit:
            return "no"
        return "yes" if not self.at or records >= self.at else "-"


# --- the machine -------------------------------------------------------------------------


def _command(args: Sequence[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine(repo: Path) -> dict[str, str]:
    """CPU, cores, versions, crmgen's commit, the date and the load before the runs."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    commit = _command(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"]) or "unknown"
    if _command(["git", "-C", str(repo), "status", "--porcelain", "--", "crmgen"]):
        commit += " + uncommitted changes in crmgen/"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "Python": platform.python_version(),
        "Hugo": (_command(["hugo", "version"]).splitlines() or ["not installed"])[0],
        "crmgen commit": commit,
        "date": _now(),
        "load before": load_average(),
    }


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="minutes")


# --- cells -------------------------------------------------------------------------------


def _ok(runs: dict[str, list[Run]], kind: str) -> list[Run] | None:
    """The successful runs of ``kind``; None when it was not measured."""
    if kind not in runs:
        return None
    return [r for r in runs[kind] if r.ok]


def wall(runs: dict[str, list[Run]], kind: str) -> float | None:
    """Median wall seconds of the successful runs of ``kind``."""
    return median([r.wall for r in _ok(runs, kind) or []])


def peak(runs: dict[str, list[Run]], kind: str) -> float | None:
    """Largest peak memory (MiB) of the successful runs of ``kind``."""
    done = _ok(runs, kind) or []
    return max(r.rss_mib for r in done) if done else None


def cores(runs: dict[str, list[Run]], kind: str) -> float | None:
    """Median CPU seconds per wall second of the successful runs of ``kind``."""
    return median([r.cores for r in _ok(runs, kind) or []])


def _cell(
    runs: dict[str, list[Run]], kind: str, number: float | None, unit: str, extra: str = ""
) -> str:
    """The number with its unit (MiB as whole numbers) and ``extra``, or why there is none.

    When some runs of ``kind`` failed, ``[2 of 3 ok]`` says how many the number is made of.
    """
    if number is None:
        return "skipped" if kind not in runs else "failed"
    text = f"{number:,.0f}{unit}" if unit == " MiB" else f"{number:,.2f}{unit}"
    done = _ok(runs, kind) or []
    if len(done) < len(runs[kind]):
        extra += f" [{len(done)} of {len(runs[kind])} ok]"
    return text + extra


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "n/a"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = [_row(*HEADER), _row(*("---" for _ in HEADER))]
    return lines + [_row(*row) for row in rows]


# --- sections ----------------------------------------------------------------------------

FULL_RATIO = Target("<= 1.0x", 1.0)
NOTHING = Target("<= 5% of full", 5.0)
ONE_RECORD = Target("<= 10% of full", 10.0)
VALIDATE_COLD = Target("<= 1.5 s at 10,000", 1.5, 10_000)
VALIDATE_WARM = Target("<= 0.3 s at 10,000", 0.3, 10_000)
MEMORY = Target("<= 1 GiB at 50,000", GIB_MIB, 50_000)
PAGE = Target("<= 1 MB", 1.0)
DASHBOARD = Target("<= 1.5 MB", 1.5)
EXAMPLE_BUILD = Target("<= 1.5 s", 1.5)
SERVE_EDIT = Target("<= 1 s", 1.0)
#: "Uses both cores": at least 1.5 CPU seconds per second (written as a ceiling on idleness).
BOTH_CORES = 1.5


def _name(size: SizeResult) -> str:
    return f"{size.records:,} records"


def full_build(sizes: Sequence[SizeResult]) -> list[str]:
    """crmgen's cold and warm-cache full builds against Hugo."""
    rows = []
    for size in sizes:
        hugo = wall(size.runs, "hugo")
        hugo_cell = _cell(size.runs, "hugo", hugo, " s")
        for kind, label in (("cold", "cold"), ("warm", "warm cache")):
            mine = wall(size.runs, kind)
            ratio = mine / hugo if mine is not None and hugo else None
            rows.append((
                f"full build, {label}, {_name(size)} ({size.files:,} files)",
                _cell(size.runs, kind, mine, " s"),
                hugo_cell,
                _ratio(mine, hugo),
                FULL_RATIO.text,
                FULL_RATIO.met(ratio),
            ))  # fmt: skip
        crmgen_files = "n/a" if size.crmgen_files is None else f"{size.crmgen_files:,} files"
        hugo_pages = "n/a" if size.hugo_pages is None else f"{size.hugo_pages:,} pages"
        rows.append((f"output, {_name(size)}", crmgen_files, hugo_pages, "n/a", "-", "-"))
    return _table(rows)


def incremental(sizes: Sequence[SizeResult]) -> list[str]:
    """Rebuilds after a full build, as seconds and % of the cold full build."""
    rows = []
    kinds = (
        ("nothing", "nothing changed", NOTHING),
        ("edit", "one field of one opportunity changed", ONE_RECORD),
        ("restore", "that field restored", ONE_RECORD),
    )
    for size in sizes:
        full = wall(size.runs, "cold")
        for kind, label, target in kinds:
            mine = wall(size.runs, kind)
            share = 100 * mine / full if mine is not None and full else None
            cell = _cell(size.runs, kind, mine, " s", "" if share is None else f" ({share:.1f}%)")
            rows.append(
                (f"{label}, {_name(size)}", cell, "n/a", "n/a", target.text, target.met(share))
            )
    return _table(rows)


def validate(sizes: Sequence[SizeResult]) -> list[str]:
    """``crmgen validate`` with and without its cache."""
    rows = []
    for size in sizes:
        for kind, target in (("validate cold", VALIDATE_COLD), ("validate warm", VALIDATE_WARM)):
            mine = wall(size.runs, kind)
            rows.append((
                f"{kind}, {_name(size)}",
                _cell(size.runs, kind, mine, " s"),
                "n/a",
                "n/a",
                target.text,
                target.met(mine, size.records),
            ))  # fmt: skip
    return _table(rows)


def memory(sizes: Sequence[SizeResult], example: ExampleResult | None) -> list[str]:
    """Peak resident memory of each kind of child (the largest of its runs)."""
    rows = []
    kinds = (
        ("cold", "full build, cold"), ("warm", "full build, warm cache"),
        ("edit", "rebuild one record"), ("validate cold", "validate cold"),
        ("validate warm", "validate warm"),
    )  # fmt: skip
    for size in sizes:
        hugo = peak(size.runs, "hugo")
        for kind, label in kinds:
            mine = peak(size.runs, kind)
            builds = kind in ("cold", "warm")
            rows.append((
                f"{label}, {_name(size)}",
                _cell(size.runs, kind, mine, " MiB"),
                _cell(size.runs, "hugo", hugo, " MiB") if builds else "n/a",
                _ratio(mine, hugo) if builds else "n/a",
                MEMORY.text,
                MEMORY.met(mine, size.records),
            ))  # fmt: skip
    serve = example.serve if example is not None else None
    if serve is not None and serve.usage is not None:
        # A serve that never answered says nothing about the memory of serving.
        cell = "failed" if serve.first_build is None else f"{serve.usage.rss_mib:,.0f} MiB"
        rows.append(("serve, example repo", cell, "n/a", "n/a", "-", "-"))
    return _table(rows)


def cores_used(sizes: Sequence[SizeResult]) -> list[str]:
    """CPU seconds per wall second: how much of the machine each child used."""
    rows = []
    kinds = (
        ("cold", "full build, cold"), ("warm", "full build, warm cache"),
        ("nothing", "rebuild, nothing changed"), ("edit", "rebuild one record"),
        ("validate cold", "validate cold"),
    )  # fmt: skip
    target = f"both (>= {BOTH_CORES})"
    for size in sizes:
        hugo = cores(size.runs, "hugo")
        for kind, label in kinds:
            mine = cores(size.runs, kind)
            builds = kind in ("cold", "warm")
            met = "-" if mine is None else ("yes" if mine >= BOTH_CORES else "no")
            rows.append((
                f"{label}, {_name(size)}",
                _cell(size.runs, kind, mine, ""),
                _cell(size.runs, "hugo", hugo, "") if builds else "n/a",
                _ratio(mine, hugo) if builds else "n/a",
                target,
                met,
            ))  # fmt: skip
    return _table(rows)


def _weight(weight: Weight | None) -> str:
    return "n/a" if weight is None or weight.mb is None else f"{weight.mb:,.2f} MB"


def page_weights(sizes: Sequence[SizeResult]) -> list[str]:
    """The table, board and dashboard pages with what they load, from a cold build's site."""
    rows, details = [], []
    for size in sizes:
        parts = (
            ("table", "table page + its data", PAGE),
            ("board", "board page + its data", PAGE),
            ("dashboard", "dashboard page + data + JS + CSS", DASHBOARD),
        )
        for key, label, target in parts:
            weight = size.weights.get(key)
            hugo = size.hugo_list if key == "table" else None
            mb = weight.mb if weight is not None else None
            hugo_mb = hugo.mb if hugo is not None else None
            rows.append((
                f"{label}, {_name(size)}",
                _weight(weight),
                _weight(hugo),
                _ratio(mb, hugo_mb),
                target.text,
                target.met(mb),
            ))  # fmt: skip
            if weight is not None:
                details.append(f"- {_name(size)}, {key}: {weight.detail()}")
        if size.hugo_list is not None and size.hugo_list.total is not None:
            details.append(
                f"- {_name(size)}, Hugo's list page opportunities.html (title, list, owner, "
                f"amount per record): {size.hugo_list.detail()}"
            )
    return [*_table(rows), "", *details]


def example_repo(example: ExampleResult | None) -> list[str]:
    """Full builds of the example repo and the time ``crmgen serve`` takes to show an edit."""
    if example is None:
        rows = [(m, "skipped", "n/a", "n/a", t.text, "-") for m, t in (
            ("full build, cold", EXAMPLE_BUILD), ("full build, warm cache", EXAMPLE_BUILD),
            ("serve: one edit shown (median of 3)", SERVE_EDIT),
        )]  # fmt: skip
        return _table(rows)
    rows = []
    for kind, label in (("cold", "full build, cold"), ("warm", "full build, warm cache")):
        mine = wall(example.runs, kind)
        rows.append((
            f"{label} ({example.files} files)",
            _cell(example.runs, kind, mine, " s"),
            "n/a",
            "n/a",
            EXAMPLE_BUILD.text,
            EXAMPLE_BUILD.met(mine),
        ))  # fmt: skip
    serve = example.serve
    if serve is None:
        rows.append(
            ("serve: one edit shown (median of 3)", "skipped", "n/a", "n/a", SERVE_EDIT.text, "-")
        )
    else:
        first = "failed" if serve.first_build is None else f"{serve.first_build:,.2f} s"
        edit = median(serve.edits) if not serve.error else None
        edit_cell = "failed" if edit is None else f"{edit:,.2f} s"
        rows.append(
            ("serve: started until it answers (first build)", first, "n/a", "n/a", "-", "-")
        )
        rows.append((
            "serve: one edit shown (median of 3)", edit_cell, "n/a", "n/a",
            SERVE_EDIT.text, SERVE_EDIT.met(edit),
        ))  # fmt: skip
    return _table(rows)


# --- history -----------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _commits(machine: dict[str, str]) -> str:
    """The commit of the run, or ``first..last`` when the engine changed during it."""
    first = machine.get("crmgen commit", "").split(" ")[0]
    last = machine.get("crmgen commit after", "").split(" ")[0]
    return f"{first}..{last}" if last and last != first else first


def history_rows(label: str, report: Report) -> list[dict[str, str]]:
    """One summary line per size of ``report``."""
    rows = []
    for size in report.sizes:
        runs = size.runs
        rows.append({
            "label": label,
            "date": report.machine.get("date", ""),
            "commit": _commits(report.machine),
            "records": str(size.records),
            "full_cold_s": _num(wall(runs, "cold")),
            "full_warm_s": _num(wall(runs, "warm")),
            "hugo_s": _num(wall(runs, "hugo")),
            "rebuild_one_s": _num(wall(runs, "edit")),
            "nothing_s": _num(wall(runs, "nothing")),
            "validate_cold_s": _num(wall(runs, "validate cold")),
            "validate_warm_s": _num(wall(runs, "validate warm")),
            "peak_build_mib": _num(peak(runs, "cold")),
        })  # fmt: skip
    return rows


def append_history(path: Path, label: str, report: Report) -> None:
    """Append this run's summary lines to the CSV at ``path`` (with a header if new)."""
    new = not path.is_file() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(history_rows(label, report))


def read_history(path: Path) -> list[dict[str, str]]:
    """The rows of the history CSV, oldest first; none if it does not exist."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def history_table(rows: Sequence[dict[str, str]]) -> list[str]:
    """The history CSV as a Markdown table (the last 30 lines)."""
    header = HISTORY_HEADER
    lines = [
        "Successive runs with `--label NAME` (from `bench/history.csv`): what each engine change",
        "bought. Times are medians in seconds.",
        "",
        _row(*header),
        _row(*("---" for _ in header)),
    ]
    for row in rows[-30:]:
        lines.append(_row(*(row.get(name, "") or "-" for name in HISTORY_FIELDS)))
    if not rows:
        lines.append("")
        lines.append("No labelled run yet: `python -m bench.compare --label NAME` adds one.")
    return lines


# --- the report --------------------------------------------------------------------------


def markdown(report: Report, history: Sequence[dict[str, str]]) -> str:
    """The whole report."""
    machine_rows = [*report.machine.items()]
    machine_rows.append(("runs", f"{report.runs} per measure, median, each a fresh process"))
    machine_rows.append(("skipped", ", ".join(report.skipped) or "nothing"))
    lines = ["# crmgen and Hugo side by side", "", "## Machine", "", "| | |", "|---|---|"]
    lines += [_row(key, value) for key, value in machine_rows]
    sections: list[tuple[str, list[str]]] = [
        ("Full build", full_build(report.sizes)),
        ("Incremental rebuild", incremental(report.sizes)),
        ("Validate", validate(report.sizes)),
        ("Peak memory", memory(report.sizes, report.example)),
        ("Cores used", cores_used(report.sizes)),
        ("Page weights", page_weights(report.sizes)),
        ("Example repo", example_repo(report.example)),
        ("What each optimisation bought", history_table(history)),
        ("Notes", notes(report)),
    ]
    for title, body in sections:
        lines += ["", f"## {title}", "", *body]
    return "\n".join(lines)


def notes(report: Report) -> list[str]:
    """What a reader needs to trust the numbers, and whatever went wrong."""
    lines = [
        '- Full builds: crmgen "cold" has no `.crmgen-cache` and no site folder; "warm cache"'
        " keeps the cache and deletes the site folder first. Hugo renders into a destination"
        " deleted before each run (no `--gc`, no `--cleanDestinationDir`); crmgen, Hugo, crmgen"
        ' (warm), Hugo alternate. "Cold" removes the data repo\'s cache only: the Vega bundle,'
        " which depends on nothing but the installed vl-convert, is also kept once per user"
        " (`~/.cache/crmgen/shared/`), so only a machine's first build makes it (about 1 s"
        " more).",
        "- crmgen runs from compiled bytecode, as an installed crmgen does: the bench compiles"
        " the package first and starts every run without `PYTHONDONTWRITEBYTECODE` (with it"
        " set, each run compiled crmgen's modules again: about 0.1 s more a run).",
        "- Rebuilds go into the site of the previous build; the edit changes one digit of an"
        " `amount:` line, the restore writes the original bytes back.",
        "- Peak memory is `ru_maxrss` from `os.wait4` (the child, or the largest of the"
        " grandchildren it waited for; not their sum). Cores used = (user + sys) / wall.",
    ]
    for size in report.sizes:
        lines += [f"- {_name(size)}: {note}" for note in size.notes]
    if report.example is not None:
        lines += [f"- example repo: {note}" for note in report.example.notes]
        serve = report.example.serve
        if serve is not None and serve.edits:
            edits = ", ".join(f"{s:.2f} s" for s in serve.edits)
            lines.append(
                f"- serve: edits of {serve.page} shown after {edits} (file watcher debounce"
                " included; the first build had the warm cache of the builds above; the harness"
                " waits 1 s after the first answer, since serve starts watching only after it"
                " starts answering)"
            )
    return lines
