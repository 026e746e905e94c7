"""Time in stage per list, from each record's history: the median and the middle half.

A stay is the time between a record entering a list and entering the next one (stays still
going on are left out: they have no length yet). Medians and quartiles are not sums, so the
browser cannot re-aggregate them: this chart is computed over every record of its projects
and says that the dashboard's filters do not apply to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from crmgen.model import Dataset


@dataclass(frozen=True, slots=True)
class StageTime:
    """The stays in one list: how many, and their quartiles in days."""

    list: str
    count: int
    low: Decimal
    median: Decimal
    high: Decimal


def quantile(values: Sequence[int], share: Decimal) -> Decimal:
    """The ``share`` quantile of sorted ``values``, interpolated (as spreadsheets do)."""
    position = share * (len(values) - 1)
    below = int(position)
    above = min(below + 1, len(values) - 1)
    weight = position - below
    return Decimal(values[below]) * (1 - weight) + Decimal(values[above]) * weight


def stage_times(dataset: Dataset, projects: Iterable[str]) -> list[StageTime]:
    """The quartiles of finished stays per list, in each project's list order."""
    stays: dict[str, list[int]] = {}
    order: list[str] = []
    for name in projects:
        project = dataset.projects[name]
        order += [spec.name for spec in project.schema.lists if spec.kind == "open"]
        for record in project.records.values():
            steps = record.history.transitions
            for step, following in itertools.pairwise(steps):
                stays.setdefault(step.to_list, []).append((following.date - step.date).days)
    found = []
    for name in dict.fromkeys(order):
        days = sorted(stays.get(name, ()))
        if days:
            quarter = Decimal("0.25")
            found.append(
                StageTime(
                    name,
                    len(days),
                    quantile(days, quarter),
                    quantile(days, Decimal("0.5")),
                    quantile(days, 3 * quarter),
                )
            )
    return found
