"""Stage: a dataset cut for one audience -> the view models templates see.

View models are frozen dataclasses of formatted text plus plain machine values; templates never
see a ``Record``. The dataset comes from ``redaction.redact``: every field, value and back-link
in it may be shown, so nothing here decides what an audience sees.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, overload
from urllib.parse import quote, unquote, urlencode

from markupsafe import Markup

from crmgen.fields.attachments import IMAGE_EXTENSIONS, attachment_problem
from crmgen.fields.formatting import (
    DEFAULT_FORMAT,
    EMPTY_DISPLAY,
    SORTS_AS_NUMBER,
    Display,
    LinkView,
    NumberFormat,
    display,
    format_money,
    format_value,
    items,
    locale_lang,
    number_format,
    plain_number,
    sort_value,
    to_decimal,
)
from crmgen.fields.markdown import body_images, render_body
from crmgen.fields.rules import inside, under
from crmgen.model import Dataset, FieldSpec, Page, PageSet, Project, Record, record_page
from crmgen.model.store import NO_STORE, Store, pack, unpack
from crmgen.views.alerts import FindingView, alerts_pages, findings_by_record
from crmgen.views.feeds import feed_pages
from crmgen.views.history import HistoryView, history_view
from crmgen.views.html import value_html
from crmgen.views.table import PAGE_SIZE, PagerView, encode_row, page_path, pager, table_json

__all__ = [
    "SiteView",
    "alerts_pages",
    "build_site_views",
    "data_files",
    "feed_pages",
    "page_keys",
    "pages",
]

#: Conventional fields a board card shows, in order ("tags" is the schema's tags field).
CARD_FIELDS = ("amount", "client", "tags", "confidence", "owner", "expected_close")
#: Cards a board column shows; the rest are a link to the column's filtered table.
BOARD_CARDS = 25
#: Back-links a record page lists per project; the rest are a link to the filtered table.
BACKLINKS = 20
#: Back-links a table cell or card shows; then "N more", a link to the filtered table.
CELL_BACKLINKS = 3
_LINKING = ("reference", "referenced-by")
_Node = tuple[str, str]  # (project, slug)
_Row = dict[str, "ValueView"]  # field -> its view


@dataclass(frozen=True, slots=True)
class ValueView:
    """One field value of one record: label, origin and how to show it (``shown``)."""

    name: str
    label: str
    type: str  # the display type: for a computed field, its result type
    origin: str  # where a computed value comes from: "via client → email", "= amount - cost"
    shown: Display
    html: Markup  # ``shown`` as HTML for a page one folder deep (see ``views.html``)


def _value(name: str, label: str, type_: str, origin: str, shown: Display) -> ValueView:
    return ValueView(name, label, type_, origin, shown, value_html(shown))


@dataclass(frozen=True, slots=True)
class ColumnView:
    name: str
    label: str
    type: str
    sort_type: str  # "number" or "text" (dates sort as ISO text)


@dataclass(frozen=True, slots=True)
class RowView:
    slug: str
    list: str  # "" when the project has no visible list field
    tags_json: str  # JSON array, for the tag filter
    cells: tuple[ValueView, ...]


@dataclass(frozen=True, slots=True)
class TableView:
    columns: tuple[ColumnView, ...]
    rows: Sequence[RowView]  # TableRows: made when asked for
    lists: tuple[str, ...]  # filter options; empty when the list field is not visible
    tags: tuple[str, ...]
    titled: bool = False  # the first column is the record's title, a link to its page


@dataclass(frozen=True, slots=True)
class CardView:
    """A board card: title and the visible non-empty ``CARD_FIELDS``."""

    slug: str
    href: str
    title: str
    amount: str  # machine value, "" when hidden or empty
    fields: tuple[ValueView, ...]
    findings: tuple[FindingView, ...]


@dataclass(frozen=True, slots=True)
class BoardColumnView:
    """One list; ``total`` and ``weighted`` are None without a visible currency ``amount``."""

    name: str
    kind: str
    probability: str
    collapsed: bool
    count: int
    total: Display | None
    weighted: Display | None
    cards: tuple[CardView, ...]  # the first ``BOARD_CARDS`` by the column's order
    more: int  # cards left out
    more_href: str  # the table filtered to this list, from the site root


@dataclass(frozen=True, slots=True)
class BoardView:
    href: str
    currency: bool
    columns: tuple[BoardColumnView, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    """Records of one project that reference a record: the first ``BACKLINKS`` by title, and
    how many more there are, with a link to the project's table filtered to them."""

    project: str
    title: str
    links: tuple[LinkView, ...]
    more: int = 0
    more_href: str = ""


@dataclass(frozen=True, slots=True)
class RecordView:
    project: str
    slug: str
    path: str  # the page, relative to the site root
    href: str  # the same, URL-quoted
    title: str
    source: str
    fields: tuple[ValueView, ...]
    referenced_by: tuple[GroupView, ...]
    body_html: Markup
    images: tuple[str, ...]  # attachments the body shows (published with the site)
    findings: tuple[FindingView, ...]
    history: HistoryView


class _Values:
    """Each record's visible values as ``ValueView``, made when asked for. Only the last few
    hundred are kept: holding every value of a 50,000-record site would double the memory a
    build needs, and a value shown by many records is formatted once anyway (``_shown``)."""

    KEEP = 512

    def __init__(self, ctx: _Context, project: Project, board: bool) -> None:
        self.ctx, self.project, self.board = ctx, project, board
        self._rows: OrderedDict[str, _Row] = OrderedDict()

    def __getitem__(self, slug: str) -> _Row:
        row = self._rows.get(slug)
        if row is None:
            ctx, project = self.ctx, self.project
            record = project.records[slug]
            row = {
                f.name: value_view(ctx, project.name, record, f) for f in ctx.visible[project.name]
            }
            if self.board:  # days in the current list, from the history (or stage_since)
                row[DAYS_IN_STAGE] = _days_in_stage(ctx, record)
            self._rows[slug] = row
            if len(self._rows) > self.KEEP:
                self._rows.popitem(last=False)
        return row


class TableRows(Sequence["RowView"]):
    """A table's rows in slug order, each made when asked for (a table page that is kept from
    the previous build never makes its rows)."""

    def __init__(self, slugs: Sequence[str], build: Callable[[str], RowView]) -> None:
        self.slugs = tuple(slugs)
        self._build = build

    def __len__(self) -> int:
        return len(self.slugs)

    @overload
    def __getitem__(self, index: int) -> RowView: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RowView, ...]: ...
    def __getitem__(self, index: int | slice) -> RowView | tuple[RowView, ...]:
        if isinstance(index, slice):
            return tuple(self._build(slug) for slug in self.slugs[index])
        return self._build(self.slugs[index])

    def __iter__(self) -> Iterator[RowView]:
        return (self._build(slug) for slug in self.slugs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TableRows, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TableRows({len(self.slugs)} rows)"


class RecordViews(Sequence[RecordView]):
    """A project's record views in slug order, each built when it is asked for and not kept:
    a site of 50,000 records never holds them all, and a record page that is kept from the
    previous build is never built at all."""

    def __init__(self, slugs: Sequence[str], build: Callable[[str], RecordView]) -> None:
        self.slugs = tuple(slugs)
        self._build = build

    def view(self, slug: str) -> RecordView:
        return self._build(slug)

    def __len__(self) -> int:
        return len(self.slugs)

    @overload
    def __getitem__(self, index: int) -> RecordView: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RecordView, ...]: ...
    def __getitem__(self, index: int | slice) -> RecordView | tuple[RecordView, ...]:
        if isinstance(index, slice):
            return tuple(self._build(slug) for slug in self.slugs[index])
        return self._build(self.slugs[index])

    def __iter__(self) -> Iterator[RecordView]:
        return (self._build(slug) for slug in self.slugs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordViews):
            return self.slugs == other.slugs and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecordViews({len(self.slugs)} records)"


@dataclass(frozen=True, slots=True)
class ProjectView:
    name: str
    title: str
    count: int
    href: str
    table: TableView
    board: BoardView | None
    records: RecordViews


@dataclass(frozen=True, slots=True)
class SiteView:
    """Everything one audience's site shows."""

    title: str
    lang: str
    audience: str | None
    built: str
    built_iso: str
    projects: tuple[ProjectView, ...]
    nav: tuple[LinkView, ...]  # one per project, to its table
    attachments: tuple[str, ...]
    as_of: str = ""  # for a build of a past revision: the day (and revision) it shows
    feed: str = ""  # the stage-changes feed, from the site root ("" when there is none)


def build_site_views(dataset: Dataset) -> SiteView:
    """Build the views of the whole site from a dataset cut for its audience.

    Args:
        dataset: the finished dataset, after ``redaction.redact``.

    Returns:
        The site's view models.
    """
    ctx = _context(dataset)
    projects = tuple(_project_view(ctx, proj) for proj in dataset.projects.values())
    files = set(_downloads(ctx))
    records = (r for project in dataset.projects.values() for r in project.records.values())
    files |= {path for record in records for path in _shown_images(ctx, record)}
    return SiteView(
        title=dataset.config.title,
        lang=locale_lang(dataset.config.locale),
        audience=dataset.audience or None,
        built=format_value(dataset.today, "date", currency="", locale=dataset.config.locale),
        built_iso=dataset.today.isoformat(),
        projects=projects,
        nav=tuple(LinkView(p.title, p.href) for p in projects),
        attachments=tuple(sorted(files)),
        as_of=_as_of(dataset),
    )


def _as_of(dataset: Dataset) -> str:
    if dataset.as_of is None:
        return ""
    day, label = dataset.as_of
    text = format_value(day, "date", currency="", locale=dataset.config.locale)
    return text if label == day.isoformat() else f"{text}, {label}"


def _key(frame: object, where: object, row_keys: Sequence[str]) -> str:
    """The key of a page of many records (a table page, a board): the keys of its records,
    which cover everything of them it can show, and its frame; "" when a record has none."""
    if not row_keys or not all(row_keys):
        return ""
    return hashlib.sha256(pack((frame, where, list(row_keys)))).hexdigest()


def _table_context(
    context: Mapping[str, object], rows: Sequence[RowView], span: slice, paging: PagerView
) -> Mapping[str, object]:
    return {**context, "rows": rows[span], "pager": paging}


def _record_context(
    context: Mapping[str, object], records: RecordViews, slug: str
) -> Mapping[str, object]:
    return {**context, "record": records.view(slug)}


def _downloads(ctx: _Context) -> Iterator[str]:
    """The attachments the site publishes for download: every file value of a visible field
    that is a clean path inside the attachments folder (the links ``display`` makes)."""
    config = ctx.dataset.config
    for name, project in ctx.dataset.projects.items():
        files = [f.name for f in ctx.visible[name] if _display_type(f)[0] == "file"]
        for record in project.records.values() if files else ():
            for field_name in files:
                value = record.get(field_name)
                if value in (None, ()):
                    continue
                shown, _ = _shown(
                    value, "file", config.currency, config.locale, config.attachments
                )
                yield from (unquote(link.href) for link in shown.links if link.download)


def _shown_images(ctx: _Context, record: Record) -> list[str]:
    """The attachments a record's body shows (what ``render_body`` will show)."""
    return [
        image.path
        for image in body_images(record.body, record.path)
        if image.path is not None and ctx.shows_image(image.path)
    ]


def pages(
    site: SiteView, extras: Sequence[PageSet] = (), keys: Mapping[str, str] | None = None
) -> tuple[list[Page], SiteView]:
    """Every page: home, per project its table, board (if it has lists) and records, and the
    pages of other stages (dashboards); the home page takes what they add to it (the first
    dashboard), and the navigation links to them.

    Record pages are built when rendered (``Page.make``) and carry their ``keys``
    (``page_keys``).

    Returns:
        The pages sorted by path, and the site view with the whole navigation.
    """
    keys = keys or {}
    home: dict[str, object] = {"projects": site.projects}
    for extra in extras:
        home.update(extra.home)
    result = [Page("index.html", "home.html", home)]
    result.extend(page for extra in extras for page in extra.pages)
    nav = (*site.nav, *(LinkView(label, href) for extra in extras for label, href in extra.nav))
    for project in site.projects:
        context = {"project": project}
        table = project.table
        rows = table.rows
        row_keys = [
            keys.get(record_page(project.name, slug), "") for slug in project.records.slugs
        ]
        frame = (project.name, project.title, table.columns, table.lists, table.tags)
        for number in range(1, pager(project.name, 1, len(rows)).count + 1):
            span = slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE)
            paging = pager(project.name, number, len(rows))
            make = functools.partial(_table_context, context, rows, span, paging)
            key = _key(frame, paging, row_keys[span])
            result.append(Page(page_path(project.name, number), "table.html", make=make, key=key))
        if project.board is not None:
            key = _key(frame, project.board.href, row_keys)
            result.append(Page(f"{project.name}/board.html", "board.html", context, key=key))
        records = project.records
        for slug in records.slugs:
            path = record_page(project.name, slug)
            make = functools.partial(_record_context, context, records, slug)
            result.append(Page(path, "record.html", make=make, key=keys.get(path, "")))
    return sorted(result, key=lambda page: page.path), dataclasses.replace(site, nav=nav)


def data_files(
    site: SiteView, keys: Mapping[str, str] | None = None, store: Store = NO_STORE
) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    """Files beside the pages: each project's ``table.json`` (every row, for the script), as
    (path, key, a function that makes the bytes). ``keys`` are the record pages' keys; a row
    whose record page has one is kept encoded in ``store`` under it, so a table whose rows
    mostly did not change is written without making those rows again."""
    keys = keys or {}
    for project in site.projects:
        table = project.table
        slugs = project.records.slugs
        row_keys = [keys.get(record_page(project.name, slug), "") for slug in slugs]
        frame = (project.name, table.columns, table.lists, table.tags, table.titled)
        make = functools.partial(_table_json, project, frame, row_keys, store)
        yield f"{project.name}/table.json", _key(frame, "json", row_keys), make


def _table_json(
    project: ProjectView, frame: object, row_keys: Sequence[str], store: Store
) -> bytes:
    table = project.table
    shared = hashlib.sha256(pack(frame)).hexdigest()
    wanted = {i: f"{shared}:{k}" for i, k in enumerate(row_keys) if k}
    found = dict(store.get_many("table-rows", wanted.values()))

    def encoded() -> Iterator[tuple[str, Any]]:  # one row at a time: never all of them at once
        for index, slug in enumerate(project.records.slugs):
            blob = found.pop(wanted.get(index, ""), None)
            if blob is not None:
                yield slug, unpack(blob)
                continue
            row = encode_row(table.rows[index], table.titled)
            if index in wanted:
                store.put("table-rows", wanted[index], pack(row))
            yield slug, row

    return table_json(project.name, table.columns, encoded(), table.lists, table.tags)


def page_keys(dataset: Dataset, shared: str) -> dict[str, str]:
    """A key for each record page: a hash of everything the page shows that is not shared by
    every page (``shared``: crmgen, templates, settings, schemas, navigation, the day).

    That is the record (its values, computed values, notes and history), the titles of the
    records it links to and of those that link to it, its alerts, and whether each image its
    notes show is still an attachment the site may publish. Two builds that give a page the
    same key render it to the same bytes, so the second keeps the first's file.
    """
    ctx = _context(dataset)
    keys: dict[str, str] = {}
    for name, project in dataset.projects.items():
        linking = [f for f in ctx.visible[name] if _display_type(f)[0] in _LINKING]
        for slug, record in project.records.items():
            node = (name, slug)
            targets = sorted(
                tuple(str(v).split("/", 1)) if "/" in str(v) else (str(target), str(v))
                for spec in linking
                for target in (_display_type(spec)[1],)
                for v in items(record.get(spec.name))
            )
            linked = [(p, s, ctx.title(p, s), ctx.dataset.record(p, s) is not None)
                      for p, s in targets]  # fmt: skip
            backlinks = [(p, s, ctx.title(p, s)) for p, s in sorted(ctx.backlinks.get(node, ()))]
            images = [
                (image.path, image.path is not None and ctx.shows_image(image.path))
                for image in body_images(record.body, record.path)
            ]
            inputs = (
                shared,
                record.path,
                dict(record.values),
                dict(record.computed),
                record.body,
                record.history,
                linked,
                backlinks,
                ctx.findings.get(node, ()),
                images,
            )
            keys[record_page(name, slug)] = hashlib.sha256(pack(inputs)).hexdigest()
    return keys


def _context(dataset: Dataset) -> _Context:
    return _Context(
        dataset=dataset,
        visible={name: proj.schema.fields for name, proj in dataset.projects.items()},
        backlinks=_backlinks(dataset),
        findings=findings_by_record(dataset),
    )


@dataclass(frozen=True, slots=True)
class _Context:
    dataset: Dataset
    visible: Mapping[str, tuple[FieldSpec, ...]]
    backlinks: Mapping[_Node, frozenset[_Node]]
    findings: Mapping[_Node, tuple[FindingView, ...]]

    def field(self, project: str, name: str | None) -> FieldSpec | None:
        return next((f for f in self.visible.get(project, ()) if f.name == name), None)

    def title(self, project: str, slug: str) -> str:
        proj = self.dataset.projects.get(project)
        record = proj.records.get(slug) if proj else None
        if proj is None or record is None or not self.field(project, proj.schema.title_field):
            return slug
        return str(record.get(proj.schema.title_field) or slug)

    def shows_image(self, path: str) -> bool:
        """Whether a body may show the repo file ``path``: an image attachment that passes the
        attachment check (the same one ``validate`` reports on)."""
        config, root = self.dataset.config, Path(self.dataset.root)
        return (
            under(path, config.attachments)
            and inside(root / config.attachments, root / path)
            and attachment_problem(root / path, IMAGE_EXTENSIONS, config.max_attachment_size)
            is None
        )

    def record_link(self, project: str, slug: str) -> LinkView:
        if self.dataset.record(project, slug) is None:
            return LinkView(slug)
        return LinkView(self.title(project, slug), quote(record_page(project, slug)))


def _project_view(ctx: _Context, project: Project) -> ProjectView:
    schema = project.schema
    has_board = bool(schema.lists) and ctx.field(project.name, schema.list_field) is not None
    values = _Values(ctx, project, has_board)  # each value formatted once, when first needed
    return ProjectView(
        name=project.name,
        title=schema.title or project.name,
        count=len(project.records),
        href=quote(f"{project.name}/index.html"),
        table=_table_view(ctx, project, values, has_board),
        board=_board_view(ctx, project, values) if has_board else None,
        records=RecordViews(
            tuple(project.records),
            lambda slug: _record_view(ctx, project, project.records[slug], values[slug]),
        ),
    )


#: The name of the computed "days in stage" column and card field.
DAYS_IN_STAGE = "days_in_stage"


def _days_in_stage(ctx: _Context, record: Record) -> ValueView:
    days = record.history.days_in_stage(ctx.dataset.today)
    if days is None:
        return _value(DAYS_IN_STAGE, "Days in stage", "number", "", EMPTY_DISPLAY)
    config = ctx.dataset.config
    text = format_value(days, "number", currency=config.currency, locale=config.locale)
    source = record.history.stage_since.source
    origin = {"git": "from git", "field": "from stage_since"}.get(source, "")
    return _value(
        DAYS_IN_STAGE, "Days in stage", "number", origin, Display("text", text, str(days))
    )


def _display_type(spec: FieldSpec) -> tuple[str, str | None]:
    """The type a field's value is shown as, and the project its references point to."""
    if spec.type == "lookup":
        if spec.result_target:
            return "reference", spec.result_target
        return spec.result or "text", None
    if spec.type in ("formula", "rollup"):
        return spec.result or "number", None
    return spec.type, spec.target


def value_view(ctx: _Context, project: str, record: Record, spec: FieldSpec) -> ValueView:
    """One visible field of a record as a ``ValueView``."""
    value = record.get(spec.name)
    shown, target = _display_type(spec)
    if shown in _LINKING and value not in (None, ()):
        refs = [
            str(v).split("/", 1) if "/" in str(v) else [str(target), str(v)] for v in items(value)
        ]
        links = tuple(ctx.record_link(p, s) for p, s in refs)
        if spec.type == "referenced-by" and len(links) > CELL_BACKLINKS + 1:
            more_href = filtered_table(str(target), ref=record_page(project, record.slug))
            more = LinkView(f"{len(links) - CELL_BACKLINKS} more", more_href)
            links = (*links[:CELL_BACKLINKS], more)
        labels = ", ".join(link.label for link in links)
        shown_as = Display("links", labels, labels.casefold(), links)
    else:
        config = ctx.dataset.config
        number = number_format(spec.display)
        shown_as, html = _shown(
            value, shown, config.currency, config.locale, config.attachments, number
        )
        return ValueView(spec.name, spec.label, shown, _origin(spec), shown_as, html)
    return _value(spec.name, spec.label, shown, _origin(spec), shown_as)


_SHOWN: dict[tuple[Any, ...], tuple[Display, Markup]] = {}


def _shown(
    value: Any,
    type_: str,
    currency: str,
    locale: str,
    attachments: str,
    number: NumberFormat = DEFAULT_FORMAT,
) -> tuple[Display, Markup]:
    """A value as shown, and its HTML: the same for every record that has it (a list, an
    owner, a tag, a date), so each is made once. Kept by ``repr``, which tells apart what
    ``==`` does not (``Decimal("1.5")`` and ``Decimal("1.50")``, ``True`` and ``1``)."""
    key = (repr(value), type_, currency, locale, attachments, *number)
    found = _SHOWN.get(key)
    if found is None:
        if len(_SHOWN) > 1 << 16:
            _SHOWN.clear()
        shown = display(
            value, type_, currency=currency, locale=locale, attachments=attachments, fmt=number
        )
        found = _SHOWN[key] = (shown, value_html(shown))
    return found


def _origin(spec: FieldSpec) -> str:
    if spec.type == "lookup" and spec.path:
        return "via " + " → ".join(spec.path.split("."))
    prefix = {"formula": "= ", "rollup": ""}.get(spec.type)
    return f"{prefix}{spec.expression}" if prefix is not None and spec.expression else ""


def _record_view(ctx: _Context, project: Project, record: Record, values: _Row) -> RecordView:
    body = render_body(record.body, source=record.path, root="../", show_image=ctx.shows_image)
    title_field = project.schema.title_field
    by_project: dict[str, list[LinkView]] = {}
    for source, slug in ctx.backlinks.get((project.name, record.slug), frozenset()):
        by_project.setdefault(source, []).append(ctx.record_link(source, slug))
    groups = []
    for source, links in sorted(by_project.items()):
        links.sort(key=lambda link: (link.label.casefold(), link.href))
        more = len(links) - BACKLINKS if len(links) > BACKLINKS + 5 else 0
        shown = tuple(links[: len(links) - more])
        title = ctx.dataset.projects[source].schema.title
        href = filtered_table(source, ref=record_page(project.name, record.slug)) if more else ""
        groups.append(GroupView(source, title, shown, more, href))
    return RecordView(
        project=project.name,
        slug=record.slug,
        path=record_page(project.name, record.slug),
        href=quote(record_page(project.name, record.slug)),
        title=ctx.title(project.name, record.slug),
        source=record.path,
        fields=tuple(
            values[spec.name]
            for spec in ctx.visible[project.name]
            if spec.name != title_field and spec.type != "referenced-by"
        ),
        referenced_by=tuple(groups),
        body_html=Markup(body.html),
        images=body.images,
        findings=ctx.findings.get((project.name, record.slug), ()),
        history=history_view(ctx.dataset, record),
    )


def _table_view(ctx: _Context, project: Project, values: _Values, board: bool) -> TableView:
    schema = project.schema
    columns = sorted(ctx.visible[project.name], key=lambda f: f.name != schema.title_field)
    list_field = schema.list_field if ctx.field(project.name, schema.list_field) else None
    tags_field = schema.tags_field if ctx.field(project.name, schema.tags_field) else None
    records = project.records
    today = ctx.dataset.today
    known = board and any(r.history.days_in_stage(today) is not None for r in records.values())
    extra = [DAYS_IN_STAGE] if known else []
    used_tags = {str(t) for r in records.values() for t in items(r.get(tags_field or ""))}
    titled = bool(columns) and columns[0].name == schema.title_field

    def row(slug: str) -> RowView:
        record = records[slug]
        cells = [values[slug][spec.name] for spec in columns]
        cells += [values[slug][name] for name in extra]
        if titled:  # the title links to the record
            link = ctx.record_link(project.name, slug)
            shown = Display("links", link.label, link.label.casefold(), (link,))
            cells[0] = _value(cells[0].name, cells[0].label, "text", "", shown)
        tags = sorted(str(t) for t in items(record.get(tags_field))) if tags_field else []
        listed = str(record.get(list_field) or "") if list_field else ""
        return RowView(slug, listed, json.dumps(tags), tuple(cells))

    return TableView(
        columns=tuple(
            ColumnView(
                spec.name, spec.label, shown, "number" if shown in SORTS_AS_NUMBER else "text"
            )
            for spec in columns
            for shown in (_display_type(spec)[0],)
        )
        + tuple(ColumnView(name, "Days in stage", "number", "number") for name in extra),
        rows=TableRows(tuple(records), row),
        lists=tuple(s.name for s in schema.lists) if list_field else (),
        tags=tuple(sorted(set(schema.tags) | used_tags)) if tags_field else (),
        titled=titled,
    )


def _card(ctx: _Context, project: Project, record: Record, values: _Values) -> CardView:
    names = [project.schema.tags_field if n == "tags" else n for n in CARD_FIELDS]
    names.append(DAYS_IN_STAGE)
    views = (values[record.slug].get(name or "") for name in names)
    fields = tuple(v for v in views if v is not None and v.shown.kind != "empty")
    link = ctx.record_link(project.name, record.slug)
    amount = next((v.shown.sort for v in fields if v.name == "amount"), "")
    findings = ctx.findings.get((project.name, record.slug), ())
    return CardView(record.slug, link.href, link.label, amount, fields, findings)


def _board_view(ctx: _Context, project: Project, values: _Values) -> BoardView:
    schema = project.schema
    amount = ctx.field(project.name, "amount")
    currency = amount is not None and amount.type == "currency"
    config = {"currency": ctx.dataset.config.currency, "locale": ctx.dataset.config.locale}
    columns, list_field = [], schema.list_field or ""
    by_list: dict[str, list[Record]] = {}
    for record in project.records.values():
        by_list.setdefault(str(record.get(list_field)), []).append(record)
    for spec in schema.lists:
        records = by_list.get(spec.name, [])
        _sort_cards(project, spec.kind, records)
        total = sum((to_decimal(r.get("amount")) or Decimal(0) for r in records), Decimal(0))
        sums = [total, total * Decimal(spec.probability)] if currency else []
        money = [Display("text", format_money(n, **config), plain_number(n)) for n in sums]
        probability = Decimal(spec.probability) * 100
        percent = format_value(
            probability, "percent", currency=config["currency"], locale=config["locale"]
        )
        cards = tuple(_card(ctx, project, r, values) for r in records[:BOARD_CARDS])
        total_view, weighted_view = money or (None, None)
        head = (spec.name, spec.kind, percent, spec.kind != "open", len(records))
        more = len(records) - len(cards)
        href = filtered_table(project.name, list_=spec.name) if more else ""
        columns.append(BoardColumnView(*head, total_view, weighted_view, cards, more, href))
    return BoardView(quote(f"{project.name}/board.html"), currency, tuple(columns))


def _sort_cards(project: Project, kind: str, records: list[Record]) -> None:
    """Order a board column's cards: an open list by expected close, soonest first (no date
    last); a closed one by its close date, latest first (no date last); then by id."""
    records.sort(key=lambda r: r.slug)
    close = project.schema.role("close")
    if kind != "open" and close is not None:
        name = close.name
        records.sort(key=lambda r: sort_value(r.get(name)) or "", reverse=True)  # stable
    else:
        records.sort(key=lambda r: sort_value(r.get("expected_close")) or "~")


def filtered_table(project: str, *, list_: str = "", ref: str = "") -> str:
    """The href (from the site root) of a project's table filtered to one list or to the rows
    that link to one record page; the table's script reads the query."""
    query = urlencode({k: v for k, v in (("list", list_), ("ref", ref)) if v})
    return f"{quote(project)}/index.html?{query}"


def _backlinks(dataset: Dataset) -> dict[_Node, frozenset[_Node]]:
    """(project, slug) -> {(source project, source slug)} that reference it."""
    return {
        (name, slug): frozenset(
            (source, s) for source in record.backlinks for s in record.linked_from(source)
        )
        for name, project in dataset.projects.items()
        for slug, record in project.records.items()
        if record.backlinks
    }
