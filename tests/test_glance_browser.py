"""Pages a sales manager reads at a glance, in a real Chromium at a laptop's and a phone's size,
on the example repo and on a generated repo of 700 deals: no sideways overflow of any page,
cards of at most three lines, every board column reachable from the top, a table whose title
column stays in view, totals that follow the filter, columns one click away and kept in the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, open_page, serve_dir

from bench.generate import TODAY, generate
from crmgen.build import build_site
from crmgen.model import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EXAMPLE = Path(__file__).parent.parent
SIZES = {"laptop": (1366, 900), "phone": (390, 844)}


def _build(repo: Path, out: Path) -> Dataset:
    result = build_site(repo, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return result.dataset


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Dataset]]:
    repo = tmp_path_factory.mktemp("repo") / "repo"
    generate(repo, 700, seed=5)
    big = tmp_path_factory.mktemp("big") / "site"
    example = tmp_path_factory.mktemp("example") / "site"
    return {"big": (big, _build(repo, big)), "example": (example, _build(EXAMPLE, example))}


@pytest.fixture(scope="module")
def urls(sites: dict[str, tuple[Path, Dataset]]) -> Iterator[dict[str, str]]:
    with serve_dir(sites["big"][0]) as big, serve_dir(sites["example"][0]) as example:
        yield {"big": big, "example": example}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


PAGES = [
    "index.html",
    "opportunities/board.html",
    "opportunities/index.html",
    "clients/board.html",
    "clients/index.html",
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("which", ["example", "big"])
def test_no_page_overflows_sideways_and_cards_are_three_lines(
    urls: dict[str, str], browser: Any, which: str, size: str
) -> None:
    width, height = SIZES[size]
    with open_page(browser, viewport={"width": width, "height": height}) as (page, errors):
        for path in PAGES:
            page.goto(urls[which] + path)
            page.wait_for_load_state("load")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, (path, overflow)
        page.goto(urls[which] + "opportunities/board.html")
        heights = page.eval_on_selector_all(
            ".board-column details[open] .card",
            """cards => cards.map(c => {
                 const line = parseFloat(getComputedStyle(c.querySelector('.card-line') || c)
                   .lineHeight) || 16;
                 return [c.getBoundingClientRect().height, line,
                         c.querySelectorAll('.card-line').length];
               })""",
        )
        assert heights, "the open columns show cards"
        for card_height, line, lines in heights:
            assert lines <= 2  # the title, then at most two lines (no tags declared)
            assert card_height <= 3 * line + 1.4 * line + 16  # three lines, padding, border
        # every column is reachable from the top of the board: a link per column
        columns = page.locator(".board-column").count()
        assert page.locator(".board-nav a").count() == columns
        assert errors == []


def test_closed_columns_collapse_to_their_totals_but_a_board_without_open_lists_does_not(
    urls: dict[str, str], browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(urls["example"] + "opportunities/board.html")
        kinds = page.eval_on_selector_all(
            ".board-column",
            "cols => cols.map(c => [c.dataset.kind, c.querySelector('details').open])",
        )
        assert all(opened == (kind == "open") for kind, opened in kinds)
        width = page.eval_on_selector(
            ".board-column.kind-won", "c => c.getBoundingClientRect().width"
        )
        assert width < 170  # a collapsed column is narrow: its header and totals
        page.goto(urls["example"] + "clients/board.html")  # every list of kind n-a
        assert page.eval_on_selector_all(".board-column details", "ds => ds.every(d => d.open)")
        assert page.locator(".card").count() > 0
        assert errors == []


def test_the_title_column_stays_while_the_table_scrolls_sideways(
    urls: dict[str, str], browser: Any
) -> None:
    with open_page(browser, viewport={"width": 390, "height": 844}) as (page, errors):
        page.goto(urls["big"] + "opportunities/index.html")
        page.wait_for_selector("table.records[data-mode=data]")
        before = page.eval_on_selector("#records tbody th", "c => c.getBoundingClientRect().left")
        page.eval_on_selector(".table-wrap", "w => { w.scrollLeft = 400; }")
        after = page.eval_on_selector("#records tbody th", "c => c.getBoundingClientRect().left")
        assert page.eval_on_selector(".table-wrap", "w => w.scrollLeft") > 0
        assert abs(before - after) < 1
        assert (
            page.eval_on_selector(
                "#records tbody td.type-date", "c => getComputedStyle(c).whiteSpace"
            )
            == "nowrap"
        )
        assert errors == []


def test_totals_follow_the_filter_and_counts_are_in_the_locale(
    sites: dict[str, tuple[Path, Dataset]], urls: dict[str, str], browser: Any
) -> None:
    dataset = sites["big"][1]
    records = dataset.projects["opportunities"].records.values()
    won = [r for r in records if r.get("list") == "Closed won"]
    total = sum((Decimal(str(r.get("amount") or 0)) for r in won), Decimal(0))
    with open_page(browser) as (page, errors):
        page.goto(urls["big"] + "opportunities/index.html?list=Closed+won")
        page.wait_for_selector("table.records[data-mode=data]")
        cell = page.locator("#records tfoot td[data-field=amount]")
        assert Decimal(cell.get_attribute("data-total")) == total
        count = page.text_content("#records tfoot [data-role=total-count]")
        assert count == f"Total of {len(won):,} records"
        page.select_option("[data-filter=list]", "")
        assert page.text_content("[data-role=count]") == "700 of 700 shown"
        every = sum((Decimal(str(r.get("amount") or 0)) for r in records), Decimal(0))
        assert Decimal(cell.get_attribute("data-total")) == every
        assert errors == []


def test_columns_are_one_click_away_and_kept_in_the_url(
    urls: dict[str, str], browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(urls["example"] + "opportunities/index.html")
        page.wait_for_selector("table.records[data-mode=data]")
        heads = page.eval_on_selector_all(
            "#records thead th", "ths => ths.map(t => t.dataset.field)"
        )
        assert heads == ["title", "list", "client", "amount", "owner", "expected_close", "tags",
                         "days_in_stage"]  # fmt: skip
        page.click(".column-picker summary")
        page.check(".column-picker input[data-column=confidence]")
        page.wait_for_selector("table.records[data-mode=data]")  # after table-more.json
        assert "confidence" in page.eval_on_selector_all(
            "#records thead th", "ths => ths.map(t => t.dataset.field)"
        )
        assert "cols=" in page.url and "confidence" in page.url
        page.reload()
        page.wait_for_selector("table.records[data-mode=data]")
        assert page.locator("#records thead th[data-field=confidence]").count() == 1
        assert (
            page.locator("#records tbody tr").first.locator("[data-field=confidence]").count() == 1
        )
        assert errors == []
