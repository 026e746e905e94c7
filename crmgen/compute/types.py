"""Result kinds of formulas and rollups, found from field types before any record is evaluated.

A formula whose operands cannot work together (``amount - title``) is one error at its schema
line, not one error per record. The check does not restate the language's rules: it runs the
evaluator's own operators and functions (``expr``) on one representative value of each kind
(number, text, date, true/false, list), so what is refused here is exactly what evaluation
would refuse, with the same message. A kind that cannot be known ahead (a select whose options
mix numbers and text, a value that may be null) is ``any`` and is checked per record as before.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import product

from crmgen.compute import expr
from crmgen.compute import expr_syntax as syntax
from crmgen.compute.expr_syntax import Call, Chain, Compare, Expr, Literal, Name, Unary
from crmgen.compute.order import Plan
from crmgen.compute.paths import LIST_ATTRS, PathError, schema_of
from crmgen.fields import FIELD_TYPES
from crmgen.model import Diagnostic, FieldSpec, Node, ProjectSchema, error

Kind = str  # number, text, date, bool, list or any

#: The field type a computed value of each kind is shown as, when its schema declares none.
RESULT_OF_KIND: Mapping[Kind, str] = {
    "number": "number",
    "text": "text",
    "date": "date",
    "bool": "checkbox",
}

#: Representative values of each kind; text has several so that number("1") and
#: date("2000-01-01") are not refused for a text that happens to be "x".
SAMPLES: Mapping[Kind, tuple[expr.Value, ...]] = {
    "number": (Decimal(1),),
    "text": ("x", "2000-01-01", "1"),
    "date": (dt.date(2000, 1, 1),),
    "bool": (True,),
    "list": ((),),
    "any": (None,),
}
_LIST_ATTR_KINDS = {"name": "text", "kind": "text", "probability": "number", "max_days": "number"}


def kind_of_value(value: expr.Value) -> Kind:
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.date):
        return "date"
    return "list"


def field_kind(spec: FieldSpec, computed: Mapping[str, Kind]) -> Kind:
    """The kind a formula sees for one field (``computed``: kinds of computed fields so far)."""
    if spec.computed:
        if spec.name in computed:
            return computed[spec.name]
        declared = FIELD_TYPES.get(spec.result or "")
        return declared.value if declared is not None else "any"
    if spec.type in ("reference", "file"):
        return "list" if spec.multiple else "text"
    if spec.type == "select":
        options = spec.schema.get("enum") or ()
        if options and all(isinstance(o, str) for o in options):
            return "text"
        return "any"
    return FIELD_TYPES[spec.type].value


def name_kind(
    schemas: Mapping[str, ProjectSchema],
    project: str,
    dotted: str,
    computed: Mapping[Node, Kind],
) -> Kind:
    """The kind of a (dotted) name read on a record of ``project``: a list when the path goes
    through a multiple reference or back-links."""
    parts = dotted.split(".")
    current, many = project, False
    for index, part in enumerate(parts):
        spec = schema_of(schemas, current).field(part)
        if spec is None:
            raise PathError(f"'{part}' is not a field of {current}")
        rest = parts[index + 1 :]
        if not rest:
            own = {name: kind for (p, name), kind in computed.items() if p == current}
            kind = field_kind(spec, own)
            return "list" if many and kind != "any" else kind
        if spec.type == "list" and len(rest) == 1 and rest[0] in LIST_ATTRS:
            kind = _LIST_ATTR_KINDS[rest[0]]
            return "list" if many else kind
        if spec.type == "lookup":
            return "any"  # a lookup of a reference: its kind is checked per record
        many = many or spec.multiple or spec.type == "referenced-by"
        current = spec.target or current
    return "any"  # pragma: no cover - the loop returns


class _Checker:
    def __init__(self, kind_of: Callable[[str], Kind]) -> None:
        self.kind_of = kind_of
        self.evaluator = expr._Evaluator(lambda name: None, dt.date(2000, 1, 1))

    def kind(self, node: Expr) -> Kind:
        if isinstance(node, Literal):
            return kind_of_value(node.value)
        if isinstance(node, Name):
            return self.kind_of(node.name)
        if isinstance(node, Unary):
            operand = self.kind(node.operand)
            return self._try(lambda v: expr._unary(node.op, v[0], node.col), [operand])
        if isinstance(node, Compare):
            kinds = [self.kind(node.left), self.kind(node.right)]
            return self._try(lambda v: expr._compare(node.op, v[0], v[1], node.col), kinds)
        if isinstance(node, Chain):
            return self._chain(node)
        if isinstance(node, Call):
            return self._call(node)
        raise expr.ExprError(f"cannot check a {type(node).__name__}", node.col)

    def _chain(self, node: Chain) -> Kind:
        if node.steps and node.steps[0].op in ("and", "or"):
            op = node.steps[0].op
            for operand in (node.first, *(step.operand for step in node.steps)):
                kind = self.kind(operand)
                self._try(functools.partial(_truth_of, op=op, col=operand.col), [kind])
            return "bool"
        kind = self.kind(node.first)
        for step in node.steps:
            right = self.kind(step.operand)
            apply = functools.partial(_arith_of, op=step.op, col=step.col)
            kind = self._try(apply, [kind, right])
        return kind

    def _call(self, node: Call) -> Kind:
        if node.name not in expr._HANDLERS:
            raise expr.ExprError(syntax.unknown_function(node.name, node.col), node.col)
        handler = expr._HANDLERS[node.name]
        syntax.check_arity(node.name, len(node.args), node.col)
        kinds = [self.kind(arg) for arg in node.args]
        if node.name == "if":
            self._try(lambda v: expr._truth(v[0], "if()", node.col), kinds[:1])
            return _common(kinds[1:])
        if handler is None:  # coalesce
            return _common(kinds)
        call = handler

        def run(values: tuple[expr.Value, ...]) -> expr.Value:
            try:
                return call(self.evaluator, values)
            except expr.ExprError as exc:
                raise expr.ExprError(exc.message, exc.col or node.col) from None

        return self._try(run, kinds)

    def _try(
        self, apply: Callable[[tuple[expr.Value, ...]], expr.Value], kinds: list[Kind]
    ) -> Kind:
        """The kind of ``apply`` over every combination of samples of ``kinds``; an error only
        when every combination fails (then the first failure's message)."""
        first: expr.ExprError | None = None
        found: list[Kind] = []
        for values in product(*(SAMPLES[k] for k in kinds)):
            try:
                found.append(kind_of_value(apply(values)))
            except expr.ExprError as exc:
                first = first or exc
        if not found:
            assert first is not None
            raise expr.ExprError(_without_samples(first.message), first.col)
        return _common(found)


def _truth_of(values: tuple[expr.Value, ...], op: str, col: int) -> expr.Value:
    return expr._truth(values[0], op, col)


def _arith_of(values: tuple[expr.Value, ...], op: str, col: int) -> expr.Value:
    return expr._arith(op, values[0], values[1], col)


def _without_samples(message: str) -> str:
    """A message about a sample value, reworded to be about its kind ("got number 1" -> "got a
    number"): the sample is ours, not the author's."""
    for kind, samples in SAMPLES.items():
        for sample in samples:
            if sample is not None and sample != ():
                message = message.replace(expr._describe(sample), _NAMES[kind])
    return message


def _common(kinds: list[Kind]) -> Kind:
    known = {k for k in kinds if k != "any"}
    return known.pop() if len(known) == 1 else "any"


def infer(tree: Expr, kind_of: Callable[[str], Kind]) -> Kind:
    """The kind of a parsed formula's value.

    Args:
        tree: from ``expr.parse`` (or a rollup's ``where``).
        kind_of: the kind of a name the formula reads.

    Raises:
        ExprError: operands or arguments of kinds that can never work, with the column.
    """
    return _Checker(kind_of).kind(tree)


def check_plan(
    schemas: Mapping[str, ProjectSchema], plan: Plan
) -> tuple[Mapping[Node, Kind], frozenset[Node], list[Diagnostic]]:
    """Check every lookup, formula and rollup of ``plan`` in evaluation order.

    Returns:
        The kind of each computed field's value; the computed fields that can never evaluate
        (left empty, never evaluated per record); and one error for each at its schema line.
    """
    kinds: dict[Node, Kind] = {}
    broken: set[Node] = set()
    diags: list[Diagnostic] = []
    for node in plan.order:
        project, name = node
        spec = schemas[project].field(name)
        assert spec is not None
        try:
            kind = _node_kind(schemas, plan, node, spec, kinds)
        except (expr.ExprError, PathError) as exc:
            broken.add(node)
            what = spec.expression or spec.path
            message = exc.message if isinstance(exc, expr.ExprError) else str(exc)
            diags.append(
                error(
                    f"schema-{spec.type}",
                    f"{name}: {message} (in {spec.type} '{what}')",
                    schemas[project].path,
                    spec.expression_pos or spec.pos,
                    name,
                )
            )
            continue
        kinds[node] = kind
    return kinds, frozenset(broken), diags


def _node_kind(
    schemas: Mapping[str, ProjectSchema],
    plan: Plan,
    node: Node,
    spec: FieldSpec,
    kinds: Mapping[Node, Kind],
) -> Kind:
    project = node[0]
    declared = FIELD_TYPES[spec.result].value if spec.result in FIELD_TYPES else "any"
    if spec.type == "lookup":
        return name_kind(schemas, project, spec.path or "", kinds)
    if spec.type == "formula":
        found = infer(plan.formulas[node], lambda n: name_kind(schemas, project, n, kinds))
    else:
        rollup = plan.rollups[node]
        target = plan.rollup_targets[node]
        if rollup.where is not None:
            condition = infer(rollup.where, lambda n: name_kind(schemas, target, n, kinds))
            if condition not in ("bool", "any"):
                raise expr.ExprError(
                    f"the condition after 'where' gives {_NAMES[condition]}, not true/false; "
                    'compare it, as in where list.kind = "won"'
                )
        item = name_kind(schemas, target, rollup.field, kinds) if rollup.field else "any"
        found = _rollup_kind(rollup.aggregate, item)
    if "any" not in (declared, found) and declared != found:
        raise expr.ExprError(
            f"the result is declared as {spec.result} but the {spec.type} gives "
            f"{_NAMES[found]}; change 'result' or the {spec.type}"
        )
    return declared if declared != "any" else found


_NAMES = {
    "number": "a number",
    "text": "text",
    "date": "a date",
    "bool": "true/false",
    "list": "a list",
    "any": "a value",
}


def _rollup_kind(aggregate: str, item: Kind) -> Kind:
    if aggregate in ("sum", "avg") and item not in ("number", "any"):
        raise expr.ExprError(
            f"{aggregate}() adds up numbers, but the rolled-up field is {_NAMES[item]}"
        )
    if aggregate in ("count", "sum", "avg"):
        return "number"
    if aggregate == "concat":
        return "text"
    return item if item != "list" else "any"
