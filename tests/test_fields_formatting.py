"""Values to display text, link targets and machine values."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from babel import Locale, localedata
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.fields.formatting import (
    display,
    display_format,
    format_money,
    format_value,
    locale_lang,
    number_format,
    plain_number,
    safe_url,
    sort_value,
    stars,
)

US = {"currency": "USD", "locale": "en_US"}


@pytest.mark.parametrize(
    ("value", "field_type", "expected"),
    [
        (42000, "currency", "$42,000"),
        (Decimal("1234.5"), "currency", "$1,234.50"),
        (Decimal("-12"), "currency", "-$12"),
        (25, "percent", "25%"),
        (Decimal("12.5"), "percent", "12.5%"),
        (1234567, "number", "1,234,567"),
        (2024, "select", "2024"),
        (Decimal("0.125"), "number", "0.125"),
        (dt.date(2026, 12, 15), "date", "Dec 15, 2026"),
        ("2026-12-15", "date", "Dec 15, 2026"),
        (3, "rating", "★★★☆☆"),
        (9, "rating", "★★★★★"),
        (True, "checkbox", "Yes"),
        (False, "checkbox", "No"),
        (("seo", "website"), "tags", "seo, website"),
        ((Decimal(5), 7), "currency", "$5, $7"),
        (None, "text", ""),
        ("plain", "text", "plain"),
        (
            {"street": "1 Main St", "city": "Springfield", "postcode": "12345", "country": "US"},
            "address",
            "1 Main St, 12345 Springfield, US",
        ),
    ],
)
def test_format_value_by_type(value: object, field_type: str, expected: str) -> None:
    assert format_value(value, field_type, **US) == expected


def test_currency_and_dates_follow_the_site_locale() -> None:
    assert format_value(42000, "currency", currency="EUR", locale="de_DE") == "42.000\xa0€"
    assert format_value(dt.date(2026, 12, 15), "date", currency="EUR", locale="en_GB") == (
        "15 Dec 2026"
    )
    assert format_value(Decimal("12.5"), "percent", currency="EUR", locale="de_DE") == "12,5\xa0%"


def test_formatting_ignores_the_machine_locale_and_time_zone(tmp_path: Path) -> None:
    script = tmp_path / "fmt.py"
    script.write_text(
        "import datetime as dt\n"
        "from decimal import Decimal\n"
        "from crmgen.fields.formatting import format_value\n"
        "print(format_value(Decimal('1234.5'), 'currency', currency='USD', locale='en_US'))\n"
        "print(format_value(dt.date(2026, 1, 2), 'date', currency='USD', locale='en_US'))\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "LANG": "de_DE.UTF-8",
        "LC_ALL": "de_DE.UTF-8",
        "TZ": "Pacific/Kiritimati",
    }
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["$1,234.50", "Jan 2, 2026"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("  http://example.com  ", "http://example.com/"),
        ("ht\ttps://example.com", "https://example.com/"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("\x01 java\nscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("https://", None),
        ("//example.com", None),
        ("ftp://example.com", None),
    ],
)
def test_safe_url_allows_only_http_and_https(value: str, expected: str | None) -> None:
    assert safe_url(value, "url") == expected


def test_safe_url_email_and_phone() -> None:
    assert safe_url("ann@example.com", "email") == "mailto:ann@example.com"
    assert safe_url("ann@example.com?cc=boss@example.com", "email") is None
    assert safe_url("javascript:alert(1)//@x.com", "email") is None
    assert safe_url("+44 20 7946 0958", "phone") == "tel:+442079460958"
    assert safe_url("(555) 010-0100", "phone") == "tel:5550100100"
    assert safe_url("javascript:1", "phone") is None
    with pytest.raises(ValueError, match="unknown link kind"):
        safe_url("x", "fax")


def test_sort_values_are_plain_machine_values() -> None:
    assert sort_value(Decimal("2100.00")) == "2100"
    assert sort_value(Decimal("16.650")) == "16.65"
    assert sort_value(dt.date(2026, 1, 2)) == "2026-01-02"
    assert sort_value(True) == "1"
    assert sort_value(None) == ""
    assert plain_number(Decimal("1E+3")) == "1000"


def test_display_links_only_safe_values() -> None:
    link = display("javascript:alert(1)", "url", **US, attachments="files").links[0]
    assert link.href == "" and link.label == "javascript:alert(1)"
    email = display("ann@example.com", "email", **US, attachments="files")
    assert email.kind == "links" and email.links[0].href == "mailto:ann@example.com"


@pytest.mark.parametrize(
    ("path", "href"),
    [
        ("files/acme/nda final.pdf", "files/acme/nda%20final.pdf"),
        ("files/../crmgen.yml", ""),
        ("data/opportunities/acme.md", ""),
        ("/etc/passwd", ""),
        ("files\\..\\x", ""),
    ],
)
def test_file_links_stay_inside_the_attachments_folder(path: str, href: str) -> None:
    shown = display(path, "file", **US, attachments="files")
    assert shown.links[0].href == href
    assert shown.links[0].download == bool(href)


def test_display_kinds() -> None:
    assert display(None, "text", **US, attachments="files").kind == "empty"
    assert display((), "tags", **US, attachments="files").kind == "empty"
    assert display(("a", "b"), "tags", **US, attachments="files").badges == ("a", "b")
    rated = display(4, "rating", **US, attachments="files")
    assert (rated.kind, rated.rating, rated.text) == ("stars", 4, stars(4))
    address = display("1 Main St, Springfield", "address", **US, attachments="files")
    assert address.links[0].href.startswith("https://www.openstreetmap.org/search?query=1+Main")


def test_locale_lang() -> None:
    assert locale_lang("en_US") == "en-US"
    assert locale_lang("de") == "de"


@pytest.mark.parametrize(
    ("value", "field_type", "number", "locale", "expected"),
    [
        (1996, "number", (0, False), "en_GB", "1996"),  # a year, not "1,996"
        (Decimal("1234.5"), "currency", (2, True), "en_GB", "€1,234.50"),
        (Decimal("1234.5"), "currency", (0, True), "de_DE", "1.235\xa0€"),
        (Decimal("1234.5"), "currency", (None, False), "de_DE", "1234,50\xa0€"),
        (1234, "currency", (None, False), "en_GB", "€1234"),
        (Decimal("12.345"), "percent", (1, True), "en_GB", "12.3%"),
        (Decimal("1234567.891"), "number", (None, False), "en_GB", "1234567.891"),
        (1234, "number", (None, True), "en_GB", "1,234"),  # the default
        ("x", "number", (0, False), "en_GB", "x"),
    ],
)
def test_a_declared_display_format(
    value: object, field_type: str, number: tuple[int | None, bool], locale: str, expected: str
) -> None:
    found = format_value(value, field_type, currency="EUR", locale=locale, number=number)
    assert found == expected


def test_display_format_keeps_what_the_meta_schema_allows() -> None:
    assert display_format({"decimals": 0, "grouping": False}) == {"decimals": 0, "grouping": False}
    assert display_format({"decimals": "two", "grouping": "no"}) == {}
    assert display_format({"decimals": True}) == {} and display_format(None) == {}
    assert number_format({"grouping": False}) == (None, False)


def _babel_money(value: Decimal, currency: str, locale: str) -> str:
    """``format_money`` as Babel's own ``format_currency`` says it (the reference)."""
    place = Locale.parse(locale)
    if value == value.to_integral_value():
        pattern = re.sub(r"\.0+", "", place.currency_formats["standard"].pattern)
        return str(
            format_currency(value, currency, format=pattern, locale=place, currency_digits=False)
        )
    return str(format_currency(value, currency, locale=place, decimal_quantization=False))


_LOCALES = sorted(localedata.locale_identifiers())


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_LOCALES),
    st.sampled_from(["USD", "EUR", "JPY", "CHF", "INR", "BHD", "XXX", "ZZZ"]),
    st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False),
)
def test_money_is_formatted_as_babel_formats_it(
    locale: str, currency: str, value: Decimal
) -> None:
    """The currency's symbol is written into the pattern once, instead of Babel working out
    the currency's name for every amount: the text is Babel's, in every locale."""
    assert format_money(value, currency=currency, locale=locale) == _babel_money(
        value, currency, locale
    )
