"""Dashboard declarations: the built-in one, and every structural error at its line."""

from __future__ import annotations

from dashboard_repo import parse

from crmgen import yamlstrict
from crmgen.dashboards.declarations import (
    DEFAULT_SALES_DASHBOARD,
    builtin_dashboards,
    normalise,
    parse_dashboards,
    parse_measure,
)
from crmgen.model import Pos
from crmgen.model.dashboards import Measure


def test_the_default_declaration_parses_and_is_builtin() -> None:
    doc, _ = yamlstrict.parse(DEFAULT_SALES_DASHBOARD, "crmgen.yml")
    assert doc is not None
    specs, diags = parse_dashboards(doc.value["dashboards"], doc.keyed_positions())
    assert diags == []
    assert [c.id for c in specs[0].charts] == [c.id for c in builtin_dashboards()[0].charts]
    assert len(specs[0].charts) == 19 and not specs[0].builtin
    assert parse_dashboards(None, {})[0][0].builtin  # nothing declared: the built-in one
    assert parse_dashboards([], {}) == ((), [])  # declared empty: none


def test_series_inherit_the_chart_and_keep_their_positions() -> None:
    specs, diags = parse("""\
        dashboards:
          - name: cash
            projects: [opportunities]
            charts:
              - title: Cash
                kind: line
                group: month
                measure: sum(amount)
                series:
                  - {label: Won, date: closed, filter: {kind: won}}
                  - {label: Billed, date: issued, projects: [invoices]}
        """)
    assert diags == []
    chart = specs[0].charts[0]
    won, billed = chart.series
    assert (chart.id, chart.group, chart.pos) == ("cash", "month", Pos(5, 9))
    assert (won.measure, won.date, won.filters, won.projects) == (
        Measure("sum", ("amount",)),
        "closed",
        (("kind", ("won",)),),
        ("opportunities",),
    )
    assert (billed.date, billed.projects) == ("issued", ("invoices",))
    assert won.positions["measure"] == Pos(8, 18) and won.positions["filter/kind"] == Pos(10, 55)
    assert billed.positions["projects"] == Pos(11, 53)


def test_measures_and_normalised_filter_values() -> None:
    assert parse_measure("count") == Measure("count")
    assert parse_measure(" weighted( amount ) ") == Measure("weighted", ("amount",))
    assert parse_measure("avg_days(created, closed)") == Measure("avg_days", ("created", "closed"))
    assert parse_measure("sum(a, b)") is None and parse_measure("median(x)") is None
    assert [normalise(v) for v in (True, 3, "x", None)] == ["true", "3", "x", None]


BAD = """\
dashboards:
  - name: team
    title: Team
    charts:
      - title: Deals
        kind: stat
        grup: owner
      - title: By owner
        kind: donut
        group: owner
      - title: Sums
        kind: bar
        measure: total(amount)
        group: month(created)
      - title: Two
        kind: pie
        group: source
        series:
          - {label: A, measure: count}
          - {label: B, measure: count}
      - title: Kinds
        kind: stat
        filter: {kind: closed}
      - title: Months
        kind: line
        group: month
  - name: team
    charts: [{title: X, kind: stat}]
  - name: Bad Name
    charts: [{title: X, kind: stat}]
"""


def test_declaration_errors_are_reported_at_their_line() -> None:
    specs, diags = parse(BAD)
    found = [(d.line, d.code, d.message) for d in diags]
    assert found == [
        (7, "dashboard-key", "dashboards/0/charts/0/grup: unknown key 'grup' in a chart; "
         "did you mean 'group'?"),
        (9, "dashboard-value", "dashboards/0/charts/1/kind: 'kind' must be one of stat, bar, "
         "line, pie, stage-times"),
        (13, "dashboard-value", "dashboards/0/charts/2/measure: 'total(amount)' is not a "
         "measure; write count, sum(FIELD), avg(FIELD), min(FIELD), max(FIELD), "
         "weighted(FIELD), win_rate or avg_days(FROM_DATE, TO_DATE)"),
        (18, "dashboard-value", "dashboards/0/charts/3/series: a pie chart shows one series; "
         "remove the others"),
        (23, "dashboard-value", "dashboards/0/charts/4/filter/kind: 'closed' is not a list "
         "kind; use open, won, lost, n-a"),
        (26, "dashboard-value", "dashboards/0/charts/5/group: 'month' needs a date field; "
         "write month(FIELD), or give the chart or each series a 'date'"),
        (27, "dashboard-value", "dashboards/1/name: 'team' is used twice; rename one"),
        (29, "dashboard-value", "dashboards/2/name: 'Bad Name' is not a valid name; use "
         "lower-case letters, digits and '-' (and not 'index') in a page name"),
    ]  # fmt: skip
    assert all(d.path == "crmgen.yml" and d.severity == "error" for d in diags)
    assert [c.id for c in specs[0].charts] == ["deals"]  # the good chart survives


def test_more_mistakes_each_at_its_key() -> None:
    _, diags = parse("""\
        dashboards:
          - name: x
            charts:
              - {title: A, kind: stat, group: list}
              - {title: B, kind: bar}
              - {title: C, kind: bar, group: "month(created)", date: closed}
              - {title: D, kind: bar, group: list, order: biggest}
              - {title: E, kind: bar, group: list, filter: {project: x}}
              - {kind: stat}
              - {title: G, kind: bar, group: 'a b'}
              - {title: H, kind: stat, id: ../escape}
        """)
    assert [(d.line, d.message.split(": ", 1)[1]) for d in diags] == [
        (4, "a stat card shows one number; remove 'group'"),
        (5, "a bar chart needs 'group': month(FIELD), month, list, tag, project or a field name"),
        (6, "the chart groups by month(created); remove 'date' or make it created"),
        (7, "'biggest' is not one of natural, value, name"),
        (8, "write the chart's 'projects' key instead"),
        (9, "'title' is required; add it"),
        (10, "'a b' is not a grouping; write month(FIELD), month, list, tag, project, reached "
             "or a field name"),
        (11, "'../escape' is not a valid id; use lower-case letters, digits and '-' in a chart id "
             "(its file name)"),
    ]  # fmt: skip


def test_wrong_shapes_are_errors_not_exceptions() -> None:
    shapes = [
        "sales",
        [1],
        [{"name": "x", "charts": "all"}],
        [{"name": "x", "charts": [[]]}],
        [{"name": "x", "charts": [{"title": "T", "kind": "bar", "group": "list", "filter": [1]}]}],
        [{"name": "x", "charts": [{"title": 5, "kind": "stat"}]}],
        [{"name": "x", "charts": [{"title": "T", "kind": "bar", "group": "list", "series": {}}]}],
    ]
    for raw in shapes:
        specs, diags = parse_dashboards(raw, {})
        assert specs == () and diags, raw
        assert all(d.severity == "error" and d.code.startswith("dashboard-") for d in diags)
