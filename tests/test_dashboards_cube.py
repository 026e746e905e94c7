"""Cubes: which series share one, what a record contributes, the page's dimensions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dashboard_repo import (
    OPPORTUNITIES,
    charts_of,
    field,
    make_dataset,
    opportunities_schema,
    parse,
)

from crmgen.dashboards.cube import CubeKey, build_cubes, page_dims, record_fact
from crmgen.model import ListSpec, Record, frozen_map


def test_series_with_the_same_records_share_a_cube() -> None:
    dataset, found = charts_of(make_dataset())
    cubes = build_cubes(dataset, found)
    shapes = {(k.projects, k.filters, k.date, k.group): c.columns for k, c in cubes.items()}
    opps, invoices = ("opportunities",), ("invoices",)
    assert shapes == {
        (opps, (("kind", ("open",)),), "expected_close", None): ("sum:amount", "w:amount", "n"),
        # won value and count, average size and cycle, sales per month and by tag, and the
        # sales series of opportunity to cash all read the same won deals by close date
        (opps, (("kind", ("won",)),), "closed", None): (
            "sum:amount", "n", "n:amount", "days:created:closed", "n:days:created:closed"
        ),
        (opps, (("kind", ("won", "lost")),), "closed", None): ("won", "lost"),
        (opps, (), "created", None): ("sum:amount", "n"),
        (opps, (), "created", "reached"): ("n",),  # the funnel
        (opps, (("kind", ("lost",)),), "closed", "loss_reason"): ("n",),
        (opps, (), "created", "source"): ("n",),
        (invoices, (("list", ("Sent", "Paid", "Overdue")),), "issued", None): ("sum:amount",),
        (invoices, (("list", ("Paid",)),), "paid_on", None): ("sum:amount",),
    }  # fmt: skip
    by_source = next(c for k, c in cubes.items() if k.group == "source")
    assert by_source.groups == ("Referral", "Website", "")  # options order, unset last


def test_a_record_contributes_its_dimensions_and_columns() -> None:
    record = Record("opportunities", "x", "data/opportunities/x.md", frozen_map({
        "amount": 200, "created": dt.date(2025, 1, 31), "closed": dt.date(2025, 3, 2),
        "source": "Website",
    }), frozen_map({}))  # fmt: skip
    stage = ListSpec("Proposal", "open", Decimal("0.25"))
    columns = ("n", "sum:amount", "w:amount", "won", "days:created:closed", "min:cost")
    key = CubeKey(("opportunities",), (("source", ("Website",)),), "expected_close", "source")
    fact, lacking = record_fact("opportunities", record, stage, ("seo",), key, columns)
    assert fact is not None
    assert (fact.list, fact.kind, fact.tags, fact.month, fact.groups) == (
        "Proposal", "open", ("seo",), "", ("Website",)
    )  # fmt: skip
    assert fact.columns == {"n": 1, "sum:amount": 200, "w:amount": 50, "days:created:closed": 30}
    assert lacking == {"expected_close"}
    for filters in ((("kind", ("won",)),), (("source", (None,)),), (("tag", ("web",)),)):
        key = CubeKey(("opportunities",), filters, None, None)
        assert record_fact("opportunities", record, stage, ("seo",), key, columns) == (None, set())
    unset = CubeKey(("opportunities",), (("loss_reason", (None, "Price")),), None, None)
    assert record_fact("opportunities", record, stage, (), unset, ("n",))[0] is not None


def test_page_dimensions() -> None:
    dataset, found = charts_of(make_dataset())
    dims = page_dims(dataset, build_cubes(dataset, found))
    assert dims.months == ("", "2025-01", "2025-02", "2025-03", "2025-04")
    assert dims.projects == ("opportunities", "invoices")
    assert dims.tags == ("", "web", "seo")  # declared order, "no tag" first


def test_months_run_without_gaps_and_restricted_tags_vanish() -> None:
    text = OPPORTUNITIES.replace("created: 2025-03-01", "created: 2025-09-01")
    schema = opportunities_schema(tags=field("tags", "tags", audiences=("managers",)))
    dataset = make_dataset(invoices=False, schema=schema, opportunities=text)
    specs, _ = parse("""\
        dashboards:
          - name: x
            charts: [{title: New, kind: bar, group: month(created)}]
        """)
    cut, found = charts_of(dataset, specs)
    dims = page_dims(cut, build_cubes(cut, found))
    assert dims.months[1:] == tuple(f"2025-{m:02d}" for m in range(1, 10))
    assert dims.tags == ("",)
    cut, found = charts_of(dataset, specs, "managers")
    assert page_dims(cut, build_cubes(cut, found)).tags == ("", "web", "seo")
