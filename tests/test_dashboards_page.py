"""Dashboard values and pages: row order and gaps, the controls, the missing-dates note."""

from __future__ import annotations

from decimal import Decimal

from dashboard_repo import charts_of, field, make_dataset, opportunities_schema, parse, plain

from crmgen.dashboards.cube import build_cubes, page_dims
from crmgen.dashboards.page import _controls, _missing_dates
from crmgen.dashboards.values import chart_rows, group_keys, key_title, series_values

CHARTS = """\
dashboards:
  - name: x
    charts:
      - {title: By month, kind: bar, group: month(created), measure: sum(amount)}
      - {title: Average, kind: line, group: month(created), measure: avg(amount)}
      - {title: Biggest first, kind: pie, group: source, order: value}
      - {title: By name, kind: bar, group: tag, order: name}
"""


def rows_of(title: str) -> list[tuple[str, float | None]]:
    specs, _ = parse(CHARTS)
    dataset, found = charts_of(make_dataset(invoices=False), specs)
    cubes = build_cubes(dataset, found)
    dims = page_dims(dataset, cubes)
    labels = ["", "Jan", "Feb", "Mar"]
    chart = next(c for c in found if c.title == title)
    keys, names = group_keys(chart, cubes, dims, dataset, labels)
    values = [series_values(chart, s, cubes) for s in chart.series]
    return [(row["k"], row["v"]) for row in chart_rows(chart, values, keys, names)]


def test_rows_follow_the_order_and_fill_empty_months() -> None:
    # created: Jan a 1000 + b 4000, Feb c 3000 + d 5000.50, Mar e 2000
    assert rows_of("By month") == [("Jan", 5000.0), ("Feb", 8000.5), ("Mar", 2000.0)]
    assert rows_of("Average") == [("Jan", 2500.0), ("Feb", 4000.25), ("Mar", 2000.0)]
    # Referral a, c, e; Website b, d; f unset
    assert rows_of("Biggest first") == [("Referral", 3), ("Website", 2), ("(not set)", 1)]
    # tags sorted by label: "(no tag)" sorts first; web: a, b, d; seo: b, c, d; none: e, f
    assert rows_of("By name") == [("(no tag)", 2), ("seo", 3), ("web", 3)]


def test_a_gap_month_is_zero_for_a_sum_and_empty_for_an_average() -> None:
    specs, _ = parse(CHARTS)
    dataset, found = charts_of(make_dataset(invoices=False), specs)
    cubes = build_cubes(dataset, found)
    dims = page_dims(dataset, cubes)
    for chart, expected in zip(found[:2], (Decimal(0), None), strict=True):
        values = [{"2025-01": Decimal(5), "2025-03": Decimal(7)}]
        keys, labels = group_keys(chart, cubes, dims, dataset, list(dims.months))
        rows = chart_rows(chart, values, keys, labels)
        assert [(r["k"], r["value"]) for r in rows] == [
            ("2025-01", 5), ("2025-02", expected), ("2025-03", 7)
        ]  # fmt: skip
        assert key_title(chart, dataset) == "Month"


def test_controls_and_missing_dates() -> None:
    specs, _ = parse(CHARTS)
    dataset, found = charts_of(make_dataset(), specs)
    cubes = build_cubes(dataset, found)
    dims = page_dims(dataset, cubes)
    found_controls = {
        c["name"]: c["options"]
        for c in plain(_controls(dataset, specs[0], dims, ["", "Jan", "Feb", "Mar"]))
    }
    assert found_controls["from"] == [
        {"value": "2025-01", "label": "Jan"},
        {"value": "2025-02", "label": "Feb"},
        {"value": "2025-03", "label": "Mar"},
    ]
    assert found_controls["project"] == [
        {"value": "opportunities", "label": "Opportunities"},
        {"value": "invoices", "label": "Invoices"},
    ]
    assert plain(_missing_dates(dataset, cubes)) == [
        {
            "field": "created",
            "label": "Created",
            "count": 1,
            "records": [{"title": "F", "href": "opportunities/f.html"}],
            "more": [],
        }
    ]
    secret_titles = field("title", "text", audiences=("managers",))
    dataset, found = charts_of(
        make_dataset(schema=opportunities_schema(title=secret_titles)), specs
    )
    cubes = build_cubes(dataset, found)
    assert plain(_missing_dates(dataset, cubes))[0]["records"] == [
        {"title": "f", "href": "opportunities/f.html"}
    ]
