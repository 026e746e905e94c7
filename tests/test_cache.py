"""The SQLite build cache: what is put is there next run; it forgets; it can never fail a run."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from crmgen.cache import CACHE_FILE, KEEP_DAYS, Cache, opened, signing_key

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
