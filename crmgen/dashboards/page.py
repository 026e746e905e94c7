"""Dashboard pages: frozen view models for the template, the static SVGs and the browser data.

Like the site's views, templates get formatted texts only; the data the browser re-aggregates
(``static/dashboard.js``) is a deeply frozen JSON value. The dataset is already cut for the
audience, so every chart here may be shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crmgen.model import Dataset, freeze
from crmgen.model.dashboards import ChartSpec, DashboardSpec
from crmgen.model.store import NO_STORE, Store

from . import vegalite
from .cube import Cube, CubeKey, build_cubes, cube_data, dims_data, month_label, page_dims
from .metrics import NOT_SET, Dims
from .stages import stage_times
from .values import (
    ADDITIVE,
    NO_TAG_LABEL,
    chart_entry,
    chart_rows,
    group_keys,
    key_title,
    series_values,
)

_MAX_LINKS = 100


@dataclass(frozen=True, slots=True)
class StatView:
    """A stat card: title, formatted text, and the machine value ("" when there is none)."""

    id: str
    title: str
    description: str
    text: str
    value: str


@dataclass(frozen=True, slots=True)
class CellView:
    """One row of a chart's data table."""

    key: str
    series: str
    text: str


@dataclass(frozen=True, slots=True)
class ChartView:
    """A chart figure: title, static SVG path, and its data as a formatted table."""

    id: str
    title: str
    description: str
    kind: str
    svg: str
    key_title: str
    multi: bool
    table: tuple[CellView, ...]
    note: str = ""  # e.g. that the controls do not filter this chart


@dataclass(frozen=True, slots=True)
class OptionView:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class ControlsView:
    """The filter controls; option values are dimension indexes, "" means all."""

    projects: tuple[OptionView, ...]
    lists: tuple[OptionView, ...]
    tags: tuple[OptionView, ...]
    months: tuple[OptionView, ...]


@dataclass(frozen=True, slots=True)
class RecordLinkView:
    title: str
    href: str


@dataclass(frozen=True, slots=True)
class MissingView:
    """The records a chart reads that lack one date field."""

    field: str
    label: str
    count: int
    records: tuple[RecordLinkView, ...]
    more: int


@dataclass(frozen=True, slots=True)
class TabView:
    name: str
    title: str
    current: bool


@dataclass(frozen=True, slots=True)
class DashboardView:
    """Everything one dashboard page shows; ``data`` is what ``dashboard.js`` reads."""

    name: str
    title: str
    description: str
    tabs: tuple[TabView, ...]
    controls: ControlsView
    stats: tuple[StatView, ...]
    charts: tuple[ChartView, ...]
    missing: tuple[MissingView, ...]
    data: Mapping[str, Any]


def dashboard_page(
    dataset: Dataset, spec: DashboardSpec, tabs: tuple[TabView, ...], store: Store = NO_STORE
) -> tuple[DashboardView, dict[str, bytes]]:
    """The view of one dashboard and its static SVG files (site path -> bytes)."""
    currency, locale = dataset.config.currency, dataset.config.locale
    cubes = build_cubes(dataset, spec.charts)
    dims = page_dims(dataset, cubes)
    month_labels = [month_label(m, locale) if m else "" for m in dims.months]
    d3_locale = vegalite.format_locale(locale, currency)
    stats: list[StatView] = []
    figures: list[ChartView] = []
    entries: list[dict[str, Any]] = []
    svgs: dict[str, bytes] = {}
    for chart in spec.charts:
        if chart.kind == "stage-times":
            figure, svg_bytes = _stage_times(dataset, spec, chart, d3_locale, store)
            svgs[figure.svg] = svg_bytes
            figures.append(figure)
            entries.append({"id": chart.id, "kind": chart.kind, "static": True})
            continue
        keys, labels = group_keys(chart, cubes, dims, dataset, month_labels)
        values = [series_values(chart, series, cubes) for series in chart.series]
        entry = chart_entry(chart, cubes, keys, labels)
        if chart.kind == "stat":
            value = values[0].get(NOT_SET)
            if value is None and chart.series[0].measure.op in ADDITIVE:
                value = Decimal(0)  # nothing to count or add up
            stats.append(_stat_view(chart, value, currency, locale))
        else:
            rows = chart_rows(chart, values, keys, labels)
            svg = f"dashboards/{spec.name}/{chart.id}.svg"
            lite = _vega_lite(dataset, chart, rows, values, keys, labels)
            svgs[svg] = vegalite.render_svg(lite, d3_locale, store).encode()
            lite["datasets"] = {vegalite.DATA_NAME: []}  # the browser computes the rows
            entry["spec"] = lite
            figures.append(_chart_view(dataset, chart, rows, svg, currency, locale))
        entries.append(entry)
    data = {
        "locale": locale.replace("_", "-"),
        "currency": currency,
        "d3Locale": d3_locale,
        "dims": dims_data(dataset, dims, locale),
        "cubes": [cube_data(cube, dims) for cube in cubes.values()],
        "charts": entries,
    }
    view = DashboardView(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        tabs=tabs,
        controls=_controls(dataset, dims, month_labels),
        stats=tuple(stats),
        charts=tuple(figures),
        missing=_missing_dates(dataset, cubes),
        data=freeze(data),
    )
    return view, svgs


def _vega_lite(
    dataset: Dataset,
    chart: ChartSpec,
    rows: Sequence[Mapping[str, Any]],
    values: Sequence[Mapping[str, Decimal | None]],
    keys: Sequence[str],
    labels: Sequence[str],
) -> dict[str, Any]:
    plain = [{k: row[k] for k in ("k", "s", "v", "i")} for row in rows]
    # A pie's colours stay put under filtering: every group the unfiltered data has, in order
    # (filters only ever remove groups).
    present = {key for found in values for key, v in found.items() if v}
    domain = (
        [label for key, label in zip(keys, labels, strict=True) if label and key in present]
        if chart.kind == "pie"
        else []
    )
    return vegalite.chart_spec(
        chart.kind,
        chart.series[0].fmt,
        plain,
        title=chart.title,
        key_title=key_title(chart, dataset),
        series=[series.label for series in chart.series],
        domain=domain,
    )


def _stage_times(
    dataset: Dataset,
    spec: DashboardSpec,
    chart: ChartSpec,
    d3_locale: Mapping[str, Any],
    store: Store,
) -> tuple[ChartView, bytes]:
    """A chart of the median days in each list and the middle half of the stays; static."""
    found = stage_times(dataset, chart.series[0].projects)
    rows = [
        {
            "k": s.list,
            "median": float(s.median),
            "low": float(s.low),
            "high": float(s.high),
            "n": s.count,
        }
        for s in found
    ]
    svg = f"dashboards/{spec.name}/{chart.id}.svg"
    lite = vegalite.stage_times_spec(rows, title=chart.title)
    locale = dataset.config.locale
    table = tuple(
        CellView(
            s.list,
            "",
            f"median {vegalite.format_value(s.median, 'days', currency='', locale=locale)}; "
            f"middle half {_days(s.low)} to {_days(s.high)} days ({s.count} stays)",
        )
        for s in found
    )
    view = ChartView(
        id=chart.id,
        title=chart.title,
        description=chart.description,
        kind=chart.kind,
        svg=svg,
        key_title="List",
        multi=False,
        table=table,
        note="From every deal's stage history: the filters above do not change this chart.",
    )
    return view, vegalite.render_svg(lite, d3_locale, store).encode()


def _days(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")).normalize(), "f")


def _stat_view(chart: ChartSpec, value: Decimal | None, currency: str, locale: str) -> StatView:
    fmt = chart.series[0].fmt
    return StatView(
        id=chart.id,
        title=chart.title,
        description=chart.description,
        text=vegalite.format_value(value, fmt, currency=currency, locale=locale),
        value="" if value is None else format(round(value, 4).normalize(), "f"),
    )


def _chart_view(
    dataset: Dataset,
    chart: ChartSpec,
    rows: Sequence[Mapping[str, Any]],
    svg: str,
    currency: str,
    locale: str,
) -> ChartView:
    fmt = chart.series[0].fmt
    cells = []
    before: Decimal | None = None
    for row in rows:
        text = vegalite.format_value(row["value"], fmt, currency=currency, locale=locale)
        if chart.group == "reached" and before:  # the funnel: the share of the stage before
            share = vegalite.format_value(
                (row["value"] or Decimal(0)) / before, "percent", currency=currency, locale=locale
            )
            text += f" ({share} of the stage before)"
        before = row["value"]
        cells.append(CellView(row["k"], row["s"], text))
    table = tuple(cells)
    return ChartView(
        id=chart.id,
        title=chart.title,
        description=chart.description,
        kind=chart.kind,
        svg=svg,
        key_title=key_title(chart, dataset),
        multi=len(chart.series) > 1,
        table=table,
    )


def _controls(dataset: Dataset, dims: Dims, month_labels: Sequence[str]) -> ControlsView:
    projects = tuple(
        OptionView(str(i), dataset.projects[p].schema.title) for i, p in enumerate(dims.projects)
    )
    lists = tuple(OptionView(str(i), name) for i, name in enumerate(dims.lists) if i)
    tags = (
        tuple(OptionView(str(i), name or NO_TAG_LABEL) for i, name in enumerate(dims.tags))
        if len(dims.tags) > 1
        else ()
    )
    months = tuple(OptionView(str(i), month_labels[i]) for i in range(1, len(dims.months)))
    return ControlsView(projects, lists, tags, months)


def _missing_dates(dataset: Dataset, cubes: Mapping[CubeKey, Cube]) -> tuple[MissingView, ...]:
    """Per date field, the records a chart reads that lack that date, with links (named by
    their title, or by their slug when the audience may not see titles)."""
    by_field: dict[str, dict[tuple[str, str], str]] = {}
    for cube in cubes.values():
        for field, record in cube.missing:
            schema = dataset.projects[record.project].schema
            shown = schema.field(schema.title_field) is not None
            title = record.get(schema.title_field) if shown else None
            label = title if isinstance(title, str) and title else record.slug
            by_field.setdefault(field, {})[(record.project, record.slug)] = label
    notes = []
    for field, found in sorted(by_field.items()):
        spec = next((s for p in dataset.projects.values() if (s := p.schema.field(field))), None)
        records = tuple(
            RecordLinkView(title, f"{project}/{slug}.html")
            for (project, slug), title in sorted(found.items())
        )
        notes.append(
            MissingView(
                field=field,
                label=spec.label if spec else field,
                count=len(records),
                records=records[:_MAX_LINKS],
                more=max(0, len(records) - _MAX_LINKS),
            )
        )
    return tuple(notes)
