"""Dashboard specs checked against the dataset: which projects each series reads, and errors.

A series reads the projects it names, or every project that has each field it uses (for the
built-in dashboard: every project with won or lost lists and an amount). Unknown or mistyped
fields and filter values are errors at their line in ``crmgen.yml``. A chart that uses a field
the audience may not see is dropped for that audience, silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from crmgen.dashboard_spec import (
    BUILTIN_FILTERS,
    BUILTIN_GROUPS,
    ChartSpec,
    DashboardSpec,
    SeriesSpec,
    normalise,
)
from crmgen.model import Dataset, Diagnostic, FieldSpec, ProjectSchema, error
from crmgen.redaction import Audience

NUMERIC = frozenset({"number", "percent", "currency", "rating"})
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


@dataclass(frozen=True, slots=True)
class Series:
    """A series with the projects it reads and how its values are shown.

    Attributes:
        spec: the declaration.
        projects: the schemas of the projects read, in navigation order.
        fmt: currency, count, number, percent or days (``charts.D3_FORMATS``).
        scale: multiplies values for display (0.01 for percent points: 25 -> 25%).
    """

    spec: SeriesSpec
    projects: tuple[ProjectSchema, ...]
    fmt: str
    scale: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart whose series all resolved and are visible to the audience."""

    spec: ChartSpec
    series: tuple[Series, ...]


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


def visible(schema: ProjectSchema, name: str | None, audience: Audience) -> bool:
    """Whether ``audience`` may see a field of ``schema``: restricted fields and every
    computed field that reads one are hidden (the rule lives in ``redaction``)."""
    return audience.sees(schema.name, name)


def resolve(
    dataset: Dataset, dashboard: DashboardSpec, audience: Audience
) -> tuple[list[Chart], list[Diagnostic]]:
    """Resolve every chart of a dashboard; a built-in one drops what does not fit, silently."""
    charts: list[Chart] = []
    diagnostics: list[Diagnostic] = []
    for chart in dashboard.charts:
        found = [_resolve_series(dataset, dashboard, chart, s) for s in chart.series]
        problems = [d for _, found_diags in found for d in found_diags]
        if not dashboard.builtin:
            diagnostics.extend(problems)
        series = tuple(s for s, _ in found if s is not None)
        if problems or len(series) < len(chart.series):
            continue
        if all(not _hidden(chart, s, audience) for s in series):
            charts.append(Chart(chart, series))
    return charts, diagnostics


def _uses(chart: ChartSpec, series: SeriesSpec) -> Iterator[tuple[str, str, str]]:
    """(field, role, position key) for every field a series reads."""
    days = series.measure.op == "avg_days"
    for name in series.measure.fields:
        yield name, "date" if days else "number", "measure"
    if series.date:
        yield series.date, "date", "date"
    if chart.group and chart.group not in BUILTIN_GROUPS:
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
    return "group" if chart.group == "list" else None


def _resolve_series(
    dataset: Dataset, dashboard: DashboardSpec, chart: ChartSpec, series: SeriesSpec
) -> tuple[Series | None, list[Diagnostic]]:
    def fail(key: str, message: str, code: str = "dashboard-field") -> Diagnostic:
        pos = series.positions.get(key, chart.pos)
        return error(code, f"chart '{chart.title}': {message}", dashboard.path, pos)

    uses, lists_key = list(_uses(chart, series)), _needs_lists(chart, series)
    order = project_order(dataset)
    unknown = [p for p in series.projects if p not in dataset.projects]
    if unknown:
        hint = _did_you_mean(unknown[0], order)
        return None, [fail("projects", f"unknown project '{unknown[0]}'{hint}")]
    if series.projects:
        schemas = [dataset.projects[p].schema for p in series.projects]
        problems = [fail(key, msg) for s in schemas for key, msg in _misfits(s, uses, lists_key)]
        if problems:
            return None, problems
    else:
        candidates = [dataset.projects[p].schema for p in order]
        if dashboard.builtin:
            candidates = [s for s in candidates if is_sales_project(s)]
        schemas = [s for s in candidates if not _misfits(s, uses, lists_key, types=False)]
        if not schemas:
            return None, [_no_project(dataset, order, uses, lists_key, fail)]
    found = {key: msg for s in reversed(schemas) for key, msg in _misfits(s, uses, lists_key)}
    problems = [fail(key, msg) for key, msg in found.items()]  # one per key: the first project's
    if not dashboard.builtin:  # the built-in one names lists a repo may not have; they match none
        bad = _bad_filters(series, schemas)
        problems += [fail(key, msg, "dashboard-value") for key, msg in bad]
    if problems:
        return None, problems
    return Series(series, tuple(schemas), *_format(series, schemas[0])), []


def _misfits(
    schema: ProjectSchema,
    uses: Sequence[tuple[str, str, str]],
    lists_key: str | None,
    types: bool = True,
) -> list[tuple[str, str]]:
    """(position key, message) for each field a project lacks or has with the wrong type."""
    found: list[tuple[str, str]] = []
    for name, role, key in uses:
        spec = schema.field(name)
        kind = field_type(spec) if spec else None
        if spec is None:
            hint = _did_you_mean(name, [f.name for f in schema.fields])
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
    uses: Sequence[tuple[str, str, str]],
    lists_key: str | None,
    fail: Callable[[str, str], Diagnostic],
) -> Diagnostic:
    """The error when no project has every field a series uses."""
    every = {f.name for p in order for f in dataset.projects[p].schema.fields}
    for name, _, key in uses:
        if name not in every:
            hint = _did_you_mean(name, sorted(every)) or "; fix the name or add it to a schema"
            return fail(key, f"no project has a field '{name}'{hint}")
    names = ", ".join(dict.fromkeys(name for name, _, _ in uses)) or "lists"
    key = uses[0][2] if uses else (lists_key or "measure")
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
                hint = _did_you_mean(value, allowed) or f"; use one of: {', '.join(allowed)}"
                yield f"filter/{key}", f"no {key} is called '{value}'{hint}"


def _hidden(chart: ChartSpec, series: Series, audience: Audience) -> bool:
    """Whether the series uses a field (or lists, tags) the audience may not see."""
    spec = series.spec
    tags = chart.group == "tag" or any(key == "tag" for key, _ in spec.filters)
    for schema in series.projects:
        names = [name for name, _, _ in _uses(chart, spec)]
        if _needs_lists(chart, spec) and schema.list_field:
            names.append(schema.list_field)
        if tags and schema.tags_field:
            names.append(schema.tags_field)
        if any(not visible(schema, name, audience) for name in names):
            return True
    return False


def _format(series: SeriesSpec, schema: ProjectSchema) -> tuple[str, Decimal]:
    op = series.measure.op
    if op in ("count", "win_rate", "avg_days"):
        return {"count": "count", "win_rate": "percent", "avg_days": "days"}[op], Decimal(1)
    spec = schema.field(series.measure.fields[0])
    kind = field_type(spec) if spec else None
    if kind == "percent":
        return "percent", Decimal("0.01")
    return ("currency" if kind == "currency" else "number"), Decimal(1)


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
