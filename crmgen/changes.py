"""What changed in the pipeline between two revisions, for a pull-request summary.

``compare`` takes the dataset as it stood at A and at B (each already cut for the same
audience) and lists records added and removed, stage moves (with who must hear of each, from
the stage notifications), amount and close-date changes, and the change in open pipeline and
weighted forecast. ``markdown`` and ``as_json`` write it out; both are deterministic.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crmgen.fields.formatting import format_money, format_value
from crmgen.model import Dataset, Project, Record, record_page
from crmgen.model.automations import Automations


@dataclass(frozen=True, slots=True)
class Item:
    """A record as a change lists it."""

    project: str
    slug: str
    title: str
    list: str
    amount: Decimal | None
    href: str


@dataclass(frozen=True, slots=True)
class Move:
    item: Item
    from_list: str
    to_list: str
    notify: tuple[str, ...]
    by: str


@dataclass(frozen=True, slots=True)
class Edit:
    item: Item
    field: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Totals:
    open_pipeline: Decimal
    weighted: Decimal


@dataclass(frozen=True, slots=True)
class Changes:
    base: str
    head: str
    added: tuple[Item, ...]
    removed: tuple[Item, ...]
    moves: tuple[Move, ...]
    edits: tuple[Edit, ...]
    before: Totals
    after: Totals
    currency: str
    locale: str

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.moves or self.edits)


def _item(project: Project, record: Record) -> Item:
    schema = project.schema
    title_field = schema.title_field
    title = record.get(title_field) if schema.field(title_field) else None
    amount_field = schema.roles.get("amount")
    amount = record.get(amount_field) if amount_field else None
    return Item(
        project.name,
        record.slug,
        str(title or record.slug),
        str(record.get(schema.list_field or "") or ""),
        Decimal(amount)
        if isinstance(amount, int | Decimal) and not isinstance(amount, bool)
        else None,
        record_page(project.name, record.slug),
    )


def totals(dataset: Dataset) -> Totals:
    """Open pipeline (the amounts of records in open lists) and weighted forecast (each amount
    times its list's probability), over every project with an amount role and lists."""
    pipeline = weighted = Decimal(0)
    for project in dataset.projects.values():
        schema = project.schema
        amount_field, list_field = schema.roles.get("amount"), schema.list_field
        if not amount_field or not list_field:
            continue
        lists = {spec.name: spec for spec in schema.lists}
        for record in project.records.values():
            spec = lists.get(record.get(list_field))
            amount = record.get(amount_field)
            if spec is None or spec.kind != "open" or not isinstance(amount, int | Decimal):
                continue
            pipeline += Decimal(amount)
            weighted += Decimal(amount) * spec.probability
    return Totals(pipeline, weighted)


def compare(before: Dataset, after: Dataset, base: str, head: str) -> Changes:
    """The changes from ``before`` (at ``base``) to ``after`` (at ``head``)."""
    automations = after.automations if isinstance(after.automations, Automations) else None
    added: list[Item] = []
    removed: list[Item] = []
    moves: list[Move] = []
    edits: list[Edit] = []
    for name in sorted(set(before.projects) | set(after.projects)):
        old = before.projects.get(name)
        new = after.projects.get(name)
        old_records = old.records if old else {}
        new_records = new.records if new else {}
        for slug in sorted(set(old_records) | set(new_records)):
            if slug not in old_records and new is not None:
                added.append(_item(new, new_records[slug]))
            elif slug not in new_records and old is not None:
                removed.append(_item(old, old_records[slug]))
            elif old is not None and new is not None:
                moves.extend(_moves(old, new, old_records[slug], new_records[slug], automations))
                edits.extend(_edits(old, new, old_records[slug], new_records[slug]))
    config = after.config
    return Changes(
        base, head, tuple(added), tuple(removed), tuple(moves), tuple(edits),
        totals(before), totals(after), config.currency, config.locale,
    )  # fmt: skip


def _moves(
    old: Project, new: Project, a: Record, b: Record, automations: Automations | None
) -> Iterable[Move]:
    field = new.schema.list_field
    if not field or a.get(field) == b.get(field) or b.get(field) is None:
        return
    to_list = str(b.get(field))
    by = next((t.author for t in reversed(b.history.transitions) if t.to_list == to_list), "")
    notify = automations.notified(new.name, to_list) if automations else ()
    yield Move(_item(new, b), str(a.get(field) or ""), to_list, notify, by)


def _edits(old: Project, new: Project, a: Record, b: Record) -> Iterable[Edit]:
    for role in ("amount", "close"):
        name = new.schema.roles.get(role)
        spec = new.schema.field(name)
        if not name or spec is None or a.get(name) == b.get(name):
            continue
        yield Edit(_item(new, b), name, spec.label, a.get(name), b.get(name))


def _money(value: Decimal, changes: Changes) -> str:
    return format_money(value, currency=changes.currency, locale=changes.locale)


def _delta(before: Decimal, after: Decimal, changes: Changes) -> str:
    diff = after - before
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    change = f"{sign}{_money(abs(diff), changes)}"
    return f"{_money(before, changes)} → {_money(after, changes)} ({change})"


def _shown(value: Any, changes: Changes, kind: str) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dt.date):
        return value.isoformat()
    return format_value(value, kind, currency=changes.currency, locale=changes.locale)


def _link(item: Item, base_url: str) -> str:
    title = _md(item.title)
    return (
        f"[{title}]({base_url}{item.href}) ({item.project})"
        if base_url
        else f"{title} ({item.project})"
    )


def _line(item: Item, changes: Changes, base_url: str) -> str:
    money = f", {_money(item.amount, changes)}" if item.amount is not None else ""
    return f"{_link(item, base_url)}{': ' + _md(item.list) if item.list else ''}{money}"


def _md(text: str) -> str:
    """Text safe inside Markdown: no HTML, no links, no table breaks, no mentions by accident."""
    for char in "\\`*_[]<>|#@":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def markdown(changes: Changes, base_url: str = "") -> str:
    """The changes as Markdown for a pull-request comment or a job summary."""
    out = [f"## Pipeline changes {changes.base[:12]}..{changes.head[:12]}", ""]
    before, after = changes.before, changes.after
    pipeline = _delta(before.open_pipeline, after.open_pipeline, changes)
    weighted = _delta(before.weighted, after.weighted, changes)
    out.append(f"**Open pipeline** {pipeline} · **Weighted forecast** {weighted}")
    out.append("")
    if changes.empty:
        out.append("No record was added, removed, moved or re-valued.")
        return "\n".join(out) + "\n"
    sections: list[tuple[str, Sequence[str]]] = [
        ("New", [f"- {_line(i, changes, base_url)}" for i in changes.added]),
        (
            "Stage moves",
            [
                f"- {_link(m.item, base_url)}: {_md(m.from_list) or '(none)'} "
                f"→ **{_md(m.to_list)}**"
                + (f" by {_md(m.by)}" if m.by else "")
                + (f" — notify {', '.join(m.notify)}" if m.notify else "")
                for m in changes.moves
            ],
        ),
        (
            "Amounts and close dates",
            [
                f"- {_link(e.item, base_url)}: {_md(e.label)} "
                f"{_shown(e.before, changes, 'currency')} → {_shown(e.after, changes, 'currency')}"
                for e in changes.edits
            ],
        ),
        ("Removed", [f"- {_line(i, changes, base_url)}" for i in changes.removed]),
    ]
    for title, lines in sections:
        if lines:
            out += [f"### {title} ({len(lines)})", "", *lines, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def as_json(changes: Changes) -> str:
    """The changes as JSON (sorted keys, numbers as numbers, dates ISO)."""

    def item(i: Item) -> dict[str, Any]:
        return {"project": i.project, "record": i.slug, "title": i.title, "list": i.list,
                "amount": _plain(i.amount), "page": i.href}  # fmt: skip

    data = {
        "base": changes.base,
        "head": changes.head,
        "open_pipeline": {
            "before": _plain(changes.before.open_pipeline),
            "after": _plain(changes.after.open_pipeline),
        },
        "weighted_forecast": {
            "before": _plain(changes.before.weighted),
            "after": _plain(changes.after.weighted),
        },
        "added": [item(i) for i in changes.added],
        "removed": [item(i) for i in changes.removed],
        "moves": [
            {
                **item(m.item),
                "from": m.from_list,
                "to": m.to_list,
                "notify": list(m.notify),
                "by": m.by,
            }
            for m in changes.moves
        ],
        "edits": [
            {
                **item(e.item),
                "field": e.field,
                "before": _plain(e.before),
                "after": _plain(e.after),
            }
            for e in changes.edits
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
