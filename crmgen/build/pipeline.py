"""The pipeline. Read it top to bottom to see how crmgen works.

    config -> schemas -> load -> validate -> link -> history -> compute -> dashboards
    -> checks -> templates                            (the check: ``load_dataset``)
    -> redact -> charts -> views -> render -> write     (the build: ``build_site``)

``crmgen validate`` runs ``load_dataset``: everything ``crmgen build`` can find out about the
data repo without rendering. ``build_site`` runs the same, then cuts the dataset for one
audience, builds the views, renders and writes. Each step returns a value and its diagnostics;
``_Run`` collects them and reports each finished step to the injected ``progress`` callback.
This is the only module that imports every stage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from crmgen import cache, checks, dashboards, history, redaction, render, report
from crmgen.compute.evaluate import SPACE as COMPUTED
from crmgen.compute.evaluate import Run, compute, run_here
from crmgen.config import load_config
from crmgen.history.log import HISTORIES
from crmgen.link import link_records
from crmgen.model import (
    Config,
    Dataset,
    Diagnostic,
    Page,
    PageSet,
    Project,
    ProjectSchema,
    error,
    frozen_map,
)
from crmgen.model.store import NO_STORE, Store, digest
from crmgen.schema import load_schemas

from . import records
from .forked import Started, run_forked, start_forked
from .inputs import RUNS, build_date, code_version
from .records import can_fork, read_records, workers
from .result import BuildResult, manifest_path, remembered, run_key, unchanged

if TYPE_CHECKING:  # the build's own stages: imported by the build, not by ``crmgen validate``
    from crmgen import changes, views, write

    from .charts import Charting

#: The home page: rendered last, with the first dashboard.
HOME_PAGE = "index.html"

#: ``progress(step, seconds)``: a step of the pipeline finished, taking ``seconds``.
Progress = Callable[[str, float], None]
T = TypeVar("T")


def _no_progress(step: str, seconds: float) -> None:
    return None


class _Run:
    """Runs the steps of one pipeline: collects diagnostics, times and reports each step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.diagnostics: list[Diagnostic] = []

    def __call__(self, step: str, fn: Callable[..., tuple[T, list[Diagnostic]]], *args: Any) -> T:
        start = time.perf_counter()
        value, diags = fn(*args)
        self.diagnostics.extend(diags)
        self.progress(step, time.perf_counter() - start)
        return value

    def failed(self, strict: bool) -> bool:
        return report.exit_code(self.diagnostics, strict) != report.EXIT_OK


def load_dataset(
    root: Path,
    *,
    today: dt.date | None = None,
    progress: Progress = _no_progress,
    git_root: Path | None = None,
    rev: str = "HEAD",
    store: Store = NO_STORE,
) -> Dataset:
    """Load and check a data repo: every problem ``crmgen build`` could report, without rendering.

    Never raises for bad data: every problem is a diagnostic in ``Dataset.diagnostics``.

    Args:
        root: the data repo's folder.
        today: the date formulas see as ``today()``; defaults to :func:`build_date`.
        progress: called after each step.
        git_root: where the history is read (default ``root``; an as-of build loads the files
            of an older revision from a temporary folder).
        rev: the revision whose history is read.
        store: the cache (``crmgen.cache``); records whose files did not change come from it.
    """
    today = today or build_date()
    if not root.is_dir():
        problem = error("usage-root", f"{root} is not a folder; give the data repo's root")
        return Dataset(str(root), Config(), frozen_map({}), today, (problem,))
    run = _Run(progress)
    config = run("config", load_config, root)
    schemas = run("schemas", load_schemas, root, config)
    # what needs no record (the git history, the templates' check) is made meanwhile
    early = _start_early(root, git_root or root, rev, schemas, store)
    try:
        records = run("load", read_records, root, config, schemas, store)
        records = run("link", link_records, schemas, records)
        order = config.project_order(schemas)
        projects = {p: Project(schemas[p], frozen_map(records.get(p, {}))) for p in order}
        dataset = Dataset(str(root), config, frozen_map(projects), today)
        found, templates = _taken(early, store)
    finally:
        early.close()
    dataset = run("history", history.apply, dataset, found)
    dataset = run("compute", compute, dataset, *_compute_on_cores(), store)
    boards = run("dashboards", dashboards.check, dataset)
    dataset = run("checks", checks.run, dataclasses.replace(dataset, dashboards=boards))
    run("templates", lambda: (None, templates))
    return dataclasses.replace(dataset, diagnostics=tuple(report.ordered(run.diagnostics)))


#: What ``_start_early`` makes: the history read, the templates' problems, and what the child
#: put in its cache (None when made here).
_Early = tuple[history.Found, list[Diagnostic], Any]


def _start_early(
    root: Path, git_root: Path, rev: str, schemas: dict[str, ProjectSchema], store: Store
) -> Started[_Early]:
    """Begin what needs none of the records: reading the git history (git's processes and
    their output, 0.35 s at 10,000 deals when nothing is cached) and checking the templates.
    In a forked child while the records are read, where forking is possible and the store is
    a ``cache.Cache`` (its child reads through its own connection and hands back what it put)
    or none; else here, when taken."""
    keys = history.list_keys(schemas)
    version = code_version()
    parent = os.getpid()
    shareable = store is NO_STORE or isinstance(store, cache.Cache)

    def work() -> _Early:
        forked = os.getpid() != parent
        child = store.for_child() if forked and isinstance(store, cache.Cache) else None
        here = child if child is not None else store
        found = history.read(git_root, keys, rev=rev, store=here, version=version)
        problems = render.check_templates(root, here, version)
        return found, problems, child.handed_back() if child is not None else None

    return start_forked(work, fork=shareable and workers() > 1 and can_fork())


def _taken(early: Started[_Early], store: Store) -> tuple[history.Found, list[Diagnostic]]:
    """The history and the templates' problems, with what a child put adopted by ``store``."""
    found, problems, handed = early.result()
    if handed is not None and isinstance(store, cache.Cache):
        store.adopt(handed)
    return found, problems


def _compute_on_cores() -> tuple[Run, int]:
    """How ``compute`` runs its shares: on every core when this platform can fork."""
    count = workers()
    return (run_forked, count) if count > 1 and can_fork() else (run_here, 1)


@contextlib.contextmanager
def checked_out(root: Path, when: str) -> Iterator[tuple[Path, str, dt.date] | Diagnostic]:
    """The data repo's files as they stood at a revision or on a date, in a temporary folder.

    Yields (folder, commit, that commit's date), or a usage error when ``when`` names no
    commit; the folder is removed afterwards.
    """
    found = history.rev_for(root, when)
    if isinstance(found, str):
        yield error("usage-as-of", f"cannot build as of {when}: {found}")
        return
    sha, time_ = found
    with tempfile.TemporaryDirectory(prefix="crmgen-as-of-") as folder:
        tree = Path(folder)
        problem = history.export_tree(root, sha, tree)
        if problem:
            yield error("usage-as-of", f"cannot read the files of {when}: {problem}")
            return
        yield tree, sha, dt.datetime.fromtimestamp(time_, dt.UTC).date()


def load_dataset_at(root: Path, when: str, *, progress: Progress = _no_progress) -> Dataset:
    """``load_dataset`` of the data as it stood at ``when`` (a revision, or a date: the last
    commit of that day); ``today`` is that date. Never raises for bad data."""
    with checked_out(root, when) as found:
        if isinstance(found, Diagnostic):
            return Dataset(str(root), Config(), frozen_map({}), build_date(), (found,))
        tree, sha, date = found
        as_of = _as_of(when, sha, date)
        dataset = load_dataset(tree, today=as_of[0], progress=progress, git_root=root, rev=sha)
        return dataclasses.replace(dataset, root=str(root), as_of=as_of)


def _as_of(when: str, sha: str, date: dt.date) -> tuple[dt.date, str]:
    """The day an as-of build shows (the date asked for, or the commit's) and its label."""
    if len(when) == 10 and when[4] == "-" and when[7] == "-":
        return dt.date.fromisoformat(when), when
    return date, f"{when} ({sha[:12]})"


def build_site(
    root: Path,
    out: Path,
    *,
    audience: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    today: dt.date | None = None,
    progress: Progress = _no_progress,
    as_of: str | None = None,
) -> BuildResult:
    """Build the site of ``root`` into ``out``; nothing is written when there are errors.

    Args:
        root: the data repo.
        out: the site folder, replaced atomically.
        audience: the audience to build for (declared in crmgen.yml); None builds for the one
            ``publish.audience`` names, else the most restricted one (no restricted field).
        base_url: the public URL; when it is an absolute http(s) URL (here or as ``base_url``
            in crmgen.yml) a ``sitemap.xml`` is added. Links stay relative either way.
        strict: warnings fail the build too.
        today: the build date (see :func:`build_date`).
        progress: called after each step.
        as_of: build the data as it stood at this revision or on this date (``YYYY-MM-DD``);
            every page says so.
    """
    if as_of is not None:
        with checked_out(root, as_of) as found:
            if isinstance(found, Diagnostic):
                empty = Dataset(str(root), Config(), frozen_map({}), build_date())
                return BuildResult(empty, (found,), 0)
            tree, sha, date = found
            moment = _as_of(as_of, sha, date)
            return _build(
                tree, out, audience, base_url, strict, moment[0], progress, (root, sha, moment)
            )
    return _build(root, out, audience, base_url, strict, today, progress, None)


def _build(
    root: Path,
    out: Path,
    audience: str | None,
    base_url: str | None,
    strict: bool,
    today: dt.date | None,
    progress: Progress,
    past: tuple[Path, str, tuple[dt.date, str]] | None,
) -> BuildResult:
    """The build; ``past`` is (the repo, the commit, the as-of day and label) when ``root`` is
    a copy of an older revision."""
    with cache.opened(past[0] if past else root) as store:
        if past is not None:  # another revision: nothing to compare with
            return _build_with(root, out, audience, base_url, strict, today, progress, past, store)
        return build_unless_unchanged(
            root, out, audience, base_url, strict, today or build_date(), progress, store
        )


def build_unless_unchanged(
    root: Path,
    out: Path,
    audience: str | None,
    base_url: str | None,
    strict: bool,
    day: dt.date,
    progress: Progress,
    store: cache.Cache,
) -> BuildResult:
    """Build the working tree, unless nothing it reads changed since the last build of ``out``
    and that site is intact: then say so and do nothing (``BuildResult.kept``)."""
    key = run_key(root, out, audience, base_url, strict, day)
    found = unchanged(key, root, out, store, functools.partial(_reload, root, day))
    if found is not None:
        progress("unchanged", 0.0)
        return found
    return build_and_remember(root, out, audience, base_url, strict, day, progress, store, key)


def build_and_remember(
    root: Path,
    out: Path,
    audience: str | None,
    base_url: str | None,
    strict: bool,
    day: dt.date,
    progress: Progress,
    store: cache.Cache,
    key: str,
) -> BuildResult:
    """Build the working tree and remember the result under ``key`` (``result.run_key``)."""
    result = _build_with(root, out, audience, base_url, strict, day, progress, None, store)
    if result.written:
        store.put(RUNS, key, remembered(result, root, out))
        store.forget_unused(records.SPACE)
        store.forget_unused(COMPUTED)
        store.forget_unused(HISTORIES)
    return result


def _reload(root: Path, day: dt.date) -> Dataset:
    with cache.opened(root) as store:
        return load_dataset(root, today=day, store=store)


def _build_with(
    root: Path,
    out: Path,
    audience: str | None,
    base_url: str | None,
    strict: bool,
    today: dt.date | None,
    progress: Progress,
    past: tuple[Path, str, tuple[dt.date, str]] | None,
    store: cache.Cache,
) -> BuildResult:
    from .charts import early_drawer, start_charts

    # the SVG drawer starts its engine now, while the records load (see ``charts.Drawer``)
    with early_drawer() as drawer:
        run = _Run(progress)
        git_root, rev = (past[0], past[1]) if past else (None, "HEAD")
        dataset = load_dataset(
            root, today=today, progress=progress, git_root=git_root, rev=rev, store=store
        )
        if past is not None:  # every page says which day it shows
            dataset = dataclasses.replace(dataset, as_of=past[2])
        run.diagnostics.extend(dataset.diagnostics)

        def done() -> BuildResult:
            return BuildResult(dataset, tuple(report.ordered(run.diagnostics)), 0)

        if run.failed(strict):
            return done()
        cut = run("redact", redaction.redact, dataset, audience)
        if run.failed(strict):
            return done()
        # the dashboards are made in a child on the other core while the views and pages are made
        charting = start_charts(cut, store, drawer)
        try:
            count = _site(root, out, cut, charting, base_url, strict, progress, store, run)
        finally:
            charting.close()
        if count is None:
            return done()
        return BuildResult(dataset, tuple(report.ordered(run.diagnostics)), count)


def _site(
    root: Path,
    out: Path,
    cut: Dataset,
    charting: Charting,
    base_url: str | None,
    strict: bool,
    progress: Progress,
    store: cache.Cache,
    run: _Run,
) -> int | None:
    """Render and write the site of a dataset cut for its audience; returns how many files it
    has, or None when it failed (the problems are in ``run.diagnostics``)."""
    from crmgen import write

    from .pages import start_pages

    templates = [root / "templates"] if (root / "templates").is_dir() else []
    site, pages = run("views", _quiet(_views), cut, charting.frame, templates)
    public = base_url or cut.config.base_url
    try:
        with write.SiteWriter(out, manifest_path(root, out)) as writer:
            start = time.perf_counter()
            problems: list[Diagnostic] = []
            read = lambda rel: (root / rel).read_bytes()  # noqa: E731
            page_keys = {p.path: p.key for p in pages}
            # the home page shows the first dashboard: it is rendered with them, last
            home = [p for p in pages if p.path == HOME_PAGE]
            # the pages are rendered by workers on the other cores while this process makes
            # the tables' data, the CSV files and the search index
            early = [p for p in pages if p.path != HOME_PAGE]
            rendering = start_pages(writer, early, site, templates, root, problems, store)
            try:
                index, count = _other_files(writer, cut, site, page_keys, store, read)
                # the search index is written while the charts child still works: after an
                # edit, the child's cubes take longer than this process's tables
                searched = time.perf_counter()
                count += _write_search(writer, index)
                progress("search", time.perf_counter() - searched + index.seconds)
                charts = charting.result()
                progress("charts", charting.seconds)
                late = [
                    dataclasses.replace(page, context={**charts.home, **page.context})
                    for page in home
                ]
                rendering.render_here([*late, *charts.pages])
                for path, content in sorted(charts.files.items()):
                    writer.put(path, content)
                    count += 1
                if public.startswith(("https://", "http://")):
                    paths = sorted([*(p.path for p in pages), *(p.path for p in charts.pages)])
                    writer.put("sitemap.xml", render.sitemap(paths, public))
                    count += 1
                count += rendering.finish()
            finally:
                rendering.close()
            run.diagnostics.extend(problems)
            progress("render", time.perf_counter() - start)
            if run.failed(strict):
                return None
            run("write", _quiet(writer.commit))
    except ValueError as exc:
        run.diagnostics.append(error("usage-output", f"cannot build the site: {exc}"))
        return None
    except OSError as exc:
        run.diagnostics.append(error("usage-output", f"cannot write the site to {out}: {exc}"))
        return None
    return count


def _other_files(
    writer: write.SiteWriter,
    cut: Dataset,
    site: views.SiteView,
    page_keys: dict[str, str],
    store: Store,
    read: Callable[[str], bytes],
) -> tuple[views.SearchIndex, int]:
    """Every file of the site that is neither a page nor the charts': the tables' data (each
    row turned into the record's search row as it passes), the assets and each table's CSV.
    Returns the search index and how many files there are."""
    from crmgen import views

    from .interchange import site_csv_files

    index = views.search_index(cut, site, page_keys, store)  # rows as tables pass
    # each table's data, and its CSV as this audience sees it: kept when their key is
    keyed = itertools.chain(
        views.data_files(index.site, page_keys, store), site_csv_files(cut, page_keys, store)
    )
    count = 0
    for path, key, make in keyed:
        if not writer.keep(path, key):
            writer.put(path, make(), key)
        count += 1
    for path, content in render.other_files(site, read):
        writer.put(path, content)
        count += 1
    return index, count


def _write_search(writer: write.SiteWriter, index: views.SearchIndex) -> int:
    """Write the search index: every file kept from the current site when no record changed,
    else made again (from the rows the cache keeps). Returns how many files it has."""
    kept = {path for path in index.paths if writer.keep(path, index.key)}
    if index.paths and len(kept) == len(index.paths):
        return len(kept)
    count = len(kept)
    for path, content in index.make():
        if path not in kept:
            writer.put(path, content, index.key)
            count += 1
    return count


def _views(
    dataset: Dataset, charts: PageSet, templates: list[Path]
) -> tuple[views.SiteView, list[Page]]:
    """The site's views and every page: records, tables, boards, dashboards and alerts; each
    record page with its key (see ``views.page_keys``) unless templates it uses are
    overridden (a template of the repo may show anything of the site on a record page)."""
    from crmgen import views

    feeds, links = views.feed_pages(dataset)
    extras = [charts, feeds, views.form_pages(dataset)]
    if dataset.automations is not None and dataset.config.automations is not None:
        extras.append(views.alerts_pages(dataset, links))
    site = views.build_site_views(dataset)
    extras.append(views.search_pages(site))
    if links:
        site = dataclasses.replace(site, feed=links[0].href)
    keys: dict[str, str] = {}
    if not any((folder / name).exists() for folder in templates for name in _RECORD_TEMPLATES):
        keys = views.page_keys(dataset, _shared_key(dataset, site, extras, templates))
    pages, site = views.pages(site, extras, keys)
    return site, pages


#: The templates a record page is drawn with.
_RECORD_TEMPLATES = ("record.html", "base.html", "_macros.html")


def _shared_key(
    dataset: Dataset, site: views.SiteView, extras: list[PageSet], templates: list[Path]
) -> str:
    """A hash of what every record page shows besides its record: crmgen (code, templates,
    assets), the repo's template overrides, the settings and schemas as cut for the audience,
    the day, and the frame of every page (title, navigation, banner, feed)."""
    frame = (
        site.title,
        site.lang,
        site.audience,
        site.built,
        site.built_iso,
        site.as_of,
        site.feed,
        [(p.name, p.title, p.href, p.board is not None) for p in site.projects],
        [label for extra in extras for label in extra.nav],
    )
    schemas = {name: project.schema for name, project in dataset.projects.items()}
    overrides = sorted(
        (str(path.relative_to(folder)), path.read_bytes())
        for folder in templates
        for path in folder.rglob("*")
        if path.is_file()
    )
    shared = (
        code_version(),
        overrides,
        dataset.config,
        schemas,
        dataset.today,
        dataset.as_of,
        frame,
    )
    return digest(shared)


def _quiet(fn: Callable[..., T]) -> Callable[..., tuple[T, list[Diagnostic]]]:
    """A step that reports no diagnostics, in the shape ``_Run`` expects."""
    return lambda *args: (fn(*args), [])


def compare_revisions(
    root: Path, base: str, head: str | None, *, audience: str | None = None
) -> tuple[changes.Changes | None, tuple[Diagnostic, ...]]:
    """What changed in the pipeline from ``base`` to ``head`` (None: the working tree).

    Both sides are loaded like a build (as they stood at each revision, with their own history)
    and cut for ``audience``, so a restricted amount stays out of the summary too.

    Returns:
        The changes (None when a side has errors) and every diagnostic of both sides.
    """
    from crmgen import changes

    before = load_dataset_at(root, base)
    after = load_dataset_at(root, head) if head else load_dataset(root)
    problems = [*before.diagnostics, *after.diagnostics]
    if report.exit_code(problems):
        return None, tuple(report.ordered(problems))
    old, more = redaction.redact(before, audience)
    new, most = redaction.redact(after, audience)
    problems += more + most
    if report.exit_code(problems):
        return None, tuple(report.ordered(problems))
    label = head or "working tree"
    base_label = before.head[:12] if before.head else base
    head_label = after.head[:12] if head and after.head else label
    found = changes.compare(old, new, base_label, head_label)
    return found, tuple(report.ordered(problems))
