"""Tests of the formula language's syntax: tokens, parser, limits, names, rollup grammar."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmgen.compute.expr_syntax import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Call,
    Chain,
    Compare,
    ExprError,
    Literal,
    Name,
    Step,
    Unary,
    names,
    parse,
    parse_rollup,
)


def error_of(text: str, rollup: bool = False) -> tuple[str, int]:
    with pytest.raises(ExprError) as info:
        parse_rollup(text) if rollup else parse(text)
    return info.value.message, info.value.col


# --- trees --------------------------------------------------------------------------------


def test_sum_chain_is_flat_and_keeps_columns() -> None:
    assert parse("a + b - c") == Chain(
        1, Name(1, "a"), (Step(3, "+", Name(5, "b")), Step(7, "-", Name(9, "c")))
    )


def test_product_binds_tighter_than_sum() -> None:
    assert parse("a + b * c") == Chain(
        1, Name(1, "a"), (Step(3, "+", Chain(5, Name(5, "b"), (Step(7, "*", Name(9, "c")),))),)
    )
    assert parse("a * b + c") == Chain(
        1, Chain(1, Name(1, "a"), (Step(3, "*", Name(5, "b")),)), (Step(7, "+", Name(9, "c")),)
    )


def test_parentheses_group_and_vanish() -> None:
    assert parse("(a + b) * c") == Chain(
        2, Chain(2, Name(2, "a"), (Step(4, "+", Name(6, "b")),)), (Step(9, "*", Name(11, "c")),)
    )


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a == 1", Compare(3, "=", Name(1, "a"), Literal(6, Decimal(1)))),
        ("a <> 'x'", Compare(3, "!=", Name(1, "a"), Literal(6, "x"))),
        ("-a * b", Chain(1, Unary(1, "-", Name(2, "a")), (Step(4, "*", Name(6, "b")),))),
        ("not a = b", Unary(1, "not", Compare(7, "=", Name(5, "a"), Name(9, "b")))),
        ("TRUE or Null", Chain(1, Literal(1, True), (Step(6, "or", Literal(9, None)),))),
        ("ROUND(x)", Call(1, "round", (Name(7, "x"),))),
        ("today()", Call(1, "today", ())),
        ("opportunity.client.email", Name(1, "opportunity.client.email")),
        (".5", Literal(1, Decimal("0.5"))),
        ("1e3", Literal(1, Decimal("1E+3"))),
        ('"a\\"b\\\\c\\n\\t"', Literal(1, 'a"b\\c\n\t')),
        ("'it\\'s'", Literal(1, "it's")),
    ],
)
def test_trees(text: str, tree: object) -> None:
    assert parse(text) == tree


def test_and_binds_tighter_than_or_and_comparison_tighter_than_and() -> None:
    tree = parse("a or b and c > 1")
    assert isinstance(tree, Chain) and tree.steps[0].op == "or"
    right = tree.steps[0].operand
    assert isinstance(right, Chain) and right.steps[0].op == "and"
    assert isinstance(right.steps[0].operand, Compare)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount - cost", {"amount", "cost"}),
        ("amount * list.probability", {"amount", "list.probability"}),
        (
            "if(client.size > 10, round(a, b), coalesce(c, -d))",
            {"client.size", "a", "b", "c", "d"},
        ),
        ("not x and (y or z = 'w')", {"x", "y", "z"}),
        ("today() + 1", set()),
    ],
)
def test_names(text: str, expected: set[str]) -> None:
    assert names(parse(text)) == expected


# --- syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("", "formula is empty; write an expression such as amount - cost", 0),
        ("amount -", "unexpected end of formula at column 9; did you forget an operand?", 9),
        ("(amount - cost", "missing ')' to close the '(' at column 1", 15),
        ("amount - cost)", "unexpected ')' at column 14; it has no matching '('", 14),
        (
            "amount cost",
            "unexpected 'cost' at column 8; did you forget an operator between two values?",
            8,
        ),
        ("round(1,)", "unexpected ')' at column 9; did you forget an operand?", 9),
        ("1 +* 2", "unexpected '*' at column 4; did you forget an operand?", 4),
        (
            "a, b",
            "unexpected ',' at column 2; commas only separate the arguments of a function",
            2,
        ),
        (
            "round(1 2)",
            "expected ',' or ')' at column 9 but found '2'; "
            "did you forget an operator, or the ')' for the '(' at column 6?",
            9,
        ),
        ("roun(1)", "unknown function 'roun' at column 1; did you mean round()?", 1),
        (
            "a < b < c",
            "comparisons cannot be chained (column 7); "
            "combine them with and, as in a < b and b < c",
            7,
        ),
        ("a = not b", "put 'not' in parentheses at column 5, as in a = (not b)", 5),
        ("'abc", "text starting at column 1 is never closed; end it with '", 1),
        ('"a\\qb"', "unknown escape '\\q' at column 3; write \\\\ for a backslash", 3),
        ("1.2.3", "malformed number at column 1; write numbers like 12, 3.5 or 1e3", 1),
        ("2x", "malformed number at column 1; write numbers like 12, 3.5 or 1e3", 1),
        ("a && b", "unexpected character '&' at column 3; use and to combine conditions", 3),
        (
            "a ! b",
            "unexpected character '!' at column 3; use != for 'not equal', or not for negation",
            3,
        ),
        (
            "client.",
            "unexpected character '.' at column 7; "
            "a '.' must join two field names, as in client.email",
            7,
        ),
        ("prix_€", "unexpected character '€' at column 6; remove it", 6),
        (
            "né",
            "unexpected character 'é' at column 2; "
            "names may use only the letters A-Z, digits and _",
            2,
        ),
        # one token and then nothing: an operand is missing, the formula is not empty
        ("(", "unexpected end of formula at column 2; did you forget an operand?", 2),
        ("-", "unexpected end of formula at column 2; did you forget an operand?", 2),
        ("not", "unexpected end of formula at column 4; did you forget an operand?", 4),
        ("round(1, 2, 3)", "round() takes 1 to 2 arguments, got 3 (column 1)", 1),
        ("today(1)", "today() takes 0 arguments, got 1 (column 1)", 1),
        ("if(a, b)", "if() takes 3 arguments, got 2 (column 1)", 1),
        ("abs()", "abs() takes 1 argument, got 0 (column 1)", 1),
        ("min()", "min() takes at least 1 argument, got 0 (column 1)", 1),
        ("date(2025, 1)", 'date() takes 3 numbers or 1 text like "2025-12-31" (column 1)', 1),
        (
            "1e101",
            "number 1e101 at column 1 has an exponent beyond ±100; write a smaller number",
            1,
        ),
        (
            "1e-101",
            "number 1e-101 at column 1 has an exponent beyond ±100; write a smaller number",
            1,
        ),
        ("9" * 950 + "e100", "number at column 1 is too large; numbers must stay below 1e1000", 1),
    ],
)
def test_syntax_errors(text: str, message: str, col: int) -> None:
    assert error_of(text) == (message, col)


def test_unknown_function_without_a_close_match_lists_all() -> None:
    message, _ = error_of("xyzzy(1)")
    assert message.startswith("unknown function 'xyzzy' at column 1; the functions are abs,")
    assert all(f"{name}" in message for name in FUNCTIONS)


def test_error_str_is_the_message() -> None:
    with pytest.raises(ExprError, match=r"^unexpected end of formula at column 4"):
        parse("1 +")


# --- limits -------------------------------------------------------------------------------


def test_length_limit() -> None:
    ok = "1" + " + 1" * ((MAX_LENGTH - 1) // 4)
    assert len(ok) <= MAX_LENGTH
    assert isinstance(parse(ok.ljust(MAX_LENGTH)), Chain)
    message, _ = error_of("1".ljust(MAX_LENGTH + 1))
    assert message == (
        "formula is longer than 2000 characters (it has 2001); split it into several computed "
        "fields"
    )


def test_long_sum_stays_flat() -> None:
    tree = parse("+".join(["a"] * 1000))
    assert isinstance(tree, Chain) and len(tree.steps) == 999


@pytest.mark.parametrize(
    ("opener", "closer"), [("(", ")"), ("abs(", ")"), ("-", ""), ("not ", ""), ("+", "")]
)
def test_depth_limit(opener: str, closer: str) -> None:
    parse(opener * MAX_DEPTH + "x" + closer * MAX_DEPTH)
    message, col = error_of(opener * (MAX_DEPTH + 1) + "x" + closer * (MAX_DEPTH + 1))
    assert message.startswith("formula is nested more than 50 levels deep at column")
    assert message.endswith("; simplify it or split it into several formula fields")
    assert col == MAX_DEPTH * len(opener) + 1


def test_deepest_mixed_nesting_parses_without_recursion_error() -> None:
    text = "x"
    for _ in range(MAX_DEPTH // 3):  # not, - and ( are three levels
        text = f"a or b and not c = d + e * -({text})"
    assert names(parse(text)) == {"a", "b", "c", "d", "e", "x"}


def test_exponent_at_the_limit() -> None:
    assert parse("1e100") == Literal(1, Decimal("1e100"))
    assert parse("1e-100") == Literal(1, Decimal("1e-100"))
    assert parse("1e+0100") == Literal(1, Decimal("1e100"))


# --- rollups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "aggregate", "link", "field", "where_names"),
    [
        (
            'sum(opportunities.amount where list.kind = "won")',
            "sum",
            "opportunities",
            "amount",
            {"list.kind"},
        ),
        (
            'count(opportunities where list.kind = "open")',
            "count",
            "opportunities",
            None,
            {"list.kind"},
        ),
        ("count(opportunities)", "count", "opportunities", None, None),
        ("max(invoices.due)", "max", "invoices", "due", None),
        ("concat(contacts.title)", "concat", "contacts", "title", None),
        ("avg(opportunities.confidence)", "avg", "opportunities", "confidence", None),
        ("min(deals.client.size)", "min", "deals", "client.size", None),
        (
            "SUM( deals.amount WHERE amount > 1 and not lost )",
            "sum",
            "deals",
            "amount",
            {"amount", "lost"},
        ),
    ],
)
def test_parse_rollup(
    text: str, aggregate: str, link: str, field: str | None, where_names: set[str] | None
) -> None:
    rollup = parse_rollup(text)
    assert (rollup.aggregate, rollup.link, rollup.field, rollup.text) == (
        aggregate,
        link,
        field,
        text,
    )
    assert (None if rollup.where is None else names(rollup.where)) == where_names


def test_rollup_where_is_an_ordinary_expression_with_rollup_columns() -> None:
    rollup = parse_rollup('sum(o.amount where list.kind = "won")')
    assert rollup.where == Compare(30, "=", Name(20, "list.kind"), Literal(32, "won"))


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        (
            "sum(opportunities)",
            "sum() needs a field of the linked records, as in sum(opportunities.amount)",
            5,
        ),
        ("summ(x.y)", "a rollup starts with an aggregate, found 'summ'; did you mean sum?", 1),
        (
            "",
            "a rollup starts with an aggregate, found end of formula; "
            "use sum, count, avg, min, max, concat",
            1,
        ),
        ("sum x.y", "expected '(' after sum at column 5", 5),
        ("sum(x.y", "expected 'where' or ')' at column 8, found end of formula", 8),
        ("sum(x.y where)", "unexpected ')' at column 14; did you forget an operand?", 14),
        ("sum(x.y foo)", "expected 'where' or ')' at column 9, found 'foo'", 9),
        (
            "count()",
            "expected the linked records at column 7, as in count(opportunities.amount)",
            7,
        ),
        (
            "sum(x.y) extra",
            "unexpected 'extra' at column 10; did you forget an operator between two values?",
            10,
        ),
        ("sum(x.y where (a)", "missing ')' to close the '(' at column 4", 18),
    ],
)
def test_rollup_errors(text: str, message: str, col: int) -> None:
    assert error_of(text, rollup=True) == (message, col)


def test_rollup_length_limit() -> None:
    message, _ = error_of("count(" + "a" * MAX_LENGTH + ")", rollup=True)
    assert message.startswith("rollup is longer than 2000 characters")


# --- properties ---------------------------------------------------------------------------

_TOKENS = [
    *FUNCTIONS,
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "where",
    "a",
    "b.c",
    "list.kind",
    "opps",
    "0",
    "1",
    ".5",
    "3.25",
    "1e3",
    "1e100",
    "1e101",
    "'x'",
    '"y"',
    "'\\n'",
    '"',
    "'",
    "\\",
    ".",
    "!",
    "&",
    "é",
    "\t",
]

grammarish = st.lists(st.sampled_from(_TOKENS), max_size=40).flatmap(
    lambda parts: st.sampled_from([" ", ""]).map(lambda sep: sep.join(parts))
)
rollupish = st.tuples(
    st.sampled_from(["sum", "count", "avg", "min", "max", "concat", "sun", ""]), grammarish
).map(lambda pair: f"{pair[0]}({pair[1]}")


def only_expr_errors(parser: object, text: str) -> None:
    started = time.perf_counter()
    try:
        parser(text)  # type: ignore[operator]
    except ExprError as exc:
        assert exc.message and isinstance(exc.col, int)
    assert time.perf_counter() - started < 0.5


@settings(max_examples=1000, deadline=500, database=None)
@given(st.text(max_size=300))
def test_parse_random_text_raises_only_expr_error(text: str) -> None:
    only_expr_errors(parse, text)


@settings(max_examples=1500, deadline=500, database=None)
@given(grammarish)
def test_parse_token_soup_raises_only_expr_error(text: str) -> None:
    only_expr_errors(parse, text)


@settings(
    max_examples=1000, deadline=500, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(max_size=200), rollupish))
def test_parse_rollup_random_text_raises_only_expr_error(text: str) -> None:
    only_expr_errors(parse_rollup, text)


def test_a_comma_outside_a_call_is_not_a_closing_parenthesis() -> None:
    with pytest.raises(ExprError) as info:
        parse("(1, 2)")
    assert (info.value.message, info.value.col) == (
        "expected ',' or ')' at column 3 but found ','; did you forget an operator, or the ')' "
        "for the '(' at column 1?",
        3,
    )
