"""The field-type registry: one place for each type's storage, checks and roles."""

from __future__ import annotations

from crmgen.fields import FIELD_TYPES, NUMERIC, RESULT_TYPES, infer_type
from crmgen.schema import meta_validator


def test_registry_and_inference() -> None:
    assert {t for t, ft in FIELD_TYPES.items() if ft.computed} == {
        "lookup",
        "formula",
        "rollup",
        "referenced-by",
    }
    assert infer_type("list", {"type": "string"}) == "list"
    assert infer_type("due", {"type": "string", "format": "date"}) == "date"
    assert infer_type("size", {"enum": ["a", "b"]}) == "select"
    assert infer_type("n", {"type": "integer"}) == "number"
    assert infer_type("ok", {"type": "boolean"}) == "checkbox"
    assert infer_type("x", {"type": "array", "items": {"enum": ["a"]}}) == "multi-select"
    assert infer_type("where", {"type": "object"}) == "address"


def test_one_set_of_numeric_types() -> None:
    assert {"number", "percent", "currency", "rating"} == NUMERIC
    assert all(FIELD_TYPES[name].value == "number" for name in NUMERIC)


def test_the_meta_schema_takes_its_types_from_the_registry() -> None:
    vocabulary = meta_validator().schema["$defs"]["field"]["properties"]["x-crmgen"]["properties"]
    assert vocabulary["type"]["enum"] == list(FIELD_TYPES)
    assert vocabulary["result"]["enum"] == list(RESULT_TYPES)
    assert "referenced-by" not in RESULT_TYPES and "currency" in RESULT_TYPES


def test_checks_are_the_rules() -> None:
    assert FIELD_TYPES["email"].check is not None
    assert FIELD_TYPES["email"].check("a@b.co") is None
    assert FIELD_TYPES["url"].check is not None
    assert FIELD_TYPES["url"].check("javascript:alert(1)") is not None
    assert FIELD_TYPES["date"].check is not None
    assert FIELD_TYPES["date"].check("2026-02-30") is not None
