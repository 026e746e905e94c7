"""Who may see what: the fields an audience must not see, derived once for every stage.

A field restricted to audiences the build is not for is hidden, and so, transitively, is every
computed field that reads one: a lookup whose path crosses it, a formula or rollup naming it,
a referenced-by fed by a hidden reference. Views and dashboards both ask this module, so a
value hidden from a page is hidden from a chart too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crmgen.model import Dataset, FieldSpec

_Node = tuple[str, str]  # (project, field)
_LINKING = ("reference", "referenced-by")


@dataclass(frozen=True, slots=True)
class Audience:
    """The audience a build is for and the (project, field) pairs it must not see."""

    name: str | None
    hidden: frozenset[_Node]

    def sees(self, project: str, field: str | None) -> bool:
        """Whether this audience may see ``field`` of ``project`` (None: nothing to hide)."""
        return field is None or (project, field) not in self.hidden


def audience(dataset: Dataset, name: str | None) -> Audience:
    """The visibility of every field for the audience called ``name`` (None: the most
    restricted audience, which sees no restricted field)."""
    return Audience(name, hidden_fields(dataset, name))


_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")
_MAX_DEPTH = 16
_Step = tuple[str, FieldSpec]


def hidden_fields(dataset: Dataset, audience: str | None) -> frozenset[_Node]:
    """The (project, field) pairs an audience must not see.

    A field restricted to audiences without ``audience``, and, transitively, every computed
    field that reads one: a lookup whose path crosses it, a formula or rollup naming it (in its
    own project or in one its first path segment leads to), a referenced-by fed by it.
    """
    hidden = {
        (name, spec.name)
        for name, proj in dataset.projects.items()
        for spec in proj.schema.fields
        if spec.audiences and audience not in spec.audiences
    }
    changed = True
    while changed:
        changed = False
        for name, proj in sorted(dataset.projects.items()):
            for spec in proj.schema.fields:
                if (name, spec.name) not in hidden and _reads_hidden(dataset, hidden, name, spec):
                    hidden.add((name, spec.name))
                    changed = True
    return frozenset(hidden)


def _reads_hidden(dataset: Dataset, hidden: set[_Node], project: str, spec: FieldSpec) -> bool:
    if spec.type == "referenced-by":
        target = dataset.projects.get(spec.target or "")
        return any(
            (spec.target, f.name) in hidden
            for f in (target.schema.fields if target else ())
            if f.type == "reference" and f.target == project and spec.via in (None, f.name)
        )
    if spec.type == "lookup":
        names, scopes = [spec.path or ""], [project]
    elif spec.type in ("formula", "rollup"):
        names = _DOTTED.findall(_STRINGS.sub(" ", spec.expression or ""))
        scopes = sorted({project} | {s for n in names for s in _scope_of(dataset, project, n)})
    else:
        return False
    steps = (step for s in scopes for n in names for step in walk(dataset, s, n))
    return any((p, field.name) in hidden for p, field in steps)


def _scope_of(dataset: Dataset, project: str, dotted: str) -> set[str]:
    """Projects a rollup's first path segment leads to (a linking field or a project name)."""
    steps = walk(dataset, project, dotted.split(".")[0])
    spec = steps[-1][1] if steps else None
    if spec is not None and spec.type in _LINKING and spec.target:
        return {spec.target}
    return {dotted.split(".")[0]} & set(dataset.projects)


def walk(dataset: Dataset, project: str, dotted: str, depth: int = 0) -> list[_Step]:
    """The (project, field) steps a dotted name takes, through references and lookups.

    A first segment that is no field but a project name starts there (rollups over a project).
    The last step is the field the name ends at; a name that does not resolve stops early.
    """
    segments = dotted.split(".")
    proj = dataset.projects.get(project)
    if proj and proj.schema.field(segments[0]) is None and segments[0] in dataset.projects:
        project, segments = segments[0], segments[1:]
    steps: list[_Step] = []
    for segment in segments:
        proj = dataset.projects.get(project)
        spec = proj.schema.field(segment) if proj else None
        if spec is None or depth > _MAX_DEPTH:
            break
        steps.append((project, spec))
        if spec.type == "lookup" and spec.path:
            steps.extend(walk(dataset, project, spec.path, depth + 1))
        last = steps[-1][1]
        if last.type not in _LINKING or not last.target:
            break
        project = last.target
    return steps
