"""Dashboard declarations: the ``dashboards:`` key of ``crmgen.yml`` -> checked specs.

A dashboard is a page of charts. A chart draws one or more series; a series is a measure over the
records of some projects that pass a filter, bucketed by an optional date field. The structure is
checked here, at the line of each key; whether the fields exist is checked against the dataset
next, by ``dashboards.resolve``. The built-in sales dashboard is declared here, in the same
YAML a data repo writes, and read by the same strict reader as ``crmgen.yml``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from crmgen import messages, yamlstrict
from crmgen.model import LIST_KINDS, Diagnostic, Pos, error, frozen_map
from crmgen.model.dashboards import (
    DEFAULT_FILTERS,
    ChartSpec,
    DashboardSpec,
    Measure,
    SeriesSpec,
)

CHART_KINDS = ("stat", "bar", "line", "pie", "stage-times")
#: Groupings computed from each record's history rather than read from a field.
HISTORY_GROUPS = ("reached",)
ORDERS = ("natural", "value", "name")
#: Groupings that use a dimension every cube row has, rather than a field.
BUILTIN_GROUPS = ("month", "list", "tag", "project")
#: Filter keys that are not field names.
BUILTIN_FILTERS = ("kind", "list", "tag")

_DASHBOARD_KEYS = ("name", "title", "description", "projects", "filters", "charts")
#: Controls that are not field names: the project, list, tag and the time frame (months).
BUILTIN_CONTROLS = ("project", "list", "tag", "month")
_CHART_KEYS = (
    "id",
    "title",
    "description",
    "kind",
    "measure",
    "group",
    "date",
    "filter",
    "projects",
    "series",
    "order",
)
_SERIES_KEYS = ("label", "measure", "date", "filter", "projects")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_FIELD = r"([A-Za-z_][A-Za-z0-9_-]*)"
_MEASURE_0 = re.compile(r"\s*(count|win_rate)\s*\Z")
_MEASURE_1 = re.compile(r"\s*(sum|avg|min|max|weighted)\s*\(\s*" + _FIELD + r"\s*\)\s*\Z")
_MEASURE_2 = re.compile(r"\s*(avg_days)\s*\(\s*" + _FIELD + r"\s*,\s*" + _FIELD + r"\s*\)\s*\Z")
_MONTH_OF = re.compile(r"\s*month\s*\(\s*" + _FIELD + r"\s*\)\s*\Z")
_PLAIN_FIELD = re.compile(_FIELD + r"\Z")
_MEASURE_HELP = (
    "write count, sum(FIELD), avg(FIELD), min(FIELD), max(FIELD), weighted(FIELD), win_rate "
    "or avg_days(FROM_DATE, TO_DATE)"
)


def normalise(value: Any) -> str | None:
    """The string a filter compares: ``True`` -> "true", ``2.0`` -> "2", dates ISO, None kept."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        number = Decimal(str(value))
        return str(int(number)) if number == number.to_integral_value() else str(number)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def parse_measure(text: str) -> Measure | None:
    """Parse ``sum(amount)``-style measure text; None when it is not a measure."""
    for pattern in (_MEASURE_0, _MEASURE_1, _MEASURE_2):
        match = pattern.match(text)
        if match:
            return Measure(match.group(1), tuple(match.groups()[1:]))
    return None


class _Parser:
    """Walks the raw ``dashboards`` value, collecting diagnostics at each key's line."""

    def __init__(
        self, positions: Mapping[str, Pos], value_positions: Mapping[str, Pos], path: str
    ) -> None:
        self.positions = positions
        self.value_positions = value_positions
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def pos(self, key: str) -> Pos:
        """Where the key ``key`` (or its closest enclosing key) is written."""
        parts = key.split("/")
        while parts:
            found = self.positions.get("/".join(parts))
            if found is not None:
                return found
            parts.pop()
        return Pos(1, 1)

    def value_pos(self, key: str) -> Pos:
        """Where the value of ``key`` starts (its key's position when it has none)."""
        return self.value_positions.get(key) or self.pos(key)

    def fail(self, key: str, message: str, code: str = "dashboard-value") -> None:
        """An error about ``key``: at its value, or at the key for unknown or missing keys."""
        at_key = code in ("dashboard-key", "dashboard-missing")
        pos = self.pos(key) if at_key else self.value_pos(key)
        self.diagnostics.append(error(code, f"{key}: {message}", self.path, pos))

    def mapping(self, raw: Any, key: str, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
        keys = ", ".join(allowed)
        if not isinstance(raw, Mapping):
            self.fail(key, f"a {what} is a mapping of {keys}, not {_kind(raw)}", "dashboard-type")
            return {}
        for name in raw:
            if name not in allowed:
                hint = messages.did_you_mean(str(name), allowed) or f"; allowed keys: {keys}"
                message = f"unknown key '{name}' in a {what}{hint}"
                self.fail(f"{key}/{name}", message, "dashboard-key")
        return {str(k): v for k, v in raw.items() if k in allowed}

    def text(self, raw: Mapping[str, Any], key: str, name: str, required: bool = False) -> str:
        value = raw.get(name)
        if value is None:
            if required:
                self.fail(key, f"'{name}' is required; add it", "dashboard-missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{key}/{name}", f"write a non-empty text, not {_kind(value)}")
            return ""
        return value.strip()

    def names(self, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get("projects")
        items = value if isinstance(value, list | tuple) else [value]
        if value is not None and (not items or not all(isinstance(i, str) and i for i in items)):
            self.fail(f"{key}/projects", "write a project name or a list of project names")
            return ()
        return () if value is None else tuple(str(i) for i in items)

    def dashboards(self, raw: Any) -> tuple[DashboardSpec, ...]:
        if not isinstance(raw, list | tuple):
            message = f"write a list of dashboards (name, title, charts), not {_kind(raw)}"
            self.fail("dashboards", message, "dashboard-type")
            return ()
        specs: list[DashboardSpec] = []
        for index, item in enumerate(raw):
            spec = self.dashboard(item, f"dashboards/{index}")
            if spec is not None and spec.name in {s.name for s in specs}:
                self.fail(f"dashboards/{index}/name", f"'{spec.name}' is used twice; rename one")
            elif spec is not None:
                specs.append(spec)
        return tuple(specs)

    def dashboard(self, item: Any, key: str) -> DashboardSpec | None:
        raw = self.mapping(item, key, _DASHBOARD_KEYS, "dashboard")
        name = self.text(raw, key, "name", required=bool(raw))
        if name and (not _NAME.match(name) or name == "index"):
            message = "use lower-case letters, digits and '-' (and not 'index') in a page name"
            self.fail(f"{key}/name", f"'{name}' is not a valid name; {message}")
            name = ""
        projects = self.names(raw, key)
        charts_raw = raw.get("charts")
        if (raw and not isinstance(charts_raw, list | tuple)) or charts_raw in ([], ()):
            where = f"{key}/charts" if "charts" in raw else key
            self.fail(where, "'charts' must be a non-empty list of charts", "dashboard-missing")
            charts_raw = []
        charts: list[ChartSpec] = []
        for index, chart_raw in enumerate(charts_raw or ()):
            chart = self.chart(chart_raw, f"{key}/charts/{index}", projects)
            if chart is not None:
                chart_id, n = chart.id, 2
                while chart_id in {c.id for c in charts}:
                    chart_id, n = f"{chart.id}-{n}", n + 1
                charts.append(replace(chart, id=chart_id))
        if not name or not charts:
            return None
        filters, filter_positions = self.controls(raw.get("filters"), f"{key}/filters")
        title = self.text(raw, key, "title") or name.replace("-", " ").capitalize()
        description = self.text(raw, key, "description")
        return DashboardSpec(
            name,
            title,
            tuple(charts),
            description,
            self.path,
            self.pos(key),
            filters=filters,
            filter_positions=frozen_map(filter_positions),
        )

    def controls(self, raw: Any, key: str) -> tuple[tuple[str, ...], dict[str, Pos]]:
        """The ``filters:`` of a dashboard: names of controls, each once, with positions."""
        if raw is None:
            return DEFAULT_FILTERS, {}
        if not isinstance(raw, list | tuple):
            message = "write a list of filters, e.g. [list, tag, owner, month]"
            self.fail(key, f"{message}, not {_kind(raw)}", "dashboard-type")
            return DEFAULT_FILTERS, {}
        names: list[str] = []
        positions: dict[str, Pos] = {}
        for index, item in enumerate(raw):
            sub = f"{key}/{index}"
            if not isinstance(item, str) or not _PLAIN_FIELD.match(item):
                message = "write month, project, list, tag or the name of a field"
                self.fail(sub, f"{item!r} is not a filter; {message}")
            elif item in names:
                self.fail(sub, f"'{item}' is listed twice; remove one")
            else:
                names.append(item)
                positions[item] = self.value_pos(sub)
        return tuple(names), positions

    def chart(self, item: Any, key: str, projects: tuple[str, ...]) -> ChartSpec | None:
        raw = self.mapping(item, key, _CHART_KEYS, "chart")
        if not raw:
            return None
        before = len(self.diagnostics)
        title = self.text(raw, key, "title", required=True)
        kind, order = raw.get("kind"), raw.get("order", "natural")
        if kind not in CHART_KINDS:
            code = "dashboard-value" if "kind" in raw else "dashboard-missing"
            self.fail(f"{key}/kind", f"'kind' must be one of {', '.join(CHART_KINDS)}", code)
        if order not in ORDERS:
            self.fail(f"{key}/order", f"{order!r} is not one of {', '.join(ORDERS)}")
        group, month_of = self.group(raw, key, kind)
        defaults = self.own_fields(raw, key)
        defaults.setdefault("measure", (Measure("count"), self.pos(key)))
        if month_of:
            defaults["date"] = (month_of, self.value_pos(f"{key}/group"))
        defaults["group"] = (group, self.value_pos(f"{key}/group"))
        if "projects" not in defaults and projects:
            defaults["projects"] = (projects, self.pos(key.rsplit("/charts/", 1)[0]))
        series = self.all_series(raw.get("series"), key, defaults, title, month_of)
        if kind in ("stat", "pie") and len(series) > 1:
            self.fail(f"{key}/series", f"a {kind} chart shows one series; remove the others")
        if group == "month" and any(s.date is None for s in series):
            message = "write month(FIELD), or give the chart or each series a 'date'"
            self.fail(f"{key}/group", f"'month' needs a date field; {message}")
        chart_id = self.text(raw, key, "id") or _slug(title)
        if not _NAME.match(chart_id):
            message = "use lower-case letters, digits and '-' in a chart id (its file name)"
            self.fail(f"{key}/id", f"'{chart_id}' is not a valid id; {message}")
        if len(self.diagnostics) > before:
            return None
        description = self.text(raw, key, "description")
        pos = self.pos(key)
        return ChartSpec(chart_id, title, str(kind), group, str(order), series, description, pos)

    def all_series(
        self, raw: Any, key: str, defaults: dict[str, Any], title: str, month_of: str | None
    ) -> tuple[SeriesSpec, ...]:
        if raw is None:
            return (self.series({}, key, defaults, title),)
        if not isinstance(raw, list | tuple) or not raw:
            message = "write a non-empty list of series (label, measure, date, filter, projects)"
            self.fail(f"{key}/series", message, "dashboard-type")
            return ()
        series: list[SeriesSpec] = []
        for index, entry in enumerate(raw):
            sub = f"{key}/series/{index}"
            entry_raw = self.mapping(entry, sub, _SERIES_KEYS, "series")
            if month_of and "date" in entry_raw:
                message = f"the chart groups by month({month_of}); write 'group: month' instead"
                self.fail(f"{sub}/date", f"{message} to give each series its own date")
            label = self.text(entry_raw, sub, "label", required=len(raw) > 1) or title
            series.append(self.series(entry_raw, sub, defaults, label))
        return tuple(series)

    def group(self, raw: Mapping[str, Any], key: str, kind: Any) -> tuple[str | None, str | None]:
        value = raw.get("group")
        if kind == "stat" and value is not None:
            self.fail(f"{key}/group", "a stat card shows one number; remove 'group'")
        if kind == "stage-times" and value is not None:
            self.fail(f"{key}/group", "a stage-times chart groups by list itself; remove 'group'")
        if kind in ("stat", "stage-times") or value is None:
            if value is None and kind in CHART_KINDS and kind not in ("stat", "stage-times"):
                message = f"a {kind} chart needs 'group': month(FIELD), month, list, tag, project"
                self.fail(key, f"{message} or a field name", "dashboard-missing")
            return None, None
        text = value if isinstance(value, str) else ""
        match = _MONTH_OF.match(text)
        if match:
            if raw.get("date") not in (None, match.group(1)):
                message = f"remove 'date' or make it {match.group(1)}"
                self.fail(f"{key}/date", f"the chart groups by {text.strip()}; {message}")
            return "month", match.group(1)
        if not _PLAIN_FIELD.match(text):
            message = "write month(FIELD), month, list, tag, project, reached or a field name"
            self.fail(f"{key}/group", f"{value!r} is not a grouping; {message}")
            return None, None
        return text, None

    def own_fields(self, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
        """measure / date / projects / filter keys set in ``raw``, each with its position."""
        fields: dict[str, Any] = {}
        if "measure" in raw:
            value = raw["measure"]
            measure = parse_measure(value) if isinstance(value, str) else None
            if measure is None:
                self.fail(f"{key}/measure", f"{value!r} is not a measure; {_MEASURE_HELP}")
            else:
                fields["measure"] = (measure, self.value_pos(f"{key}/measure"))
        if "date" in raw:
            if isinstance(raw["date"], str) and _PLAIN_FIELD.match(raw["date"]):
                fields["date"] = (raw["date"], self.value_pos(f"{key}/date"))
            else:
                self.fail(f"{key}/date", "write the name of a date field, e.g. created")
        if names := self.names(raw, key):
            fields["projects"] = (names, self.value_pos(f"{key}/projects"))
        for name, values in self.filters(raw.get("filter"), f"{key}/filter"):
            fields[f"filter/{name}"] = (values, self.value_pos(f"{key}/filter/{name}"))
        return fields

    def filters(self, raw: Any, key: str) -> Iterator[tuple[str, tuple[str | None, ...]]]:
        if raw is None:
            return
        if not isinstance(raw, Mapping) or not raw:
            message = "write a mapping such as {kind: won} or {list: [Proposal sent], source: Web}"
            self.fail(key, message, "dashboard-type")
            return
        for name, value in raw.items():
            sub = f"{key}/{name}"
            items = value if isinstance(value, list | tuple) else [value]
            if name == "project":
                self.fail(sub, "write the chart's 'projects' key instead", "dashboard-key")
            elif not isinstance(name, str) or not _PLAIN_FIELD.match(name):
                self.fail(sub, f"{name!r} is not a field name", "dashboard-key")
            elif not items or any(isinstance(i, list | tuple | Mapping) for i in items):
                self.fail(sub, "write one value or a list of values to keep", "dashboard-type")
            elif name == "kind" and (bad := [i for i in items if i not in LIST_KINDS]):
                self.fail(sub, f"{bad[0]!r} is not a list kind; use {', '.join(LIST_KINDS)}")
            else:
                yield name, tuple(normalise(i) for i in items)

    def series(
        self, raw: Mapping[str, Any], key: str, defaults: Mapping[str, Any], label: str
    ) -> SeriesSpec:
        fields = dict(defaults)
        fields.update(self.own_fields(raw, key))
        date = fields["date"][0] if "date" in fields else None
        projects = fields["projects"][0] if "projects" in fields else ()
        filters = tuple(
            sorted((k[7:], v[0]) for k, v in fields.items() if k.startswith("filter/"))
        )
        positions = frozen_map({name: pos for name, (_, pos) in fields.items()})
        return SeriesSpec(label, fields["measure"][0], date, filters, projects, positions)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | Decimal | float):
        return "a number"
    return "nothing" if value is None else type(value).__name__


def parse_declarations(
    raw: Any,
    positions: Mapping[str, Pos],
    path: str = "crmgen.yml",
    value_positions: Mapping[str, Pos] | None = None,
) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """Check a declared ``dashboards:`` value and turn it into specs.

    Args:
        raw: the parsed YAML value (a list of dashboards, if well formed).
        positions: "/"-joined key paths ("dashboards/0/charts/2/measure") -> Pos of that key.
        path: the file the positions refer to.
        value_positions: the same paths -> Pos of the value (errors about a value point there).

    Returns:
        The dashboards that are well formed, and a diagnostic for every problem, at its line.
    """
    parser = _Parser(positions, value_positions or {}, path)
    return parser.dashboards(raw), parser.diagnostics


#: The built-in sales dashboard; the example ``crmgen.yml`` declares exactly this.
DEFAULT_SALES_DASHBOARD = """\
dashboards:
  - name: sales
    title: Sales
    description: Pipeline, forecast and sales of every project with won and lost lists.
    charts:
      - {title: Open pipeline, kind: stat, measure: sum(amount), filter: {kind: open},
         date: expected_close}
      - {title: Weighted forecast, kind: stat, measure: weighted(amount), filter: {kind: open},
         date: expected_close}
      - {title: Active deals, kind: stat, measure: count, filter: {kind: open},
         date: expected_close}
      - {title: Won value, kind: stat, measure: sum(amount), filter: {kind: won}, date: closed}
      - {title: Deals won, kind: stat, measure: count, filter: {kind: won}, date: closed}
      - {title: Win rate, kind: stat, measure: win_rate, filter: {kind: [won, lost]},
         date: closed}
      - {title: Average deal size, kind: stat, measure: avg(amount), filter: {kind: won},
         date: closed}
      - {title: Average sales cycle, kind: stat, measure: "avg_days(created, closed)",
         filter: {kind: won}, date: closed}
      - {title: Pipeline generated per month, kind: bar, measure: sum(amount),
         group: month(created)}
      - {title: Sales per month, kind: bar, measure: sum(amount), filter: {kind: won},
         group: month(closed)}
      - {title: New opportunities per month, kind: bar, measure: count, group: month(created)}
      - {title: Weighted forecast by expected close month, kind: bar, measure: weighted(amount),
         filter: {kind: open}, group: month(expected_close)}
      - {title: Sales by type, kind: pie, measure: sum(amount), filter: {kind: won}, group: tag,
         date: closed, order: value}
      - {title: Open deals by stage, kind: pie, measure: count, filter: {kind: open},
         group: list, date: expected_close}
      - {title: Lost deals by reason, kind: pie, measure: count, filter: {kind: lost},
         group: loss_reason, date: closed, order: value}
      - {title: Deals by source, kind: pie, measure: count, group: source, date: created,
         order: value}
      - {title: Deals that reached each stage, kind: bar, measure: count, group: reached,
         date: created,
         description: "The funnel: every deal counts in each stage it went through."}
      - {title: Days in each stage, kind: stage-times,
         description: "How long deals stayed in each stage before moving on, from git history."}
      - title: Opportunity to cash
        kind: bar
        group: month
        series:
          - {label: Sales, measure: sum(amount), filter: {kind: won}, date: closed}
          - {label: Invoiced, projects: [invoices], measure: sum(amount), date: issued,
             filter: {list: [Sent, Paid, Overdue]}}
          - {label: Paid, projects: [invoices], measure: sum(amount), date: paid_on,
             filter: {list: Paid}}
"""


def builtin_dashboards() -> tuple[DashboardSpec, ...]:
    """The built-in sales dashboard, read from ``DEFAULT_SALES_DASHBOARD`` like crmgen.yml."""
    doc, problems = yamlstrict.parse(DEFAULT_SALES_DASHBOARD, "")
    if doc is None or problems:  # pragma: no cover - a broken constant is a bug
        raise ValueError(problems)
    specs, problems = parse_declarations(doc.value["dashboards"], doc.keyed_positions(), "")
    if problems:  # pragma: no cover - a broken constant is a bug
        raise ValueError(problems)
    return tuple(replace(spec, builtin=True) for spec in specs)


def parse_dashboards(
    raw: Any,
    positions: Mapping[str, Pos],
    path: str = "crmgen.yml",
    value_positions: Mapping[str, Pos] | None = None,
) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """The dashboards of ``crmgen.yml``: the built-in sales dashboard when ``raw`` is None (the
    file declares none), none at all for an empty list, else the declared ones checked."""
    if raw is None:
        return builtin_dashboards(), []
    return parse_declarations(raw, positions, path, value_positions)
