"""Computing on both cores: the records are cut into closed shares (``evaluate.shares``), and
any cut, evaluated here or in forked children (``build.forked.run_forked``), gives the same
values and problems as one share."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from crmgen.build import load_dataset
from crmgen.build.forked import run_forked
from crmgen.compute import evaluate
from crmgen.model import Dataset, Project, Record, frozen_map
from crmgen.report import ordered

EXAMPLE = Path(__file__).parent.parent
DAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> list[Dataset]:
    """The example (every field type) and a generated repo of 600 deals (many clients)."""
    generated = tmp_path_factory.mktemp("generated") / "repo"
    generate(generated, 600, seed=3)
    return [_uncomputed(load_dataset(root, today=DAY)) for root in (EXAMPLE, generated)]


def _uncomputed(dataset: Dataset) -> Dataset:
    """The dataset as ``compute`` receives it: no computed values yet."""
    projects = {
        name: Project(
            project.schema,
            frozen_map(
                {
                    s: dataclasses.replace(r, computed=frozen_map({}))
                    for s, r in project.records.items()
                }
            ),
        )
        for name, project in dataset.projects.items()
    }
    return dataclasses.replace(dataset, projects=frozen_map(projects), diagnostics=())


def _parts(dataset: Dataset) -> tuple[dict[str, Any], dict[str, Mapping[str, Record]]]:
    return (
        {name: project.schema for name, project in dataset.projects.items()},
        {name: project.records for name, project in dataset.projects.items()},
    )


def _references(dataset: Dataset, record: Record) -> list[tuple[str, str]]:
    schema = dataset.projects[record.project].schema
    out = []
    for spec in schema.fields:
        if spec.type == "reference" and spec.target:
            value = record.values.get(spec.name)
            for slug in value if isinstance(value, tuple) else (value,):
                if isinstance(slug, str) and dataset.record(spec.target, slug) is not None:
                    out.append((spec.target, slug))
    return out


@pytest.mark.parametrize("ways", [1, 2, 3, 7])
def test_shares_cover_every_record_once_and_references_never_cross(
    datasets: list[Dataset], ways: int
) -> None:
    for dataset in datasets:
        schemas, records = _parts(dataset)
        cut = evaluate.shares(schemas, records, ways)
        assert 1 <= len(cut) <= ways
        where = {key: n for n, share in enumerate(cut) for key in share}
        every = [(p, s) for p, by_slug in records.items() for s in by_slug]
        assert sum(len(share) for share in cut) == len(every) and set(where) == set(every)
        crossing = [
            (key, other)
            for key in every
            for other in _references(dataset, records[key[0]][key[1]])
            if where[other] != where[key]
        ]
        assert crossing == []
        for share in cut:  # in the order one share has them
            assert list(share) == sorted(share, key=every.index)
    generated = datasets[1]
    cut = evaluate.shares(*_parts(generated), 2)
    sizes = sorted(len(share) for share in cut)
    assert len(cut) == 2 and sizes[1] - sizes[0] < 60  # about even: many small groups


@pytest.mark.parametrize("ways", [2, 3, 5])
def test_any_cut_computes_what_one_share_does(
    datasets: list[Dataset], ways: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate, "SHARE_FROM", 0)  # the example is smaller than that
    for dataset in datasets:
        whole, problems = evaluate.compute(dataset)
        for run in (evaluate.run_here, run_forked):
            cut, found = evaluate.compute(dataset, run, ways)
            assert cut == whole
            assert ordered(found) == ordered(problems)
        assert any(r.computed for p in whole.projects.values() for r in p.records.values())


def test_a_share_that_is_not_closed_fails_loudly(datasets: list[Dataset]) -> None:
    """A share that left out a record its records read through a reference cannot give a
    silently empty value: reading the other record's computed field is an error."""
    dataset = datasets[0]
    schemas, records = _parts(dataset)
    # a project's client is its deal's client_name, itself a lookup (a computed field)
    project = next(r for r in records["projects"].values() if r.values.get("opportunity"))
    compiled, _ = evaluate.plan(schemas)
    kinds, broken, _ = evaluate.check_plan(schemas, compiled)
    with pytest.raises(KeyError):
        evaluate._evaluate_share(
            schemas, records, DAY, compiled, kinds, broken, (("projects", project.slug),)
        )


def test_run_forked_answers_in_order_from_children() -> None:
    found = run_forked(lambda n: (n, os.getpid()), [1, 2, 3])
    assert [n for n, _ in found] == [1, 2, 3]
    assert found[0][1] == os.getpid() and len({pid for _, pid in found}) == 3


def test_an_error_in_a_child_is_raised_here_with_its_reason() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise ValueError("no value for two")
        return n

    with pytest.raises(RuntimeError, match="ValueError: no value for two"):
        run_forked(work, [1, 2])


def test_the_share_of_a_child_that_died_is_done_here() -> None:
    parent = os.getpid()

    def work(n: int) -> int:
        if n == 2 and os.getpid() != parent:
            os._exit(9)  # killed: no answer
        return n * 10

    assert run_forked(work, [1, 2, 3]) == [10, 20, 30]
