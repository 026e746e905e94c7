"""The example sales dashboard in Debian's Chromium, network blocked.

Every chart draws; the owner filter changes stat cards to numbers worked out here from the
records; the time frame changes the monthly bars; no console errors; axe finds nothing
serious.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser import axe_violations, chromium, open_page, screenshot, serve_dir

from crmgen.build import build_site
from crmgen.model import Dataset, Record

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset]:
    out = tmp_path_factory.mktemp("dash") / "site"
    result = build_site(REPO, out, today=dt.date(2026, 11, 27))
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out, result.dataset


@pytest.fixture(scope="module")
def page(built: tuple[Path, Dataset]) -> Iterator[tuple[Any, list[str]]]:
    with (
        serve_dir(built[0], prefix="repo/") as url,
        chromium() as browser,
        open_page(browser) as (page, errors),
    ):
        page.goto(url + "dashboards/sales.html")
        page.wait_for_selector("#dashboard-controls:not([hidden])")
        yield page, errors


def _won(dataset: Dataset) -> list[Record]:
    project = dataset.projects["opportunities"]
    won = {ls.name for ls in project.schema.lists if ls.kind == "won"}
    return [r for r in project.records.values() if r.values["list"] in won]


def _stat(page: Any, stat: str) -> Decimal:
    value = page.get_attribute(f"[data-stat='{stat}'] .stat-value", "data-value")
    return Decimal(value)


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text) or "0")


def _table(page: Any, chart: str) -> dict[str, Decimal]:
    rows = page.eval_on_selector_all(
        f"#chart-{chart} .chart-data tbody tr",
        "rows => rows.map(r => [r.querySelector('th').textContent,"
        " r.querySelector('td:last-child').textContent])",
    )
    return {label: _money(value) for label, value in rows}


def test_every_chart_draws(page: tuple[Any, list[str]]) -> None:
    p, errors = page
    live = p.eval_on_selector_all("[data-chart-live]", "els => els.length")
    assert live >= 9
    p.wait_for_function(
        "n => document.querySelectorAll('[data-chart-live] svg').length === n", arg=live
    )
    screenshot(p, "dashboard")
    assert errors == []
    assert axe_violations(p) == []


def test_owner_filter_changes_stat_cards(
    page: tuple[Any, list[str]], built: tuple[Path, Dataset]
) -> None:
    p, errors = page
    won = _won(built[1])
    assert _stat(p, "deals-won") == len(won)
    assert _stat(p, "won-value") == sum(Decimal(r.values["amount"]) for r in won)
    owner = sorted({str(r.values["owner"]) for r in won if r.values.get("owner")})[0]
    p.select_option("#dash-owner", owner)  # a declared filter (crmgen.yml: filters)
    theirs = [r for r in won if r.values.get("owner") == owner]
    assert 0 < len(theirs) < len(won)
    p.wait_for_function(
        "n => document.querySelector(\"[data-stat='deals-won'] .stat-value\")"
        ".getAttribute('data-value') === String(n)",
        arg=len(theirs),
    )
    assert _stat(p, "won-value") == sum(Decimal(r.values["amount"]) for r in theirs)
    p.select_option("#dash-owner", value="")
    assert errors == []


def test_time_frame_changes_monthly_bars(
    page: tuple[Any, list[str]], built: tuple[Path, Dataset]
) -> None:
    p, errors = page
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for r in _won(built[1]):
        closed = r.values.get("closed")
        if closed is not None:
            by_month[closed.strftime("%Y-%m")] += Decimal(r.values["amount"])
    before = _table(p, "sales-per-month")
    assert sum(before.values()) == sum(by_month.values())
    p.select_option("#dash-from", label="Mar 2026")
    p.select_option("#dash-to", label="Jun 2026")
    p.wait_for_function(
        "() => document.querySelectorAll('#chart-sales-per-month .chart-data tbody tr').length"
        " <= 4"
    )
    after = _table(p, "sales-per-month")
    assert list(after) == ["Mar 2026", "Apr 2026", "May 2026", "Jun 2026"][: len(after)]
    for label, value in after.items():
        month = dt.datetime.strptime(label, "%b %Y").strftime("%Y-%m")
        assert value == by_month.get(month, Decimal(0)), label
    assert after != before
    assert errors == []
