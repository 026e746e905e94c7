"""The compiled JSON Schema check (``crmgen.validate.fastcheck``) is never more lenient than
``jsonschema``: whatever it calls valid, ``jsonschema`` finds no error in. Checked on the
example's schemas with generated records, and on generated schemas of the keywords it takes;
schemas outside that subset are left to ``jsonschema``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from crmgen.config import load_config
from crmgen.load import parse_record
from crmgen.model import thaw
from crmgen.schema import load_schemas
from crmgen.validate.fastcheck import fast_validator

EXAMPLE = Path(__file__).parent.parent
FORMATS = FormatChecker()


def _schemas() -> dict[str, dict[str, Any]]:
    config, _ = load_config(EXAMPLE)
    schemas, _ = load_schemas(EXAMPLE, config)
    return {name: thaw(s.json_schema) for name, s in schemas.items()}


SCHEMAS = _schemas()


def _python_valid(schema: dict[str, Any], instance: Any) -> bool:
    return not any(Draft202012Validator(schema, format_checker=FORMATS).iter_errors(instance))


# values near the edges: integral and non-integral decimals, dates right and wrong, text with
# line ends and other scripts' digits, lists with repeats, nested mappings
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "", " ", "2026-02-29", "2024-02-29", "2026-1-01", "2026-01-01\n", "20260101",
            "2026-13-01", "٢٠٢٦-٠١-٠١", "INV-2026-001", "INV-2026-001\n", "INV-2026-0011",
            "Won", "won", "Lead", "a@b", "https://x.example", "0", "1e3", "NaN",
        ]
    ),
)  # fmt: skip
NUMBER = st.one_of(
    st.integers(-(10**6), 10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**6),
    st.sampled_from([Decimal("3.0"), Decimal("100.00"), Decimal("0.1"), Decimal("1e3"), 0, 100]),
)
SCALAR = st.one_of(st.none(), st.booleans(), TEXT, NUMBER)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from("abcxyz"), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_the_example_schemas_take_the_fast_path() -> None:
    assert SCHEMAS and all(fast_validator(schema) is not None for schema in SCHEMAS.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_it_calls_valid_jsonschema_calls_valid_on_the_example_schemas(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(SCHEMAS)))
    schema = SCHEMAS[name]
    fields = sorted(schema.get("properties", {}))
    record = data.draw(st.dictionaries(st.sampled_from(fields), VALUE, max_size=8))
    fast = fast_validator(schema)
    assert fast is not None
    if fast(record):
        assert _python_valid(schema, record), (name, record)


PATTERNS = st.sampled_from(
    [
        "^INV-[0-9]{4}-[0-9]{3}$", "^[A-Z]{2,3}$", "^a+$", "b|c", "^\\d+$", "x?y*z", "^.{2}$",
        "[a-c-]", "^(ab)+$", "^[.]$", "\\.", "^$",
    ]
)  # fmt: skip
LEAF_SCHEMA = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean"])}),
    st.fixed_dictionaries({"type": st.just("string"), "pattern": PATTERNS}),
    st.fixed_dictionaries({"type": st.just("string"), "format": st.just("date")}),
    st.fixed_dictionaries(
        {"type": st.just("string"), "minLength": st.integers(0, 3), "maxLength": st.integers(0, 5)}
    ),
    st.fixed_dictionaries(
        {"type": st.just("number"), "minimum": st.integers(-5, 5), "maximum": st.integers(0, 200)}
    ),
    st.fixed_dictionaries({"exclusiveMinimum": st.integers(-5, 5)}),
    st.fixed_dictionaries({"enum": st.lists(st.one_of(st.integers(0, 3), TEXT, st.booleans()))}),
    st.fixed_dictionaries({"const": st.one_of(st.integers(0, 3), TEXT, st.booleans())}),
)
SCHEMA = st.recursive(
    LEAF_SCHEMA,
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner, "uniqueItems": st.booleans()}
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
                "additionalProperties": st.booleans(),
                "required": st.lists(st.sampled_from("abc"), unique=True, max_size=2),
            }
        ),
    ),
    max_leaves=5,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMA, instance=VALUE)
def test_what_it_calls_valid_jsonschema_calls_valid_on_generated_schemas(
    schema: dict[str, Any], instance: Any
) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    fast = fast_validator(schema)
    assert fast is not None, schema
    if fast(instance):
        assert _python_valid(schema, instance), (schema, instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "minimum": Decimal("0.1")},  # an exact decimal against a float
        {"type": "number", "maximum": 0.5},
        {"enum": [Decimal("0.1")]},
        {"type": "string", "format": "email"},  # checked by different code
        {"type": "string", "pattern": "(?i)^won$"},
        {"type": "string", "pattern": "^(?=a)"},
        {"type": "string", "pattern": "[^]a]"},
        {"type": "string", "pattern": "\\D"},
        {"type": "string", "pattern": "\\Z"},
        {"type": "string", "pattern": "é"},
        {"oneOf": [{"type": "string"}]},
        {"properties": {"a": {"if": {"type": "string"}}}},
        {"items": [{"type": "string"}]},
    ],
)
def test_schemas_outside_the_shared_subset_are_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert fast_validator(schema) is None


@pytest.mark.parametrize(
    "value",
    [Decimal("3.0"), Decimal("3"), 1.5, Decimal("NaN"), object(), {1: "a"}, [Decimal("2.00")]],
)
def test_values_it_does_not_take_go_to_jsonschema(value: Any) -> None:
    fast = fast_validator({"type": ["integer", "number", "array", "object", "string"]})
    assert fast is not None and fast(value) is False


def test_it_says_valid_for_most_of_the_example_records() -> None:
    """The fast path is taken in practice: the example's valid records are called valid (a
    check that always answered "ask jsonschema" would be safe and useless)."""
    config, _ = load_config(EXAMPLE)
    schemas, _ = load_schemas(EXAMPLE, config)
    asked = accepted = 0
    for project, schema in schemas.items():
        fast = fast_validator(thaw(schema.json_schema))
        assert fast is not None
        for path in sorted((EXAMPLE / "data" / project).rglob("*.md")):
            text = path.read_text()
            record, problems = parse_record(text, str(path), project, path.stem, schema)
            assert record is not None and not problems
            values = {k: v for k, v in record.values.items() if v is not None}
            asked += 1
            if fast(values):
                accepted += 1
                assert _python_valid(thaw(schema.json_schema), values)
    assert asked > 100 and accepted >= 0.9 * asked, (accepted, asked)
