"""Reading the records in forked workers gives what one process gives: the same records and
the same diagnostics in the same order, with and without the compiled schema check, from a
cold cache and from a warm one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen import cache, validate
from crmgen.build import records
from crmgen.config import load_config
from crmgen.schema import load_schemas


def _repo(make_repo: MakeRepo) -> Path:
    files: dict[str, str | bytes | None] = {}
    for n in range(60):
        amount = "-5" if n % 7 == 3 else str(100 * n)  # some break the schema's minimum
        extra = "\nconfidence: 9" if n % 11 == 5 else ""  # above its maximum
        extra += "\nexpected_close: 2026-02-30" if n % 13 == 4 else ""  # no such day
        extra += "\namount_typo: 3" if n % 17 == 2 else ""  # not a field
        files[f"data/opportunities/deal-{n:03}.md"] = record(
            f"title: Deal {n}\nlist: Lead\nclient: acme\namount: {amount}{extra}"
        )
    files["data/opportunities/broken.md"] = "---\ntitle: [unclosed\n---\n"
    return make_repo(files)


def _read(root: Path, store: cache.Cache) -> tuple[object, list[str]]:
    config, _ = load_config(root)
    schemas, _ = load_schemas(root, config)
    found, diags = records.read_records(root, config, schemas, store)
    return found, [f"{d.path}:{d.line}:{d.col} {d.code} {d.message}" for d in diags]


def _in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the test repo's 61 files in forked workers (two of them, 16 shares)."""
    monkeypatch.setattr(records, "workers", lambda: 2)
    monkeypatch.setattr(records, "PARALLEL_FROM", 5)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-check", "jsonschema-only"])
def test_workers_read_what_one_process_reads(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    root = _repo(make_repo)
    if not compiled:
        monkeypatch.setattr(validate, "fast_validator", lambda schema: None)
    monkeypatch.setattr(records, "workers", lambda: 1)
    one = _read(root, cache.Cache(None))
    _in_workers(monkeypatch)
    many = _read(root, cache.Cache(None))
    assert many == one
    problems = one[1]
    assert len(problems) >= 12 and any("broken.md" in p for p in problems)
    # from the cache the same again (the workers' results were stored in file order)
    with cache.opened(root) as store:
        assert _read(root, store) == one
    with cache.opened(root) as store:
        assert _read(root, store) == one


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The record files ``read_records`` reads from now on (by their names)."""
    read: list[str] = []
    real = records.read_source

    def counted(root: Path, file: Path, max_size: int) -> tuple[str | None, list[object]]:
        read.append(file.name)
        return real(root, file, max_size)

    monkeypatch.setattr(records, "read_source", counted)
    return read


def test_a_file_whose_stat_is_unchanged_is_not_read_again(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    expected = _read(root, cache.Cache(None))
    monkeypatch.setattr(records, "RACY", 0)  # the files were written a moment ago
    read = _counting_reads(monkeypatch)
    with cache.opened(root) as store:
        assert _read(root, store) == expected
    assert len(read) == 61
    read.clear()
    with cache.opened(root) as store:
        assert _read(root, store) == expected
    assert read == []  # every record from the store, by its file's stat
    edited = root / "data/opportunities/deal-004.md"
    before = edited.stat()
    edited.write_text(edited.read_text().replace("Deal 4", "Deal 9"), encoding="utf-8")
    with cache.opened(root) as store:
        found, _ = _read(root, store)
    assert read == ["deal-004.md"]  # same size: its times told
    assert found["opportunities"]["deal-004"].values["title"] == "Deal 9"  # type: ignore[index]
    # a file edited back to its old text with its old times: a change of ctime still shows
    read.clear()
    edited.write_text(edited.read_text().replace("Deal 9", "Deal 4"), encoding="utf-8")
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    with cache.opened(root) as store:
        assert _read(root, store) == expected
    assert read == ["deal-004.md"]


def test_files_changed_just_before_a_run_and_links_are_read_every_time(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    target = root / "data/opportunities/deal-001.md"
    (root / "data/opportunities/linked.md").symlink_to(target.name)
    expected = _read(root, cache.Cache(None))
    read = _counting_reads(monkeypatch)
    for _ in range(2):  # written less than RACY seconds ago: never remembered
        with cache.opened(root) as store:
            assert _read(root, store) == expected
    assert len(read) == 2 * 62
    monkeypatch.setattr(records, "RACY", 0)
    read.clear()
    for _ in range(2):
        with cache.opened(root) as store:
            assert _read(root, store) == expected
    assert read.count("linked.md") == 2 and len(read) == 62 + 1  # the link: every time
    target.write_text(target.read_text().replace("Deal 1\n", "Deal one\n"), encoding="utf-8")
    with cache.opened(root) as store:
        found, _ = _read(root, store)
    assert found["opportunities"]["linked"].values["title"] == "Deal one"  # type: ignore[index]


def test_a_remembered_file_whose_record_the_store_lost_is_read(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    expected = _read(root, cache.Cache(None))
    monkeypatch.setattr(records, "RACY", 0)
    with cache.opened(root) as store:
        _read(root, store)
    with cache.opened(root) as store:  # the records forgotten, the files' stats kept
        store.forget_unused(records.SPACE)
    read = _counting_reads(monkeypatch)
    with cache.opened(root) as store:
        assert _read(root, store) == expected
    assert len(read) == 61


def _counting_parses(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Each record parsed from now on adds a line to ``log``, in a forked worker as well."""
    real = records.parse_record

    def counted(text: str, path: str, *args: object) -> object:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{path}\n".encode())
        finally:
            os.close(fd)
        return real(text, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(records, "parse_record", counted)


@pytest.mark.parametrize("forked", [False, True], ids=["one-process", "workers"])
def test_files_with_new_stats_and_known_texts_are_read_but_not_parsed(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forked: bool
) -> None:
    """A fresh clone with its cache folder restored (as CI does): every file's stat is new,
    so every file is read and hashed (by the workers, when there are many), but a record the
    store has by its text's hash is never parsed or checked again."""
    root = _repo(make_repo)
    expected = _read(root, cache.Cache(None))
    if forked:
        _in_workers(monkeypatch)
    with cache.opened(root) as store:
        assert _read(root, store) == expected
    edited = root / "data/opportunities/deal-004.md"
    edited.write_text(edited.read_text().replace("Deal 4", "Deal four"), encoding="utf-8")
    log = tmp_path / "parsed.txt"
    _counting_parses(monkeypatch, log)
    read = _counting_reads(monkeypatch)
    with cache.opened(root) as store:  # the files were written a moment ago: no stat kept
        found, problems = _read(root, store)
    assert log.read_text().split() == ["data/opportunities/deal-004.md"]
    assert found["opportunities"]["deal-004"].values["title"] == "Deal four"  # type: ignore[index]
    assert problems == expected[1]
    assert len(read) == (0 if forked else 61)  # in the workers, read_source is their own


class _Forgetting:
    """A store that says it has every key and then finds none (another run dropped them
    between the look at its keys and the fetch)."""

    def __init__(self) -> None:
        self.put_keys: list[str] = []

    def get(self, space: str, key: str) -> bytes | None:
        return None

    def get_many(self, space: str, keys: object) -> dict[str, bytes]:
        return {}

    def put(self, space: str, key: str, value: bytes) -> None:
        self.put_keys.append(key)

    def keys(self, space: str) -> _All:
        return _All()


class _All(frozenset[str]):
    def __contains__(self, key: object) -> bool:
        return True


def test_a_record_the_store_lost_after_its_keys_were_taken_is_read_again(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    expected = _read(root, cache.Cache(None))
    _in_workers(monkeypatch)
    store = _Forgetting()
    assert _read(root, store) == expected  # type: ignore[arg-type]
    assert len(store.put_keys) == len(set(store.put_keys)) == 61
