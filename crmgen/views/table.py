"""Light tables at any size: paged HTML for every reader, compact JSON for the script.

A project's table is written as pages of ``PAGE_SIZE`` rows (``index.html``, ``page_2.html``,
...; ``_`` cannot be in a record id, so no record page can collide), each a complete table a
reader without JavaScript can page through. ``table.json`` beside them holds every row,
dictionary-encoded column by column (a value used by many rows is written once), for the
script to sort and filter all rows in the browser and show them page by page.

The JSON carries text, never HTML: the script builds elements with ``textContent`` and
checked hrefs, so nothing in it can become markup. One cell is ``null`` (empty) or a list
``[kind, sort, ...]``:

- ``["r", sort, label]``: the row's own title, a link to its record page
- ``["t", sort, text, links]``: text, with extra links (a map link, say)
- ``["l", sort, links]``: links (references, e-mail, web sites)
- ``["b", sort, badges]``: badges (tags, multi-selects)
- ``["s", sort, text, rating]``: stars

``sort`` is the machine value (a plain number, an ISO date), or ``0`` when it is the cell's
text (its labels joined by ", ") case-folded: the script sorts that text. A link is
``[label, href]`` (internal, relative to the site root), ``[label, href, "x"]`` (external),
``[label, href, "d"]`` (a download) or ``[label]`` (plain text: a dangling or unsafe target);
an href that starts with ``=`` is short for the rest followed by the label
(``["ann@example.com", "=mailto:", "x"]``).

Each column is ``{"values": [...], "index": ...}``: its distinct cells, and for each row the
position of its cell, written as ``width`` base-36 digits per row in one string (``null``
when row *n* has cell *n*).

The columns a table hides at first (the column picker shows them) are not in ``table.json``:
their place in ``cells`` is ``null`` and ``"more"`` names the file that holds them,
``table-more.json`` (``{"format", "project", "columns": [positions], "cells": [...]}``). The
script loads it only when it needs one of them: a hidden column picked or sorted by, a
search (which looks at every column), a filter by a field or by the records that reference
one. A table of 10,000 deals is 0.7 MB to open instead of 1.7 MB.
"""

from __future__ import annotations

import itertools
import json
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crmgen.fields.formatting import Display, LinkView

if TYPE_CHECKING:
    from crmgen.views import ColumnView, RowView

__all__ = ["PAGE_SIZE", "PagerView", "encode_row", "page_path", "pager", "table_json"]

#: Rows of a table page.
PAGE_SIZE = 100
#: The version of the table JSON format; the script refuses another.
FORMAT = 2


def page_path(project: str, number: int) -> str:
    """The site path of page ``number`` (1-based) of a project's table."""
    return f"{project}/index.html" if number == 1 else f"{project}/page_{number}.html"


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int
    href: str  # relative to the site root; "" for a gap ("…")
    current: bool


@dataclass(frozen=True, slots=True)
class PagerView:
    """Where a table page is among its pages; ``pages`` is a window of page links around the
    current one (first and last always), with gaps as links without ``href``."""

    number: int
    count: int  # pages
    first: int  # first row shown, 1-based
    last: int  # last row shown
    rows: int  # rows in all
    previous: str  # href of the previous page, "" on the first
    next: str  # href of the next page, "" on the last
    pages: tuple[PageLink, ...]
    first_text: str = ""  # ``first``, ``last`` and ``rows`` in the site's locale
    last_text: str = ""
    rows_text: str = ""


def pager(
    project: str,
    number: int,
    rows: int,
    size: int = PAGE_SIZE,
    count_text: Callable[[int], str] = str,
) -> PagerView:
    """The pager of page ``number`` of a table of ``rows`` rows; ``count_text`` writes a
    count in the site's locale."""
    count = max(1, -(-rows // size))
    shown = sorted({1, count, *range(max(1, number - 2), min(count, number + 2) + 1)})
    links: list[PageLink] = []
    for n in shown:
        if links and n - links[-1].number > 1:
            links.append(PageLink(links[-1].number + 1, "", False))
        links.append(PageLink(n, page_path(project, n), n == number))
    first, last = min(rows, (number - 1) * size + 1), min(rows, number * size)
    return PagerView(
        number=number,
        count=count,
        first=first,
        last=last,
        rows=rows,
        previous=page_path(project, number - 1) if number > 1 else "",
        next=page_path(project, number + 1) if number < count else "",
        pages=tuple(links),
        first_text=count_text(first),
        last_text=count_text(last),
        rows_text=count_text(rows),
    )


def _link(link: LinkView) -> list[str]:
    if not link.href:
        return [link.label]
    href = link.href
    if link.external and href.endswith(link.label) and link.label:
        href = "=" + href[: len(href) - len(link.label)]
    if link.external:
        return [link.label, href, "x"]
    if link.download:
        return [link.label, href, "d"]
    return [link.label, href]


def _text(shown: Display) -> str:
    """The text the script shows (and sorts when ``sort`` is 0)."""
    if shown.kind == "links":
        return ", ".join(link.label for link in shown.links)
    if shown.kind == "badges":
        return " ".join(shown.badges)
    return shown.text


def _cell(shown: Display) -> list[Any] | None:
    kind = shown.kind
    sort: str | int = 0 if shown.sort == _text(shown).casefold() else shown.sort
    if kind == "links":
        return ["l", sort, [_link(link) for link in shown.links]]
    if kind == "badges":
        return ["b", sort, list(shown.badges)]
    if kind == "stars":
        return ["s", sort, shown.text, shown.rating]
    if kind == "text":
        return ["t", sort, shown.text, [_link(link) for link in shown.links]]
    return None


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits.append(_DIGITS[digit])
    return "".join(reversed(digits))


class _Dictionary:
    """Distinct values in first-seen order, and each row's index into them. A value is its
    JSON text: equal texts are equal values, and the work per row is done in C (a dict, a
    ``map``); the Python loop runs over the values not seen before only."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index = array("l")  # 8 bytes a row, not a list's pointer and int object
        self._seen: dict[str, int] = {}

    def extend(self, texts: Sequence[str]) -> None:
        seen = self._seen
        for text in dict.fromkeys(texts):
            if text not in seen:
                seen[text] = len(self.values)
                self.values.append(text)
        self.index.extend(map(seen.__getitem__, texts))

    def encoded(self) -> str:
        """``{"values": [...], "index": ..., "width": ...}`` as JSON text."""
        values = _list(self.values)
        if all(i == n for n, i in enumerate(self.index)):
            return f'{{"values":{values},"index":null,"width":0}}'
        width = 1
        while 36**width < len(self.values):
            width += 1
        codes = [_base36(i, width) for i in range(len(self.values))]  # each value's code once
        index = "".join(map(codes.__getitem__, self.index))
        return f'{{"values":{values},"index":"{index}","width":{width}}}'


#: A row as ``table.json`` takes it: its cells, list and tags, each as JSON text.
EncodedRow = tuple[tuple[str, ...], str, str]


def encode_row(row: RowView, titled: bool) -> EncodedRow:
    """One row as ``table.json`` writes it: its cells (see the module doc), list and tags,
    each as JSON text (kept so in the cache: a table is put together from them as text)."""
    cells: list[str] = []
    for number, cell in enumerate(row.cells):
        shown = cell.shown
        if number == 0 and titled:  # the title links to the row's record page
            sort = 0 if shown.sort == shown.text.casefold() else shown.sort
            cells.append(_json(["r", sort, shown.text]))
        else:
            cells.append(_json(_cell(shown)))
    return tuple(cells), _json(row.list), _json(json.loads(row.tags_json))


def table_json(
    project: str,
    columns: Sequence[ColumnView],
    rows: Iterable[tuple[str, EncodedRow]],
    lists: Sequence[str],
    tags: Sequence[str],
    sort: str = "",
    currency: str = "",
) -> tuple[bytes, bytes | None]:
    """Every row of a table as the compact JSON the script loads (see the module doc):
    ``table.json``, and ``table-more.json`` with the hidden columns (None when none is).

    Args:
        rows: (slug, ``encode_row``) of each row, in order.
        sort: the order the rows are in: a column's name, "-name" when descending.
        currency: the ISO code the script formats currency totals in.
    """
    cells = [_Dictionary() for _ in columns]
    listed, tagged = _Dictionary(), _Dictionary()
    slugs: list[str] = []
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, _CHUNK)):  # never every row's cells at once
        names, encoded = zip(*chunk, strict=True)
        slugs.extend(names)
        row_cells, row_lists, row_tags = zip(*encoded, strict=True)
        for dictionary, column in zip(cells, zip(*row_cells, strict=True), strict=True):
            dictionary.extend(column)
        listed.extend(row_lists)
        tagged.extend(row_tags)
    hidden = [i for i, c in enumerate(columns) if not c.shown]
    data = {
        "format": FORMAT,
        "project": project,
        "pageSize": PAGE_SIZE,
        "columns": [
            {
                "name": c.name,
                "label": c.label,
                "type": c.type,
                "sort": c.sort_type,
                **({} if c.shown else {"hidden": True}),
                **({"total": True} if c.total is not None else {}),
            }
            for c in columns
        ],
        "sort": sort,
        "currency": currency,
        "slugs": slugs,
        "lists": list(lists),
        "tags": list(tags),
    }
    parts = {
        "list": listed.encoded() if lists else "null",
        "tagged": tagged.encoded() if tags else "null",
        "cells": _list("null" if i in hidden else d.encoded() for i, d in enumerate(cells)),
    }
    more = None
    if hidden:
        parts["more"] = _json(MORE_FILE)
        rest = {"format": FORMAT, "project": project, "columns": hidden}
        more = _joined(rest, {"cells": _list(cells[i].encoded() for i in hidden)})
    return _joined(data, parts), more


def _joined(data: dict[str, Any], parts: dict[str, str]) -> bytes:
    """``data`` as JSON followed by ``parts``, members already written as JSON text."""
    head = _json(data)[:-1]
    tail = "".join(f",{_json(name)}:{text}" for name, text in parts.items())
    return f"{head}{tail}}}".encode()


def _list(texts: Iterable[str]) -> str:
    return f"[{','.join(texts)}]"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _made_encoder() -> Callable[[Any], str]:
    """``_ENCODER.encode``, or the same encoding by json's C encoder made once: ``encode``
    makes a new one for every value (a table's 350,000 cells: 1.2 us each, 0.5 us so). The
    C encoder's arguments are those ``JSONEncoder.iterencode`` passes it (without the
    circular-reference check: a cell is made of fresh lists), used only where json has it."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it; another Python may not
        return _ENCODER.encode
    encode = make(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )

    def encoded(value: Any) -> str:
        if type(value) is str:
            return json.encoder.encode_basestring(value)  # what ``encode`` does with a str
        return "".join(encode(value, 0))

    return encoded


_json = _made_encoder()


#: Rows encoded at a time (``table_json``): enough for C to do the work per cell.
_CHUNK = 1000

#: The file beside ``table.json`` with the columns hidden at first.
MORE_FILE = "table-more.json"
