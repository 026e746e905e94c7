"""Reading the git log: when each record was created, last changed, and every list change.

The only module that runs git: through :func:`_spawn`, with argument lists (never a shell), a
fixed environment and ``-z`` output, so any file name works. ``git rev-parse`` finds the work
tree, the data repo's folder in it and the commit at ``rev``; ``git status`` lists uncommitted
files; ONE ``git log --reverse --topo-order --full-history -c --combined-all-paths --raw -z -M``
over data/ gives every change of every file (status, old and new path and blob);
``git ls-tree`` lists the records at ``rev``; ONE ``git cat-file --batch`` reads each blob whose
list value is not known yet (the ``<key>:`` line at column 0 of the front matter, unquoted like
YAML, plain text kept as typed like the load stage keeps string fields) and the commit at
``rev``. Raw diffs rather than ``git log -p``: they name blobs, so each version of a record is
read once (reverts reuse blobs; values are cached by blob) and no patch text is produced.

A record's history is the changes of its path (deleted and added again: one history), plus,
before each rename or move into it, those of the path it came from.

Merges and parallel branches: every commit reachable from ``rev`` that touches data/ is read,
on every branch (``--full-history``). A commit is diffed against its own parent, so a transition
is what that commit did, from its parent's list to its own: a branch that edits another field
never "moves a record back" to the list it had when the branch started. A record's changes are
ordered by committer date (ties: topological order), so parallel branches interleave as they
were committed, and a merged branch read later (incrementally) is ordered as a full read orders
it. Merge commits are read with ``-c``: a file whose merged content differs from every parent
was changed by the merge (``last_changed``); if its list differs from every parent's list, the
conflict resolution moved it: a transition by the merge, from the first parent's list. Safety
net: if the list at ``rev`` differs from the last transition's ``to_list`` (e.g. a resolution
that kept the side committed earlier), a transition to it is added, dated and signed by
``rev``'s commit; it is computed on every call (never cached), so it moves with ``rev``.

Cache (``cache_dir``): one file, ``history-v1.json`` (a checksummed header line, then JSON),
written atomically, holds the changes read so far, the list value of each blob, the tree and
commit at the head. Same head: no ``git log``. The cached head an ancestor of the new one: only
``git log cached..new`` is read. Otherwise (rebase, amend, reset, a corrupt file, a shallow
clone) everything is read again.

Measured with ``python -m bench.history`` (10,000 records in year folders 2017-2026, 20,000
commits, 328 renames; 2 cores shared with other test runs, load about 3.5): from scratch 2.4 s,
peak RSS 53 MB (``git log`` is three quarters of it); from scratch writing the cache 2.6 s;
cache, same head 0.35 s (no ``git log``); cache, one new commit 0.40 s (``git log`` reads that
commit only; equal to a read from scratch). With 2,500 records per year folder (2023-2026):
4.5 s from scratch, 0.45 s after one commit. Profiling bought: no rename search for records
never renamed, list keys memoised per path (histories of 10,000 records 0.30 s -> 0.19 s).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmgen.model import Diagnostic, warning
from crmgen.model.history import Transition
from crmgen.model.store import NO_STORE, Store, digest, pack, unpack

from . import git
from .values import front_value

CACHE_FORMAT = 1
CACHE_NAME = f"history-v{CACHE_FORMAT}.json"
_MAGIC = f"crmgen-history {CACHE_FORMAT}"
_LOG = ("log", "--reverse", "--topo-order", "--full-history", "-c", "--combined-all-paths",
        "--raw", "-z", "--no-abbrev", "-M", "--root", "--no-color", "--no-relative",
        "--format=%x01%H%x00%ct%x00%aI%x00%an")  # fmt: skip
_AUTHOR = re.compile(rb"author (.*) <[^>\n]*> (\d+) ([+-])(\d\d)(\d\d)")
_FIELDS_ONLY = "dates come from fields only"


@dataclass(frozen=True, slots=True)
class FileHistory:
    """What git knows about one record file; ``path`` is relative to the data repo."""

    path: str
    created: dt.date | None
    created_by: str | None
    last_changed: dt.date | None
    transitions: tuple[Transition, ...]


@dataclass(frozen=True, slots=True)
class Checkout:
    """The git checkout: ``dirty`` lists files under data/ with uncommitted changes."""

    is_git: bool
    shallow: bool
    dirty: tuple[str, ...]
    head: str | None


@dataclass(frozen=True, slots=True)
class _Commit:
    sha: str
    time: int  # committer time: orders the changes of a record
    date: dt.date
    author: str


#: One change of a file: (commit index, sources, new blob). A source is (path, blob) in one
#: parent (blob None: that parent lacks the file); no sources: the file was added.
_Change = tuple[int, tuple[tuple[str, str | None], ...], str]


@dataclass(slots=True)
class _State:
    """Everything read so far: the one mutable value here, grown while reading, and cached."""

    prefix: str
    head: str = ""
    rev: _Commit | None = None
    commits: list[_Commit] = field(default_factory=list)
    changes: dict[str, list[_Change]] = field(default_factory=dict)
    tree: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _parse_log(out: bytes, state: _State) -> None:
    """Add the changes in ``git log`` output (``_LOG``) to ``state``."""
    tokens = out.split(b"\0")
    index, commit = 0, -1
    header: tuple[bytes, ...] = (b"",) * 4
    while index < len(tokens):
        token = tokens[index].lstrip(b"\n")
        index += 1
        if token.startswith(b"\x01"):
            header = (token[1:], *tokens[index : index + 3])
            index, commit = index + 3, -1
            continue
        if not token.startswith(b":"):
            continue
        parents = len(token) - len(token.lstrip(b":"))
        fields = token[parents:].split(b" ")
        blobs = [blob.decode() for blob in fields[parents + 1 : 2 * parents + 2]]
        status = fields[-1].decode()
        count = parents + 1 if parents > 1 else 2 if status[0] in "RC" else 1
        paths = [_rel(state.prefix, tokens[i]) for i in range(index, index + count)]
        index += count
        change = _change(parents, blobs, status, paths)
        if change is None or not _is_data_md(paths[-1]):
            continue
        if commit < 0:
            sha, when, date, name = header
            commit = len(state.commits)
            day = dt.date.fromisoformat(date[:10].decode())
            state.commits.append(
                _Commit(sha.decode(), int(when), day, name.decode(errors="replace"))
            )
        state.changes.setdefault(paths[-1], []).append((commit, *change))


def _rel(prefix: str, name: bytes) -> str:
    """A path git printed (from the work tree's top) relative to the data repo."""
    path = os.fsdecode(name)
    return path[len(prefix) :] if path.startswith(prefix) else "/" + path


def _change(
    parents: int, blobs: list[str], status: str, paths: list[str]
) -> tuple[tuple[tuple[str, str | None], ...], str] | None:
    """The sources and new blob of one raw diff entry; None for a deletion."""
    if parents > 1:  # a merge, and the file differs from every parent
        pairs = [(p, b if b.strip("0") else None) for p, b in zip(paths, blobs, strict=True)]
        return (tuple(pairs[:-1]), blobs[-1]) if pairs[-1][1] else None  # 0...0: no file
    if status[0] == "A":
        return (), blobs[1]
    return (((paths[0], blobs[0]),), blobs[1]) if status[0] in "MTRC" else None


def _is_data_md(path: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 3 and parts[0] == "data" and parts[-1].endswith(".md")


def _is_record(path: str, list_keys: Mapping[str, str]) -> bool:
    """data/<project>/**/*.md of a known project, with no hidden (dot) name on the way."""
    parts = path.split("/")
    hidden = any(part.startswith(".") for part in parts)
    return _is_data_md(path) and not hidden and parts[1] in list_keys


def _lineage(state: _State, path: str) -> list[tuple[str, _Change]]:
    """The changes of ``path`` and, before each rename into it, of the path it came from."""
    commits = state.commits
    changes = state.changes.get(path, [])
    if all(src == path for change in changes for src, _ in change[1]):  # never renamed
        ordered = sorted(changes, key=lambda change: (commits[change[0]].time, change[0]))
        return [(path, change) for change in ordered]
    found: dict[tuple[str, int], _Change] = {}
    todo: list[tuple[str, tuple[int, int] | None]] = [(path, None)]
    done: set[tuple[str, tuple[int, int] | None]] = set()
    while todo:
        item = todo.pop()
        if item in done:
            continue
        done.add(item)
        here, before = item
        for change in state.changes.get(here, ()):
            order = (commits[change[0]].time, change[0])
            if before is None or order < before:
                found[(here, change[0])] = change
                todo.extend((src, order) for src, blob in change[1] if blob and src != here)
    ranked = sorted(found, key=lambda item: (commits[item[1]].time, item[1], item[0]))
    return [(where, found[(where, index)]) for where, index in ranked]


def _history(
    state: _State, path: str, events: list[tuple[str, _Change]], value: Callable[[str, str], Any]
) -> FileHistory:
    """Dates and transitions of one record from its changes, oldest first (see above)."""
    created: _Commit | None = None
    previous: str | None = None
    moves: list[Transition] = []
    for where, (index, sources, blob) in events:
        commit = state.commits[index]
        new = value(where, blob)
        if not any(b for _, b in sources):  # added, or added again: continues its history
            created = created or commit
            before, moved = previous, new != previous
        else:
            src, old = sources[0]
            before = value(src, old) if old else previous
            moved = all(not b or new != value(src, b) for src, b in sources)
        if new is not None and moved:
            moves.append(Transition(commit.date, before, new, commit.author, commit.sha))
        previous = new
    at_rev, rev = value(path, state.tree[path]), state.rev
    last = moves[-1].to_list if moves else None
    if at_rev is not None and at_rev != last and rev is not None:
        moves.append(Transition(rev.date, last, at_rev, rev.author, rev.sha))
    first = created or state.commits[events[0][1][0]]
    changed = state.commits[events[-1][1][0]]
    return FileHistory(path, first.date, first.author, changed.date, tuple(moves))


def _histories(
    cwd: Path, state: _State, list_keys: Mapping[str, str]
) -> tuple[dict[str, FileHistory], bool]:
    """Every record's history at the head, after reading the list values not known yet; and
    whether ``state`` learnt anything (then the cache is written)."""
    keys: dict[str, str] = {}

    def key(path: str) -> str:
        if path not in keys:
            parts = path.split("/", 2)
            ok = len(parts) == 3 and parts[0] == "data"
            keys[path] = list_keys.get(parts[1], "") if ok else ""
        return keys[path]

    lineages = {}
    for path in sorted(state.tree):
        if _is_record(path, list_keys) and (events := _lineage(state, path)):
            lineages[path] = events
    known = {name: state.values.setdefault(name, {}) for name in set(list_keys.values()) if name}
    wanted: dict[str, set[str]] = {}
    for path, events in lineages.items():
        pairs = [(path, state.tree[path])]
        for where, (_, sources, blob) in events:
            pairs.append((where, blob))
            pairs.extend((src, b) for src, b in sources if b)
        for where, blob in pairs:
            if (name := key(where)) and blob not in known[name]:
                wanted.setdefault(blob, set()).add(name)
    shas = sorted(wanted) + ([state.head] if state.rev is None else [])

    def use(sha: str, kind: bytes, data: bytes) -> None:
        if kind == b"commit" and sha == state.head:
            state.rev = _commit_of(sha, data)
        for name in wanted.get(sha, ()):
            known[name][sha] = front_value(data, name)

    git.read_objects(cwd, shas, use)
    for blob, names in wanted.items():  # objects git could not read
        for name in names:
            known[name].setdefault(blob, None)

    def value(path: str, blob: str) -> str | None:
        name = key(path)
        return known[name][blob] if name else None

    histories = {path: _history(state, path, events, value) for path, events in lineages.items()}
    return histories, bool(shas)


def _commit_of(sha: str, data: bytes) -> _Commit | None:
    """The author date (in the author's offset) and name of a raw commit object."""
    for line in data.split(b"\n\n", 1)[0].split(b"\n"):
        if match := _AUTHOR.fullmatch(line):
            name, seconds, sign, hours, minutes = match.groups()
            offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
            zone = dt.timezone(-offset if sign == b"-" else offset)
            day = dt.datetime.fromtimestamp(int(seconds), zone).date()
            return _Commit(sha, int(seconds), day, name.decode(errors="replace"))
    return None


def _commit(row: Any) -> _Commit:
    sha, time, date, author = row
    return _Commit(str(sha), int(time), dt.date.fromisoformat(date), str(author))


def _row(commit: _Commit) -> list[Any]:
    return [commit.sha, commit.time, commit.date.isoformat(), commit.author]


def _load_cache(cache_dir: Path, prefix: str) -> _State | None:
    """The cached state, or None when there is none or it cannot be trusted."""
    try:
        magic, _, payload = (cache_dir / CACHE_NAME).read_bytes().partition(b"\n")
        name, _, digest = magic.decode().rpartition(" ")
        if name != _MAGIC or hashlib.sha256(payload).hexdigest() != digest:
            return None
        raw = json.loads(payload)
        if raw["prefix"] != prefix:
            return None
        rev, *commits = [_commit(row) for row in [raw["rev"], *raw["commits"]]]
        changes = {
            path: [(i, tuple((p, b) for p, b in src), blob) for i, src, blob in items]
            for path, items in raw["changes"].items()
        }
        return _State(prefix, raw["head"], rev, commits, changes, raw["tree"], raw["values"])
    except (OSError, UnicodeError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _save_cache(cache_dir: Path, state: _State, list_keys: Mapping[str, str]) -> None:
    """Write the state atomically (temp file + replace); if that fails, the next run simply
    reads everything again."""
    if state.rev is None:
        return
    values = {name: state.values[name] for name in state.values if name in list_keys.values()}
    payload = json.dumps(
        {"prefix": state.prefix, "head": state.head, "rev": _row(state.rev),
         "commits": [_row(c) for c in state.commits], "changes": state.changes,
         "tree": state.tree, "values": values},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    temp = ""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".history-", suffix=".tmp", dir=cache_dir)
        with os.fdopen(handle, "wb") as out:
            out.write(f"{_MAGIC} {hashlib.sha256(payload).hexdigest()}\n".encode() + payload)
        os.replace(temp, cache_dir / CACHE_NAME)
    except OSError:
        if temp and os.path.exists(temp):
            os.unlink(temp)


def _read(top: Path, prefix: str, head: str, cached: _State | None) -> _State | str:
    """The state at ``head``: the cached one, the cached one plus the commits since, or read
    from scratch; a message when git fails."""
    if cached is not None and cached.head == head:
        return cached
    state, spec = _State(prefix), head
    ancestor = ["merge-base", "--is-ancestor", cached.head if cached else "", head]
    if cached is not None and git.run(top, *ancestor).code == 0:
        state, spec = cached, f"{cached.head}..{head}"
    log = git.run(top, *_LOG, spec, "--", prefix + "data/")
    tree = git.run(top, "ls-tree", "-r", "-z", "--full-tree", head, "--", prefix + "data/")
    for result, what in ((log, "log"), (tree, "ls-tree")):
        if result.code != 0:
            return f"'git {what}' failed ({(result.err.splitlines() or ['no message'])[-1]})"
    _parse_log(log.out, state)
    state.head, state.rev, state.tree = head, None, {}
    for entry in tree.out.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        mode, kind, blob = [*meta.split(b" "), b"", b""][:3]
        path = _rel(prefix, name)
        if kind == b"blob" and mode in (b"100644", b"100755") and _is_data_md(path):
            state.tree[path] = blob.decode()
    return state


def _dirty(top: Path, prefix: str) -> tuple[str, ...]:
    """Files under data/ that differ from HEAD: staged, unstaged or untracked."""
    options = ("--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    status = git.run(top, "status", *options, "--ignore-submodules=all", "--", prefix + "data/")
    paths = {_rel(prefix, entry[3:]) for entry in status.out.split(b"\0") if len(entry) > 3}
    return tuple(sorted(path for path in paths if not path.startswith("/")))


def _read_at(
    top: Path,
    prefix: str,
    checkout: Checkout,
    list_keys: Mapping[str, str],
    cache_dir: Path | None,
    store: Store = NO_STORE,
    version: str = "",
) -> tuple[dict[str, FileHistory], str]:
    """The histories at ``checkout.head``, through the caches; or a message when git fails.

    The histories at a commit depend on nothing but the commits up to it, the data repo's
    place in the git repo and the list keys: ``store`` keeps them under a hash of those (and
    crmgen's ``version``), so a run at the commit of the last one reads neither the log's
    cache nor git. A shallow clone's history is kept by neither cache (a fetch deepens it
    under the same commit)."""
    assert checkout.head is not None
    use_cache = cache_dir is not None and not checkout.shallow  # a shallow history is not kept
    key = digest((version, checkout.head, prefix, sorted(list_keys.items())))
    if use_cache and version:
        blob = store.get(HISTORIES, key)
        if blob is not None:
            kept: dict[str, FileHistory] = unpack(blob)
            return kept, ""
    cached = _load_cache(cache_dir, prefix) if use_cache and cache_dir else None
    state = _read(top, prefix, checkout.head, cached)
    if isinstance(state, str):
        return {}, state
    histories, learnt = _histories(top, state, list_keys)
    if use_cache and cache_dir and (learnt or state is not cached):
        _save_cache(cache_dir, state, list_keys)
    if use_cache and version:
        store.put(HISTORIES, key, pack(histories))
    return histories, ""


#: The store's space for the histories at a commit (``_read_at``).
HISTORIES = "histories"


def read_history(
    root: Path,
    list_keys: Mapping[str, str],
    *,
    rev: str = "HEAD",
    cache_dir: Path | None = None,
    store: Store = NO_STORE,
    version: str = "",
) -> tuple[dict[str, FileHistory], Checkout, list[Diagnostic]]:
    """Histories keyed by the CURRENT repo-relative path at ``rev`` of every record file
    (data/<project>/**/*.md) that has any history.

    Never raises for any state of the repository: what git cannot tell is a note (a warning at
    path ""): ``history-not-git``, ``history-no-commits``, ``history-bad-rev`` or
    ``history-git-error`` (then there are no histories), ``history-shallow``,
    ``history-uncommitted``.

    Args:
        root: the data repo's folder: the top of a git work tree, or a folder inside one.
        list_keys: project folder under data/ -> the front-matter key of its list field (""
            when the project has no lists: dates only). Other folders are not records.
        rev: the commit to read (a branch, tag, SHA or ``HEAD~2``).
        cache_dir: where to keep the cache between calls; None: no cache.
        store: where the histories at a commit are kept as well (with ``cache_dir`` only).
        version: crmgen's version, part of their key; "" keeps none.

    Returns:
        Histories by path (sorted), the state of the checkout, and the notes (sorted).
    """
    asks = ("--show-toplevel", "--show-prefix", "--is-shallow-repository")
    probe = git.run(root, "rev-parse", *asks)
    lines = probe.out.decode(errors="replace").split("\n")
    if probe.code != 0 or len(lines) < 3 or not root.is_dir():
        if probe.missing and root.is_dir():
            why = "git is missing (not installed, or not on PATH)"
        elif "not a git repository" in probe.err or not root.is_dir():
            why = "the data repo is not inside a git checkout"
        else:
            why = f"git cannot read the data repo ({(probe.err.splitlines() or [''])[-1]})"
        note = warning("history-not-git", f"{why}: {_FIELDS_ONLY}")
        return {}, Checkout(False, False, (), None), [note]
    top, prefix = Path(lines[0]), lines[1]
    found = None
    if _plain(rev):
        found = git.run(top, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    head = found.out.decode().strip() if found and found.code == 0 else None
    checkout = Checkout(True, lines[2] == "true", _dirty(top, prefix), head or None)
    notes = _notes(checkout)
    histories: dict[str, FileHistory] = {}
    if checkout.head is None:
        if git.run(top, "rev-parse", "--verify", "-q", "HEAD").code != 0:
            code, why = "history-no-commits", "the repository has no commits yet"
        else:
            code, why = "history-bad-rev", f"'{rev}' is not a commit of the repository"
        notes.append(warning(code, f"{why}: {_FIELDS_ONLY}"))
    else:
        histories, failed = _read_at(top, prefix, checkout, list_keys, cache_dir, store, version)
        if failed:
            notes.append(warning("history-git-error", f"{failed}: {_FIELDS_ONLY}"))
    return histories, checkout, sorted(notes, key=lambda note: note.sort_key)


def _notes(checkout: Checkout) -> list[Diagnostic]:
    count, notes = len(checkout.dirty), []
    if checkout.shallow:
        notes.append(warning("history-shallow", "the repository is a shallow clone, so its "
            "history is incomplete: created dates and list changes before the clone's depth are "
            "missing or wrong; fetch the full history (in GitHub Actions: actions/checkout with "
            "'fetch-depth: 0')"))  # fmt: skip
    if count:
        files = (
            f"{count} file under data/ has" if count == 1 else f"{count} files under data/ have"
        )
        notes.append(warning("history-uncommitted", f"{files} uncommitted changes (staged, "
            "unstaged or untracked): values come from the working tree, dates from the last "
            "commit; commit them to get their dates"))  # fmt: skip
    return notes


def _plain(rev: str) -> bool:
    """A revision git may be given as an argument: not an option, no NUL."""
    return bool(rev) and not rev.startswith("-") and "\0" not in rev
