"""Dotted names through references, back-links, lookups and lists: what they read, their values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crmgen.compute.paths import PathError, resolve, target_field, walk
from crmgen.model import FieldSpec, ListSpec, Pos, ProjectSchema, Record


def _field(name: str, type_: str, **more: Any) -> FieldSpec:
    return FieldSpec(name, type_, name, **more)


DEALS = ProjectSchema(
    "deals",
    "schema/deals.schema.yaml",
    "Deals",
    "title",
    (
        _field("title", "text"),
        _field("stage", "list"),
        _field("labels", "tags"),
        _field("client", "reference", target="clients"),
        _field("clients", "reference", target="clients", multiple=True),
        _field("client_partner", "lookup", path="client.partner"),
        _field("partners", "lookup", path="clients.partner"),
        _field("client_title", "lookup", path="client.title"),
        _field("rival_client", "lookup", path="client.rival.client"),
        _field("client_deals", "lookup", path="client.deals"),
    ),
    lists=(ListSpec("Won", "won", Decimal(1)), ListSpec("Lead", "open", Decimal("0.1"), 30)),
)
CLIENTS = ProjectSchema(
    "clients",
    "schema/clients.schema.yaml",
    "Clients",
    "title",
    (
        _field("title", "text"),
        _field("name", "text"),  # named like a list attribute, but no list
        _field("kind", "text"),
        _field("partner", "reference", target="clients"),
        _field("rival", "reference", target="deals"),
        _field("deals", "referenced-by", target="deals"),
        _field("stage", "list"),
    ),
)
SCHEMAS = {"deals": DEALS, "clients": CLIENTS}


def _record(project: str, slug: str, values: dict[str, Any], **computed: Any) -> Record:
    return Record(
        project, slug, f"data/{project}/{slug}.md", values, {"title": Pos(2)}, computed=computed
    )


RECORDS = {
    "clients": {
        "acme": _record(
            "clients",
            "acme",
            {"title": "Acme", "name": "ACME Ltd", "kind": "big", "partner": "globex"},
            deals=("deals/d1", "deals/d2", "deals/d3"),
        ),
        "globex": _record("clients", "globex", {"title": "Globex", "name": "Globex Inc"}),
    },
    "deals": {
        "d1": _record(
            "deals",
            "d1",
            {
                "title": "D1",
                "stage": "Won",
                "labels": ("x", "y"),
                "client": "acme",
                "clients": ("acme", "globex"),
            },
            client_partner="globex",
            partners=("globex",),
        ),
        "d2": _record("deals", "d2", {"title": "D2"}, client_partner=None, partners=()),
        "d3": _record("deals", "d3", {"title": "D3", "stage": "Lead", "labels": ("z",)}),
    },
}


def value(project: str, slug: str, dotted: str) -> Any:
    return resolve(
        SCHEMAS,
        RECORDS[project][slug],
        dotted,
        lambda p, s: RECORDS.get(p, {}).get(s),
        lambda record, name: record.get(name),
    )


@pytest.mark.parametrize(
    ("project", "slug", "dotted", "expected"),
    [
        ("deals", "d1", "title", "D1"),
        ("deals", "d1", "client.title", "Acme"),
        ("deals", "d1", "client.name", "ACME Ltd"),  # a field, not the list's name
        ("deals", "d1", "client.kind", "big"),
        ("deals", "d1", "client.partner.title", "Globex"),
        ("deals", "d1", "clients.title", ("Acme", "Globex")),
        ("deals", "d1", "clients.partner.title", ("Globex",)),
        ("deals", "d1", "stage.kind", "won"),
        ("deals", "d3", "stage.max_days", 30),
        ("deals", "d2", "stage.kind", None),
        ("clients", "acme", "deals.title", ("D1", "D2", "D3")),
        ("clients", "acme", "deals.labels", ("x", "y", "z")),  # lists are flattened
        ("clients", "acme", "deals.stage.kind", ("won", "open")),  # d2 has no stage
        ("clients", "acme", "deals.stage.probability", (Decimal(1), Decimal("0.1"))),
        # an empty reference on the way: nothing, or no items through a list
        ("deals", "d2", "client.partner.title", None),
        ("deals", "d2", "client.title", None),
        ("deals", "d2", "clients.partner.title", ()),
        ("clients", "globex", "partner.partner.title", None),
        ("clients", "globex", "deals.client.title", ()),
        # through a lookup of a reference: on to the record it names
        ("deals", "d1", "client_partner.title", "Globex"),
        ("deals", "d1", "partners.title", ("Globex",)),
        ("deals", "d2", "partners.title", ()),
        # an empty lookup of a single reference: nothing (null), not an empty list
        ("deals", "d2", "client_partner.title", None),
    ],
)
def test_resolve(project: str, slug: str, dotted: str, expected: Any) -> None:
    assert value(project, slug, dotted) == expected


def test_walk_lists_every_field_a_name_reads() -> None:
    assert walk(SCHEMAS, "deals", "client.partner.title") == [
        ("deals", "client"),
        ("clients", "partner"),
        ("clients", "title"),
    ]
    assert walk(SCHEMAS, "deals", "stage.kind") == [("deals", "stage")]
    assert walk(SCHEMAS, "deals", "client_partner.title") == [
        ("deals", "client_partner"),
        ("deals", "client"),
        ("clients", "partner"),
        ("clients", "title"),
    ]
    assert walk(SCHEMAS, "deals", "rival_client.title") == [
        ("deals", "rival_client"),
        ("deals", "client"),
        ("clients", "rival"),
        ("deals", "client"),
        ("clients", "title"),
    ]
    assert walk(SCHEMAS, "clients", "deals.stage.kind") == [
        ("clients", "deals"),
        ("deals", "stage"),
    ]


@pytest.mark.parametrize(
    ("project", "dotted", "message"),
    [
        ("deals", "clent.title", "'clent' is not a field of deals; did you mean 'client'?"),
        ("deals", "title.size", "'title' in 'title.size' is a text field, not a reference; "
         "only references can be followed with '.'"),
        ("deals", "stage.colour", "'stage' in 'stage.colour' is a list field, not a reference; "
         "only references can be followed with '.'"),
        ("deals", "client_title.x", "'client_title' in 'client_title.x' is not a reference, so "
         "nothing can be looked up through it"),
        ("deals", "client_deals.title", "'client_deals' in 'client_deals.title' is not a "
         "reference, so nothing can be looked up through it"),  # only a lookup of a reference
        ("invoices", "title", "project 'invoices' has no usable schema; fix the errors "
         "reported for schema/invoices.schema.yaml first"),
    ],
)  # fmt: skip
def test_walk_errors(project: str, dotted: str, message: str) -> None:
    with pytest.raises(PathError) as info:
        walk(SCHEMAS, project, dotted)
    assert str(info.value) == message


def test_target_field() -> None:
    assert target_field(SCHEMAS, "deals", "client.partner") == CLIENTS.field("partner")
    assert target_field(SCHEMAS, "deals", "stage") == DEALS.field("stage")
    assert target_field(SCHEMAS, "deals", "stage.kind") is None  # a list attribute
    assert target_field(SCHEMAS, "deals", "client.stage") == CLIENTS.field("stage")
    assert target_field(SCHEMAS, "deals", "client_partner.title") == CLIENTS.field("title")
