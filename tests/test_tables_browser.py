"""Big tables and boards in a real Chromium: a generated repo of 700 deals (7 table pages).

The table loads its rows from ``table.json`` and sorts, filters and pages all of them; the
query string keeps the state; a board column's "N more" link and a client's "N more" back-link
open the table filtered to exactly those rows; without JavaScript the pages of the table hold
every row once and the pager walks through them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import chromium, open_page, screenshot, serve_dir

from bench.generate import TODAY, generate
from crmgen.build import build_site
from crmgen.model import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEALS = 700


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset]:
    repo = tmp_path_factory.mktemp("repo") / "repo"
    generate(repo, DEALS, seed=11)
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(repo, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out, result.dataset


@pytest.fixture(scope="module")
def base_url(built: tuple[Path, Dataset]) -> Iterator[str]:
    with serve_dir(built[0], prefix="crm/") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _ready(page: Any) -> None:
    page.wait_for_selector("table.records[data-mode=data]", timeout=15_000)


def _shown(page: Any) -> int:
    return int(page.get_attribute("table.records", "data-shown"))


def _column(page: Any, field: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#records tbody [data-field={field}]", "cells => cells.map(c => c.dataset.sort)"
    )


def _slugs(page: Any) -> list[str]:
    return page.eval_on_selector_all("#records tbody tr", "rows => rows.map(r => r.dataset.slug)")


def _amounts(dataset: Dataset) -> list[Decimal]:
    records = dataset.projects["opportunities"].records.values()
    return sorted(Decimal(str(r.get("amount"))) for r in records if r.get("amount") is not None)


def test_the_table_sorts_every_row_not_only_its_page(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    amounts = _amounts(dataset)
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/index.html")
        _ready(page)
        assert _shown(page) == DEALS
        assert len(_slugs(page)) == 100
        page.click("th[data-field=amount] button")
        first = [Decimal(a) for a in _column(page, "amount")]
        assert first == amounts[:100]
        page.click("th[data-field=amount] button")
        assert page.get_attribute("th[data-field=amount]", "aria-sort") == "descending"
        assert [Decimal(a) for a in _column(page, "amount")] == amounts[::-1][:100]
        query = parse_qs(urlsplit(page.url).query)
        assert query == {"sort": ["amount"], "dir": ["desc"]}
        # paging through the sorted rows shows each deal once
        seen: list[str] = []
        for number in range(1, 8):
            seen += _slugs(page)
            if number < 7:
                page.click("nav.pager button:has-text('Next')")
        assert sorted(seen) == sorted(dataset.projects["opportunities"].records)
        assert page.is_disabled("nav.pager button:has-text('Next')")
        screenshot(page, "table-700-last-page")
        # the state survives a reload
        page.reload()
        _ready(page)
        assert page.get_attribute("th[data-field=amount]", "aria-sort") == "descending"
        assert "Page 7 of 7" in page.text_content("nav.pager")
        assert errors == []


def test_filters_search_every_row(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    records = dataset.projects["opportunities"].records
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/index.html")
        _ready(page)
        page.select_option("#filter-list", "Closed won")
        won = {s for s, r in records.items() if r.get("list") == "Closed won"}
        assert _shown(page) == len(won)
        assert set(_slugs(page)) <= won
        page.select_option("#filter-tag", "video")
        both = {s for s in won if "video" in (records[s].get("tags") or ())}
        assert _shown(page) == len(both)
        page.select_option("#filter-list", "")
        page.select_option("#filter-tag", "")
        client = next(iter(dataset.projects["clients"].records.values()))
        name = str(client.get("title"))
        page.fill("#filter-text", name.upper())
        _ready(page)  # a search loads the hidden columns first (table-more.json)
        matching = {
            s
            for s, r in records.items()
            if name.casefold() in " ".join(str(v) for v in r.values.values()).casefold()
            or r.get("client") == client.slug
        }
        assert _shown(page) > 0 and set(_slugs(page)) <= matching
        assert errors == []


def test_a_board_column_links_its_other_cards_to_the_filtered_table(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    records = dataset.projects["opportunities"].records
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/board.html")
        column = page.locator("section.board-column", has=page.locator(".more-cards")).first
        name = column.get_attribute("data-list")
        count = int(column.get_attribute("data-count") or 0)
        cards = column.locator("li.card").count()
        assert cards == 25 and count > cards
        more = column.locator(".more-cards a")
        assert more.text_content() == f"{count - cards} more in the table"
        screenshot(page, "board-700")
        if not more.is_visible():  # a closed list is folded
            column.locator("summary").click()
        more.click()
        _ready(page)
        assert page.input_value("#filter-list") == name
        assert _shown(page) == count == sum(1 for r in records.values() if r.get("list") == name)
        assert errors == []


def test_a_client_with_many_deals_links_the_rest_to_the_filtered_table(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    clients = dataset.projects["clients"].records.values()
    client = max(clients, key=lambda c: len(c.linked_from("opportunities")))
    deals = set(client.linked_from("opportunities"))
    assert len(deals) > 25, "the generator gives key accounts many deals"
    with open_page(browser) as (page, errors):
        page.goto(base_url + f"clients/{client.slug}.html")
        group = page.locator(".referenced-by [data-project=opportunities]")
        assert group.locator("tbody tr").count() == 20
        more = group.locator(".more-links").text_content()
        assert more == f"and {len(deals) - 20} more: see them all in the table"
        group.locator(".more-links a").click()
        _ready(page)
        assert _shown(page) == len(deals)
        assert str(client.get("title")) in page.text_content(".filter-ref")
        page.click(".filter-ref button")
        assert _shown(page) == DEALS
        assert errors == []


def test_without_javascript_the_pages_hold_every_row_once(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    seen: list[str] = []
    with open_page(browser, javascript=False) as (page, errors):
        page.goto(base_url + "opportunities/index.html")
        while True:
            seen += _slugs(page)
            following = page.locator("nav.pager a[rel=next]")
            if not following.count():
                break
            with page.expect_navigation():  # read the next page, not this one again
                following.click()
        assert page.url.endswith("opportunities/page_7.html")
        assert "Rows 601–700 of 700" in page.text_content("nav.pager")
        assert errors == []
    assert sorted(seen) == sorted(dataset.projects["opportunities"].records)


def test_a_record_title_in_the_data_links_to_its_page(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/index.html?page=3")
        _ready(page)
        link = page.locator("#records tbody tr").first.locator("th a")
        slug = page.locator("#records tbody tr").first.get_attribute("data-slug")
        link.click()
        page.wait_for_url(f"**/crm/opportunities/{slug}.html")
        assert errors == []


def test_the_hidden_columns_load_only_when_a_view_needs_them(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    """``table.json`` leaves the columns hidden at first to ``table-more.json``: opening the
    table does not fetch it; a search (which reads every column) does, and finds a row by a
    value only a hidden column holds; a link that shows a hidden column loads it at once."""
    site, dataset = built
    assert (site / "opportunities/table-more.json").is_file()
    deals = dataset.projects["opportunities"].records
    clients = dataset.projects["clients"].records
    client = next(
        c
        for c in clients.values()
        if c.get("email") and 0 < len(c.linked_from("opportunities")) <= 100  # one page
    )
    email = str(client.get("email"))
    theirs = {s for s, r in deals.items() if r.get("client") == client.slug}
    with open_page(browser) as (page, errors):
        asked: list[str] = []
        page.on("request", lambda request: asked.append(urlsplit(request.url).path))
        page.goto(base_url + "opportunities/index.html")
        _ready(page)
        assert any(p.endswith("/table.json") for p in asked)
        assert not any(p.endswith("/table-more.json") for p in asked)
        heads = page.eval_on_selector_all(
            "#records thead th", "ths => ths.map(t => t.dataset.field)"
        )
        assert "client_email" not in heads  # a hidden column: only in table-more.json
        page.fill("#filter-text", email)
        _ready(page)
        assert any(p.endswith("/table-more.json") for p in asked)
        assert _shown(page) == len(theirs) and set(_slugs(page)) == theirs
        page.goto(base_url + "opportunities/index.html?cols=title,source&sort=source")
        _ready(page)
        assert page.eval_on_selector_all(
            "#records thead th", "ths => ths.map(t => t.dataset.field)"
        ) == ["title", "source"]
        values = [v for v in _column(page, "source") if v]
        assert values and values == sorted(values, key=str.casefold)
        assert errors == []
