"""Views declared in a schema (``x-crmgen.views``): cards, columns, orders and the board's
grouping, their defaults from roles and types, and their errors at the schema's line."""

from __future__ import annotations

from pathlib import Path

from conftest import OPPS_SCHEMA, MakeRepo, record

from crmgen.build import load_dataset
from crmgen.redaction import redact
from crmgen.views import build_site_views

VIEWS = """\
  views:
    card: {fields: [amount, client, confidence, tags]}
    table:
      columns: [list, amount, client]
      sort: -amount
    board:
      sort: {open: -amount, Closed won: confidence}
"""


def schema_with(views: str, extra: str = "") -> str:
    head, props = OPPS_SCHEMA.split("properties:\n", 1)
    return head + views + "properties:\n" + props + extra


DEALS = {
    "data/clients/acme.md": record("title: Acme Corp\nsize: large"),
    "data/clients/globex.md": record("title: Globex\nsize: small"),
    "data/opportunities/a.md": record(
        "title: Alpha\nlist: Lead\namount: 100\nclient: acme\nconfidence: 2\n"
        "tags: [seo, website, branding]\nexpected_close: 2027-01-10"
    ),
    "data/opportunities/b.md": record(
        "title: Beta\nlist: Lead\namount: 900\nclient: globex\nconfidence: 5\n"
        "expected_close: 2026-12-01"
    ),
    "data/opportunities/c.md": record("title: Gamma\nlist: Lead\nclient: acme"),
    "data/opportunities/w1.md": record(
        "title: Won one\nlist: Closed won\namount: 50\nconfidence: 4\nclient: acme"
    ),
    "data/opportunities/w2.md": record(
        "title: Won two\nlist: Closed won\namount: 70\nconfidence: 1\nclient: globex"
    ),
}


def site(root: Path):  # type: ignore[no-untyped-def]
    dataset = load_dataset(root)
    assert [d for d in dataset.diagnostics if d.severity == "error"] == []
    return build_site_views(redact(dataset, None)[0])


def project(view, name: str):  # type: ignore[no-untyped-def]
    return next(p for p in view.projects if p.name == name)


def test_declared_card_columns_and_orders(make_repo: MakeRepo) -> None:
    root = make_repo({"schema/opportunities.schema.yaml": schema_with(VIEWS), **DEALS})
    opps = project(site(root), "opportunities")
    lead, won = opps.board.columns[0], opps.board.columns[2]
    # open lists by amount, largest first, records without an amount last
    assert [c.slug for c in lead.cards] == ["b", "a", "c"]
    # a list named in the sort wins over its kind: Closed won by confidence, ascending
    assert [c.slug for c in won.cards] == ["w2", "w1"]
    alpha = next(c for c in lead.cards if c.slug == "a")
    assert [v.name for v in alpha.primary] == ["amount", "client"]
    assert [v.name for v in alpha.secondary] == ["confidence"]
    assert alpha.tags == ("seo", "website", "branding")  # in the record's order
    table = opps.table
    # the title always first; declared columns shown, every other field one click away
    assert [c.name for c in table.columns if c.shown] == ["title", "list", "amount", "client"]
    assert {c.name for c in table.columns if not c.shown} >= {"tags", "confidence", "cost"}
    assert (table.sort, table.descending) == ("amount", True)
    assert list(table.rows.slugs) == ["b", "a", "w2", "w1", "c"]
    amount = next(c for c in table.columns if c.name == "amount")
    assert amount.total is not None and amount.total.sort == "1120"


def test_many_tags_are_chips_with_a_count(make_repo: MakeRepo) -> None:
    views = "  views:\n    card: {fields: [tags]}\n"
    deal = record("title: Tagged\nlist: Lead\ntags: [seo, website, branding, video, print]")
    schema = schema_with(views).replace("tags: [branding, website, seo]", "tags: []")
    root = make_repo({"schema/opportunities.schema.yaml": schema, "data/opportunities/t.md": deal})
    card = project(site(root), "opportunities").board.columns[0].cards[0]
    assert (card.tags, card.more_tags) == (("seo", "website", "branding"), 2)


def test_a_board_grouped_by_a_select_has_a_column_per_option_found(make_repo: MakeRepo) -> None:
    views = "  views:\n    board: {group: client_size}\n"
    root = make_repo({"schema/opportunities.schema.yaml": schema_with(views), **DEALS})
    board = project(site(root), "opportunities").board
    # a lookup of a select: its values in the order found, then records without one
    assert [c.name for c in board.columns] == ["large", "small"]
    assert [c.count for c in board.columns] == [3, 2]
    assert board.group == "Client size"
    # the weighted total still follows each record's own list
    large = board.columns[0]
    assert (large.total.sort, large.weighted.sort) == ("150", "60")
    assert large.probability == "" and not large.collapsed


def test_defaults_come_from_roles_and_types_not_names(make_repo: MakeRepo) -> None:
    # a deal whose value is "value" and whose agent is a select: no field named amount/owner
    schema = """\
$schema: https://json-schema.org/draft/2020-12/schema
title: Deals
type: object
required: [name, stage]
x-crmgen:
  title: name
  lists:
    - {name: Open, kind: open, probability: 0.5}
    - {name: Won, kind: won, probability: 1}
  roles: {owner: agent}
properties:
  name: {type: string}
  stage: {type: string, x-crmgen: {type: list}}
  agent: {type: string, enum: [Ann, Bob], x-crmgen: {type: select}}
  product: {type: string, x-crmgen: {type: text}}
  value: {type: number, x-crmgen: {type: currency}}
  close_on: {type: string, format: date, x-crmgen: {type: date}}
  account: {type: string, x-crmgen: {type: reference, project: clients}}
"""
    files = {
        "crmgen.yml": "title: T\ncurrency: EUR\nlocale: en_GB\nprojects: [clients, deals]\n",
        "schema/deals.schema.yaml": schema,
        "schema/opportunities.schema.yaml": None,
        "schema/clients.schema.yaml": "$schema: https://json-schema.org/draft/2020-12/schema\n"
        "type: object\nx-crmgen: {title: title}\nproperties:\n  title: {type: string}\n",
        "data/clients/acme.md": record("title: Acme"),
        "data/deals/d1.md": record(
            "name: D1\nstage: Open\nagent: Ann\nvalue: 10\nclose_on: 2027-02-01\naccount: acme"
        ),
        "data/deals/d2.md": record(
            "name: D2\nstage: Open\nagent: Bob\nvalue: 20\nclose_on: 2027-01-01\naccount: acme"
        ),
    }
    root = make_repo(files)
    deals = project(site(root), "deals")
    card = deals.board.columns[0].cards[0]
    assert card.slug == "d2"  # soonest close first in an open list
    assert [v.name for v in card.primary] == ["value", "account"]
    assert [v.name for v in card.secondary] == ["agent", "close_on"]
    assert deals.board.columns[0].total.sort == "30"
    shown = [c.name for c in deals.table.columns if c.shown]
    assert shown[:6] == ["name", "stage", "account", "value", "agent", "close_on"]


def test_wrong_views_are_errors_at_their_line(make_repo: MakeRepo) -> None:
    views = """\
  views:
    card: {fields: [amout, client]}
    table: {columns: [list], sort: -expectd_close}
    board: {group: tags, sort: {Closed wonn: amount}}
"""
    root = make_repo({"schema/opportunities.schema.yaml": schema_with(views)})
    found = [
        (d.line, d.message) for d in load_dataset(root).diagnostics if d.code == "schema-view"
    ]
    assert [line for line, _ in found] == [15, 16, 17, 17]
    text = "\n".join(message for _, message in found)
    assert "'amout' is not a field of opportunities; did you mean 'amount'?" in text
    assert "did you mean 'expected_close'?" in text
    assert "board group 'tags' is a tags field" in text
    assert "board sort 'Closed wonn' is neither a list nor a kind of list" in text
    assert "did you mean 'Closed won'?" in text


def test_too_many_card_fields_is_an_error(make_repo: MakeRepo) -> None:
    views = "  views:\n    card: {fields: [amount, client, cost, confidence, tags]}\n"
    root = make_repo({"schema/opportunities.schema.yaml": schema_with(views)})
    errors = [d for d in load_dataset(root).diagnostics if d.line == 15]
    assert errors and "4" in errors[0].message


def test_a_board_grouped_by_a_field_of_many_values_stays_a_few_columns(
    make_repo: MakeRepo,
) -> None:
    """Grouped by a text field (here the title: one value per record), a board shows the
    largest values and one column of all the others, never a column per record."""
    from crmgen.views import BOARD_GROUPS, OTHER_VALUES

    views = "  views:\n    board: {group: title}\n"
    deals = {
        f"data/opportunities/d{n}.md": record(f"title: Deal {n:02}\nlist: Lead\namount: {n}")
        for n in range(BOARD_GROUPS + 6)
    }
    root = make_repo({"schema/opportunities.schema.yaml": schema_with(views), **deals})
    board = project(site(root), "opportunities").board
    assert len(board.columns) == BOARD_GROUPS
    other = board.columns[-1]
    assert other.name == OTHER_VALUES and other.count == 7
    assert sum(c.count for c in board.columns) == BOARD_GROUPS + 6  # every record, once
