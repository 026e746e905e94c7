"""Stage: check every record against its project's schema and type its values.

All problems in all files are reported, each at the line of the field concerned. Values
come out typed: dates as ``datetime.date``, lists as tuples; empty (null) values are absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from crmgen import messages
from crmgen.fields import FIELD_TYPES
from crmgen.fields.attachments import (
    DEFAULT_MAX_ATTACHMENT,
    IMAGE_EXTENSIONS,
    attachment_problem,
)
from crmgen.fields.markdown import body_images
from crmgen.fields.rules import inside, number_problem, parse_date, path_problem, under
from crmgen.model import (
    Config,
    Diagnostic,
    FieldSpec,
    Pos,
    ProjectSchema,
    Record,
    error,
    evolve,
    freeze,
    frozen_map,
    thaw,
)

from .fastcheck import fast_validator

_FORMATS = FormatChecker()


def check_file(
    root: Path,
    attachments: str,
    value: Any,
    accept: tuple[str, ...] = (),
    max_size: int = DEFAULT_MAX_ATTACHMENT,
) -> str | None:
    """Why a file field value is not an attachment the site may publish, or None: a clean path
    inside the attachments folder, to a file of an allowed type by name and by content."""
    return file_value_problem(attachments, value) or file_problem(
        root, attachments, value, accept, max_size
    )


def file_value_problem(attachments: str, value: Any) -> str | None:
    """What is wrong with a file path as written (no disk access), or None."""
    if not isinstance(value, str) or not value:
        return "must be a path to a file, e.g. files/acme/nda.pdf"
    problem = path_problem(value)
    if problem:
        return problem
    if not under(value, attachments):
        return f"must be inside the attachments folder '{attachments}/'"
    return None


def file_problem(
    root: Path,
    attachments: str,
    value: str,
    accept: tuple[str, ...] = (),
    max_size: int = DEFAULT_MAX_ATTACHMENT,
) -> str | None:
    """What is wrong with the file a well-formed path names, on disk, or None."""
    target = root / value
    if not target.exists():
        return f"'{value}' does not exist; add the file or fix the path"
    if not target.is_file():
        return f"'{value}' is not a file"
    if not inside(root / attachments, target):
        return f"'{value}' links outside the attachments folder '{attachments}/'; copy the file"
    problem = attachment_problem(target, accept, max_size)
    return f"'{value}' {problem}" if problem else None


@dataclass(frozen=True, slots=True)
class FileCheck:
    """A file a record names, to be checked on disk: the value of a file field (``field``
    set) or an image in its notes (``field`` empty; ``path`` None when it leaves the repo)."""

    field: str
    path: str | None
    pos: Pos
    accept: tuple[str, ...]
    label: str  # how the message names it: "logo", "files[2]", or the image's src


@dataclass(frozen=True, slots=True)
class Checked:
    """A record after the checks of its text: typed values, problems, files still to check."""

    record: Record
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[FileCheck, ...]


class Checker:
    """The checks of one project's records (one JSON Schema validator for all of them)."""

    def __init__(self, root: Path, config: Config, schema: ProjectSchema) -> None:
        self.root = root
        self.config = config
        self.schema = schema
        self.fields = {f.name: f for f in schema.fields}
        json_schema = thaw(schema.json_schema)
        self.validator = Draft202012Validator(json_schema, format_checker=_FORMATS)
        self.fast = fast_validator(json_schema)  # says "valid", or asks jsonschema
        #: fields where a text needs no check of its own (no format, list, tag or file)
        self.free_text = frozenset(
            f.name
            for f in schema.fields
            if f.type in FIELD_TYPES
            and FIELD_TYPES[f.type].check is None
            and f.type not in ("list", "tags", "reference", "multi-select", "file")
        )
        #: fields whose value is used as checked (a date becomes a ``datetime.date``)
        self.undated = frozenset(f.name for f in schema.fields if f.type != "date")

    def run(self, record: Record) -> tuple[Record, list[Diagnostic]]:
        """Check one record: ``values`` then ``files``."""
        return self.files(self.values(record))

    def values(self, record: Record) -> Checked:
        """Every check that depends on the record's text alone (so its result can be kept by
        the file's content); the checks of the files it names are left for ``files``."""
        diags: list[Diagnostic] = []
        values: dict[str, Any] = {}
        for key, value in record.values.items():
            spec = self.fields.get(key)
            if spec is not None and spec.computed:
                diags.append(
                    error(
                        "computed-stored",
                        f"{key} is a computed {spec.type} and "
                        "must not be stored; delete this line",
                        record.path,
                        record.pos(key),
                        key,
                    )
                )
            elif value is not None:
                values[key] = value
        failed: set[str] = set()
        if self.fast is None or not self.fast(values):
            for err in self.validator.iter_errors(values):
                diags.append(self._schema_error(record, err, failed))
        files: list[FileCheck] = []
        free_text = self.free_text
        for key, value in values.items():
            if type(value) is str and key in free_text:
                continue  # nothing to check (the schema checked the type and size)
            spec = self.fields.get(key)
            if spec is not None and key not in failed:
                if spec.type == "file":
                    checks, problems = self._file_checks(record, spec, value)
                    files.extend(checks)
                    diags.extend(problems)
                    if problems:
                        failed.add(key)
                    continue
                problems = self._check(record, spec, value)
                diags.extend(problems)
                if problems:
                    failed.add(key)
        for image in body_images(record.body, record.path):
            if not image.remote:  # another host: shown as a link, never requested
                where = Pos(record.body_line + image.line - 1)
                files.append(FileCheck("", image.path, where, IMAGE_EXTENSIONS, image.src))
        # A value that failed is left out, so later stages do not pile errors on it.
        undated = self.undated
        typed = {
            k: v if type(v) is str and k in undated else _typed(self.fields.get(k), v)
            for k, v in values.items()
            if k not in failed
        }
        checked = evolve(record, values=frozen_map(typed))
        return Checked(checked, tuple(diags), tuple(files))

    def files(self, checked: Checked) -> tuple[Record, list[Diagnostic]]:
        """Check the files a record names (attachments, images in its notes) on disk."""
        record, diags = checked.record, list(checked.diagnostics)
        config = self.config
        failed: set[str] = set()
        for check in checked.files:
            limit = config.max_attachment_size
            if check.path is None:
                problem: str | None = (
                    "leaves the repository; use a path inside the attachments folder"
                )
            elif check.field:  # the path was checked with the other values
                problem = file_problem(
                    self.root, config.attachments, check.path, check.accept, limit
                )
            else:
                problem = check_file(
                    self.root, config.attachments, check.path, check.accept, limit
                )
            if problem is None:
                continue
            if check.field:  # a file field
                failed.add(check.field)
                diags.append(
                    error("file", f"{check.label} {problem}", record.path, check.pos, check.field)
                )
            else:
                diags.append(
                    error(
                        "body-image",
                        f"image {check.label!r} in the notes {problem}; it is shown as its alt "
                        "text until fixed",
                        record.path,
                        check.pos,
                    )
                )
        if failed:
            kept = {k: v for k, v in record.values.items() if k not in failed}
            dropped = ",".join(sorted(failed))  # the values are no longer the file's alone
            record = dataclasses.replace(
                record,
                values=frozen_map(kept),
                source=f"{record.source}!{dropped}" if record.source else "",
            )
        return record, diags

    def _file_checks(
        self, record: Record, spec: FieldSpec, value: Any
    ) -> tuple[list[FileCheck], list[Diagnostic]]:
        """The files a file field names, to check on disk; problems of the paths as written."""
        items = value if isinstance(value, list) else [value]
        checks, problems = [], []
        for index, item in enumerate(items):
            key = f"{spec.name}/{index}" if isinstance(value, list) else spec.name
            label = f"{spec.name}[{index + 1}]" if isinstance(value, list) else spec.name
            pos = record.value_pos(key)
            problem = file_value_problem(self.config.attachments, item)
            if problem:
                problems.append(error("file", f"{label} {problem}", record.path, pos, spec.name))
            else:
                checks.append(FileCheck(spec.name, str(item), pos, spec.accept, label))
        return checks, problems

    def _schema_error(self, record: Record, err: Any, failed: set[str]) -> Diagnostic:
        where = [str(p) for p in err.absolute_path]
        name = ".".join(where)
        if err.validator == "additionalProperties" and not where:
            extra = sorted(k for k in err.instance if k not in err.schema.get("properties", {}))
            where = extra[:1]
        if err.validator == "required" and not where:
            missing = [k for k in err.validator_value if k not in err.instance]
            field = missing[0] if missing else None
            return error(
                "required",
                f"{field} is required; add a '{field}:' line to the front matter",
                record.path,
                Pos(1, 1),
                field,
            )
        field = where[0] if where else None
        if field:
            failed.add(field)
        key = "/".join(where)
        if err.validator == "additionalProperties":
            pos = record.pos(key) if where else Pos(1, 1)
        else:
            pos = record.value_pos(key) if where else Pos(1, 1)
        return error(
            err.validator if isinstance(err.validator, str) else "schema",
            messages.describe(err, name or "front matter"),
            record.path,
            pos,
            field,
        )

    def _check(self, record: Record, spec: FieldSpec, value: Any) -> list[Diagnostic]:
        items = value if isinstance(value, list) else [value]
        out: list[Diagnostic] = []
        for index, item in enumerate(items):
            problem = self._problem(spec, item)
            code = spec.type
            if problem is None and (problem := number_problem(item)):
                code = "number-range"
            if problem:
                key = f"{spec.name}/{index}" if isinstance(value, list) else spec.name
                label = f"{spec.name}[{index + 1}]" if isinstance(value, list) else spec.name
                out.append(
                    error(
                        code, f"{label} {problem}", record.path, record.value_pos(key), spec.name
                    )
                )
        return out

    def _problem(self, spec: FieldSpec, item: Any) -> str | None:
        ftype = FIELD_TYPES[spec.type]
        if ftype.check is not None:
            return ftype.check(item)
        if spec.type == "list":
            names = [s.name for s in self.schema.lists]
            if item not in names:
                return (
                    f"must be one of the lists {messages.allowed(names)}, got "
                    f"{messages.show(item)}{messages.did_you_mean(str(item), names)}"
                )
        if spec.type == "tags" and self.schema.tags and item not in self.schema.tags:
            return (
                f"'{item}' is not a declared tag; use one of "
                f"{messages.allowed(list(self.schema.tags))} or declare it in the schema"
                f"{messages.did_you_mean(str(item), self.schema.tags)}"
            )
        if spec.type in ("reference", "tags", "multi-select") and not isinstance(item, str):
            return f"must be text, got {messages.show(item)}"
        return None


def _typed(spec: FieldSpec | None, value: Any) -> Any:
    """A checked value as later stages see it: dates as ``datetime.date``, deeply frozen."""
    if spec is not None and spec.type == "date":
        return parse_date(value) or value
    if isinstance(value, list):
        return tuple(
            _typed(spec, v) if not isinstance(v, list | dict) else freeze(v) for v in value
        )
    return freeze(value)


def validate_records(
    root: Path,
    config: Config,
    schemas: Mapping[str, ProjectSchema],
    records: Mapping[str, Mapping[str, Record]],
) -> tuple[dict[str, dict[str, Record]], list[Diagnostic]]:
    """Check every record; return them with typed values, plus all diagnostics."""
    diags: list[Diagnostic] = []
    out: dict[str, dict[str, Record]] = {}
    for name, by_slug in records.items():
        checker = Checker(root, config, schemas[name])
        out[name] = {}
        for slug, record in by_slug.items():
            typed, problems = checker.run(record)
            out[name][slug] = typed
            diags.extend(problems)
    return out, diags
