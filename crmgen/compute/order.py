"""The dependency graph of computed fields across projects, in evaluation order.

Nodes are (project, field). A cycle is an error that prints its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crmgen.compute import expr, expr_syntax
from crmgen.compute.paths import PathError, walk
from crmgen.messages import did_you_mean
from crmgen.model import Diagnostic, FieldSpec, Node, ProjectSchema, error


@dataclass(frozen=True, slots=True)
class Plan:
    """What to compute, in order, with the parsed expressions.

    ``reads`` maps every computed field (referenced-by included) to the fields it reads
    directly; it is what ``Dataset.reads`` carries to redaction.
    """

    order: tuple[Node, ...]
    formulas: Mapping[Node, expr.Expr]
    rollups: Mapping[Node, expr.Rollup]
    rollup_targets: Mapping[Node, str]
    reads: Mapping[Node, frozenset[Node]]


def rollup_target(
    schemas: Mapping[str, ProjectSchema], project: str, link: str
) -> tuple[str, list[Node]]:
    """The project a rollup aggregates over and the nodes its link reads."""
    if schemas[project].field(link) is not None:
        nodes = walk(schemas, project, link)
        proj, name = nodes[-1]
        spec = schemas[proj].field(name)
        target = spec.target if spec is not None else None
        if spec is not None and spec.type == "lookup" and spec.path:
            inner = walk(schemas, proj, spec.path)[-1]
            inner_spec = schemas[inner[0]].field(inner[1])
            target = inner_spec.target if inner_spec is not None else None
        if not target:
            raise PathError(f"'{link}' is not a reference, so there is nothing to roll up")
        return target, nodes
    if link in schemas:
        feeding = [
            (link, f.name)
            for f in schemas[link].fields
            if f.type == "reference" and f.target == project
        ]
        if feeding:  # the back-links through these references are the members
            return link, feeding
        raise PathError(
            f"no field of {link} references {project}, so there is nothing to "
            "roll up; add a reference field to that project"
        )
    names = [f.name for f in schemas[project].fields] + list(schemas)
    raise PathError(
        f"'{link}' is neither a reference field of {project} nor a project"
        f"{did_you_mean(link, names)}"
    )


def _history_reads(schema: ProjectSchema, called: frozenset[str]) -> list[Node]:
    """What the history functions a formula calls read: the list field, last_contact."""
    kinds = {expr_syntax.HISTORY_CALLS[c] for c in called if c in expr_syntax.HISTORY_CALLS}
    fields = {
        "list": schema.list_field,
        "activity": "last_contact" if schema.field("last_contact") else None,
    }
    return [(schema.name, name) for kind in sorted(kinds) if (name := fields[kind])]


def _deps(
    schemas: Mapping[str, ProjectSchema],
    project: str,
    spec: FieldSpec,
    plan: dict[str, dict[Any, Any]],
) -> list[Node]:
    text = spec.expression or ""
    node = (project, spec.name)
    if spec.type == "lookup":
        return walk(schemas, project, spec.path or "")
    if spec.type == "formula":
        parsed = expr.parse(text)
        plan["formulas"][node] = parsed
        found = [n for name in sorted(expr.names(parsed)) for n in walk(schemas, project, name)]
        return found + _history_reads(schemas[project], expr_syntax.calls(parsed))
    if spec.type == "rollup":
        rollup = expr.parse_rollup(text)
        target, nodes = rollup_target(schemas, project, rollup.link)
        plan["rollups"][node] = rollup
        plan["targets"][node] = target
        if rollup.field:
            nodes += walk(schemas, target, rollup.field)
        if rollup.where is not None:
            for name in sorted(expr.names(rollup.where)):
                nodes += walk(schemas, target, name)
        return nodes
    return []


def _feeding(schemas: Mapping[str, ProjectSchema], project: str, spec: FieldSpec) -> list[Node]:
    """The reference fields a referenced-by field is filled from."""
    target = schemas.get(spec.target or "")
    if target is None:
        return []
    return [
        (target.name, f.name)
        for f in target.fields
        if f.type == "reference" and f.target == project and spec.via in (None, f.name)
    ]


def plan(schemas: Mapping[str, ProjectSchema]) -> tuple[Plan, list[Diagnostic]]:
    """Parse every computed field, check its names, and order them; report cycles."""
    diags: list[Diagnostic] = []
    parts: dict[str, dict[Any, Any]] = {"formulas": {}, "rollups": {}, "targets": {}}
    graph: dict[Node, list[Node]] = {}
    computed: dict[Node, FieldSpec] = {}
    reads: dict[Node, frozenset[Node]] = {}
    for name, schema in sorted(schemas.items()):
        for spec in schema.fields:
            if spec.type == "referenced-by":
                reads[(name, spec.name)] = frozenset(_feeding(schemas, name, spec))
            if spec.type not in ("lookup", "formula", "rollup"):
                continue
            node = (name, spec.name)
            try:
                deps = _deps(schemas, name, spec, parts)
            except (PathError, expr.ExprError) as exc:
                what = spec.expression or spec.path
                diags.append(
                    error(
                        f"schema-{spec.type}",
                        f"{spec.name}: {exc} (in {spec.type} '{what}')",
                        schema.path,
                        spec.expression_pos or spec.pos,
                        spec.name,
                    )
                )
                continue
            computed[node] = spec
            graph[node] = [d for d in deps if d != node or spec.type != "lookup"]
            reads[node] = frozenset(graph[node])
    order, cycles = _toposort(graph, computed)
    for cycle in cycles:
        first = computed[cycle[0]]
        shown = " -> ".join(f"{p}.{f}" for p, f in (*cycle, cycle[0]))
        diags.append(
            error(
                "cycle",
                f"computed fields depend on each other in a cycle: {shown}; break the cycle",
                schemas[cycle[0][0]].path,
                first.pos,
                first.name,
            )
        )
    found = Plan(tuple(order), parts["formulas"], parts["rollups"], parts["targets"], reads)
    return found, diags


def _toposort(
    graph: Mapping[Node, Sequence[Node]], computed: Mapping[Node, FieldSpec]
) -> tuple[list[Node], list[list[Node]]]:
    """Depth-first order; nodes on or behind a cycle are left out."""
    state: dict[Node, int] = {}  # 1 visiting, 2 done, 3 broken
    order: list[Node] = []
    cycles: list[list[Node]] = []
    for start in sorted(graph):
        if start in state:
            continue
        stack: list[tuple[Node, int]] = [(start, 0)]
        path: list[Node] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            deps = [d for d in graph.get(node, ()) if d in computed]
            if index < len(deps):
                stack.append((node, index + 1))
                dep = deps[index]
                if state.get(dep) == 1:
                    cycle = path[path.index(dep) :]
                    cycles.append(cycle)
                    for n in cycle:
                        state[n] = 3
                elif dep not in state:
                    stack.append((dep, 0))
                continue
            path.pop()
            broken = state[node] == 3 or any(state.get(d) == 3 for d in deps)
            state[node] = 3 if broken else 2
            if not broken:
                order.append(node)
    return order, cycles
