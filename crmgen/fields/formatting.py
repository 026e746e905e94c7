"""How each field type is shown: display text and safe link targets, the same on every machine.

Part of the field-type registry. Every function takes the locale and currency explicitly, so the
output never depends on the machine's locale or time zone. Numbers are ``int`` or ``Decimal`` (a
float is accepted but converted through its shortest repr), dates are ``datetime.date``. Links
come only from the rules in ``fields.rules``: a value that validates is a value that links.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, urlencode

from babel import Locale
from babel.dates import format_date
from babel.numbers import (
    NumberPattern,
    format_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
    parse_pattern,
)

from crmgen.fields import NUMERIC
from crmgen.fields.rules import mailto, parse_web_address, path_problem, tel, under

#: Field types tables sort as numbers: the numeric ones, and checkboxes (1/0).
SORTS_AS_NUMBER = NUMERIC | {"checkbox"}

#: Order of the parts of a structured address, joined on one line.
ADDRESS_PARTS = ("street", "postcode", "city", "region", "country")

STAR, NO_STAR = "★", "☆"

_FRACTION = re.compile(r"\.0+")
#: Display types shown as links, and the kind of link ``safe_url`` makes for them.
LINK_TYPES = {"url": "url", "email": "email", "phone": "phone"}
#: Display types shown as badges.
BADGE_TYPES = frozenset({"select", "multi-select", "tags", "list"})


def to_decimal(value: Any) -> Decimal | None:
    """The exact ``Decimal`` of a finite number, or None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def plain_number(value: Decimal | int) -> str:
    """A number as plain machine text: no exponent, no trailing zeros (``2100``, ``16.65``)."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def format_money(value: Decimal | int, *, currency: str, locale: str) -> str:
    """A currency amount in the locale's pattern, exactly: whole amounts drop their ``.00``;
    other amounts show the currency's decimals, and more when the amount has more (a rate of
    ``0.0125`` is not rounded to ``0.01``).

    Args:
        value: the amount.
        currency: ISO 4217 code, e.g. ``USD``.
        locale: a Babel locale identifier, e.g. ``en_US``.

    Returns:
        e.g. ``$42,000``, ``$1,234.50`` or ``$0.0125`` for en_US, ``42.000 €`` for de_DE.
    """
    number = Decimal(value)
    whole = number == number.to_integral_value()
    filled = _money_pattern(locale, currency, whole)
    if filled is not None:  # what format_currency does below, without the currency's name
        return str(
            filled.apply(
                number,
                _locale(locale),
                currency=currency,
                currency_digits=not whole,
                decimal_quantization=whole,
            )
        )
    if whole:
        return str(
            format_currency(
                number,
                currency,
                format=_whole_money(locale),
                locale=_locale(locale),
                currency_digits=False,
            )
        )
    return str(
        format_currency(number, currency, locale=_locale(locale), decimal_quantization=False)
    )


def format_address(value: Any) -> str:
    """An address string as is; a mapping as ``street, postcode city, region, country``."""
    if not isinstance(value, Mapping):
        return str(value).strip()
    parts = {key: str(value.get(key) or "").strip() for key in ADDRESS_PARTS}
    town = " ".join(p for p in (parts["postcode"], parts["city"]) if p)
    return ", ".join(p for p in (parts["street"], town, parts["region"], parts["country"]) if p)


#: The field types (or computed results) whose display a schema may shape with
#: ``x-crmgen: {format: {decimals: N, grouping: false}}``.
DISPLAY_FORMAT_TYPES = frozenset({"number", "currency", "percent"})
#: A declared display format as a hashable pair: (decimals or None, grouping).
NumberFormat = tuple[int | None, bool]
DEFAULT_FORMAT: NumberFormat = (None, True)


def display_format(raw: Any) -> dict[str, Any]:
    """The usable part of an ``x-crmgen.format`` value (the meta-schema reports the rest):
    ``decimals`` an integer from 0 to 6, ``grouping`` a boolean."""
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, Any] = {}
    decimals = raw.get("decimals")
    if isinstance(decimals, int) and not isinstance(decimals, bool) and 0 <= decimals <= 6:
        found["decimals"] = decimals
    if isinstance(raw.get("grouping"), bool):
        found["grouping"] = raw["grouping"]
    return found


def number_format(display: Mapping[str, Any]) -> NumberFormat:
    """A field's ``display`` mapping as the pair ``format_value`` takes."""
    return (display.get("decimals"), display.get("grouping") is not False)


def format_value(
    value: Any,
    field_type: str,
    *,
    currency: str,
    locale: str,
    number: NumberFormat = DEFAULT_FORMAT,
) -> str:
    """Display text of one field value, formatted by its type.

    Args:
        value: a value as a finished ``Dataset`` holds it; None gives "".
        field_type: the display type (for a computed field, its result type).
        currency: the site currency, ISO 4217.
        locale: the site locale, e.g. ``en_US``.
        number: the field's declared format, (decimals, grouping): ``(0, False)`` shows a year
            as "1996", not "1,996"; ``(None, True)`` is the default (exact, grouped).

    Returns:
        The text to show. Tuples are formatted item by item and joined with ", ".
    """
    if value is None:
        return ""
    if isinstance(value, (tuple, list, frozenset, set)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        texts = (
            format_value(v, field_type, currency=currency, locale=locale, number=number)
            for v in items
        )
        return ", ".join(t for t in texts if t)
    if isinstance(value, str | int | Decimal | dt.date):
        # the same few values recur (dates, stages, owners, round amounts): format each once
        kind = type(value).__name__
        return _formatted(value, str(value), kind, field_type, currency, locale, number)
    return _format(value, field_type, currency, locale, number)


@functools.lru_cache(maxsize=65536)
def _formatted(
    value: Any,
    text: str,
    kind: str,
    field_type: str,
    currency: str,
    locale: str,
    number: NumberFormat = DEFAULT_FORMAT,
) -> str:
    """``format_value`` of a hashable scalar; ``text`` and ``kind`` keep 1, 1.0 and True apart."""
    return _format(value, field_type, currency, locale, number)


def _declared(
    number: Decimal, field_type: str, fmt: NumberFormat, currency: str, locale: str
) -> str:
    """A number, currency or percent value with its field's declared decimals and grouping;
    without declared decimals, exact (as ``format_money`` and ``format_decimal`` show it)."""
    decimals, grouping = fmt
    places = "." + "0" * decimals if decimals else ""
    loc = _locale(locale)
    if field_type == "currency":
        pattern = loc.currency_formats["standard"].pattern.split(";")[0]
        if decimals is not None or number == number.to_integral_value():
            pattern = re.sub(r"0(?:\.[0#]+)?(?=[^0#.,]*$)", "0" + places, pattern)
        if not grouping:
            pattern = pattern.replace(",", "")
        exact = decimals is None
        amount = (
            number
            if decimals is None
            else number.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
        )
        text = format_currency(
            amount, currency, pattern, locale=loc, currency_digits=False,
            decimal_quantization=not exact,
        )  # fmt: skip
        return str(text)
    digits = ("#,##0" if grouping else "0") + (places if decimals is not None else ".######")
    if field_type == "percent":
        return str(format_percent(number / 100, digits + "%", locale=loc))
    return str(format_decimal(number, digits, locale=loc))


def _format(
    value: Any,
    field_type: str,
    currency: str,
    locale: str,
    number_fmt: NumberFormat = DEFAULT_FORMAT,
) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field_type == "address":
        return format_address(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return str(format_date(value, format="medium", locale=_locale(locale)))
    number = to_decimal(value) if not isinstance(value, str) else None
    if number is None:
        return _format_text(value, field_type, locale)
    if number_fmt != DEFAULT_FORMAT and field_type in DISPLAY_FORMAT_TYPES:
        return _declared(number, field_type, number_fmt, currency, locale)
    if field_type == "currency":
        return format_money(number, currency=currency, locale=locale)
    if field_type == "percent":
        return str(
            format_percent(number / 100, locale=_locale(locale), decimal_quantization=False)
        )
    if field_type == "rating":
        return stars(int(number))
    if field_type not in SORTS_AS_NUMBER:  # e.g. a select of years: 2024, not 2,024
        return plain_number(number)
    return str(format_decimal(number, locale=_locale(locale), decimal_quantization=False))


def _format_text(value: Any, field_type: str, locale: str) -> str:
    if field_type == "date" and isinstance(value, str):
        try:
            return format_value(dt.date.fromisoformat(value), "date", currency="", locale=locale)
        except ValueError:
            return value
    if isinstance(value, Mapping):
        return format_address(value)
    return str(value)


def stars(rating: int) -> str:
    """A 0–5 rating as five stars, e.g. 3 -> ``★★★☆☆`` (out-of-range values are clamped)."""
    filled = max(0, min(5, rating))
    return STAR * filled + NO_STAR * (5 - filled)


def sort_value(value: Any) -> str:
    """A machine value for sorting and ``data-*`` attributes.

    Numbers as plain decimals, dates in ISO 8601, booleans as 1/0, text as is, tuples joined
    with ", ", None as "".
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return ", ".join(sort_value(v) for v in value)
    if isinstance(value, Mapping):
        return format_address(value)
    number = to_decimal(value) if not isinstance(value, str) else None
    if number is not None:
        return plain_number(number)
    return str(value)


def safe_url(value: str, kinds: str) -> str | None:
    """A link target for a url, email or phone value, or None when it is not safe.

    Args:
        value: the stored text (untrusted).
        kinds: ``url`` (http and https only), ``email`` (gives ``mailto:``) or ``phone``
            (gives ``tel:`` with digits and a leading +).

    Returns:
        The href to use, or None when the value must be shown as plain text.
    """
    if kinds == "url":
        found = parse_web_address(value)
        return None if isinstance(found, str) else found.href
    if kinds == "email":
        return mailto(value)
    if kinds == "phone":
        return tel(value)
    raise ValueError(f"unknown link kind {kinds!r}; use url, email or phone")


def url_label(value: str) -> str:
    """How a URL is shown: as typed, plus its punycode host when the host is international,
    so look-alike letters (Cyrillic 'а' for Latin 'a') can be told apart."""
    found = parse_web_address(value)
    text = value.strip()
    if isinstance(found, str) or not found.international:
        return text
    return f"{text} [{found.ascii_host}]"


@functools.cache
def _locale(locale: str) -> Locale:
    return Locale.parse(locale)


@functools.lru_cache(maxsize=256)
def _money_pattern(locale: str, currency: str, whole: bool) -> NumberPattern | None:
    """The locale's currency pattern (without decimals when ``whole``) with this currency's
    code and symbol written in. Babel works out the currency's plural name for every amount
    whose pattern has a currency sign, though the usual pattern shows only the symbol: that
    was two thirds of the time of formatting an amount. None when the pattern names the
    currency in words (which depends on the amount) or the symbol is itself a sign."""
    base = _whole_money(locale) if whole else _locale(locale).currency_formats["standard"]
    symbol = get_currency_symbol(currency, _locale(locale))
    if "¤" in symbol or any("¤¤¤" in part for part in (*base.prefix, *base.suffix)):
        return None

    def fill(text: str) -> str:  # as NumberPattern.apply replaces them, in its order
        return text.replace("¤¤", currency.upper()).replace("¤", symbol)

    pattern = copy.copy(base)
    pattern.prefix = (fill(base.prefix[0]), fill(base.prefix[1]))
    pattern.suffix = (fill(base.suffix[0]), fill(base.suffix[1]))
    return pattern


@functools.cache
def _whole_money(locale: str) -> NumberPattern:
    """The locale's currency pattern without decimals, parsed once (Babel parses a pattern
    given as text on every call: a third of the time of formatting an amount)."""
    pattern = _locale(locale).currency_formats["standard"].pattern
    return parse_pattern(_FRACTION.sub("", pattern))


def locale_lang(locale: str) -> str:
    """The BCP 47 tag for an HTML ``lang`` attribute: ``en_US`` -> ``en-US``."""
    return str(_locale(locale)).replace("_", "-")


@dataclass(frozen=True, slots=True)
class LinkView:
    """A link: ``href`` is absolute when ``external``, else relative to the site root.

    An empty ``href`` means: show the label as plain text (an unsafe or dangling target).
    """

    label: str
    href: str = ""
    external: bool = False
    download: bool = False


@dataclass(frozen=True, slots=True)
class Display:
    """How one value is shown.

    ``kind`` tells a template what to draw: ``text`` (``text``, then ``links`` such as a map
    link), ``links``, ``badges``, ``stars`` (``rating`` 0–5) or ``empty``. ``sort`` is the
    machine value for sorting and ``data-*`` attributes.
    """

    kind: str
    text: str
    sort: str
    links: tuple[LinkView, ...] = ()
    badges: tuple[str, ...] = ()
    rating: int | None = None


EMPTY_DISPLAY = Display("empty", "", "")


def items(value: Any) -> tuple[Any, ...]:
    """A value as a tuple of its items: () for None, the items of a list, else (value,)."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def display(
    value: Any,
    field_type: str,
    *,
    currency: str,
    locale: str,
    attachments: str,
    fmt: NumberFormat = DEFAULT_FORMAT,
) -> Display:
    """How to show a value of a type that needs no other record (not reference types).

    Args:
        value: the value, as a finished ``Dataset`` holds it.
        field_type: the display type (for a computed field, its result type).
        currency: the site currency.
        locale: the site locale.
        attachments: the folder file fields must point into ("" allows any clean path).
        fmt: the field's declared (decimals, grouping), see ``format_value``.

    Returns:
        Text, sort value and links, badges or stars. url, email and phone values link only
        through ``safe_url``; files only when the path is clean and inside ``attachments``.
    """
    text = format_value(value, field_type, currency=currency, locale=locale, number=fmt)
    if value is None or value == () or (text == "" and not isinstance(value, bool)):
        return EMPTY_DISPLAY
    sort = sort_value(value)
    if field_type in LINK_TYPES:
        kind = LINK_TYPES[field_type]
        links = tuple(
            LinkView(
                url_label(str(v)) if kind == "url" else str(v).strip(),
                safe_url(str(v), kind) or "",
                True,
            )
            for v in items(value)
        )
        return Display("links", text, sort, links)
    if field_type == "file":
        links = tuple(file_link(str(v), attachments) for v in items(value))
        return Display("links", text, sort, links)
    if field_type in BADGE_TYPES:
        return Display("badges", text, sort, badges=tuple(str(v) for v in items(value)))
    number = to_decimal(value) if not isinstance(value, str) else None
    if field_type == "rating" and number is not None:
        return Display("stars", text, sort, rating=max(0, min(5, int(number))))
    if field_type == "address":
        query = urlencode({"query": text})
        link = LinkView("Map", f"https://www.openstreetmap.org/search?{query}", True)
        return Display("text", text, sort, (link,))
    return Display("text", text, sort)


def file_link(path: str, attachments: str) -> LinkView:
    """A download link, only for a clean relative path inside the attachments folder.

    Anything else (``..``, absolute, backslashes, controls, outside the folder) is plain text:
    a record must not be able to publish another repo file, e.g. a record of a restricted field.
    """
    folder = attachments.strip("/")
    if path_problem(path) is None and (not folder or under(path, folder)):
        return LinkView(path.rsplit("/", 1)[-1], quote(path), download=True)
    return LinkView(path)
