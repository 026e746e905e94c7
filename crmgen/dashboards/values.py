"""Dashboard values: every chart's groups and values with no control set, in display order,
and what the browser needs to recompute them under its controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmgen.model import Dataset
from crmgen.model.dashboards import ChartSpec, SeriesSpec

from . import labels, metrics, top
from .cube import Cube, CubeKey, cube_key
from .declarations import BUILTIN_GROUPS
from .labels import NO_TAG_LABEL, NOT_SET_LABEL, OTHERS_LABEL
from .metrics import ADDITIVE, NOT_SET, OTHERS, Dims, Selection

#: A donut shows at most this many slices, a bar chart by category this many bars: beyond, the
#: smallest are added up as "Others" (when the measure adds up), so every label stays readable.
PIE_SLICES = 8
BARS = 20
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
    if group == "reached":
        return keys, list(keys)
    projects = [p for s in chart.series for p in s.projects]
    return keys, labels.value_labels(dataset, list(dict.fromkeys(projects)), group, keys)


def top_note(
    chart: ChartSpec, cubes: Mapping[CubeKey, Cube], keys: Sequence[str], title: str, locale: str
) -> str:
    """What a chart whose cube kept only its top groups (``top``) says when a filter is set:
    the groups it ranks are those largest over all records; "" for a chart with every group."""
    folded = max(cubes[cube_key(chart, s)].folded for s in chart.series)
    if not folded:
        return ""
    from babel.numbers import format_decimal

    kept = top.distinct(keys)
    total = format_decimal(kept + folded, locale=locale)
    return (
        f"{title}: top {kept} of {total} over all records; the others are grouped as Others, so "
        "with these filters one of them may be larger than one shown."
    )


def group_colours(chart: ChartSpec, dataset: Dataset) -> dict[str, str]:
    """key -> site-wide colour of each group of a chart that colours its groups (a donut, or
    bars by list or stage reached); empty for the others (months, one colour)."""
    group = chart.group
    if group in (None, "month") or len(chart.series) > 1:
        return {}
    if group in ("list", "reached"):
        return {**labels.list_colours(dataset), NOT_SET: labels.NOT_SET_COLOUR}
    if chart.kind != "pie":
        return {}
    return labels.field_colours(dataset, group)


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
    # the groups the cube added up as Others (``top``) stay Others: never ranked, always last
    folded = [OTHERS] if OTHERS in shown else []
    shown = [key for key in shown if key != OTHERS]
    total = {k: sum((v.get(k) or Decimal(0) for v in values), Decimal(0)) for k in shown}
    values = list(values)
    if (limit := fold_limit(chart)) and len(shown) + len(folded) > limit:
        kept = set(sorted(shown, key=lambda k: -total[k])[: limit - 1])
        rest = [k for k in shown if k not in kept] + folded
        values = [{**found, OTHERS: _sum(found, rest)} for found in values]
        shown = [k for k in shown if k in kept]
        label_of = {**label_of, OTHERS: OTHERS_LABEL}
        total[OTHERS] = Decimal(0)
    if chart.order == "value":
        shown = sorted(shown, key=lambda k: -total[k])
    elif chart.order == "name":
        shown = sorted(shown, key=lambda k: label_of[k].lower())  # as dashboard.js does
    if len(values) and any(OTHERS in found for found in values):
        shown.append(OTHERS)  # last, whatever the order
    rows: list[dict[str, Any]] = []
    for index, key in enumerate(shown):
        for series, found in zip(chart.series, values, strict=True):
            value = found.get(key)
            if value is None and series.measure.op in ADDITIVE:
                value = Decimal(0)
            number = None if value is None else float(value)
            row = {"k": label_of[key], "s": series.label, "v": number, "i": index}
            rows.append({**row, "value": value, "share": None})
    whole = sum((v for row in rows if (v := row["value"]) is not None), Decimal(0))
    if chart.kind == "pie" and whole and all(s.measure.op in ADDITIVE for s in chart.series):
        for row in rows:
            row["share"] = float(round(Decimal(row["value"] or 0) / whole, 6))
    return rows


def fold_limit(chart: ChartSpec) -> int:
    """How many groups a chart shows before it adds up the smallest as "Others": a donut or
    a bar chart of categories whose measure adds up; 0 for never."""
    additive = all(s.measure.op in ADDITIVE for s in chart.series)
    if not additive or chart.group in (None, "month", "list", "reached"):
        return 0
    return PIE_SLICES if chart.kind == "pie" else BARS if chart.kind == "bar" else 0


def _sum(found: Values, keys: Sequence[str]) -> Decimal:
    return sum((found.get(k) or Decimal(0) for k in keys), Decimal(0))


def skipped(dataset: Dataset, series: SeriesSpec, filters: Sequence[str]) -> list[str]:
    """The filters of a page that do not apply to a series: a field (or lists, tags) one of
    its projects lacks, or the time frame for a series without a date."""
    schemas = [dataset.projects[p].schema for p in series.projects]
    found = []
    for name in filters:
        if name == "month":
            missing = series.date is None
        elif name == "list":
            missing = any(not s.lists for s in schemas)
        elif name == "tag":
            missing = any(not s.tags_field for s in schemas)
        elif name == "project":
            missing = False
        else:
            missing = any(s.field(name) is None for s in schemas)
        if missing:
            found.append(name)
    return found


def chart_entry(
    chart: ChartSpec,
    cubes: Mapping[CubeKey, Cube],
    keys: Sequence[str],
    labels: Sequence[str],
    skips: Sequence[Sequence[str]] = (),
    note: str = "",
) -> dict[str, Any]:
    """What the browser needs to recompute a chart: its series' cubes, columns and keys, the
    filters each series ignores (``skip``), and the ``top_note`` of a chart of top groups."""
    cube_keys = list(cubes)
    series = []
    for index, item in enumerate(chart.series):
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
                "skip": list(skips[index]) if skips else [],
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
        "display": dict(chart.series[0].display),
        "fold": fold_limit(chart),
        "share": chart.kind == "pie" and all(s.measure.op in ADDITIVE for s in chart.series),
        # a field grouping's keys are its cube's groups: not written twice
        "keys": None
        if list(keys) == list(cubes[cube_key(chart, chart.series[0])].groups)
        else list(keys),
        "keyLabels": list(labels),
        "series": series,
        **({"top": note} if note else {}),
    }
