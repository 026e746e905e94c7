"""One cell of a table, both ways: the text a spreadsheet holds and the value a record stores.

Import and export meet here, so what one writes the other reads back exactly: numbers as
plain digits (thousands separators and currency symbols are read, never written), dates as
ISO ``YYYY-MM-DD`` (a declared format is read too), lists joined with ``", "`` (or as a JSON
array when an item holds a comma or a quote), and text that a spreadsheet would run as a
formula prefixed with ``'`` on the way out and unprefixed on the way in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crmgen.fields.formatting import ADDRESS_PARTS
from crmgen.model import FieldSpec

#: A cell starting with one of these is a formula (or a DDE payload) to a spreadsheet.
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

_TRUE = frozenset({"true", "yes", "y", "1", "x", "✓", "✔", "checked", "on", "ja", "oui", "sí"})
_FALSE = frozenset({"false", "no", "n", "0", "", "unchecked", "off", "nein", "non"})
_SPACES = " \u00a0\u202f\u2009\u2007"
_CODE = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$")
_MINUS = "-\u2212\u2013"


def neutralise(text: str) -> str:
    """Text as a spreadsheet may show it: a cell that would start a formula, or that starts
    with ``'`` (so the prefix can be told apart on the way back), gets a leading ``'``."""
    if text.startswith((*DANGEROUS, "'")):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """The text ``neutralise`` was given (a ``'`` is dropped only before what it protects).

    A ``'`` before a line feed is dropped too: it protected a carriage return that a CSV
    reader joined with the line feed after it (``neutralise`` never quotes a line feed)."""
    if text.startswith("'") and text[1:2] and text[1:].startswith((*DANGEROUS, "'", "\n")):
        return text[1:]
    return text


def name_key(text: str) -> str:
    """A column or field name reduced for matching: accents, case, spaces and punctuation
    ignored (``E-mail`` = ``email``, ``Expected close`` = ``expected_close``)."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain.casefold() if c.isalnum())


def value_key(text: str) -> str:
    """A value reduced for matching names (titles, keys): Unicode-normalised, case-folded,
    spaces collapsed; punctuation kept (``Brown–Forman`` is not ``Brown Forman``)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_number(text: str, decimal: str = ".") -> int | Decimal | None:
    """A number as people write it: ``96500``, ``9,262.50``, ``€ 1.234,50`` (with
    ``decimal=","``), ``(42.50)``, ``−42.5``, ``12.5%``, ``EUR 400``; None when it is none.

    Thousands separators must group by three, so ``1,2,3`` is not a number. A whole number
    without a decimal part is an ``int``; otherwise a ``Decimal`` keeping the digits written.
    """
    body = text.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    body = _CODE.sub("", body)
    body = "".join(c for c in body if unicodedata.category(c) != "Sc").strip(_SPACES)
    body = body.removesuffix("%").strip(_SPACES)
    if body[:1] in _MINUS:
        negative, body = not negative, body[1:].strip(_SPACES)
    elif body.startswith("+"):
        body = body[1:]
    group = "." if decimal == "," else ","
    whole, point, fraction = body.partition(decimal)
    if not whole and not fraction:
        return None
    if point and not fraction.isdigit():
        return None
    if not re.fullmatch(r"\d+", whole or "0"):
        parts = re.split(f"[{re.escape(group)}'{_SPACES}]", whole)
        if not (
            parts[0].isdigit()
            and len(parts[0]) <= 3
            and all(len(p) == 3 and p.isdigit() for p in parts[1:])
        ):
            return None
        whole = "".join(parts)
    if not whole.isascii() or not fraction.isascii():
        return None
    digits = (whole or "0") + (f".{fraction}" if point else "")
    try:
        number = Decimal(("-" if negative else "") + digits)
    except InvalidOperation:  # pragma: no cover - only digits get here
        return None
    return int(number) if not point else number


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` and what spreadsheets and other CRMs write for them, else None."""
    word = text.strip().casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_day(text: str, formats: Sequence[str] = ()) -> str | None:
    """A date as ``YYYY-MM-DD``: ISO (a time after it is dropped), or one of ``formats``
    (``strptime`` codes, e.g. ``%d/%m/%Y``); None when it is neither."""
    cell = text.strip()
    iso = cell[:10]
    if iso[4:5] == "-" and (len(cell) == 10 or (len(cell) > 10 and cell[10] in "T ")):
        try:
            return dt.date.fromisoformat(iso).isoformat()
        except ValueError:
            pass
    for form in formats:
        try:
            return dt.datetime.strptime(cell, form).date().isoformat()
        except ValueError:
            continue
    return None


def split_items(text: str, separator: str = ",") -> list[str]:
    """The items of a list cell: a JSON array of strings as written by ``join_items``, or the
    text split at ``separator``, each item trimmed, empty items dropped."""
    cell = text.strip()
    if cell.startswith("[") and cell.endswith("]"):
        try:
            found = json.loads(cell)
        except ValueError:
            found = None
        if isinstance(found, list) and all(isinstance(i, str) for i in found):
            return found
    return [item.strip() for item in cell.split(separator) if item.strip()]


def join_items(items: Sequence[str]) -> str:
    """A list as one cell: ``a, b``; a JSON array when an item would not split back."""
    plain = all(
        item and item == item.strip() and "," not in item and '"' not in item for item in items
    )
    if plain and not (len(items) == 1 and items[0].startswith("[")):
        return ", ".join(items)
    return json.dumps(list(items), ensure_ascii=False)


def plain_decimal(value: int | Decimal) -> str:
    """A stored number as its plain digits, exactly as stored (``9262.50`` stays that)."""
    if isinstance(value, int):
        return str(value)
    return format(value, "f")


def export_text(value: Any) -> tuple[str, bool]:
    """A value as cell text, and whether it is a number (numbers are never neutralised)."""
    if type(value) is str:  # most cells: before the checks of the other kinds
        return value, False
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, int | Decimal):
        return plain_decimal(value), True
    if isinstance(value, float):  # pragma: no cover - crmgen keeps numbers as Decimal
        return repr(value), True
    if isinstance(value, dt.date):
        return value.isoformat(), False
    if isinstance(value, Mapping):
        parts = [str(value[k]) for k in ADDRESS_PARTS if value.get(k)]
        return ", ".join(parts), False
    if isinstance(value, list | tuple):
        return join_items([export_text(v)[0] for v in value]), False
    return str(value), False


def csv_cell(value: Any) -> str:
    """A value as a spreadsheet-safe CSV cell."""
    text, number = export_text(value)
    return text if number else neutralise(text)


@dataclass(frozen=True, slots=True)
class Mapped:
    """A value changed on its way in: by the mapping file's ``values`` (``how`` = "map") or
    to the declared spelling of a list or option (``how`` = "case")."""

    field: str
    before: str
    after: str
    how: str


@dataclass(frozen=True, slots=True)
class CellRules:
    """How one file's cells are read: value maps per field, date formats, decimal mark,
    list separator."""

    values: Mapping[str, Mapping[str, str]]
    date_formats: tuple[str, ...] = ()
    decimal: str = "."
    separator: str = ","


def choose(
    spec: FieldSpec, text: str, options: Sequence[str], rules: CellRules, mapped: list[Mapped]
) -> str:
    """A select, list or tag value: mapped by the file's value map, else matched to the
    declared spelling when only case, accents or spacing differ; else left as written (the
    validation then says what is allowed, with a "did you mean")."""
    table = rules.values.get(spec.name, {})
    if text in table:
        mapped.append(Mapped(spec.name, text, table[text], "map"))
        return table[text]
    folded = {value_key(k): v for k, v in table.items()}
    if value_key(text) in folded:
        mapped.append(Mapped(spec.name, text, folded[value_key(text)], "map"))
        return folded[value_key(text)]
    if text in options:
        return text
    same = [o for o in options if name_key(o) == name_key(text) and name_key(o)]
    if len(same) == 1:
        mapped.append(Mapped(spec.name, text, same[0], "case"))
        return same[0]
    return text


def read_cell(
    spec: FieldSpec,
    text: str,
    rules: CellRules,
    mapped: list[Mapped],
    lists: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> Any:
    """The value a cell stores in ``spec`` (None for an empty cell). A cell that cannot be
    read as its type is returned as text, for the validation to reject with its message."""
    raw = text if spec.type == "long-text" else text.strip()
    if not raw:
        return None
    raw = unneutralise(raw)
    kind = spec.type
    json_type = spec.schema.get("type")
    if kind in ("number", "percent", "currency", "rating") or json_type in ("number", "integer"):
        number = parse_number(raw, rules.decimal)
        if number is None:
            return raw
        if json_type == "integer" and isinstance(number, Decimal) and number == int(number):
            return int(number)
        return number
    if kind == "checkbox" or json_type == "boolean":
        flag = parse_bool(raw)
        return raw if flag is None else flag
    if kind == "date":
        return parse_day(raw, rules.date_formats) or raw
    if kind == "list":
        return choose(spec, raw, lists, rules, mapped)
    if kind == "select":
        return choose(spec, raw, spec.options, rules, mapped)
    if kind in ("multi-select", "tags"):
        options = spec.options if kind == "multi-select" else tags
        return [choose(spec, item, options, rules, mapped) for item in split(raw, rules)]
    if spec.multiple:  # references, files
        return split(raw, rules)
    return raw


def split(text: str, rules: CellRules) -> list[str]:
    return [unneutralise(item) for item in split_items(text, rules.separator)]
