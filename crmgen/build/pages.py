"""Rendering the pages into the site writer: keep what did not change, use every core.

A page whose key (``Page.key``, see ``views.page_keys``) is the one the current site has it
under is linked from the current site without being built or rendered. The rest are rendered
here or, when there are many, in forked workers that each render a share of them straight into
the staging folder (``write.SiteWriter.put``) and hand back what they wrote; the parent records
it as if it had written it. Forking shares the views, the dataset and the writer's state
without copying them; only the list of files written comes back.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from crmgen import render, write
from crmgen.model import Diagnostic, Page

from .records import workers

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
    seen: set[str] = set()
    for page in pages:
        if page.path in seen:
            raise ValueError(f"two files of the site would be written to {page.path}; rename one")
        seen.add(page.path)
    todo = [page for page in pages if not writer.keep(page.path, page.key)]
    cores = workers()
    if len(todo) < PARALLEL_FROM or cores < 2 or not _can_fork():
        for path, content, key in _rendered(todo, site, templates, root, problems):
            writer.put(path, content, key)
        return sum(1 for path in seen if path in writer.new)
    global _WORK
    _WORK = (writer, todo, site, templates, root)
    gc.collect()
    gc.freeze()  # the workers' collector leaves the shared objects alone (fewer copied pages)
    try:
        size = -(-len(todo) // (cores * 4))
        spans = [(start, min(len(todo), start + size)) for start in range(0, len(todo), size)]
        with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork")) as pool:
            for written, count_written, found in pool.map(_work, spans):
                writer.adopt(written, count_written)
                for problem in found:
                    if problem not in problems:  # one per template, whichever worker met it
                        problems.append(problem)
    finally:
        _WORK = None
        gc.unfreeze()
    return sum(1 for path in seen if path in writer.new)


def _rendered(
    pages: Sequence[Page],
    site: render.SiteInfo,
    templates: Sequence[Path],
    root: Path,
    problems: list[Diagnostic],
) -> Any:
    keys = {page.path: page.key for page in pages}
    for path, content in render.render_pages(pages, site, templates, problems, root):
        yield path, content, keys[path]


_WORK: tuple[Any, ...] | None = None


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _work(span: tuple[int, int]) -> tuple[list[_Written], int, list[Diagnostic]]:
    """In a worker: render a share of the pages into the staging folder."""
    assert _WORK is not None
    writer, todo, site, templates, root = _WORK
    before = set(writer.new)
    written_before = writer.written
    problems: list[Diagnostic] = []
    for path, content, key in _rendered(todo[span[0] : span[1]], site, templates, root, problems):
        writer.put(path, content, key)
    done = [
        (path, writer.new[path], writer.new_keys.get(path, ""))
        for path in writer.new
        if path not in before
    ]
    return done, writer.written - written_before, problems
