"""Stage: automations. Declared in ``crmgen.yml``, checked against the data, run in order.

A small registry, no plugin system: each automation is one module with
``check(dataset, automations) -> findings``. An automation that raises becomes a diagnostic
naming it, and the others still run. Stage notifications are not findings: ``changes`` and the
feeds read them from the declarations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from crmgen.model import Dataset, Diagnostic, error
from crmgen.model.automations import Automations
from crmgen.model.findings import Finding

from . import aging, assignment, follow_up
from .declarations import parse

Check = Callable[[Dataset, Automations], list[Finding]]

#: Every automation that produces findings, in the order they run.
REGISTRY: tuple[tuple[str, Check], ...] = (
    ("assignment", assignment.check),
    ("follow-up", follow_up.check),
    ("aging", aging.check),
)


def run(dataset: Dataset) -> tuple[Dataset, list[Diagnostic]]:
    """Parse and check the declarations, then run every automation.

    Returns:
        The dataset with ``automations`` and its sorted ``findings``, and the diagnostics
        (declaration errors at their line; an automation that failed, by name).
    """
    automations, diagnostics = parse(dataset)
    findings: list[Finding] = []
    for name, check in REGISTRY:
        try:
            findings.extend(check(dataset, automations))
        except Exception as exc:  # a broken automation must not stop the others
            diagnostics.append(
                error(
                    "automation-failed",
                    f"the {name} automation failed ({type(exc).__name__}: {exc}); the others "
                    "ran. Please report this as a bug.",
                    dataset.config.path,
                )
            )
    ordered = tuple(sorted(findings, key=lambda f: f.sort_key))
    return dataclasses.replace(dataset, automations=automations, findings=ordered), diagnostics
