"""Dashboard metrics: records -> facts -> values, and the cube the browser re-aggregates.

Pure functions over plain values. A *fact* is what one record contributes to one cube: its
dimensions (project, list, tags, month, group values) and its measure *columns* (``n`` = 1,
``sum:amount``, ``w:amount`` = amount × the stage's probability, ``won``, ``days:created:closed``
...). ``evaluate`` computes a measure straight from facts; ``build_rows`` pre-aggregates facts
into cube rows, which ``static/dashboard.js`` filters and re-aggregates the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from typing import Any

from crmgen.model import EMPTY, Record
from crmgen.model.dashboards import Measure

from .declarations import normalise

Number = Decimal | None

#: Group key of a record with no value for the grouping (shown as "(not set)").
NOT_SET = ""
#: The group key of "Others" (no field value can be it: values are never control characters).
OTHERS = "\x1fothers"
#: Measures whose value for an empty bucket is 0 (others have none), and that add up.
ADDITIVE = frozenset({"count", "sum", "weighted"})


@dataclass(frozen=True, slots=True)
class Fact:
    """One record's contribution to one cube.

    Attributes:
        project: the project name.
        list: the list (stage) name, "" when the project has none.
        kind: the list kind (open, won, lost, n-a), "" when none.
        tags: the record's tags (deduplicated, in order).
        month: "YYYY-MM" of the cube's date field, "" when the record lacks it or no date applies.
        groups: the values of a field grouping (several for a multi-select), () otherwise.
        columns: measure column -> value; a column is absent when the record has no value.
        extra: the values of the page's field filters (owner, a lookup...): field -> values,
            () when the record has none.
    """

    project: str
    list: str
    kind: str
    tags: tuple[str, ...]
    month: str
    groups: tuple[str, ...]
    columns: Mapping[str, Decimal]
    extra: Mapping[str, tuple[str, ...]] = _field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class Selection:
    """The dashboard controls: None means "all"; ``tag`` "" means "records without tags"."""

    project: str | None = None
    list: str | None = None
    tag: str | None = None
    start: str | None = None  # first month "YYYY-MM", inclusive
    end: str | None = None  # last month, inclusive
    fields: tuple[tuple[str, str], ...] = ()  # (field, value); value NOT_SET: records without

    def keeps(self, fact: Fact, timed: bool, skip: frozenset[str] = frozenset()) -> bool:
        """Whether ``fact`` passes; ``timed`` says the series has a date the time frame uses;
        ``skip`` names the filters that do not apply to the series (its projects lack them)."""
        if self.project is not None and fact.project != self.project:
            return False
        if self.list is not None and "list" not in skip and fact.list != self.list:
            return False
        tag = None if "tag" in skip else self.tag
        if tag is not None and (tag not in fact.tags if tag else fact.tags):
            return False
        for name, value in self.fields:
            found = fact.extra.get(name, ())
            if name not in skip and (value not in found if value else found):
                return False
        if timed and (self.start or self.end):
            return bool(fact.month) and (self.start or "") <= fact.month <= (self.end or "9999")
        return True


def columns_for(measure: Measure) -> tuple[str, ...]:
    """The cube columns a measure needs, e.g. avg(amount) -> ("sum:amount", "n:amount")."""
    op, fields = measure.op, ":".join(measure.fields)
    return {
        "count": ("n",),
        "win_rate": ("won", "lost"),
        "avg": (f"sum:{fields}", f"n:{fields}"),
        "weighted": (f"w:{fields}",),
        "avg_days": (f"days:{fields}", f"n:days:{fields}"),
    }.get(op, (f"{op}:{fields}",))


def combine_rule(column: str) -> str:
    """How cube rows merge a column: "min", "max" or "sum"."""
    head = column.split(":", 1)[0]
    return head if head in ("min", "max") else "sum"


def finish(measure: Measure, totals: Mapping[str, Decimal]) -> Number:
    """A measure's value from its combined columns; None when undefined (an average of none)."""
    cols = [totals.get(c) for c in columns_for(measure)]
    if measure.op in ("avg", "avg_days"):
        return cols[0] / cols[1] if cols[0] is not None and cols[1] else None
    if measure.op == "win_rate":
        won, lost = cols[0] or Decimal(0), cols[1] or Decimal(0)
        return won / (won + lost) if won + lost else None
    if measure.op in ("min", "max"):
        return cols[0]
    return cols[0] if cols[0] is not None else Decimal(0)


def merge(
    totals: dict[str, Decimal], columns: Mapping[str, Decimal], rules: Mapping[str, str]
) -> None:
    """Fold one fact's columns into ``totals``; ``rules`` maps a column to its combine rule."""
    for name, value in columns.items():
        old = totals.get(name)
        if old is None:
            totals[name] = value
        elif rules[name] == "min":
            totals[name] = min(old, value)
        elif rules[name] == "max":
            totals[name] = max(old, value)
        else:
            totals[name] = old + value


def _rules(columns: Iterable[str]) -> dict[str, str]:
    return {column: combine_rule(column) for column in columns}


def group_keys(fact: Fact, group: str | None) -> tuple[str, ...]:
    """The buckets a fact falls in: month, list, tag (each tag), project or field values."""
    if group is None:
        return (NOT_SET,)
    if group == "month":
        return (fact.month,) if fact.month else ()
    if group == "list":
        return (fact.list,)
    if group == "tag":
        return fact.tags or (NOT_SET,)
    if group == "project":
        return (fact.project,)
    return fact.groups or (NOT_SET,)


def evaluate(
    facts: Iterable[Fact],
    measure: Measure,
    group: str | None,
    selection: Selection,
    timed: bool,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Number]:
    """Compute ``measure`` per group straight from the facts (the reference computation).

    A chart by tag under a tag filter shows that tag alone (not the other tags of its records).
    ``skip`` names the filters that do not apply to the series.
    """
    columns = columns_for(measure)
    rules = _rules(columns)
    buckets: dict[str, dict[str, Decimal]] = {}
    tag = None if "tag" in skip else selection.tag
    for fact in facts:
        if selection.keeps(fact, timed, skip):
            values = {c: v for c, v in fact.columns.items() if c in rules}
            for key in group_keys(fact, group):
                if group != "tag" or tag is None or key == tag:
                    merge(buckets.setdefault(key, {}), values, rules)
    return {key: finish(measure, totals) for key, totals in buckets.items()}


def month_of(value: Any) -> str:
    """ "YYYY-MM" of a date value, "" for anything else (a missing or mistyped date)."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return ""


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as "YYYY-MM"."""
    year, month = int(first[:4]), int(first[5:7])
    months: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def record_columns(
    record: Record, columns: Sequence[str], kind: str, probability: Decimal
) -> tuple[dict[str, Decimal], set[str]]:
    """Measure columns of one record, and the date fields it lacks for ``days:`` columns.

    Args:
        record: the record.
        columns: the columns to fill (see ``columns_for``).
        kind: the kind of the record's list ("won" fills ``won``), "" when none.
        probability: the probability of the record's list, for ``w:`` (weighted) columns.
    """
    values: dict[str, Decimal] = {}
    missing: set[str] = set()
    for column in columns:
        head, _, rest = column.partition(":")
        if column == "n":
            values[column] = Decimal(1)
        elif column in ("won", "lost"):
            if kind == column:
                values[column] = Decimal(1)
        elif head == "days" or rest.startswith("days:"):
            start, end = column.split(":")[-2:]
            first, last = record.get(start), record.get(end)
            missing.update(f for f in (start, end) if not isinstance(record.get(f), dt.date))
            if isinstance(first, dt.date) and isinstance(last, dt.date):
                values[column] = Decimal((last - first).days) if head == "days" else Decimal(1)
        elif (number := _number(record.get(rest))) is not None:
            values[column] = {"w": number * probability, "n": Decimal(1)}.get(head, number)
    return values, missing


def record_groups(record: Record, field: str) -> tuple[str, ...]:
    """The group values of a record for a field grouping (each value of a multi-select)."""
    value = record.get(field)
    if type(value) is str:  # most: a list, an owner, a client (normalise keeps a str as is)
        return (value,) if value else ()
    items = value if isinstance(value, tuple | list) else (value,)
    keys = (normalise(item) for item in items if item is not None and item != "")
    return tuple(dict.fromkeys(k for k in keys if k is not None))


@dataclass(frozen=True, slots=True)
class FieldDim:
    """A field filter's dictionary: ``values[0]`` is NOT_SET. A field that holds several values
    (a multi-select, several references) is a *set* dimension: a row's index points into
    ``combos``, each a sorted tuple of indexes into ``values`` (``combos[0]`` is empty)."""

    name: str
    values: tuple[str, ...]
    combos: tuple[tuple[int, ...], ...] | None = None

    def index(self, found: tuple[str, ...]) -> int:
        """The row index of a record's values."""
        ids = tuple(sorted({self.values.index(v) for v in found}))
        if self.combos is None:
            return ids[0] if ids else 0
        return self.combos.index(ids)


@dataclass(frozen=True, slots=True)
class Dims:
    """Index dictionaries shared by every cube of a page (index 0 of each means "none")."""

    months: tuple[str, ...]
    projects: tuple[str, ...]
    lists: tuple[str, ...]
    tags: tuple[str, ...]
    fields: tuple[FieldDim, ...] = ()


def build_rows(
    facts: Iterable[Fact],
    columns: Sequence[str],
    groups: Sequence[str],
    dims: Dims,
    tags: bool = True,
    months: bool = True,
) -> list[list[int | float | None]]:
    """Pre-aggregate facts into rows ``[month, project, list, tag, group, *fields, *columns]``.

    Dimensions are indexes into ``dims`` (and ``groups``; ``fields`` one per field filter of
    the page). Each fact is added once to its total row (tag -1) and once to the row of each
    of its tags (tag 0 when it has none), so filtering by one tag, or grouping by tag, counts
    a record once per tag and totals count it once. A column that adds up is 0 where no
    record has a value; a min or max column is None. A page that neither filters by tag nor
    groups this cube by tag leaves out the rows per tag (``tags`` false), one that has no time
    frame and no chart of this cube by month leaves out months (``months`` false).
    """
    index = {name: {v: i for i, v in enumerate(values)} for name, values in _dim_items(dims)}
    group_index = {g: i for i, g in enumerate(groups)}
    rules = _rules(columns)
    cells: dict[tuple[int, ...], dict[str, Decimal]] = {}
    for fact in facts:
        base = (index["months"][fact.month] if months else 0, index["projects"][fact.project])
        list_id = index["lists"][fact.list]
        tag_ids = ([index["tags"][t] for t in fact.tags] or [0]) if tags else []
        extra = tuple(dim.index(fact.extra.get(dim.name, ())) for dim in dims.fields)
        for group in fact.groups or (NOT_SET,):
            for tag in (-1, *tag_ids):
                key = (*base, list_id, tag, group_index.get(group, 0), *extra)
                merge(cells.setdefault(key, {}), fact.columns, rules)
    zero = {c: None if rules[c] in ("min", "max") else Decimal(0) for c in columns}
    return [[*key, *(_json(cells[key].get(c, zero[c])) for c in columns)] for key in sorted(cells)]


#: Packed keys stay below this, so that JavaScript numbers hold them exactly.
MAX_KEY = 2**53


def pack_rows(
    rows: Sequence[Sequence[int | float | None]], sizes: Sequence[int]
) -> dict[str, Any]:
    """Rows -> compact JSON: ``{"keys": [...], "values": [[...] per column]}``.

    The dimensions of a row ``[m, p, l, t, g, f1 … fk]`` pack into one number, month varying
    fastest and the group last: ``m + M*(p + P*(l + L*(t + 1 + T*(f1 + F1*(… + Fk*g)))))``
    with ``sizes`` = (M, P, L, T, F1 … Fk) and T counting the total row; rows are sorted by it
    and each key is written as its difference from the previous one, so a dense cube costs a
    few bytes a row. ``dashboard.js`` unpacks it. Should a key not fit in a JavaScript number
    (very many field values), the rows' dimensions are written as they are (``"dims"``).
    """
    width = len(rows[0]) - 1 - len(sizes) if rows else 0
    radix = [*sizes[:4], *sizes[4:]]

    def packed(row: Sequence[int | float | None]) -> int:
        month, project, list_id, tag, group = (int(x or 0) for x in row[:5])
        digits = [
            month,
            project,
            list_id,
            tag + 1,
            *(int(x or 0) for x in row[5 : len(sizes) + 1]),
        ]
        key = group
        for digit, size in zip(reversed(digits), reversed(radix), strict=True):
            key = key * size + digit
        return key

    ordered = sorted((packed(row), row) for row in rows)
    dims = len(sizes) + 1
    values = [[row[dims + c] for _, row in ordered] for c in range(width)]
    if ordered and ordered[-1][0] >= MAX_KEY:
        return {
            "dims": [[int(x or 0) for x in row[:dims]] for _, row in ordered],
            "values": values,
        }
    keys = [key for key, _ in ordered]
    deltas = [key - previous for key, previous in zip(keys, [0, *keys][:-1], strict=True)]
    return {"keys": deltas, "values": values}


def _dim_items(dims: Dims) -> Iterator[tuple[str, tuple[str, ...]]]:
    yield from (("months", dims.months), ("projects", dims.projects))
    yield from (("lists", dims.lists), ("tags", dims.tags))


def _json(value: Decimal | None) -> int | float | None:
    """A JSON number: integers stay exact, the rest is rounded to cents."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 2))
