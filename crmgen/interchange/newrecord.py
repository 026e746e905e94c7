"""``crmgen new``: the values of a new record from its schema, a title and ``field=value`` pairs.

Values given on the command line are read like the cells of an import (``amount=42,000``,
``expected_close=2026-12-15``, ``tags=website, seo``, a select's spelling matched); every field
with a ``default`` in the schema gets it; required fields still missing are returned, for the
command line to ask for on a terminal or to list as an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmgen.messages import did_you_mean
from crmgen.model import ProjectSchema

from .cells import CellRules, Mapped, read_cell

_RULES = CellRules({})


def parse_sets(pairs: Sequence[str], schema: ProjectSchema) -> tuple[dict[str, str], list[str]]:
    """``field=value`` pairs -> field -> text, and problems (no ``=``, unknown or computed
    fields; a field's label is accepted for its name)."""
    out: dict[str, str] = {}
    problems: list[str] = []
    by_label = {f.label.casefold(): f.name for f in schema.fields}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq:
            problems.append(f"--set {pair!r}: write field=value, e.g. amount=42000")
            continue
        name = name if schema.field(name) else by_label.get(name.casefold(), name)
        spec = schema.field(name)
        if spec is None:
            stored = [f.name for f in schema.fields if not f.computed]
            problems.append(
                f"--set {pair!r}: {schema.name} has no field '{name}'{did_you_mean(name, stored)}"
            )
        elif spec.computed:
            problems.append(f"--set {pair!r}: {name} is a computed {spec.type}; it is not stored")
        else:
            out[name] = text
    return out, problems


def new_values(
    schema: ProjectSchema, title: str, given: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The values of a new record in schema order (defaults filled in), and the required
    fields still missing."""
    texts = {schema.title_field: title, **given}
    values: dict[str, Any] = {}
    mapped: list[Mapped] = []
    lists = [s.name for s in schema.lists]
    for spec in schema.fields:
        if spec.computed:
            continue
        if spec.name in texts:
            value = read_cell(spec, texts[spec.name], _RULES, mapped, lists, schema.tags)
            if value is not None:
                values[spec.name] = value
                continue
        if "default" in spec.schema:
            default = spec.schema["default"]
            values[spec.name] = Decimal(repr(default)) if isinstance(default, float) else default
    missing = [f.name for f in schema.fields if f.required and f.name not in values]
    return values, missing
