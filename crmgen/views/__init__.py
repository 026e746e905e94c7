"""Stage: a dataset cut for one audience -> the view models templates see.

View models are frozen dataclasses of formatted text plus plain machine values; templates never
see a ``Record``. The dataset comes from ``redaction.redact``: every field, value and back-link
in it may be shown, so nothing here decides what an audience sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, overload
from urllib.parse import quote, unquote, urlencode

from markupsafe import Markup, escape

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
from crmgen.model import (
    Dataset,
    FieldSpec,
    Page,
    PageSet,
    Project,
    Record,
    SortSpec,
    record_page,
)
from crmgen.model.store import NO_STORE, Store, digest, pack, unpack
from crmgen.views.alerts import FindingView, alerts_pages, findings_by_record
from crmgen.views.feeds import feed_pages
from crmgen.views.forms import form_href, form_pages
from crmgen.views.history import HistoryView, history_view
from crmgen.views.html import link_html, value_html
from crmgen.views.search import SearchIndex, search_index, search_pages
from crmgen.views.table import (
    MORE_FILE,
    PAGE_SIZE,
    PagerView,
    encode_row,
    page_path,
    pager,
    table_json,
)

__all__ = [
    "SearchIndex",
    "SiteView",
    "alerts_pages",
    "build_site_views",
    "data_files",
    "feed_pages",
    "form_pages",
    "page_keys",
    "pages",
    "search_index",
    "search_pages",
]

#: Values on a card's second line (the rest, with the badges, are on its third).
CARD_PRIMARY = 2
#: Tags a card shows as chips; the rest are a count.
CARD_TAGS = 3
#: Cards a board column shows; the rest are a link to the column's filtered table.
BOARD_CARDS = 25
#: Back-links a record page lists per project; the rest are a link to the filtered table.
BACKLINKS = 20
#: Back-links a table cell or card shows; then "N more", a link to the filtered table.
CELL_BACKLINKS = 3
_LINKING = ("reference", "referenced-by")
_Node = tuple[str, str]  # (project, slug)


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
    shown: bool = True  # shown at first; the others are one click away (the column picker)
    total: Display | None = None  # the sum over every row, for currency and number columns


@dataclass(frozen=True, slots=True)
class RowView:
    slug: str
    list: str  # "" when the project has no visible list field
    tags_json: str  # JSON array, for the tag filter
    cells: Sequence[ValueView]  # made when read (a table page shows only some columns)


@dataclass(frozen=True, slots=True)
class TableView:
    columns: tuple[ColumnView, ...]
    rows: TableRows  # made when asked for
    lists: tuple[str, ...]  # filter options; empty when the list field is not visible
    tags: tuple[str, ...]
    titled: bool = False  # the first column is the record's title, a link to its page
    sort: str = ""  # the field the rows are in order of ("": the files' order)
    descending: bool = False
    currency: str = ""  # the site's currency, for totals the script sums

    @property
    def frame_columns(self) -> tuple[tuple[str, str, str, str, bool, bool], ...]:
        """The columns as a key of pages and rows sees them: without the totals' values (one
        amount changed must not change the key of every row and page)."""
        return tuple(
            (c.name, c.label, c.type, c.sort_type, c.shown, c.total is not None)
            for c in self.columns
        )

    @property
    def shown_columns(self) -> tuple[int, ...]:
        """Positions of the columns shown at first."""
        return tuple(i for i, c in enumerate(self.columns) if c.shown)


@dataclass(frozen=True, slots=True)
class CardView:
    """A board card of at most three lines: the title; the first ``CARD_PRIMARY`` values of
    the project's card fields (amount and client by default); the others (owner, date), the
    days in stage and the alert badges. Tags, when the card declares them, are one line of
    chips: the first ``CARD_TAGS`` and a count of the rest."""

    slug: str
    href: str
    title: str
    amount: str  # machine value, "" when hidden or empty
    primary: tuple[ValueView, ...]
    secondary: tuple[ValueView, ...]
    findings: tuple[FindingView, ...]
    tags: tuple[str, ...] = ()
    more_tags: int = 0

    @property
    def fields(self) -> tuple[ValueView, ...]:
        return self.primary + self.secondary


@dataclass(frozen=True, slots=True)
class BoardColumnView:
    """One list; ``total`` and ``weighted`` are None without a visible currency ``amount``."""

    name: str
    kind: str
    probability: str  # "" when the column is not one list (a board grouped by another field)
    collapsed: bool
    count: int
    total: Display | None
    weighted: Display | None
    cards: tuple[CardView, ...]  # the first ``BOARD_CARDS`` by the column's order
    more: int  # cards left out
    more_href: str  # the table filtered to this list, from the site root
    count_text: str = ""  # ``count`` in the site's locale ("8,800")
    more_text: str = ""  # ``more`` in the site's locale


@dataclass(frozen=True, slots=True)
class BoardView:
    href: str
    currency: bool
    columns: tuple[BoardColumnView, ...]
    group: str = ""  # the label of the field whose values are the columns


#: No HTML (the default of a view's HTML made in Python).
NO_HTML = Markup("")


@dataclass(frozen=True, slots=True)
class GroupView:
    """Records of one project that reference a record: the first ``BACKLINKS`` by title, and
    how many more there are, with a link to the project's table filtered to them."""

    project: str
    title: str
    links: tuple[BacklinkView, ...]
    more: int = 0
    more_href: str = ""
    list_label: str = ""  # the headings of the columns the links have ("" when none has it)
    amount_label: str = ""
    date_label: str = ""
    rows_html: Markup = NO_HTML  # ``links`` as the rows of its table (``backlink_rows``)


def backlink_rows(group: GroupView) -> Markup:
    """A group's links as the rows of its table on a record page (one folder deep), built in
    one pass instead of a template loop (an overriding template may still loop over
    ``group.links``). Every text is escaped; links are drawn by ``link_html``."""
    out: list[str] = []
    for b in group.links:
        row = f'<tr><th scope="row">{link_html(b.link)}</th>'
        if group.list_label:
            row += f"<td>{escape(b.list)}</td>"
        if group.amount_label:
            row += f'<td class="type-currency">{escape(b.amount)}</td>'
        if group.date_label:
            when = (
                f'<time datetime="{escape(b.date_iso)}">{escape(b.date)}</time>' if b.date else ""
            )
            row += f'<td class="type-date">{when}</td>'
        out.append(row + "</tr>\n")
    return Markup("".join(out))


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
    edit_href: str = ""  # the file on the forge, to edit ("" without ``repository``)
    history_href: str = ""  # the file's commits on the forge
    fields_html: Markup = NO_HTML  # ``fields`` as the page's <dl> items (``fields_html``)


@dataclass(frozen=True, slots=True)
class BacklinkView:
    """A record that references another, with its list, key figure and main date (each ""
    when its project has none or this audience cannot see it)."""

    link: LinkView
    list: str
    amount: str
    date: str
    date_iso: str

    @property
    def label(self) -> str:
        return self.link.label

    @property
    def href(self) -> str:
        return self.link.href


class _Values:
    """Each record's visible values as ``ValueView``, made when asked for. Only the last few
    hundred records are kept: holding every value of a 50,000-record site would double the
    memory a build needs, and a value shown by many records is formatted once anyway
    (``_shown``)."""

    KEEP = 512

    def __init__(self, ctx: _Context, project: Project, board: bool) -> None:
        self.ctx, self.project, self.board = ctx, project, board
        self._rows: OrderedDict[str, _Row] = OrderedDict()
        self.names = tuple(f.name for f in ctx.visible[project.name])
        self.specs = {f.name: f for f in ctx.visible[project.name]}

    def __getitem__(self, slug: str) -> _Row:
        row = self._rows.get(slug)
        if row is None:
            row = self._rows[slug] = _Row(self, self.project.records[slug])
            if len(self._rows) > self.KEEP:
                self._rows.popitem(last=False)
        return row


class _Row(Mapping[str, "ValueView"]):
    """One record's visible values (and, on a board, its days in the current list), each
    made when first read: a table page shows a few of them, a record page all."""

    __slots__ = ("_made", "_record", "_values")

    def __init__(self, values: _Values, record: Record) -> None:
        self._values, self._record = values, record
        self._made: dict[str, ValueView] = {}

    def _names(self) -> tuple[str, ...]:
        names = self._values.names
        return (*names, DAYS_IN_STAGE) if self._values.board else names

    def __getitem__(self, name: str) -> ValueView:
        found = self._made.get(name)
        if found is None:
            values = self._values
            spec = values.specs.get(name)
            if spec is not None:
                found = value_view(values.ctx, values.project.name, self._record, spec)
            elif name == DAYS_IN_STAGE and values.board:  # from the history (or stage_since)
                found = _days_in_stage(values.ctx, self._record)
            else:
                raise KeyError(name)
            self._made[name] = found
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._values.specs or (name == DAYS_IN_STAGE and self._values.board)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


class _Cells(Sequence["ValueView"]):
    """A table row's cells, column by column, each made when first read (``_Row``); the
    first is replaced by ``first`` when given (the title as a link to the record)."""

    __slots__ = ("_first", "_names", "_row")

    def __init__(self, row: _Row, names: tuple[str, ...], first: ValueView | None) -> None:
        self._row, self._names, self._first = row, names, first

    @overload
    def __getitem__(self, index: int) -> ValueView: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ValueView, ...]: ...
    def __getitem__(self, index: int | slice) -> ValueView | tuple[ValueView, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(len(self._names))[index])
        if index < 0:
            index += len(self._names)
        if index == 0 and self._first is not None:
            return self._first
        return self._row[self._names[index]]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[ValueView]:  # not Sequence's: an index and a check a cell
        row, names = self._row, self._names
        if self._first is not None:
            yield self._first
            names = names[1:]
        for name in names:
            yield row[name]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"_Cells({tuple(self)!r})"


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
    count_text: str = ""  # ``count`` in the site's locale
    form_href: str = ""  # the project's lead form, from the site root ("" when none is linked)


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
    locale: str = "en"

    def count_text(self, number: int) -> str:
        """A count in the site's locale."""
        return format_value(number, "number", currency="", locale=self.locale)


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
        locale=dataset.config.locale,
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
    return digest((frame, where, list(row_keys)))


def _table_context(
    context: Mapping[str, object],
    rows: Sequence[RowView],
    span: slice,
    paging: PagerView,
    kept: RowsHtml | None = None,
) -> Mapping[str, object]:
    project = context["project"]
    assert isinstance(project, ProjectView)
    shown = rows[span]
    columns = project.table.shown_columns
    if kept is None:
        html = rows_html(shown, columns)
    else:
        html = Markup("".join(kept.row(row, columns) for row in shown))
    return {**context, "rows": shown, "rows_html": html, "pager": paging}


class RowsHtml:
    """A table's rows as HTML (``rows_html``), kept in the store under the key of the row's
    record page, which covers everything of the record a row can show, and the table's
    columns (the ``Parts`` of its pages): a table page re-rendered because one of its rows
    changed makes that row only. The build fetches the rows of the pages it renders before
    rendering them (``wants``, ``known``) and, when it rendered them in its own process,
    puts the rows made (``made``; see ``build.pages.start_pages``)."""

    space = "table-rows-html"

    def __init__(self, frame: object, keys: Mapping[str, str], pages: Mapping[str, slice]):
        self._shared = digest(("rows-html", frame))
        self._keys = {slug: f"{self._shared}:{key}" for slug, key in keys.items() if key}
        self._slugs = tuple(keys)
        self._pages = pages
        self._known: dict[str, str] = {}
        self._made: dict[str, str] = {}

    def wants(self, page: str) -> Iterable[str]:
        span = self._pages.get(page)
        slugs = self._slugs[span] if span is not None else ()
        return [self._keys[slug] for slug in slugs if slug in self._keys]

    def known(self, found: Mapping[str, bytes]) -> None:
        self._known.update((key, value.decode()) for key, value in found.items())

    def made(self) -> dict[str, bytes]:
        made = {key: html.encode() for key, html in self._made.items()}
        self._made.clear()
        return made

    def row(self, row: RowView, shown: Sequence[int]) -> str:
        key = self._keys.get(row.slug)
        html = self._known.get(key) if key else None
        if html is None:
            html = rows_html((row,), shown)
            if key:  # a row is on one page only: kept for the store, not for this build
                self._made[key] = html
        return html


def rows_html(rows: Sequence[RowView], shown: Sequence[int]) -> Markup:
    """The body rows of a table page as HTML, built here in one pass instead of a template
    loop over every cell (``table.html`` prints it; an overriding template may still loop over
    ``rows``): the first shown column is the row's header cell. Every attribute is escaped;
    each cell's HTML is the value's own (``views.html``)."""
    out: list[str] = []
    for row in rows:
        out.append(
            f'<tr data-slug="{escape(row.slug)}" data-list="{escape(row.list)}" '
            f'data-tags="{escape(row.tags_json)}">\n'
        )
        tag = "th"
        for index in shown:
            cell = row.cells[index]
            scope = ' scope="row"' if tag == "th" else ""
            out.append(
                f'<{tag}{scope} class="type-{escape(cell.type)}" data-field="{escape(cell.name)}" '
                f'data-sort="{escape(cell.shown.sort)}">{cell.html}</{tag}>\n'
            )
            tag = "td"
        out.append("</tr>\n")
    return Markup("".join(out))


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
        row_keys = [keys.get(record_page(project.name, slug), "") for slug in rows.slugs]
        # the totals of every row are on the first page only: one amount changed re-renders
        # one table page, not all of them (the script shows the totals on every page)
        frame = (
            project.name,
            project.title,
            table.frame_columns,
            table.lists,
            table.tags,
            table.sort,
        )
        totals = [c.total for c in table.columns]
        count = pager(project.name, 1, len(rows)).count
        spans = {
            page_path(project.name, number): slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE)
            for number in range(1, count + 1)
        }
        kept = RowsHtml(
            (project.name, table.frame_columns, table.shown_columns),
            dict(zip(rows.slugs, row_keys, strict=True)),
            spans,
        )
        for number, (path, span) in enumerate(spans.items(), start=1):
            paging = pager(project.name, number, len(rows), count_text=site.count_text)
            make = functools.partial(_table_context, context, rows, span, paging, kept)
            key = _key(frame, (paging, totals if number == 1 else None), row_keys[span])
            result.append(Page(path, "table.html", make=make, key=key, parts=kept))
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
    """Files beside the pages: each project's ``table.json`` (every row, for the script) and
    ``table-more.json`` (its hidden columns, when it has any), as (path, key, a function that
    makes the bytes). ``keys`` are the record pages' keys; a row whose record page has one is
    kept encoded in ``store`` under it, so a table whose rows mostly did not change is written
    without making those rows again. The two files of a table are made together, once."""
    keys = keys or {}
    for project in site.projects:
        table = project.table
        slugs = table.rows.slugs
        row_keys = [keys.get(record_page(project.name, slug), "") for slug in slugs]
        frame = (
            project.name,
            table.frame_columns,
            table.lists,
            table.tags,
            table.titled,
            table.sort,
        )
        made = _Once(functools.partial(_table_json, project, frame, row_keys, store))
        yield f"{project.name}/table.json", _key(frame, "json", row_keys), made.first
        if any(not c.shown for c in table.columns):
            more = f"{project.name}/{MORE_FILE}"
            yield more, _key(frame, "json-more", row_keys), made.second


class _Once:
    """Two files made by one call, each asked for on its own (either may be kept instead)."""

    def __init__(self, make: Callable[[], tuple[bytes, bytes | None]]) -> None:
        self._make = make
        self._made: tuple[bytes, bytes | None] | None = None

    def _both(self) -> tuple[bytes, bytes | None]:
        if self._made is None:
            self._made = self._make()
        return self._made

    def first(self) -> bytes:
        return self._both()[0]

    def second(self) -> bytes:
        return self._both()[1] or b""


#: The store's space for each row of ``table.json``, as JSON texts (``table.encode_row``).
_TABLE_ROWS = "table-cells"


def _table_json(
    project: ProjectView, frame: object, row_keys: Sequence[str], store: Store
) -> tuple[bytes, bytes | None]:
    table = project.table
    shared = digest(frame)
    wanted = {i: f"{shared}:{k}" for i, k in enumerate(row_keys) if k}
    found = dict(store.get_many(_TABLE_ROWS, wanted.values()))

    def encoded() -> Iterator[tuple[str, Any]]:  # one row at a time: never all of them at once
        for index, slug in enumerate(table.rows.slugs):
            blob = found.pop(wanted.get(index, ""), None)
            if blob is not None:
                yield slug, unpack(blob)
                continue
            row = encode_row(table.rows[index], table.titled)
            if index in wanted:
                store.put(_TABLE_ROWS, wanted[index], pack(row))
            yield slug, row

    sort = ("-" if table.descending else "") + table.sort if table.sort else ""
    return table_json(
        project.name, table.columns, encoded(), table.lists, table.tags, sort, table.currency
    )


def page_keys(dataset: Dataset, shared: str) -> dict[str, str]:
    """A key for each record page: a hash of everything the page shows that is not shared by
    every page (``shared``: crmgen, templates, settings, schemas, navigation, the day).

    That is the record (its values, computed values, notes and history), the titles of the
    records it links to and of those that link to it, its alerts, and whether each image its
    notes show is still an attachment the site may publish. Two builds that give a page the
    same key render it to the same bytes, so the second keeps the first's file.

    A record that knows its ``inputs`` (the key of its group in ``compute``: every record a
    reference connects it to, which holds all it links to and all that links to it, their
    files, the schemas, the day and the commit) is keyed by them, its alerts and its images,
    instead of hashing all of the above: after an edit, the pages of the edited record's
    group are made again, not only those that changed.
    """
    ctx = _context(dataset)
    keys: dict[str, str] = {}
    for name, project in dataset.projects.items():
        linking = [f for f in ctx.visible[name] if _display_type(f)[0] in _LINKING]
        for slug, record in project.records.items():
            node = (name, slug)
            images = [
                (image.path, image.path is not None and ctx.shows_image(image.path))
                for image in body_images(record.body, record.path)
            ]
            if record.inputs:
                facts = (shared, record.path, record.inputs, ctx.findings.get(node, ()), images)
                keys[record_page(name, slug)] = digest(facts)
                continue
            targets = sorted(
                tuple(str(v).split("/", 1)) if "/" in str(v) else (str(target), str(v))
                for spec in linking
                for target in (_display_type(spec)[1],)
                for v in items(record.get(spec.name))
            )
            linked = [(p, s, ctx.title(p, s), ctx.dataset.record(p, s) is not None)
                      for p, s in targets]  # fmt: skip
            backlinks = [
                (p, s, ctx.title(p, s), backlink_facts(ctx, p, s))
                for p, s in sorted(ctx.backlinks.get(node, ()))
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
            keys[record_page(name, slug)] = digest(inputs)
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
    # made when first asked for: each project's visible fields by name, each record's link
    _fields: dict[str, dict[str, FieldSpec]] = dataclasses.field(default_factory=dict)
    _links: dict[_Node, LinkView] = dataclasses.field(default_factory=dict)

    def field(self, project: str, name: str | None) -> FieldSpec | None:
        by_name = self._fields.get(project)
        if by_name is None:
            by_name = self._fields[project] = {}
            for spec in reversed(self.visible.get(project, ())):  # the first of a name wins
                by_name[spec.name] = spec
        return by_name.get(name) if name is not None else None

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
        found = self._links.get((project, slug))
        if found is None:
            if self.dataset.record(project, slug) is None:
                found = LinkView(slug)
            else:
                found = LinkView(self.title(project, slug), quote(record_page(project, slug)))
            self._links[(project, slug)] = found
        return found


def _project_view(ctx: _Context, project: Project) -> ProjectView:
    schema = project.schema
    has_board = bool(schema.lists) and ctx.field(project.name, schema.list_field) is not None
    values = _Values(ctx, project, has_board)  # each value formatted once, when first needed
    return ProjectView(
        name=project.name,
        title=schema.title or project.name,
        count=len(project.records),
        count_text=count_text(ctx, len(project.records)),
        href=quote(f"{project.name}/index.html"),
        table=_table_view(ctx, project, values, has_board),
        board=_board_view(ctx, project, values) if has_board else None,
        records=RecordViews(
            tuple(project.records),
            lambda slug: _record_view(ctx, project, project.records[slug], values[slug]),
        ),
        form_href=form_href(ctx.dataset.config, schema),
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


#: The ``ValueView`` of each value of a field (by ``repr``), per currency, locale and
#: attachments folder: every record with that value shows the same view.
_Views = dict[tuple[str, str, str], dict[str, "ValueView"]]
_SpecView = tuple[str, str | None, NumberFormat, str, _Views]
#: ``_spec_view`` by the identity of the spec (kept, so that its id is never reused while in
#: here; a spec's hash would hash its 19 fields at every value).
_SPEC_VIEWS: dict[int, tuple[FieldSpec, _SpecView]] = {}


def _spec_view(spec: FieldSpec) -> _SpecView:
    """What ``value_view`` needs of a field besides its value: the type it shows as, the
    project its links lead to, its number format and where its value comes from."""
    found = _SPEC_VIEWS.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    if len(_SPEC_VIEWS) > 4096:
        _SPEC_VIEWS.clear()
    shown, target = _display_type(spec)
    views: _Views = {}
    made = (shown, target, number_format(spec.display), _origin(spec), views)
    _SPEC_VIEWS[id(spec)] = (spec, made)
    return made


def value_view(ctx: _Context, project: str, record: Record, spec: FieldSpec) -> ValueView:
    """One visible field of a record as a ``ValueView``."""
    value = record.get(spec.name)
    shown, target, number, origin, views = _spec_view(spec)
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
        settings = (config.currency, config.locale, config.attachments)
        made = views.get(settings)
        if made is None:
            made = views[settings] = {}
        key = repr(value)  # tells apart what == does not (see ``_shown``)
        found = made.get(key)
        if found is None:
            if len(made) > _KEEP_VIEWS:  # a field's repeated values are what it is for
                made.clear()
            shown_as, html = _shown(value, shown, *settings, number)
            found = made[key] = ValueView(spec.name, spec.label, shown, origin, shown_as, html)
        return found
    return _value(spec.name, spec.label, shown, origin, shown_as)


#: Values kept per field by ``value_view`` (lists, owners, tags and days repeat; a title
#: or an amount seldom does, and a 50,000-record build must not keep them all).
_KEEP_VIEWS = 512


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
        if len(_SHOWN) > 1 << 14:  # repeated values are what it is for; a unique one passes
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


def backlink_facts(ctx: _Context, project: str, slug: str) -> tuple[str, str, str, str]:
    """What a back-link shows of the record ``project/slug`` besides its title: its list,
    amount and main date (as shown, and the date in ISO), each "" when not visible."""
    proj = ctx.dataset.projects.get(project)
    record = proj.records.get(slug) if proj else None
    if proj is None or record is None:
        return "", "", "", ""
    schema, config = proj.schema, ctx.dataset.config
    listed = ""
    if ctx.field(project, schema.list_field) is not None:
        listed = str(record.get(schema.list_field or "") or "")
    amount = ""
    spec = ctx.field(project, schema.roles.get("amount"))
    if spec is not None and record.get(spec.name) is not None:
        shown, _ = _shown(
            record.get(spec.name), spec.shown_type, config.currency, config.locale, ""
        )
        amount = shown.text
    date = iso = ""
    spec = ctx.field(project, schema.roles.get("close"))
    value = record.get(spec.name) if spec is not None else None
    if isinstance(value, dt.date):
        date = format_value(value, "date", currency=config.currency, locale=config.locale)
        iso = value.isoformat()
    return listed, amount, date, iso


def _record_view(ctx: _Context, project: Project, record: Record, values: _Row) -> RecordView:
    body = render_body(record.body, source=record.path, root="../", show_image=ctx.shows_image)
    title_field = project.schema.title_field
    by_project: dict[str, list[BacklinkView]] = {}
    for source, slug in ctx.backlinks.get((project.name, record.slug), frozenset()):
        facts = backlink_facts(ctx, source, slug)
        view = BacklinkView(ctx.record_link(source, slug), *facts)
        by_project.setdefault(source, []).append(view)
    groups = []
    for source, links in sorted(by_project.items()):
        links.sort(key=lambda b: (b.link.label.casefold(), b.link.href))
        more = len(links) - BACKLINKS if len(links) > BACKLINKS + 5 else 0
        shown = tuple(links[: len(links) - more])
        source_schema = ctx.dataset.projects[source].schema
        href = filtered_table(source, ref=record_page(project.name, record.slug)) if more else ""
        labels = []
        for attr, field_name in (
            ("list", source_schema.list_field),
            ("amount", source_schema.roles.get("amount")),
            ("date", source_schema.roles.get("close")),
        ):
            spec = ctx.field(source, field_name)
            labels.append(spec.label if spec and any(getattr(b, attr) for b in links) else "")
        list_label, amount_label, date_label = labels
        group = GroupView(
            source, source_schema.title, shown, more, href, list_label, amount_label, date_label
        )
        groups.append(dataclasses.replace(group, rows_html=backlink_rows(group)))
    fields = tuple(
        values[spec.name]
        for spec in ctx.visible[project.name]
        if spec.name != title_field and spec.type != "referenced-by"
    )
    config = ctx.dataset.config
    edit_href = history_href = ""
    if config.repository:
        where = f"{config.forge}/{config.repository}"
        file = quote(f"{config.branch}/{record.path}")
        edit_href, history_href = f"{where}/edit/{file}", f"{where}/commits/{file}"
    return RecordView(
        project=project.name,
        slug=record.slug,
        path=record_page(project.name, record.slug),
        href=quote(record_page(project.name, record.slug)),
        title=ctx.title(project.name, record.slug),
        source=record.path,
        fields=fields,
        referenced_by=tuple(groups),
        body_html=Markup(body.html),
        images=body.images,
        findings=ctx.findings.get((project.name, record.slug), ()),
        history=history_view(ctx.dataset, record),
        edit_href=edit_href,
        history_href=history_href,
        fields_html=fields_html(fields),
    )


def fields_html(fields: Sequence[ValueView]) -> Markup:
    """A record page's fields as the items of its ``<dl>``, built here in one pass instead of
    a template loop (``record.html`` prints it; an overriding template may still loop over
    ``record.fields``). Every attribute and label is escaped; each value's HTML is its own.
    What a field shows on every record (its type, name, label and origin) is made once."""
    out: list[str] = []
    for v in fields:
        head, tail = _field_frame(v.type, v.name, v.label, v.origin)
        value = '<span class="empty">—</span>' if v.shown.kind == "empty" else v.html
        out.append(f"{head}{escape(v.shown.sort)}{tail[0]}{value}{tail[1]}")
    return Markup("".join(out))


@functools.lru_cache(maxsize=4096)
def _field_frame(type_: str, name: str, label: str, origin: str) -> tuple[str, tuple[str, str]]:
    """The HTML of a field around its sort key and its value (see ``fields_html``)."""
    note = ""
    if origin.startswith("via "):
        note = f' <small class="origin">{escape(origin)}</small>'
    elif origin:
        note = (
            ' <details class="origin"><summary>How it is computed</summary>'
            f"<code>{escape(origin)}</code></details>"
        )
    head = f'<div class="field type-{escape(type_)}" data-field="{escape(name)}" data-sort="'
    return head, (f'">\n<dt>{escape(label)}</dt>\n<dd>', f"{note}</dd>\n</div>\n")


def _table_view(ctx: _Context, project: Project, values: _Values, board: bool) -> TableView:
    schema = project.schema
    visible = {spec.name: spec for spec in ctx.visible[project.name]}
    first = [visible[n] for n in schema.views.columns if n in visible]
    if schema.title_field in visible and visible[schema.title_field] not in first:
        first.insert(0, visible[schema.title_field])
    columns = first + [spec for spec in visible.values() if spec not in first]
    shown_names = {spec.name for spec in first}
    list_field = schema.list_field if ctx.field(project.name, schema.list_field) else None
    tags_field = schema.tags_field if ctx.field(project.name, schema.tags_field) else None
    records = project.records
    today = ctx.dataset.today
    known = board and any(r.history.days_in_stage(today) is not None for r in records.values())
    extra = [DAYS_IN_STAGE] if known else []
    used_tags = {str(t) for r in records.values() for t in items(r.get(tags_field or ""))}
    titled = bool(columns) and columns[0].name == schema.title_field
    order = _visible_order(ctx, project, schema.views.sort)
    slugs = [r.slug for r in _ordered(list(records.values()), order, today)]

    names = (*(spec.name for spec in columns), *extra)

    def row(slug: str) -> RowView:
        record = records[slug]
        first = None
        if titled:  # the title links to the record
            link = ctx.record_link(project.name, slug)
            shown = Display("links", link.label, link.label.casefold(), (link,))
            spec = columns[0]
            first = _value(spec.name, spec.label, "text", "", shown)
        tags = sorted(str(t) for t in items(record.get(tags_field))) if tags_field else []
        listed = str(record.get(list_field) or "") if list_field else ""
        return RowView(slug, listed, json.dumps(tags), _Cells(values[slug], names, first))

    config = ctx.dataset.config
    views = []
    for spec in columns:
        shown = _display_type(spec)[0]
        total = None
        if shown in ("currency", "number") and spec.type != "referenced-by":
            numbers = (to_decimal(r.get(spec.name)) for r in records.values())
            sum_ = sum((n for n in numbers if n is not None), Decimal(0))
            text = format_value(sum_, shown, currency=config.currency, locale=config.locale)
            total = Display("text", text, plain_number(sum_))
        sort_type = "number" if shown in SORTS_AS_NUMBER else "text"
        views.append(
            ColumnView(spec.name, spec.label, shown, sort_type, spec.name in shown_names, total)
        )
    views += [ColumnView(name, "Days in stage", "number", "number") for name in extra]
    return TableView(
        columns=tuple(views),
        rows=TableRows(tuple(slugs), row),
        lists=tuple(s.name for s in schema.lists) if list_field else (),
        tags=tuple(sorted(set(schema.tags) | used_tags)) if tags_field else (),
        titled=titled,
        sort=order.field if order else "",
        descending=bool(order and order.descending),
        currency=config.currency,
    )


def _card(ctx: _Context, project: Project, record: Record, values: _Values) -> CardView:
    schema = project.schema
    row = values[record.slug]
    tags_field = schema.tags_field
    names = [n for n in schema.views.card if n != tags_field]

    def filled(chosen: Sequence[str]) -> list[ValueView]:
        return [row[n] for n in chosen if n in row and row[n].shown.kind != "empty"]

    shown = filled(names[:CARD_PRIMARY])  # each value keeps its line, whatever is empty
    days = row.get(DAYS_IN_STAGE)
    secondary = filled(names[CARD_PRIMARY:])
    secondary += [days] if days and days.shown.kind != "empty" else []
    tags: tuple[str, ...] = ()
    if tags_field in schema.views.card and tags_field in row:
        tags = tuple(str(t) for t in items(record.get(tags_field)))
    link = ctx.record_link(project.name, record.slug)
    amount_field = schema.roles.get("amount")
    amount = row[amount_field].shown.sort if amount_field and amount_field in row else ""
    findings = ctx.findings.get((project.name, record.slug), ())
    return CardView(
        record.slug,
        link.href,
        link.label,
        amount,
        tuple(shown),
        tuple(secondary),
        findings,
        tags[:CARD_TAGS],
        max(0, len(tags) - CARD_TAGS),
    )


def _board_view(ctx: _Context, project: Project, values: _Values) -> BoardView:
    schema = project.schema
    amount = ctx.field(project.name, schema.roles.get("amount"))
    currency = amount is not None and amount.type == "currency"
    config = {"currency": ctx.dataset.config.currency, "locale": ctx.dataset.config.locale}
    list_field = schema.list_field or ""
    declared = schema.views.group or ""
    group = declared if ctx.field(project.name, declared) else list_field
    by_group: dict[str, list[Record]] = {}
    for record in project.records.values():
        by_group.setdefault(_group_value(ctx, project, group, record), []).append(record)
    probability = {spec.name: Decimal(spec.probability) for spec in schema.lists}
    has_open = any(spec.kind == "open" for spec in schema.lists)
    if group == list_field:
        heads = [(spec.name, spec.kind) for spec in schema.lists]
    else:
        names = _group_names(project, group, by_group)
        if len(names) > BOARD_GROUPS:  # a board of a field with many values: the largest
            kept = set(sorted(names, key=lambda n: -len(by_group[n]))[: BOARD_GROUPS - 1])
            others = [r for n in names if n not in kept for r in by_group[n]]
            names = [n for n in names if n in kept]
            by_group[OTHER_VALUES] = others
            names.append(OTHER_VALUES)
        heads = [(name, "open") for name in names]
    columns = []
    for name, kind in heads:
        records = by_group.get(name, [])
        order = _visible_order(ctx, project, schema.views.board_order(name, kind))
        records = _ordered(sorted(records, key=lambda r: r.slug), order, ctx.dataset.today)
        sums: list[Decimal] = []
        if currency and amount is not None:
            total = weighted = Decimal(0)
            for r in records:
                value = to_decimal(r.get(amount.name)) or Decimal(0)
                total += value
                weighted += value * probability.get(str(r.get(list_field)), Decimal(0))
            sums = [total, weighted]
        money = [Display("text", format_money(n, **config), plain_number(n)) for n in sums]
        percent = ""
        if group == list_field:
            percent = format_value(
                probability.get(name, Decimal(0)) * 100,
                "percent",
                currency=config["currency"],
                locale=config["locale"],
            )
        cards = tuple(_card(ctx, project, r, values) for r in records[:BOARD_CARDS])
        total_view, weighted_view = money or (None, None)
        collapsed = kind != "open" and has_open
        head = (name, kind, percent, collapsed, len(records))
        more = len(records) - len(cards)
        href = ""
        if more and name == OTHER_VALUES:
            href = filtered_table(project.name)  # many values: the whole table
        elif more:
            href = (
                filtered_table(project.name, list_=name)
                if group == list_field
                else filtered_table(project.name, field=group, value=name)
            )
        counts = (count_text(ctx, len(records)), count_text(ctx, more))
        columns.append(
            BoardColumnView(*head, total_view, weighted_view, cards, more, href, *counts)
        )
    spec = ctx.field(project.name, group)
    label = spec.label if spec else ""
    return BoardView(quote(f"{project.name}/board.html"), currency, tuple(columns), label)


def count_text(ctx: _Context, number: int) -> str:
    """A count in the site's locale: "8,800" (en), "8.800" (de)."""
    config = ctx.dataset.config
    return format_value(number, "number", currency=config.currency, locale=config.locale)


#: The column of a board grouped by a field other than the list, for records without a value.
NO_VALUE = "(none)"
#: Columns of a board grouped by another field than the list: the largest values, then one
#: column of the records of every other value (a text field can have a value per record).
BOARD_GROUPS = 24
OTHER_VALUES = "(other values)"


def _group_value(ctx: _Context, project: Project, group: str, record: Record) -> str:
    value = record.get(group)
    if value is None or value == "":
        return NO_VALUE if group != project.schema.list_field else ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    spec = ctx.field(project.name, group)
    target = _display_type(spec)[1] if spec else None
    if spec is not None and _display_type(spec)[0] == "reference" and target:
        text = str(value)
        proj, slug = text.split("/", 1) if "/" in text else (target, text)
        return ctx.title(proj, slug)
    return sort_value(value)


def _group_names(project: Project, group: str, by_group: Mapping[str, list[Record]]) -> list[str]:
    """The columns of a board grouped by ``group``: a select's options in order, else the
    values found, in order; records without a value last."""
    spec = project.schema.field(group)
    options = list(spec.options) if spec and spec.options else []
    found = sorted((n for n in by_group if n not in options and n != NO_VALUE), key=str.casefold)
    names = [n for n in options if n in by_group] + found
    return names + ([NO_VALUE] if NO_VALUE in by_group else [])


def order_key(record: Record, name: str, today: dt.date) -> tuple[int, Any]:
    """A record's sort key by a field or a history date (``schema.SORT_DATES``); every key of
    one field compares with every other. Records without a value get ``(1, "")``."""
    history = record.history
    value: Any
    if name == "days_in_stage":
        value = history.days_in_stage(today)
    elif name in ("created", "stage_since", "closed", "last_changed", "last_activity"):
        value = getattr(history, name).date or record.get(name)
    else:
        value = record.get(name)
    if value is None or value == "" or value == ():
        return (1, "")
    number = to_decimal(value) if not isinstance(value, (str, bool)) else None
    if number is not None:
        return (0, (0, number, ""))
    return (0, (1, Decimal(0), sort_value(value).casefold()))


def _visible_order(ctx: _Context, project: Project, order: SortSpec | None) -> SortSpec | None:
    """``order``, unless it sorts by a field this audience cannot see (a history date, which
    is no field, is always seen)."""
    if order is None or project.schema.field(order.field) is None:
        return order
    return order if ctx.field(project.name, order.field) else None


def _ordered(records: list[Record], order: SortSpec | None, today: dt.date) -> list[Record]:
    """``records`` by ``order`` (records without a value last, in either direction), else as
    they are; the order is stable."""
    if order is None:
        return records
    keyed = [(order_key(r, order.field, today), r) for r in records]
    present = [item for item in keyed if item[0][0] == 0]
    present.sort(key=lambda item: item[0][1], reverse=order.descending)
    return [r for _, r in present] + [r for key, r in keyed if key[0] == 1]


def filtered_table(
    project: str, *, list_: str = "", ref: str = "", field: str = "", value: str = ""
) -> str:
    """The href (from the site root) of a project's table filtered to one list, to the rows
    that link to one record page, or to the rows whose ``field`` shows ``value``; the
    table's script reads the query."""
    pairs = (("list", list_), ("ref", ref), ("field", field), ("value", value))
    query = urlencode({k: v for k, v in pairs if v})
    return f"{quote(project)}/index.html" + (f"?{query}" if query else "")


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
