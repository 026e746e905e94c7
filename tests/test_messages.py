from __future__ import annotations

from decimal import Decimal

from jsonschema import Draft202012Validator

from crmgen.messages import allowed, describe, did_you_mean, show


def _one(schema: dict[str, object], value: object) -> str:
    errors = list(Draft202012Validator(schema).iter_errors(value))
    assert len(errors) == 1
    return describe(errors[0], "amount")


def test_messages_say_how_to_fix() -> None:
    assert _one({"type": "number"}, "12k") == 'amount must be a number, got "12k"'
    assert _one({"enum": ["Low", "High"]}, "high") == (
        'amount must be one of "Low", "High", got "high"; did you mean \'High\'?'
    )
    assert _one({"minimum": 0}, -1) == "amount must be at least 0, got -1"
    assert _one({"type": "integer"}, Decimal("1.5")) == "amount must be a whole number, got 1.5"


def test_helpers() -> None:
    assert did_you_mean("webiste", ["website", "seo"]) == "; did you mean 'website'?"
    assert did_you_mean("qqq", ["website"]) == ""
    assert show("x" * 100).endswith("...") and len(show("x" * 100)) == 60
    assert allowed(list(range(20)), limit=3) == "0, 1, 2, ... (20 in all)"
