"""Hostile URLs: after the scheme check, the host is parsed as browsers parse it (WHATWG);
a URL that could break out of an attribute, hide its real host or carry credentials is an error
at the record's line; an international host is shown with its punycode form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen.build import build_site, load_dataset

BREAKOUTS = [
    'https://exa"mple.com/',
    "https://exa'mple.com/",
    "https://exa mple.com/",
    "https://<script>.example/",
    "https://exa`mple.com/",
    "https://bank.example@evil.example/login",
    "https://user:password@example.com/",
    "https://exa%22mple.com/",
    "https://exa{mple}.com/",
    "https://exa|mple.com/",
    "https://exa^mple.com/",
    "https:// /",
    "https://\u200bexample.com/",
    "https://exa\u202emple.com/",
    "https://example.com/\u2066path",
    "javascript://example.com/%0aalert(1)",
    "https://example.com:99999/",
]


@pytest.mark.parametrize("url", BREAKOUTS)
def test_a_url_that_breaks_out_or_hides_its_host_is_an_error_at_its_line(
    make_repo: MakeRepo, url: str
) -> None:
    root = make_repo({"data/clients/acme.md": record(f"title: Acme\nwebsite: {json.dumps(url)}")})
    errors = load_dataset(root).errors
    assert [(d.path, d.line, d.col, d.field) for d in errors] == [
        ("data/clients/acme.md", 3, 10, "website")
    ], errors
    assert errors[0].message.startswith("website ")


def test_an_international_host_is_shown_with_its_punycode(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme\nwebsite: https://аррӏе.com/login"),
            "data/clients/plain.md": record("title: Plain\nwebsite: https://example.com/a b"),
        }
    )
    assert load_dataset(root).problems == ()
    build_site(root, tmp_path / "site")
    page = (tmp_path / "site/clients/acme.html").read_text(encoding="utf-8")
    assert 'href="https://xn--80ak6aa92e.com/login"' in page
    assert "https://аррӏе.com/login [xn--80ak6aa92e.com]" in page
    plain = (tmp_path / "site/clients/plain.html").read_text(encoding="utf-8")
    assert 'href="https://example.com/a%20b"' in plain and "[" not in plain.split("<main")[1]
