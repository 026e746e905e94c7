"""Computing on both cores and from the cache: the records fall into closed groups
(``evaluate.groups``) dealt into shares (``evaluate.deal``); any cut, evaluated here or in
forked children (``build.forked.run_forked``), gives the same values and problems as one
share; each group's values and problems are kept under a key of all it reads, and read
back."""

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
        cut = evaluate.deal(evaluate.groups(schemas, records), ways, records)
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
    schemas, records = _parts(generated)
    cut = evaluate.deal(evaluate.groups(schemas, records), 2, records)
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


def _groups_and_keys(dataset: Dataset) -> tuple[list[Any], list[str]]:
    schemas, records = _parts(dataset)
    found = evaluate.groups(schemas, records)
    return found, evaluate._group_keys(dataset, schemas, records, found)


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.mark.usefixtures("own_key")
def test_computed_values_are_kept_by_group_and_read_back(
    datasets: list[Dataset], tmp_path: Path
) -> None:
    from crmgen.cache import Cache
    from crmgen.model.store import pack

    path = tmp_path / "c.sqlite"
    for dataset in datasets:
        whole, problems = evaluate.compute(dataset)
        for _ in range(2):  # made and kept, then read back
            store = Cache(path)
            kept, found = evaluate.compute(dataset, store=store)
            store.close()
            assert kept == whole and ordered(found) == ordered(problems)
    # what is read back is the entry under the group's key: a planted entry shows
    dataset = datasets[1]
    found_groups, keys = _groups_and_keys(dataset)
    group, key = next((g, k) for g, k in zip(found_groups, keys, strict=True) if len(g) > 1)
    planted = [{"planted": n} for n in range(len(group))]
    store = Cache(path)
    store.put(evaluate.SPACE, key, pack((planted, [])))
    kept, _ = evaluate.compute(dataset, store=store)
    store.close()
    project, slug = group[1]
    assert dict(kept.projects[project].records[slug].computed) == {"planted": 1}


def test_problems_are_kept_with_their_group(make_repo: Any, tmp_path: Path, own_key: None) -> None:
    from conftest import record

    from crmgen.cache import Cache

    schema = (Path(__file__).parent.parent / "schema" / "opportunities.schema.yaml").read_text()
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": schema.replace(
                "properties:\n",
                "properties:\n  ratio: {x-crmgen: {type: formula, "
                'formula: "1 / (len(title) - 2)"}}\n',
                1,
            ),
            "data/opportunities/ab.md": record("title: AB\nlist: Lead\nclient: acme"),
            "data/clients/acme.md": record("title: Acme"),
        }
    )
    dataset = _uncomputed(load_dataset(root, today=DAY))
    whole, problems = evaluate.compute(dataset)
    ratio = [d for d in problems if d.field == "ratio"]
    assert len(ratio) == 1 and "division by zero" in ratio[0].message
    for _ in range(2):
        store = Cache(tmp_path / "c.sqlite")
        kept, found = evaluate.compute(dataset, store=store)
        store.close()
        assert kept == whole and ordered(found) == ordered(problems)


def test_what_a_group_key_depends_on(datasets: list[Dataset]) -> None:
    dataset = datasets[1]
    found_groups, keys = _groups_and_keys(dataset)
    assert all(keys) and len(set(keys)) == len(keys)
    # one record's file changed: its group's key only
    group = next(g for g in found_groups if len(g) > 1)
    project, slug = group[0]
    edited = dataset.projects[project].records[slug]
    changed = _with_record(dataset, dataclasses.replace(edited, source="another text"))
    _, again = _groups_and_keys(changed)
    assert [n for n, (a, b) in enumerate(zip(keys, again, strict=True)) if a != b] == [
        found_groups.index(group)
    ]
    # the day, the commit the history was read at, a schema: every group
    for other in (
        dataclasses.replace(dataset, today=DAY + dt.timedelta(days=1)),
        dataclasses.replace(dataset, head="0" * 40),
        _with_schema(dataset),
    ):
        _, moved = _groups_and_keys(other)
        assert not set(moved) & set(keys)
    # a record read from nowhere (made in memory): its group is never kept
    unknown = _with_record(dataset, dataclasses.replace(edited, source=""))
    _, blank = _groups_and_keys(unknown)
    assert blank[found_groups.index(group)] == "" and sum(not k for k in blank) == 1


def _with_record(dataset: Dataset, record: Record) -> Dataset:
    project = dataset.projects[record.project]
    records = {**project.records, record.slug: record}
    projects = {**dataset.projects, record.project: Project(project.schema, frozen_map(records))}
    return dataclasses.replace(dataset, projects=frozen_map(projects))


def _with_schema(dataset: Dataset) -> Dataset:
    name, project = next(iter(dataset.projects.items()))
    schema = dataclasses.replace(project.schema, title=(project.schema.title or "") + " (new)")
    projects = {**dataset.projects, name: Project(schema, project.records)}
    return dataclasses.replace(dataset, projects=frozen_map(projects))
