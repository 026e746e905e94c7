"""The example site in a real headless Chromium (Debian's), network blocked.

Board columns hold every record once with the right totals; the table sorts and filters;
a record page shows its lookups and back-links; no console errors; axe-core finds no
serious or critical violation; screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser import axe_violations, chromium, open_page, screenshot, serve_dir

from crmgen.build import build_site
from crmgen.model import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).parent.parent
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset]:
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(REPO, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out, result.dataset


@pytest.fixture(scope="module")
def base_url(built: tuple[Path, Dataset]) -> Iterator[str]:
    # Served under a sub-path, as GitHub Pages serves https://owner.github.io/repo/.
    with serve_dir(built[0], prefix="repo/") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_board_columns_hold_every_record_once_with_totals(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    project = dataset.projects["opportunities"]
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/board.html")
        columns = page.eval_on_selector_all(
            "[data-list]",
            """cols => cols.map(c => ({list: c.dataset.list, count: c.dataset.count,
                total: c.dataset.total || null, weighted: c.dataset.weighted || null,
                slugs: Array.from(c.querySelectorAll('[data-slug]'))
                    .map(x => x.dataset.slug)}))""",
        )
        screenshot(page, "board")
        assert errors == []
    assert [c["list"] for c in columns] == [ls.name for ls in project.schema.lists]
    seen: list[str] = []
    for column in columns:
        spec = project.schema.list_spec(column["list"])
        assert spec is not None
        expected = sorted(s for s, r in project.records.items() if r.values["list"] == spec.name)
        assert sorted(column["slugs"]) == expected
        assert int(column["count"]) == len(expected)
        amounts = [Decimal(project.records[s].values.get("amount", 0)) for s in expected]
        assert Decimal(column["total"]) == sum(amounts, Decimal(0))
        weighted = sum((a * spec.probability for a in amounts), Decimal(0))
        assert Decimal(column["weighted"]) == weighted
        seen += column["slugs"]
    assert sorted(seen) == sorted(project.records)  # every record exactly once


def _rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#records tbody tr",
        """rows => rows.filter(r => !r.hidden && r.offsetParent !== null).map(r => ({
            slug: r.dataset.slug, list: r.dataset.list, tags: r.dataset.tags,
            amount: (r.querySelector('[data-field=amount]') || {dataset: {}}).dataset.sort || '',
            text: r.textContent}))""",
    )


def test_table_sorts_and_filters(built: tuple[Path, Dataset], base_url: str, browser: Any) -> None:
    _, dataset = built
    records = dataset.projects["opportunities"].records
    with open_page(browser) as (page, errors):
        page.goto(base_url + "opportunities/index.html")
        page.wait_for_selector("table.records[data-mode=data]")  # the rows of table.json
        assert len(_rows(page)) == len(records)
        page.click("th[data-field=amount] button")
        amounts = [Decimal(r["amount"]) for r in _rows(page) if r["amount"]]
        assert amounts == sorted(amounts)
        page.click("th[data-field=amount] button")
        amounts = [Decimal(r["amount"]) for r in _rows(page) if r["amount"]]
        assert amounts == sorted(amounts, reverse=True)
        assert page.get_attribute("th[data-field=amount]", "aria-sort") == "descending"

        page.select_option("#filter-list", "Closed won")
        rows = _rows(page)
        won = [s for s, r in records.items() if r.values["list"] == "Closed won"]
        assert sorted(r["slug"] for r in rows) == sorted(won)

        page.select_option("#filter-list", "")
        page.select_option("#filter-tag", "branding")
        rows = _rows(page)
        branded = [s for s, r in records.items() if "branding" in r.values.get("tags", ())]
        assert sorted(r["slug"] for r in rows) == sorted(branded)

        page.select_option("#filter-tag", "")
        some = next(iter(records.values()))
        word = str(some.values["title"]).split()[0]
        page.fill("#filter-text", word)
        page.wait_for_selector("table.records[data-mode=data]")  # after table-more.json
        rows = _rows(page)
        assert some.slug in [r["slug"] for r in rows]
        assert all(word.lower() in r["text"].lower() for r in rows)
        assert errors == []


def test_table_is_complete_without_javascript(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    with open_page(browser, javascript=False) as (page, _):
        page.goto(base_url + "opportunities/index.html")
        count = page.eval_on_selector_all("#records tbody tr", "rows => rows.length")
    assert count == len(dataset.projects["opportunities"].records)


def test_record_page_shows_lookups_and_backlinks(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    _, dataset = built
    opportunity = next(
        r
        for r in dataset.projects["opportunities"].records.values()
        if r.computed.get("client_email")
    )
    client = dataset.record("clients", opportunity.values["client"])
    assert client is not None
    with open_page(browser) as (page, errors):
        page.goto(base_url + f"opportunities/{opportunity.slug}.html")
        email = page.text_content("[data-field=client_email] dd") or ""
        assert opportunity.computed["client_email"] in email
        assert "client" in email.lower()  # the origin of a lookup is shown
        screenshot(page, "record")
        page.click("[data-field=client] a")
        page.wait_for_url(f"**/clients/{client.slug}.html")
        links = page.eval_on_selector_all(
            ".referenced-by [data-project=opportunities] a", "as => as.map(a => a.href)"
        )
        assert any(href.endswith(f"/opportunities/{opportunity.slug}.html") for href in links)
        assert len(links) == len(client.linked_from("opportunities"))
        assert errors == []


@pytest.mark.parametrize(
    "path",
    ["index.html", "opportunities/board.html", "opportunities/index.html", "clients/index.html"],
)
def test_pages_are_accessible_and_quiet(
    path: str, built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        response = page.goto(base_url + path)
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")
        assert axe_violations(page) == []
        assert errors == []


def test_every_nav_link_works_under_a_sub_path(
    built: tuple[Path, Dataset], base_url: str, browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(base_url + "index.html")
        hrefs = page.eval_on_selector_all("nav a", "as => as.map(a => a.href)")
        assert hrefs
        for href in hrefs:
            assert href.startswith(base_url), href
            response = page.goto(href)
            assert response is not None and response.status == 200, href
        assert errors == []
