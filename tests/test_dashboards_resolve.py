"""Declarations checked against the dataset: fields, types, lists, projects, audiences."""

from __future__ import annotations

from dashboard_repo import charts_of, make_dataset, opportunities_schema, parse

from crmgen.dashboards.resolve import is_sales_project, project_order, resolve

FIELD_ERRORS = """\
dashboards:
  - name: custom
    charts:
      - {title: Amounts, kind: stat, measure: sum(amout)}
      - {title: By title, kind: bar, group: month(title)}
      - {title: Per list, kind: pie, group: list, filter: {list: Propsal}}
      - {title: Cash, kind: stat, measure: sum(amount), projects: [invoice]}
      - {title: Tags, kind: stat, filter: {tag: seoo}, projects: [opportunities]}
      - {title: Sources, kind: stat, filter: {source: Referal}}
      - {title: Weighted bills, kind: stat, measure: weighted(title), projects: [invoices]}
      - {title: Fine, kind: bar, group: source, measure: avg(discount), order: name}
"""


def test_unknown_fields_lists_and_projects_are_errors_at_their_line() -> None:
    specs, diags = parse(FIELD_ERRORS)
    assert diags == []
    found, problems = resolve(make_dataset(), specs[0])
    assert [(d.line, d.col, d.code, d.message) for d in problems] == [
        (4, 47, "dashboard-field", "chart 'Amounts': no project has a field 'amout'; did you mean "
         "'amount'?"),
        (5, 45, "dashboard-field", "chart 'By title': 'title' is a text field in opportunities; "
         "use a date field"),
        (6, 66, "dashboard-value", "chart 'Per list': no list is called 'Propsal'; did you mean "
         "'Proposal'?"),
        (7, 67, "dashboard-field", "chart 'Cash': unknown project 'invoice'; did you mean "
         "'invoices'?"),
        (8, 49, "dashboard-value", "chart 'Tags': no tag is called 'seoo'; did you mean 'seo'?"),
        (9, 55, "dashboard-value", "chart 'Sources': no source is called 'Referal'; did you mean "
         "'Referral'?"),
        (10, 54, "dashboard-field", "chart 'Weighted bills': 'title' is a text field in invoices; "
         "use a number, percent, currency or rating field"),
    ]  # fmt: skip
    assert all(d.path == "crmgen.yml" for d in problems)
    assert [chart.id for chart in found] == ["fine"]


def test_a_series_reads_every_project_with_its_fields() -> None:
    specs, _ = parse("""\
        dashboards:
          - name: x
            charts:
              - {title: Everything, kind: stat, measure: sum(amount)}
              - {title: Deals, kind: stat, measure: sum(amount), filter: {kind: won}}
              - {title: Bills, kind: stat, measure: sum(amount), date: issued}
        """)
    found, problems = resolve(make_dataset(), specs[0])
    assert problems == []
    read = {c.id: list(c.series[0].projects) for c in found}
    assert read == {
        "everything": ["opportunities", "invoices"],
        "deals": ["opportunities", "invoices"],  # both have lists; invoices have no won ones
        "bills": ["invoices"],
    }


def test_redaction_drops_the_charts_of_hidden_fields_silently() -> None:
    specs, _ = parse("""\
        dashboards:
          - name: x
            charts:
              - {title: Cost, kind: stat, measure: avg(cost)}
              - {title: Cost by source, kind: pie, group: source, filter: {cost: 1}}
              - {title: Count, kind: stat}
        """)
    _, found = charts_of(make_dataset(), specs)
    assert [c.id for c in found] == ["count"]
    _, found = charts_of(make_dataset(), specs, "managers")
    assert [c.id for c in found] == ["cost", "cost-by-source", "count"]
    assert found[1].reads("opportunities") == ("source", "cost")


def test_sales_projects_and_order() -> None:
    dataset = make_dataset()
    assert project_order(dataset) == ["opportunities", "invoices"]
    assert is_sales_project(dataset.projects["opportunities"].schema)
    assert not is_sales_project(dataset.projects["invoices"].schema)  # no won or lost list
    assert not is_sales_project(opportunities_schema(amount=None))
