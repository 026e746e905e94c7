"""A chart grouped by a field of many values (clients): its cube keeps the top groups and adds up
the others as "Others", so the page grows with what the chart shows, not with the number of
clients, and every total stays what it was under every selection.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dashboard_repo import (  # noqa: F401 - bundle_once is an autouse fixture
    build,
    bundle_once,
    context,
    field,
    parse,
    synthetic,
)
from test_dashboards_metrics import ALL, JS, reaggregate

from crmgen.dashboards import top
from crmgen.dashboards.metrics import NOT_SET, OTHERS, Fact
from crmgen.model import Dataset, Project, ProjectSchema, Record, frozen_map
from crmgen.render import tojson_script

CHARTS = """\
dashboards:
  - name: clients
    filters: [project, list, tag, month, owner, source]
    charts:
      - {title: Won value by client, kind: bar, measure: sum(amount), filter: {kind: won},
         group: client, date: closed, order: value}
      - {title: Deals by client, kind: pie, measure: count, group: client}
      - {title: Average deal by client, kind: bar, measure: avg(amount), group: client}
      - title: Open and won by client
        kind: bar
        group: client
        series:
          - {label: Open, measure: sum(amount), filter: {kind: open}, date: expected_close}
          - {label: Won, measure: sum(amount), filter: {kind: won}, date: closed}
      - {title: Deals by owner, kind: bar, group: owner, order: value}
"""
OWNERS = ("Ann", "Bo", "Cy", "Di", "Ed", "Flo")


def many_clients(clients: int, deals: int = 1500, seed: int = 3, skew: int = 3) -> Dataset:
    """``synthetic(deals)`` with an owner and a client each (with ``skew`` above 1, a few
    clients have many deals)."""
    rng = random.Random(seed)
    data = synthetic(deals, seed)
    opps = data.projects["opportunities"]
    extra = (field("client", "reference", target="clients"), field("owner", "text"))
    schema = replace(opps.schema, fields=(*opps.schema.fields, extra[0]))
    found = {}
    for slug, record in opps.records.items():
        values = dict(record.values)
        values["client"] = f"client-{int(clients * rng.random() ** skew):05d}"
        if rng.random() < 0.9:
            values["owner"] = rng.choice(OWNERS)
        found[slug] = replace(record, values=frozen_map(values))
    fields = (field("title", "text"),)
    clients_schema = ProjectSchema("clients", "schema/clients.schema.yaml", "Clients", "title",
                                   fields)  # fmt: skip
    client_records = {
        f"client-{i:05d}": Record(
            "clients",
            f"client-{i:05d}",
            f"data/clients/client-{i:05d}.md",
            frozen_map({"title": f"Client {i}"}),
            frozen_map({}),
        )
        for i in range(clients)
    }
    projects = {
        "opportunities": Project(schema, frozen_map(found)),
        "clients": Project(clients_schema, frozen_map(client_records)),
    }
    config = replace(data.config, projects=("opportunities", "clients"))
    return replace(data, config=config, projects=frozen_map(projects))


def page_data(dataset: Dataset, text: str = CHARTS) -> tuple[dict[str, Any], dict[str, Any]]:
    """The page's data for the browser, and its view (as plain values)."""
    specs, problems = parse(text)
    assert problems == []
    pages, _, diagnostics = build(dataset, specs)
    assert diagnostics == []
    view = context(pages[0])
    return json.loads(str(tojson_script(pages[0].context["dashboard"].data))), view


def kept_apart(keep: int, dataset: Dataset, text: str = CHARTS) -> tuple[dict, dict]:
    """``page_data`` with at most ``keep`` groups of a chart kept apart."""
    saved, top.TOP = top.TOP, keep
    try:
        return page_data(dataset, text)
    finally:
        top.TOP = saved


@pytest.fixture(scope="module")
def everything() -> tuple[dict[str, Any], dict[str, Any]]:
    """Before: the same page with every group kept apart (as crmgen did before ``top``)."""
    return kept_apart(10**9, many_clients(400))


@pytest.fixture(scope="module")
def folded() -> tuple[dict[str, Any], dict[str, Any]]:
    return page_data(many_clients(400))


def sampled(data: dict[str, Any], count: int = 60, seed: int = 11) -> list[dict[str, Any]]:
    """No filter, each control alone, and random combinations of them."""
    dims, rng = data["dims"], random.Random(seed)
    fields = dims["fields"]
    months = len(dims["months"])

    def pick(size: int) -> int | None:
        return rng.choice([None, None, *range(size)])

    found = [{**ALL, "fields": [None] * len(fields)}]
    for _ in range(count):
        start = pick(months - 1)
        found.append(
            {
                "project": pick(len(dims["projects"])),
                "list": pick(len(dims["lists"])),
                "tag": pick(len(dims["tags"])),
                "start": None if start is None else start + 1,
                "end": rng.choice([None, months - 1, months - 5]),
                "fields": [pick(len(f["values"])) for f in fields],
            }
        )
    for j, dim in enumerate(fields):
        for value in range(len(dim["values"])):
            chosen = [value if i == j else None for i in range(len(fields))]
            found.append({**ALL, "fields": chosen})
    return found


def labelled(data: dict[str, Any], chart: dict[str, Any], sel: dict[str, Any]) -> dict:
    """(group label, series) -> value under a selection, as the browser computes it."""
    keys = chart["keys"] or data["cubes"][chart["series"][0]["cube"]]["groups"]
    labels = dict(zip(keys, chart["keyLabels"], strict=True))
    return {(labels[k], s): v for (k, s), v in reaggregate(data, chart, sel).items()}


def test_a_chart_by_client_keeps_its_top_groups_and_others(folded: Any, everything: Any) -> None:
    data, view = folded
    before, before_view = everything
    charts = {c["id"]: c for c in data["charts"]}
    by_client = charts["won-value-by-client"]
    groups = data["cubes"][by_client["series"][0]["cube"]]["groups"]
    old = before["cubes"][before["charts"][0]["series"][0]["cube"]]["groups"]
    # two charts read this cube (won value by client, and the Won series): the top of each
    assert len(old) > 80 and top.TOP < len(groups) - 2 <= 2 * top.TOP
    assert groups[-2:] == [OTHERS, NOT_SET] and "Others" in by_client["keyLabels"]
    assert by_client["top"].startswith(f"Client: top {len(groups) - 2} of {len(old) - 1:,}")
    assert "top" not in charts["deals-by-owner"]  # six owners: every one kept
    # with no control set, every chart of a measure that adds up shows what it showed with
    # every group kept (its 19 largest and Others)
    average = "average-deal-by-client"
    assert [c for c in view["charts"] if c["id"] != average] == [
        c for c in before_view["charts"] if c["id"] != average
    ]
    # an average does not add up, so it was not folded: now the 50 clients of most deals, and
    # the average of the others
    now, then = ({r["key"]: r["text"] for r in c["table"]} for c in (view, before_view)
                 for c in c["charts"] if c["id"] == average)  # fmt: skip
    assert len(then) > 300 and len(now) == top.TOP + 1 and list(now)[-1] == "Others"
    assert {k: v for k, v in now.items() if k != "Others"}.items() <= then.items()


def test_every_total_is_the_same_under_every_selection(folded: Any, everything: Any) -> None:
    data, before = folded[0], everything[0]
    cases = sampled(data)
    assert data["dims"] == before["dims"]  # so one selection means the same on both
    for chart, old in zip(data["charts"], before["charts"], strict=True):
        additive = all(s["op"] in ("count", "sum") for s in chart["series"])
        for sel in cases:
            after, was = labelled(data, chart, sel), labelled(before, old, sel)
            for series in chart["series"]:
                label = series["label"]
                now = {k: v for (k, s), v in after.items() if s == label}
                then = {k: v for (k, s), v in was.items() if s == label}
                kept = {k for k in now if k != "Others"}
                assert {k: now[k] for k in kept} == {k: then[k] for k in kept}, (chart["id"], sel)
                if additive:  # Others adds up exactly the groups not kept
                    rest = sum(v for k, v in then.items() if k not in kept)
                    assert now.get("Others", 0) == pytest.approx(rest), (chart["id"], sel)
                    total = sum(now.values())
                    assert total == pytest.approx(sum(then.values())), (chart["id"], sel)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_dashboard_js_draws_the_same_totals(folded: Any, everything: Any, tmp_path: Path) -> None:
    data, view = folded
    cases = sampled(data, 25)
    script = tmp_path / "run.js"
    script.write_text(
        f"const api = require({json.dumps(str(JS))});\n"
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "const out = input.cases.map(sel => Object.fromEntries(input.data.charts.map(c =>\n"
        "  [c.id, [api.chartRows(input.data, c, sel), api.topNote(input.data, c, sel)]])));\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    results = []
    for data_ in (data, everything[0]):
        payload = json.dumps({"data": data_, "cases": cases})
        done = subprocess.run(["node", str(script)], input=payload, capture_output=True,
                              text=True, check=True, timeout=60)  # fmt: skip
        results.append(json.loads(done.stdout))
    after, before = results
    for sel, now, then in zip(cases, after, before, strict=True):
        for chart in data["charts"]:
            rows, note = now[chart["id"]]
            old_rows, _ = then[chart["id"]]
            shown = len({r["k"] for r in rows})
            if chart["id"] == "average-deal-by-client":  # not folded in the browser
                assert shown <= top.TOP + 1
            else:  # 19 bars and Others at most, adding up to what they did
                assert shown <= 20
                total = sum(r["v"] or 0 for r in rows)
                assert total == pytest.approx(sum(r["v"] or 0 for r in old_rows)), sel
            filtered = any(v is not None for k, v in sel.items() if k != "fields")
            filtered = filtered or any(v is not None for v in sel["fields"])
            assert bool(note) == (filtered and "top" in chart), (chart["id"], sel)
    # unfiltered, the browser draws the rows the static page shows, in the same order
    for chart in view["charts"]:
        shown = [(row["key"], row["series"]) for row in chart["table"]]
        assert [(r["k"], r["s"]) for r in after[0][chart["id"]][0]] == shown


def test_others_counts_a_record_once_per_value_not_kept() -> None:
    fact = Fact("p", "Won", "won", (), "2025-01", ("a", "b", "c"), {"n": Decimal(1)})
    unset = Fact("p", "Won", "won", (), "2025-01", (), {"n": Decimal(1)})
    facts, groups = top.fold([fact, unset], ("a", "b", "c", NOT_SET), frozenset({"b"}))
    assert facts[0].groups == (OTHERS, "b", OTHERS) and facts[1].groups == (OTHERS,)
    assert groups == ("b", OTHERS, NOT_SET)
    kept, _ = top.fold([unset], ("a", NOT_SET), frozenset({NOT_SET}))
    assert kept[0] is unset


def cube_bytes(clients: int, keep: int) -> int:
    """Bytes of the page data of one chart by client of 5,000 deals spread over ``clients``."""
    text = """\
dashboards:
  - name: c
    filters: [list, owner, month]
    charts:
      - {title: Value by client, kind: bar, measure: sum(amount), group: client,
         date: created, order: value}
"""
    data, _ = kept_apart(keep, many_clients(clients, deals=5000, skew=1), text)
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def test_the_page_grows_with_the_groups_shown_not_the_groups_there_are() -> None:
    few, many = cube_bytes(100, top.TOP), cube_bytes(5000, top.TOP)
    # 100 or 5,000 clients: the top groups and Others per cell either way (measured: 43 kB
    # and 27 kB, the more clients the fewer kept apart have several rows)
    assert many - few < 5_000, (few, many)
    # and the bound is what keeps it: with every client kept apart, 52 kB and 152 kB
    every = cube_bytes(5000, 10**9)
    assert every > 2 * few, (few, every)
