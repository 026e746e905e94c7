"""The formula language: a small, safe expression language for formulas and rollups.

``parse`` / ``parse_rollup`` (from ``expr_syntax``) turn text into frozen trees; ``evaluate``
walks a tree with exact decimals, and ``aggregate`` is the rollup reduction. Every limit (text
size, list size, number size, total work) is enforced here, so no formula can hang the build or
exhaust memory. The language is documented for admins in ``docs/formulas.md``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias, cast

from crmgen.compute import expr_syntax as syntax
from crmgen.compute.expr_syntax import Call, Chain, Compare, Literal, Name, Unary

# The public API; the syntax half lives in expr_syntax to keep both modules small.
Value: TypeAlias = syntax.Value
Expr = syntax.Expr
ExprError = syntax.ExprError
Rollup = syntax.Rollup
parse = syntax.parse
parse_rollup = syntax.parse_rollup
names = syntax.names

MAX_TEXT = 10_000  # characters of a text result
MAX_ITEMS = 100_000  # items of a list
MAX_STEPS = 1_000_000  # node visits plus list items touched, per evaluation
MAX_ROUND_DIGITS = 10

# --- values -------------------------------------------------------------------------------


_KINDS = ((bool, "true/false"), (Decimal, "number"), (str, "text"), (dt.date, "date"))


def _kind(value: Value) -> str:
    """The type of a value as messages name it."""
    found = (name for cls, name in _KINDS if isinstance(value, cls))
    return "null" if value is None else next(found, "list")


def _text(value: Value) -> str:
    """How text(), concat() and concat rollups write a value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return "0" if value.is_zero() else format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(_text(item) for item in value if item is not None)
    return value


def _describe(value: Value) -> str:
    if value is None or isinstance(value, tuple):
        return _kind(value)
    shown = repr(value) if isinstance(value, str) else _text(value)
    return f"{_kind(value)} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def _cap(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ExprError(
            f"the text result has {len(text)} characters, more than the limit of {MAX_TEXT}; "
            "shorten the text the formula builds"
        )
    return text


def _value(raw: object, where: str, depth: int = 0) -> Value:
    """A value from outside (resolve, rollups) in the language's own types."""
    if raw is None or isinstance(raw, bool | str):
        return raw
    if isinstance(raw, int | float):
        raw = Decimal(raw if isinstance(raw, int) else repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite() or (not raw.is_zero() and abs(raw.adjusted()) > syntax.EMAX):
            raise ExprError(f"{where} holds {raw}, which is too large or small for formulas")
        return raw
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, Mapping):  # an address: its parts as one line of text
        return _cap(", ".join(_text(_value(v, where, depth + 1)) for v in raw.values() if v))
    if isinstance(raw, list | tuple) and depth < 3:
        if len(raw) > MAX_ITEMS:
            raise ExprError(f"{where} has {len(raw)} items; formulas accept at most {MAX_ITEMS}")
        return tuple(_value(item, where, depth + 1) for item in raw)
    raise ExprError(f"{where} holds a {type(raw).__name__} value, which formulas cannot use")


def _decimal_error(exc: decimal.DecimalException, col: int) -> ExprError:
    if isinstance(exc, decimal.Overflow):
        message = "number too large: results must stay below 1e1000; check the numbers used"
    elif isinstance(exc, decimal.DivisionByZero):
        message = "division by zero; guard it, as in if(cost = 0, null, amount / cost)"
    else:
        message = "the result is not a valid number (too many digits); check the numbers used"
    return ExprError(message, col)


# --- operators ----------------------------------------------------------------------------

_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_VERBS = {
    "+": "add {r} to {l}",
    "-": "subtract {r} from {l}",
    "*": "multiply {l} by {r}",
    "/": "divide {l} by {r}",
    "%": "take the remainder of {l} divided by {r}",
}


def _arith(op: str, left: Value, right: Value, col: int) -> Value:
    if left is None or right is None:
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        if op in ("/", "%") and right.is_zero():
            raise ExprError(
                "division by zero; guard it, as in if(cost = 0, null, amount / cost)", col
            )
        try:
            return cast(Decimal, _ARITH[op](left, right))
        except decimal.DecimalException as exc:
            raise _decimal_error(exc, col) from None
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _cap(left + right)
    if op in ("+", "-") and isinstance(left, dt.date) and isinstance(right, Decimal):
        return _shift(left, right if op == "+" else -right, col)
    if op == "+" and isinstance(left, Decimal) and isinstance(right, dt.date):
        return _shift(right, left, col)
    if op == "-" and isinstance(left, dt.date) and isinstance(right, dt.date):
        return Decimal((left - right).days)
    texts = isinstance(left, str) or isinstance(right, str)
    hint = (
        'to join text with other values use concat(), as in concat(title, ": ", amount)'
        if texts and op == "+"
        else "turn text into a number with number() first"
        if texts
        else "arithmetic needs numbers (a date may add or subtract days)"
    )
    verb = _VERBS.get(op, "apply " + op + " to {l} and {r}").format(l=_kind(left), r=_kind(right))
    raise ExprError(f"cannot {verb}; {hint}", col)


def _shift(day: dt.date, days: Decimal, col: int) -> dt.date:
    if days != days.to_integral_value():
        raise ExprError(f"a date moves by whole days, not {_text(days)}; use round() first", col)
    try:
        return day + dt.timedelta(days=int(days))
    except OverflowError:
        raise ExprError("the resulting date is outside the years 1 to 9999", col) from None


def _compare(op: str, left: Value, right: Value, col: int) -> Value:
    if op in ("=", "!=") and (left is None or right is None):
        return (left is None and right is None) == (op == "=")
    if left is None or right is None:
        return None
    if _kind(left) != _kind(right):
        raise ExprError(
            f"cannot compare {_kind(left)} with {_kind(right)}; compare values of the same type, "
            "converting with number(), text() or date() if needed",
            col,
        )
    if op in ("=", "!="):
        return (left == right) == (op == "=")
    if isinstance(left, tuple):
        raise ExprError("lists cannot be ordered with < or >; compare their len() instead", col)
    return bool(_ORDER[op](left, right))


def _truth(value: Value, op: str, col: int) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ExprError(
        f"'{op}' needs true/false values, got {_describe(value)}; compare it first, as in "
        "amount > 0",
        col,
    )


def _unary(op: str, value: Value, col: int) -> Value:
    if op == "not":
        return not _truth(value, op, col)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return -value if op == "-" else +value
    raise ExprError(f"'{op}' before a value needs a number, got {_describe(value)}", col)


# --- evaluation ---------------------------------------------------------------------------


class _Evaluator:
    """The state of one evaluation: the resolver, the clock and the work done so far."""

    def __init__(
        self, resolve: Callable[[str], Value], today: dt.date, history: Any = None
    ) -> None:
        self.resolve = resolve
        self.today = today
        self.history = history
        self.steps = 0
        self.cache: dict[str, Value] = {}

    def tick(self, count: int) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise ExprError(
                f"formula takes more than {MAX_STEPS} steps to compute; simplify it or use "
                "shorter lists"
            )

    def eval(self, node: Expr) -> Value:
        self.tick(1)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Chain) and node.steps and node.steps[0].op in ("and", "or"):
            stop = node.steps[0].op == "or"  # the value that decides the chain
            for operand in (node.first, *(step.operand for step in node.steps)):
                if _truth(self.eval(operand), node.steps[0].op, operand.col) is stop:
                    return stop
            return not stop
        if isinstance(node, Chain):
            acc = self.eval(node.first)
            for step in node.steps:
                acc = _arith(step.op, acc, self.eval(step.operand), step.col)
            return acc
        if isinstance(node, Compare):
            return _compare(node.op, self.eval(node.left), self.eval(node.right), node.col)
        if isinstance(node, Unary):
            return _unary(node.op, self.eval(node.operand), node.col)
        if isinstance(node, Call):
            return self.call(node)
        raise ExprError(f"cannot evaluate a {type(node).__name__}", node.col)

    def name(self, node: Name) -> Value:
        if node.name not in self.cache:
            try:
                raw = self.resolve(node.name)
            except KeyError:
                hint = (
                    f"to call the function write {node.name.lower()}()"
                    if node.name.lower() in syntax.FUNCTIONS
                    else "check its spelling against the fields in the schema"
                )
                raise ExprError(f"unknown field '{node.name}'; {hint}", node.col) from None
            value = _value(raw, f"field '{node.name}'")
            self.tick(len(value) if isinstance(value, tuple) else 0)
            self.cache[node.name] = value
        return self.cache[node.name]

    def call(self, node: Call) -> Value:
        if node.name not in _HANDLERS:
            raise ExprError(syntax.unknown_function(node.name, node.col), node.col)
        handler = _HANDLERS[node.name]
        syntax.check_arity(node.name, len(node.args), node.col)
        if node.name == "if":
            cond = self.eval(node.args[0])
            if cond is None or isinstance(cond, bool):
                return self.eval(node.args[1] if cond else node.args[2])
            raise ExprError(
                f"if() needs a true/false condition first, got {_describe(cond)}; compare it, "
                "as in if(amount > 0, ...)",
                node.col,
            )
        if handler is None:  # coalesce: lazy, the first value that is not null
            for arg in node.args:
                value = self.eval(arg)
                if value is not None:
                    return value
            return None
        args = tuple(self.eval(arg) for arg in node.args)
        try:
            return handler(self, args)
        except ExprError as exc:
            raise ExprError(exc.message, exc.col or node.col) from None
        except decimal.DecimalException as exc:
            raise _decimal_error(exc, node.col) from None


def evaluate(
    expr: Expr, resolve: Callable[[str], Value], today: dt.date, history: Any = None
) -> Value:
    """Compute a parsed formula.

    Args:
        expr: from ``parse`` (or ``Rollup.where``).
        resolve: the value of a field or dotted name; raises KeyError for an unknown name.
            Ints, floats, lists and datetimes are accepted and converted.
        today: the date ``today()`` returns.
        history: the record's ``RecordHistory`` for ``days_in_stage()``, ``entered()`` and
            ``last_activity()`` (None: they give null).

    Raises:
        ExprError: type mismatch, division by zero, unknown field or function, a limit.
    """
    with decimal.localcontext(syntax.DECIMAL_CONTEXT):
        try:
            return _Evaluator(resolve, today, history).eval(expr)
        except decimal.DecimalException as exc:
            raise _decimal_error(exc, expr.col) from None


def aggregate(kind: str, values: Sequence[Value]) -> Value:
    """Aggregate rolled-up values; None values are skipped, tuples are flattened.

    ``sum`` of nothing is 0, ``count`` counts the values that are not None, ``avg``, ``min``
    and ``max`` of nothing are None, ``concat`` joins the values as text with ", ".

    Raises:
        ExprError: unknown aggregate, values of the wrong type, a limit.
    """
    name = kind.lower()
    if name not in syntax.AGGREGATES:
        raise ExprError(f"unknown aggregate '{kind}'; use one of " + ", ".join(syntax.AGGREGATES))
    with decimal.localcontext(syntax.DECIMAL_CONTEXT):
        try:
            return _reduce(name, _flatten(_value(list(values), "a rollup")))
        except decimal.DecimalException as exc:
            raise _decimal_error(exc, 0) from None


# --- functions ----------------------------------------------------------------------------

_Handler: TypeAlias = Callable[[_Evaluator, tuple[Value, ...]], Value]


def _number(value: Value, fn: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise ExprError(f"{fn}() needs a number, got {_describe(value)}")


def _whole(value: Value, fn: str) -> int:
    number = _number(value, fn)
    if number != number.to_integral_value():
        raise ExprError(f"{fn}() needs a whole number, got {_text(number)}")
    return int(number)


def _date(value: Value, fn: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    raise ExprError(f"{fn}() needs a date, got {_describe(value)}")


def _flatten(values: Value) -> list[Value]:
    items: list[Value] = []
    for value in values if isinstance(values, tuple) else (values,):
        items.extend(value if isinstance(value, tuple) else (value,))
        if len(items) > MAX_ITEMS:
            raise ExprError(f"a list in this formula has more than {MAX_ITEMS} items")
    return [item for item in items if item is not None]


def _reduce(kind: str, items: list[Value]) -> Value:
    if kind == "count":
        return Decimal(len(items))
    if kind == "concat":
        return _cap(", ".join(_text(item) for item in items))
    if kind in ("sum", "avg"):
        numbers = [_number(item, kind) for item in items]
        total = sum(numbers, Decimal(0))
        return total if kind == "sum" else total / len(numbers) if numbers else None
    kinds = {_kind(item) for item in items}
    if len(kinds) > 1 or not kinds <= {"number", "text", "date"}:
        found = " and ".join(sorted(kinds))
        raise ExprError(f"{kind}() needs values of one type (numbers, dates or text), got {found}")
    pick = min if kind == "min" else max
    return cast(Value, pick(cast(list[Any], items))) if items else None


def _aggregate_fn(kind: str) -> _Handler:
    def handler(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
        items = _flatten(args)
        ev.tick(len(items))
        return _reduce(kind, items)

    return handler


def _round(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    if None in args:
        return None
    digits = _whole(args[1], "round") if len(args) > 1 else 0
    if not 0 <= digits <= MAX_ROUND_DIGITS:
        raise ExprError(f"round() keeps 0 to {MAX_ROUND_DIGITS} decimals, not {digits}")
    step = Decimal(1).scaleb(-digits)
    return _number(args[0], "round").quantize(step, rounding=decimal.ROUND_HALF_UP)


def _on_one(apply: Callable[[Value], Value]) -> _Handler:
    """A one-argument function where null gives null."""
    return lambda ev, args: None if args[0] is None else apply(args[0])


def _make_date(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    if None in args:
        return None
    if len(args) == 1 and isinstance(args[0], str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", args[0]):
            args = tuple(Decimal(part) for part in args[0].split("-"))
        else:
            raise ExprError(f'date() needs text like "2025-12-31", got {_describe(args[0])}')
    if len(args) != 3:
        raise ExprError('date() takes three numbers (year, month, day) or text like "2025-12-31"')
    year, month, day = (_whole(arg, "date") for arg in args)
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        raise ExprError(f"date({year}, {month}, {day}) is not a valid date") from None


def _days_between(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    if None in args:
        return None
    start, end = (_date(arg, "days_between") for arg in args)
    return Decimal((end - start).days)


def _len(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    value = args[0]
    if value is None or isinstance(value, str | tuple):
        return Decimal(len(value or ""))
    raise ExprError(f"len() needs text or a list, got {_describe(value)}")


def _text_of(fn: str, change: Callable[[str], str]) -> Callable[[Value], Value]:
    def apply(value: Value) -> Value:
        if not isinstance(value, str):
            raise ExprError(f"{fn}() needs text, got {_describe(value)}")
        return _cap(change(value))

    return apply


def _contains(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    haystack, needle = args
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, str):
        if not isinstance(needle, str):
            raise ExprError(f"contains() looks for text in text, got {_describe(needle)}")
        return needle in haystack
    if isinstance(haystack, tuple):
        ev.tick(len(haystack))
        return any(_kind(item) == _kind(needle) and item == needle for item in haystack)
    raise ExprError(f"contains() needs text or a list first, got {_describe(haystack)}")


def _days_in_stage(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    days = ev.history.days_in_stage(ev.today) if ev.history is not None else None
    return None if days is None else Decimal(days)


def _entered(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    if args[0] is None:
        return None
    if not isinstance(args[0], str):
        raise ExprError(f'entered() needs the name of a list, as in entered("Negotiation"), '
                        f"got {_describe(args[0])}")  # fmt: skip
    return ev.history.entered(args[0]) if ev.history is not None else None


def _last_activity(ev: _Evaluator, args: tuple[Value, ...]) -> Value:
    return ev.history.last_activity.date if ev.history is not None else None


def _to_number(value: Value) -> Value:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and syntax.NUMBER_TEXT.fullmatch(value):
        return syntax.read_number(value)
    raise ExprError(f"number() cannot read {_describe(value)}; it reads text like 12 or -3.5")


_HANDLERS: Mapping[str, _Handler | None] = MappingProxyType(
    {
        "abs": _on_one(lambda x: abs(_number(x, "abs"))),
        "avg": _aggregate_fn("avg"),
        "coalesce": None,
        "concat": lambda ev, args: _cap("".join(_text(arg) for arg in args)),
        "contains": _contains,
        "count": _aggregate_fn("count"),
        "date": _make_date,
        "day": _on_one(lambda d: Decimal(_date(d, "day").day)),
        "days_between": _days_between,
        "days_in_stage": _days_in_stage,
        "entered": _entered,
        "if": None,
        "last_activity": _last_activity,
        "len": _len,
        "lower": _on_one(_text_of("lower", str.lower)),
        "max": _aggregate_fn("max"),
        "min": _aggregate_fn("min"),
        "month": _on_one(lambda d: Decimal(_date(d, "month").month)),
        "number": _on_one(_to_number),
        "round": _round,
        "sum": _aggregate_fn("sum"),
        "text": _on_one(lambda x: _cap(_text(x))),
        "today": lambda ev, args: ev.today,
        "upper": _on_one(_text_of("upper", str.upper)),
        "year": _on_one(lambda d: Decimal(_date(d, "year").year)),
    }
)
