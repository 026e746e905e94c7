"""Dashboard views: the values of every chart with no control set, and what templates and the
browser receive (already formatted texts, ordered rows, the controls, the missing-dates note).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmgen import charts, metrics
from crmgen.dashboard_check import Chart, Series, visible
from crmgen.dashboard_cube import Cube, CubeKey, cube_key
from crmgen.dashboard_spec import BUILTIN_GROUPS
from crmgen.metrics import NOT_SET, Dims, Selection
from crmgen.model import Dataset
from crmgen.redaction import Audience

NOT_SET_LABEL = "(not set)"
NO_TAG_LABEL = "(no tag)"
#: Measures whose value for an empty bucket is 0 (others have none).
ADDITIVE = frozenset({"count", "sum", "weighted"})
_KEY_TITLES = {"month": "Month", "list": "List", "tag": "Tag", "project": "Project"}
_MAX_LINKS = 100

Values = dict[str, Decimal | None]


def series_values(chart: Chart, series: Series, cubes: Mapping[CubeKey, Cube]) -> Values:
    """A series' value per group key with no control set, scaled for display."""
    facts = cubes[cube_key(chart, series)].facts
    timed = series.spec.date is not None
    found = metrics.evaluate(facts, series.spec.measure, chart.spec.group, Selection(), timed)
    return {k: None if v is None else v * series.scale for k, v in found.items()}


def group_keys(
    chart: Chart,
    cubes: Mapping[CubeKey, Cube],
    dims: Dims,
    dataset: Dataset,
    month_labels: Sequence[str],
) -> tuple[list[str], list[str]]:
    """Every possible group key of a chart in natural order, with labels."""
    group = chart.spec.group
    if group == "month":
        return list(dims.months), list(month_labels)
    if group == "list":
        return [*dims.lists[1:], NOT_SET], [*dims.lists[1:], NOT_SET_LABEL]
    if group == "tag":
        return [*dims.tags[1:], NOT_SET], [*dims.tags[1:], NO_TAG_LABEL]
    if group == "project":
        return list(dims.projects), [dataset.projects[p].schema.title for p in dims.projects]
    if group is None:
        return [NOT_SET], [chart.spec.title]
    keys = [g for s in chart.series for g in cubes[cube_key(chart, s)].groups if g != NOT_SET]
    keys = [*dict.fromkeys(keys), NOT_SET]
    return keys, [group_label(k) for k in keys]


def group_label(value: str) -> str:
    """The label of a field group value: "(not set)", Yes/No for checkboxes, else the value."""
    return {NOT_SET: NOT_SET_LABEL, "true": "Yes", "false": "No"}.get(value, value)


def key_title(chart: Chart) -> str:
    """What a chart's groups are, for tooltips and table headers."""
    group = chart.spec.group or ""
    if group in _KEY_TITLES or not group:
        return _KEY_TITLES.get(group, "")
    spec = chart.series[0].projects[0].field(group)
    return spec.label if spec else group


def chart_rows(
    chart: Chart, values: Sequence[Values], keys: Sequence[str], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows of a chart in display order: ``{k, s, v, i}`` plus ``value`` (a Decimal).

    Months run without gaps from the first to the last; empty buckets of a count or a sum are
    0. ``order: value`` sorts by the largest total first; ``order: name`` by label.
    """
    present = {key for found in values for key in found}
    label_of = dict(zip(keys, labels, strict=True))
    if chart.spec.group == "month":
        months = sorted(present)
        shown = metrics.month_range(months[0], months[-1]) if months else []
    else:
        shown = [key for key in keys if key in present]
    if chart.spec.order == "value":
        total = {k: sum((v.get(k) or Decimal(0) for v in values), Decimal(0)) for k in shown}
        shown = sorted(shown, key=lambda k: -total[k])
    elif chart.spec.order == "name":
        shown = sorted(shown, key=lambda k: label_of[k].lower())  # as dashboard.js does
    rows: list[dict[str, Any]] = []
    for index, key in enumerate(shown):
        for series, found in zip(chart.series, values, strict=True):
            value = found.get(key)
            if value is None and series.spec.measure.op in ADDITIVE:
                value = Decimal(0)
            number = None if value is None else float(value)
            row = {"k": label_of[key], "s": series.spec.label, "v": number, "i": index}
            rows.append({**row, "value": value})
    return rows


def stat_view(
    chart: Chart, value: Decimal | None, *, currency: str, locale: str
) -> dict[str, Any]:
    """A stat card: title, formatted text, and the machine value ("" when there is none)."""
    fmt = chart.series[0].fmt
    return {
        "id": chart.spec.id,
        "title": chart.spec.title,
        "description": chart.spec.description,
        "text": charts.format_value(value, fmt, currency=currency, locale=locale),
        "value": "" if value is None else format(round(value, 4).normalize(), "f"),
    }


def chart_view(
    chart: Chart, rows: Sequence[Mapping[str, Any]], svg: str, *, currency: str, locale: str
) -> dict[str, Any]:
    """A chart figure: title, static SVG path, and its data as a formatted table."""
    fmt = chart.series[0].fmt
    table = [
        {
            "key": row["k"],
            "series": row["s"],
            "text": charts.format_value(row["value"], fmt, currency=currency, locale=locale),
        }
        for row in rows
    ]
    return {
        "id": chart.spec.id,
        "title": chart.spec.title,
        "description": chart.spec.description,
        "kind": chart.spec.kind,
        "svg": svg,
        "key_title": key_title(chart),
        "multi": len(chart.series) > 1,
        "table": table,
    }


def chart_entry(
    chart: Chart, cubes: Mapping[CubeKey, Cube], keys: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """What the browser needs to recompute a chart: its series' cubes, columns and keys."""
    cube_keys = list(cubes)
    series = []
    for item in chart.series:
        key = cube_key(chart, item)
        columns = cubes[key].columns
        series.append(
            {
                "label": item.spec.label,
                "cube": cube_keys.index(key),
                "op": item.spec.measure.op,
                "cols": [columns.index(c) for c in metrics.columns_for(item.spec.measure)],
                "timed": item.spec.date is not None,
                "scale": float(item.scale),
            }
        )
    group = chart.spec.group
    if group == "month":
        keys, labels = [], []  # the page's month dimension has them
    return {
        "id": chart.spec.id,
        "kind": chart.spec.kind,
        "group": group if group is None or group in BUILTIN_GROUPS else "field",
        "order": chart.spec.order,
        "fmt": chart.series[0].fmt,
        "keys": list(keys),
        "keyLabels": list(labels),
        "series": series,
    }


def controls(dataset: Dataset, dims: Dims, month_labels: Sequence[str]) -> dict[str, Any]:
    """The filter controls; option values are dimension indexes, "" means all."""
    return {
        "projects": [
            {"value": str(i), "label": dataset.projects[p].schema.title}
            for i, p in enumerate(dims.projects)
        ],
        "lists": [{"value": str(i), "label": name} for i, name in enumerate(dims.lists) if i],
        "tags": [
            {"value": str(i), "label": name or NO_TAG_LABEL} for i, name in enumerate(dims.tags)
        ]
        if len(dims.tags) > 1
        else [],
        "months": [
            {"value": str(i), "label": month_labels[i]} for i in range(1, len(dims.months))
        ],
    }


def missing_dates(
    dataset: Dataset, cubes: Mapping[CubeKey, Cube], audience: Audience
) -> list[dict[str, Any]]:
    """Per date field, the records a chart reads that lack that date, with links (named by
    their title, or by their slug when the audience may not see titles)."""
    by_field: dict[str, dict[tuple[str, str], str]] = {}
    for cube in cubes.values():
        for field, record in cube.missing:
            schema = dataset.projects[record.project].schema
            shown = visible(schema, schema.title_field, audience)
            title = record.get(schema.title_field) if shown else None
            label = title if isinstance(title, str) and title else record.slug
            by_field.setdefault(field, {})[(record.project, record.slug)] = label
    notes = []
    for field, found in sorted(by_field.items()):
        spec = next((s for p in dataset.projects.values() if (s := p.schema.field(field))), None)
        records = [
            {"title": title, "href": f"{project}/{slug}.html"}
            for (project, slug), title in sorted(found.items())
        ]
        notes.append(
            {
                "field": field,
                "label": spec.label if spec else field,
                "count": len(records),
                "records": records[:_MAX_LINKS],
                "more": max(0, len(records) - _MAX_LINKS),
            }
        )
    return notes
