"""Lead assignment: unassigned records in the chosen lists get an owner by rules, else by
round-robin over the team (the member with the fewest open records, ties in team order).

``proposals`` is what ``crmgen assign`` writes; ``check`` reports each as a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from crmgen.model import Dataset, Record
from crmgen.model.automations import Assignment, Automations
from crmgen.model.findings import Finding

from .criteria import matches


@dataclass(frozen=True, slots=True)
class Proposal:
    """An owner for a record, and why."""

    record: Record
    field: str
    owner: str
    reason: str
    spec: Assignment


def _describe(spec: Assignment, index: int) -> str:
    rule = spec.rules[index]
    parts = []
    for field, allowed, bounds in rule.when:
        if bounds is not None:
            low, high = bounds
            span = f"from {low}" + (f" to {high}" if high else "") if low else f"up to {high}"
            parts.append(f"{field} {span}")
        else:
            parts.append(f"{field} is {' or '.join('empty' if v is None else v for v in allowed)}")
    return f"rule {index + 1}: {', '.join(parts) or 'any record'}"


def proposals(dataset: Dataset, automations: Automations) -> Iterator[Proposal]:
    """Every owner the assignment rules give, record by record, in a stable order."""
    for spec in automations.assignment:
        project = dataset.projects[spec.project]
        list_field = project.schema.list_field or ""
        kinds = {s.name: s.kind for s in project.schema.lists}
        load: dict[str, int] = {member: 0 for member in spec.team}
        for record in project.records.values():
            owner = record.get(spec.field)
            if owner in load and kinds.get(record.get(list_field)) == "open":
                load[owner] += 1
        waiting = [
            r
            for r in project.records.values()
            if r.get(list_field) in spec.lists and r.get(spec.field) in (None, "")
        ]
        created = {r.slug: r.history.created.date for r in waiting}
        waiting.sort(key=lambda r: (created[r.slug] is None, created[r.slug] or 0, r.slug))
        for record in waiting:
            hits = (i for i, rule in enumerate(spec.rules) if matches(record, rule.when))
            index = next(hits, None)
            if index is not None:
                owner, reason = spec.rules[index].owner, _describe(spec, index)
            elif spec.team:
                owner = min(spec.team, key=lambda member: (load[member], spec.team.index(member)))
                reason = f"round-robin: {load[owner]} open record(s) before this one"
            else:
                continue
            if owner in load:
                load[owner] += 1
            yield Proposal(record, spec.field, owner, reason, spec)


def check(dataset: Dataset, automations: Automations) -> list[Finding]:
    found = []
    for proposal in proposals(dataset, automations):
        record, spec = proposal.record, proposal.spec
        schema = dataset.projects[spec.project].schema
        reads = {(spec.project, spec.field), (spec.project, schema.list_field or "")}
        reads |= {(spec.project, c[0]) for rule in spec.rules for c in rule.when}
        found.append(
            Finding(
                rule="assignment",
                severity="warning",
                project=spec.project,
                slug=record.slug,
                path=record.path,
                line=record.pos(schema.list_field).line,
                message=(
                    f"no {proposal.field} yet; `crmgen assign` gives it to {proposal.owner} "
                    f"({proposal.reason})"
                ),
                owner="",
                badge="Unassigned",
                reads=frozenset(reads),
                proposal={proposal.field: proposal.owner},
            )
        )
    return found
