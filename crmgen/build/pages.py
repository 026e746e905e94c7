"""Rendering the pages into the site writer: keep what did not change, use every core.

A page whose key (``Page.key``, see ``views.page_keys``) is the one the current site has it
under is linked from the current site without being built or rendered. The rest are rendered
here or, when there are many, in forked workers that each render a share of them straight into
the staging folder (``write.SiteWriter.put``) and hand back what they wrote; the parent records
it as if it had written it. Forking shares the views, the dataset and the writer's state
without copying them; only the list of files written comes back.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from crmgen import render, write
from crmgen.model import Diagnostic, Page, Parts
from crmgen.model.store import NO_STORE, Store

from .inputs import code_version
from .records import can_fork, workers

__all__ = ["write_pages"]

#: Below this many pages to render, one process renders them.
PARALLEL_FROM = 300

_Written = tuple[str, tuple[str, int], str]  # path, (sha256, size), key


def write_pages(
    writer: write.SiteWriter,
    pages: Sequence[Page],
    site: render.SiteInfo,
    templates: Sequence[Path],
    root: Path,
    problems: list[Diagnostic],
) -> int:
    """Put every page into ``writer`` (kept, or rendered); returns how many pages there are in
    the new site. Template failures go to ``problems``, each once."""
    return start_pages(writer, pages, site, templates, root, problems).finish()


class Rendering:
    """Pages being rendered: by forked workers while the caller does other work, or already
    done in this process. ``finish()`` waits for them and returns how many pages the new site
    has."""

    def __init__(
        self,
        writer: write.SiteWriter,
        seen: set[str],
        drawing: _Drawing,
        problems: list[Diagnostic],
        pool: ProcessPoolExecutor | None = None,
        futures: Sequence[Future[tuple[list[_Written], int, list[Diagnostic]]]] = (),
    ) -> None:
        self.writer, self.seen, self.problems = writer, seen, problems
        self.drawing = drawing
        self.pool, self.futures = pool, futures

    def finish(self) -> int:
        if self.pool is not None:
            try:
                for future in self.futures:
                    written, count_written, found = future.result()
                    self.writer.adopt(written, count_written)
                    for problem in found:
                        if problem not in self.problems:  # one per template, whichever worker
                            self.problems.append(problem)
            finally:
                self.close()
        return sum(1 for path in self.seen if path in self.writer.new)

    def render_here(self, pages: Sequence[Page]) -> None:
        """Render more pages in this process (the pages made once the others were started)."""
        _claim(self.seen, pages)
        _put_rendered(self.writer, pages, self.drawing, self.problems)

    def close(self) -> None:
        """Stop the workers (after ``finish``, or when the caller failed meanwhile: none is
        left writing into a staging folder that is being removed)."""
        global _WORK
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        _WORK = None


def start_pages(
    writer: write.SiteWriter,
    pages: Sequence[Page],
    site: render.SiteInfo,
    templates: Sequence[Path],
    root: Path,
    problems: list[Diagnostic],
    store: Store = NO_STORE,
) -> Rendering:
    """Start putting every page into ``writer``: the pages whose key is unchanged are kept at
    once; the others are rendered by workers forked now (so the caller can make the tables'
    data meanwhile, on the other core), or here when there are few of them.

    The templates are compiled once, here, before any worker forks (kept compiled in
    ``store`` between runs): each worker starts with them."""
    global _WORK
    seen: set[str] = set()
    _claim(seen, pages)
    todo = [page for page in pages if not writer.keep(page.path, page.key)]
    env = render.make_environment(templates, store, code_version())
    for name in sorted({page.template for page in todo} | set(_FRAME)):
        with contextlib.suppress(jinja2.TemplateError, SecurityError):  # reported when rendered
            env.get_template(name)
    drawing: _Drawing = (site, templates, root, env)
    parts = _fetch_parts(todo, store)
    cores = workers()
    if len(todo) < PARALLEL_FROM or cores < 2 or not can_fork():
        _put_rendered(writer, todo, drawing, problems)
        for p in parts:  # only here: rows a worker made would all wait in memory for the end
            for key, value in p.made().items():
                store.put(p.space, key, value)
        return Rendering(writer, seen, drawing, problems)
    _WORK = (writer, todo, drawing, parts)
    gc.collect()
    gc.freeze()  # the workers' collector leaves the shared objects alone (fewer copied pages)
    try:
        size = -(-len(todo) // (cores * 4))
        spans = [(start, min(len(todo), start + size)) for start in range(0, len(todo), size)]
        pool = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"))
        futures = [pool.submit(_work, span) for span in spans]  # the workers fork here
    except BaseException:
        _WORK = None
        raise
    finally:
        gc.unfreeze()
    return Rendering(writer, seen, drawing, problems, pool, futures)


def _fetch_parts(pages: Sequence[Page], store: Store) -> list[Parts]:
    """Give the parts of the pages to render what the store keeps of them, before they are
    rendered (here or in forked workers, which must not read the store); returns them."""
    wanted: dict[int, tuple[Parts, list[str]]] = {}
    for page in pages:
        if page.parts is not None:
            wanted.setdefault(id(page.parts), (page.parts, []))[1].extend(
                page.parts.wants(page.path)
            )
    for parts, keys in wanted.values():
        if keys:
            parts.known(store.get_many(parts.space, keys))
    return [parts for parts, _ in wanted.values()]


def _claim(seen: set[str], pages: Sequence[Page]) -> None:
    """Add the pages' paths to ``seen``; two pages of one path are an error."""
    for page in pages:
        if page.path in seen:
            raise ValueError(f"two files of the site would be written to {page.path}; rename one")
        seen.add(page.path)


def _put_rendered(
    writer: write.SiteWriter,
    pages: Sequence[Page],
    drawing: _Drawing,
    problems: list[Diagnostic],
) -> None:
    """Render the pages in this process, each into ``writer`` under its key."""
    for path, content, key in _rendered(pages, drawing, problems):
        writer.put(path, content, key)


def _rendered(pages: Sequence[Page], drawing: _Drawing, problems: list[Diagnostic]) -> Any:
    keys = {page.path: page.key for page in pages}
    site, templates, root, env = drawing
    for path, content in render.render_pages(pages, site, templates, problems, root, env):
        yield path, content, keys[path]


#: The templates every page template draws on: compiled before the workers fork.
_FRAME = ("base.html", "_macros.html")

_Drawing = tuple[render.SiteInfo, Sequence[Path], Path, jinja2.Environment]

_WORK: tuple[Any, ...] | None = None


def _work(span: tuple[int, int]) -> tuple[list[_Written], int, list[Diagnostic]]:
    """In a worker: render a share of the pages into the staging folder; hands back what it
    wrote (the parts it made stay here: see ``start_pages``)."""
    assert _WORK is not None
    writer, todo, drawing, parts = _WORK
    # a template compiled here is not kept: the store is the parent's (its connection must
    # not be used in a fork), and every template a page names was compiled before the fork
    drawing[3].bytecode_cache = None
    before = set(writer.new)
    written_before = writer.written
    problems: list[Diagnostic] = []
    _put_rendered(writer, todo[span[0] : span[1]], drawing, problems)
    done = [
        (path, writer.new[path], writer.new_keys.get(path, ""))
        for path in writer.new
        if path not in before
    ]
    for kept in parts:
        kept.made()  # let them go: a worker's parts are not kept (see ``start_pages``)
    return done, writer.written - written_before, problems
