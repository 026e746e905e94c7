"""The lead form in a real Chromium, on the example site: filled in, checked by the browser,
and sent as the address of the forge's new-issue page, which is intercepted (no request leaves
127.0.0.1). The address is then played as GitHub plays it (its parameters fill the issue
template's fields, whose answers make the issue's body) and read back by
``crmgen import-issue`` into a record: the whole way from the form to the file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from browser import chromium, open_page, screenshot, serve_dir

from crmgen.build import build_site
from crmgen.build.interchange import import_issue
from crmgen.forms.issue import NO_RESPONSE

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EXAMPLE = Path(__file__).parent.parent
FORGE = "https://github.com/northwind-studio/crm/issues/new"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(EXAMPLE, out)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    with serve_dir(out) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open_form(page: Any, site: str) -> list[str]:
    """Open the form, catching navigation to the forge; returns the addresses caught."""
    caught: list[str] = []

    def forge(route: Any) -> None:
        caught.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>issue form</p>")

    page.route("https://github.com/**", forge)
    page.goto(f"{site}forms/clients.html")
    return caught


def _issue_from_url(url: str) -> dict[str, Any]:
    """The issue GitHub opens from this address: each parameter named after a field of the
    template fills it; the body is the answers under their labels."""
    query = dict(parse_qsl(urlsplit(url).query))
    template = yaml.safe_load((EXAMPLE / ".github/ISSUE_TEMPLATE" / query["template"]).read_text())
    parts = []
    for item in template["body"]:
        answer = query.get(item["id"], "") or NO_RESPONSE
        parts.append(f"### {item['attributes']['label']}\n\n{answer}")
    labels = [{"name": name} for name in template["labels"]]
    return {"number": 9, "title": query["title"], "body": "\n\n".join(parts), "labels": labels}


def test_the_form_opens_a_prefilled_issue_that_becomes_a_record(
    browser: Any, site: str, tmp_path: Path
) -> None:
    with open_page(browser) as (page, errors):
        caught = _open_form(page, site)
        assert page.locator("#lead-form").is_visible()
        assert not page.locator("[data-form-noscript]").is_visible()
        # the browser's own checks: nothing leaves without the required company
        page.click("button[type=submit]")
        assert caught == []
        assert page.evaluate("document.getElementById('f-title').validity.valueMissing")
        page.fill("#f-title", "NO")
        page.fill("#f-email", "not an address")
        page.click("button[type=submit]")
        assert caught == [] and page.evaluate(
            "document.getElementById('f-email').validity.typeMismatch"
        )
        page.fill("#f-email", "ann@harbour.example")
        page.fill("#f-contact_name", "- Ann O'Neil")
        page.fill("#f-website", "https://harbour.example")
        page.select_option("#f-source", "Trade show")
        page.select_option("#f-size", "11-50")
        page.fill("#f-body", "A new shop & a logo.\n\n{a: 1}")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert errors == []
    assert len(caught) == 1
    url = caught[0]
    assert url.startswith(FORGE + "?template=new-lead.yml&title=New+lead%3A+NO&record_title=NO&")
    query = parse_qsl(urlsplit(url).query)
    assert query == [
        ("template", "new-lead.yml"),
        ("title", "New lead: NO"),
        ("record_title", "NO"),  # GitHub's own title parameter is the issue's title
        ("contact_name", "- Ann O'Neil"),
        ("email", "ann@harbour.example"),
        ("website", "https://harbour.example"),
        ("source", "Trade show"),
        ("size", "11-50"),
        ("record_body", "A new shop & a logo.\n\n{a: 1}"),
    ]
    repo = tmp_path / "repo"
    for name in ("schema", "data"):
        shutil.copytree(EXAMPLE / name, repo / name)
    shutil.copy(EXAMPLE / "crmgen.yml", repo / "crmgen.yml")
    issue = _issue_from_url(url)
    path, problems = import_issue(repo, json.dumps({"issue": issue}).encode())
    assert problems == () and path == "data/clients/no.md"
    assert (repo / path).read_text() == (
        '---\ntitle: NO\nlist: Lead\ncontact_name: "- Ann O\'Neil"\n'
        "email: ann@harbour.example\nwebsite: https://harbour.example\nsource: Trade show\n"
        "size: 11-50\nvat_exempt: false\n---\n\nA new shop & a logo.\n\n{a: 1}\n"
    )


@pytest.mark.parametrize(("size", "viewport"), [("desktop", (1366, 900)), ("phone", (390, 844))])
def test_the_form_fits_the_screen(browser: Any, site: str, size: str, viewport: Any) -> None:
    width, height = viewport
    with open_page(browser, viewport={"width": width, "height": height}) as (page, errors):
        _open_form(page, site)
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0
        box = page.locator("#f-title").bounding_box()
        assert box is not None and box["width"] > min(width - 80, 500)
        screenshot(page, f"form-{size}")
        assert errors == []


def test_without_javascript_the_form_links_the_issue_template(browser: Any, site: str) -> None:
    with open_page(browser, javascript=False) as (page, _):
        page.goto(f"{site}forms/clients.html")
        assert not page.locator("#lead-form").is_visible()
        link = page.locator("[data-form-noscript] a")
        assert link.get_attribute("href") == FORGE + "?template=new-lead.yml"
