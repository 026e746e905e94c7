"""Reading the records: find, read, parse and check each file; kept by content; both cores.

What a record file turns into after parsing and the checks of its text (``validate.Checker.
values``) depends on nothing but that text, its path, its project's schema, ``crmgen.yml`` and
crmgen itself. That result is kept in the store under a hash of exactly those, so an unchanged
file is never parsed or checked again, whatever else changed. The checks that look at the disk
(the files a record names) run every time: a deleted attachment is always found.

Files whose stat changed since the last run (or that it never saw) are read, hashed, and parsed
and checked unless the store has their record, in worker processes (forked, so they share the
parent's schemas and the store's keys without copying them) when there are enough of them to
pay for it; each worker returns packed results, which the parent unpacks in file order, so the
result is the same whichever way it was made.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from crmgen.load import Source, find_records, parse_record
from crmgen.model import Config, Diagnostic, ProjectSchema, Record, evolve
from crmgen.model.store import NO_STORE, Store, digest, pack, unpack
from crmgen.validate import Checked, Checker
from crmgen.yamlstrict import read_source

from .inputs import code_version

__all__ = ["SPACE", "can_fork", "read_records", "workers"]

#: The store's space for checked records.
SPACE = "records"
#: The store's space for the hash of each record file's text by its stat (``_Known``).
FILES = "record-files"
#: A file changed less than this many seconds before a run is read again by the next one.
RACY = 2
#: Below this many files to parse, one process does it (forking costs more than it saves).
PARALLEL_FROM = 400


def workers() -> int:
    """How many processes may work at once: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_records(
    root: Path,
    config: Config,
    schemas: Mapping[str, ProjectSchema],
    store: Store = NO_STORE,
) -> tuple[dict[str, dict[str, Record]], list[Diagnostic]]:
    """Every record of every project, parsed and checked (``load`` and ``validate`` in one).

    A file whose stat is as the last run remembered it is not read: its record comes from the
    store by the text hash remembered. Every other file is read, hashed, and parsed and
    checked unless the store has its record; many of them are read in forked workers.

    Returns:
        project -> slug -> Record (slugs sorted), and the diagnostics.
    """
    sources, diags = find_records(root, config, schemas)
    contexts = {name: digest((code_version(), config, schema)) for name, schema in schemas.items()}
    keys: dict[str, str] = {}  # by the file's path (each path is one source)
    known = _Known(root, store)
    for source in sources:
        seen = known.text_hash(source.path, source.file)
        if seen is not None:
            keys[source.path] = _key(contexts[source.project], source.path, seen)
    found = dict(store.get_many(SPACE, keys.values()))
    # the files to read: their stat changed, or the store lost their records (file order)
    todo = [source for source in sources if keys.get(source.path) not in found]
    made = _fetched(store, _read_all(root, config, schemas, contexts, todo, store))
    checkers: dict[str, Checker] = {}
    out: dict[str, dict[str, Record]] = {name: {} for name in schemas}
    for source in sources:
        blob = found.pop(keys[source.path], None) if source.path in keys else None
        if blob is None:
            read = next(made)
            if read.kept:  # its entry was fetched with its share's (``_fetched``)
                blob = read.blob
                if blob is None:  # the store lost it since its key was looked up: read again
                    read = _read_range(root, config, schemas, contexts, [source], _NONE, 0, 1)[0]
            diags.extend(read.problems)
            if read.key is None:  # not readable: the problems say why
                continue
            known.hashed(source.path, read.text_hash)
            if blob is None:
                blob = read.blob
                assert blob is not None
                store.put(SPACE, read.key, blob)
        problems, checked = unpack(blob)
        diags.extend(problems)
        if checked is None:
            continue
        checker = checkers.get(source.project)
        if checker is None:
            checker = checkers[source.project] = Checker(root, config, schemas[source.project])
        record, problems = checker.files(checked)
        diags.extend(problems)
        out[source.project][source.slug] = record
    if next(made, None) is not None:  # pragma: no cover - one result per file missing
        raise AssertionError("more results than files to read")
    known.remember()
    return {name: dict(sorted(by_slug.items())) for name, by_slug in out.items()}, diags


def _key(context: str, path: str, text_hash: str) -> str:
    """The store's key of a record: its project's context, its path and its text's hash."""
    return _text_hash(f"{context}\0{path}\0{text_hash}")


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _Known:
    """What each record file's text hashed to in the last run, by the file's stat (size,
    modification and change times, inode): a file whose stat is unchanged is not read again,
    as git's index does. A file changed in the ``RACY`` seconds before a run is not
    remembered by it (a second edit within the file system's time step could leave the stat
    as it was), and neither is a symbolic link (what it points to may change). ``--no-cache``
    reads every file."""

    def __init__(self, root: Path, store: Store) -> None:
        self.store = store
        self.key = digest(str(root.resolve()))
        blob = store.get(FILES, self.key)
        self.before: dict[str, tuple[str, str]] = unpack(blob) if blob is not None else {}
        self.now: dict[str, tuple[str, str]] = {}
        self.stats: dict[str, str] = {}
        self.limit = time.time_ns() - RACY * 1_000_000_000

    def text_hash(self, path: str, file: Path) -> str | None:
        """The hash of the file's text if its stat is as the last run remembered it."""
        try:
            info = os.lstat(file)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or max(info.st_mtime_ns, info.st_ctime_ns) > self.limit:
            return None
        signature = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
        self.stats[path] = signature  # taken before the file is read: a change since is seen
        found = self.before.get(path)
        if found is None or found[0] != signature:
            return None
        self.now[path] = found
        return found[1]

    def hashed(self, path: str, text_hash: str) -> None:
        """Remember the hash of a text read now by the stat taken before reading it."""
        signature = self.stats.get(path)
        if signature is not None:
            self.now[path] = (signature, text_hash)

    def remember(self) -> None:
        if self.now != self.before:
            self.store.put(FILES, self.key, pack(self.now))


class _Read(NamedTuple):
    """A file read: its problems, its record's key in the store and its text's hash (None and
    "" when it could not be read), and the packed (diagnostics, Checked | None) when it was
    checked (``kept`` False) or the store's entry, if fetched already (``kept`` True)."""

    problems: list[Diagnostic]
    key: str | None
    text_hash: str
    blob: bytes | None
    kept: bool


class _Kept(Protocol):
    def find(self, key: str) -> tuple[bool, bytes | None]:
        """Whether the store has ``key``, and its entry if this fetched it."""
        ...


class _InStore:
    """Asks the store for each key (one process: the entry is fetched once, here)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, key: str) -> tuple[bool, bytes | None]:
        blob = self.store.get(SPACE, key)
        return blob is not None, blob


class _InKeys:
    """Looks each key up in the store's keys, taken before forking (a worker has no store)."""

    def __init__(self, keys: AbstractSet[str]) -> None:
        self.keys = keys

    def find(self, key: str) -> tuple[bool, bytes | None]:
        return key in self.keys, None


class _Nothing:
    def find(self, key: str) -> tuple[bool, bytes | None]:
        return False, None


_NONE = _Nothing()


def _fetched(store: Store, shares: Iterator[list[_Read]]) -> Iterator[_Read]:
    """Each read of each share, in order, with the store's entry of each the store has (one
    query a share: a fresh clone with its cache restored asks for every record)."""
    for share in shares:
        wanted = [r.key for r in share if r.kept and r.blob is None and r.key is not None]
        found = store.get_many(SPACE, wanted) if wanted else {}
        for read in share:
            if read.kept and read.blob is None and read.key is not None and read.key in found:
                read = read._replace(blob=found[read.key])
            yield read


def _read_all(
    root: Path,
    config: Config,
    schemas: Mapping[str, ProjectSchema],
    contexts: Mapping[str, str],
    sources: Sequence[Source],
    store: Store,
) -> Iterator[list[_Read]]:
    """Read, hash and (unless the store has its record) parse and check each source, in the
    order of ``sources``, share by share as each is done: in forked workers when there are
    enough (reading is a tenth of the work, so the workers read as well)."""
    global _WORK
    count = workers()
    if len(sources) < PARALLEL_FROM or count < 2 or not can_fork():
        kept = _InStore(store)
        yield _read_range(root, config, schemas, contexts, sources, kept, 0, len(sources))
        return
    _WORK = (root, config, schemas, contexts, sources, _InKeys(store.keys(SPACE)))
    pool = None
    try:
        size = -(-len(sources) // (count * 8))
        ranges = [
            (start, min(len(sources), start + size)) for start in range(0, len(sources), size)
        ]
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=count, mp_context=context)
        parts = pool.map(_read_work, ranges)  # every share submitted: the workers forked
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        _WORK = None
    try:
        yield from parts
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_WORK: tuple[Any, ...] | None = None


def can_fork() -> bool:
    """Whether this platform can fork workers (they share the parent's values, uncopied)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _read_work(span: tuple[int, int]) -> list[_Read]:
    assert _WORK is not None
    root, config, schemas, contexts, sources, kept = _WORK
    return _read_range(root, config, schemas, contexts, sources, kept, *span)


def _read_range(
    root: Path,
    config: Config,
    schemas: Mapping[str, ProjectSchema],
    contexts: Mapping[str, str],
    sources: Sequence[Source],
    kept: _Kept,
    start: int,
    end: int,
) -> list[_Read]:
    checkers: dict[str, Checker] = {}
    out = []
    for source in sources[start:end]:
        text, problems = read_source(root, source.file, config.max_file_size)
        if text is None:
            out.append(_Read(problems, None, "", None, False))
            continue
        text_hash = _text_hash(text)
        key = _key(contexts[source.project], source.path, text_hash)
        found, blob = kept.find(key)
        if found:
            out.append(_Read(problems, key, text_hash, blob, True))
            continue
        schema = schemas[source.project]
        record, parsed = parse_record(text, source.path, source.project, source.slug, schema)
        checked: Checked | None = None
        if record is not None:
            record = evolve(record, source=key)
            checker = checkers.get(source.project)
            if checker is None:
                checker = checkers[source.project] = Checker(root, config, schema)
            checked = checker.values(record)
        out.append(_Read(problems, key, text_hash, pack((parsed, checked)), False))
    return out
