"""Result kinds of formulas and rollups, found from field types before any record is evaluated."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from crmgen.compute import types
from crmgen.compute.expr import ExprError, parse
from crmgen.compute.expr_syntax import Call, Literal
from crmgen.compute.order import plan
from crmgen.compute.paths import PathError
from crmgen.compute.types import check_plan, field_kind, infer, kind_of_value, name_kind
from crmgen.model import FieldSpec, Pos, ProjectSchema


def _field(name: str, type_: str, **more: object) -> FieldSpec:
    return FieldSpec(name, type_, name, **more)  # type: ignore[arg-type]


DEALS = ProjectSchema(
    "deals",
    "schema/deals.schema.yaml",
    "Deals",
    "title",
    (
        _field("title", "text"),
        _field("amount", "currency"),
        _field("won", "checkbox"),
        _field("closed", "date"),
        _field("tags", "tags"),
        _field("stage", "list"),
        _field("client", "reference", target="clients"),
        _field("clients", "reference", target="clients", multiple=True),
        _field("size", "select", schema={"enum": ["s", "m"]}),
        _field("grade", "select", schema={"enum": ["a", 1]}),
        _field("free", "select"),
        _field("doc", "file"),
        _field("docs", "file", multiple=True),
        _field("margin", "formula", expression="amount * 2"),
        _field("label", "formula", expression="title", result="text"),
        _field("any_result", "formula", expression="title", result="nonsense"),
        _field("client_name", "lookup", path="client.title"),
    ),
)
CLIENTS = ProjectSchema(
    "clients",
    "schema/clients.schema.yaml",
    "Clients",
    "title",
    (
        _field("title", "text"),
        _field("since", "date"),
        _field("stage", "list"),
        _field("deals", "referenced-by", target="deals"),
        _field("partner", "reference", target="clients"),
        _field("labels", "tags"),
        _field("max_days", "date"),  # named like a list attribute
    ),
)
SCHEMAS = {"deals": DEALS, "clients": CLIENTS}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "any"),
        (True, "bool"),
        (Decimal(1), "number"),
        ("x", "text"),
        (dt.date(2026, 1, 1), "date"),
        ((), "list"),
    ],
)
def test_kind_of_value(value: object, kind: str) -> None:
    assert kind_of_value(value) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("title", "text"),
        ("amount", "number"),
        ("won", "bool"),
        ("closed", "date"),
        ("tags", "list"),
        ("client", "text"),  # a single reference holds a slug
        ("clients", "list"),
        ("doc", "text"),
        ("docs", "list"),
        ("size", "text"),  # every option is text
        ("grade", "any"),  # options mix numbers and text
        ("free", "any"),  # no options
        ("label", "text"),  # declared result
        ("any_result", "any"),  # a result that is no field type
        ("margin", "any"),  # computed, not known yet
    ],
)
def test_field_kind(name: str, kind: str) -> None:
    spec = DEALS.field(name)
    assert spec is not None
    assert field_kind(spec, {}) == kind


def test_field_kind_of_a_computed_field_already_checked() -> None:
    spec = DEALS.field("margin")
    assert spec is not None
    assert field_kind(spec, {"margin": "number"}) == "number"
    label = DEALS.field("label")
    assert label is not None
    assert field_kind(label, {"label": "date"}) == "date"  # what was found wins


@pytest.mark.parametrize(
    ("project", "dotted", "kind"),
    [
        ("deals", "amount", "number"),
        ("deals", "client.title", "text"),
        ("deals", "client.since", "date"),
        ("deals", "clients.title", "list"),  # through a multiple reference: a list
        ("clients", "deals.amount", "list"),  # through back-links: a list
        ("clients", "deals.grade", "any"),  # unknown stays unknown, even through many
        ("deals", "client.partner.since", "date"),
        ("deals", "clients.partner.since", "list"),
        ("deals", "stage.name", "text"),
        ("deals", "stage.kind", "text"),
        ("deals", "stage.probability", "number"),
        ("deals", "stage.max_days", "number"),
        ("clients", "deals.stage.probability", "list"),
        ("deals", "client_name.title", "any"),  # through a lookup: checked per record
        ("deals", "client.stage.kind", "text"),
        ("deals", "client.max_days", "date"),  # a field, not the list attribute
    ],
)
def test_name_kind(project: str, dotted: str, kind: str) -> None:
    assert name_kind(SCHEMAS, project, dotted, {}) == kind


def test_name_kind_uses_kinds_found_for_computed_fields_of_the_right_project() -> None:
    found = {("deals", "margin"): "number", ("clients", "margin"): "date"}
    assert name_kind(SCHEMAS, "deals", "margin", found) == "number"
    assert name_kind(SCHEMAS, "clients", "deals.margin", found) == "list"
    assert name_kind(SCHEMAS, "clients", "deals.margin", {}) == "any"


def test_name_kind_of_an_unknown_name() -> None:
    with pytest.raises(PathError, match=r"^'nope' is not a field of clients$"):
        name_kind(SCHEMAS, "deals", "client.nope", {})


KINDS = {
    "amount": "number",
    "title": "text",
    "closed": "date",
    "won": "bool",
    "tags": "list",
    "maybe": "any",
}


def kind(text: str) -> str:
    return infer(parse(text), KINDS.__getitem__)


def kind_error(text: str) -> tuple[str, int]:
    with pytest.raises(ExprError) as info:
        kind(text)
    return info.value.message, info.value.col


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "number"),
        ("'x'", "text"),
        ("true", "bool"),
        ("null", "any"),
        ("amount - 1", "number"),
        ("closed + 1", "date"),
        ("closed - closed", "number"),
        ("title + title", "text"),
        ("-amount", "number"),
        ("not won", "bool"),
        ("won and maybe", "bool"),
        ("won or won", "bool"),
        ("amount > 1", "bool"),
        ("title = 'x'", "bool"),
        ("maybe + 1", "any"),
        ("if(won, 1, 2)", "number"),
        ("if(won, 1, 'x')", "any"),  # the branches disagree
        ("if(maybe, closed, closed)", "date"),
        ("coalesce(maybe, 1)", "number"),
        ("coalesce(amount, 'x')", "any"),
        ("number(title)", "number"),  # text may hold a number: not refused
        ("date(title)", "date"),
        ("len(tags)", "number"),
        ("concat(title, amount)", "text"),
        ("max(amount, 1)", "number"),
        ("today()", "date"),
        ("upper(maybe)", "any"),
    ],
)
def test_infer(text: str, expected: str) -> None:
    assert kind(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        # messages speak of the kind, never of the sample value the check used
        ("-title", "'-' before a value needs a number, got text", 1),
        ("1 + -closed", "'-' before a value needs a number, got a date", 5),
        ("not amount", "'not' needs true/false values, got a number; compare it first, as in "
         "amount > 0", 1),
        ("won and amount", "'and' needs true/false values, got a number; compare it first, as "
         "in amount > 0", 9),
        ("won or 1 or won", "'or' needs true/false values, got a number; compare it first, as "
         "in amount > 0", 8),
        ("if(amount, 1, 2)", "'if()' needs true/false values, got a number; compare it first, "
         "as in amount > 0", 1),
        ("1 + if(title, 1, 2)", "'if()' needs true/false values, got text; compare it first, as "
         "in amount > 0", 5),
        ("amount = title", "cannot compare number with text; compare values of the same type, "
         "converting with number(), text() or date() if needed", 8),
        ("amount - title", "cannot subtract text from number; turn text into a number with "
         "number() first", 8),
        ("1 + round(title)", "round() needs a number, got text", 5),
        ("1 + year(amount)", "year() needs a date, got a number", 5),
        ("abs(won)", "abs() needs a number, got true/false", 1),
        ("lower(closed)", "lower() needs text, got a date", 1),
    ],
)  # fmt: skip
def test_infer_errors(text: str, message: str, col: int) -> None:
    assert kind_error(text) == (message, col)


def test_infer_checks_hand_built_trees_too() -> None:
    with pytest.raises(ExprError) as info:
        infer(Call(4, "nope", ()), KINDS.__getitem__)
    assert info.value.message.startswith("unknown function 'nope' at column 4; the functions")
    assert info.value.col == 4
    with pytest.raises(ExprError) as info:
        infer(Call(2, "if", (Literal(5, True),)), KINDS.__getitem__)
    assert (info.value.message, info.value.col) == ("if() takes 3 arguments, got 1 (column 2)", 2)
    with pytest.raises(ExprError) as info:
        infer(types.Expr(7), KINDS.__getitem__)
    assert (info.value.message, info.value.col) == ("cannot check a Expr", 7)


def _checked(*fields: FieldSpec) -> tuple[dict[str, str], set[str], list[tuple[Any, ...]]]:
    deals = ProjectSchema(
        "deals", "schema/deals.schema.yaml", "Deals", "title", DEALS.fields + fields
    )
    schemas = {"deals": deals, "clients": CLIENTS}
    compiled, problems = plan(schemas)
    assert problems == []
    kinds, broken, diags = check_plan(schemas, compiled)
    return (
        {name: kind for (project, name), kind in kinds.items() if project == "deals"},
        {name for _, name in broken},
        [(d.code, d.message, d.path, d.line, d.col, d.field) for d in diags],
    )


def test_rollup_kinds() -> None:
    kinds, broken, diags = _checked(
        _field("n", "rollup", expression="count(clients)"),
        _field("total", "rollup", expression="sum(clients.since where true)"),
        _field("mean", "rollup", expression="avg(clients.title)"),
        _field("names", "rollup", expression="concat(clients.since)"),
        _field("latest", "rollup", expression="max(clients.since)"),
        _field("first_deals", "rollup", expression="min(clients.deals)"),
        _field("odd", "rollup", expression="min(clients.stage.kind)"),
        _field("first_label", "rollup", expression="min(clients.labels)"),
        _field("sum_any", "rollup", expression="sum(clients.deals.grade)"),
        _field("avg_any", "rollup", expression="avg(clients.deals.grade)"),
        _field("any_where", "rollup", expression="count(clients where deals.grade)"),
    )
    assert (kinds["n"], kinds["names"], kinds["latest"]) == ("number", "text", "date")
    assert kinds["first_deals"] == "any"
    assert kinds["first_label"] == "any"  # the minimum of lists: checked per record
    assert kinds["odd"] == "text"
    # a rolled-up field or condition of unknown kind is checked per record, not refused
    assert (kinds["sum_any"], kinds["avg_any"], kinds["any_where"]) == ("number",) * 3
    assert broken == {"total", "mean"}
    assert [message for _, message, *_ in diags] == [
        "mean: avg() adds up numbers, but the rolled-up field is text "
        "(in rollup 'avg(clients.title)')",
        "total: sum() adds up numbers, but the rolled-up field is a date "
        "(in rollup 'sum(clients.since where true)')",
    ]


def test_declared_results_and_conditions_are_checked_at_the_schema() -> None:
    kinds, broken, diags = _checked(
        _field("fine", "formula", expression="amount * 2", result="currency"),
        _field("loose", "formula", expression="maybe_x", result="text"),
        _field("unknown_type", "formula", expression="title", result="nonsense"),
        _field("no_fit", "formula", expression="closed", result="number", pos=Pos(9, 3),
               expression_pos=Pos(9, 40)),
        _field("big", "rollup", expression="count(clients where since)", pos=Pos(10, 3)),
        _field("ok_where", "rollup", expression="count(clients where title = 'x')"),
        _field("maybe_x", "formula", expression="if(won, 1, 'x')"),
    )  # fmt: skip
    assert kinds["fine"] == "number"
    assert kinds["loose"] == "text"  # declared wins over 'any'
    assert kinds["unknown_type"] == "text"  # no field type declared: what was found
    assert kinds["ok_where"] == "number" and kinds["maybe_x"] == "any"
    assert broken == {"no_fit", "big"}
    assert diags == [
        (
            "schema-rollup",
            "big: the condition after 'where' gives a date, not true/false; compare it, as in "
            "where list.kind = \"won\" (in rollup 'count(clients where since)')",
            "schema/deals.schema.yaml", 10, 3, "big",
        ),
        (
            "schema-formula",
            "no_fit: the result is declared as number but the formula gives a date; change "
            "'result' or the formula (in formula 'closed')",
            "schema/deals.schema.yaml", 9, 40, "no_fit",
        ),
    ]  # fmt: skip
