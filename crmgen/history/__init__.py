"""Stage: history. What git says about every record, with front-matter fields winning.

``log`` reads the git log once for the whole repo (with a cache keyed by commit); this stage
turns each file's history into the record's ``RecordHistory``: created, in its current list
since, closed, last changed, last activity, and its list transitions, each date saying where it
came from. A date field the schema declares (``created``, ``stage_since``, ``closed``) that a
record leaves empty takes git's date, so formulas, tables and dashboards read it like any
value. Notes about the checkout (not git, shallow, uncommitted changes) are reported once.
``git`` is the only code in crmgen that starts a git process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from crmgen.model import (
    Dataset,
    Diagnostic,
    Project,
    ProjectSchema,
    Record,
    evolve,
    frozen_map,
)
from crmgen.model.history import FROM_FIELD, FROM_GIT, Dated, RecordHistory
from crmgen.model.store import NO_STORE, Store

from .git import export_tree, rev_for

if TYPE_CHECKING:
    from .log import Checkout, FileHistory

__all__ = [
    "CACHE_FOLDER",
    "Found",
    "apply",
    "export_tree",
    "list_keys",
    "read",
    "rev_for",
]

#: The cache folder in a data repo (list it in the repo's .gitignore).
CACHE_FOLDER = ".crmgen-cache"


#: What ``read`` found: histories by path, the checkout, and the notes about it.
Found: TypeAlias = "tuple[dict[str, FileHistory], Checkout, list[Diagnostic]]"


def read(
    root: Path,
    keys: Mapping[str, str],
    *,
    rev: str = "HEAD",
    cache: bool = True,
    store: Store = NO_STORE,
    version: str = "",
) -> Found:
    """What git says about every record file (``log.read_history``), before any record is read:
    it needs the repo and each project's list field only, so a build reads it while its
    workers parse the records.

    Args:
        root: where the git history is (an as-of build reads the files of an older revision
            from elsewhere).
        keys: project -> the key of its list field ("" when it has no lists: ``list_keys``).
        rev: the revision whose history is read.
        cache: keep the log in the data repo's cache folder.
        store: keep the histories at a commit in the build's store too, under a key with
            crmgen's ``version`` (see ``log.read_history``).
    """
    cache_dir = root / CACHE_FOLDER if cache else None
    from .log import read_history  # yaml and the rest: only when the history is read

    return read_history(root, keys, rev=rev, cache_dir=cache_dir, store=store, version=version)


def list_keys(schemas: Mapping[str, ProjectSchema]) -> dict[str, str]:
    """The ``list_keys`` of ``read``: each project's list field, "" when it has none."""
    return {name: schema.list_field or "" for name, schema in schemas.items()}


def apply(dataset: Dataset, found: Found) -> tuple[Dataset, list[Diagnostic]]:
    """Every record with its history, from what ``read`` found; its notes as diagnostics (a
    shallow clone is a warning, the rest notes)."""
    histories, checkout, notes = found
    diags = [
        dataclasses.replace(n, severity="warning") if n.code == "history-shallow" else
        dataclasses.replace(n, severity="info")
        for n in notes
    ]  # fmt: skip
    projects = {name: _project(project, histories) for name, project in dataset.projects.items()}
    done = dataclasses.replace(dataset, projects=frozen_map(projects), head=checkout.head or "")
    return done, diags


def _project(project: Project, histories: dict[str, FileHistory]) -> Project:
    schema = project.schema
    kinds = {spec.name: spec.kind for spec in schema.lists}
    # the history's dates that are date fields of the schema: shown as the field when git gave
    # them (the field itself, when written, wins)
    dated = frozenset(
        name
        for name in ("created", "stage_since", "closed")
        if (spec := schema.field(name)) is not None and spec.type == "date"
    )
    records = {
        slug: _record(record, histories.get(record.path), schema.list_field, kinds, dated)
        for slug, record in project.records.items()
    }
    return dataclasses.replace(project, records=frozen_map(records))


_NONE = Dated()


def _dated(values: Mapping[str, Any], name: str) -> Dated | None:
    value = values.get(name)
    return Dated(value, FROM_FIELD) if isinstance(value, dt.date) else None


def _git(date: dt.date | None) -> Dated:
    return Dated(date, FROM_GIT) if date else _NONE


def _record(
    record: Record,
    found: FileHistory | None,
    list_field: str | None,
    kinds: dict[str, str],
    dated: frozenset[str],
) -> Record:
    transitions = found.transitions if found else ()
    values = record.values
    current = values.get(list_field) if list_field else None
    last = transitions[-1] if transitions else None
    entered = last.date if last is not None and last.to_list == current else None
    closed_git = entered if kinds.get(str(current)) in ("won", "lost") else None
    created = _dated(values, "created") or _git(found.created if found else None)
    since = _dated(values, "stage_since") or _git(entered)
    closed = _dated(values, "closed") or _git(closed_git)
    changed = _git(found.last_changed if found else None)
    contact = _dated(values, "last_contact")
    activity = changed if changed.date is not None else _NONE
    if (
        contact is not None
        and contact.date is not None
        and (activity.date is None or contact.date > activity.date)
    ):
        activity = contact  # the later of the two; on a tie, the file's change
    history = RecordHistory(
        created=created,
        stage_since=since,
        closed=closed,
        last_changed=changed,
        last_activity=activity,
        transitions=transitions,
        author=(found.created_by or "") if found else "",
    )
    from_git = {
        name: when.date
        for name, when in (("created", created), ("stage_since", since), ("closed", closed))
        if when.source == FROM_GIT and name in dated
    }
    if not from_git:
        return evolve(record, history=history)
    return evolve(record, history=history, computed=frozen_map({**record.computed, **from_git}))
