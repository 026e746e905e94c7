"""The immutable values that flow through the build pipeline.

Stdlib only. Every stage takes and returns these; nothing here mutates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeVar

from crmgen.model.findings import Finding
from crmgen.model.history import RecordHistory

#: ``info`` never fails a run, not even with --strict (notes about the checkout, say).
Severity = Literal["error", "warning", "info"]

#: Kinds a list (stage) may have.
LIST_KINDS = ("open", "won", "lost", "n-a")

#: Fields that hold what git can also tell; a value in the front matter wins over git.
HISTORY_FIELDS = ("created", "stage_since", "closed", "last_contact")

#: Field types that are computed by the build and never stored in a file.
COMPUTED_TYPES = frozenset({"lookup", "formula", "rollup", "referenced-by"})

EMPTY: Mapping[str, Any] = MappingProxyType({})

#: A field of a project: (project, field).
Node = tuple[str, str]

#: Record ids that cannot be used: the pages of a project folder, and names Windows reserves
#: for devices (a clone on Windows could not create ``con.md`` or ``con.html``).
RESERVED_SLUGS = frozenset(
    {"index", "board", "con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(10)}
    | {f"lpt{n}" for n in range(10)}
)


def record_page(project: str, slug: str) -> str:
    """The site path of a record's page, relative to the site root."""
    return f"{project}/{slug}.html"


def frozen_map(items: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    """Return a read-only view of a copy of ``items`` (shallow: values are kept as they are)."""
    return MappingProxyType(dict(items or {}))


T = TypeVar("T")
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def evolve(value: T, /, **changes: Any) -> T:
    """``dataclasses.replace`` without its walk of ``fields()`` on every call (the stages call
    it for every record): for dataclasses whose fields ``__init__`` sets, as all of crmgen's.

    Raises:
        TypeError: a change names no field of the value's class.
    """
    cls = type(value)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    args = [changes.pop(name) if name in changes else getattr(value, name) for name in names]
    if changes:
        raise TypeError(f"{cls.__name__} has no field {next(iter(changes))!r}")
    return cls(*args)


def freeze(value: Any) -> Any:
    """A deeply read-only copy: mappings become read-only views, lists and tuples tuples.

    Assigning into the result raises ``TypeError``; scalars are returned as they are.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable copy of a frozen value (dicts and lists), e.g. for jsonschema."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a source file."""

    line: int
    col: int = 1


@functools.lru_cache(maxsize=1 << 16)
def shared_pos(line: int, col: int = 1) -> Pos:
    """A ``Pos``, one object per place: a repo of 50,000 records has millions of positions
    but only a few thousand different ones."""
    return Pos(line, col)


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


def info(code: str, message: str, path: str = "") -> Diagnostic:
    """A note that never fails a run (``--strict`` included)."""
    return Diagnostic("info", code, message, path)


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
        schema: the JSON Schema of the stored value, deeply frozen (empty for computed fields).
        required: whether the schema requires it.
        multiple: arrays of references or files.
        target: the referenced project (reference, referenced-by).
        path: dotted lookup path (lookup).
        expression: formula or rollup text.
        result: the field type of a computed value (formula, rollup, lookup); ``compute`` fills
            it in when the schema does not declare it.
        result_target: for a lookup that ends on a reference, the project it points to.
        options: allowed values of select / multi-select.
        accept: for a file field, the extensions it allows (empty: every safe type).
        audiences: audiences allowed to see the field; empty means everyone.
        via: for referenced-by, the reference field in ``target`` to follow.
        pos: where the field is declared in the schema file.
        expression_pos: where its formula, rollup or lookup path is written, for errors in it.
        display: how a number, currency or percent value is shown (``x-crmgen.format``):
            ``decimals`` (an int) and ``grouping`` (a bool), each optional; empty: the defaults.
        form: marked for the project's lead-capture form (``x-crmgen: {form: true}``).
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
    result_target: str | None = None
    options: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    via: str | None = None
    pos: Pos = Pos(1, 1)
    expression_pos: Pos | None = None
    display: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    form: bool = False

    @property
    def computed(self) -> bool:
        return self.type in COMPUTED_TYPES

    @property
    def shown_type(self) -> str:
        """The type a value is shown as: a computed field's result type, else its own."""
        if self.type == "referenced-by":
            return self.type
        return (self.result or "text") if self.computed else self.type


@dataclass(frozen=True, slots=True)
class SortSpec:
    """Order records by ``field`` (a field, or a history date: created, stage_since, closed,
    last_changed, last_activity, days_in_stage), ascending unless ``descending``; records
    without a value come last either way."""

    field: str
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> SortSpec:
        """``"amount"`` or ``"-amount"`` (descending)."""
        text = text.strip()
        return cls(text[1:].strip(), True) if text.startswith("-") else cls(text)

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class ViewsSpec:
    """How a project is shown (``x-crmgen.views``), with the defaults chosen from field types
    and roles for whatever the schema does not declare (see ``schema.views_of``).

    Attributes:
        card: the fields a board card shows under its title, in order (at most four).
        columns: the table's columns shown at first, in order (the title first); every other
            visible field is one click away.
        sort: the table's default order (None: the order of the files).
        board_sort: a board column's order by list name or list kind (open, won, lost, n-a).
        group: the field whose values are the board's columns (the list field by default).
        declared: which of the above the schema declares (the rest are defaults).
    """

    card: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    sort: SortSpec | None = None
    board_sort: Mapping[str, SortSpec] = _field(default_factory=lambda: EMPTY)
    group: str | None = None
    declared: tuple[str, ...] = ()  # sorted: a set would pickle in a per-process order

    def board_order(self, list_name: str, kind: str) -> SortSpec | None:
        return self.board_sort.get(list_name) or self.board_sort.get(kind)


@dataclass(frozen=True, slots=True)
class FormSpec:
    """A project's lead-capture form (``x-crmgen.form``): the page ``forms/<project>.html``,
    the issue template ``.github/ISSUE_TEMPLATE/new-<label>.yml`` and ``crmgen import-issue``.

    Attributes:
        title: the form's heading and the issue template's name ("New lead").
        description: a paragraph under the heading ("" for none).
        list: the list a record made from the form starts in (None: the list field's default).
        label: the issue label the template applies and the workflow waits for; it also names
            the template file (``new-<label>.yml``).
        body: the label of a text box whose text becomes the record's Markdown notes ("" for
            none).
        pos: where ``form`` is declared in the schema file.
    """

    title: str
    description: str = ""
    list: str | None = None
    label: str = "lead"
    body: str = ""
    pos: Pos = Pos(1, 1)

    @property
    def template(self) -> str:
        """The issue template's file name."""
        return f"new-{self.label}.yml"


@dataclass(frozen=True, slots=True)
class ProjectSchema:
    """What a project's schema file says, parsed and checked.

    ``json_schema`` is the whole schema file as JSON values, deeply frozen; ``thaw`` it for a
    JSON Schema validator. ``roles`` names the field that plays each role: ``amount`` (the
    deal's value), ``close`` (its expected close date), ``owner`` and ``parent`` (the reference
    to the parent project), declared under ``x-crmgen.roles`` or chosen from field types.
    """

    name: str
    path: str
    title: str
    title_field: str
    fields: tuple[FieldSpec, ...]
    lists: tuple[ListSpec, ...] = ()
    tags: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    roles: Mapping[str, str] = _field(default_factory=lambda: EMPTY)
    views: ViewsSpec = ViewsSpec()
    form: FormSpec | None = None

    def role(self, name: str) -> FieldSpec | None:
        """The field that plays ``name`` (amount, close, owner, parent), or None."""
        return self.field(self.roles.get(name))

    def field(self, name: str | None) -> FieldSpec | None:
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


#: Back-links of a record: source project -> reference field there -> source slugs (sorted).
Backlinks = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class Record:
    """One Markdown file: its stored values, computed values and places.

    Attributes:
        project: the project name (folder under ``data/``).
        slug: the record id, its file name without ``.md``.
        path: repo-relative POSIX path of the file.
        values: the stored front-matter values, as typed by the schema.
        positions: front-matter key ("/"-joined for nested keys) -> position of the key.
        value_positions: the same keys -> position where the value starts.
        body: the Markdown body.
        body_line: the 1-based line where the body starts.
        computed: computed field -> value (lookup, formula, rollup, referenced-by).
        backlinks: project -> reference field -> slugs of the records there that reference
            this one through that field.
        history: when it was created, entered its list, closed and last changed, and its list
            transitions (the history stage; fields win over git).
        source: what the record was read from, for caches: a hash of its file's text, its
            path, its schema, ``crmgen.yml`` and crmgen's version (``build.records``), and the
            file fields the disk check dropped (``!`` and their names); "" when not known (a
            record made in memory), which no cache keys on.
        inputs: a hash of everything the record's values, computed values, back-links and
            history depend on: the key of its group of records in ``compute`` (every record a
            reference connects it to, the schemas, the day, the commit); "" when not known.
    """

    project: str
    slug: str
    path: str
    values: Mapping[str, Any]
    positions: Mapping[str, Pos]
    value_positions: Mapping[str, Pos] = _field(default_factory=lambda: EMPTY)
    body: str = ""
    body_line: int = 1
    computed: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    backlinks: Backlinks = _field(default_factory=lambda: EMPTY)
    history: RecordHistory = _field(default_factory=RecordHistory)
    source: str = ""
    inputs: str = ""

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

    def value_pos(self, name: str) -> Pos:
        """Position of a key's value (``amount/0`` for an item), else of its key, else of the
        closest enclosing key."""
        key = name
        while key:
            if key in self.value_positions:
                return self.value_positions[key]
            if key in self.positions:
                return self.positions[key]
            key = key.rpartition("/")[0]
        return Pos(1, 1)

    def linked_from(self, project: str, via: str | None = None) -> tuple[str, ...]:
        """Slugs of the records of ``project`` that reference this one (through ``via`` only,
        when given), sorted."""
        fields = self.backlinks.get(project, EMPTY)
        return tuple(
            sorted({s for name, slugs in fields.items() if via in (None, name) for s in slugs})
        )


@dataclass(frozen=True, slots=True)
class Project:
    """A project: its schema and its records by slug (sorted)."""

    schema: ProjectSchema
    records: Mapping[str, Record]

    @property
    def name(self) -> str:
        return self.schema.name


@dataclass(frozen=True, slots=True)
class AudienceSpec:
    """One audience declared in ``crmgen.yml``: who a build with ``--audience NAME`` is for."""

    name: str
    description: str = ""
    pos: Pos = Pos(1, 1)


@dataclass(frozen=True, slots=True)
class Config:
    """The data repo's ``crmgen.yml``.

    Attributes:
        dashboards: the ``dashboards:`` value as written (deeply frozen); None when the file
            declares none, so the built-in dashboard applies.
        automations: the ``automations:`` value as written (deeply frozen), or None.
        publish_audience: ``publish.audience``, the audience a build is for when none is
            asked (the published site); None: the most restricted.
        positions: "/"-joined key paths (``dashboards/0/charts/2``) -> position of the key.
        value_positions: the same paths -> position of the value.
    """

    title: str = "CRM"
    currency: str = "USD"
    locale: str = "en_US"
    projects: tuple[str, ...] = ()
    attachments: str = "files"
    max_file_size: int = 1024 * 1024
    max_attachment_size: int = 20 * 1024 * 1024
    base_url: str = "/"
    audiences: tuple[AudienceSpec, ...] = ()
    publish_audience: str | None = None
    dashboards: Any = None
    automations: Any = None
    repository: str = ""  # owner/name on the forge: record pages link to their file there
    branch: str = "main"
    forge: str = "https://github.com"
    positions: Mapping[str, Pos] = _field(default_factory=lambda: EMPTY)
    value_positions: Mapping[str, Pos] = _field(default_factory=lambda: EMPTY)
    path: str = "crmgen.yml"

    def audience(self, name: str) -> AudienceSpec | None:
        return next((a for a in self.audiences if a.name == name), None)

    def project_order(self, names: Iterable[str]) -> list[str]:
        """The projects of ``names`` in the order ``projects:`` lists them (the navigation's);
        all of them by name when it lists none of them."""
        found = set(names)
        return [p for p in self.projects if p in found] or sorted(found)


@dataclass(frozen=True, slots=True)
class Dataset:
    """The fully loaded, linked and computed data repo.

    Attributes:
        root: the data repo's folder.
        config: its ``crmgen.yml``.
        projects: project name -> project, in navigation order.
        today: the build's date (``today()`` in formulas); always passed in, never read here.
        diagnostics: every problem found, sorted.
        reads: every computed field -> the fields it reads directly (one step through lookups,
            formulas, rollups and back-links), as the compute stage resolved them. Redaction
            follows it, so what is hidden and what is computed can never disagree.
        dashboards: the declared dashboards, checked against the data (``dashboards`` stage).
        findings: what the automations found (``checks`` stage), sorted.
        automations: the declared automations (``model.automations.Automations``), checked
            against the data; None until the checks stage ran.
        head: the commit the history was read at ("" outside git).
        as_of: for a build of the data as it stood at a past revision, that revision's date
            and name (shown on every page); None for the working tree.
        audience: after redaction, the audience the dataset was cut for ("" for the most
            restricted one); None before redaction.
    """

    root: str
    config: Config
    projects: Mapping[str, Project]
    today: dt.date
    diagnostics: tuple[Diagnostic, ...] = ()
    reads: Mapping[Node, frozenset[Node]] = _field(default_factory=lambda: MappingProxyType({}))
    dashboards: tuple[Any, ...] = ()
    findings: tuple[Finding, ...] = ()
    automations: Any = None
    head: str = ""
    as_of: tuple[dt.date, str] | None = None
    audience: str | None = None

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """Errors and warnings: the diagnostics that are not mere notes."""
        return tuple(d for d in self.diagnostics if d.severity != "info")

    def record(self, project: str, slug: str) -> Record | None:
        proj = self.projects.get(project)
        return proj.records.get(slug) if proj else None


class Parts(Protocol):
    """Pieces of pages kept in the store by key (a table's rows as HTML): before pages are
    rendered the build gives each page's ``parts`` what the store has of the keys it
    ``wants``; after, it puts what rendering ``made``. A piece's key must name everything
    it shows, like a page's."""

    space: str

    def wants(self, page: str) -> Iterable[str]:
        """The store keys of the pieces page ``page`` (its path) may use."""
        ...

    def known(self, found: Mapping[str, bytes]) -> None:
        """Take the pieces the store has."""
        ...

    def made(self) -> dict[str, bytes]:
        """The pieces made since the last call, by key (to put in the store)."""
        ...


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the site to render: output path, template name and its context.

    ``path`` is relative to the site root (``opportunities/board.html``); the renderer adds the
    common context (``root``, ``site``, ``nav``) to ``context``. A page whose context is costly
    to build (a record page) gives ``make`` instead, called only if the page is rendered; and
    ``key``, a hash of everything its content depends on besides what every page shares, so
    an unchanged page can be kept from the previous build without building it at all.
    """

    path: str
    template: str
    context: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
    make: Callable[[], Mapping[str, Any]] | None = _field(default=None, compare=False)
    key: str = ""
    parts: Parts | None = _field(default=None, compare=False)

    def build_context(self) -> Mapping[str, Any]:
        """The page's context (built now for a page with ``make``)."""
        return self.make() if self.make is not None else self.context


@dataclass(frozen=True, slots=True)
class PageSet:
    """Pages a stage adds to the site beside the record pages (dashboards, later alerts).

    Attributes:
        pages: the pages to render.
        files: extra files (site path -> bytes), e.g. static SVGs.
        nav: (label, site-relative href) entries for the site navigation.
        home: context merged into the home page (the first dashboard, say).
    """

    pages: tuple[Page, ...] = ()
    files: Mapping[str, bytes] = _field(default_factory=lambda: EMPTY)
    nav: tuple[tuple[str, str], ...] = ()
    home: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)
