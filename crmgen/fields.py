"""The field-type registry: one place says what each crmgen field type stores and checks.

Display formatting lives in ``formatting`` and CSV export in ``interchange``; both key off the
same type names declared here.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class FieldType:
    """What a field type stores.

    Attributes:
        name: the type's name in ``x-crmgen: {type: ...}``.
        computed: never stored in a record file.
        json_types: JSON Schema types its stored value may have.
        check: extra check of one stored (scalar) value; returns a message or None.
        numeric: aggregates and charts may sum it.
    """

    name: str
    computed: bool = False
    json_types: frozenset[str] = frozenset()
    check: Check | None = None
    numeric: bool = False


_C0 = "".join(chr(c) for c in range(0x21))
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ()./\-]+((ext\.?|x) ?[0-9]{1,6})?", re.IGNORECASE)


def normalize_url(value: str) -> str | None:
    """Parse a URL the way browsers do and return it when its scheme is http or https.

    Leading and trailing C0 controls and spaces are stripped and tabs and newlines removed
    (WHATWG URL parsing), so ``" java\\tscript:"`` is seen as the browser sees it.
    """
    cleaned = value.strip(_C0).replace("\t", "").replace("\n", "").replace("\r", "")
    scheme, sep, _ = cleaned.partition(":")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    parts = urllib.parse.urlsplit(cleaned)
    if not parts.hostname or any(ord(ch) < 0x20 or ch == "\x7f" for ch in cleaned):
        return None
    return cleaned


def check_url(value: Any) -> str | None:
    if not isinstance(value, str) or normalize_url(value) is None:
        return "must be an http:// or https:// address with a host, e.g. https://example.com/page"
    return None


def check_email(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        return "must be an email address like name@example.com"
    return None


def check_phone(value: Any) -> str | None:
    if not isinstance(value, str):
        return 'must be a phone number written as text, e.g. "+44 20 7946 0958"'
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.fullmatch(value.strip()) or not 5 <= digits <= 20:
        return 'must be a phone number of 5 to 20 digits, e.g. "+44 20 7946 0958"'
    return None


def check_rating(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        return "must be a whole number of stars from 0 to 5"
    return None


_STRING = frozenset({"string"})
_NUMBER = frozenset({"number", "integer"})

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("text", json_types=_STRING),
        FieldType("long-text", json_types=_STRING),
        FieldType("email", json_types=_STRING, check=check_email),
        FieldType("phone", json_types=_STRING, check=check_phone),
        FieldType("url", json_types=_STRING, check=check_url),
        FieldType("address", json_types=frozenset({"string", "object"})),
        FieldType("number", json_types=_NUMBER, numeric=True),
        FieldType("percent", json_types=_NUMBER, numeric=True),
        FieldType("currency", json_types=_NUMBER, numeric=True),
        FieldType("date", json_types=_STRING),
        FieldType("rating", json_types=frozenset({"integer"}), check=check_rating, numeric=True),
        FieldType("select", json_types=_STRING | _NUMBER),
        FieldType("multi-select", json_types=frozenset({"array"})),
        FieldType("checkbox", json_types=frozenset({"boolean"})),
        FieldType("file", json_types=_STRING | {"array"}),
        FieldType("reference", json_types=_STRING | {"array"}),
        FieldType("list", json_types=_STRING),
        FieldType("tags", json_types=frozenset({"array"})),
        FieldType("lookup", computed=True),
        FieldType("formula", computed=True),
        FieldType("rollup", computed=True),
        FieldType("referenced-by", computed=True),
    )
}

#: Types a formula, rollup or lookup result may declare.
RESULT_TYPES = ("text", "number", "percent", "currency", "date", "checkbox", "rating")


def infer_type(name: str, schema: dict[str, Any]) -> str:
    """The field type of a property that has no ``x-crmgen.type``."""
    if name == "list":
        return "list"
    if name == "tags":
        return "tags"
    json_type = schema.get("type")
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "email":
        return "email"
    if schema.get("format") in ("uri", "iri"):
        return "url"
    if "enum" in schema:
        return "select"
    if json_type in ("number", "integer"):
        return "number"
    if json_type == "boolean":
        return "checkbox"
    if json_type == "array":
        items = schema.get("items")
        if isinstance(items, dict) and "enum" in items:
            return "multi-select"
        return "tags" if name == "tags" else "multi-select"
    if json_type == "object":
        return "address"
    return "text"
