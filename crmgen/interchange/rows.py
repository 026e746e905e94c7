"""The rows of an import and what planning them needs: the tools the build passes, the
options, each row's state, the order of files, record keys and value comparison."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crmgen.fields.rules import parse_web_address
from crmgen.messages import did_you_mean
from crmgen.model import Diagnostic, ProjectSchema, Record, error

from .cells import value_key
from .csvfile import Table
from .mapping import SLUG, Column, FileSpec
from .outcome import FileResult, Status


class RowProblem(Exception):
    """A row cannot be made into a record (the message says why); raised by ``Tools``."""


@dataclass(frozen=True, slots=True)
class Tools:
    """What the plan needs from outside, passed in by the build.

    Attributes:
        check: (project, slug, path, text) -> the record as ``crmgen validate`` reads it (None
            when it cannot be read) and its problems.
        new_text: (values in order, body) -> the text of a new record file.
        edit_text: (file text, changes) -> the text with only those fields' lines changed;
            raises ``RowProblem`` when that cannot be done safely.
        read_text: repo-relative path -> the file's text.
        slug_problem: why an id cannot be a record id, or None.
        progress: (rows done, rows in all), as rows are done.
        map_rows: (work, count, progress) -> ``work(start, end)`` over ``range(count)`` in
            spans, results concatenated in order: the build runs the spans in forked workers
            on both cores; this default runs them here.
    """

    check: Callable[[str, str, str, str], tuple[Record | None, list[Diagnostic]]]
    new_text: Callable[[Mapping[str, Any], str], str]
    edit_text: Callable[[str, Mapping[str, Any]], str]
    read_text: Callable[[str], str]
    slug_problem: Callable[[str], str | None]
    progress: Callable[[int, int], None] = lambda done, total: None
    map_rows: Callable[..., list[Any]] = field(default=None)  # type: ignore[assignment]

    def run_spans(self, work: Callable[[int, int], list[Any]], count: int) -> list[Any]:
        if self.map_rows is not None:
            return self.map_rows(work, count, self.progress)
        return in_spans(work, count, self.progress)


def in_spans(
    work: Callable[[int, int], list[Any]], count: int, progress: Callable[[int, int], None]
) -> list[Any]:
    """``work`` over ``range(count)`` in spans of 100, here, with progress after each."""
    out: list[Any] = []
    for start in range(0, count, 100):
        out.extend(work(start, min(count, start + 100)))
        progress(len(out), count)
    return out


@dataclass(frozen=True, slots=True)
class Options:
    """The command line: ``--update``, ``--all-or-nothing``, ``--dry-run``."""

    update: bool = False
    all_or_nothing: bool = False
    dry_run: bool = False


@dataclass(slots=True)
class _Row:
    """A row being planned (local to one plan; never leaves this module)."""

    file: str
    number: int
    project: str
    values: dict[str, Any]
    refs: dict[str, Any]
    body: str | None
    slug_cell: str | None
    key: str = ""
    slug: str = ""
    match: str | None = None  # the existing record it is
    reasons: list[str] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)  # (project, slug) it uses
    status: Status = "rejected"
    changed: tuple[str, ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Input:
    """One file to import: its table and spec (project and key already decided)."""

    table: Table
    spec: FileSpec


def _in_order(inputs: Sequence[Input], schemas: Mapping[str, ProjectSchema]) -> list[Input]:
    """Files whose projects others reference come first (stable; cycles keep their order)."""
    projects = {i.spec.project for i in inputs}

    def needs(item: Input) -> set[str]:
        schema = schemas.get(item.spec.project or "")
        if schema is None:
            return set()
        return {
            f.target
            for f in schema.fields
            if f.type == "reference"
            and f.target is not None
            and f.target in projects
            and f.target != schema.name
        }

    order: list[Input] = []
    left = list(inputs)
    while left:
        pending = {i.spec.project for i in left}
        pick = next((i for i in left if not needs(i) & (pending - {i.spec.project})), left[0])
        order.append(pick)
        left.remove(pick)
    return order


def _key(
    spec: FileSpec, schema: ProjectSchema, columns: Sequence[Column], name: str
) -> tuple[str, list[Diagnostic]]:
    """The key that finds the existing record of a row: the file's, else the id when the
    file has an id column, else the title."""
    targets = {c.target for c in columns}
    key = spec.key or (SLUG if SLUG in targets else schema.title_field)
    if key != SLUG:
        found = schema.field(key)
        if found is None or found.computed:
            names = [SLUG, *(f.name for f in schema.fields if not f.computed)]
            return key, [
                error(
                    "usage-import",
                    f"{name}: key '{key}' is not a stored field of "
                    f"{schema.name}{did_you_mean(key, names)}",
                )
            ]
    if key not in targets:
        return key, [
            error(
                "usage-import",
                f"{name}: the key is {key}, but no column fills it; map a "
                "column to it, or choose another key with --key",
            )
        ]
    return key, []


def key_of(value: Any, kind: str) -> str:
    """A key value as compared: e-mail addresses by their case-folded text, web addresses by
    their host without ``www.``, anything else by ``value_key`` of its text."""
    if value is None or value == "":
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "url":
        found = parse_web_address(text)
        if not isinstance(found, str):
            return found.ascii_host.lower().removeprefix("www.").rstrip(".")
    if kind == "email":
        return text.strip().casefold()
    return value_key(text)


def files_order(results: Sequence[FileResult], name: str) -> int:
    return next((i for i, r in enumerate(results) if r.name == name), len(results))


def _default(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _reason(diag: Diagnostic) -> str:
    if diag.code == "required" and diag.field:
        return (
            f"{diag.field} is required and the schema gives no default; fill its column "
            "(or add the column to the file)"
        )
    return diag.message


def _with_body(text: str, body: str) -> str:
    """``text`` with its Markdown body replaced (the front matter kept byte for byte)."""
    lines = text.splitlines(keepends=True)
    closing = next(
        i for i, line in enumerate(lines) if i and line.rstrip("\r\n").rstrip() in ("---", "...")
    )
    return "".join(lines[: closing + 1]) + body


def same_value(stored: Any, new: Any) -> bool:
    """Does a record's typed value equal a value read from a cell?"""
    if isinstance(stored, dt.date):
        stored = stored.isoformat()
    if isinstance(stored, Mapping):
        return (
            isinstance(new, Mapping)
            and set(stored) == set(new)
            and all(same_value(stored[k], new[k]) for k in stored)
        )
    if isinstance(stored, list | tuple):
        return (
            isinstance(new, list | tuple)
            and len(stored) == len(new)
            and all(map(same_value, stored, new))
        )
    if isinstance(stored, bool) or isinstance(new, bool):
        return type(stored) is type(new) and stored == new
    if isinstance(stored, int | Decimal) and isinstance(new, int | Decimal):
        return bool(stored == new)
    return type(stored) is type(new) and bool(stored == new)
