"""The SQLite build cache: what is put is there next run; it forgets; it can never fail a run."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from crmgen.cache import (
    CACHE_FILE,
    KEEP_DAYS,
    SHARED_KEEP,
    Cache,
    opened,
    shared_folder,
    signing_key,
)

DAY = 86_400.0


@pytest.fixture(autouse=True)
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A signing key of this test's own (under a fresh XDG_CACHE_HOME)."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def test_what_a_run_puts_the_next_run_gets(tmp_path: Path) -> None:
    with opened(tmp_path) as cache:
        assert cache.get("svg", "a") is None
        cache.put("svg", "a", b"<svg/>")
        cache.put("records", "a", b"other space")
        assert cache.get("svg", "a") == b"<svg/>"  # before it is written too
    assert (tmp_path / CACHE_FILE).is_file()
    with opened(tmp_path) as cache:
        assert cache.get("svg", "a") == b"<svg/>"
        assert cache.get("records", "a") == b"other space"
        assert cache.get_many("svg", ["a", "b", "a"]) == {"a": b"<svg/>"}


def test_a_cache_file_of_an_earlier_format_is_removed(tmp_path: Path) -> None:
    folder = (tmp_path / CACHE_FILE).parent
    folder.mkdir(parents=True)
    for name in ("cache-v1.sqlite", "cache-v1.sqlite-wal", "cache-v1.sqlite-shm", "notes.txt"):
        (folder / name).write_bytes(b"old")
    with opened(tmp_path) as cache:
        cache.put("records", "a", b"x")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("cache-v2")) == [
        "notes.txt"
    ]
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    assert db.execute("PRAGMA page_size").fetchone() == (16384,)
    db.close()


def test_an_entry_put_again_replaces_the_first(tmp_path: Path) -> None:
    for value in (b"first", b"second"):
        with opened(tmp_path) as cache:
            cache.put("records", "a", value)
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    assert db.execute("SELECT count(*) FROM entries").fetchone() == (1,)
    db.close()
    with opened(tmp_path) as cache:
        assert cache.get("records", "a") == b"second"


def test_get_many_reads_more_keys_than_one_statement_takes(tmp_path: Path) -> None:
    keys = [f"k{n}" for n in range(1_234)]
    with opened(tmp_path) as cache:
        for key in keys:
            cache.put("records", key, key.encode())
    with opened(tmp_path) as cache:
        found = cache.get_many("records", [*keys, "missing"])
    assert found == {key: key.encode() for key in keys}


def test_unused_entries_of_a_space_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = Cache(path, now=1_000.0)
    for key in ("old", "kept"):
        first.put("records", key, b"x")
    first.put("svg", "old", b"x")
    first.close()
    second = Cache(path, now=1_001.0)
    assert second.get("records", "kept") == b"x"
    second.forget_unused("records")
    second.close()
    third = Cache(path, now=1_002.0)
    assert third.get_many("records", ["old", "kept"]) == {"kept": b"x"}
    assert third.get("svg", "old") == b"x"  # another space is left alone
    third.close()


def test_entries_unused_for_weeks_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    start = 1_700_000_000.0
    cache = Cache(path, now=start)
    cache.put("svg", "stale", b"x")
    cache.put("svg", "fresh", b"y")
    cache.close()
    cache = Cache(path, now=start + (KEEP_DAYS - 1) * DAY)
    assert cache.get("svg", "fresh") == b"y"  # using it keeps it
    cache.close()
    cache = Cache(path, now=start + (KEEP_DAYS + 1) * DAY)
    cache.close()
    cache = Cache(path, now=start + (KEEP_DAYS + 1) * DAY)
    assert cache.get_many("svg", ["stale", "fresh"]) == {"fresh": b"y"}
    cache.close()


def test_a_used_stamp_is_written_at_most_once_a_day(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    start = 1_700_000_000.0

    def stamp() -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT used FROM entries WHERE key = 'a'").fetchone()[0])

    for now, expected in (
        (start, start),
        (start + 3_600, start),
        (start + DAY + 1, start + DAY + 1),
    ):
        cache = Cache(path, now=now)
        if now == start:
            cache.put("svg", "a", b"x")
        else:
            assert cache.get("svg", "a") == b"x"
        cache.close()
        assert stamp() == int(expected * 1000), now


def test_closing_finds_the_stamps_to_renew_without_reading_the_entries(tmp_path: Path) -> None:
    """The entries' rows hold their values (most of the file): ``close`` looks for the used
    stamps to renew and the keys to forget through indexes, never row by row."""
    path = tmp_path / "c.sqlite"
    Cache(path, now=1_000.0).close()

    def plan(query: str, *args: object) -> str:
        with sqlite3.connect(path) as db:
            return " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", args))

    stale = plan("SELECT key FROM entries WHERE space = ? AND used < ?", "s", 0)
    assert "INDEX entries_used (space=? AND used<?)" in stale, stale
    keys = plan("SELECT key FROM entries WHERE space = ?", "s")
    assert "COVERING INDEX" in keys, keys


def test_a_corrupt_cache_file_turns_the_cache_off_and_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    with opened(tmp_path) as cache:
        assert not cache.active and "cannot open" in cache.problem
        cache.put("svg", "a", b"x")  # still a store: it just forgets
        assert cache.get("svg", "a") == b"x"
    assert not path.exists()
    with opened(tmp_path) as cache:
        assert cache.active and cache.get("svg", "a") is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_folder_that_cannot_be_written_turns_the_cache_off(tmp_path: Path) -> None:
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with opened(tmp_path) as cache:
            assert not cache.active
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def test_a_cache_path_that_is_a_folder_turns_the_cache_off(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).mkdir(parents=True)  # works for root too
    with opened(tmp_path) as cache:
        assert not cache.active and cache.problem
        cache.put("svg", "a", b"x")
    assert (tmp_path / CACHE_FILE).is_dir()


def test_a_locked_cache_is_skipped_not_waited_on_forever(tmp_path: Path) -> None:
    with opened(tmp_path) as cache:
        cache.put("svg", "a", b"x")
    other = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        cache = Cache(tmp_path / CACHE_FILE)
        cache._db.execute("PRAGMA busy_timeout = 100")  # type: ignore[union-attr]
        cache.put("svg", "b", b"y")
        cache.close()  # cannot write: the run goes on, the cache says why
        assert "cannot write" in cache.problem
    finally:
        other.execute("ROLLBACK")
        other.close()
    with opened(tmp_path) as cache:
        assert cache.get_many("svg", ["a", "b"]) == {"a": b"x"}


def test_no_root_means_no_cache(tmp_path: Path) -> None:
    with opened(None) as cache:
        assert not cache.active and cache.problem == ""
        assert cache.get("svg", "a") is None


def test_an_entry_this_user_did_not_sign_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    with opened(repo) as cache:
        cache.put("records", "a", b"mine")
    db = sqlite3.connect(repo / CACHE_FILE)
    # a planted entry: a pickle that would run code, with a made-up signature
    planted = b"\0" * 32 + b"cos\nsystem\n(S'touch /tmp/pwned'\ntR."
    db.execute(
        "INSERT INTO entries (space, key, value, used) VALUES ('records', 'b', ?, 0)", (planted,)
    )
    db.commit()
    db.close()
    with opened(repo) as cache:
        assert cache.get_many("records", ["a", "b"]) == {"a": b"mine"}
    # another user (another key) reads none of it: the repo's cache file is not theirs
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    with opened(repo) as cache:
        assert cache.active and cache.get("records", "a") is None


def test_the_signing_key_is_private_and_kept(own_key: Path) -> None:
    first = signing_key()
    assert first == signing_key() and len(first) == 32
    path = own_key / "crmgen" / "cache-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_broken_key_turns_the_cache_off(tmp_path: Path, own_key: Path) -> None:
    (own_key / "crmgen").mkdir(parents=True)
    (own_key / "crmgen" / "cache-key").write_bytes(b"short")
    with opened(tmp_path) as cache:
        assert not cache.active and "cache key" in cache.problem


BUNDLE_KEY = "ab" * 32


def test_a_shared_entry_made_in_one_repo_is_found_by_another(tmp_path: Path) -> None:
    """The Vega bundle depends on no data repo: a new repo (a fresh clone) gets it from the
    user's cache folder instead of making it again, and keeps its own copy."""
    with opened(tmp_path / "one") as cache:
        cache.put("vega-bundle", BUNDLE_KEY, b"bundle")
        cache.put("svg", "a", b"<svg/>")  # not shared: it is made from a repo's data
    stored = shared_folder() / "vega-bundle" / BUNDLE_KEY
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert not (shared_folder() / "svg").exists()
    with opened(tmp_path / "two") as cache:
        assert cache.get("vega-bundle", BUNDLE_KEY) == b"bundle"
        assert cache.get("svg", "a") is None
    stored.unlink()
    with opened(tmp_path / "two") as cache:  # it kept its own copy
        assert cache.get("vega-bundle", BUNDLE_KEY) == b"bundle"
    with opened(None) as cache:  # --no-cache reads nothing, the shared folder neither
        cache.put("vega-bundle", BUNDLE_KEY, b"bundle")
    assert not stored.exists()


def test_a_shared_entry_not_signed_by_this_user_is_a_miss(tmp_path: Path) -> None:
    folder = shared_folder() / "vega-bundle"
    folder.mkdir(parents=True)
    (folder / BUNDLE_KEY).write_bytes(b"\0" * 32 + b"alert('planted')")
    with opened(tmp_path) as cache:
        assert cache.get("vega-bundle", BUNDLE_KEY) is None


def test_a_child_leaves_shared_entries_to_its_parent_and_few_are_kept(tmp_path: Path) -> None:
    keys = [f"{n:064x}" for n in range(SHARED_KEEP + 2)]
    with opened(tmp_path) as cache:
        child = cache.for_child()
        child.put("vega-bundle", keys[0], b"made in the child")
        assert not (shared_folder() / "vega-bundle").exists()
        cache.adopt(child.handed_back())
        assert (shared_folder() / "vega-bundle" / keys[0]).is_file()
        for n, key in enumerate(keys[1:], start=1):
            cache.put("vega-bundle", key, b"another version")
            os.utime(shared_folder() / "vega-bundle" / key, ns=(n * 10**9, n * 10**9))
    # the newest few are kept (one per installed vl-convert, a few environments): the first
    # (written now), and the two last of those dated back (the older ones were dropped)
    left = sorted(p.name for p in (shared_folder() / "vega-bundle").iterdir())
    assert SHARED_KEEP == 3 and left == sorted([keys[0], keys[-2], keys[-1]])


def test_a_shared_folder_that_cannot_be_written_fails_nothing(tmp_path: Path) -> None:
    shared_folder().parent.mkdir(parents=True, exist_ok=True)
    shared_folder().write_text("a file where the folder goes")
    with opened(tmp_path) as cache:
        cache.put("vega-bundle", BUNDLE_KEY, b"bundle")
        assert cache.get("vega-bundle", BUNDLE_KEY) == b"bundle" and cache.problem == ""
    with opened(tmp_path) as cache:
        assert cache.get("vega-bundle", BUNDLE_KEY) == b"bundle"
