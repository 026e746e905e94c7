"""Turn JSON Schema validation errors into messages that say what to fix.

Shared by every stage that validates YAML against a schema (records, schema files,
``crmgen.yml``), so all of them speak the same way.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_JSON_TYPE = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "empty",
}


def show(value: Any) -> str:
    """A short, quoted rendering of a value for messages."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "nothing"
    elif isinstance(value, int | Decimal | float):
        text = str(value)
    elif isinstance(value, list | tuple):
        text = "a list"
    elif isinstance(value, Mapping):
        text = "a mapping"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close, else ``""``."""
    options = [c for c in choices if isinstance(c, str)]
    lowered = {c.lower(): c for c in options}
    if value.lower() in lowered:
        return f"; did you mean '{lowered[value.lower()]}'?"
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def allowed(choices: Sequence[Any], limit: int = 12) -> str:
    shown = ", ".join(show(c) for c in choices[:limit])
    return shown + (f", ... ({len(choices)} in all)" if len(choices) > limit else "")


def type_name(types: Any) -> str:
    if isinstance(types, list | tuple):
        return " or ".join(_JSON_TYPE.get(str(t), str(t)) for t in types)
    return _JSON_TYPE.get(str(types), str(types))


def describe(err: ValidationError, name: str) -> str:
    """The message for one validation error of the value called ``name``."""
    v = err.validator
    arg: Any = err.validator_value
    inst = err.instance
    if v == "type":
        return f"{name} must be {type_name(arg)}, got {show(inst)}"
    if v in ("enum", "const"):
        choices = list(arg) if v == "enum" else [arg]
        hint = did_you_mean(inst, [str(c) for c in choices]) if isinstance(inst, str) else ""
        return f"{name} must be one of {allowed(choices)}, got {show(inst)}{hint}"
    if v == "required":
        missing = [p for p in arg if isinstance(inst, dict) and p not in inst]
        what = ", ".join(missing) or "a required key"
        return f"{name} needs {what}; add it" if name else f"{what} is required; add it"
    if v == "additionalProperties":
        schema = err.schema if isinstance(err.schema, Mapping) else {}
        declared = schema.get("properties", {})
        extra = sorted(k for k in (inst if isinstance(inst, dict) else {}) if k not in declared)
        props = list(declared)
        hints = "".join(did_you_mean(k, props) for k in extra[:1])
        where = f" in {name}" if name and name != "front matter" else ""
        return (
            f"unknown key {', '.join(repr(k) for k in extra)}{where}: remove it or declare "
            f"it in the schema{hints}"
        )
    if v == "minimum":
        return f"{name} must be at least {arg}, got {show(inst)}"
    if v == "maximum":
        return f"{name} must be at most {arg}, got {show(inst)}"
    if v == "exclusiveMinimum":
        return f"{name} must be greater than {arg}, got {show(inst)}"
    if v == "exclusiveMaximum":
        return f"{name} must be less than {arg}, got {show(inst)}"
    if v == "minLength":
        return f"{name} must not be empty" if arg == 1 else f"{name} needs {arg}+ characters"
    if v == "maxLength":
        return f"{name} is too long: at most {arg} characters"
    if v == "pattern":
        advice = err.schema.get("x-hint") if isinstance(err.schema, Mapping) else None
        if isinstance(advice, str):
            return f"{name} must be {advice}, got {show(inst)}"
        return f"{name} must match the pattern {arg}, got {show(inst)}"
    if v == "format" and arg == "date":
        return f"{name} must be a real date written YYYY-MM-DD, got {show(inst)}"
    if v == "format":
        return f"{name} must be a valid {arg}, got {show(inst)}"
    if v == "minItems":
        return f"{name} needs at least {arg} item(s)"
    if v == "maxItems":
        return f"{name} allows at most {arg} item(s)"
    if v == "uniqueItems":
        return f"{name} lists the same value twice; remove the duplicate"
    if v == "multipleOf":
        return f"{name} must be a multiple of {arg}, got {show(inst)}"
    if v == "propertyNames":
        return f"{name}: key names must match {arg.get('pattern', arg)}"
    if v == "minProperties":
        return f"{name} must not be empty"
    return f"{name}: {err.message}" if name else err.message
