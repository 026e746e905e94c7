"""What git says about a record, as immutable values (stdlib only).

The history stage fills a ``RecordHistory`` for every record; a front-matter field (``created``,
``stage_since``, ``closed``) wins over git, and each date says where it came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Where a date came from: a front-matter field, the git log, or nowhere.
FROM_FIELD = "field"
FROM_GIT = "git"


@dataclass(frozen=True, slots=True)
class Transition:
    """A record entered ``to_list`` (from ``from_list``; None when the file was added)."""

    date: dt.date
    from_list: str | None
    to_list: str
    author: str
    commit: str


@dataclass(frozen=True, slots=True)
class Dated:
    """A date and where it came from (``FROM_FIELD``, ``FROM_GIT`` or "" when unknown)."""

    date: dt.date | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class RecordHistory:
    """When a record was created, entered its current list, was closed and last changed.

    Attributes:
        created: the ``created`` field, else the first commit that added the file.
        stage_since: the ``stage_since`` field, else when it entered its current list.
        closed: the ``closed`` field, else (in a won or lost list) when it entered that list.
        last_changed: the last commit that touched the file.
        last_activity: the later of ``last_changed`` and the ``last_contact`` field.
        transitions: every list change, oldest first (the first one is the list it was added
            with).
        author: who added the file, from git ("" when unknown).
    """

    created: Dated = Dated()
    stage_since: Dated = Dated()
    closed: Dated = Dated()
    last_changed: Dated = Dated()
    last_activity: Dated = Dated()
    transitions: tuple[Transition, ...] = ()
    author: str = ""

    def entered(self, list_name: str) -> dt.date | None:
        """When the record last entered ``list_name``, or None."""
        dates = [t.date for t in self.transitions if t.to_list == list_name]
        return dates[-1] if dates else None

    def days_in_stage(self, today: dt.date) -> int | None:
        since = self.stage_since.date
        return (today - since).days if since else None
