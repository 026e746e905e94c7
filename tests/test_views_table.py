"""Table pages, their pager and ``table.json``; board columns and back-lists at scale.

``decode`` reads ``table.json`` the way ``site.js`` does; every row decodes to the cells of the
HTML table, and nothing an audience may not see is in the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_views import SECRETS, field, make_dataset, opportunities, rec, site_for

from crmgen.fields.formatting import Display, LinkView
from crmgen.model import frozen_map
from crmgen.views import BACKLINKS, BOARD_CARDS, data_files
from crmgen.views import pages as site_pages
from crmgen.views import table as table_module
from crmgen.views.html import value_html
from crmgen.views.table import PAGE_SIZE, encode_row, pager, table_json


def _index(column: dict[str, Any], count: int) -> list[int]:
    if column["index"] is None:
        return list(range(count))
    width = column["width"]
    text = column["index"]
    return [int(text[i * width : (i + 1) * width], 36) for i in range(count)]


def _link(link: list[str]) -> LinkView:
    if len(link) == 1:
        return LinkView(link[0])
    href = link[1][1:] + link[0] if link[1].startswith("=") else link[1]
    flag = link[2] if len(link) > 2 else ""
    return LinkView(link[0], href, external=flag == "x", download=flag == "d")


def decode(data: dict[str, Any]) -> list[dict[str, Display]]:
    """Each row of ``table.json`` as field -> Display (what the script draws)."""
    count = len(data["slugs"])
    columns = [
        (c, _index(cells, count)) for c, cells in zip(data["columns"], data["cells"], strict=True)
    ]
    rows = []
    for row, slug in enumerate(data["slugs"]):
        out = {}
        for (column, index), cells in zip(columns, data["cells"], strict=True):
            cell = cells["values"][index[row]]
            out[column["name"]] = _display(cell, data["project"], slug)
        rows.append(out)
    return rows


def _display(cell: list[Any] | None, project: str, slug: str) -> Display:
    if cell is None:
        return Display("empty", "", "")
    kind, sort = cell[0], cell[1]
    if kind == "r":
        link = LinkView(cell[2], f"{project}/{slug}.html")
        return Display("links", cell[2], sort or cell[2].casefold(), (link,))
    if kind == "l":
        links = tuple(_link(link) for link in cell[2])
        text = ", ".join(link.label for link in links)
        return Display("links", text, sort or text.casefold(), links)
    if kind == "b":
        return Display("badges", ", ".join(cell[2]), sort or " ".join(cell[2]), (), tuple(cell[2]))
    if kind == "s":
        return Display("stars", cell[2], sort or cell[2].casefold(), (), (), cell[3])
    links = tuple(_link(link) for link in cell[3])
    return Display("text", cell[2], sort or cell[2].casefold(), links)


def _files(site: Any) -> dict[str, bytes]:
    return {path: make() for path, _, make in data_files(site)}


def _table(files: dict[str, bytes], project: str) -> dict[str, Any]:
    """A project's ``table.json`` with the columns of ``table-more.json`` in their places
    (what the script has once it loaded both)."""
    data = json.loads(files[f"{project}/table.json"])
    if "more" in data:
        more = json.loads(files[f"{project}/{data.pop('more')}"])
        assert more["format"] == data["format"] and more["project"] == project
        for at, cells in zip(more["columns"], more["cells"], strict=True):
            assert data["cells"][at] is None and data["columns"][at].get("hidden")
            data["cells"][at] = cells
    assert all(cells is not None for cells in data["cells"])
    return data


@pytest.mark.parametrize("audience", [None, "managers"])
def test_every_row_of_the_json_draws_the_cells_of_the_html_table(audience: str | None) -> None:
    site = site_for(make_dataset(), audience)
    for project in site.projects:
        data = _table(_files(site), project.name)
        assert data["slugs"] == [row.slug for row in project.table.rows]
        assert [c["name"] for c in data["columns"]] == [c.name for c in project.table.columns]
        for row, decoded in zip(project.table.rows, decode(data), strict=True):
            for cell in row.cells:
                # the same HTML, whichever side draws it
                assert value_html(decoded[cell.name]) == cell.html, (row.slug, cell.name)


def test_the_json_holds_nothing_the_audience_may_not_see() -> None:
    text = "\n".join(content.decode() for content in _files(site_for(make_dataset())).values())
    for secret in SECRETS:
        assert secret not in text, secret
    managers = "\n".join(
        content.decode() for content in _files(site_for(make_dataset(), "managers")).values()
    )
    assert "18123" in managers  # the same values are there for their audience


def test_hostile_text_stays_text_in_the_json() -> None:
    site = site_for(make_dataset(), "managers")
    acme = _table(_files(site), "clients")
    rows = dict(zip(acme["slugs"], decode(acme), strict=True))
    website = rows["acme"]["website"]
    assert website.links and website.links[0].href == ""  # javascript: is never a link
    assert "<" not in json.dumps(acme["columns"])


def _many(count: int, **extra: Any) -> Any:
    """The test dataset with ``count`` more leads, all of the client acme."""
    dataset = make_dataset()
    project = dataset.projects["opportunities"]
    records = dict(project.records)
    for n in range(count):
        values = {"title": f"Deal {n:04}", "list": "Lead", "client": "acme", **extra}
        records[f"deal-{n:04}"] = rec("opportunities", f"deal-{n:04}", values)
    clients = dict(dataset.projects["clients"].records)
    acme = clients["acme"]
    slugs = tuple(sorted([*acme.linked_from("opportunities"), *records]))
    clients["acme"] = dataclasses.replace(
        acme, backlinks=frozen_map({"opportunities": frozen_map({"client": slugs})})
    )
    projects = {
        "clients": dataclasses.replace(dataset.projects["clients"], records=frozen_map(clients)),
        "opportunities": dataclasses.replace(project, records=frozen_map(records)),
    }
    return dataclasses.replace(dataset, projects=frozen_map(projects))


def test_a_big_table_is_paged_and_each_row_is_on_one_page() -> None:
    site = site_for(_many(250))
    table_pages = [p for p in site_pages(site)[0] if p.template == "table.html"]
    deals = [p for p in table_pages if p.path.startswith("opportunities/")]
    assert [p.path for p in deals] == [
        "opportunities/index.html", "opportunities/page_2.html", "opportunities/page_3.html",
    ]  # fmt: skip
    slugs = [row.slug for page in deals for row in page.build_context()["rows"]]
    assert slugs == [row.slug for row in opportunities(site).table.rows]
    assert [len(page.build_context()["rows"]) for page in deals] == [PAGE_SIZE, PAGE_SIZE, 53]
    last = deals[-1].build_context()["pager"]
    assert (last.first, last.last, last.rows, last.next) == (201, 253, 253, "")
    assert last.previous == "opportunities/page_2.html"


def test_the_pager_shows_a_window_of_pages_with_gaps() -> None:
    view = pager("deals", 6, 1000, size=10)  # 100 pages
    numbers = [(link.number, bool(link.href), link.current) for link in view.pages]
    assert numbers == [
        (1, True, False), (2, False, False), (4, True, False), (5, True, False),
        (6, True, True), (7, True, False), (8, True, False), (9, False, False),
        (100, True, False),
    ]  # fmt: skip
    assert (view.first, view.last, view.count) == (51, 60, 100)
    empty = pager("deals", 1, 0)
    assert (empty.count, empty.first, empty.last, empty.pages[0].current) == (1, 0, 0, True)


def test_a_board_column_shows_its_first_cards_and_counts_the_rest() -> None:
    site = site_for(_many(BOARD_CARDS + 7))
    board = opportunities(site).board
    lead = next(c for c in board.columns if c.name == "Lead")
    assert lead.count == BOARD_CARDS + 8  # small-lead was a lead already
    assert len(lead.cards) == BOARD_CARDS
    assert lead.more == 8
    assert lead.more_href == "opportunities/index.html?list=Lead"
    others = [c for c in board.columns if c.name != "Lead"]
    assert all(c.more == 0 and c.more_href == "" for c in others)


def test_closed_lists_show_the_latest_closed_first_and_open_ones_the_soonest() -> None:
    dataset = _many(0)
    project = dataset.projects["opportunities"]
    fields = (*project.schema.fields, field("closed", "date"), field("expected_close", "date"))
    schema = dataclasses.replace(
        project.schema, fields=fields, roles=frozen_map({"close": "closed"})
    )
    records = {
        f"{kind}-{n}": rec("opportunities", f"{kind}-{n}", {"title": kind, "list": lst, **v})
        for kind, lst in (("won", "Closed won"), ("lead", "Lead"))
        for n, v in enumerate([
            {"closed": dt.date(2025, 3, 1), "expected_close": dt.date(2027, 1, 1)},
            {},
            {"closed": dt.date(2026, 5, 1), "expected_close": dt.date(2026, 12, 1)},
            {"closed": dt.date(2024, 1, 9), "expected_close": dt.date(2026, 12, 20)},
        ])
    }  # fmt: skip
    project = dataclasses.replace(project, schema=schema, records=frozen_map(records))
    projects = {**dataset.projects, "opportunities": project}
    board = opportunities(site_for(dataclasses.replace(dataset, projects=frozen_map(projects))))
    cards = {c.name: [card.slug for card in c.cards] for c in board.board.columns}
    assert cards["Closed won"] == ["won-2", "won-0", "won-3", "won-1"]  # no date last
    assert cards["Lead"] == ["lead-2", "lead-3", "lead-0", "lead-1"]


def test_long_back_link_lists_end_in_a_link_to_the_filtered_table() -> None:
    dataset = _many(BACKLINKS + 30)
    total = len(dataset.projects["clients"].records["acme"].linked_from("opportunities"))
    site = site_for(dataset)
    acme = next(r for p in site.projects if p.name == "clients" for r in p.records)
    group = next(g for g in acme.referenced_by if g.project == "opportunities")
    assert len(group.links) == BACKLINKS and group.more == total - BACKLINKS
    assert group.more_href == "opportunities/index.html?ref=clients%2Facme.html"
    assert [link.label for link in group.links] == sorted(
        (link.label for link in group.links), key=str.casefold
    )


def test_a_short_back_link_list_is_whole() -> None:
    site = site_for(_many(BACKLINKS + 2))  # 25 links: not worth a "5 more"
    acme = next(r for p in site.projects if p.name == "clients" for r in p.records)
    group = next(g for g in acme.referenced_by if g.project == "opportunities")
    assert len(group.links) == BACKLINKS + 5 and group.more == 0


def test_table_json_is_compact() -> None:
    """Values used by many rows are written once; row positions are base-36 digits."""
    site = site_for(_many(300))
    table = opportunities(site).table
    rows = [(row.slug, encode_row(row, True)) for row in table.rows]
    first, rest = table_json("opportunities", table.columns, rows, table.lists, table.tags)
    data = json.loads(first)
    client = data["cells"][[c["name"] for c in data["columns"]].index("client")]
    assert len(client["values"]) == 2 and client["width"] == 1  # acme and globex
    assert len(client["index"]) == len(data["slugs"])
    # the columns hidden at first are in the other file, and only there
    hidden = [i for i, c in enumerate(data["columns"]) if c.get("hidden")]
    assert hidden and all(data["cells"][i] is None for i in hidden)
    assert rest is not None and data["more"] == "table-more.json"
    more = json.loads(rest)
    assert more["columns"] == hidden
    for cells in more["cells"]:  # every row has its cell there
        count = len(cells["values"]) if cells["index"] is None else len(cells["index"])
        assert count == len(data["slugs"]) * max(1, cells["width"])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@given(JSON_VALUES)
def test_cells_are_written_as_json_dumps_writes_them(value: Any) -> None:
    """``table.json``'s cells go through json's C encoder made once: the same text as
    ``json.dumps`` with the table's separators, for any value a cell holds."""
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert table_module._json(value) == expected
    assert json.loads(table_module._json(value)) == value
