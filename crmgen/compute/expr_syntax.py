"""The formula language's syntax: tokens, a Pratt parser, frozen tree nodes, rollup grammar.

A base module (stdlib only) used by ``crmgen.compute.expr``, which re-exports its public names
and evaluates the trees; import the language from there. No ``eval``, no Python ``ast``: the
text is read character by character under hard limits (length, nesting, exponents), so no
formula can make the parser hang or recurse without bound.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

Value: TypeAlias = Decimal | str | bool | dt.date | tuple["Value", ...] | None

MAX_LENGTH = 2000  # characters of formula text
MAX_DEPTH = 50  # nested parentheses, calls and unary operators
MAX_EXPONENT = 100  # |e| in a number literal such as 1e100
EMAX = 999  # every number stays below 1e1000 (and above 1e-1000 unless zero)
AGGREGATES = ("sum", "count", "avg", "min", "max", "concat")

#: Function name -> (fewest, most) arguments; None means any number.
FUNCTIONS: Mapping[str, tuple[int, int | None]] = MappingProxyType(
    {
        **dict.fromkeys(("abs", "day", "len", "lower", "month", "number", "text"), (1, 1)),
        **dict.fromkeys(("upper", "year"), (1, 1)),
        **dict.fromkeys(("avg", "coalesce", "concat", "count", "max", "min", "sum"), (1, None)),
        "contains": (2, 2),
        "date": (1, 3),
        "days_between": (2, 2),
        "if": (3, 3),
        "round": (1, 2),
        "today": (0, 0),
        "days_in_stage": (0, 0),
        "entered": (1, 1),
        "last_activity": (0, 0),
    }
)


class ExprError(Exception):
    """A problem in a formula or its evaluation; ``message`` says what is wrong and how to fix it.

    Attributes:
        message: the user-facing text.
        col: 1-based column in the formula text, 0 if not applicable.
    """

    def __init__(self, message: str, col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


@dataclass(frozen=True, slots=True)
class Expr:
    """Base of the syntax-tree nodes; ``col`` is the 1-based column where the node starts."""

    col: int


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    value: Value


@dataclass(frozen=True, slots=True)
class Name(Expr):
    name: str  # possibly dotted: "client.size"


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str  # "-", "+" or "not"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: str  # "=", "!=", "<", "<=", ">", ">="
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Step:
    """One ``op operand`` of a chain, e.g. ``+ cost``."""

    col: int
    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Chain(Expr):
    """Operators of one precedence level, left to right: ``a + b - c`` or ``a and b and c``.

    Kept flat (not a left-deep tree) so long sums never make deep recursion.
    """

    first: Expr
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Call(Expr):
    name: str  # lower case
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Rollup:
    """A parsed rollup such as ``sum(opportunities.amount where list.kind = "won")``."""

    aggregate: str
    link: str
    field: str | None
    where: Expr | None
    text: str


# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, string, name, kw, op, end
    text: str
    col: int
    value: Value = None


_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
    r"|(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<op>==|!=|<>|<=|>=|[=<>+\-*/%(),])",
    re.ASCII | re.DOTALL,
)
NUMBER_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}
_LITERALS: Mapping[str, Value] = MappingProxyType({"true": True, "false": False, "null": None})
_HINTS = {
    "!": "use != for 'not equal', or not for negation",
    "&": "use and to combine conditions",
    "|": "use or to combine conditions",
    ".": "a '.' must join two field names, as in client.email",
}


#: The decimal context of formulas: exact enough for currency, bounded, trapping bad
#: results. Never used itself: ``decimal.localcontext`` and ``decimal_context`` copy it.
DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    Emax=EMAX,
    Emin=-EMAX,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def decimal_context() -> decimal.Context:
    """A fresh copy of ``DECIMAL_CONTEXT`` (its flags are its own)."""
    return DECIMAL_CONTEXT.copy()


def _tokenize(text: str, what: str = "formula") -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"{what} is longer than {MAX_LENGTH} characters (it has {len(text)}); "
            "split it into several computed fields"
        )
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        col = pos + 1
        if match is None:
            char = text[pos]
            if char in "\"'":
                raise ExprError(
                    f"text starting at column {col} is never closed; end it with {char}", col
                )
            hint = _HINTS.get(char, "remove it")
            if char.isalpha():
                hint = "names may use only the letters A-Z, digits and _"
            raise ExprError(f"unexpected character {char!r} at column {col}; {hint}", col)
        kind, lexeme = match.lastgroup or "", match.group()
        pos = match.end()
        if kind == "number":
            if pos < len(text) and (text[pos].isalnum() or text[pos] in "._"):
                raise ExprError(
                    f"malformed number at column {col}; write numbers like 12, 3.5 or 1e3", col
                )
            tokens.append(_Token("number", lexeme, col, read_number(lexeme, col)))
        elif kind == "string":
            tokens.append(_Token("string", lexeme, col, _unescape(lexeme, col)))
        elif kind == "name" and lexeme.lower() in _KEYWORDS:
            tokens.append(_Token("kw", lexeme.lower(), col))
        elif kind != "space":
            tokens.append(_Token(kind, lexeme, col))
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def read_number(lexeme: str, col: int = 0) -> Decimal:
    """The Decimal a number literal (or number() text) stands for, within the limits."""
    _, _, exponent = lexeme.lower().strip().partition("e")
    digits = exponent.lstrip("+-").lstrip("0")
    where = f" at column {col}" if col else ""
    if len(digits) > 3 or (digits and int(digits) > MAX_EXPONENT):
        raise ExprError(
            f"number {lexeme.strip()}{where} has an exponent beyond ±{MAX_EXPONENT}; "
            "write a smaller number",
            col,
        )
    try:
        return decimal_context().create_decimal(lexeme.strip())
    except decimal.DecimalException:
        raise ExprError(
            f"number{where} is too large; numbers must stay below 1e1000", col
        ) from None


def _unescape(lexeme: str, col: int) -> str:
    out: list[str] = []
    chars = iter(enumerate(lexeme[1:-1], start=col + 1))
    for at, char in chars:
        if char == "\\":
            at, nxt = next(chars)
            if nxt not in _ESCAPES:
                raise ExprError(
                    f"unknown escape '\\{nxt}' at column {at - 1}; write \\\\ for a backslash",
                    at - 1,
                )
            char = _ESCAPES[nxt]
        out.append(char)
    return "".join(out)


# --- parser -------------------------------------------------------------------------------

_INFIX = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_INFIX.update(dict.fromkeys(("=", "==", "!=", "<>", "<", "<=", ">", ">="), 4))
_CANONICAL = {"==": "=", "<>": "!="}
_NOT, _COMPARE, _UNARY = 3, 4, 7


def _chain(first: Expr, steps: list[Step]) -> Expr:
    return Chain(first.col, first, tuple(steps)) if steps else first


def _show(token: _Token) -> str:
    return "end of formula" if token.kind == "end" else repr(token.text)


class _Parser:
    """Pratt parser over a token list; ``depth`` counts nested parentheses, calls, unaries."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def next(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    @contextmanager
    def nested(self, col: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(
                f"formula is nested more than {MAX_DEPTH} levels deep at column {col}; "
                "simplify it or split it into several formula fields",
                col,
            )
        yield
        self.depth -= 1

    def expression(self, floor: int = 1) -> Expr:
        left = self.prefix(floor)
        steps: list[Step] = []
        level = 0
        while True:
            token = self.peek()
            prec = _INFIX.get(token.text) if token.kind in ("op", "kw") else None
            if prec is None or prec < floor:
                return _chain(left, steps)
            self.next()
            op = _CANONICAL.get(token.text, token.text)
            right = self.expression(prec + 1)
            if prec == _COMPARE:
                after = self.peek()
                if after.kind == "op" and _INFIX.get(after.text) == _COMPARE:
                    raise ExprError(
                        f"comparisons cannot be chained (column {after.col}); combine them with "
                        "and, as in a < b and b < c",
                        after.col,
                    )
                left, steps = Compare(token.col, op, _chain(left, steps), right), []
                continue
            if prec != level:  # precedence only falls within one loop
                left, steps, level = _chain(left, steps), [], prec
            steps.append(Step(token.col, op, right))

    def prefix(self, floor: int) -> Expr:
        token = self.next()
        col = token.col
        if token.kind in ("number", "string"):
            return Literal(col, token.value)
        if token.kind == "kw" and token.text in _LITERALS:
            return Literal(col, _LITERALS[token.text])
        if token.kind == "kw" and token.text == "not" and floor <= _NOT:
            with self.nested(col):
                return Unary(col, "not", self.expression(_NOT))
        if token.kind == "kw" and token.text == "not":
            raise ExprError(f"put 'not' in parentheses at column {col}, as in a = (not b)", col)
        if token.kind == "op" and token.text in "+-":
            with self.nested(col):
                return Unary(col, token.text, self.expression(_UNARY))
        if token.text == "(" and token.kind == "op":
            with self.nested(col):
                inner = self.expression()
                self.close(col)
            return inner
        if token.kind == "name":
            return self.call(token) if self.peek().text == "(" else Name(col, token.text)
        if token.kind == "end" and self.index < 1:
            raise ExprError("formula is empty; write an expression such as amount - cost")
        raise ExprError(
            f"unexpected {_show(token)} at column {col}; did you forget an operand?", col
        )

    def close(self, opened: int) -> None:
        token = self.next()
        if token.text == ")" and token.kind == "op":
            return
        if token.kind == "end":
            raise ExprError(f"missing ')' to close the '(' at column {opened}", token.col)
        raise ExprError(
            f"expected ',' or ')' at column {token.col} but found {_show(token)}; "
            f"did you forget an operator, or the ')' for the '(' at column {opened}?",
            token.col,
        )

    def call(self, token: _Token) -> Expr:
        name, col = token.text.lower(), token.col
        arity = FUNCTIONS.get(name)
        if arity is None:
            raise ExprError(unknown_function(token.text, col), col)
        opened = self.next().col
        args: list[Expr] = []
        with self.nested(col):
            if self.peek().text != ")":
                args.append(self.expression())
                while self.peek().text == ",":
                    self.next()
                    args.append(self.expression())
            self.close(opened)
        check_arity(name, len(args), col)
        return Call(col, name, tuple(args))

    def end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            hint = {
                ")": "it has no matching '('",
                ",": "commas only separate the arguments of a function",
            }.get(token.text, "did you forget an operator between two values?")
            raise ExprError(f"unexpected {_show(token)} at column {token.col}; {hint}", token.col)


def check_arity(name: str, count: int, col: int) -> None:
    """Raise ExprError unless function ``name`` takes ``count`` arguments."""
    low, high = FUNCTIONS[name]
    if name == "date" and count == 2:
        raise ExprError(f'date() takes 3 numbers or 1 text like "2025-12-31" (column {col})', col)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
        plural = "s" * ((high or low) != 1)
        raise ExprError(
            f"{name}() takes {wanted} argument{plural}, got {count} (column {col})", col
        )


def unknown_function(name: str, col: int) -> str:
    """The message for a call of a function the language does not have."""
    close = difflib.get_close_matches(name.lower(), list(FUNCTIONS), n=1)
    listed = ", ".join(sorted(FUNCTIONS))
    hint = f"did you mean {close[0]}()?" if close else "the functions are " + listed
    return f"unknown function '{name}' at column {col}; {hint}"


def parse(text: str) -> Expr:
    """Parse formula text into a syntax tree.

    Args:
        text: the formula, e.g. ``amount - cost``.

    Raises:
        ExprError: on any syntax problem or exceeded limit, with the column.
    """
    parser = _Parser(_tokenize(text))
    expr = parser.expression()
    parser.end()
    return expr


def parse_rollup(text: str) -> Rollup:
    """Parse ``AGG(LINK[.FIELD] [where CONDITION])``, e.g. ``count(opportunities where x > 1)``.

    Raises:
        ExprError: on any syntax problem, unknown aggregate or exceeded limit.
    """
    parser = _Parser(_tokenize(text, "rollup"))
    head = parser.next()
    kind = head.text.lower()
    if head.kind != "name" or kind not in AGGREGATES:
        close = difflib.get_close_matches(kind, AGGREGATES, n=1)
        hint = f"did you mean {close[0]}?" if close else "use " + ", ".join(AGGREGATES)
        raise ExprError(
            f"a rollup starts with an aggregate, found {_show(head)}; {hint}", head.col
        )
    if parser.peek().text != "(":
        col = parser.peek().col
        raise ExprError(f"expected '(' after {kind} at column {col}", col)
    opened = parser.next().col
    link_token = parser.next()
    if link_token.kind != "name":
        raise ExprError(
            f"expected the linked records at column {link_token.col}, as in "
            f"{kind}(opportunities.amount)",
            link_token.col,
        )
    link, _, field = link_token.text.partition(".")
    where = None
    token = parser.peek()
    if token.kind == "name" and token.text.lower() == "where":
        parser.next()
        where = parser.expression()
    elif token.text != ")":
        raise ExprError(
            f"expected 'where' or ')' at column {token.col}, found {_show(token)}", token.col
        )
    parser.close(opened)
    parser.end()
    if not field and kind != "count":
        raise ExprError(
            f"{kind}() needs a field of the linked records, as in {kind}({link}.amount)",
            link_token.col,
        )
    return Rollup(kind, link, field or None, where, text)


def calls(expr: Expr) -> frozenset[str]:
    """Every function ``expr`` calls."""
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Call):
            found.add(node.name)
            stack.extend(node.args)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Compare):
            stack.extend((node.left, node.right))
        elif isinstance(node, Chain):
            stack.extend((node.first, *(step.operand for step in node.steps)))
    return frozenset(found)


#: Functions that read the record's history, and the field each depends on ("list": the
#: record's list field; "activity": its last_contact field).
HISTORY_CALLS = {"days_in_stage": "list", "entered": "list", "last_activity": "activity"}


def names(expr: Expr) -> frozenset[str]:
    """Every identifier ``expr`` reads, dotted ones whole (``client.size``)."""
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.name)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Compare):
            stack.extend((node.left, node.right))
        elif isinstance(node, Chain):
            stack.extend((node.first, *(step.operand for step in node.steps)))
        elif isinstance(node, Call):
            stack.extend(node.args)
    return frozenset(found)
