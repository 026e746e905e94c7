"""Dashboards a sales manager reads at a glance (#11), in Debian's Chromium, network blocked.

On the example and on a generated repo, at a desktop and a phone size: no sideways scrolling,
no chart text under 11 px, count axes in whole numbers each shown once, every donut slice
with its value and share, references grouped by the referenced record's title, one colour per
category across charts, the filters in the address (restored from a link, and by the back
button), a note where a filter cannot apply to a series, and one where a filter may change the
top groups of a chart of many clients.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, serve_dir

from bench.generate import generate
from crmgen.build import build_site
from crmgen.model import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).parent.parent
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
TODAY = dt.date(2026, 11, 27)


def _build(root: Path, out: Path) -> tuple[Path, Dataset]:
    result = build_site(root, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out, result.dataset


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Dataset]]:
    base = tmp_path_factory.mktemp("readable")
    generated = base / "generated"
    generate(generated, 1000, seed=3)  # 100 clients: "Won value by client" keeps its top 50
    return {
        "example": _build(REPO, base / "example-site"),
        "generated": _build(generated, base / "generated-site"),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def _open(browser: Any, url: str, size: str) -> tuple[Any, Any, list[str]]:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    errors: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            errors.append(f"blocked request to {route.request.url}")
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.goto(url)
    _drawn(page)
    return context, page, errors


def _drawn(page: Any) -> None:
    page.wait_for_selector("#dashboard-controls:not([hidden])")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart:not(.empty) [data-chart-live]')]"
        ".every(el => el.querySelector('svg'))"
    )


def _data(page: Any) -> dict[str, Any]:
    return dict(json.loads(page.text_content("#dashboard-data")))


_MIN_FONT = """() => Math.min(...[...document.querySelectorAll('[data-chart-live] svg text')]
  .filter(t => t.textContent.trim())
  .map(t => parseFloat(getComputedStyle(t).fontSize)))"""
_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
_AXIS = """id => [...document.querySelectorAll(`#chart-${id} .chart-live g.role-axis`)]
  .map(axis => [...axis.querySelectorAll('.role-axis-label text')].map(t => t.textContent))"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("site", ["example", "generated"])
@pytest.mark.parametrize("name", ["sales", "team"])
def test_readable_at_a_glance(
    sites: dict[str, tuple[Path, Dataset]], browser: Any, site: str, name: str, size: str
) -> None:
    out, _ = sites[site]
    with serve_dir(out) as url:
        context, page, errors = _open(browser, f"{url}dashboards/{name}.html", size)
        try:
            assert page.evaluate(_OVERFLOW) <= 0  # nothing scrolls sideways
            assert page.evaluate(_MIN_FONT) >= 11
            # every drawn bar or line chart takes most of its card's width (a chart drawn
            # while its container was hidden measured 0 and showed nothing)
            widths = page.evaluate(
                """() => Array.from(document.querySelectorAll(
                     '.chart-bar.live:not(.empty), .chart-line.live:not(.empty)')).map(c =>
                     [c.querySelector('.chart-live svg').getBoundingClientRect().width,
                      c.getBoundingClientRect().width])"""
            )
            assert widths and all(svg > 0.6 * card for svg, card in widths), widths
            data = _data(page)
            for chart in data["charts"]:
                if chart.get("fmt") != "count" or chart["kind"] not in ("bar", "line"):
                    continue
                for labels in page.evaluate(_AXIS, chart["id"]):
                    numbers = [label for label in labels if label.replace(",", "").isdigit()]
                    if len(numbers) == len(labels):  # the value axis: whole numbers, once each
                        assert len(set(numbers)) == len(numbers), (chart["id"], labels)
                texts = page.evaluate(_AXIS, chart["id"])
                assert not any("." in t for labels in texts for t in labels if t[:1].isdigit())
            for row in page.query_selector_all(".chart-pie:not(.empty) .pie-legend tbody tr"):
                cells = [c.text_content() for c in row.query_selector_all("td.number")]
                assert cells[0].strip() and cells[1].endswith("%"), cells  # value and share
            assert errors == []
        finally:
            context.close()


def test_references_are_grouped_by_title(
    sites: dict[str, tuple[Path, Dataset]], browser: Any
) -> None:
    out, dataset = sites["generated"]
    clients = dataset.projects["clients"].records
    titles = {str(r.get("title")) for r in clients.values()}
    with serve_dir(out) as url:
        context, page, _ = _open(browser, f"{url}dashboards/team.html", "desktop")
        try:
            labels = [
                label for axis in page.evaluate(_AXIS, "won-value-by-client") for label in axis
            ]
            shown = [label for label in labels if not label.startswith("€")]
            assert shown and not set(shown) & set(clients)  # never a slug
            assert all(label in titles or label.endswith("…") or label == "Others"
                       for label in shown)  # fmt: skip
        finally:
            context.close()


_FILL = """([id, label]) => {
  const mark = [...document.querySelectorAll(`#chart-${id} .chart-live path[aria-label]`)]
    .find(p => p.getAttribute('aria-label').includes(label));
  return mark ? mark.getAttribute('fill') : null;
}"""


def test_a_category_has_one_colour_on_every_chart(
    sites: dict[str, tuple[Path, Dataset]], browser: Any
) -> None:
    out, _ = sites["example"]
    with serve_dir(out) as url:
        context, page, _ = _open(browser, f"{url}dashboards/sales.html", "desktop")
        try:
            pie = page.evaluate(_FILL, ["open-deals-by-stage", "Proposal sent"])
            funnel = page.evaluate(_FILL, ["deals-that-reached-each-stage", "Proposal sent"])
            won = page.evaluate(_FILL, ["deals-that-reached-each-stage", "Closed won"])
            assert pie and pie == funnel and won and won != pie
        finally:
            context.close()


_STAT = "id => document.querySelector(`[data-stat='${id}'] .stat-value`).dataset.value"


def test_filters_live_in_the_address(sites: dict[str, tuple[Path, Dataset]], browser: Any) -> None:
    out, dataset = sites["example"]
    records = dataset.projects["opportunities"].records.values()
    owners = sorted({str(r.get("owner")) for r in records if r.get("owner")})
    with serve_dir(out) as url:
        context, page, errors = _open(browser, f"{url}dashboards/sales.html", "desktop")
        try:
            everyone = page.evaluate(_STAT, "deals-won")
            page.select_option("#dash-owner", owners[0])
            page.wait_for_function("() => location.search.includes('owner=')")
            first = page.evaluate(_STAT, "deals-won")
            page.select_option("#dash-owner", owners[1])
            page.wait_for_function(
                f"() => document.querySelector('#dash-owner').value === {json.dumps(owners[1])}"
            )
            # invoices have no owner: the chart says so instead of dropping them silently
            note = page.text_content("#chart-opportunity-to-cash .filter-note")
            assert "Invoiced" in note and page.is_visible(
                "#chart-opportunity-to-cash .filter-note"
            )
            page.go_back()
            page.wait_for_function(
                f"() => document.querySelector('#dash-owner').value === {json.dumps(owners[0])}"
            )
            assert page.evaluate(_STAT, "deals-won") == first != everyone
            shared = page.url
            page.go_back()
            page.wait_for_function("() => document.querySelector('#dash-owner').value === ''")
            assert page.evaluate(_STAT, "deals-won") == everyone
            assert errors == []
        finally:
            context.close()
        # a shared link opens the same view
        context, page, errors = _open(browser, shared, "phone")
        try:
            assert page.input_value("#dash-owner") == owners[0]
            assert page.evaluate(_STAT, "deals-won") == first
            assert owners[0] in page.text_content("#dashboard-status")
            assert errors == []
        finally:
            context.close()


_BARS = """id => [...document.querySelectorAll(`#chart-${id} .chart-data tbody th`)]
  .map(th => th.textContent)"""


def test_a_chart_of_many_clients_says_when_a_filter_may_change_its_top(
    sites: dict[str, tuple[Path, Dataset]], browser: Any
) -> None:
    out, dataset = sites["generated"]
    records = dataset.projects["opportunities"].records.values()
    owners = sorted({str(r.get("owner")) for r in records if r.get("owner")})
    chart = "#chart-won-value-by-client"
    with serve_dir(out) as url:
        context, page, errors = _open(browser, f"{url}dashboards/team.html", "desktop")
        try:
            entry = next(c for c in _data(page)["charts"] if c["id"] == "won-value-by-client")
            assert entry["top"].startswith("Client: top 50 of ")
            assert not page.is_visible(f"{chart} .filter-note")  # nothing filtered: exact
            bars = page.evaluate(_BARS, "won-value-by-client")
            assert len(bars) == 20 and bars[-1] == "Others"
            page.select_option("#dash-owner", owners[0])
            page.wait_for_function("() => location.search.includes('owner=')")
            assert page.is_visible(f"{chart} .filter-note")
            assert entry["top"] in page.text_content(f"{chart} .filter-note")
            bars = page.evaluate(_BARS, "won-value-by-client")
            assert len(bars) <= 20 and bars[-1] == "Others"
            assert errors == []
        finally:
            context.close()
