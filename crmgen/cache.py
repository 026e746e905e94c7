"""The build cache: one SQLite file in the data repo's ``.crmgen-cache/`` (git-ignored).

Entries are bytes by (space, key). Keys are content hashes of every input of what is stored
(see ``model.store``), so the cache never has to be invalidated, only forgotten: an entry is
dropped when it was not used for ``KEEP_DAYS``, and ``forget_unused`` drops the entries of a
space the last full run did not touch (old versions of edited records).

Every entry is signed (HMAC-SHA256) with a key kept outside the data repo, in the user's cache
folder (``$XDG_CACHE_HOME/crmgen/cache-key``, else ``~/.cache/crmgen/cache-key``; created on
first use, readable by the user only). An entry that does not carry this machine's signature
is a miss: a cache file committed to a data repo, or edited by hand, can neither run code
(entries are pickles) nor put values in the site that are not in the records.

A few spaces (``SHARED``) hold what depends on no data repo at all, only on what is installed:
the Vega bundle, made from vl-convert's own copy of Vega. Those entries are also kept once per
user (``$XDG_CACHE_HOME/crmgen/shared/``, signed the same way), so a fresh clone or a new data
repo does not spend a second making the same bundle again.

The cache only ever makes a run faster. It cannot make one fail: a cache folder that cannot be
written, a corrupt or locked file, a disk that fills up — each turns the cache off for the run
(``problem`` says why) and the run goes on without it. Writes are batched into one
transaction at ``close``; SQLite's journal keeps a killed run from corrupting the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

__all__ = ["CACHE_FILE", "KEEP_DAYS", "SHARED", "Cache", "opened"]

#: The cache file, relative to the data repo. The version changes when the format does.
CACHE_FILE = ".crmgen-cache/cache-v2.sqlite"
#: Cache files of earlier formats, removed when the current one is opened.
OLD_FILES = ("cache-v1.sqlite",)
#: Entries unused for this many days are dropped.
KEEP_DAYS = 30
#: An entry's "used" stamp is renewed when it is older than this (it only decides when an
#: entry unused for ``KEEP_DAYS`` is dropped): most runs write no stamp at all.
REFRESH_MS = 86_400_000
_BATCH = 500  # keys per SELECT ... IN (...)
_MAC = 32  # bytes of signature before each value
#: What is put is written once this much is waiting.
FLUSH_BYTES = 16 * 1024 * 1024
#: Spaces whose entries depend on no data repo: kept for the whole user account as well.
SHARED = frozenset({"vega-bundle"})
#: How many entries of a shared space are kept (one per installed version, a few venvs).
SHARED_KEEP = 3


class Cache:
    """A ``model.store.Store`` in SQLite; ``Cache(None)`` remembers nothing."""

    def __init__(self, path: Path | None, *, now: float | None = None) -> None:
        self.path = path
        self.problem = ""  # why the cache is off, if it is
        # milliseconds: "used" tells two runs apart even when they are a second apart
        self._now = int((now if now is not None else time.time()) * 1000)
        self._db: sqlite3.Connection | None = None
        self._pending: dict[tuple[str, str], bytes] = {}
        self._used: dict[str, set[str]] = {}
        self._forget: set[str] = set()
        self._pending_bytes = 0
        self._inherited: set[tuple[str, str]] = set()  # put by the parent (``for_child``)
        self._child = False  # made by ``for_child``: what it puts waits for ``adopt``
        self._key = b""
        if path is not None:
            self._open(path)

    def _open(self, path: Path) -> None:
        try:
            self._key = signing_key()
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_old(path.parent)
            db = sqlite3.connect(path, timeout=5, isolation_level=None)
            # values are 1-2 kB: rows in a rowid table (not in the key's B-tree, as WITHOUT
            # ROWID keeps them) on 16 kB pages write 3x and read 4x faster, in half the space
            db.execute("PRAGMA page_size=16384")  # before the first table: new files only
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (space TEXT NOT NULL, key TEXT NOT NULL, "
                "value BLOB NOT NULL, used INTEGER NOT NULL, UNIQUE (space, key))"
            )
            # the stamps to renew are found without reading the rows, whose values fill the
            # file (scanning every used entry's row at ``close`` took 0.4 s at 10,000 deals)
            db.execute("CREATE INDEX IF NOT EXISTS entries_used ON entries (space, used)")
            db.execute("SELECT count(*) FROM entries WHERE 0").fetchone()
        except (sqlite3.Error, OSError) as exc:
            self._off(f"cannot open {path}: {exc}")
            if isinstance(exc, sqlite3.DatabaseError) and path.is_file():
                with contextlib.suppress(OSError):  # corrupt: start afresh next time
                    path.unlink()
            return
        self._db = db

    def _off(self, problem: str) -> None:
        self.problem = self.problem or problem
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    @property
    def active(self) -> bool:
        return self._db is not None

    def get(self, space: str, key: str) -> bytes | None:
        return self.get_many(space, (key,)).get(key)

    def get_many(self, space: str, keys: Iterable[str]) -> Mapping[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        self._used.setdefault(space, set()).update(wanted)
        found: dict[str, bytes] = {}
        for key in wanted:
            pending = self._pending.get((space, key))
            if pending is not None:
                found[key] = pending
        if self._db is None:
            return found
        rest = [key for key in wanted if key not in found]
        try:
            for start in range(0, len(rest), _BATCH):
                batch = rest[start : start + _BATCH]
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    f"SELECT key, value FROM entries WHERE space = ? AND key IN ({marks})",
                    (space, *batch),
                )
                for key, value in rows:
                    payload = self._verified(space, key, bytes(value))
                    if payload is not None:
                        found[key] = payload
        except sqlite3.Error as exc:
            self._off(f"cannot read {self.path}: {exc}")
        if space in SHARED:
            for key in wanted:
                if key not in found:
                    payload = self._shared_get(space, key)
                    if payload is not None:
                        found[key] = payload
                        self.put(space, key, payload)  # into this repo's cache as well
        return found

    def keys(self, space: str) -> AbstractSet[str]:
        """The keys of ``space`` in the file and those put and not yet written (not the
        user-wide copies of a ``SHARED`` space). An entry whose signature is wrong is among
        them: a ``get`` of it finds nothing."""
        found = {key for s, key in self._pending if s == space}
        if self._db is None:
            return found
        try:
            rows = self._db.execute("SELECT key FROM entries WHERE space = ?", (space,))
            found.update(key for (key,) in rows)
        except sqlite3.Error as exc:
            self._off(f"cannot read {self.path}: {exc}")
        return found

    def _shared_file(self, space: str, key: str) -> Path:
        return shared_folder() / space / key

    def _shared_get(self, space: str, key: str) -> bytes | None:
        try:
            stored = self._shared_file(space, key).read_bytes()
        except OSError:
            return None
        return self._verified(space, key, stored)

    def _shared_put(self, space: str, key: str, value: bytes) -> None:
        """Write a shared entry atomically (a killed run leaves no torn file); keep the newest
        ``SHARED_KEEP``. Never fails a run: a shared folder that cannot be written is skipped."""
        path = self._shared_file(space, key)
        if not key.isalnum() or path.is_file():  # keys are hex digests: a file name each
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = path.with_name(f".{key}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(self._sign(space, key, value))
            os.replace(temporary, path)
            kept = sorted(
                (p for p in path.parent.iterdir() if not p.name.startswith(".")),
                key=lambda p: p.stat().st_mtime_ns,
                reverse=True,
            )
            for old in kept[SHARED_KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            return

    def _sign(self, space: str, key: str, value: bytes) -> bytes:
        message = f"{space}\0{key}\0".encode() + value
        return hmac.new(self._key, message, hashlib.sha256).digest() + value

    def _verified(self, space: str, key: str, stored: bytes) -> bytes | None:
        mac, value = stored[:_MAC], stored[_MAC:]
        message = f"{space}\0{key}\0".encode() + value
        expected = hmac.new(self._key, message, hashlib.sha256).digest()
        return value if hmac.compare_digest(mac, expected) else None

    def put(self, space: str, key: str, value: bytes) -> None:
        if space in SHARED and self._db is not None and not self._child:
            self._shared_put(space, key, value)
        self._used.setdefault(space, set()).add(key)
        self._pending[(space, key)] = value
        self._pending_bytes += len(value)
        if self._pending_bytes > FLUSH_BYTES and not self._child:
            self._flush()

    def _flush(self) -> None:
        """Write what was put so far (a big build does not hold it all in memory)."""
        db = self._db
        if db is not None:
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT OR REPLACE INTO entries (space, key, value, used) VALUES (?, ?, ?, ?)",
                    (
                        (s, k, self._sign(s, k, v), self._now)
                        for (s, k), v in self._pending.items()
                    ),
                )
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._off(f"cannot write {self.path}: {exc}")
        self._pending.clear()
        self._pending_bytes = 0

    def for_child(self) -> Cache:
        """A cache for a forked process to use instead of this one: it reads through its own
        connection (a connection must never cross a fork), sees what this one has put and not
        yet written, and keeps what it puts until the parent takes it (``adopt``)."""
        child = Cache(None, now=self._now / 1000)
        child.path, child.problem, child._key = self.path, self.problem, self._key
        child._pending = dict(self._pending)
        child._child = True  # never flushed: the parent writes it all
        if self._db is not None and self.path is not None:
            _INHERITED.append(self._db)  # never closed in the child (see ``_INHERITED``)
            try:
                child._db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            except sqlite3.Error as exc:
                child._off(f"cannot open {self.path}: {exc}")
        child._inherited = set(self._pending)
        return child

    def handed_back(self) -> tuple[dict[tuple[str, str], bytes], dict[str, set[str]]]:
        """What a child cache (``for_child``) put and used, for its parent's ``adopt``."""
        puts = {k: v for k, v in self._pending.items() if k not in self._inherited}
        return puts, self._used

    def adopt(self, found: tuple[dict[tuple[str, str], bytes], dict[str, set[str]]]) -> None:
        """Take what a child cache put and used, as if this cache had done it."""
        puts, used = found
        for (space, key), value in puts.items():
            self.put(space, key, value)
        for space, keys in used.items():
            self._used.setdefault(space, set()).update(keys)

    def forget_unused(self, space: str) -> None:
        """Drop the entries of ``space`` this run did not use (at ``close``)."""
        self._forget.add(space)

    def close(self) -> None:
        """Write what was put, mark what was used, drop what is old; then close the file."""
        db, self._db = self._db, None
        if db is None:
            return
        forget = self._forget
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR REPLACE INTO entries (space, key, value, used) VALUES (?, ?, ?, ?)",
                ((s, k, self._sign(s, k, v), self._now) for (s, k), v in self._pending.items()),
            )
            for space in sorted(set(self._used) | forget):
                used = self._used.get(space, set())
                # one query each, instead of a lookup per key used; both read an index only
                old = db.execute(
                    "SELECT key FROM entries WHERE space = ? AND used < ?",
                    (space, self._now - REFRESH_MS),
                )
                stale = [key for (key,) in old if key in used]
                unused = []
                if space in forget:
                    keys = db.execute("SELECT key FROM entries WHERE space = ?", (space,))
                    unused = [key for (key,) in keys if key not in used]
                db.executemany(
                    "UPDATE entries SET used = ? WHERE space = ? AND key = ?",
                    ((self._now, space, key) for key in stale),
                )
                db.executemany(
                    "DELETE FROM entries WHERE space = ? AND key = ?",
                    ((space, key) for key in unused),
                )
            db.execute("DELETE FROM entries WHERE used < ?", (self._now - KEEP_DAYS * 86_400_000,))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.problem = self.problem or f"cannot write {self.path}: {exc}"
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        finally:
            self._pending.clear()
            with contextlib.suppress(sqlite3.Error):
                db.close()


def _remove_old(folder: Path) -> None:
    """Remove the cache files of earlier formats (and their journals) from ``folder``."""
    for name in OLD_FILES:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                (folder / f"{name}{suffix}").unlink()


#: Connections a forked child inherited: kept, never closed or used there (closing one in the
#: child could touch the parent's locks); the child ends with ``os._exit``, running no finalizer.
_INHERITED: list[sqlite3.Connection] = []


def _user_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crmgen"


def shared_folder() -> Path:
    """Where this user's entries of the ``SHARED`` spaces are kept."""
    return _user_folder() / "shared"


def signing_key() -> bytes:
    """This user's key for signing cache entries (made on first use, mode 0600).

    Raises:
        OSError: the key cannot be read or made.
    """
    path = _user_folder() / "cache-key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made by a run at the same moment
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        key = path.read_bytes()
    if len(key) < 32:
        raise OSError(f"{path} is not a crmgen cache key; delete it")
    return key


@contextlib.contextmanager
def opened(root: Path | None) -> Iterator[Cache]:
    """The cache of the data repo ``root`` (None: no cache), closed (and written) at the end."""
    cache = Cache(root / CACHE_FILE if root is not None else None)
    try:
        yield cache
    finally:
        cache.close()
