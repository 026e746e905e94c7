"""Dashboards: declared charts -> pages of stat cards and charts, static SVGs, and the cube.

The stage behind every dashboard page. The declarations (``dashboard_spec``) are checked against
the dataset (``dashboard_check``); each series' records become facts in a shared cube
(``dashboard_cube``); every value is computed in Python for the static page and its SVGs
(``metrics``, ``charts``); and the cubes' pre-aggregated rows go to the page, where
``static/dashboard.js`` filters and re-aggregates them so that one set of controls drives
every chart and card. No record reaches the page, only sums per month, project, list and tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from crmgen import charts, redaction, yamlstrict
from crmgen.dashboard_check import Chart, resolve
from crmgen.dashboard_cube import build_cubes, cube_data, dims_data, month_label, page_dims
from crmgen.dashboard_spec import DashboardSpec, parse_declarations
from crmgen.dashboard_view import (
    ADDITIVE,
    chart_entry,
    chart_rows,
    chart_view,
    controls,
    group_keys,
    key_title,
    missing_dates,
    series_values,
    stat_view,
)
from crmgen.metrics import NOT_SET
from crmgen.model import Dataset, Diagnostic, Page, Pos

__all__ = [
    "BUNDLE_PATH",
    "DEFAULT_SALES_DASHBOARD",
    "DashboardSpec",
    "builtin_dashboards",
    "dashboard_pages",
    "load_yaml_with_positions",
    "parse_dashboards",
]

#: Where the Vega / Vega-Lite / vega-embed bundle is written, once per site.
BUNDLE_PATH = "assets/vega-bundle.js"

#: The built-in sales dashboard; also the example ``crmgen.yml`` declares exactly this.
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


def parse_dashboards(
    raw: Any, positions: Mapping[str, Pos], path: str = "crmgen.yml"
) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """Check the ``dashboards:`` value of ``crmgen.yml`` and turn it into specs.

    Args:
        raw: the parsed YAML value, or None when ``crmgen.yml`` declares no dashboards (then the
            built-in sales dashboard is returned, marked ``builtin``). An empty list means no
            dashboards at all.
        positions: "/"-joined key paths ("dashboards/0/charts/2/measure") -> Pos of that key.
        path: the file the positions refer to.

    Returns:
        The dashboards that are well formed, and a diagnostic for every problem, at its line.
    """
    if raw is None:
        return builtin_dashboards(), []
    return parse_declarations(raw, positions, path)


def builtin_dashboards() -> tuple[DashboardSpec, ...]:
    """The built-in sales dashboard, parsed from ``DEFAULT_SALES_DASHBOARD``."""
    raw, positions = load_yaml_with_positions(DEFAULT_SALES_DASHBOARD)
    specs, diagnostics = parse_declarations(raw["dashboards"], positions, "")
    if diagnostics:  # pragma: no cover - a broken constant is a bug
        raise ValueError(diagnostics)
    return tuple(replace(spec, builtin=True) for spec in specs)


def load_yaml_with_positions(text: str) -> tuple[Any, dict[str, Pos]]:
    """Parse YAML the way ``crmgen.yml`` is parsed (``yamlstrict``), with "/"-joined key paths
    mapped to the Pos of their key or item."""
    doc, diagnostics = yamlstrict.parse(text, "crmgen.yml")
    if doc is None or diagnostics:
        raise ValueError(diagnostics)
    return doc.value, doc.keyed_positions()


def dashboard_pages(
    dataset: Dataset,
    specs: Sequence[DashboardSpec],
    *,
    audience: str | None,
    currency: str,
    locale: str,
) -> tuple[list[Page], dict[str, bytes], list[Diagnostic]]:
    """Build every dashboard page, its static SVGs and the Vega bundle.

    Args:
        dataset: the finished dataset.
        specs: the dashboards from ``parse_dashboards``.
        audience: the audience built for; None sees no restricted field. A chart that uses a
            field the audience may not see is left out, silently.
        currency: ISO code of the site currency, e.g. ``EUR``.
        locale: the site locale, e.g. ``en_GB``.

    Returns:
        Pages to render with ``dashboard.html`` ("dashboards/NAME.html", the first one also as
        "dashboards/index.html"); extra files (the bundle at ``BUNDLE_PATH`` and the static
        "dashboards/NAME/CHART.svg"); and diagnostics for charts that do not fit the data, at
        their line in ``crmgen.yml``.
    """
    seen = redaction.audience(dataset, audience)
    resolved: list[tuple[DashboardSpec, list[Chart]]] = []
    diagnostics: list[Diagnostic] = []
    for spec in specs:
        found, problems = resolve(dataset, spec, seen)
        diagnostics.extend(problems)
        if found:
            resolved.append((spec, found))
    pages: list[Page] = []
    files: dict[str, bytes] = {}
    for spec, found in resolved:
        context, svgs = _page(dataset, spec, found, seen, currency, locale)
        context["tabs"] = [
            {"name": other.name, "title": other.title, "current": other.name == spec.name}
            for other, _ in resolved
        ]
        pages.append(Page(f"dashboards/{spec.name}.html", "dashboard.html", context))
        files.update(svgs)
    if pages:
        pages.insert(0, Page("dashboards/index.html", "dashboard.html", pages[0].context))
        files[BUNDLE_PATH] = charts.vega_bundle().encode()
    return pages, files, diagnostics


def _page(
    dataset: Dataset,
    spec: DashboardSpec,
    found: list[Chart],
    audience: redaction.Audience,
    currency: str,
    locale: str,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The template context of one dashboard and its SVG files."""
    cubes = build_cubes(dataset, found, audience)
    dims = page_dims(dataset, cubes)
    month_labels = [month_label(m, locale) if m else "" for m in dims.months]
    d3_locale = charts.format_locale(locale, currency)
    stats: list[dict[str, Any]] = []
    figures: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    svgs: dict[str, bytes] = {}
    for chart in found:
        keys, labels = group_keys(chart, cubes, dims, dataset, month_labels)
        values = [series_values(chart, series, cubes) for series in chart.series]
        entry = chart_entry(chart, cubes, keys, labels)
        if chart.spec.kind == "stat":
            value = values[0].get(NOT_SET)
            if value is None and chart.series[0].spec.measure.op in ADDITIVE:
                value = Decimal(0)  # nothing to count or add up
            stats.append(stat_view(chart, value, currency=currency, locale=locale))
        else:
            rows = chart_rows(chart, values, keys, labels)
            plain = [{k: row[k] for k in ("k", "s", "v", "i")} for row in rows]
            fmt, title = chart.series[0].fmt, chart.spec.title
            # A pie's colours stay put under filtering: every group the unfiltered data has,
            # in order (filters only ever remove groups).
            present = {key for found_values in values for key, v in found_values.items() if v}
            domain = (
                [
                    label
                    for key, label in zip(keys, labels, strict=True)
                    if label and key in present
                ]
                if chart.spec.kind == "pie"
                else []
            )
            vega_lite = charts.chart_spec(
                chart.spec.kind,
                fmt,
                plain,
                title=title,
                key_title=key_title(chart),
                series=[series.spec.label for series in chart.series],
                domain=domain,
            )
            svg = f"dashboards/{spec.name}/{chart.spec.id}.svg"
            svgs[svg] = charts.render_svg(vega_lite, d3_locale).encode()
            vega_lite["datasets"] = {charts.DATA_NAME: []}  # the browser computes the rows
            entry["spec"] = vega_lite
            figures.append(chart_view(chart, rows, svg, currency=currency, locale=locale))
        entries.append(entry)
    data = {
        "locale": locale.replace("_", "-"),
        "currency": currency,
        "d3Locale": d3_locale,
        "dims": dims_data(dataset, dims, locale),
        "cubes": [cube_data(cube, dims) for cube in cubes.values()],
        "charts": entries,
    }
    context = {
        "dashboard": {"name": spec.name, "title": spec.title, "description": spec.description},
        "controls": controls(dataset, dims, month_labels),
        "stats": stats,
        "charts": figures,
        "missing": missing_dates(dataset, cubes, audience),
        "data": data,
    }
    return context, svgs
