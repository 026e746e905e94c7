"""Tests of the formula language's evaluation: operators, functions, nulls, limits, rollups."""

from __future__ import annotations

import datetime as dt
import decimal
import operator
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.compute import expr
from crmgen.compute.expr import ExprError, Value, aggregate, evaluate, parse, parse_rollup
from crmgen.compute.expr_syntax import FUNCTIONS, MAX_DEPTH, Call, Literal

TODAY = dt.date(2026, 1, 15)

FIELDS: dict[str, Any] = {
    "amount": Decimal("1000.50"),
    "cost": 400,  # ints from resolve count as numbers
    "zero": Decimal(0),
    "rating": 4,
    "won": True,
    "lost": False,
    "title": "Acme website",
    "close": dt.date(2026, 3, 1),
    "created": dt.datetime(2025, 12, 1, 9, 30),  # datetimes are read as dates
    "tags": ["seo", "website"],
    "amounts": (Decimal(3), None, 5, Decimal("1.5")),
    "dates": (dt.date(2025, 1, 2), dt.date(2024, 5, 6)),
    "empty": (),
    "nothing": None,
    "ratio": 0.25,  # a float is read exactly as written
    "address": {"street": "1 Main St", "city": "Springfield", "postcode": ""},
    "list.kind": "won",
    "list.probability": Decimal("0.5"),
    "client.size": None,
}


def resolve(name: str) -> Any:
    return FIELDS[name]


def run(text: str, fields: Callable[[str], Any] = resolve, today: dt.date = TODAY) -> Value:
    return evaluate(parse(text), fields, today)


def fails(text: str, fields: Callable[[str], Any] = resolve) -> tuple[str, int]:
    with pytest.raises(ExprError) as info:
        run(text, fields)
    return info.value.message, info.value.col


D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # arithmetic, exact decimals, precedence
        ("amount - cost", D("600.50")),
        ("0.1 + 0.2", D("0.3")),
        ("0.1 + 0.2 = 0.3", True),
        ("1 + 2 * 3", D(7)),
        ("(1 + 2) * 3", D(9)),
        ("10 - 4 - 3", D(3)),
        ("2 * 3 % 4", D(2)),
        ("7 / 2", D("3.5")),
        ("1 / 3", D("0.3333333333333333333333333333")),
        ("7 % 3", D(1)),
        ("-7 % 3", D(-1)),
        ("-2 * -3", D(6)),
        ("+5 - -5", D(10)),
        ("- (2 + 3) * 2", D(-10)),
        ("amount * list.probability", D("500.250")),
        ("rating * 2", D(8)),
        ("ratio * 4", D("1.00")),
        ("1e3 + .5", D("1000.5")),
        # text
        ("title + '!'", "Acme website!"),
        ("'a' + \"b\"", "ab"),
        # dates
        ("close + 10", dt.date(2026, 3, 11)),
        ("10 + close", dt.date(2026, 3, 11)),
        ("close - 1", dt.date(2026, 2, 28)),
        ("close - today()", D(45)),
        ("today() - created", D(45)),
        ("close > today()", True),
        ("close + 0.0", dt.date(2026, 3, 1)),
        # comparisons
        ("1 = 1.0", True),
        ("1 == 2", False),
        ("1 != 2", True),
        ("1 <> 1", False),
        ("2 < 3", True),
        ("3 <= 3", True),
        ("3 > 3", False),
        ("3 >= 4", False),
        ("'abc' < 'abd'", True),
        ("won = true", True),
        ("false < true", True),
        ("list.kind = 'won'", True),
        ("tags = tags", True),
        # logic
        ("1 < 2 and 2 < 3", True),
        ("won and lost", False),
        ("won or lost", True),
        ("not won", False),
        ("not lost and won", True),
        ("lost or lost or won", True),
        ("not 1 = 2", True),
        ("won or 1 / 0 = 1", True),  # short circuit
        ("lost and 1 / 0 = 1", False),
        # keywords ignore case
        ("TRUE AND NOT False", True),
        ("NULL", None),
    ],
)
def test_operators(text: str, expected: Value) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # null propagates through arithmetic and ordering
        ("nothing + 1", None),
        ("1 - nothing", None),
        ("nothing * nothing", None),
        ("-nothing", None),
        ("nothing < 1", None),
        ("client.size >= 10", None),
        ("nothing + 'a'", None),
        # but = and != compare it normally
        ("nothing = null", True),
        ("nothing != null", False),
        ("amount = null", False),
        ("null = amount", False),
        ("amount != null", True),
        # and/or/not read it as false
        ("nothing and true", False),
        ("nothing or true", True),
        ("nothing or nothing", False),
        ("not nothing", True),
        ("not (nothing > 1)", True),
        # if takes the else branch
        ("if(nothing, 1, 2)", D(2)),
        ("if(nothing > 1, 1, 2)", D(2)),
        # functions of null
        ("round(nothing)", None),
        ("round(1.25, nothing)", None),
        ("abs(nothing)", None),
        ("year(nothing)", None),
        ("days_between(nothing, close)", None),
        ("date(2025, nothing, 1)", None),
        ("lower(nothing)", None),
        ("text(nothing)", None),
        ("number(nothing)", None),
        ("len(nothing)", D(0)),
        ("contains(nothing, 'a')", False),
        ("contains(tags, nothing)", False),
        ("concat('a', nothing, 'b')", "ab"),
        ("coalesce(nothing, client.size)", None),
        ("sum(nothing)", D(0)),
        ("count(nothing)", D(0)),
        ("avg(nothing)", None),
        ("min(nothing, nothing)", None),
    ],
)
def test_null_rules(text: str, expected: Value) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if(won, 'yes', 'no')", "yes"),
        ("if(amount > 1000, 1, 0)", D(1)),
        ("if(won, 1, 1 / 0)", D(1)),  # only the taken branch is evaluated
        ("if(lost, 1 / 0, 2)", D(2)),
        ("round(2.345, 2)", D("2.35")),
        ("round(2.5)", D(3)),
        ("round(-2.5)", D(-3)),
        ("round(1.0049, 2)", D("1.00")),
        ("round(amount)", D(1001)),
        ("round(1, 10)", D("1.0000000000")),
        ("min(3, 1, 2)", D(1)),
        ("max(3, 1, 2)", D(3)),
        ("min(amounts)", D("1.5")),
        ("max(amounts)", D(5)),
        ("max(tags)", "website"),
        ("min(dates)", dt.date(2024, 5, 6)),
        ("max(close, today())", dt.date(2026, 3, 1)),
        ("min(empty)", None),
        ("abs(-3.5)", D("3.5")),
        ("abs(cost - amount)", D("600.50")),
        ("concat(title, ': ', amount)", "Acme website: 1000.50"),
        ("concat(tags)", "seo, website"),
        ("concat(won, ' ', close, ' ', 1e3)", "true 2026-03-01 1000"),
        ("days_between(today(), close)", D(45)),
        ("days_between(close, today())", D(-45)),
        ("today()", TODAY),
        ("year(close)", D(2026)),
        ("month(close)", D(3)),
        ("day(close)", D(1)),
        ("date(2025, 2, 28)", dt.date(2025, 2, 28)),
        ("date('2024-02-29')", dt.date(2024, 2, 29)),
        ("len(title)", D(12)),
        ("len(tags)", D(2)),
        ("len(empty)", D(0)),
        ("lower(title)", "acme website"),
        ("upper(title)", "ACME WEBSITE"),
        ("coalesce(nothing, amount, 1 / 0)", D("1000.50")),  # lazy like if
        ("coalesce(nothing, client.size, 0)", D(0)),
        ("sum(amounts)", D("9.5")),
        ("sum(3, 4)", D(7)),
        ("sum(empty)", D(0)),
        ("count(amounts)", D(3)),
        ("count(tags)", D(2)),
        ("avg(amounts)", D("3.166666666666666666666666667")),
        ("avg(2, 4)", D(3)),
        ("contains(tags, 'seo')", True),
        ("contains(tags, 'SEO')", False),
        ("contains(amounts, 5)", True),
        ("contains(amounts, '5')", False),
        ("contains(title, 'web')", True),
        ("text(amount)", "1000.50"),
        ("text(1e3)", "1000"),
        ("text(-0.0)", "0"),
        ("text(close)", "2026-03-01"),
        ("text(won)", "true"),
        ("text(tags)", "seo, website"),
        ("text(address)", "1 Main St, Springfield"),
        ("number('12.5')", D("12.5")),
        ("number(' -3 ')", D(-3)),
        ("number('1e3')", D("1E+3")),
        ("number(amount)", D("1000.50")),
        ("Round(1.5) + ABS(-1)", D(3)),
    ],
)
def test_functions(text: str, expected: Value) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_names_pass_to_resolve_whole_and_once() -> None:
    asked: list[str] = []

    def fields(name: str) -> Any:
        asked.append(name)
        return 2

    assert run("opportunity.client.size * opportunity.client.size + x", fields) == D(6)
    assert asked == ["opportunity.client.size", "x"]


def test_hand_built_trees_are_checked_too() -> None:
    with pytest.raises(ExprError, match=r"^unknown function 'nope' at column 1; the functions"):
        evaluate(Call(1, "nope", ()), resolve, TODAY)
    with pytest.raises(ExprError, match=r"^if\(\) takes 3 arguments, got 1 \(column 2\)"):
        evaluate(Call(2, "if", (Literal(5, True),)), resolve, TODAY)


def test_evaluate_leaves_the_global_decimal_context_alone() -> None:
    before = decimal.getcontext().copy()
    run("1 / 3 + round(2.5)")
    fails("1e100 * 1e100 * 1e100 * 1e100 * 1e100 * 1e100 * 1e100 * 1e100 * 1e100 * 1e100")
    after = decimal.getcontext()
    assert (after.prec, after.Emax, after.traps) == (before.prec, before.Emax, before.traps)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'a' * 2", "cannot multiply text by number; turn text into a number with number() first"),
        (
            "title + 1",
            "cannot add number to text; to join text with other values use concat(), "
            'as in concat(title, ": ", amount)',
        ),
        (
            "true + 1",
            "cannot add number to true/false; arithmetic needs numbers (a date may add or "
            "subtract days)",
        ),
        (
            "close * 2",
            "cannot multiply date by number; arithmetic needs numbers (a date may add or "
            "subtract days)",
        ),
        (
            "today() + close",
            "cannot add date to date; arithmetic needs numbers (a date may add or subtract days)",
        ),
        (
            "1 - close",
            "cannot subtract date from number; arithmetic needs numbers (a date may add "
            "or subtract days)",
        ),
        (
            "tags / 2",
            "cannot divide list by number; arithmetic needs numbers (a date may add or "
            "subtract days)",
        ),
        (
            "5 % won",
            "cannot take the remainder of number divided by true/false; arithmetic needs "
            "numbers (a date may add or subtract days)",
        ),
        ("1 / 0", "division by zero; guard it, as in if(cost = 0, null, amount / cost)"),
        ("amount % zero", "division by zero; guard it, as in if(cost = 0, null, amount / cost)"),
        ("close + 1.5", "a date moves by whole days, not 1.5; use round() first"),
        ("close + 1e7", "the resulting date is outside the years 1 to 9999"),
        (
            "1 < '2'",
            "cannot compare number with text; compare values of the same type, converting "
            "with number(), text() or date() if needed",
        ),
        (
            "close = '2026-03-01'",
            "cannot compare date with text; compare values of the same type, "
            "converting with number(), text() or date() if needed",
        ),
        ("tags < tags", "lists cannot be ordered with < or >; compare their len() instead"),
        (
            "amount and won",
            "'and' needs true/false values, got number 1000.50; compare it first, "
            "as in amount > 0",
        ),
        (
            "lost or title",
            "'or' needs true/false values, got text 'Acme website'; compare it "
            "first, as in amount > 0",
        ),
        (
            "not 1",
            "'not' needs true/false values, got number 1; compare it first, as in amount > 0",
        ),
        ("-title", "'-' before a value needs a number, got text 'Acme website'"),
        (
            "if(amount, 1, 2)",
            "if() needs a true/false condition first, got number 1000.50; "
            "compare it, as in if(amount > 0, ...)",
        ),
        (
            "amout * 2",
            "unknown field 'amout'; check its spelling against the fields in the schema",
        ),
        ("today + 1", "unknown field 'today'; to call the function write today()"),
        ("round(title)", "round() needs a number, got text 'Acme website'"),
        ("round(1, 11)", "round() keeps 0 to 10 decimals, not 11"),
        ("round(1, -1)", "round() keeps 0 to 10 decimals, not -1"),
        ("round(1, 1.5)", "round() needs a whole number, got 1.5"),
        (
            "round(9e50, 2)",
            "the result is not a valid number (too many digits); check the numbers used",
        ),
        ("year('2025')", "year() needs a date, got text '2025'"),
        ("days_between(close, 3)", "days_between() needs a date, got number 3"),
        ("date(2025, 2, 30)", "date(2025, 2, 30) is not a valid date"),
        ("date(2025.5, 1, 1)", "date() needs a whole number, got 2025.5"),
        ("date('31/12/2025')", "date() needs text like \"2025-12-31\", got text '31/12/2025'"),
        ("date(10000, 1, 1)", "date(10000, 1, 1) is not a valid date"),
        ("len(3)", "len() needs text or a list, got number 3"),
        ("lower(3)", "lower() needs text, got number 3"),
        ("contains(3, 3)", "contains() needs text or a list first, got number 3"),
        ("contains(title, 3)", "contains() looks for text in text, got number 3"),
        ("number('12abc')", "number() cannot read text '12abc'; it reads text like 12 or -3.5"),
        ("number(close)", "number() cannot read date 2026-03-01; it reads text like 12 or -3.5"),
        ("number('1e500')", "number 1e500 has an exponent beyond ±100; write a smaller number"),
        ("sum(tags)", "sum() needs a number, got text 'seo'"),
        ("avg(close)", "avg() needs a number, got date 2026-03-01"),
        (
            "min(1, 'a')",
            "min() needs values of one type (numbers, dates or text), got number and text",
        ),
        ("max(won)", "max() needs values of one type (numbers, dates or text), got true/false"),
    ],
)
def test_evaluation_errors(text: str, message: str) -> None:
    assert fails(text)[0] == message


def test_runtime_errors_carry_the_column_of_their_operator_or_call() -> None:
    assert fails("amount + 'x' * 2")[1] == 14
    assert fails("1 + round('x')")[1] == 5
    assert fails("1 + amout")[1] == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (object(), "field 'x' holds a object value, which formulas cannot use"),
        (Decimal("NaN"), "field 'x' holds NaN, which is too large or small for formulas"),
        (float("inf"), "field 'x' holds Infinity, which is too large or small for formulas"),
        (Decimal("1e1000"), "field 'x' holds 1E+1000, which is too large or small for formulas"),
        (
            10**1000,
            "field 'x' holds 1" + "0" * 1000 + ", which is too large or small for formulas",
        ),
        ([[[["deep"]]]], "field 'x' holds a list value, which formulas cannot use"),
    ],
)
def test_values_formulas_cannot_read(value: object, message: str) -> None:
    assert fails("x", lambda name: value)[0] == message


# --- limits -------------------------------------------------------------------------------


def test_numbers_are_bounded() -> None:
    big = " * ".join(["1e100"] * 9) + " * 9.99e99"
    assert run(big) == Decimal("9.99e999")
    assert fails(big + " * 10") == (
        "number too large: results must stay below 1e1000; check the numbers used",
        len(big) + 2,
    )


def test_text_results_are_bounded() -> None:
    long = {"t": "x" * 5000}
    assert len(str(run("t + t", long.__getitem__))) == 10_000
    message = "the text result has 10001 characters, more than the limit of 10000; shorten the "
    assert fails("t + t + 'x'", long.__getitem__)[0].startswith(message)
    assert fails("concat(t, t, 'x')", long.__getitem__)[0].startswith(message)
    assert fails("upper(t + t + 'x')", long.__getitem__)[0].startswith(message)
    tags = {"tags": ("x" * 4999,) * 3}
    assert fails("text(tags)", tags.__getitem__)[0].startswith("the text result has 15001")


def test_lists_are_bounded() -> None:
    fields = {"ok": (1,) * expr.MAX_ITEMS, "big": (1,) * (expr.MAX_ITEMS + 1)}
    assert run("count(ok)", fields.__getitem__) == expr.MAX_ITEMS
    assert fails("count(big)", fields.__getitem__)[0] == (
        "field 'big' has 100001 items; formulas accept at most 100000"
    )
    assert fails("count(ok, 1)", fields.__getitem__)[0] == (
        "a list in this formula has more than 100000 items"
    )


def test_total_work_is_bounded() -> None:
    many = tuple(range(expr.MAX_ITEMS))
    text = " + ".join(f"count(f{i})" for i in range(4))
    assert run(text, lambda name: many) == 4 * expr.MAX_ITEMS
    started = time.perf_counter()
    message, _ = fails(" + ".join(f"count(f{i})" for i in range(6)), lambda name: many)
    assert message == (
        "formula takes more than 1000000 steps to compute; simplify it or use shorter lists"
    )
    assert time.perf_counter() - started < 2


def test_largest_formula_runs_fast() -> None:
    text = "+".join(["a"] * 1000)
    started = time.perf_counter()
    assert run(text, lambda name: 2) == 2000
    assert time.perf_counter() - started < 0.5


def test_deepest_nesting_evaluates_without_recursion_error() -> None:
    text = "x"
    for _ in range(MAX_DEPTH // 3):  # if(, - and ( are three levels
        text = f"if(lost or won and amount = amount + 0 * -({text}), 1, 0)"
    fields = dict(FIELDS, x=1)
    assert run(text, fields.__getitem__) == D(1)


# --- rollups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("sum", [D("0.1"), D("0.2"), None, 3], D("3.3")),
        ("sum", [], D(0)),
        ("sum", [None], D(0)),
        ("count", [True, True, None, "x"], D(3)),
        ("count", [], D(0)),
        ("avg", [1, 2, None], D("1.5")),
        ("avg", [], None),
        ("min", [D(3), 1, None], D(1)),
        ("max", [dt.date(2025, 1, 1), dt.date(2026, 1, 1)], dt.date(2026, 1, 1)),
        ("max", ["b", "a"], "b"),
        ("min", [None], None),
        ("max", [], None),
        (
            "concat",
            ["Acme", None, D("1.50"), dt.date(2025, 1, 2), True],
            "Acme, 1.50, 2025-01-02, true",
        ),
        ("concat", [], ""),
        ("sum", [(1, 2), (3,), None], D(6)),  # tuples from multiple lookups are flattened
        ("count", [("a", "b"), ()], D(2)),
        ("SUM", [1], D(1)),
    ],
)
def test_aggregate(kind: str, values: list[Any], expected: Value) -> None:
    result = aggregate(kind, values)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("total", [1], "unknown aggregate 'total'; use one of sum, count, avg, min, max, concat"),
        ("sum", ["a"], "sum() needs a number, got text 'a'"),
        (
            "max",
            [1, "a"],
            "max() needs values of one type (numbers, dates or text), got number and text",
        ),
        (
            "concat",
            ["x" * 6000, "y" * 6000],
            "the text result has 12002 characters, more than the limit of 10000; "
            "shorten the text the formula builds",
        ),
        ("count", [True] * 100_001, "a rollup has 100001 items; formulas accept at most 100000"),
        (
            "sum",
            [D("9e999")] * 2,
            "number too large: results must stay below 1e1000; check the numbers used",
        ),
    ],
)
def test_aggregate_errors(kind: str, values: list[Any], message: str) -> None:
    with pytest.raises(ExprError) as info:
        aggregate(kind, values)
    assert info.value.message == message


def test_rollup_where_evaluates_per_record() -> None:
    rollup = parse_rollup('sum(opportunities.amount where list.kind = "won")')
    records: list[dict[str, Any]] = [
        {"list.kind": "won", "amount": 100},
        {"list.kind": "lost", "amount": 5000},
        {"list.kind": "won", "amount": D("0.5")},
    ]
    assert rollup.where is not None and rollup.field is not None
    kept = [r for r in records if evaluate(rollup.where, r.__getitem__, TODAY) is True]
    assert aggregate(rollup.aggregate, [r[rollup.field] for r in kept]) == D("100.5")


# --- properties ---------------------------------------------------------------------------

_SOUP = [
    *FUNCTIONS,
    *(f"{name}(" for name in FUNCTIONS),
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=",
    "!=",
    "<",
    ">=",
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "0",
    "1",
    "2.5",
    "1e100",
    "'x'",
    '"10"',
    "'2025-01-31'",
    *FIELDS,
    "unknown",
    "10",
]

soup = st.lists(st.sampled_from(_SOUP), max_size=30).map(" ".join)


def only_expr_errors(text: str) -> None:
    started = time.perf_counter()
    try:
        run(text)
    except ExprError as exc:
        assert exc.message
    assert time.perf_counter() - started < 0.5


@settings(max_examples=1000, deadline=500, database=None)
@given(st.text(max_size=200))
def test_random_text_evaluates_or_raises_expr_error(text: str) -> None:
    only_expr_errors(text)


@settings(max_examples=2500, deadline=500, database=None)
@given(soup)
def test_token_soup_evaluates_or_raises_expr_error(text: str) -> None:
    only_expr_errors(text)


# Random arithmetic trees, rendered with as few parentheses as precedence allows, must
# evaluate to what plain Decimal arithmetic gives for the same tree.
_OPS = {"+": (1, operator.add), "-": (1, operator.sub), "*": (2, operator.mul)}
_OPS.update({"/": (2, operator.truediv), "%": (2, operator.mod)})
Tree = Any

leaves = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
trees = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.tuples(st.sampled_from(sorted(_OPS)), kids, kids), st.tuples(st.just("neg"), kids)
    ),
    max_leaves=20,
)


def render(tree: Tree) -> tuple[str, int]:
    """Text of ``tree`` and its precedence (1 sums, 2 products, 3 negation, 4 atoms)."""
    if isinstance(tree, Decimal):
        return str(tree), 3 if tree.is_signed() else 4
    if tree[0] == "neg":
        text, prec = render(tree[1])
        return "-" + (text if prec >= 3 else f"({text})"), 3
    op, left, right = tree
    prec = _OPS[op][0]
    (ltext, lprec), (rtext, rprec) = render(left), render(right)
    ltext = ltext if lprec >= prec else f"({ltext})"
    rtext = rtext if rprec > prec else f"({rtext})"
    return f"{ltext} {op} {rtext}", prec


def reference(tree: Tree) -> Decimal:
    if isinstance(tree, Decimal):
        return tree
    if tree[0] == "neg":
        return -reference(tree[1])
    left, right = reference(tree[1]), reference(tree[2])
    if tree[0] in "/%" and right == 0:
        raise ZeroDivisionError
    result: Decimal = _OPS[tree[0]][1](left, right)
    return result


@settings(max_examples=600, deadline=500, database=None)
@given(trees)
def test_arithmetic_matches_plain_decimal(tree: Tree) -> None:
    text, _ = render(tree)
    context = decimal.Context(prec=28, Emax=999, Emin=-999)
    context.traps[decimal.InvalidOperation] = True
    context.traps[decimal.Overflow] = True
    with decimal.localcontext(context):
        try:
            expected: Decimal | None = reference(tree)
        except (ZeroDivisionError, decimal.DecimalException):
            expected = None
    if expected is None:
        with pytest.raises(ExprError):
            run(text)
    else:
        assert run(text) == expected, text


# --- how values are shown in messages ------------------------------------------------------


def test_messages_show_a_value_of_up_to_40_characters_whole_and_cut_longer_ones() -> None:
    def with_title(title: str) -> Callable[[str], Any]:
        return dict(FIELDS, title=title).__getitem__

    fits = "x" * 38  # repr() adds the quotes: 40 characters
    assert fails("-title", with_title(fits))[0] == (
        f"'-' before a value needs a number, got text '{fits}'"
    )
    assert fails("-title", with_title(fits + "y"))[0] == (
        f"'-' before a value needs a number, got text '{'x' * 36}..."
    )
    assert fails("-tags")[0] == "'-' before a value needs a number, got list"


def test_date_of_one_number_or_of_text_and_numbers_says_what_it_takes() -> None:
    assert fails("date(2025)")[0] == (
        'date() takes three numbers (year, month, day) or text like "2025-12-31"'
    )
    assert fails("date('2025', 1, 1)")[0] == "date() needs a number, got text '2025'"


def test_text_of_false_and_of_numbers() -> None:
    assert run("text(lost)") == "false"
    assert run("concat(won, '/', lost)") == "true/false"
    assert run("text(0.50)") == "0.50"


def test_errors_inside_functions_name_the_function() -> None:
    assert fails("round(1, 'x')") == ("round() needs a number, got text 'x'", 1)
    huge = {"big": Decimal("9e999")}
    assert fails("sum(big, big)", huge.__getitem__) == (
        "number too large: results must stay below 1e1000; check the numbers used",
        1,
    )


def test_every_runtime_error_carries_a_column() -> None:
    # ExprError.col is part of the API: 1-based, at the operator, operand or call
    assert fails("close + 1.5") == ("a date moves by whole days, not 1.5; use round() first", 7)
    assert fails("close + 1e7") == ("the resulting date is outside the years 1 to 9999", 7)
    assert fails("won and amount")[1] == 9
    assert fails("lost or title")[1] == 9
    assert fails("1 + if(title, 1, 2)")[1] == 5
    assert fails("1 + -title")[1] == 5
    assert fails("1 + (1 < '2')")[1] == 8
    assert fails("1 + (tags < tags)")[1] == 11
    assert fails("won = (not amount)")[1] == 8
    with pytest.raises(ExprError) as info:
        evaluate(Call(3, "nope", ()), resolve, TODAY)
    assert info.value.col == 3


def test_an_aggregate_that_overflows_says_so_without_a_column() -> None:
    with pytest.raises(ExprError) as info:
        aggregate("sum", [Decimal("9e999"), Decimal("9e999")])
    assert (info.value.message, info.value.col) == (
        "number too large: results must stay below 1e1000; check the numbers used",
        0,
    )


def test_total_work_is_counted_exactly() -> None:
    # 1 (the sum) + 31 x (count: 1, its name: 1 + 16128 items, counting: 16128) + 1 (one)
    fields: dict[str, Any] = {f"f{i}": (1,) * 16128 for i in range(31)}
    fields["one"] = 1
    text = " + ".join(f"count(f{i})" for i in range(31)) + " + one"
    assert run(text, fields.__getitem__) == 31 * 16128 + 1  # exactly 1,000,000 steps
    assert fails(text + " + one", fields.__getitem__)[0] == (
        "formula takes more than 1000000 steps to compute; simplify it or use shorter lists"
    )


def test_values_from_outside_keep_their_exact_value_and_nesting() -> None:
    fields: dict[str, Any] = {
        "tenth": 0.1,  # read as written, not as the binary float
        "nested": [["a", "b"], ["c"]],
        "address": {"street": "1 Main St", "lines": [["x", "y"]]},
        "deep_address": {"lines": [[["z"]]]},
        "huge": 10**5000,
        "bad_part": {"street": object()},
    }
    assert run("tenth", fields.__getitem__) == D("0.1")
    assert run("len(nested)", fields.__getitem__) == D(2)
    assert run("address", fields.__getitem__) == "1 Main St, x, y"
    assert fails("deep_address", fields.__getitem__)[0] == (
        "field 'deep_address' holds a list value, which formulas cannot use"
    )
    assert fails("bad_part", fields.__getitem__)[0] == (
        "field 'bad_part' holds a object value, which formulas cannot use"
    )
    message = fails("huge", fields.__getitem__)[0]
    assert message.startswith("field 'huge' holds 1000") and message.endswith(
        "0, which is too large or small for formulas"
    )


def test_more_errors_carry_their_column_and_zero_by_zero_is_a_division_by_zero() -> None:
    assert fails("1 + 1 / 0") == (
        "division by zero; guard it, as in if(cost = 0, null, amount / cost)",
        7,
    )
    assert fails("zero / zero")[0] == (
        "division by zero; guard it, as in if(cost = 0, null, amount / cost)"
    )
    assert fails("1.5 + close") == ("a date moves by whole days, not 1.5; use round() first", 5)
    with pytest.raises(ExprError) as info:
        evaluate(expr.Expr(6), resolve, TODAY)
    assert (info.value.message, info.value.col) == ("cannot evaluate a Expr", 6)


def test_numbers_too_close_to_zero_become_zero() -> None:
    assert run(" * ".join(["1e-100"] * 10)) == D("1e-1000")  # still within the bounds
    tiny = run(" * ".join(["1e-100"] * 11))
    assert tiny == 0 and run("text(" + " * ".join(["1e-100"] * 11) + ")") == "0"
