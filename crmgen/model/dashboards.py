"""Dashboard declarations as immutable values (stdlib only).

The ``dashboards`` stage parses ``crmgen.yml``'s ``dashboards:`` into these and resolves each
series against the data (which projects it reads, how its values are shown); the resolved specs
travel inside the ``Dataset``, so redaction can drop a chart that reads a hidden field before
any page is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from typing import Any

from crmgen.model import EMPTY, Pos

_START = Pos(1, 1)
#: The controls of a dashboard that declares no ``filters``: project, list, tag, time frame.
DEFAULT_FILTERS = ("project", "list", "tag", "month")


@dataclass(frozen=True, slots=True)
class Measure:
    """What a series computes: ``op`` over ``fields`` (``count`` and ``win_rate`` have none)."""

    op: str
    fields: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.op}({', '.join(self.fields)})" if self.fields else self.op


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One series of a chart, with the chart's defaults already applied.

    Attributes:
        label: the legend label.
        measure: what to compute.
        date: the date field the time frame (and a month grouping) uses, or None.
        filters: (key, allowed values) pairs; values are normalised strings, None = not set.
        projects: the projects named explicitly, or () for every project that fits; once
            resolved, the projects it reads, in navigation order.
        positions: key ("measure", "date", "group", "projects", "filter/KEY") -> where it is set
            (the chart's position when it is not set).
        fmt: once resolved, how values are shown: currency, count, number, percent or days.
        scale: once resolved, multiplies values for display (0.01 for percent points).
        reads: once resolved, project -> every field the series reads there (its list and tags
            fields included when it uses lists or tags).
        display: once resolved, the display format of the measured field (``x-crmgen.format``:
            ``decimals``, ``grouping``), empty for the defaults.
    """

    label: str
    measure: Measure
    date: str | None
    filters: tuple[tuple[str, tuple[str | None, ...]], ...]
    projects: tuple[str, ...]
    positions: Mapping[str, Pos]
    fmt: str = ""
    scale: Decimal = Decimal(1)
    reads: Mapping[str, tuple[str, ...]] = _field(default_factory=lambda: EMPTY)
    display: Mapping[str, Any] = _field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart or stat card: ``group`` is month, list, tag, project, a field name, or None."""

    id: str
    title: str
    kind: str
    group: str | None
    order: str
    series: tuple[SeriesSpec, ...]
    description: str = ""
    pos: Pos = _START

    def reads(self, project: str) -> tuple[str, ...]:
        """Every field of ``project`` some series of the chart reads (once resolved)."""
        names = (name for s in self.series for name in s.reads.get(project, ()))
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    """One dashboard page. ``builtin`` specs skip charts that do not fit the data, silently.

    ``filters`` are the page's controls, in order: ``project``, ``list``, ``tag``, ``month``
    (the time frame) or the name of a categorical field; ``filter_positions`` says where each
    is written in ``crmgen.yml``.
    """

    name: str
    title: str
    charts: tuple[ChartSpec, ...]
    description: str = ""
    path: str = "crmgen.yml"
    pos: Pos = _START
    builtin: bool = False
    filters: tuple[str, ...] = DEFAULT_FILTERS
    filter_positions: Mapping[str, Pos] = _field(default_factory=lambda: EMPTY)
