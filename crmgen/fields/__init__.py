"""The field-type registry: one place says what each crmgen field type stores, checks and is.

Each ``FieldType`` says which JSON types may store it, how one stored value is checked
(``check``), whether it is a number (``numeric``) and what kind of value formulas see
(``value``). Display lives in ``fields.formatting`` and the rules for untrusted values (URLs,
e-mail, phone, dates, paths) in ``fields.rules``; both are keyed by these type names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmgen.fields.rules import (
    date_problem,
    email_problem,
    phone_problem,
    rating_problem,
    url_problem,
)

Check = Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class FieldType:
    """What a field type stores.

    Attributes:
        name: the type's name in ``x-crmgen: {type: ...}``.
        computed: never stored in a record file.
        json_types: JSON Schema types its stored value may have.
        check: extra check of one stored (scalar) value; returns a message or None.
        numeric: a number: aggregates and charts may add it up, tables sort it as a number.
        value: what a formula sees: number, text, date, bool, list, or any (decided later).
        result: may be declared as the ``result`` of a formula, rollup or lookup.
    """

    name: str
    computed: bool = False
    json_types: frozenset[str] = frozenset()
    check: Check | None = None
    numeric: bool = False
    value: str = "text"
    result: bool = False


_STRING = frozenset({"string"})
_NUMBER = frozenset({"number", "integer"})

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("text", json_types=_STRING, result=True),
        FieldType("long-text", json_types=_STRING),
        FieldType("email", json_types=_STRING, check=email_problem),
        FieldType("phone", json_types=_STRING, check=phone_problem),
        FieldType("url", json_types=_STRING, check=url_problem),
        FieldType("address", json_types=frozenset({"string", "object"})),
        FieldType("number", json_types=_NUMBER, numeric=True, value="number", result=True),
        FieldType("percent", json_types=_NUMBER, numeric=True, value="number", result=True),
        FieldType("currency", json_types=_NUMBER, numeric=True, value="number", result=True),
        FieldType("date", json_types=_STRING, check=date_problem, value="date", result=True),
        FieldType(
            "rating",
            json_types=frozenset({"integer"}),
            check=rating_problem,
            numeric=True,
            value="number",
            result=True,
        ),
        FieldType("select", json_types=_STRING | _NUMBER, value="any"),
        FieldType("multi-select", json_types=frozenset({"array"}), value="list"),
        FieldType("checkbox", json_types=frozenset({"boolean"}), value="bool", result=True),
        FieldType("file", json_types=_STRING | {"array"}, value="any"),
        FieldType("reference", json_types=_STRING | {"array"}, value="any"),
        FieldType("list", json_types=_STRING),
        FieldType("tags", json_types=frozenset({"array"}), value="list"),
        FieldType("lookup", computed=True, value="any"),
        FieldType("formula", computed=True, value="any"),
        FieldType("rollup", computed=True, value="any"),
        FieldType("referenced-by", computed=True, value="list"),
    )
}

#: The numeric field types (one set for tables, charts, formulas and checks).
NUMERIC = frozenset(name for name, t in FIELD_TYPES.items() if t.numeric)
#: Types a formula, rollup or lookup result may declare.
RESULT_TYPES = tuple(name for name, t in FIELD_TYPES.items() if t.result)


def infer_type(name: str, schema: Mapping[str, Any]) -> str:
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
        return "multi-select"
    if json_type == "object":
        return "address"
    return "text"
