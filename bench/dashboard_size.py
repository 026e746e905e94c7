"""What a browser loads for each dashboard of a built site, part by part, against the budget.

Usage::

    python -m bench.dashboard_size SITE [SITE ...]          # sites already built
    python -m bench.dashboard_size --records 10000,50000    # generate, build, measure

For each ``dashboards/NAME.html`` (``index.html`` is the first one again) it prints the page's
HTML without its data, the ``dashboard-data`` JSON embedded in it, the scripts and style it
loads (``assets/vega-bundle.js``, ``assets/dashboard.js``, ``assets/dashboard.css``), the total
and the total gzipped, and whether the total is within the issue's budget: 1.5 MB (1,500,000
bytes) for a dashboard page with its data and JavaScript at 50,000 deals. Images (the static
SVGs) are not counted. ``--records`` writes the repos with ``bench.generate`` (seed 1) and
their sites under ``--work`` (a temporary folder by default), one build each.
"""

from __future__ import annotations

import argparse
import gzip
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The issue's budget for a dashboard page with its data and JavaScript, in bytes.
BUDGET = 1_500_000
#: The shared files every dashboard page loads, counted in its weight.
ASSETS = ("assets/vega-bundle.js", "assets/dashboard.js", "assets/dashboard.css")
_DATA = re.compile(rb'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)


@dataclass(frozen=True, slots=True)
class DashboardSize:
    """The bytes of one dashboard page and of what it loads."""

    name: str
    html: int  # the page without its embedded data
    data: int  # the dashboard-data JSON
    assets: tuple[tuple[str, int], ...]
    gzipped: int

    @property
    def total(self) -> int:
        """Every part added up."""
        return self.html + self.data + sum(size for _, size in self.assets)


def dashboard_sizes(site: Path) -> list[DashboardSize]:
    """Each dashboard page of ``site`` (not ``index.html``, the first one again), by name."""
    assets = [(name, site / name) for name in ASSETS if (site / name).is_file()]
    shared = [(name, path.read_bytes()) for name, path in assets]
    found = []
    for page in sorted((site / "dashboards").glob("*.html")):
        if page.name == "index.html":
            continue
        raw = page.read_bytes()
        match = _DATA.search(raw)
        data = len(match.group(1)) if match else 0
        gzipped = sum(len(gzip.compress(b, 6)) for b in (raw, *(c for _, c in shared)))
        sizes = tuple((name.rsplit("/", 1)[-1], len(content)) for name, content in shared)
        found.append(DashboardSize(page.stem, len(raw) - data, data, sizes, gzipped))
    return found


def report(site: Path, label: str = "") -> list[str]:
    """A Markdown table of the dashboards of ``site``."""
    sizes = dashboard_sizes(site)
    if not sizes:
        return [f"{label or site}: no dashboard"]
    names = [name for name, _ in sizes[0].assets]
    head = ["dashboard", "page HTML", "data", *names, "total", "gzipped", "<= 1.5 MB"]
    lines = [f"{label or site}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for size in sizes:
        cells = [size.name, f"{size.html:,}", f"{size.data:,}"]
        cells += [f"{bytes_:,}" for _, bytes_ in size.assets]
        cells += [f"{size.total:,}", f"{size.gzipped:,}", "yes" if size.total <= BUDGET else "NO"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def generated_site(records: int, work: Path) -> Path:
    """A repo of ``records`` deals (``bench.generate``, seed 1) built into ``work``."""
    from bench.generate import TODAY, generate
    from crmgen.build import build_site

    repo, site = work / f"repo-{records}", work / f"site-{records}"
    if not repo.is_dir():
        generate(repo, records=records, seed=1)
    result = build_site(repo, site, today=TODAY)
    if not result.written:
        raise SystemExit(f"the build of {repo} failed: {result.diagnostics[:3]}")
    return site


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    """Print the dashboards' weights of each site given or built."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_size", description=__doc__)
    parser.add_argument("sites", nargs="*", type=Path, help="built sites to measure")
    parser.add_argument("--records", help="comma-separated sizes to generate and build")
    parser.add_argument("--work", type=Path, help="where generated repos and sites go")
    args = parser.parse_args(argv)
    if not args.sites and not args.records:
        parser.error("give built sites or --records")
    for site in args.sites:
        out("\n".join(report(site)) + "\n")
    if args.records:
        with tempfile.TemporaryDirectory(prefix="crmgen-dash-") as folder:
            work = args.work or Path(folder)
            for records in (int(n.replace("_", "")) for n in args.records.split(",")):
                site = generated_site(records, work)
                out("\n".join(report(site, f"{records:,} deals ({site})")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
