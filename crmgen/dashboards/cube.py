"""Dashboard cubes: the records each chart reads, as facts, and packed rows for the browser.

Series that read the same projects with the same filters, date field and field grouping share
one cube, whose columns are the union of what their measures need. The dataset is already cut
for the audience: a hidden list or tags field is gone, so every record is without a list or tags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from crmgen.model import Dataset, ListSpec, Project, ProjectSchema, Record
from crmgen.model.dashboards import ChartSpec, SeriesSpec

from . import labels, metrics, top
from .declarations import BUILTIN_GROUPS
from .metrics import NOT_SET, Dims, Fact, FieldDim
from .resolve import project_order

Filters = tuple[tuple[str, tuple[str | None, ...]], ...]
#: A record with its list, tags and the lists it reached, as the audience sees them, and its
#: values of the page's field filters (the same in every cube of the page: made once).
Placed = tuple[
    Record, ListSpec | None, tuple[str, ...], tuple[str, ...], Mapping[str, tuple[str, ...]]
]


@dataclass(frozen=True, slots=True)
class CubeKey:
    """What makes two series share a cube."""

    projects: tuple[str, ...]
    filters: Filters
    date: str | None
    group: str | None  # a field grouping; month, list, tag and project are row dimensions


@dataclass(frozen=True, slots=True)
class Cube:
    """The facts of one cube, the records lacking its dates, and its group values in order."""

    key: CubeKey
    columns: tuple[str, ...]
    facts: tuple[Fact, ...]
    missing: tuple[tuple[str, Record], ...]  # (date field, record without it)
    groups: tuple[str, ...]  # natural order, NOT_SET last; (NOT_SET,) without a field grouping
    folded: int = 0  # how many values of the grouping are added up as OTHERS (``top``)


def cube_key(chart: ChartSpec, series: SeriesSpec) -> CubeKey:
    """The cube a series of a chart reads."""
    group = chart.group if chart.group not in BUILTIN_GROUPS else None
    return CubeKey(series.projects, series.filters, series.date, group)


def build_cubes(
    dataset: Dataset, charts: Iterable[ChartSpec], fields: tuple[str, ...] = ()
) -> dict[CubeKey, Cube]:
    """One cube per distinct cube key, in the order the charts first use them; each fact also
    carries the record's values of ``fields`` (the page's field filters)."""
    columns: dict[CubeKey, dict[str, None]] = {}
    read = tuple(charts)
    for chart in read:
        if chart.kind == "stage-times":
            continue  # computed from histories, not from a cube
        for series in chart.series:
            needed = columns.setdefault(cube_key(chart, series), {})
            needed.update(dict.fromkeys(metrics.columns_for(series.measure)))
    names = {name for key in columns for name in key.projects}
    placed = {name: _placed(dataset.projects[name], fields) for name in sorted(names)}
    cubes = {key: _cube(dataset, placed, key, tuple(c), fields) for key, c in columns.items()}
    return _keep_top(cubes, read)


def _keep_top(cubes: dict[CubeKey, Cube], charts: Iterable[ChartSpec]) -> dict[CubeKey, Cube]:
    """Cubes grouped by a field of more than ``top.TOP`` values keep the top groups of each
    chart that reads them, and add up the rest as ``OTHERS`` (see ``top``)."""
    kept: dict[CubeKey, set[str]] = {}
    for chart in charts:
        keys = [cube_key(chart, series) for series in chart.series]
        if chart.kind == "stage-times" or not any(
            key.group not in (None, "reached") and top.too_many(cubes[key].groups) for key in keys
        ):
            continue
        natural = [g for key in keys for g in cubes[key].groups if g != NOT_SET]
        natural = [*dict.fromkeys(natural), NOT_SET]
        series = [
            (cubes[key].facts, item.measure, item.scale)
            for key, item in zip(keys, chart.series, strict=True)
        ]
        largest = top.ranked(series, chart.group or "", natural)[: top.TOP]
        for key in keys:
            kept.setdefault(key, set()).update(largest)
    for key, keep in kept.items():
        cube = cubes[key]
        if key.group not in (None, "reached") and top.too_many(cube.groups):
            facts, groups = top.fold(cube.facts, cube.groups, frozenset(keep))
            folded = top.distinct(cube.groups) - top.distinct(groups)
            cubes[key] = replace(cube, facts=facts, groups=groups, folded=folded)
    return cubes


def _placed(project: Project, fields: tuple[str, ...] = ()) -> list[Placed]:
    """Each record with its list and tags (none when the schema has no such field), and its
    values of ``fields``."""
    schema = project.schema
    list_field, tags_field = schema.list_field, schema.tags_field
    placed: list[Placed] = []
    for record in project.records.values():
        value = record.get(list_field) if list_field else None
        list_spec = schema.list_spec(value) if isinstance(value, str) else None
        tags = record.get(tags_field) if tags_field else None
        reached = reached_lists(project.schema, record) if list_field else ()
        unique = tuple(dict.fromkeys(str(t) for t in tags or ()))
        extra = {f: metrics.record_groups(record, f) for f in fields} if fields else {}
        placed.append((record, list_spec, unique, reached, extra))
    return placed


def _cube(
    dataset: Dataset,
    placed: Mapping[str, list[Placed]],
    key: CubeKey,
    columns: tuple[str, ...],
    fields: tuple[str, ...] = (),
) -> Cube:
    facts: list[Fact] = []
    missing: list[tuple[str, Record]] = []
    for name in key.projects:
        for record, list_spec, tags, reached, extra in placed[name]:
            fact, lacking = record_fact(
                name, record, list_spec, tags, key, columns, reached, extra
            )
            if fact is not None:
                facts.append(fact)
                missing.extend((field, record) for field in sorted(lacking))
    groups: tuple[str, ...] = (NOT_SET,)
    if key.group:
        options = _options(dataset, key.projects, key.group)
        seen = {g for fact in facts for g in fact.groups}
        ordered = [o for o in dict.fromkeys(options) if o in seen]
        groups = (*ordered, *sorted(seen - set(ordered)), NOT_SET)
    return Cube(key, columns, tuple(facts), tuple(missing), groups)


def reached_lists(schema: ProjectSchema, record: Record) -> tuple[str, ...]:
    """The open and won lists a record reached, in pipeline order: those its history entered
    or it is in, and every open list before one of them (a deal in Negotiation went through
    Qualification even if nobody recorded it)."""
    funnel = [spec.name for spec in schema.lists if spec.kind in ("open", "won")]
    current = record.get(schema.list_field or "")
    entered = {t.to_list for t in record.history.transitions} | {current}
    furthest = max((funnel.index(name) for name in entered if name in funnel), default=0)
    if not funnel or current is None:
        return ()
    # a deal lost or set aside from a stage nobody recorded still entered the first one
    return tuple(n for n in funnel[: furthest + 1] if _kind(schema, n) == "open" or n in entered)


def _kind(schema: ProjectSchema, name: str) -> str:
    spec = schema.list_spec(name)
    return spec.kind if spec else ""


def _options(dataset: Dataset, projects: Sequence[str], field: str) -> list[str]:
    if field == "reached":
        schemas = [dataset.projects[p].schema for p in projects]
        return [spec.name for s in schemas for spec in s.lists if spec.kind in ("open", "won")]
    return labels.options(dataset, projects, field)


def record_fact(
    project: str,
    record: Record,
    list_spec: ListSpec | None,
    tags: tuple[str, ...],
    key: CubeKey,
    columns: tuple[str, ...],
    reached: tuple[str, ...] = (),
    extra: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[Fact | None, set[str]]:
    """A record's fact, None when the cube's filters leave it out; and the dates it lacks.

    Args:
        project: the record's project.
        record: the record.
        list_spec: its list, None when it has none (or the audience may not see lists).
        tags: its tags (none when the audience may not see them).
        key: the cube.
        columns: the cube's measure columns.
        reached: the lists it reached (for a cube grouped by them).
        extra: its values of the page's field filters.
    """
    list_name, kind = (list_spec.name, list_spec.kind) if list_spec else ("", "")
    for name, allowed in key.filters:
        if not _passes(record, name, allowed, list_name, kind, tags):
            return None, set()
    probability = list_spec.probability if list_spec else Decimal(0)
    values, lacking = metrics.record_columns(record, columns, kind, probability)
    month = metrics.month_of(record.get(key.date)) if key.date else ""
    if key.date and not month:
        lacking.add(key.date)
    if key.group == "reached":
        groups = reached
    else:
        groups = metrics.record_groups(record, key.group) if key.group else ()
    if extra:  # one mapping, shared by the record's facts in every cube of the page
        return Fact(project, list_name, kind, tags, month, groups, values, extra), lacking
    return Fact(project, list_name, kind, tags, month, groups, values), lacking


def _passes(
    record: Record,
    name: str,
    allowed: tuple[str | None, ...],
    list_name: str,
    kind: str,
    tags: tuple[str, ...],
) -> bool:
    if name in ("kind", "list"):
        return (kind if name == "kind" else list_name) in allowed
    values = tags if name == "tag" else metrics.record_groups(record, name)
    return any(v in allowed for v in values) or (not values and None in allowed)


def page_dims(dataset: Dataset, cubes: Mapping[CubeKey, Cube], fields: Sequence[str] = ()) -> Dims:
    """The dimension dictionaries of a page: every month from the first to the last, and the
    projects, lists, tags and values of ``fields`` the facts have (a list, tag or value no
    record has is not offered)."""
    used = {name for key in cubes for name in key.projects}
    projects = tuple(p for p in project_order(dataset) if p in used)
    months = sorted({f.month for cube in cubes.values() for f in cube.facts if f.month})
    all_months = metrics.month_range(months[0], months[-1]) if months else []
    declared_lists = [spec.name for p in projects for spec in dataset.projects[p].schema.lists]
    seen_lists = {f.list for cube in cubes.values() for f in cube.facts}
    lists = [name for name in declared_lists if name in seen_lists]
    declared = [tag for p in projects for tag in dataset.projects[p].schema.tags]
    seen = {tag for cube in cubes.values() for f in cube.facts for tag in f.tags}
    tags = [tag for tag in dict.fromkeys(declared) if tag in seen] + sorted(seen - set(declared))
    field_dims = tuple(_field_dim(dataset, projects, cubes, name) for name in fields)
    return Dims(("", *all_months), projects, ("", *dict.fromkeys(lists)), ("", *tags), field_dims)


def _field_dim(
    dataset: Dataset, projects: Sequence[str], cubes: Mapping[CubeKey, Cube], name: str
) -> FieldDim:
    """A field filter's values in natural order (options first), and its combinations when
    some record has several values."""
    found = {f.extra.get(name, ()) for cube in cubes.values() for f in cube.facts}
    seen = {v for values in found for v in values}
    options = _options(dataset, projects, name)
    ordered = [o for o in dict.fromkeys(options) if o in seen]
    values = (NOT_SET, *ordered, *sorted(seen - set(ordered)))
    if all(len(v) <= 1 for v in found):
        return FieldDim(name, values)
    index = {v: i for i, v in enumerate(values)}
    combos = sorted({tuple(sorted({index[v] for v in found_values})) for found_values in found})
    return FieldDim(name, values, tuple([(), *(c for c in combos if c)]))


def dims_data(dataset: Dataset, dims: Dims, locale: str) -> dict[str, Any]:
    """The dimension dictionaries for the browser, with month and project labels."""
    return {
        "months": list(dims.months),
        "monthLabels": [month_label(m, locale) if m else "" for m in dims.months],
        "projects": list(dims.projects),
        "projectLabels": [dataset.projects[p].schema.title for p in dims.projects],
        "lists": list(dims.lists),
        "tags": list(dims.tags),
        "fields": [
            {
                "name": dim.name,
                "values": list(dim.values),
                "combos": None if dim.combos is None else [list(c) for c in dim.combos],
            }
            for dim in dims.fields
        ],
    }


def month_label(month: str, locale: str) -> str:
    """ "2026-01" -> "Jan 2026" in the site locale (no time zone involved)."""
    from babel.dates import format_date

    first = dt.date(int(month[:4]), int(month[5:7]), 1)
    return str(format_date(first, "MMM yyyy", locale=locale))


def cube_data(cube: Cube, dims: Dims, tags: bool = True, months: bool = True) -> dict[str, Any]:
    """A cube for the browser: its columns, how they combine, group values and packed rows.

    ``keys`` and ``values`` are the rows of ``metrics.build_rows`` packed by
    ``metrics.pack_rows``, with sizes (months, projects, lists, tags + 1, then each field
    filter's values or combinations). ``tags`` and ``months`` false leave out what the page
    never asks of this cube (see ``metrics.build_rows``).
    """
    rows = metrics.build_rows(cube.facts, cube.columns, cube.groups, dims, tags, months)
    sizes: tuple[int, ...] = (len(dims.months), len(dims.projects), len(dims.lists))
    sizes += (len(dims.tags) + 1,)
    sizes += tuple(len(d.combos) if d.combos is not None else len(d.values) for d in dims.fields)
    return {
        "columns": list(cube.columns),
        "combine": [metrics.combine_rule(column) for column in cube.columns],
        "groups": list(cube.groups),
        **metrics.pack_rows(rows, sizes),
    }
