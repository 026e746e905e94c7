"""Dashboard pages: every metric of the built-in sales dashboard against numbers worked out by
hand from the six records of ``dashboard_repo`` (see the comments), audiences, size.
"""

from __future__ import annotations

import json
import time

import pytest
from dashboard_repo import (
    SECRET_COST,
    build,
    bundle_once,  # noqa: F401 - an autouse fixture
    context,
    field,
    make_dataset,
    opportunities_schema,
    parse,
    stats,
    synthetic,
    table,
)

from crmgen.dashboards import BUNDLE_PATH
from crmgen.model import Diagnostic, Page

Built = tuple[list[Page], dict[str, bytes], list[Diagnostic]]


@pytest.fixture(scope="module")
def sales() -> Built:
    """The built-in dashboard of the hand-made repo, built once."""
    return build(make_dataset())


HAND_STATS = {
    # open: a 1000 + b 4000 + f 6000
    "open-pipeline": ("€11,000", "11000"),
    # 1000 × 0.1 + 4000 × 0.5 + 6000 × 0.5 = 100 + 2000 + 3000
    "weighted-forecast": ("€5,100", "5100"),
    "active-deals": ("3", "3"),
    # c 3000 + d 5000.50 = 8000.50, shown in whole euros (half rounds up)
    "won-value": ("€8,001", "8000.5"),
    "deals-won": ("2", "2"),
    # won 2 / (won 2 + lost 1), with the precision it needs
    "win-rate": ("66.67%", "0.6667"),
    # 8000.50 / 2
    "average-deal-size": ("€4,000", "4000.25"),
    # c: 2025-02-01 -> 03-11 = 38 days; d: 02-15 -> 04-05 = 49 days; (38 + 49) / 2 = 43.5
    "average-sales-cycle": ("44 days", "43.5"),
}


def test_every_stat_card_matches_the_hand_computation(sales: Built) -> None:
    pages, _, diagnostics = sales
    assert diagnostics == []
    assert stats(pages[0]) == HAND_STATS


def test_monthly_bars_match_the_hand_computation(sales: Built) -> None:
    page = sales[0][0]
    title = "Pipeline generated per month"
    # created: Jan a 1000 + b 4000; Feb c 3000 + d 5000.50; Mar e 2000; f has no created date
    assert table(page, "pipeline-generated-per-month") == [
        ("Jan 2025", title, "€5,000"),
        ("Feb 2025", title, "€8,001"),
        ("Mar 2025", title, "€2,000"),
    ]
    assert [r[2] for r in table(page, "new-opportunities-per-month")] == ["2", "2", "1"]
    # won by close month: c in March, d in April
    assert [(r[0], r[2]) for r in table(page, "sales-per-month")] == [
        ("Mar 2025", "€3,000"),
        ("Apr 2025", "€5,001"),
    ]
    # open by expected close: a 1000 × 0.1 in March, b 4000 × 0.5 in April; f has no date
    assert [(r[0], r[2]) for r in table(page, "weighted-forecast-by-expected-close-month")] == [
        ("Mar 2025", "€100"),
        ("Apr 2025", "€2,000"),
    ]


def test_pies_match_the_hand_computation(sales: Built) -> None:
    page = sales[0][0]
    # won by tag: c is seo; d is web and seo, so it counts in both slices (largest first)
    assert [(r[0], r[2]) for r in table(page, "sales-by-type")] == [
        ("seo", "€8,001"),
        ("web", "€5,001"),
    ]
    # open deals by stage, in list order: a is a Lead; b and f are Proposals
    assert [(r[0], r[2]) for r in table(page, "open-deals-by-stage")] == [
        ("Lead", "1"),
        ("Proposal", "2"),
    ]
    assert [(r[0], r[2]) for r in table(page, "lost-deals-by-reason")] == [("Price", "1")]
    # sources: Referral a, c, e; Website b, d; f has none
    assert [(r[0], r[2]) for r in table(page, "deals-by-source")] == [
        ("Referral", "3"),
        ("Website", "2"),
        ("(not set)", "1"),
    ]


def test_opportunity_to_cash_puts_invoiced_and_paid_beside_sales(sales: Built) -> None:
    # sales: c 3000 (Mar), d 5000.50 (Apr); invoiced (Sent, Paid or Overdue: not the void i3)
    # by issue month: i1 1500 (Mar), i2 1500 (Apr); paid by paid_on: i1 1500 (Apr).
    # The test repo has no Overdue list: the built-in dashboard still draws the chart.
    assert table(sales[0][0], "opportunity-to-cash") == [
        ("Mar 2025", "Sales", "€3,000"),
        ("Mar 2025", "Invoiced", "€1,500"),
        ("Mar 2025", "Paid", "€0"),
        ("Apr 2025", "Sales", "€5,001"),
        ("Apr 2025", "Invoiced", "€1,500"),
        ("Apr 2025", "Paid", "€1,500"),
    ]


def test_records_without_dates_are_listed_not_dropped(sales: Built) -> None:
    notes = {n["field"]: n for n in context(sales[0][0])["missing"]}
    # f (open, no created, no expected close) is read by charts on both dates
    assert notes["created"]["records"] == [{"title": "F", "href": "opportunities/f.html"}]
    assert notes["expected_close"]["count"] == 1
    assert notes["expected_close"]["label"] == "Expected close"
    # every won or lost deal has its closed date, and an open deal never needs one; i2 was
    # never paid, but only Paid invoices are in the "Paid" series
    assert sorted(notes) == ["created", "expected_close"]


def test_pages_files_and_the_bundle(sales: Built) -> None:
    pages, files, _ = sales
    assert [p.path for p in pages] == ["dashboards/index.html", "dashboards/sales.html"]
    assert pages[0].context["dashboard"] is pages[1].context["dashboard"]
    assert {p.template for p in pages} == {"dashboard.html"}
    svgs = sorted(name for name in files if name.endswith(".svg"))
    assert len(svgs) == 11 and all(n.startswith("dashboards/sales/") for n in svgs)
    assert all(files[n].startswith(b"<svg") for n in svgs)
    assert b"window.vegaEmbed" in files[BUNDLE_PATH]
    charts = context(pages[0])["data"]["charts"]
    specs = [c["spec"] for c in charts if "spec" in c and not c.get("static")]
    assert len(specs) == 10 and all(s["datasets"] == {"table": []} for s in specs)
    controls = {c["name"]: c for c in context(pages[0])["controls"]}
    assert list(controls) == ["project", "list", "tag", "from", "to"]  # the default filters
    # the void invoice is in no chart, so Void is not offered
    assert [o["label"] for o in controls["list"]["options"]] == [
        "Lead", "Proposal", "Won", "Lost", "Sent", "Paid"
    ]  # fmt: skip
    # option values are what the address shows: names, "(none)" for records without a tag
    assert [(o["value"], o["label"]) for o in controls["tag"]["options"]] == [
        ("web", "web"), ("seo", "seo"), ("(none)", "(no tag)")
    ]  # fmt: skip
    assert [o["label"] for o in controls["from"]["options"]] == [
        "Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025"
    ]  # fmt: skip
    assert controls["from"]["options"][0]["value"] == "2025-01"


def test_no_dashboard_without_a_sales_project() -> None:
    dataset = make_dataset(invoices=False, schema=opportunities_schema(amount=None))
    assert build(dataset) == ([], {}, [])


def test_builtin_drops_opportunity_to_cash_without_invoices() -> None:
    pages, _, diagnostics = build(make_dataset(invoices=False))
    assert diagnostics == []
    ids = [c["id"] for c in context(pages[0])["charts"]]
    assert "opportunity-to-cash" not in ids and "sales-per-month" in ids


COST_DASHBOARD = """\
dashboards:
  - name: margins
    charts:
      - {title: Cost of open deals, kind: stat, measure: sum(cost), filter: {kind: open}}
      - {title: Deals, kind: stat, measure: count}
"""


def test_a_chart_of_a_restricted_field_is_dropped_for_other_audiences() -> None:
    specs, diags = parse(COST_DASHBOARD)
    assert diags == []
    pages, files, diagnostics = build(make_dataset(), specs, None)
    assert diagnostics == []
    assert [s["id"] for s in context(pages[0])["stats"]] == ["deals"]
    everything = json.dumps(context(pages[0]), default=str) + repr(files)
    assert str(SECRET_COST) not in everything and "7,777,123" not in everything
    assert "cost" not in json.dumps(context(pages[0])["data"])
    pages, _, _ = build(make_dataset(), specs, "managers")
    assert stats(pages[0])["cost-of-open-deals"] == ("€7,777,123", "7777123")


def test_a_restricted_list_keeps_the_charts_that_need_no_list() -> None:
    restricted = field("list", "list", audiences=("managers",))
    dataset = make_dataset(invoices=False, schema=opportunities_schema(list=restricted))
    page = context(build(dataset)[0][0])
    assert page["stats"] == []  # every card uses the kind of a list
    assert [c["id"] for c in page["charts"]] == [
        "pipeline-generated-per-month",
        "new-opportunities-per-month",
        "deals-by-source",
    ]
    assert page["data"]["dims"]["lists"] == [""]
    assert "list" not in [c["name"] for c in page["controls"]]
    assert "Proposal" not in json.dumps(page, default=str)


def test_output_is_deterministic() -> None:
    first = build(make_dataset())
    second = build(make_dataset())
    assert first[1] == second[1]
    assert json.dumps(context(first[0][0]), sort_keys=True, default=str) == json.dumps(
        context(second[0][0]), sort_keys=True, default=str
    )


@pytest.mark.slow
def test_fifty_thousand_opportunities_fit_in_one_and_a_half_megabytes() -> None:
    from crmgen.render import tojson_script

    started = time.perf_counter()
    pages, files, diagnostics = build(synthetic(50_000))
    seconds = time.perf_counter() - started
    assert diagnostics == []
    data = str(tojson_script(pages[0].context["dashboard"].data)).encode()
    bundle = files[BUNDLE_PATH]
    print(f"\n50,000 opportunities: data {len(data):,} B + bundle {len(bundle):,} B = "
          f"{len(data) + len(bundle):,} B; built in {seconds:.1f} s")  # fmt: skip
    assert len(data) + len(bundle) < 1_500_000
    assert b"Deal 1" not in data and b"deal-0" not in data  # no record reaches the page
