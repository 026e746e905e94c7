"""Dotted names through references: what they depend on, and their values.

``client.email`` on an opportunity goes through its ``client`` reference to the client
record; through a multiple reference the result is a tuple. ``list.kind``,
``list.probability``, ``list.name`` and ``list.max_days`` read the record's list (stage).

This is the one walker of dotted names: the compute stage resolves every lookup, formula and
rollup through it and records what each computed field reads (``Dataset.reads``), which is
what redaction follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmgen import messages
from crmgen.model import FieldSpec, Node, ProjectSchema, Record

LIST_ATTRS = ("name", "kind", "probability", "max_days")


class PathError(Exception):
    """A name that does not lead to a field; the message says how to fix it."""


def schema_of(schemas: Mapping[str, ProjectSchema], project: str) -> ProjectSchema:
    """The schema of ``project``.

    Raises:
        PathError: the project has no schema that loaded (its own errors are reported too).
    """
    schema = schemas.get(project)
    if schema is None:
        raise PathError(
            f"project '{project}' has no usable schema; fix the errors reported for "
            f"schema/{project}.schema.yaml first"
        )
    return schema


def walk(schemas: Mapping[str, ProjectSchema], project: str, dotted: str) -> list[Node]:
    """The (project, field) nodes a dotted name reads, checking each step.

    Raises:
        PathError: a step is not a field, or a middle step is not a reference.
    """
    parts = dotted.split(".")
    nodes: list[Node] = []
    current = project
    for index, part in enumerate(parts):
        schema = schema_of(schemas, current)
        spec = schema.field(part)
        if spec is None:
            names = [f.name for f in schema.fields]
            raise PathError(
                f"'{part}' is not a field of {current}{messages.did_you_mean(part, names)}"
            )
        nodes.append((current, part))
        rest = parts[index + 1 :]
        if not rest:
            break
        if spec.type == "list" and len(rest) == 1 and rest[0] in LIST_ATTRS:
            break
        if spec.type == "lookup" and spec.path:
            # Go on through what the lookup reaches (a lookup of a reference).
            inner = walk(schemas, current, spec.path)
            last = schema_of(schemas, inner[-1][0]).field(inner[-1][1])
            if last is None or last.type != "reference" or not last.target:
                raise PathError(
                    f"'{part}' in '{dotted}' is not a reference, so nothing can be "
                    "looked up through it"
                )
            nodes.extend(inner)
            current = last.target
            continue
        if spec.type not in ("reference", "referenced-by") or not spec.target:
            raise PathError(
                f"'{part}' in '{dotted}' is a {spec.type} field, not a reference; "
                "only references can be followed with '.'"
            )
        current = spec.target
    return nodes


def target_field(
    schemas: Mapping[str, ProjectSchema], project: str, dotted: str
) -> FieldSpec | None:
    """The FieldSpec a dotted name ends on; None when it ends on a list attribute."""
    proj, name = walk(schemas, project, dotted)[-1]
    spec = schema_of(schemas, proj).field(name)
    if spec is not None and spec.type == "list" and dotted.split(".")[-1] != name:
        return None
    return spec


Lookup = Callable[[str, str], Record | None]


def _follow(record: Record, spec_target: str | None, value: Any, get: Lookup) -> list[Record]:
    if spec_target is None or value is None:
        return []
    slugs = value if isinstance(value, tuple) else (value,)
    out = []
    for slug in slugs:
        if isinstance(slug, str):
            if "/" in slug:  # referenced-by values are "project/slug"
                slug = slug.split("/", 1)[1]
            target = get(spec_target, slug)
            if target is not None:
                out.append(target)
    return out


def resolve(
    schemas: Mapping[str, ProjectSchema],
    record: Record,
    dotted: str,
    get: Lookup,
    value_of: Callable[[Record, str], Any],
) -> Any:
    """The value of a dotted name on ``record``.

    Args:
        get: (project, slug) -> Record, for following references.
        value_of: (record, field) -> current value (stored or computed so far).
    """
    if "." not in dotted:  # a field of the record itself: most names a formula reads
        return value_of(record, dotted)
    parts = dotted.split(".")
    records = [record]
    many = False
    for index, part in enumerate(parts[:-1]):
        spec = schemas[records[0].project].field(part) if records else None
        if spec is None:
            return () if many else None
        if spec.type == "list" and index == len(parts) - 2 and parts[-1] in LIST_ATTRS:
            values = [_list_attr(schemas, r, part, parts[-1], value_of) for r in records]
            return tuple(v for v in values if v is not None) if many else values[0]
        if spec.type == "lookup" and spec.path:
            inner = target_field(schemas, records[0].project, spec.path)
            target = inner.target if inner is not None else None
            many = many or isinstance(value_of(records[0], part), tuple)
        else:
            target = spec.target
            many = many or spec.multiple or spec.type == "referenced-by"
        nxt: list[Record] = []
        for current in records:
            nxt.extend(_follow(current, target, value_of(current, part), get))
        records = nxt
    last = parts[-1]
    if not many:
        return value_of(records[0], last) if records else None
    flat: list[Any] = []
    for current in records:
        value = value_of(current, last)
        if isinstance(value, tuple):
            flat.extend(value)
        elif value is not None:
            flat.append(value)
    return tuple(flat)


def _list_attr(
    schemas: Mapping[str, ProjectSchema],
    record: Record,
    field: str,
    attr: str,
    value_of: Callable[[Record, str], Any],
) -> Any:
    name = value_of(record, field)
    spec = schemas[record.project].list_spec(name) if isinstance(name, str) else None
    if spec is None:
        return None
    return getattr(spec, attr)
