"""Dashboard values: every chart's groups and values with no control set, in display order,
and what the browser needs to recompute them under its controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmgen.model import Dataset
from crmgen.model.dashboards import ChartSpec, SeriesSpec

from . import metrics
from .cube import Cube, CubeKey, cube_key
from .declarations import BUILTIN_GROUPS
from .metrics import NOT_SET, Dims, Selection

NOT_SET_LABEL = "(not set)"
NO_TAG_LABEL = "(no tag)"
#: Measures whose value for an empty bucket is 0 (others have none).
ADDITIVE = frozenset({"count", "sum", "weighted"})
_KEY_TITLES = {
    "month": "Month",
    "list": "List",
    "tag": "Tag",
    "project": "Project",
    "reached": "Stage reached",
}

Values = dict[str, Decimal | None]


def series_values(chart: ChartSpec, series: SeriesSpec, cubes: Mapping[CubeKey, Cube]) -> Values:
    """A series' value per group key with no control set, scaled for display."""
    facts = cubes[cube_key(chart, series)].facts
    timed = series.date is not None
    found = metrics.evaluate(facts, series.measure, chart.group, Selection(), timed)
    return {k: None if v is None else v * series.scale for k, v in found.items()}


def group_keys(
    chart: ChartSpec,
    cubes: Mapping[CubeKey, Cube],
    dims: Dims,
    dataset: Dataset,
    month_labels: Sequence[str],
) -> tuple[list[str], list[str]]:
    """Every possible group key of a chart in natural order, with labels."""
    group = chart.group
    if group == "month":
        return list(dims.months), list(month_labels)
    if group == "list":
        return [*dims.lists[1:], NOT_SET], [*dims.lists[1:], NOT_SET_LABEL]
    if group == "tag":
        return [*dims.tags[1:], NOT_SET], [*dims.tags[1:], NO_TAG_LABEL]
    if group == "project":
        return list(dims.projects), [dataset.projects[p].schema.title for p in dims.projects]
    if group is None:
        return [NOT_SET], [chart.title]
    keys = [g for s in chart.series for g in cubes[cube_key(chart, s)].groups if g != NOT_SET]
    keys = [*dict.fromkeys(keys)] + ([] if group == "reached" else [NOT_SET])
    return keys, [group_label(k) for k in keys]


def group_label(value: str) -> str:
    """The label of a field group value: "(not set)", Yes/No for checkboxes, else the value."""
    return {NOT_SET: NOT_SET_LABEL, "true": "Yes", "false": "No"}.get(value, value)


def key_title(chart: ChartSpec, dataset: Dataset) -> str:
    """What a chart's groups are, for tooltips and table headers."""
    group = chart.group or ""
    if group in _KEY_TITLES or not group:
        return _KEY_TITLES.get(group, "")
    spec = dataset.projects[chart.series[0].projects[0]].schema.field(group)
    return spec.label if spec else group


def chart_rows(
    chart: ChartSpec, values: Sequence[Values], keys: Sequence[str], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows of a chart in display order: ``{k, s, v, i}`` plus ``value`` (a Decimal).

    Months run without gaps from the first to the last; empty buckets of a count or a sum are
    0. ``order: value`` sorts by the largest total first; ``order: name`` by label.
    """
    present = {key for found in values for key in found}
    label_of = dict(zip(keys, labels, strict=True))
    if chart.group == "month":
        months = sorted(present)
        shown = metrics.month_range(months[0], months[-1]) if months else []
    else:
        shown = [key for key in keys if key in present]
    if chart.order == "value":
        total = {k: sum((v.get(k) or Decimal(0) for v in values), Decimal(0)) for k in shown}
        shown = sorted(shown, key=lambda k: -total[k])
    elif chart.order == "name":
        shown = sorted(shown, key=lambda k: label_of[k].lower())  # as dashboard.js does
    rows: list[dict[str, Any]] = []
    for index, key in enumerate(shown):
        for series, found in zip(chart.series, values, strict=True):
            value = found.get(key)
            if value is None and series.measure.op in ADDITIVE:
                value = Decimal(0)
            number = None if value is None else float(value)
            row = {"k": label_of[key], "s": series.label, "v": number, "i": index}
            rows.append({**row, "value": value})
    return rows


def chart_entry(
    chart: ChartSpec, cubes: Mapping[CubeKey, Cube], keys: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """What the browser needs to recompute a chart: its series' cubes, columns and keys."""
    cube_keys = list(cubes)
    series = []
    for item in chart.series:
        key = cube_key(chart, item)
        columns = cubes[key].columns
        series.append(
            {
                "label": item.label,
                "cube": cube_keys.index(key),
                "op": item.measure.op,
                "cols": [columns.index(c) for c in metrics.columns_for(item.measure)],
                "timed": item.date is not None,
                "scale": float(item.scale),
            }
        )
    group = chart.group
    if group == "month":
        keys, labels = [], []  # the page's month dimension has them
    return {
        "id": chart.id,
        "kind": chart.kind,
        "group": group if group is None or group in BUILTIN_GROUPS else "field",
        "order": chart.order,
        "fmt": chart.series[0].fmt,
        "keys": list(keys),
        "keyLabels": list(labels),
        "series": series,
    }
