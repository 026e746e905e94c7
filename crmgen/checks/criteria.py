"""Criteria on any field of a record: equal to one of some values, empty, or in a range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from crmgen.model import Record
from crmgen.model.automations import Criterion

from .declarations import normalise


def _values(record: Record, field: str) -> tuple[str | None, ...]:
    value = record.get(field)
    items = value if isinstance(value, tuple | list) else (value,)
    found = tuple(normalise(v.isoformat() if isinstance(v, dt.date) else v) for v in items)
    return tuple(v for v in found if v not in (None, "")) or (None,)


def _number(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None


def _compare(value: str, bound: str) -> int:
    """-1, 0 or 1: as numbers when both are numbers, else as text (ISO dates order as text)."""
    left, right = _number(value), _number(bound)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    return (value > bound) - (value < bound)


def _within(value: str | None, low: str | None, high: str | None) -> bool:
    """``low <= value <= high`` (either bound may be missing)."""
    if value is None:
        return False
    if low is not None and _compare(value, low) < 0:
        return False
    return high is None or _compare(value, high) <= 0


def matches(record: Record, criteria: Iterable[Criterion]) -> bool:
    """Whether ``record`` meets every criterion."""
    for field, allowed, bounds in criteria:
        values = _values(record, field)
        if bounds is not None:
            if not any(_within(v, *bounds) for v in values):
                return False
        elif not any(v in allowed for v in values):
            return False
    return True
