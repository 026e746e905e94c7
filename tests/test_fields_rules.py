"""The rules for untrusted values: URLs (WHATWG), e-mail, phone, dates, paths, numbers."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmgen.fields.rules import (
    WebAddress,
    date_problem,
    email_problem,
    inside,
    is_safe_link,
    mailto,
    number_problem,
    parse_date,
    parse_web_address,
    path_problem,
    phone_problem,
    rating_problem,
    tel,
    under,
    url_problem,
)


@pytest.mark.parametrize(
    ("raw", "href"),
    [
        ("https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
        ("  https://example.com  ", "https://example.com/"),
        ("\x01\x1fhttp://example.com", "http://example.com/"),
        ("https://exa\tmple.com/", "https://example.com/"),
        ("HTTPS://EXAMPLE.COM", "https://example.com/"),
        ("https://例え.jp/a b", "https://xn--r8jz45g.jp/a%20b"),
        ("https://192.168.0.1:8080/x", "https://192.168.0.1:8080/x"),
        ("https://[::1]/", "https://[::1]/"),
        ("https:///extra-slashes.example", "https://extra-slashes.example/"),  # as browsers do
    ],
)
def test_urls_are_parsed_like_a_browser(raw: str, href: str) -> None:
    found = parse_web_address(raw)
    assert isinstance(found, WebAddress) and found.href == href
    assert url_problem(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\nscript:alert(1)",
        "\x00javascript:alert(1)",
        "data:text/html,<script>",
        "vbscript:msgbox",
        "ftp://example.com",
        "//example.com",
        "example.com",
        "https://exa mple.com",
        'https://ex"ample.com/',
        "https://ex'ample.com/",
        "https://<x>.com/",
        "https://a.com\x7f/",
        "https://exa`mple.com/",
        "https://bank.example@evil.example/",
        "https://user:pw@host.example/",
        "https://a%20b.com/",
        "https://a{b}.com/",
    ],
)
def test_unsafe_or_malformed_urls_are_refused(raw: str) -> None:
    assert isinstance(parse_web_address(raw), str)
    assert url_problem(raw) is not None


def test_an_international_host_shows_its_punycode_form() -> None:
    found = parse_web_address("https://аррӏе.com/login")  # Cyrillic look-alikes
    assert isinstance(found, WebAddress)
    assert found.international
    assert (found.host, found.ascii_host) == ("аррӏе.com", "xn--80ak6aa92e.com")
    plain = parse_web_address("https://apple.com/")
    assert isinstance(plain, WebAddress) and not plain.international


def test_body_links_allow_only_safe_schemes() -> None:
    for good in ("https://a.b", "mailto:a@b.c", "tel:+1", "/x", "x.html", "#top", "?q=1"):
        assert is_safe_link(good), good
    for bad in ("javascript:x", " JAVASCRIPT:x", "data:x", "vbscript:x", "jav\tascript:x"):
        assert not is_safe_link(bad), bad


def test_email_and_mailto_are_one_rule() -> None:
    for good in ("a.b+c@mail.example.co.uk", "josé@exämple.com", "o'neil@x.ie"):
        assert email_problem(good) is None
        assert mailto(good) is not None
    for bad in ("a@b", "@b.c", "a b@c.d", "a@@b.c", 3, "x" * 250 + "@a.bc", "a?cc=x@y.z",
                "a&b@c.d", 'a"@b.c', "a@b.c?subject=x", "a%0a@b.c"):  # fmt: skip
        assert email_problem(bad) is not None, bad
        assert not isinstance(bad, str) or mailto(bad) is None
    assert mailto("josé@example.com") == "mailto:jos%C3%A9@example.com"


def test_phone_and_tel_are_one_rule() -> None:
    assert phone_problem("+44 20 7946 0958") is None
    assert tel("+44 20 7946 0958") == "tel:+442079460958"
    assert phone_problem("(030) 123-456 ext. 12") is None
    assert tel("(030) 123-456 ext. 12") == "tel:030123456"
    for bad in ("call me", "123", "+1" + "2" * 25, 4915112345, "12345;drop"):
        assert phone_problem(bad) is not None
        assert not isinstance(bad, str) or tel(bad) is None


def test_ratings_and_dates() -> None:
    assert rating_problem(5) is None
    for bad in (6, -1, True, "3"):
        assert rating_problem(bad) is not None
    assert parse_date("2026-02-28") == dt.date(2026, 2, 28)
    assert parse_date(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    for bad in ("2026-02-30", "2026-2-3", "26-02-03", "2026-02-03T10:00", 20260203, None):
        assert parse_date(bad) is None
        assert date_problem(bad) is not None


@pytest.mark.parametrize(
    "path",
    ["", "/etc/passwd", "../x", "files/../x", "files//x", "files/./x", "C:/x", "c:x",
     "files\\x", "files/\x00x", "files/x\n", ".git/config", "files/.GIT/x", "files/."],
)  # fmt: skip
def test_the_one_safe_path_rule_refuses(path: str) -> None:
    assert path_problem(path) is not None


def test_the_one_safe_path_rule_allows_plain_paths() -> None:
    for path in ("files/a.pdf", "files/acme/nda 2024.pdf", "a", "files/.well-known-ish"):
        assert path_problem(path) is None, path
    assert under("files/a.pdf", "files")
    assert under("files/acme/a.pdf", "files/")
    assert not under("files", "files")
    assert not under("filesx/a.pdf", "files")
    assert not under("other/a.pdf", "files")


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        (0, True),
        (999_999_999_999_999, True),
        (10**15, False),
        (2**53 + 1, False),
        (-(10**15), False),
        (Decimal("12345678901234.5"), True),
        (Decimal("1234567890.1234567"), False),
        (Decimal("0.000000000001"), True),
        (Decimal("0.0000000000001"), False),
        (Decimal("1E+14"), True),
        (Decimal("1E+15"), False),
        (Decimal("-0.5"), True),
        (True, True),
        ("12", True),
    ],
)
def test_numbers_are_bounded_so_they_show_and_chart_exactly(number: object, ok: bool) -> None:
    assert (number_problem(number) is None) is ok


@given(st.integers(-(10**17), 10**17) | st.sampled_from([10**15 - 1, -(10**15) + 1, 10**15]))
def test_a_whole_number_has_the_problem_of_its_decimal(number: int) -> None:
    """Whole numbers below 10^15 in size skip the decimal checks: they must agree."""
    assert number_problem(number) == number_problem(Decimal(number))


def test_inside_follows_links(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ok.md").write_text("x")
    (tmp_path / "outside.md").write_text("secret")
    os.symlink(tmp_path / "outside.md", root / "link.md")
    assert not inside(root, root / "link.md")
    assert inside(root, root / "ok.md")
    assert not inside(root, root / "missing.md")
