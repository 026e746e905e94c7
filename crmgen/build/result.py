"""What a build did, and the answer to "did anything change since the last build?".

Light on purpose (no stage is imported): when nothing changed, ``crmgen build`` answers from
here and the cache without loading the pipeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crmgen import write
from crmgen.model import Dataset, Diagnostic
from crmgen.model.store import Store, pack, unpack

from .inputs import CACHE_FOLDER, RUNS, code_version, fingerprint

__all__ = ["BuildResult", "manifest_path", "remembered", "run_key", "unchanged"]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did: every diagnostic, the files of the site (0 when nothing was written)
    and the dataset.

    ``kept``: nothing the build reads changed since the last build of this site, and the site
    is as that build left it, so nothing was done; ``dataset`` is then loaded (from the cache)
    when it is first asked for.
    """

    loaded: Dataset | None
    diagnostics: tuple[Diagnostic, ...]
    written: int
    kept: bool = False
    reload: Callable[[], Dataset] | None = field(default=None, compare=False, repr=False)

    @property
    def dataset(self) -> Dataset:
        if self.loaded is None:
            assert self.reload is not None
            object.__setattr__(self, "loaded", self.reload())  # loaded once
        assert self.loaded is not None
        return self.loaded

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """Errors and warnings: the diagnostics that are not mere notes."""
        return tuple(d for d in self.diagnostics if d.severity != "info")


def manifest_path(root: Path, out: Path) -> Path:
    """Where the writer remembers the site it wrote into ``out`` (in the cache folder)."""
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return root / CACHE_FOLDER / "sites" / f"{key}.json"


def run_key(
    root: Path, out: Path, audience: str | None, base_url: str | None, strict: bool, day: dt.date
) -> str:
    """The key of a build of the working tree of ``root`` into ``out`` with these options."""
    options = ("build", audience or "", base_url or "", str(strict), str(out.resolve()))
    return fingerprint(root, code_version(), (*options, day.isoformat()))


def unchanged(
    key: str, root: Path, out: Path, store: Store, reload: Callable[[], Dataset]
) -> BuildResult | None:
    """The result of the last build under ``key`` (see ``run_key``), when it is in the store
    and the site in ``out`` is as it left it; else None."""
    found = store.get(RUNS, key)
    if found is None:
        return None
    diagnostics, count, token = unpack(found)
    manifest = manifest_path(root, out)
    # the site must be the one that build left (not one built since from other input)
    if token != write.site_token(manifest) or not write.intact(out, manifest):
        return None
    return BuildResult(None, tuple(diagnostics), count, kept=True, reload=reload)


def remembered(result: BuildResult, root: Path, out: Path) -> bytes:
    """What ``unchanged`` needs of a build just done: its diagnostics, its file count and
    the site it left."""
    token = write.site_token(manifest_path(root, out))
    return pack((result.diagnostics, result.written, token))
