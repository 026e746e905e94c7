"""What the automations found, as immutable values (stdlib only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from types import MappingProxyType
from typing import Any, Literal

FindingSeverity = Literal["info", "warning", "error"]
#: Severities in order, lowest first (``crmgen check --fail-on``).
SEVERITIES: tuple[FindingSeverity, ...] = ("info", "warning", "error")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing an automation found about one record.

    Attributes:
        rule: the automation that found it: ``assignment``, ``follow-up`` or ``aging``.
        severity: info, warning or error.
        project: the record's project.
        slug: the record's id.
        path: the record's file.
        line: the line concerned (the field's, else 1).
        message: what is the matter and what to do about it.
        owner: whose it is (the record's owner), "" when unassigned.
        badge: a short text for a card ("No activity 23 d").
        reads: the (project, field) pairs the finding depends on; a build for an audience
            that may not see one of them leaves the finding out.
        proposal: the change the automation proposes (``{"owner": "Anna"}`` for assignment).
    """

    rule: str
    severity: FindingSeverity
    project: str
    slug: str
    path: str
    line: int
    message: str
    owner: str = ""
    badge: str = ""
    reads: frozenset[tuple[str, str]] = frozenset()
    proposal: Mapping[str, Any] = _field(default_factory=lambda: MappingProxyType({}))

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.project, self.slug, self.rule, self.message)
