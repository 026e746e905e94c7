"""The dependency graph of computed fields: rollup links, what each field reads, the order."""

from __future__ import annotations

from typing import Any

import pytest

from crmgen.compute.order import plan, rollup_target
from crmgen.compute.paths import PathError
from crmgen.model import FieldSpec, Pos, ProjectSchema


def _field(name: str, type_: str, **more: Any) -> FieldSpec:
    return FieldSpec(name, type_, name, **more)


def _schema(name: str, *fields: FieldSpec) -> ProjectSchema:
    return ProjectSchema(name, f"schema/{name}.schema.yaml", name.title(), "title", fields)


SCHEMAS = {
    "people": _schema("people", _field("title", "text")),
    "clients": _schema(
        "clients",
        _field("title", "text"),
        _field("owner", "reference", target="people"),
    ),
    "deals": _schema(
        "deals",
        _field("title", "text"),
        _field("amount", "currency"),
        _field("client", "reference", target="clients"),
        _field("clients", "reference", target="clients", multiple=True),
        _field("client_title", "lookup", path="client.title"),
        _field("client_owner", "lookup", path="client.owner"),
    ),
    "delivery": _schema(
        "delivery",
        _field("title", "text"),
        _field("deal", "reference", target="deals"),
        _field("owner", "lookup", path="deal.client.owner"),
        _field("deals", "referenced-by", target="deals"),
    ),
}


@pytest.mark.parametrize(
    ("project", "link", "target", "nodes"),
    [
        ("deals", "client", "clients", [("deals", "client")]),
        ("deals", "clients", "clients", [("deals", "clients")]),
        ("deals", "client_owner", "people", [("deals", "client_owner")]),
        # a lookup of a lookup's reference: the project of its last step
        ("delivery", "owner", "people", [("delivery", "owner")]),
        ("clients", "deals", "deals", [("deals", "client"), ("deals", "clients")]),
    ],
)
def test_rollup_target(project: str, link: str, target: str, nodes: list[Any]) -> None:
    assert rollup_target(SCHEMAS, project, link) == (target, nodes)


@pytest.mark.parametrize(
    ("project", "link", "message"),
    [
        ("deals", "title", "'title' is not a reference, so there is nothing to roll up"),
        ("deals", "client_title", "'client_title' is not a reference, so there is nothing to "
         "roll up"),
        ("people", "delivery", "no field of delivery references people, so there is nothing "
         "to roll up; add a reference field to that project"),
        ("deals", "clints", "'clints' is neither a reference field of deals nor a project; "
         "did you mean 'clients'?"),
    ],
)  # fmt: skip
def test_rollup_target_errors(project: str, link: str, message: str) -> None:
    with pytest.raises(PathError) as info:
        rollup_target(SCHEMAS, project, link)
    assert str(info.value) == message


def test_plan_orders_fields_after_what_they_read_and_records_the_reads() -> None:
    schemas = dict(SCHEMAS)
    schemas["clients"] = _schema(
        "clients",
        _field("title", "text"),
        _field("owner", "reference", target="people"),
        _field("double", "formula", expression="total * 2"),
        _field("total", "rollup", expression="sum(deals.amount where title != 'x')"),
        _field("deals", "referenced-by", target="deals", via="client"),
    )
    found, diags = plan(schemas)
    assert diags == []
    order = list(found.order)
    assert order.index(("clients", "total")) < order.index(("clients", "double"))
    assert found.reads[("clients", "double")] == {("clients", "total")}
    assert found.reads[("clients", "total")] == {
        ("clients", "deals"),
        ("deals", "amount"),
        ("deals", "title"),  # in the condition
    }
    assert found.reads[("clients", "deals")] == {("deals", "client")}  # via client only
    assert found.reads[("delivery", "deals")] == frozenset()  # nothing in deals points there
    assert found.rollup_targets[("clients", "total")] == "deals"


def test_plan_computes_every_dependency_first() -> None:
    schemas = {
        "deals": _schema(
            "deals",
            _field("title", "text"),
            _field("a_total", "formula", expression="b_part + c_part"),
            _field("b_part", "formula", expression="len(title)"),
            _field("c_part", "formula", expression="d_part * 2"),
            _field("d_part", "formula", expression="len(title)"),
        )
    }
    found, diags = plan(schemas)
    assert diags == []
    order = [name for _, name in found.order]
    for dependency, reader in [("b_part", "a_total"), ("c_part", "a_total"), ("d_part", "c_part")]:
        assert order.index(dependency) < order.index(reader), (dependency, reader)


def test_a_cycle_and_everything_behind_it_is_left_out_and_reported() -> None:
    schemas = {
        "deals": _schema(
            "deals",
            _field("title", "text"),
            _field("partner", "reference", target="deals"),
            _field("a", "formula", expression="b + 1", pos=Pos(7, 3)),
            _field("b", "formula", expression="a + 1", pos=Pos(8, 3)),
            _field("c", "formula", expression="a * 2"),
            _field("d", "formula", expression="c * 2"),
            _field("e", "formula", expression="len(title)"),
            _field("me", "formula", expression="me + 1", pos=Pos(12, 3)),
            # a lookup of the same field on another record is no cycle
            _field("chain", "lookup", path="partner.chain"),
        )
    }
    found, diags = plan(schemas)
    assert found.order == (("deals", "chain"), ("deals", "e"))
    assert [(d.code, d.message, d.path, d.line, d.col, d.field) for d in diags] == [
        (
            "cycle",
            "computed fields depend on each other in a cycle: deals.a -> deals.b -> deals.a; "
            "break the cycle",
            "schema/deals.schema.yaml", 7, 3, "a",
        ),
        (
            "cycle",
            "computed fields depend on each other in a cycle: deals.me -> deals.me; "
            "break the cycle",
            "schema/deals.schema.yaml", 12, 3, "me",
        ),
    ]  # fmt: skip


def test_a_name_that_leads_nowhere_is_an_error_at_the_expression() -> None:
    schemas = {
        "deals": _schema(
            "deals",
            _field("title", "text"),
            _field("client", "reference", target="clients"),
            _field("bad", "formula", expression="titel", pos=Pos(5, 3), expression_pos=Pos(5, 30)),
            _field("bad_path", "lookup", path="client.nope", pos=Pos(6, 3)),
            _field("bad_roll", "rollup", expression="sum(title.x)", pos=Pos(7, 3)),
        ),
        "clients": _schema("clients", _field("title", "text")),
    }
    found, diags = plan(schemas)
    assert found.order == ()
    assert [(d.code, d.message, d.path, d.line, d.col, d.field) for d in diags] == [
        (
            "schema-formula",
            "bad: 'titel' is not a field of deals; did you mean 'title'? (in formula 'titel')",
            "schema/deals.schema.yaml", 5, 30, "bad",
        ),
        (
            "schema-lookup",
            "bad_path: 'nope' is not a field of clients (in lookup 'client.nope')",
            "schema/deals.schema.yaml", 6, 3, "bad_path",
        ),
        (
            "schema-rollup",
            "bad_roll: 'title' is not a reference, so there is nothing to roll up "
            "(in rollup 'sum(title.x)')",
            "schema/deals.schema.yaml", 7, 3, "bad_roll",
        ),
    ]  # fmt: skip
