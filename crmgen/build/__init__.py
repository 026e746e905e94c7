"""The build: the pipeline (``pipeline.py``: read it top to bottom to see how crmgen works),
how records are read and kept (``records.py``) and what a run depends on (``inputs.py``).

This module only imports what ``crmgen validate`` needs when nothing changed since its last
run (the answer comes from the cache in a few milliseconds); the pipeline and its stages are
imported when first used.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmgen.model import Diagnostic

from .inputs import RUNS, build_date, code_version, fingerprint
from .result import BuildResult, run_key, unchanged

if TYPE_CHECKING:
    import datetime as dt

    from .pipeline import (
        Progress,
        checked_out,
        compare_revisions,
        load_dataset,
        load_dataset_at,
    )

__all__ = [
    "BuildResult",
    "build_date",
    "build_site",
    "checked_out",
    "compare_revisions",
    "load_dataset",
    "load_dataset_at",
    "validate_repo",
]

_PIPELINE = frozenset(
    {
        "checked_out",
        "compare_revisions",
        "load_dataset",
        "load_dataset_at",
    }
)


def __getattr__(name: str) -> Any:
    if name in _PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate_repo(
    root: Path, *, today: dt.date | None = None, cache: bool = True
) -> tuple[Diagnostic, ...]:
    """``crmgen validate``: every problem of the data repo (see ``pipeline.load_dataset``).

    When nothing it reads changed since a run that is in the cache (``inputs.fingerprint``),
    that run's diagnostics are the answer; else the records whose files did not change come
    from the cache. ``cache=False`` reads and writes no cache.
    """
    from crmgen.cache import opened
    from crmgen.model.store import pack, unpack

    day = today or build_date()
    with opened(root if cache else None) as store:
        key = fingerprint(root, code_version(), ("validate", day.isoformat()))
        found = store.get(RUNS, key)
        if found is not None:
            return tuple(unpack(found))
        from crmgen.compute.evaluate import SPACE as COMPUTED

        from .pipeline import load_dataset
        from .records import SPACE

        with fewer_collections():
            dataset = load_dataset(root, today=day, store=store)
        store.put(RUNS, key, pack(dataset.diagnostics))
        store.forget_unused(SPACE)  # old versions of edited records
        store.forget_unused(COMPUTED)  # and the values computed from them
        return dataset.diagnostics


def build_site(
    root: Path,
    out: Path,
    *,
    audience: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    as_of: str | None = None,
    cache: bool = True,
) -> BuildResult:
    """Build the site of ``root`` into ``out`` (see ``pipeline.build_site``).

    When nothing the build reads changed since the last build of ``out``, and that site is as
    it left it, nothing is done (``BuildResult.kept``); that answer needs no stage at all.
    ``cache=False`` reads and writes no cache: every file is parsed, checked and computed
    again (a page whose key is unchanged is still linked from the last site: same bytes).
    """
    if as_of is not None:
        from .pipeline import build_site as build

        with fewer_collections():
            return build(
                root, out, audience=audience, base_url=base_url, strict=strict, today=today,
                progress=progress or _quiet, as_of=as_of,
            )  # fmt: skip
    from crmgen.cache import opened

    day = today or build_date()
    with opened(root if cache else None) as store:
        key = run_key(root, out, audience, base_url, strict, day)
        found = unchanged(key, root, out, store, lambda: _reload(root, day))
        if found is not None:
            (progress or _quiet)("unchanged", 0.0)
            return found
        from .pipeline import build_and_remember

        with fewer_collections():
            return build_and_remember(
                root, out, audience, base_url, strict, day, progress or _quiet, store, key
            )


#: The cycle collector's first threshold during a run (Python's default is 700). At 10,000
#: the collector took 0.23 s of a 10,000-deal rebuild after one edit in the main process
#: (192 young and 17 middle collections); at 100,000 a rebuild after one edit is 0.1 s faster
#: and a ``validate`` after one 0.06 s, a cold build the same, the peak memory the same
#: (50,000 deals: 876 against 881 MiB).
COLLECT_AFTER = 100_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cycle collector less often while a run builds its values, and as before after.

    A run makes millions of objects that live to its end; with Python's default the collector
    starts after every 700 of them and often walks all the older ones again. After every
    ``COLLECT_AFTER`` it still frees what rendering leaves in cycles (a Jinja render leaves
    some; with the collector off a page worker grew by 50 MiB per 4,000 pages), and a
    10,000-deal rebuild after one edit was about 10% faster at 10,000 than at 700 (6.8 s to
    6.1 s); the page workers, forked inside, inherit it."""
    before = gc.get_threshold()
    gc.set_threshold(COLLECT_AFTER, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _quiet(step: str, seconds: float) -> None:
    return None


def _reload(root: Path, day: dt.date) -> Any:
    from crmgen.cache import opened

    from .pipeline import load_dataset

    with opened(root) as store:
        return load_dataset(root, today=day, store=store)
