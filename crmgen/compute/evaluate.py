"""Stage: compute lookups, formulas and rollups for every record, in dependency order.

Returns a new dataset: records with ``computed`` filled, schemas whose computed fields know
their result type (so the site can format a lookup like the field it reads), and ``reads``,
what every computed field reads. A formula that divides by zero is a diagnostic for that
record, never a crash; one whose operand types cannot work is one error at its schema line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from crmgen.compute import expr
from crmgen.compute.order import Plan, plan
from crmgen.compute.paths import PathError, resolve, target_field, walk
from crmgen.compute.types import RESULT_OF_KIND, Kind, check_plan
from crmgen.fields import NUMERIC
from crmgen.fields.rules import fit_number
from crmgen.model import (
    Dataset,
    Diagnostic,
    FieldSpec,
    Node,
    Pos,
    Project,
    ProjectSchema,
    Record,
    error,
    evolve,
    frozen_map,
)
from crmgen.model.store import NO_STORE, Store, digest, pack, unpack

_MISSING = object()


class _State:
    """Computed values gathered during the stage (local, discarded after)."""

    def __init__(
        self,
        schemas: Mapping[str, ProjectSchema],
        records: Mapping[str, Mapping[str, Record]],
        today: dt.date,
        share: Share,
    ) -> None:
        self.schemas = schemas
        self.records = records
        self.today = today
        self.computed: dict[tuple[str, str], dict[str, Any]] = {
            (p, s): dict(records[p][s].computed) for p, s in share
        }

    def get(self, project: str, slug: str) -> Record | None:
        return self.records.get(project, {}).get(slug)

    def value_of(self, record: Record, name: str) -> Any:
        value = record.values.get(name, _MISSING)
        if value is not _MISSING:
            return value
        return self.computed[(record.project, record.slug)].get(name)

    def resolver(self, record: Record) -> Any:
        def resolve_name(name: str) -> Any:
            try:
                value = resolve(self.schemas, record, name, self.get, self.value_of)
            except PathError as exc:  # pragma: no cover - names were checked by the plan
                raise KeyError(name) from exc
            return value  # expr converts ints, addresses and lists to its own types

        return resolve_name


def _check_result(value: Any, result: str | None) -> str | None:
    """Why ``value`` does not fit the declared result type, or None."""
    if value is None or result is None:
        return None
    if result in NUMERIC and (isinstance(value, bool) or not isinstance(value, Decimal | int)):
        return f"the result must be a number but is {_kind(value)}"
    if result == "date" and not isinstance(value, dt.date):
        return f"the result must be a date but is {_kind(value)}"
    if result == "checkbox" and not isinstance(value, bool):
        return f"the result must be true or false but is {_kind(value)}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Decimal | int):
        return "a number"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, tuple):
        return "a list"
    return "text"


def _result_type(
    schemas: Mapping[str, ProjectSchema],
    project: str,
    spec: FieldSpec,
    compiled: Plan,
    kinds: Mapping[Node, Kind],
) -> str | None:
    """The type of a computed field's value, declared or inferred."""
    if spec.result:
        return spec.result
    if spec.type == "formula":
        return RESULT_OF_KIND.get(kinds.get((project, spec.name), "any"))
    try:
        if spec.type == "lookup" and spec.path:
            target = target_field(schemas, project, spec.path)
            if target is None:
                return "text"
            if target.computed:
                return _result_type(
                    schemas,
                    target_field_project(schemas, project, spec.path),
                    target,
                    compiled,
                    kinds,
                )
            return target.type
        if spec.type == "rollup":
            rollup = compiled.rollups.get((project, spec.name))
            if rollup is None or rollup.aggregate == "count":
                return "number"
            if rollup.aggregate == "concat":
                return "text"
            if rollup.field:
                proj = compiled.rollup_targets[(project, spec.name)]
                inner = target_field(schemas, proj, rollup.field)
                if inner is not None:
                    return inner.result if inner.computed else inner.type
    except PathError:
        return None
    return "number" if spec.type == "formula" else None


def target_field_project(schemas: Mapping[str, ProjectSchema], project: str, path: str) -> str:
    return walk(schemas, project, path)[-1][0]


def _result_target(
    schemas: Mapping[str, ProjectSchema], project: str, spec: FieldSpec
) -> str | None:
    """For a lookup that ends on a reference (or referenced-by), the project it points to."""
    if spec.type != "lookup" or not spec.path:
        return None
    try:
        target = target_field(schemas, project, spec.path)
    except PathError:
        return None
    if target is None:
        return None
    if target.type in ("reference", "referenced-by"):
        return target.target
    if target.type == "lookup":
        return _result_target(schemas, target_field_project(schemas, project, spec.path), target)
    return None


def _first_pos(record: Record, names: frozenset[str]) -> Pos:
    lines = [
        record.positions[n.split(".")[0]] for n in names if n.split(".")[0] in record.positions
    ]
    return min(lines, key=lambda p: (p.line, p.col)) if lines else Pos(1, 1)


def _evaluate(state: _State, compiled: Plan, node: Node, spec: FieldSpec, record: Record) -> Any:
    if spec.type == "lookup":
        return resolve(state.schemas, record, spec.path or "", state.get, state.value_of)
    if spec.type == "formula":
        formula = compiled.formulas[node]
        return expr.evaluate(formula, state.resolver(record), state.today, record.history)
    rollup = compiled.rollups[node]
    target = compiled.rollup_targets[node]
    if state.schemas[record.project].field(rollup.link) is not None:
        linked = resolve(state.schemas, record, rollup.link, state.get, state.value_of)
        slugs = linked if isinstance(linked, tuple) else (linked,) if linked else ()
        members = [state.get(target, s.split("/")[-1]) for s in slugs if isinstance(s, str)]
    else:
        members = [state.get(target, s) for s in record.linked_from(target)]
    values: list[Any] = []
    for member in members:
        if member is None:
            continue
        if rollup.where is not None:
            keep = expr.evaluate(rollup.where, state.resolver(member), state.today)
            if keep is not True:
                continue
        if rollup.field is None:
            values.append(True)
        else:
            values.append(state.resolver(member)(rollup.field))
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, tuple) else (value,))
    return expr.aggregate(rollup.aggregate, flat)


#: Runs a function over the shares of the records, in order (``compute``'s ``run``): the
#: build passes one that works on both cores; the default runs them here, one after another.
Run = Callable[[Callable[["Share"], "Evaluated"], Sequence["Share"]], list["Evaluated"]]
#: Records (project, slug) whose computed fields read only each other.
Share = tuple[tuple[str, str], ...]
#: What evaluating a share gives: each record's computed values, and the problems found.
Evaluated = tuple[dict[tuple[str, str], dict[str, Any]], list[Diagnostic]]
#: Below this many records the values are computed in one share.
SHARE_FROM = 1_000
#: The store's space for the computed values and problems of a group of records.
SPACE = "computed"


def run_here(fn: Callable[[Share], Evaluated], shares: Sequence[Share]) -> list[Evaluated]:
    return [fn(share) for share in shares]


def compute(
    dataset: Dataset, run: Run = run_here, ways: int = 1, store: Store = NO_STORE
) -> tuple[Dataset, list[Diagnostic]]:
    """Evaluate every computed field of every record.

    The records fall into groups that never read each other (``groups``). A group's values
    and problems are kept in ``store`` under a hash of all it reads (``_group_keys``); the
    groups not there are dealt into ``ways`` shares, each evaluated by ``run`` (the build's
    runs them on both cores). The result is the same for any cut, and with or without the
    store.

    Returns:
        The dataset with computed values, result types and ``reads`` filled in, and the
        diagnostics (schema errors, cycles, per-record failures).
    """
    schemas = {name: project.schema for name, project in dataset.projects.items()}
    records = {name: project.records for name, project in dataset.projects.items()}
    compiled, diags = plan(schemas)
    kinds, broken, problems = check_plan(schemas, compiled)
    diags += problems
    found = groups(schemas, records)
    keys = _group_keys(dataset, schemas, records, found)
    computed, todo, kept_problems = _kept(store, found, keys)
    diags += kept_problems

    def evaluate(share: Share) -> Evaluated:
        return _evaluate_share(schemas, records, dataset.today, compiled, kinds, broken, share)

    count = sum(len(group) for group, _ in todo)
    cut = deal([group for group, _ in todo], ways if count >= SHARE_FROM else 1, records)
    made: dict[tuple[str, str], dict[str, Any]] = {}
    problems_at: dict[str, list[Diagnostic]] = {}
    for values, found_problems in run(evaluate, cut):
        made.update(values)
        for problem in found_problems:
            problems_at.setdefault(problem.path, []).append(problem)
    for group, key in todo:  # each group's problems, and both kept under its key
        mine = [d for p, s in group for d in problems_at.pop(records[p][s].path, ())]
        diags += mine
        if key:
            store.put(SPACE, key, pack(([made[member] for member in group], mine)))
    diags += [d for rest in problems_at.values() for d in rest]  # none: each is at a record
    computed.update(made)
    inputs = {member: key for group, key in zip(found, keys, strict=True) for member in group}
    return _with_computed(dataset, schemas, compiled, kinds, computed, inputs), diags


def _kept(
    store: Store, found: Sequence[Share], keys: Sequence[str]
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[tuple[Share, str]], list[Diagnostic]]:
    """The computed values and problems of the groups ``store`` has, and the groups still to
    evaluate, each with its key."""
    kept = store.get_many(SPACE, [key for key in keys if key])
    computed: dict[tuple[str, str], dict[str, Any]] = {}
    todo: list[tuple[Share, str]] = []
    diags: list[Diagnostic] = []
    for group, key in zip(found, keys, strict=True):
        blob = kept.get(key) if key else None
        if blob is None:
            todo.append((group, key))
            continue
        values, problems = unpack(blob)
        computed.update(zip(group, values, strict=True))
        diags += problems
    return computed, todo, diags


def _with_computed(
    dataset: Dataset,
    schemas: Mapping[str, ProjectSchema],
    compiled: Plan,
    kinds: Mapping[Node, Kind],
    computed: Mapping[tuple[str, str], Mapping[str, Any]],
    inputs: Mapping[tuple[str, str], str],
) -> Dataset:
    """The dataset with each record's computed values and inputs, the computed fields'
    result types, and what each computed field reads."""
    projects = {}
    for p, proj in dataset.projects.items():
        fields = tuple(
            dataclasses.replace(
                f,
                result=_result_type(schemas, p, f, compiled, kinds),
                result_target=_result_target(schemas, p, f),
            )
            if f.type in ("lookup", "rollup", "formula")
            else f
            for f in proj.schema.fields
        )
        by_slug = {
            s: evolve(r, computed=frozen_map(computed[(p, s)]), inputs=inputs.get((p, s), ""))
            for s, r in proj.records.items()
        }
        schema = dataclasses.replace(proj.schema, fields=fields)
        projects[p] = Project(schema, frozen_map(by_slug))
    return dataclasses.replace(
        dataset, projects=frozen_map(projects), reads=frozen_map(compiled.reads)
    )


def _evaluate_share(
    schemas: Mapping[str, ProjectSchema],
    records: Mapping[str, Mapping[str, Record]],
    today: dt.date,
    compiled: Plan,
    kinds: Mapping[Node, Kind],
    broken: AbstractSet[Node],
    share: Share,
) -> Evaluated:
    """The computed values of the records of ``share``, field by field in dependency order.

    Only the share's records have a place for computed values: a read of another record's
    computed field (a share that is not closed, see ``shares``) is a KeyError, never a
    silently missing value."""
    state = _State(schemas, records, today, share)
    diags: list[Diagnostic] = []
    members: dict[str, list[str]] = {}
    for project, slug in share:
        members.setdefault(project, []).append(slug)
    for node in compiled.order:
        project, name = node
        slugs = members.get(project, ())
        if node in broken:  # reported once at the schema; never evaluated per record
            for slug in slugs:
                state.computed[(project, slug)][name] = None
            continue
        spec = schemas[project].field(name)
        assert spec is not None
        result = _result_type(schemas, project, spec, compiled, kinds)
        inputs = (
            frozenset(expr.names(compiled.formulas[node]))
            if node in compiled.formulas
            else frozenset()
        )
        by_slug = records[project]
        for slug in slugs:
            record = by_slug[slug]
            try:
                value = _evaluate(state, compiled, node, spec, record)
                problem = _check_result(value, result) if spec.type != "lookup" else None
                if problem is None and isinstance(value, Decimal):
                    fitted = fit_number(value)
                    value, problem = (None, fitted) if isinstance(fitted, str) else (fitted, None)
            except expr.ExprError as exc:
                value, problem = None, str(exc)
            if problem:
                diags.append(
                    error(
                        f"{spec.type}-error",
                        f"{name}: {problem} (in {spec.type} '{spec.expression}')",
                        record.path,
                        _first_pos(record, inputs),
                        name,
                    )
                )
                value = None
            state.computed[(project, slug)][name] = value
    return state.computed, diags


def groups(
    schemas: Mapping[str, ProjectSchema], records: Mapping[str, Mapping[str, Record]]
) -> list[Share]:
    """The records in groups that never read each other: a computed field reads only its own
    record and the records a reference leads to, in either direction (lookups, rollups,
    ``referenced-by``), so a group is the records that references connect (a client, its
    deals, projects and invoices). Union-find over the reference values; each group keeps
    the order of the records (project, then slug), and the groups come in the order of their
    first record."""
    keys = [(p, s) for p, by_slug in records.items() for s in by_slug]
    parent = {key: key for key in keys}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for project, by_slug in records.items():
        links = [f for f in schemas[project].fields if f.type == "reference" and f.target]
        for slug, record in by_slug.items():
            for spec in links:
                value = record.values.get(spec.name)
                for target in value if isinstance(value, tuple) else (value,):
                    if isinstance(target, str):
                        other = (spec.target or "", target.rsplit("/", 1)[-1])
                        if other in parent:
                            a, b = root((project, slug)), root(other)
                            if a != b:
                                parent[a] = b
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in keys:
        found.setdefault(root(key), []).append(key)
    return [tuple(group) for group in found.values()]


def deal(
    found: Sequence[Share], ways: int, records: Mapping[str, Mapping[str, Record]]
) -> list[Share]:
    """Groups dealt into at most ``ways`` shares of about the same size (largest first),
    each share's records in the order of ``records`` (project, then slug)."""
    order = {key: n for n, key in enumerate((p, s) for p in records for s in records[p])}
    cut: list[list[tuple[str, str]]] = [[] for _ in range(max(1, ways))]
    for group in sorted(found, key=len, reverse=True):
        min(cut, key=len).extend(group)
    return [tuple(sorted(share, key=order.__getitem__)) for share in cut if share]


def _group_keys(
    dataset: Dataset,
    schemas: Mapping[str, ProjectSchema],
    records: Mapping[str, Mapping[str, Record]],
    found: Sequence[Share],
) -> list[str]:
    """Each group's key in the store: a hash of all its values and problems depend on. That
    is each member's ``source`` (its file's text, path, schema, ``crmgen.yml`` and crmgen's
    version; nothing a group reads comes from outside it), every schema (a lookup reads
    another project's), the day (``today()``) and the commit the history was read at (which
    fixes every record's history: a new commit makes every group again). "" for a group with
    a record that has no ``source`` (never kept)."""
    context = f"{digest(dict(schemas))}\0{dataset.today.isoformat()}\0{dataset.head}\0"
    keys = []
    for group in found:
        parts = [context]
        for project, slug in group:
            source = records[project][slug].source
            if not source:
                parts = []
                break
            parts.append(f"{project}/{slug}\0{source}")
        keys.append(hashlib.sha256("\n".join(parts).encode()).hexdigest() if parts else "")
    return keys
