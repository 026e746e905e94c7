"""Search in a real Chromium: the header box and the search page, on the example repo and on a
generated one; from a sub-path over http, and from file://, where the box says it cannot run.

Every request to another host is aborted and counted as an error (``browser.open_page``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import axe_violations, chromium, open_page, screenshot
from browser import serve_dir as serve
from conftest import TODAY

from bench.generate import generate
from crmgen.build import build_site
from crmgen.model import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EXAMPLE = Path(__file__).parent.parent
AMOUNT = re.compile(r"^€\d[\d,]*(\.\d+)?$")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("example") / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".git", ".crmgen-cache", "site"))
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(repo, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset]:
    repo = tmp_path_factory.mktemp("generated") / "repo"
    generate(repo, 1500, seed=3)
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(repo, out, today=TODAY)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return out, result.dataset


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def example_url(example: Path) -> Iterator[str]:
    with serve(example, prefix="crm/") as url:
        yield url


def _type(page: Any, text: str) -> None:
    page.fill("#site-search", text)
    page.wait_for_selector(f'.search-popup[data-query="{text}"]', timeout=15_000)


def _hits(page: Any, scope: str = ".search-popup") -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        f"{scope} .search-hit",
        """hits => hits.map(h => ({
            project: h.dataset.project,
            group: h.closest('.search-group').querySelector('.search-group-title').textContent,
            title: h.querySelector('.search-hit-title').textContent,
            list: (h.querySelector('.search-hit-list') || {}).textContent || '',
            amount: (h.querySelector('.search-hit-amount') || {}).textContent || '',
            href: h.getAttribute('href'),
        }))""",
    )


def test_slash_focuses_the_box_and_a_misspelt_partial_name_finds_the_record(
    example_url: str, browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(example_url + "opportunities/board.html")
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "site-search"
        page.keyboard.type("robtic")  # misspelt, and not finished
        page.wait_for_selector('.search-popup[data-query="robtic"]', timeout=15_000)
        hits = _hits(page)
        assert hits[0]["title"] == "Atlas Robotics GmbH"
        assert hits[0]["group"] == "Clients" and hits[0]["list"] == "Active client"
        deals = [h for h in hits if h["project"] == "opportunities"]
        assert deals and all(h["group"] == "Opportunities" for h in deals)
        assert all(h["list"] and AMOUNT.match(h["amount"]) for h in deals)
        # grouped: each project's results together
        groups = [h["project"] for h in hits]
        assert groups == sorted(groups, key=groups.index)
        # every href is a relative path of the site
        assert all(h["href"].startswith("../") and ":" not in h["href"] for h in hits)
        screenshot(page, "search-box-robtic")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == example_url + "clients/atlas-robotics.html"
        assert errors == []


def test_a_prefix_finds_deals_and_invoices_by_their_client(example_url: str, browser: Any) -> None:
    with open_page(browser) as (page, errors):
        page.goto(example_url + "index.html")
        _type(page, "atl")
        hits = _hits(page)
        assert hits[0]["title"] == "Atlas Robotics GmbH"
        projects = {h["project"] for h in hits}
        assert {"clients", "opportunities", "invoices"} <= projects
        # a word of a body: "Warehouse-picking robots" is in Atlas Robotics' notes
        _type(page, "warehouse picking")
        assert [h["title"] for h in _hits(page)] == ["Atlas Robotics GmbH"]
        _type(page, "zzqqxx")
        assert "No record matches" in page.text_content(".search-popup")
        page.keyboard.press("Escape")
        assert page.is_hidden(".search-popup")
        assert errors == []


def test_the_search_page_restores_its_query_and_filters_from_the_address(
    example_url: str, browser: Any
) -> None:
    with open_page(browser) as (page, errors):
        page.goto(example_url + "search.html?q=atlas&project=opportunities&tag=website")
        page.wait_for_selector('[data-search-results][data-query="atlas"]', timeout=15_000)
        assert page.input_value("#search-q") == "atlas"
        assert page.input_value("#search-project") == "opportunities"
        assert page.input_value("#search-tag") == "website"
        hits = _hits(page, "[data-search-results]")
        assert [h["title"] for h in hits] == ["Atlas Robotics bilingual website"]
        page.select_option("#search-tag", "")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-search-results] .search-hit').length > 1"
        )
        assert {h["project"] for h in _hits(page, "[data-search-results]")} == {"opportunities"}
        page.select_option("#search-list", "Closed won")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-search-results] .search-hit-list')]"
            ".every(e => e.textContent === 'Closed won')"
        )
        query = parse_qs(urlsplit(page.url).query)
        assert query == {"q": ["atlas"], "project": ["opportunities"], "list": ["Closed won"]}
        page.reload()
        page.wait_for_selector('[data-search-results][data-query="atlas"]', timeout=15_000)
        assert page.input_value("#search-list") == "Closed won"
        assert all(h["list"] == "Closed won" for h in _hits(page, "[data-search-results]"))
        screenshot(page, "search-page-atlas")
        assert axe_violations(page) == []
        assert errors == []


def test_the_box_links_to_the_search_page_with_its_query(example_url: str, browser: Any) -> None:
    with open_page(browser) as (page, errors):
        page.goto(example_url + "clients/atlas-robotics.html")
        _type(page, "website")
        with page.expect_navigation():
            page.click(".search-all")
        assert urlsplit(page.url).path.endswith("/crm/search.html")
        page.wait_for_selector('[data-search-results][data-query="website"]', timeout=15_000)
        assert page.input_value("#search-q") == "website"
        assert errors == []


def test_from_a_file_the_box_says_it_cannot_search_and_points_to_the_tables(
    example: Path, browser: Any
) -> None:
    context = browser.new_context(java_script_enabled=True)  # file:// is not routed
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((example / "opportunities" / "index.html").as_uri())
        page.keyboard.press("/")
        page.keyboard.type("atlas")
        page.wait_for_selector('.search-popup[data-state="unavailable"]')
        note = page.text_content(".search-popup") or ""
        assert "file://" in note and "filters of each table" in note
        links = page.eval_on_selector_all(
            ".search-popup a", "links => links.map(a => a.getAttribute('href'))"
        )
        assert "../opportunities/index.html" in links and "../clients/index.html" in links
        page.goto((example / "search.html").as_uri() + "?q=atlas")
        assert "file://" in (page.text_content("[data-search-results]") or "")
        assert errors == []
    finally:
        context.close()


def test_a_generated_repo_finds_a_client_by_a_misspelt_prefix(
    generated: tuple[Path, Dataset], browser: Any
) -> None:
    site, dataset = generated
    clients = dataset.projects["clients"].records
    client = clients[sorted(clients)[len(clients) // 2]]
    title = str(client.get("title"))
    word = max(title.split(), key=len)
    typo = word[:2] + word[3:6] if len(word) > 6 else word[:2] + word[3:]  # a letter dropped
    with serve(site) as url, open_page(browser) as (page, errors):
        page.goto(url + "index.html")
        rest = [w for w in title.split() if w != word]
        query = " ".join([typo.lower(), *(w[:3].lower() for w in rest)])
        _type(page, query)
        titles = [h["title"] for h in _hits(page)]
        assert title in titles, (query, titles)
        assert errors == []
