"""Metrics and the cube: the browser's re-aggregation of the packed cube must equal Python's
direct computation for every selection. The cube is read here by an independent unpacker and
summed by a reader written from the format's description, and by ``dashboard.js`` under Node.
"""

from __future__ import annotations

import json
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
    charts_of,
    context,
    make_dataset,
)

from crmgen.dashboards import metrics
from crmgen.dashboards.cube import build_cubes, cube_key
from crmgen.dashboards.declarations import builtin_dashboards
from crmgen.dashboards.metrics import Dims, Fact, Selection
from crmgen.model import Page
from crmgen.model.dashboards import DashboardSpec, Measure

JS = Path(__file__).parent.parent / "crmgen" / "static" / "dashboard.js"
ALL = {"project": None, "list": None, "tag": None, "start": None, "end": None, "fields": []}
#: The built-in dashboard with field filters too: a select, a multi-select (a record may have
#: several values) and a text field.
FILTERS = ("project", "list", "tag", "month", "source", "services", "owner")


def specs() -> tuple[DashboardSpec, ...]:
    return tuple(replace(spec, filters=FILTERS) for spec in builtin_dashboards())


@pytest.fixture(scope="module")
def page() -> Page:
    pages, _, diagnostics = build(make_dataset(), specs())
    assert diagnostics == []
    return pages[0]


@pytest.fixture(scope="module")
def data(page: Page) -> dict[str, Any]:
    return dict(json.loads(json.dumps(context(page)["data"])))


def unpack(data: dict[str, Any], cube: dict[str, Any]) -> list[list[Any]]:
    """Rows from ``keys``/``values``: deltas of m + M*(p + P*(l + L*(t + 1 + T*(f1 + … g))))."""
    dims = data["dims"]
    fields = dims.get("fields", [])
    sizes = [len(dims["months"]), len(dims["projects"]), len(dims["lists"]), len(dims["tags"]) + 1]
    sizes += [len(f["combos"]) if f["combos"] is not None else len(f["values"]) for f in fields]
    rows, key = [], 0
    for i, delta in enumerate(cube["keys"]):
        key += delta
        rest, row = key, []
        for size in sizes:
            row.append(rest % size)
            rest //= size
        row[3] -= 1
        rows.append([*row[:4], rest, *row[4:], *(column[i] for column in cube["values"])])
    return rows


def _key(chart: dict[str, Any], data: dict[str, Any], cube: dict[str, Any], row: list[Any]) -> Any:
    m, p, li, t, g = row[:5]
    dims, group = data["dims"], chart["group"]
    if group == "month":
        return dims["months"][m] if m else None
    if group == "tag":
        return dims["tags"][t]
    found = {"list": dims["lists"][li], "project": dims["projects"][p], "field": cube["groups"][g]}
    return found.get(group, "")


def _keeps(
    row: list[Any], sel: dict[str, Any], by_tag: bool, timed: bool, skip: set[str], data: Any
) -> bool:
    m, p, li, t = row[:4]
    if sel["project"] is not None and p != sel["project"]:
        return False
    if sel["list"] is not None and "list" not in skip and li != sel["list"]:
        return False
    tag = None if "tag" in skip else sel["tag"]
    if by_tag and (t < 0 or (tag is not None and t != tag)):
        return False
    if not by_tag and t >= 0:
        return False
    for j, dim in enumerate(data["dims"].get("fields", [])):
        want = (sel["fields"] or [None] * (j + 1))[j]
        if want is None or dim["name"] in skip:
            continue
        found = dim["combos"][row[5 + j]] if dim["combos"] is not None else [row[5 + j]]
        found = [v for v in found if v]  # value 0 is "not set"
        if (want not in found) if want else found:
            return False
    return not timed or bool(m and (sel["start"] or 0) <= m <= (sel["end"] or 10**9))


def reaggregate(data: dict[str, Any], chart: dict[str, Any], sel: dict[str, Any]) -> dict:
    """(group key, series label) -> value, as the browser computes it."""
    out = {}
    for series in chart["series"]:
        cube = data["cubes"][series["cube"]]
        skip = set(series["skip"])
        by_tag = (sel["tag"] is not None and "tag" not in skip) or chart["group"] == "tag"
        timed = series["timed"] and (sel["start"] is not None or sel["end"] is not None)
        first = 5 + len(data["dims"].get("fields", []))
        totals: dict[Any, list[Any]] = {}
        for row in unpack(data, cube):
            key = _key(chart, data, cube, row)
            if key is None or not _keeps(row, sel, by_tag, timed, skip, data):
                continue
            acc = totals.setdefault(key, [None] * len(series["cols"]))
            for i, col in enumerate(series["cols"]):
                value, rule = row[first + col], cube["combine"][col]
                if value is not None and acc[i] is not None:
                    value = {"min": min, "max": max}.get(rule, lambda a, b: a + b)(acc[i], value)
                acc[i] = acc[i] if value is None else value
        for key, acc in totals.items():
            value = _finish(series["op"], acc)
            out[(key, series["label"])] = None if value is None else value * series["scale"]
    return out


def _finish(op: str, acc: list[Any]) -> float | None:
    if op in ("avg", "avg_days"):
        return acc[0] / acc[1] if acc[0] is not None and acc[1] else None
    if op == "win_rate":
        won, lost = acc[0] or 0, acc[1] or 0
        return won / (won + lost) if won + lost else None
    return acc[0] if op in ("min", "max") else (acc[0] or 0)


def selections(data: dict[str, Any]) -> list[dict[str, Any]]:
    """No filter; each project, list and tag alone; every time frame; one combination."""
    dims = data["dims"]
    found = [dict(ALL)]
    for name, values in (("project", "projects"), ("list", "lists"), ("tag", "tags")):
        found += [{**ALL, name: i} for i in range(len(dims[values]))]
    months = len(dims["months"])
    found += [{**ALL, "start": s, "end": e} for s in range(1, months) for e in range(s, months)]
    found += [{**ALL, "start": 3}, {**ALL, "end": 2}]
    found.append({**ALL, "project": 0, "list": 2, "tag": 2, "start": 2, "end": 3})
    fields = dims["fields"]
    for j, dim in enumerate(fields):
        for value in range(len(dim["values"])):
            chosen = [value if i == j else None for i in range(len(fields))]
            found += [{**ALL, "fields": chosen}, {**ALL, "tag": 1, "start": 2, "fields": chosen}]
    found = [{**sel, "fields": sel["fields"] or [None] * len(fields)} for sel in found]
    return found


def python_values(data: dict[str, Any], sel: dict[str, Any]) -> dict[str, dict]:
    """The reference: ``metrics.evaluate`` over the facts, per chart id."""
    dims = data["dims"]

    def pick(name: str, values: str) -> Any:
        return dims[values][sel[name]] if sel[name] is not None else None

    fields = tuple(
        (dim["name"], dim["values"][index])
        for dim, index in zip(dims["fields"], sel["fields"], strict=True)
        if index is not None
    )
    selection = Selection(pick("project", "projects"), pick("list", "lists"), pick("tag", "tags"),
                          pick("start", "months"), pick("end", "months"), fields)  # fmt: skip
    dataset = make_dataset()
    dataset, found = charts_of(dataset, specs())
    cubes = build_cubes(dataset, found, tuple(dim["name"] for dim in dims["fields"]))
    entries = {entry["id"]: entry for entry in data["charts"]}
    out: dict[str, dict] = {}
    for chart in found:
        if chart.kind == "stage-times":
            continue  # not from a cube
        values = out.setdefault(chart.id, {})
        for series, entry in zip(chart.series, entries[chart.id]["series"], strict=True):
            facts = cubes[cube_key(chart, series)].facts
            timed = series.date is not None
            skip = frozenset(entry["skip"])
            got = metrics.evaluate(facts, series.measure, chart.group, selection, timed, skip)
            for key, value in got.items():
                number = None if value is None else float(value * series.scale)
                values[(key, series.label)] = number
    return out


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] is None) == (b[k] is None) and abs((a[k] or 0) - (b[k] or 0)) < 1e-6 for k in a
    )


def test_cube_reaggregation_equals_python_for_every_selection(data: dict[str, Any]) -> None:
    cases = selections(data)
    assert len(cases) > 15
    for sel in cases:
        expected = python_values(data, sel)
        for chart in data["charts"]:
            if chart.get("static"):
                continue  # computed once at build time (days in each stage)
            assert close(reaggregate(data, chart, sel), expected[chart["id"]]), (chart["id"], sel)


def test_a_record_with_two_tags_counts_once(data: dict[str, Any]) -> None:
    won_value = next(c for c in data["charts"] if c["id"] == "won-value")
    seo = {**ALL, "tag": data["dims"]["tags"].index("seo")}
    april = {**ALL, "start": data["dims"]["months"].index("2025-04")}
    # d (web and seo) is one deal: 3000 + 5000.50, not 3000 + 2 × 5000.50
    assert reaggregate(data, won_value, ALL) == {("", "Won value"): 8000.5}
    assert reaggregate(data, won_value, seo) == {("", "Won value"): 8000.5}
    assert reaggregate(data, won_value, april) == {("", "Won value"): 5000.5}
    by_tag = next(c for c in data["charts"] if c["id"] == "sales-by-type")
    assert reaggregate(data, by_tag, seo) == {("seo", "Sales by type"): 8000.5}


def test_field_filters_keep_records_by_any_of_their_values(data: dict[str, Any]) -> None:
    won_value = next(c for c in data["charts"] if c["id"] == "won-value")
    dims = {dim["name"]: dim for dim in data["dims"]["fields"]}
    assert list(dims) == ["source", "services", "owner"]  # the declared order
    assert dims["services"]["combos"] is not None  # b has two services: a set dimension
    assert dims["owner"]["combos"] is None and dims["owner"]["values"] == ["", "Ann", "Bo"]

    def owner(value: int | None) -> dict[str, Any]:
        return {**ALL, "fields": [None, None, value]}

    # won: c (Ann) 3000, d (Bo) 5000.50
    assert reaggregate(data, won_value, owner(1)) == {("", "Won value"): 3000}
    assert reaggregate(data, won_value, owner(2)) == {("", "Won value"): 5000.5}
    assert reaggregate(data, won_value, owner(0)) == {}  # no won deal is unowned
    # invoices have no owner: their series ignore the filter (and the page says so)
    cash = next(c for c in data["charts"] if c["id"] == "opportunity-to-cash")
    assert [s["skip"] for s in cash["series"]] == [[], ["tag", *dims], ["tag", *dims]]
    found = reaggregate(data, cash, owner(1))
    assert found[("2025-04", "Paid")] == 1500  # every paid invoice
    assert found[("2025-03", "Sales")] == 3000 and ("2025-04", "Sales") not in found  # Ann's


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_dashboard_js_computes_what_python_computes(
    page: Page, data: dict[str, Any], tmp_path: Path
) -> None:
    cases = selections(data)
    script = tmp_path / "run.js"
    script.write_text(
        f"const api = require({json.dumps(str(JS))});\n"
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "const out = input.cases.map(sel => Object.fromEntries(input.data.charts\n"
        "  .filter(chart => !chart.static).map(chart =>\n"
        "  [chart.id, api.chartRows(input.data, chart, sel)])));\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    payload = json.dumps({"data": data, "cases": cases})
    done = subprocess.run(["node", str(script)], input=payload, capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    results = json.loads(done.stdout)
    for sel, found in zip(cases, results, strict=True):
        expected = python_values(data, sel)
        for chart in data["charts"]:
            if chart.get("static"):
                continue
            keys = chart["keys"]
            if keys is None:  # a field grouping: its cube's groups
                keys = data["cubes"][chart["series"][0]["cube"]]["groups"]
            labels = dict(zip(keys, chart["keyLabels"], strict=True))
            if chart["group"] == "month":
                labels = dict(
                    zip(data["dims"]["months"], data["dims"]["monthLabels"], strict=True)
                )
            want = {(labels[k], s): v for (k, s), v in expected[chart["id"]].items()}
            got = {(r.get("k"), r["s"]): r["v"] for r in found[chart["id"]]}
            assert close({k: got.get(k) for k in want}, want), (chart["id"], sel)
            extra = {k: v for k, v in got.items() if k not in want}
            # only the empty months between two bars may be added: 0, or nothing for averages
            assert chart["group"] == "month" or not extra, (chart["id"], sel, extra)
            assert all(v in (0, None) for v in extra.values()), (chart["id"], sel, extra)
    # unfiltered, the browser draws the rows the static page shows, in the same order
    for chart in context(page)["charts"]:
        if chart["kind"] == "stage-times":
            continue
        shown = [(row["key"], row["series"]) for row in chart["table"]]
        assert [(r["k"], r["s"]) for r in results[0][chart["id"]]] == shown


def fact(month: str, tags: tuple[str, ...] = (), **columns: int) -> Fact:
    values = {name.replace("_", ":"): Decimal(v) for name, v in columns.items()}
    return Fact("p", "Won", "won", tags, month, (), values)


def test_evaluate_and_finish() -> None:
    facts = [
        fact("2025-01", ("a",), n=1, sum_x=10, n_x=1, min_x=10, won=1),
        fact("2025-02", ("a", "b"), n=1, sum_x=30, n_x=1, min_x=30, lost=1),
        fact("", (), n=1),
    ]
    everything = Selection()

    def value(op: str, group: str | None = None, sel: Selection = everything) -> dict:
        fields = () if op in ("count", "win_rate") else ("x",)
        return metrics.evaluate(facts, Measure(op, fields), group, sel, timed=True)

    assert value("count") == {"": 3}
    assert value("sum") == {"": 40} and value("avg") == {"": 20} and value("min") == {"": 10}
    assert value("win_rate") == {"": Decimal(1) / 2}
    assert value("count", "month") == {"2025-01": 1, "2025-02": 1}  # no month, no bar
    assert value("count", "tag") == {"a": 2, "b": 1, "": 1}
    assert value("count", sel=Selection(start="2025-02")) == {"": 1}  # undated left out
    assert value("count", sel=Selection(tag="")) == {"": 1}  # "no tag"
    assert value("count", "tag", Selection(tag="b")) == {"b": 1}


def test_pack_rows_round_trips() -> None:
    dims = Dims(("", "2025-01", "2025-02"), ("p", "q"), ("", "L"), ("", "a", "b"))
    rows = [[2, 1, 1, -1, 3, 5, None], [0, 0, 0, 0, 0, 1, 2.5], [1, 1, 1, 2, 1, 0, 7]]
    packed = metrics.pack_rows(rows, (3, 2, 2, 4))
    data = {"dims": {"months": dims.months, "projects": dims.projects, "lists": dims.lists,
                     "tags": dims.tags}}  # fmt: skip
    assert sorted(unpack(data, packed)) == sorted(rows)
    assert min(packed["keys"]) >= 0  # sorted, so every delta is small and positive
    assert metrics.pack_rows([], (3, 2, 2, 4)) == {"keys": [], "values": []}
    assert metrics.month_range("2024-11", "2025-02") == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]
