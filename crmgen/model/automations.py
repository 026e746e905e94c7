"""Automation declarations as immutable values (stdlib only).

The ``checks`` stage parses ``crmgen.yml``'s ``automations:`` into these, checks them against
the data, and runs them; ``changes`` and the feeds read the stage notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crmgen.model import Pos

#: A criterion on one field: the values it may have (None: empty), or a range (min, max).
Criterion = tuple[str, tuple[str | None, ...], tuple[str | None, str | None] | None]


@dataclass(frozen=True, slots=True)
class Rule:
    """An assignment rule: records matching every criterion get ``owner``."""

    owner: str
    when: tuple[Criterion, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Assignment:
    project: str
    field: str
    lists: tuple[str, ...]
    rules: tuple[Rule, ...]
    team: tuple[str, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class FollowUp:
    project: str
    days: int
    lists: Mapping[str, int]
    activity: str | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Aging:
    project: str
    lists: Mapping[str, int]  # list -> most days allowed (the schema's max_days, overridden)
    pos: Pos


@dataclass(frozen=True, slots=True)
class Notifications:
    project: str
    notify: Mapping[str, tuple[str, ...]]  # list -> who hears when a record enters it
    pos: Pos


@dataclass(frozen=True, slots=True)
class Automations:
    """Every automation ``crmgen.yml`` declares, checked against the data."""

    assignment: tuple[Assignment, ...] = ()
    follow_up: tuple[FollowUp, ...] = ()
    aging: tuple[Aging, ...] = ()
    notifications: tuple[Notifications, ...] = ()

    def notified(self, project: str, list_name: str) -> tuple[str, ...]:
        """Who must hear when a record of ``project`` enters ``list_name``."""
        return tuple(
            who for spec in self.notifications if spec.project == project
            for who in spec.notify.get(list_name, ())
        )  # fmt: skip
