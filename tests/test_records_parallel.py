"""Reading the records in forked workers gives what one process gives: the same records and
the same diagnostics in the same order, with and without the compiled schema check, from a
cold cache and from a warm one."""

from __future__ import annotations

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


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-check", "jsonschema-only"])
def test_workers_read_what_one_process_reads(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    root = _repo(make_repo)
    if not compiled:
        monkeypatch.setattr(validate, "fast_validator", lambda schema: None)
    monkeypatch.setattr(records, "workers", lambda: 1)
    one = _read(root, cache.Cache(None))
    monkeypatch.setattr(records, "workers", lambda: 2)
    monkeypatch.setattr(records, "PARALLEL_FROM", 5)  # 61 files: forked workers, 16 shares
    many = _read(root, cache.Cache(None))
    assert many == one
    problems = one[1]
    assert len(problems) >= 12 and any("broken.md" in p for p in problems)
    # from the cache the same again (the workers' results were stored in file order)
    with cache.opened(root) as store:
        assert _read(root, store) == one
    with cache.opened(root) as store:
        assert _read(root, store) == one
