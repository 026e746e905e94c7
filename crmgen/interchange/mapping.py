"""The mapping file of an import, and how a file's columns are matched to fields.

A mapping file (YAML, read as strictly as every crmgen file) says, for all files or per file
(``files:``, by file name), which project the rows go to, the key that finds existing records,
which column fills which field (``null`` ignores a column), value maps per field, the date
formats, the decimal mark, the list separator and the delimiter::

    files:
      accounts.csv:
        project: clients
        key: website
        columns: {Account Name: title, Web: website, Internal ID: null}
        values:
          list: {Customer: Active client}
      deals.csv:
        project: opportunities
        columns: {Account: client}
        values:
          list: {Won: Closed won, Lost: Closed lost}
          source: {Refferal: Referral}
        date_formats: ["%d/%m/%Y"]

Keys at the top level apply to every file; a file's own keys win (``values`` and ``columns``
are merged field by field). Columns not named are matched to fields automatically: case,
spacing, punctuation and accents are ignored, and a field's label counts as well as its key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from crmgen import yamlstrict
from crmgen.fields.formatting import ADDRESS_PARTS
from crmgen.messages import did_you_mean
from crmgen.model import EMPTY, Diagnostic, ProjectSchema, error, frozen_map

from .cells import CellRules, name_key

#: Columns that are not fields: the record id and the Markdown body.
SLUG = "slug"
BODY = "body"
_KEYS = frozenset(
    {"project", "key", "columns", "values", "date_formats", "decimal", "separator", "delimiter"}
)


@dataclass(frozen=True, slots=True)
class FileSpec:
    """What the mapping file (and the command line) say about one input file."""

    project: str | None = None
    key: str | None = None
    columns: Mapping[str, str | None] = field(default_factory=lambda: EMPTY)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: EMPTY)
    date_formats: tuple[str, ...] = ()
    decimal: str = "."
    separator: str = ","
    delimiter: str | None = None

    @property
    def rules(self) -> CellRules:
        return CellRules(self.values, self.date_formats, self.decimal, self.separator)


@dataclass(frozen=True, slots=True)
class MappingFile:
    """A parsed mapping file: the defaults for every file and each named file's spec."""

    common: FileSpec = FileSpec()
    files: Mapping[str, FileSpec] = field(default_factory=lambda: EMPTY)
    path: str = ""

    def spec(self, name: str) -> FileSpec:
        """The spec of the file ``name`` (a path: its full text or its file name is looked
        up in ``files:``)."""
        own = self.files.get(name) or self.files.get(PurePath(name).name)
        return own if own is not None else self.common


def parse_mapping(text: str, path: str) -> tuple[MappingFile, list[Diagnostic]]:
    """Read a mapping file; every problem is an error at its line (usage errors: exit 2)."""
    doc, diags = yamlstrict.parse(text, path)
    problems = [_usage(d) for d in diags]
    if doc is None or doc.value is None:
        return MappingFile(path=path), problems
    if not isinstance(doc.value, dict):
        return MappingFile(path=path), [
            *problems,
            error("usage-mapping", "a mapping file is a list of 'key: value' lines", path),
        ]
    top = dict(doc.value)
    files = top.pop("files", None) or {}
    common = _spec(top, FileSpec(), (), doc, path, problems)
    specs: dict[str, FileSpec] = {}
    if not isinstance(files, dict):
        problems.append(_at(doc, path, ("files",), "files: maps each file name to its settings"))
    else:
        for name, own in files.items():
            if not isinstance(own, dict):
                problems.append(
                    _at(doc, path, ("files", name), f"files: {name} must hold settings")
                )
                continue
            specs[str(name)] = _spec(own, common, ("files", name), doc, path, problems)
    return MappingFile(common, frozen_map(specs), path), problems


def _usage(diag: Diagnostic) -> Diagnostic:
    return Diagnostic(
        diag.severity, f"usage-{diag.code}", diag.message, diag.path, diag.line, diag.col
    )


def _at(doc: yamlstrict.YamlDoc, path: str, where: tuple[Any, ...], message: str) -> Diagnostic:
    pos = doc.pos(where)
    return error("usage-mapping", message, path, pos)


def _spec(
    raw: Mapping[str, Any],
    base: FileSpec,
    where: tuple[Any, ...],
    doc: yamlstrict.YamlDoc,
    path: str,
    problems: list[Diagnostic],
) -> FileSpec:
    for key in raw:
        if key not in _KEYS:
            hint = did_you_mean(str(key), sorted(_KEYS))
            problems.append(_at(doc, path, (*where, key), f"unknown key '{key}'{hint}"))
    out: dict[str, Any] = {}
    for name in ("project", "key", "decimal", "separator", "delimiter"):
        if name in raw:
            value = raw[name]
            if not isinstance(value, str) or not value:
                problems.append(_at(doc, path, (*where, name), f"{name} must be text"))
            else:
                out[name] = value
    if out.get("decimal", ".") not in (".", ","):
        problems.append(_at(doc, path, (*where, "decimal"), "decimal must be '.' or ','"))
        out.pop("decimal")
    if "date_formats" in raw:
        formats = raw["date_formats"]
        formats = [formats] if isinstance(formats, str) else formats
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            problems.append(
                _at(
                    doc, path, (*where, "date_formats"), "date_formats is a list like ['%d/%m/%Y']"
                )
            )
        else:
            out["date_formats"] = tuple(formats)
    columns = dict(base.columns)
    if "columns" in raw:
        given = raw["columns"]
        if not isinstance(given, dict):
            problems.append(
                _at(doc, path, (*where, "columns"), "columns maps a column to a field")
            )
        else:
            for column, target in given.items():
                if target is not None and not isinstance(target, str):
                    problems.append(
                        _at(
                            doc,
                            path,
                            (*where, "columns", column),
                            "a column maps to a field name, or to null to ignore it",
                        )
                    )
                    continue
                columns[str(column)] = target
    out["columns"] = frozen_map(columns)
    values = {k: dict(v) for k, v in base.values.items()}
    if "values" in raw:
        given = raw["values"]
        if not isinstance(given, dict):
            problems.append(_at(doc, path, (*where, "values"), "values maps a field to a table"))
        else:
            for name, table in given.items():
                if not isinstance(table, dict) or not all(
                    isinstance(v, str) for v in table.values()
                ):
                    problems.append(
                        _at(
                            doc,
                            path,
                            (*where, "values", name),
                            f"values: {name} maps each "
                            "value as written in the file to the value to store",
                        )
                    )
                    continue
                values.setdefault(str(name), {}).update({str(k): v for k, v in table.items()})
    out["values"] = frozen_map({k: frozen_map(v) for k, v in values.items()})
    return FileSpec(
        project=out.get("project", base.project),
        key=out.get("key", base.key),
        columns=out["columns"],
        values=out["values"],
        date_formats=out.get("date_formats", base.date_formats),
        decimal=out.get("decimal", base.decimal),
        separator=out.get("separator", base.separator),
        delimiter=out.get("delimiter", base.delimiter),
    )


@dataclass(frozen=True, slots=True)
class Column:
    """What one column of a file fills.

    Attributes:
        index: the column's position.
        header: its header text.
        target: a field name, ``slug``, ``body``, ``field.part`` (a part of an address), or
            None when the column is ignored.
        why: how it was matched, or why it is ignored (for the report).
    """

    index: int
    header: str
    target: str | None
    why: str


def match_columns(
    header: Sequence[str], schema: ProjectSchema, spec: FileSpec, where: str
) -> tuple[tuple[Column, ...], list[Diagnostic]]:
    """Match each column of ``header`` to what it fills; problems are usage errors.

    A column named in the mapping goes where it says; every other column is matched by
    name or label. Computed fields and the title columns an export adds (``client.title``)
    are ignored; so is a column that matches nothing (the report says so, with a "did you
    mean").
    """
    fields = {f.name: f for f in schema.fields}
    by_key: dict[str, str] = {}
    for spec_ in schema.fields:
        by_key.setdefault(name_key(spec_.label), spec_.name)
    for spec_ in schema.fields:
        by_key[name_key(spec_.name)] = spec_.name
    problems: list[Diagnostic] = []
    explicit = {name_key(k): v for k, v in spec.columns.items()}
    columns: list[Column] = []
    for index, text in enumerate(header):
        if not text:
            columns.append(Column(index, text, None, "ignored: it has no header"))
            continue
        if text in spec.columns or name_key(text) in explicit:
            target = spec.columns.get(text, explicit.get(name_key(text)))
            if target is None:
                columns.append(Column(index, text, None, "ignored by the mapping file"))
                continue
            problem = _target_problem(target, schema)
            if problem:
                problems.append(error("usage-mapping", f"{where}: column '{text}' {problem}"))
                continue
            columns.append(Column(index, text, target, "mapping"))
            continue
        columns.append(_auto(index, text, fields, by_key))
    seen: dict[str, str] = {}
    for column in columns:
        if column.target is None:
            continue
        if column.target in seen:
            problems.append(
                error(
                    "usage-mapping",
                    f"{where}: columns '{seen[column.target]}' and '{column.header}' both fill "
                    f"{column.target}; map one of them to null in the mapping file",
                )
            )
        seen[column.target] = column.header
    return tuple(columns), problems


def _target_problem(target: str, schema: ProjectSchema) -> str | None:
    if target in (SLUG, BODY):
        return None
    name, dot, part = target.partition(".")
    spec = schema.field(name)
    if spec is None:
        names = [f.name for f in schema.fields]
        return (
            f"maps to '{target}', which is not a field of {schema.name}{did_you_mean(name, names)}"
        )
    if spec.computed:
        return f"maps to {name}, a computed {spec.type}: it is never stored"
    if dot and (spec.type != "address" or part not in ADDRESS_PARTS):
        return f"maps to '{target}': only an address has parts ({', '.join(ADDRESS_PARTS)})"
    return None


def _auto(index: int, text: str, fields: Mapping[str, Any], by_key: Mapping[str, str]) -> Column:
    key = name_key(text)
    if key in (SLUG, "id", "recordid") and SLUG not in fields:
        return Column(index, text, SLUG, "the record id")
    if key == BODY and BODY not in fields:
        return Column(index, text, BODY, "the notes (Markdown body)")
    name, dot, part = text.partition(".")
    if dot and name_key(name) in by_key:
        spec = fields[by_key[name_key(name)]]
        if spec.type == "reference" and name_key(part) == "title":
            return Column(
                index, text, None, f"ignored: the titles of {spec.name}, for reading only"
            )
        if spec.type == "address" and name_key(part) in ADDRESS_PARTS:
            return Column(index, text, f"{spec.name}.{name_key(part)}", "name")
    if key in by_key:
        spec = fields[by_key[key]]
        if spec.computed:
            return Column(index, text, None, f"ignored: {spec.name} is computed, never stored")
        return Column(index, text, spec.name, "name")
    stored = [f.name for f in fields.values() if not f.computed]
    hint = did_you_mean(text, stored).removeprefix("; ")
    return Column(
        index,
        text,
        None,
        "ignored: no field has this name or label" + (f"; {hint}" if hint else ""),
    )
