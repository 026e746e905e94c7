"""The immutable values that flow through the build pipeline.

Stdlib only. Every stage takes and returns these; nothing here mutates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: Kinds a list (stage) may have.
LIST_KINDS = ("open", "won", "lost", "n-a")

#: Field types that are computed by the build and never stored in a file.
COMPUTED_TYPES = frozenset({"lookup", "formula", "rollup", "referenced-by"})

EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Return a read-only view of a copy of ``items``."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a source file."""

    line: int
    col: int = 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in the input, with its place.

    Attributes:
        severity: ``error`` fails the build; ``warning`` does not (unless strict).
        code: a short stable identifier, e.g. ``type`` or ``unknown-reference``.
        message: what is wrong and how to fix it.
        path: repo-relative POSIX path of the file, or "" when no file applies.
        line: 1-based line, or 0 when unknown.
        col: 1-based column, or 0 when unknown.
        field: the field concerned, if any.
    """

    severity: Severity
    code: str
    message: str
    path: str = ""
    line: int = 0
    col: int = 0
    field: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.code, self.message)


def error(
    code: str,
    message: str,
    path: str = "",
    pos: Pos | None = None,
    field: str | None = None,
) -> Diagnostic:
    """Build an error diagnostic at ``pos`` in ``path``."""
    return Diagnostic(
        "error", code, message, path, pos.line if pos else 0, pos.col if pos else 0, field
    )


def warning(
    code: str,
    message: str,
    path: str = "",
    pos: Pos | None = None,
    field: str | None = None,
) -> Diagnostic:
    """Build a warning diagnostic at ``pos`` in ``path``."""
    return Diagnostic(
        "warning", code, message, path, pos.line if pos else 0, pos.col if pos else 0, field
    )


@dataclass(frozen=True, slots=True)
class ListSpec:
    """One list (stage) of a project, in board order."""

    name: str
    kind: str = "open"
    probability: Decimal = Decimal(0)
    max_days: int | None = None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a project, from its schema's ``properties``.

    Attributes:
        name: the front-matter key.
        type: the crmgen field type (see ``fields.FIELD_TYPES``).
        label: human label for the site.
        schema: the JSON Schema of the stored value (empty for computed fields).
        required: whether the schema requires it.
        multiple: arrays of references or files.
        target: the referenced project (reference, referenced-by).
        path: dotted lookup path (lookup).
        expression: formula or rollup text.
        result: the field type of a computed result (formula, rollup, lookup).
        options: allowed values of select / multi-select.
        audiences: audiences allowed to see the field; empty means everyone.
        via: for referenced-by, the reference field in ``target`` to follow.
        pos: where the field is declared in the schema file.
    """

    name: str
    type: str
    label: str
    schema: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    required: bool = False
    multiple: bool = False
    target: str | None = None
    path: str | None = None
    expression: str | None = None
    result: str | None = None
    options: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    via: str | None = None
    pos: Pos = Pos(1, 1)

    @property
    def computed(self) -> bool:
        return self.type in COMPUTED_TYPES


@dataclass(frozen=True, slots=True)
class ProjectSchema:
    """What a project's schema file says, parsed and checked."""

    name: str
    path: str
    title: str
    title_field: str
    fields: tuple[FieldSpec, ...]
    lists: tuple[ListSpec, ...] = ()
    tags: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    def list_spec(self, name: str) -> ListSpec | None:
        for spec in self.lists:
            if spec.name == name:
                return spec
        return None

    @property
    def list_field(self) -> str | None:
        for spec in self.fields:
            if spec.type == "list":
                return spec.name
        return None

    @property
    def tags_field(self) -> str | None:
        for spec in self.fields:
            if spec.type == "tags":
                return spec.name
        return None


@dataclass(frozen=True, slots=True)
class Record:
    """One Markdown file: its stored values, computed values and places.

    Attributes:
        project: the project name (folder under ``data/``).
        slug: the record id, its file name without ``.md``.
        path: repo-relative POSIX path of the file.
        values: the stored front-matter values, as typed by the schema.
        positions: front-matter key -> position of the key.
        body: the Markdown body.
        body_line: the 1-based line where the body starts.
        computed: computed field -> value (lookup, formula, rollup, referenced-by).
        backlinks: project -> slugs of records there that reference this one.
    """

    project: str
    slug: str
    path: str
    values: Mapping[str, Any]
    positions: Mapping[str, Pos]
    body: str = ""
    body_line: int = 1
    computed: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    backlinks: Mapping[str, tuple[str, ...]] = _field(default_factory=lambda: EMPTY)

    def get(self, name: str, default: Any = None) -> Any:
        """A stored or computed value by field name."""
        if name in self.values:
            return self.values[name]
        return self.computed.get(name, default)

    def pos(self, name: str | None = None) -> Pos:
        """Position of a key, or of the front matter's start."""
        if name is not None and name in self.positions:
            return self.positions[name]
        return Pos(1, 1)


@dataclass(frozen=True, slots=True)
class Project:
    """A project: its schema and its records by slug (sorted)."""

    schema: ProjectSchema
    records: Mapping[str, Record]

    @property
    def name(self) -> str:
        return self.schema.name


@dataclass(frozen=True, slots=True)
class Config:
    """The data repo's ``crmgen.yml``."""

    title: str = "CRM"
    currency: str = "USD"
    locale: str = "en_US"
    projects: tuple[str, ...] = ()
    attachments: str = "files"
    max_file_size: int = 1024 * 1024
    base_url: str = "/"
    dashboards: tuple[Any, ...] = ()
    audiences: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    automations: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    positions: Mapping[str, Pos] = _field(default_factory=lambda: EMPTY)
    path: str = "crmgen.yml"
    raw: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class Dataset:
    """The fully loaded, linked and computed data repo."""

    root: str
    config: Config
    projects: Mapping[str, Project]
    diagnostics: tuple[Diagnostic, ...] = ()
    today: dt.date = _field(default_factory=dt.date.today)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def record(self, project: str, slug: str) -> Record | None:
        proj = self.projects.get(project)
        return proj.records.get(slug) if proj else None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the site to render: output path, template name and its context.

    ``path`` is relative to the site root (``opportunities/board.html``); the renderer adds the
    common context (``root``, ``site``, ``nav``) to ``context``.
    """

    path: str
    template: str
    context: Mapping[str, Any]
