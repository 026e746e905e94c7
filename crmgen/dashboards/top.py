"""The top groups of a chart grouped by a field of many values, and "Others" for the rest.

A chart by client, owner or product may have thousands of groups, and its cube a row per group
and cell (month, list, each filter's value): the page would grow with the number of clients, not
with what the chart shows (20 bars). So a cube grouped by a field with more than ``TOP`` values
keeps, for each chart that reads it, its ``TOP`` largest groups over every record (by the
chart's measure when it adds up, else by the number of records), and adds up the others as one
group, ``OTHERS``, per cell. The browser still re-ranks the groups it has under its controls;
a filter may make one of the others larger than a group kept, which the page says.

Every figure stays what it was: a record of the others counts in ``OTHERS`` once for each of its
values that is not kept (as it counted in each of them), so the sum over all groups, Others
included, is the same for every selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from crmgen.model.dashboards import Measure

from .metrics import ADDITIVE, NOT_SET, OTHERS, Fact, Selection, evaluate

#: A chart grouped by a field of more values than this keeps its largest this many apart.
TOP = 50


def ranked(
    series: Sequence[tuple[Sequence[Fact], Measure, Decimal]],
    group: str,
    natural: Sequence[str],
) -> list[str]:
    """The group keys of a chart, largest first over every record (ties in natural order, as
    ``values.chart_rows`` and ``dashboard.js`` rank them).

    Args:
        series: per series, its cube's facts, its measure and its scale.
        group: the field the chart groups by.
        natural: every key in natural order (``NOT_SET`` last).
    """
    totals: dict[str, Decimal] = {}
    additive = all(measure.op in ADDITIVE for _, measure, _ in series)
    for facts, measure, scale in series:
        if additive:
            found = evaluate(facts, measure, group, Selection(), timed=False)
            for key, value in found.items():
                totals[key] = totals.get(key, Decimal(0)) + (value or Decimal(0)) * scale
        else:
            for fact in facts:
                for key in fact.groups or (NOT_SET,):
                    totals[key] = totals.get(key, Decimal(0)) + 1
    order = {key: index for index, key in enumerate(natural)}
    present = [key for key in natural if key in totals]
    return sorted(present, key=lambda key: (-totals[key], order[key]))


def fold(
    facts: Sequence[Fact], groups: Sequence[str], kept: frozenset[str]
) -> tuple[tuple[Fact, ...], tuple[str, ...]]:
    """Facts whose group values outside ``kept`` are ``OTHERS`` (once per value), and the
    cube's groups: those kept in natural order, then ``OTHERS``, then ``NOT_SET``."""

    def folded(fact: Fact) -> Fact:
        found = fact.groups or (NOT_SET,)
        mapped = tuple(key if key in kept else OTHERS for key in found)
        if mapped == found:
            return fact
        return replace(fact, groups=tuple(key for key in mapped if key != NOT_SET))

    shown = tuple(g for g in groups if g in kept and g != NOT_SET)
    return tuple(folded(fact) for fact in facts), (*shown, OTHERS, NOT_SET)


def distinct(groups: Sequence[str]) -> int:
    """How many values a cube's groups are (``NOT_SET`` and ``OTHERS`` are not values)."""
    return sum(1 for g in groups if g not in (NOT_SET, OTHERS))


def too_many(groups: Sequence[str]) -> bool:
    """Whether a cube's groups are more values than it keeps apart."""
    return distinct(groups) > TOP
