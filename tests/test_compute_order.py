"""The dependency graph of computed fields: rollup links, what each field reads, the order."""

from __future__ import annotations

from typing import Any

import pytest

from crmgen.compute.order import plan, rollup_target
from crmgen.compute.paths import PathError
from crmgen.model import FieldSpec, ProjectSchema


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
        _field("total", "rollup", expression="sum(deals.amount where amount > 1)"),
        _field("deals", "referenced-by", target="deals", via="client"),
    )
    found, diags = plan(schemas)
    assert diags == []
    order = list(found.order)
    assert order.index(("clients", "total")) < order.index(("clients", "double"))
    assert found.reads[("clients", "double")] == {("clients", "total")}
    assert found.reads[("clients", "total")] == {("clients", "deals"), ("deals", "amount")}
    assert found.reads[("clients", "deals")] == {("deals", "client")}  # via client only
    assert found.reads[("delivery", "deals")] == frozenset()  # nothing in deals points there
    assert found.rollup_targets[("clients", "total")] == "deals"
