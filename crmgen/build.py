"""The pipeline: load -> validate -> link -> compute -> (views -> render -> write).

This is the only module that imports every stage; read it top to bottom to see how
crmgen works. ``load_dataset`` is what ``crmgen validate`` runs; ``build_site`` runs the
same and then renders and writes the site.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from crmgen import report
from crmgen.compute.evaluate import compute
from crmgen.config import load_config
from crmgen.formatting import LinkView
from crmgen.link import link_records
from crmgen.load import load_records
from crmgen.model import Config, Dataset, Diagnostic, Page, Pos, Project, error, frozen_map
from crmgen.schema import load_schemas
from crmgen.validate import validate_records
from crmgen.views import SiteView

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def build_date() -> dt.date:
    """Today, or the day of ``SOURCE_DATE_EPOCH`` (UTC) for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()


def load_dataset(root: Path, *, today: dt.date | None = None) -> Dataset:
    """Load, validate, link and compute a data repo. Never raises for bad data.

    Args:
        root: the data repo's folder.
        today: the date formulas see as ``today()``; defaults to :func:`build_date`.
    """
    today = today or build_date()
    if not root.is_dir():
        problem = error("usage-root", f"{root} is not a folder; give the data repo's root")
        return Dataset(str(root), Config(), frozen_map({}), (problem,), today)
    config, diags = load_config(root)
    schemas, more = load_schemas(root, config.projects, config.max_file_size)
    diags += more
    records, more = load_records(root, config, schemas)
    diags += more
    records, more = validate_records(root, config, schemas, records)
    diags += more
    records, more = link_records(schemas, records)
    diags += more
    schemas, records, more = compute(schemas, records, today)
    diags += more
    order = [p for p in config.projects if p in schemas] or sorted(schemas)
    projects = {p: Project(schemas[p], frozen_map(records.get(p, {}))) for p in order}
    return Dataset(str(root), config, frozen_map(projects), tuple(report.ordered(diags)), today)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did: the dataset, every diagnostic and the files written (0 if none)."""

    dataset: Dataset
    diagnostics: tuple[Diagnostic, ...]
    written: int


def build_site(
    root: Path,
    out: Path,
    *,
    audience: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    today: dt.date | None = None,
    progress: Progress = _no_progress,
) -> BuildResult:
    """Build the site of ``root`` into ``out``; nothing is written when there are errors.

    Links are relative, so the site works under any path; ``base_url`` (or ``base_url`` in
    crmgen.yml), when it is an absolute http(s) URL, adds a ``sitemap.xml`` of every page.
    """
    from crmgen import dashboards, render, views, write

    dataset = load_dataset(root, today=today)
    progress("load", 1, 4)
    diags = list(dataset.diagnostics)
    specs, more = dashboards.parse_dashboards(
        dataset.config.raw.get("dashboards"), dataset.config.positions, dataset.config.path
    )
    diags += more
    if report.exit_code(diags, strict):
        return BuildResult(dataset, tuple(report.ordered(diags)), 0)
    site = views.build_site_views(dataset, audience=audience)
    pages = views.pages(site)
    dash_pages, dash_files, more = dashboards.dashboard_pages(
        dataset,
        specs,
        audience=audience,
        currency=dataset.config.currency,
        locale=dataset.config.locale,
    )
    diags += more
    pages, site = _with_dashboards(pages, site, dash_pages)
    progress("views", 2, 4)
    template_dirs = [root / "templates"] if (root / "templates").is_dir() else []
    try:
        files = render.render_site(
            [*pages, *dash_pages], site, template_dirs, lambda rel: (root / rel).read_bytes()
        )
        files.update(dash_files)
        public = base_url or dataset.config.base_url
        if public.startswith(("https://", "http://")):
            files["sitemap.xml"] = render.sitemap([p.path for p in [*pages, *dash_pages]], public)
        progress("render", 3, 4)
        if report.exit_code(diags, strict):
            return BuildResult(dataset, tuple(report.ordered(diags)), 0)
        write.write_site(files, out)
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "templates"
        line = getattr(exc, "lineno", 0) or 0
        diags.append(
            error(
                "usage-template",
                f"template error: {exc}",
                _rel(root, where),
                Pos(line) if line else None,
            )
        )
        return BuildResult(dataset, tuple(report.ordered(diags)), 0)
    except (OSError, ValueError) as exc:
        diags.append(error("usage-output", f"cannot write the site to {out}: {exc}"))
        return BuildResult(dataset, tuple(report.ordered(diags)), 0)
    progress("write", 4, 4)
    return BuildResult(dataset, tuple(report.ordered(diags)), len(files))


def _with_dashboards(
    pages: list[Page], site: SiteView, dash_pages: list[Page]
) -> tuple[list[Page], SiteView]:
    """The home page holds the first dashboard; the navigation links to them all."""
    first = next((p for p in dash_pages if p.path == "dashboards/index.html"), None)
    if first is None:
        return pages, site
    merged = [
        Page(p.path, p.template, {**p.context, **first.context}) if p.path == "index.html" else p
        for p in pages
    ]
    nav = (*site.nav, LinkView("Dashboards", "dashboards/index.html"))
    return merged, dataclasses.replace(site, nav=nav)


def _rel(root: Path, name: str) -> str:
    try:
        return Path(name).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return name
