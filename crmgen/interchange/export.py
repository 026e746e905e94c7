"""Export a project: every field, stored and computed, as CSV for spreadsheets or as JSON.

The dataset given is the one a site is built from: cut for an audience by the redaction stage,
so a field the audience may not see, and everything computed from it, is not there to export.
Columns: ``slug`` (the record id), every field in schema order (an address written as parts
gets a column per part), ``<reference>.title`` after each reference when asked, and ``body``.
A CSV cell that a spreadsheet would run as a formula is neutralised; numbers stay numbers.
What an export writes, ``crmgen import`` reads back to the same stored values.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmgen.fields.formatting import ADDRESS_PARTS
from crmgen.model import Dataset, FieldSpec, Project

from .cells import csv_cell, export_text
from .csvfile import csv_line


def _column_name(name: str, schema_names: set[str]) -> str:
    return name if name not in schema_names else f"_{name}"


def columns(dataset: Dataset, project: str, titles: bool = False) -> list[tuple[str, Any]]:
    """The columns of a project's export: (header, how to get the cell's value from a
    record). ``titles`` adds the title of each referenced record after its reference."""
    proj = dataset.projects[project]
    names = {f.name for f in proj.schema.fields}
    out: list[tuple[str, Any]] = [(_column_name("slug", names), ("slug",))]
    for spec in proj.schema.fields:
        out.append((spec.name, ("field", spec.name, spec)))
        if spec.type == "address" and _has_parts(proj, spec):
            out.extend(
                (f"{spec.name}.{part}", ("part", spec.name, part)) for part in ADDRESS_PARTS
            )
        if titles and spec.type == "reference" and spec.target in dataset.projects:
            out.append((f"{spec.name}.title", ("title", spec)))
    out.append((_column_name("body", names), ("body",)))
    return out


def _has_parts(project: Project, spec: FieldSpec) -> bool:
    return any(isinstance(r.values.get(spec.name), Mapping) for r in project.records.values())


_SCALARS = frozenset({str, int, bool, Decimal, dt.date})


def _value(dataset: Dataset, record: Any, how: tuple[Any, ...]) -> Any:
    kind = how[0]
    if kind == "slug":
        return record.slug
    if kind == "body":
        return record.body.strip("\n")
    if kind == "field":
        spec_: FieldSpec = how[2]
        value = record.get(how[1])
        if value is None or type(value) in _SCALARS:  # most values: no list or mapping
            return value
        if spec_.type == "referenced-by" and spec_.target and isinstance(value, tuple | list):
            return [str(v).removeprefix(f"{spec_.target}/") for v in value]
        if isinstance(value, Mapping) and how[1] in record.values:
            return None  # an address written as parts: in its part columns
        if isinstance(value, Mapping):  # referenced-by: project -> ids
            return [s for ids in value.values() for s in ids]
        return value
    if kind == "part":
        value = record.values.get(how[1])
        return value.get(how[2]) if isinstance(value, Mapping) else None
    spec: FieldSpec = how[1]
    target = dataset.projects[spec.target or ""]
    ids = record.values.get(spec.name)
    found = []
    for slug in ids if isinstance(ids, tuple | list) else [ids] if ids else []:
        other = target.records.get(slug)
        if other is not None:
            found.append(other.get(target.schema.title_field))
    return found if isinstance(ids, tuple | list) else (found[0] if found else None)


def rows(
    dataset: Dataset, project: str, titles: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of values (records in id order) of a project's export."""
    cols = columns(dataset, project, titles)
    records = dataset.projects[project].records
    table = [[_value(dataset, records[slug], how) for _, how in cols] for slug in sorted(records)]
    return [header for header, _ in cols], table


def to_csv(
    dataset: Dataset,
    project: str,
    *,
    titles: bool = False,
    bom: bool = False,
    made: Mapping[str, bytes] | None = None,
    keep: Callable[[str, bytes], None] | None = None,
) -> bytes:
    """The project as spreadsheet-safe RFC 4180 CSV, made one row at a time (a project of
    50,000 records never has all its values in lists at once).

    ``made`` gives rows already encoded (slug -> the row's bytes, as ``keep`` was given them
    by an earlier call with the same columns): those are not made again; ``keep(slug, row)``
    is told each row made here."""
    cols = columns(dataset, project, titles)
    records = dataset.projects[project].records
    made = made or {}

    def lines() -> Iterator[bytes]:
        yield (codecs.BOM_UTF8 if bom else b"") + csv_line([header for header, _ in cols])
        for slug in sorted(records):
            line = made.get(slug)
            if line is None:
                line = csv_line([csv_cell(_value(dataset, records[slug], how)) for _, how in cols])
                if keep is not None:
                    keep(slug, line)
            yield line

    return b"".join(lines())


def to_json(dataset: Dataset, project: str, *, titles: bool = False) -> bytes:
    """The project as a JSON array of objects (numbers as JSON numbers, dates ISO, lists as
    arrays, an empty value as null)."""
    header, table = rows(dataset, project, titles)
    docs = [dict(zip(header, (_json(v) for v in row), strict=True)) for row in table]
    return (json.dumps(docs, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_json(v) for v in value]
    return export_text(value)[0]
