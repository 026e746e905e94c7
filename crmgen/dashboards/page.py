"""Dashboard pages: frozen view models for the template, the static SVGs and the browser data.

Like the site's views, templates get formatted texts only; the data the browser re-aggregates
(``static/dashboard.js``) is a deeply frozen JSON value. The dataset is already cut for the
audience, so every chart here may be shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from crmgen.model import Dataset, Record, freeze
from crmgen.model.dashboards import ChartSpec, DashboardSpec

from . import labels, vegalite
from .cube import (
    Cube,
    CubeKey,
    build_cubes,
    cube_data,
    cube_key,
    dims_data,
    month_label,
    page_dims,
)
from .declarations import BUILTIN_CONTROLS
from .labels import NO_TAG_LABEL
from .metrics import ADDITIVE, NOT_SET, Dims
from .stages import stage_times
from .values import (
    chart_entry,
    chart_rows,
    group_colours,
    group_keys,
    key_title,
    series_values,
    skipped,
    top_note,
)

#: Records listed by name under "Records without dates", per date field; the rest are reached
#: through their table.
_MAX_LINKS = 500
#: The value of a control's option that keeps the records without a value.
NONE_VALUE = "(none)"


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
    legend: tuple[LegendView, ...] = ()  # a donut's slices, with value and share


@dataclass(frozen=True, slots=True)
class LegendView:
    """One slice of a donut: its colour, label, value and share of the whole."""

    colour: str
    label: str
    text: str
    share: str


@dataclass(frozen=True, slots=True)
class OptionView:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class ControlView:
    """One filter control: its URL parameter (``name``), label and options ("" means all;
    ``(none)`` keeps the records without a value)."""

    name: str
    label: str
    everything: str
    options: tuple[OptionView, ...]


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
    more: tuple[RecordLinkView, ...]  # links to tables holding the records not listed


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
    controls: tuple[ControlView, ...]
    stats: tuple[StatView, ...]
    charts: tuple[ChartView, ...]
    missing: tuple[MissingView, ...]
    data: Mapping[str, Any]
    filters_text: str = ""  # "project, list, tag and time frame": what the controls filter by


#: What a dashboard's static SVGs show: site path -> (Vega-Lite spec, d3 locale), drawn
#: afterwards for every dashboard at once (``vegalite.render_svgs``).
Drawings = dict[str, tuple[dict[str, Any], Mapping[str, Any]]]


def dashboard_page(
    dataset: Dataset, spec: DashboardSpec, tabs: tuple[TabView, ...]
) -> tuple[DashboardView, Drawings]:
    """The view of one dashboard and what its static SVG files show."""
    currency, locale = dataset.config.currency, dataset.config.locale
    fields = _field_filters(dataset, spec)
    cubes = build_cubes(dataset, spec.charts, fields)
    dims = page_dims(dataset, cubes, fields)
    month_labels = [month_label(m, locale) if m else "" for m in dims.months]
    controls = _controls(dataset, spec, dims, month_labels)
    filters = [c.name if c.name != "from" else "month" for c in controls if c.name != "to"]
    d3_locale = vegalite.format_locale(locale, currency)
    stats: list[StatView] = []
    figures: list[ChartView] = []
    entries: list[dict[str, Any]] = []
    drawings: Drawings = {}
    for chart in spec.charts:
        if chart.kind == "stage-times":
            figure, lite = _stage_times(dataset, spec, chart)
            drawings[figure.svg] = (vegalite.static_size(lite), d3_locale)
            figures.append(figure)
            skip = [name for name in filters if name != "project"]
            entries.append({"id": chart.id, "kind": chart.kind, "static": True, "spec": lite,
                            "series": [{"label": chart.title, "skip": skip}]})  # fmt: skip
            continue
        keys, names = group_keys(chart, cubes, dims, dataset, month_labels)
        values = [series_values(chart, series, cubes) for series in chart.series]
        skips = [skipped(dataset, series, filters) for series in chart.series]
        note = top_note(chart, cubes, keys, key_title(chart, dataset), locale)
        entry = chart_entry(chart, cubes, keys, names, skips, note)
        if chart.kind == "stat":
            value = values[0].get(NOT_SET)
            if value is None and chart.series[0].measure.op in ADDITIVE:
                value = Decimal(0)  # nothing to count or add up
            stats.append(_stat_view(chart, value, currency, locale))
        else:
            rows = chart_rows(chart, values, keys, names)
            by_key = group_colours(chart, dataset)
            colours = {
                label: by_key.get(key, labels.NOT_SET_COLOUR)
                for key, label in zip(keys, names, strict=True)
            }
            if by_key:
                colours[labels.OTHERS_LABEL] = labels.OTHERS_COLOUR
            svg = f"dashboards/{spec.name}/{chart.id}.svg"
            lite = _vega_lite(dataset, chart, rows, colours if by_key else {})
            drawings[svg] = (vegalite.static_size(lite), d3_locale)  # a copy: with its rows
            lite["datasets"] = {vegalite.DATA_NAME: []}  # the browser computes the rows
            entry["spec"] = lite
            figures.append(_chart_view(dataset, chart, rows, svg, currency, locale, colours))
        entries.append(entry)
    readers = [
        (c, cube_key(c, s)) for c in spec.charts if c.kind != "stage-times" for s in c.series
    ]
    by_tag = {key for chart, key in readers if chart.group == "tag"}
    by_month = {key for chart, key in readers if chart.group == "month"}
    data = {
        "locale": locale.replace("_", "-"),
        "currency": currency,
        "d3Locale": d3_locale,
        "dims": dims_data(dataset, dims, locale),
        "cubes": [
            cube_data(
                cube,
                dims,
                "tag" in filters or key in by_tag,
                "month" in filters or key in by_month,
            )
            for key, cube in cubes.items()
        ],
        "charts": entries,
    }
    view = DashboardView(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        tabs=tabs,
        controls=controls,
        stats=tuple(stats),
        charts=tuple(figures),
        missing=_missing_dates(dataset, cubes),
        data=freeze(data),
        filters_text=_joined(
            "time frame" if c.name == "from" else c.label.lower()
            for c in controls
            if c.name != "to"
        ),
    )
    return view, drawings


def _joined(items: Iterable[str]) -> str:
    found = list(items)
    return " and ".join([", ".join(found[:-1]), found[-1]] if len(found) > 1 else found)


def _field_filters(dataset: Dataset, spec: DashboardSpec) -> tuple[str, ...]:
    """The dashboard's field filters that a project its charts read has (for this audience)."""
    read = {p for chart in spec.charts for series in chart.series for p in series.projects}
    return tuple(
        name
        for name in spec.filters
        if name not in BUILTIN_CONTROLS
        and any(dataset.projects[p].schema.field(name) is not None for p in read)
    )


def _vega_lite(
    dataset: Dataset,
    chart: ChartSpec,
    rows: Sequence[Mapping[str, Any]],
    colours: Mapping[str, str],
) -> dict[str, Any]:
    plain = [{k: row[k] for k in ("k", "s", "v", "i", "share")} for row in rows]
    return vegalite.chart_spec(
        chart.kind,
        chart.series[0].fmt,
        plain,
        title=chart.title,
        key_title=key_title(chart, dataset),
        series=[series.label for series in chart.series],
        colours=colours,
        horizontal=chart.kind == "bar" and chart.group not in (None, "month"),
        display=chart.series[0].display,
    )


def _stage_times(
    dataset: Dataset, spec: DashboardSpec, chart: ChartSpec
) -> tuple[ChartView, dict[str, Any]]:
    """A chart of the median days in each list and the middle half of the stays; computed
    once, drawn by the browser as it is (and as a static SVG)."""
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
    return view, lite


def _days(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")).normalize(), "f")


def _stat_view(chart: ChartSpec, value: Decimal | None, currency: str, locale: str) -> StatView:
    series = chart.series[0]
    return StatView(
        id=chart.id,
        title=chart.title,
        description=chart.description,
        text=vegalite.format_value(
            value, series.fmt, currency=currency, locale=locale, display=series.display
        ),
        value="" if value is None else format(round(value, 4).normalize(), "f"),
    )


def _chart_view(
    dataset: Dataset,
    chart: ChartSpec,
    rows: Sequence[Mapping[str, Any]],
    svg: str,
    currency: str,
    locale: str,
    colours: Mapping[str, str],
) -> ChartView:
    series = chart.series[0]

    def text(value: Decimal | None, fmt: str = series.fmt) -> str:
        return vegalite.format_value(
            value, fmt, currency=currency, locale=locale, display=series.display
        )

    cells = []
    before: Decimal | None = None
    for row in rows:
        shown = text(row["value"])
        if chart.group == "reached" and before:  # the funnel: the share of the stage before
            share = text((row["value"] or Decimal(0)) / before, "percent")
            shown += f" ({share} of the stage before)"
        before = row["value"]
        cells.append(CellView(row["k"], row["s"], shown))
    legend: tuple[LegendView, ...] = ()
    if chart.kind == "pie":
        legend = tuple(
            LegendView(
                colours.get(row["k"], labels.NOT_SET_COLOUR),
                row["k"],
                text(row["value"]),
                "" if row["share"] is None else text(Decimal(str(row["share"])), "percent"),
            )
            for row in rows
        )
    return ChartView(
        id=chart.id,
        title=chart.title,
        description=chart.description,
        kind=chart.kind,
        svg=svg,
        key_title=key_title(chart, dataset),
        multi=len(chart.series) > 1,
        table=tuple(cells),
        legend=legend,
    )


def _controls(
    dataset: Dataset, spec: DashboardSpec, dims: Dims, month_labels: Sequence[str]
) -> tuple[ControlView, ...]:
    """The page's filter controls, in the order the dashboard declares them; a control with
    nothing to choose from is left out. Option values are what the address bar shows."""
    found: list[ControlView] = []
    fields = {dim.name: dim for dim in dims.fields}
    for name in spec.filters:
        if name == "project" and dims.projects:
            options = [OptionView(p, dataset.projects[p].schema.title) for p in dims.projects]
            found.append(ControlView("project", "Project", "All projects", tuple(options)))
        elif name == "list" and len(dims.lists) > 1:
            options = [OptionView(n, n) for n in dims.lists[1:]]
            found.append(ControlView("list", "List", "All lists", tuple(options)))
        elif name == "tag" and len(dims.tags) > 1:
            options = [OptionView(t or NONE_VALUE, t or NO_TAG_LABEL) for t in dims.tags]
            found.append(ControlView("tag", "Tag", "All tags", tuple(options[1:] + options[:1])))
        elif name == "month" and len(dims.months) > 1:
            months = [OptionView(m, month_labels[i]) for i, m in enumerate(dims.months) if i]
            found.append(ControlView("from", "From", "The beginning", tuple(months)))
            found.append(ControlView("to", "To", "The end", tuple(months)))
        elif name in fields and len(fields[name].values) > 1:
            dim = fields[name]
            projects = [p for p in dims.projects if dataset.projects[p].schema.field(name)]
            names = labels.value_labels(dataset, projects, name, dim.values)
            options = [
                OptionView(v or NONE_VALUE, n) for v, n in zip(dim.values, names, strict=True)
            ]
            field = dataset.projects[projects[0]].schema.field(name) if projects else None
            label = field.label if field else name
            found.append(ControlView(name, label, "All", tuple(options[1:] + options[:1])))
    return tuple(found)


def _missing_dates(dataset: Dataset, cubes: Mapping[CubeKey, Cube]) -> tuple[MissingView, ...]:
    """Per date field, the records a chart needed a date of and lack it, with links (named by
    their title, or by their slug when the audience may not see titles).

    A record is listed only when its field is expected to hold a date: when at least half the
    records of its list (its project, for a project without lists) have one. An open deal without a
    ``closed`` date is as it should be; a won deal without one needs fixing. Beyond
    ``_MAX_LINKS`` records, the note links the tables of the lists that hold the rest.
    """
    expected = _Expected(dataset)
    by_field: dict[str, dict[tuple[str, str], tuple[str, str]]] = {}
    for cube in cubes.values():
        for field, record in cube.missing:
            if not expected(record, field):
                continue
            schema = dataset.projects[record.project].schema
            shown = schema.field(schema.title_field) is not None
            title = record.get(schema.title_field) if shown else None
            label = title if isinstance(title, str) and title else record.slug
            by_field.setdefault(field, {})[(record.project, record.slug)] = (
                label,
                expected.list_of(record),
            )
    notes = []
    for field, found in sorted(by_field.items()):
        spec = next((s for p in dataset.projects.values() if (s := p.schema.field(field))), None)
        ordered = sorted(found.items())
        records = tuple(
            RecordLinkView(title, f"{project}/{slug}.html")
            for (project, slug), (title, _) in ordered
        )
        rest: dict[tuple[str, str], int] = {}
        for (project, _), (_, list_name) in ordered[_MAX_LINKS:]:
            rest[(project, list_name)] = rest.get((project, list_name), 0) + 1
        more = tuple(
            RecordLinkView(
                f"{count} more in {dataset.projects[project].schema.title}"
                + (f", {list_name}" if list_name else ""),
                f"{project}/index.html?"
                + urlencode({**({"list": list_name} if list_name else {}), "sort": field}),
            )
            for (project, list_name), count in sorted(rest.items())
        )
        notes.append(
            MissingView(
                field=field,
                label=spec.label if spec else field,
                count=len(records),
                records=records[:_MAX_LINKS],
                more=more,
            )
        )
    return tuple(notes)


class _Expected:
    """Whether a record's date field is expected to be filled: at least half the records of
    its list (of its project when it has no lists) fill it. Counted once per project and
    field."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.shares: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}

    def list_of(self, record: Record) -> str:
        field = self.dataset.projects[record.project].schema.list_field
        value = record.get(field) if field else None
        return value if isinstance(value, str) else ""

    def __call__(self, record: Record, field: str) -> bool:
        key = (record.project, field)
        if key not in self.shares:
            counts: dict[str, tuple[int, int]] = {}
            for other in self.dataset.projects[record.project].records.values():
                has, total = counts.get(self.list_of(other), (0, 0))
                dated = isinstance(other.get(field), dt.date)
                counts[self.list_of(other)] = (has + dated, total + 1)
            self.shares[key] = counts
        has, total = self.shares[key].get(self.list_of(record), (0, 0))
        return has > 0 and 2 * has >= total
