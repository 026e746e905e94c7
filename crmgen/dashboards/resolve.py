"""Dashboard declarations checked against the data: which projects each series reads, and errors.

A series reads the projects it names, or every project that has each field it uses (for the
built-in dashboard: every project with won or lost lists and an amount). Unknown or mistyped
fields and filter values are errors at their line in ``crmgen.yml``. The result is the same specs
with each series resolved: its projects, display format, and every field it reads, so that
redaction can drop a chart that reads a field an audience may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal

from crmgen.fields import NUMERIC
from crmgen.messages import did_you_mean
from crmgen.model import Dataset, Diagnostic, FieldSpec, ProjectSchema, error, frozen_map
from crmgen.model.dashboards import ChartSpec, DashboardSpec, SeriesSpec

from .declarations import (
    BUILTIN_CONTROLS,
    BUILTIN_FILTERS,
    BUILTIN_GROUPS,
    HISTORY_GROUPS,
    normalise,
)

CATEGORICAL = frozenset(
    {"select", "multi-select", "text", "checkbox", "rating", "reference", "email", "list", "tags"}
)
_ROLE_TYPES = {
    "number": NUMERIC,
    "date": frozenset({"date"}),
    "category": CATEGORICAL,
    "filter": CATEGORICAL | NUMERIC,
}
_ROLE_NAMES = {
    "number": "a number, percent, currency or rating",
    "date": "a date",
    "category": "a select, multi-select, text, checkbox or rating",
    "filter": "a select, multi-select, text, checkbox, rating or number",
}
_CONTROL_TYPES = "a select, multi-select, text, checkbox, rating or reference field"
_FORMATS = {"count": "count", "win_rate": "percent", "avg_days": "days"}


def field_type(spec: FieldSpec) -> str | None:
    """The type of a field's values: its own, or a computed field's result (None if unknown)."""
    return spec.result if spec.computed else spec.type


def project_order(dataset: Dataset) -> list[str]:
    """Project names in navigation order: ``crmgen.yml`` first, then the rest sorted."""
    named = [p for p in dataset.config.projects if p in dataset.projects]
    return named + sorted(set(dataset.projects) - set(named))


def is_sales_project(schema: ProjectSchema) -> bool:
    """Opportunities-like: lists of kind won or lost, and a numeric ``amount`` field."""
    amount = schema.field("amount")
    has_closing = any(spec.kind in ("won", "lost") for spec in schema.lists)
    return has_closing and amount is not None and field_type(amount) in ("currency", "number")


def resolve_all(
    dataset: Dataset, dashboards: Sequence[DashboardSpec]
) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """Resolve every dashboard; charts that do not fit are dropped (with an error unless the
    dashboard is the built-in one) and dashboards left without charts go too."""
    resolved: list[DashboardSpec] = []
    diagnostics: list[Diagnostic] = []
    for dashboard in dashboards:
        charts, problems = resolve(dataset, dashboard)
        diagnostics.extend(problems)
        filters, bad = _resolve_filters(dataset, dashboard, charts)
        diagnostics.extend(bad)
        if charts:
            resolved.append(replace(dashboard, charts=tuple(charts), filters=filters))
    return tuple(resolved), diagnostics


def _resolve_filters(
    dataset: Dataset, dashboard: DashboardSpec, charts: Sequence[ChartSpec]
) -> tuple[tuple[str, ...], list[Diagnostic]]:
    """The dashboard's filters that fit the projects its charts read, and an error for each
    field filter that no such project has or that is not categorical."""
    read = {p for chart in charts for series in chart.series for p in series.projects}
    schemas = [dataset.projects[p].schema for p in project_order(dataset) if p in read]
    kept: list[str] = []
    diagnostics: list[Diagnostic] = []
    for name in dashboard.filters:
        if name in BUILTIN_CONTROLS or not schemas:
            kept.append(name)
            continue
        pos = dashboard.filter_positions.get(name, dashboard.pos)
        specs = [(s.name, spec) for s in schemas if (spec := s.field(name)) is not None]
        if not specs:
            fields = sorted({f.name for s in schemas for f in s.fields} | set(BUILTIN_CONTROLS))
            hint = did_you_mean(name, fields) or "; write month, project, list, tag or a field"
            message = f"no project it reads ({', '.join(s.name for s in schemas)}) has a field"
            text = f"dashboard '{dashboard.name}': filter '{name}': {message} '{name}'{hint}"
            diagnostics.append(error("dashboard-field", text, dashboard.path, pos))
            continue
        project, spec = specs[0]
        kind = field_type(spec)
        if kind is not None and kind not in CATEGORICAL:
            message = f"'{name}' is a {kind} field in {project}; use {_CONTROL_TYPES}"
            text = f"dashboard '{dashboard.name}': filter '{name}': {message}"
            diagnostics.append(error("dashboard-field", text, dashboard.path, pos))
            continue
        kept.append(name)
    return tuple(kept), diagnostics


def resolve(
    dataset: Dataset, dashboard: DashboardSpec
) -> tuple[list[ChartSpec], list[Diagnostic]]:
    """Resolve every chart of a dashboard; a built-in one drops what does not fit, silently."""
    charts: list[ChartSpec] = []
    diagnostics: list[Diagnostic] = []
    for chart in dashboard.charts:
        found = [_resolve_series(dataset, dashboard, chart, s) for s in chart.series]
        problems = [d for _, found_diags in found for d in found_diags]
        if not dashboard.builtin:
            diagnostics.extend(problems)
        series = tuple(s for s, _ in found if s is not None)
        if not problems and len(series) == len(chart.series):
            charts.append(replace(chart, series=series))
    return charts, diagnostics


def uses(chart: ChartSpec, series: SeriesSpec) -> Iterator[tuple[str, str, str]]:
    """(field, role, position key) for every field a series reads."""
    days = series.measure.op == "avg_days"
    for name in series.measure.fields:
        yield name, "date" if days else "number", "measure"
    if series.date:
        yield series.date, "date", "date"
    if chart.group and chart.group not in (*BUILTIN_GROUPS, *HISTORY_GROUPS):
        yield chart.group, "category", "group"
    for key, _ in series.filters:
        if key not in BUILTIN_FILTERS:
            yield key, "filter", f"filter/{key}"


def _needs_lists(chart: ChartSpec, series: SeriesSpec) -> str | None:
    """The position key of what needs lists (weighted, win rate, kind/list), or None."""
    if series.measure.op in ("weighted", "win_rate"):
        return "measure"
    for key, _ in series.filters:
        if key in ("kind", "list"):
            return f"filter/{key}"
    if chart.group in ("list", *HISTORY_GROUPS) or chart.kind == "stage-times":
        return "group"
    return None


def _reads(chart: ChartSpec, series: SeriesSpec, schema: ProjectSchema) -> tuple[str, ...]:
    """Every field of ``schema`` the series reads, lists and tags fields included."""
    names = [name for name, _, _ in uses(chart, series)]
    if _needs_lists(chart, series) and schema.list_field:
        names.append(schema.list_field)
    tags = chart.group == "tag" or any(key == "tag" for key, _ in series.filters)
    if tags and schema.tags_field:
        names.append(schema.tags_field)
    return tuple(dict.fromkeys(names))


def _resolve_series(
    dataset: Dataset, dashboard: DashboardSpec, chart: ChartSpec, series: SeriesSpec
) -> tuple[SeriesSpec | None, list[Diagnostic]]:
    def fail(key: str, message: str, code: str = "dashboard-field") -> Diagnostic:
        pos = series.positions.get(key, chart.pos)
        return error(code, f"chart '{chart.title}': {message}", dashboard.path, pos)

    used, lists_key = list(uses(chart, series)), _needs_lists(chart, series)
    order = project_order(dataset)
    unknown = [p for p in series.projects if p not in dataset.projects]
    if unknown:
        hint = did_you_mean(unknown[0], order)
        return None, [fail("projects", f"unknown project '{unknown[0]}'{hint}")]
    if series.projects:
        schemas = [dataset.projects[p].schema for p in series.projects]
        problems = [fail(key, msg) for s in schemas for key, msg in _misfits(s, used, lists_key)]
        if problems:
            return None, problems
    else:
        candidates = [dataset.projects[p].schema for p in order]
        if dashboard.builtin:
            candidates = [s for s in candidates if is_sales_project(s)]
        schemas = [s for s in candidates if not _misfits(s, used, lists_key, types=False)]
        if not schemas:
            return None, [_no_project(dataset, order, used, lists_key, fail)]
    found = {key: msg for s in reversed(schemas) for key, msg in _misfits(s, used, lists_key)}
    problems = [fail(key, msg) for key, msg in found.items()]  # one per key: the first project's
    if not dashboard.builtin:  # the built-in one names lists a repo may not have; they match none
        bad = _bad_filters(series, schemas)
        problems += [fail(key, msg, "dashboard-value") for key, msg in bad]
    if problems:
        return None, problems
    fmt, scale = _format(series, schemas[0])
    reads = frozen_map({s.name: _reads(chart, series, s) for s in schemas})
    projects = tuple(s.name for s in schemas)
    measured = schemas[0].field(series.measure.fields[0]) if series.measure.fields else None
    display = measured.display if measured is not None and fmt in ("currency", "number") else {}
    resolved = replace(series, projects=projects, fmt=fmt, scale=scale, reads=reads)
    return replace(resolved, display=frozen_map(dict(display))), []


def _misfits(
    schema: ProjectSchema,
    used: Sequence[tuple[str, str, str]],
    lists_key: str | None,
    types: bool = True,
) -> list[tuple[str, str]]:
    """(position key, message) for each field a project lacks or has with the wrong type."""
    found: list[tuple[str, str]] = []
    for name, role, key in used:
        spec = schema.field(name)
        kind = field_type(spec) if spec else None
        if spec is None:
            hint = did_you_mean(name, [f.name for f in schema.fields])
            found.append((key, f"project {schema.name} has no field '{name}'{hint}"))
        elif types and kind is not None and kind not in _ROLE_TYPES[role]:
            message = f"'{name}' is a {kind} field in {schema.name}; use {_ROLE_NAMES[role]} field"
            found.append((key, message))
    if lists_key and not schema.lists:
        found.append((lists_key, f"project {schema.name} has no lists (stages) to use here"))
    return found


def _no_project(
    dataset: Dataset,
    order: Sequence[str],
    used: Sequence[tuple[str, str, str]],
    lists_key: str | None,
    fail: Callable[[str, str], Diagnostic],
) -> Diagnostic:
    """The error when no project has every field a series uses."""
    every = {f.name for p in order for f in dataset.projects[p].schema.fields}
    for name, _, key in used:
        if name not in every:
            hint = did_you_mean(name, sorted(every)) or "; fix the name or add it to a schema"
            return fail(key, f"no project has a field '{name}'{hint}")
    names = ", ".join(dict.fromkeys(name for name, _, _ in used)) or "lists"
    key = used[0][2] if used else (lists_key or "measure")
    names += " and lists" if lists_key else ""
    return fail(key, f"no project has all of: {names}; name the projects to read in 'projects:'")


def _bad_filters(
    series: SeriesSpec, schemas: Sequence[ProjectSchema]
) -> Iterator[tuple[str, str]]:
    """(position key, message) for filter values no project can have."""
    for key, values in series.filters:
        if key == "list":
            allowed = [spec.name for s in schemas for spec in s.lists]
        elif key == "tag" and all(s.tags for s in schemas):
            allowed = [tag for s in schemas for tag in s.tags]
        elif key in BUILTIN_FILTERS:
            continue
        else:
            specs = [s.field(key) for s in schemas]
            options = [normalise(o) for spec in specs if spec for o in spec.options]
            if not options or not all(spec and spec.options for spec in specs):
                continue
            allowed = [o for o in options if o is not None]
        for value in values:
            if value is not None and value not in allowed:
                hint = did_you_mean(value, allowed) or f"; use one of: {', '.join(allowed)}"
                yield f"filter/{key}", f"no {key} is called '{value}'{hint}"


def _format(series: SeriesSpec, schema: ProjectSchema) -> tuple[str, Decimal]:
    op = series.measure.op
    if op in _FORMATS:
        return _FORMATS[op], Decimal(1)
    spec = schema.field(series.measure.fields[0])
    kind = field_type(spec) if spec else None
    if kind == "percent":
        return "percent", Decimal("0.01")
    return ("currency" if kind == "currency" else "number"), Decimal(1)
