"""A record's history as views: its dates (and where each came from) and its stage timeline."""

from __future__ import annotations

from dataclasses import dataclass

from crmgen.fields.formatting import format_value
from crmgen.model import Dataset, Record
from crmgen.model.history import FROM_FIELD, FROM_GIT, Dated

_SOURCES = {FROM_FIELD: "from the record", FROM_GIT: "from git"}


@dataclass(frozen=True, slots=True)
class DateView:
    """One date of a record: ``Created 3 Mar 2025 (from git)``."""

    name: str  # created, stage_since, closed, last_changed
    label: str
    text: str
    iso: str
    source: str  # "from the record", "from git"


@dataclass(frozen=True, slots=True)
class StepView:
    """One stage change on the timeline."""

    date: str
    iso: str
    from_list: str
    to_list: str
    author: str
    days: str  # how long it stayed in the list it entered ("" for the current one)


@dataclass(frozen=True, slots=True)
class HistoryView:
    dates: tuple[DateView, ...]
    timeline: tuple[StepView, ...]
    days_in_stage: str  # "" when unknown


def _date(dataset: Dataset, value: Dated, name: str, label: str) -> DateView | None:
    if value.date is None:
        return None
    config = dataset.config
    text = format_value(value.date, "date", currency="", locale=config.locale)
    return DateView(name, label, text, value.date.isoformat(), _SOURCES.get(value.source, ""))


def history_view(dataset: Dataset, record: Record) -> HistoryView:
    """The dates and stage timeline of one record, formatted in the site's locale."""
    history = record.history
    labels = (
        ("created", "Created", history.created),
        ("stage_since", "In this stage since", history.stage_since),
        ("closed", "Closed", history.closed),
        ("last_changed", "Last changed", history.last_changed),
    )
    dates = tuple(d for n, label, v in labels if (d := _date(dataset, v, n, label)))
    locale = dataset.config.locale
    steps: list[StepView] = []
    transitions = history.transitions
    for index, step in enumerate(transitions):
        following = transitions[index + 1].date if index + 1 < len(transitions) else None
        days = str((following - step.date).days) if following else ""
        steps.append(
            StepView(
                format_value(step.date, "date", currency="", locale=locale),
                step.date.isoformat(),
                step.from_list or "",
                step.to_list,
                step.author,
                days,
            )
        )
    in_stage = history.days_in_stage(dataset.today)
    return HistoryView(dates, tuple(reversed(steps)), "" if in_stage is None else str(in_stage))
