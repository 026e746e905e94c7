"""A compiled JSON Schema check that only ever says "valid", for the records that are.

Almost every record of a repo is valid, and Python's ``jsonschema`` spends a quarter of a cold
``validate`` proving it. ``jsonschema-rs`` (2020-12, compiled) answers "is this valid?" about
ten times faster but words its errors its own way. So a record is first asked of the compiled
validator; when it says valid, there is nothing to report; when it says anything else (or
cannot take the value), ``jsonschema`` checks the record as before and words every error.

That is only right if the compiled check is never more lenient than ``jsonschema``: a value it
accepts must be one ``jsonschema`` accepts. Both implement the same draft, but they differ at
the edges: a float bound compared with an exact decimal, a regular expression read by two
engines (ECMA-262 and Python's ``re``), formats checked by different code, an integral decimal
(``3.0`` is an integer to one and not the other). The fast check is therefore used only for a
schema made of keywords whose meaning is the same in both, with integer bounds, patterns in
a plain subset of regular-expression syntax and the ``date`` format; and only for values of
plain types (text, whole numbers, exact non-integral decimals, true/false, lists and
mappings). Anything else is checked by ``jsonschema`` alone. ``tests/test_fastcheck.py``
compares the two on generated values and schemas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["fast_validator"]

#: Keywords whose meaning the two validators share (given the bounds and patterns below).
_KEYWORDS = frozenset(
    {
        "$schema", "$comment", "$id", "title", "description", "default", "examples",
        "deprecated", "readOnly", "writeOnly",
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "minProperties",
        "maxProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "pattern", "format",
    }
)  # fmt: skip

#: Keywords whose value is a schema, or a mapping of names to schemas.
_SUBSCHEMA = frozenset({"items", "additionalProperties"})
_SUBSCHEMAS = frozenset({"properties"})
#: Keywords whose value is data (not a schema): any keys are fine, numbers must be whole.
_DATA = frozenset({"default", "examples", "enum", "const"})
_BOUNDS = frozenset(
    {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
        "minLength", "maxLength", "minProperties", "maxProperties",
    }
)  # fmt: skip
#: The formats both check the same way (an RFC 3339 full-date).
_FORMATS = frozenset({"date"})
#: A pattern both engines read alike: literals, classes without negation or class escapes,
#: quantifiers, anchors, plain groups and alternation; escapes only of punctuation and of the
#: digit class (``\\d`` is ASCII in ECMA-262 and wider in Python: never more lenient).
_PLAIN_PATTERN = re.compile(
    r"(?:[A-Za-z0-9 _,:;@#%&=<>'\"/!~`.^$*+?|(){}\[\]-]|\\[-.\\/()\[\]{}|?*+^$d])*"
)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_data(value: Any) -> bool:
    """Data in a schema (enum, const, default) whose numbers are whole."""
    if value is None or isinstance(value, str | int):  # bool is an int
        return True
    if isinstance(value, list | tuple):
        return all(_plain_data(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain_data(v) for k, v in value.items())
    return False


def _plain_schema(schema: Any) -> bool:
    """Whether both validators read ``schema`` alike (see the module's docstring)."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping):
        return False
    for key, value in schema.items():
        if not isinstance(key, str):
            return False
        if key.startswith("x-"):  # crmgen's own metadata: not a validation keyword
            continue
        if key not in _KEYWORDS:
            return False
        if key in _SUBSCHEMA and not _plain_schema(value):
            return False
        if key in _SUBSCHEMAS and not (
            isinstance(value, Mapping) and all(_plain_schema(v) for v in value.values())
        ):
            return False
        if key in _DATA and not _plain_data(value):
            return False
        if key in _BOUNDS and not _whole(value):
            return False
        if key == "format" and value not in _FORMATS:
            return False
        if key == "pattern" and not (
            isinstance(value, str)
            and _PLAIN_PATTERN.fullmatch(value)
            and "(?" not in value  # no flags, lookaround or named groups
            and "[^" not in value  # no negated class (``[^]`` is "any character" in ECMA)
            and "[]" not in value  # an empty class in ECMA, a literal "]" in Python
        ):
            return False
        if key == "type" and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(t, str) for t in value))
        ):
            return False
    return True


class _Unfit(Exception):
    """A value the fast check does not take (see ``_plain_value``)."""


def _plain_value(value: Any) -> Any:
    """``value`` as the compiled validator takes it (lists, dicts), or ``_Unfit``."""
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, Decimal):
        # an integral decimal ("3.0") is an integer to jsonschema-rs, not to jsonschema
        if not value.is_finite() or value == value.to_integral_value():
            raise _Unfit
        return value
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unfit
            out[key] = _plain_value(item)
        return out
    raise _Unfit


def fast_validator(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A check that returns True only for an instance ``jsonschema`` (Draft 2020-12 with its
    format checker) finds valid, and False for everything it cannot vouch for; None when
    ``jsonschema-rs`` is not installed or the schema is outside what it is used for."""
    if not _plain_schema(schema):
        return None
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the slow path still works
        return None
    try:
        compiled = jsonschema_rs.validator_for(dict(schema), validate_formats=True)
    except Exception:  # a schema it will not take: jsonschema alone
        return None

    def valid(instance: Any) -> bool:
        try:
            return bool(compiled.is_valid(_plain_value(instance)))
        except _Unfit:
            return False
        except Exception:  # a value it cannot read: jsonschema decides
            return False

    return valid
