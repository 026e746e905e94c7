"""Atom feeds of stage changes: one for every record, one per owner.

Each entry is one list transition from the history, newest first (at most ``LIMIT``); ids are
URNs of the commit and record, so they stay put across builds; links are relative to the feed
(Atom allows it), so the site works under any path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from crmgen.model import Dataset, Page, PageSet, record_page

LIMIT = 200


@dataclass(frozen=True, slots=True)
class EntryView:
    id: str
    title: str
    updated: str  # RFC 3339
    author: str
    href: str  # relative to the feed
    summary: str


@dataclass(frozen=True, slots=True)
class FeedView:
    id: str
    title: str
    href: str  # the feed's own path from the site root
    self_href: str  # the same, relative to the feed
    updated: str
    entries: tuple[EntryView, ...]


@dataclass(frozen=True, slots=True)
class FeedLinkView:
    label: str
    href: str


def owner_slug(owner: str) -> str:
    """``Léa Moreau`` -> ``lea-moreau``: the file name of an owner's feed."""
    ascii_text = unicodedata.normalize("NFKD", owner).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "owner"


def _entries(dataset: Dataset) -> list[tuple[str, EntryView]]:
    """(owner, entry) for every transition of every record, newest first."""
    found: list[tuple[str, str, EntryView]] = []
    quoted: dict[str, str] = {}  # a few lists, each in thousands of entries
    for name, project in dataset.projects.items():
        schema = project.schema
        if not schema.list_field:
            continue
        owner_field = schema.roles.get("owner")
        title_field = schema.title_field if schema.field(schema.title_field) else None
        for record in project.records.values():
            title = str(record.get(title_field) or record.slug) if title_field else record.slug
            owner = str(record.get(owner_field) or "") if owner_field else ""
            steps = record.history.transitions
            href = "../" + quote(record_page(name, record.slug)) if steps else ""
            for step in steps:
                move = f"{step.from_list} → {step.to_list}" if step.from_list else step.to_list
                to_list = quoted.get(step.to_list)
                if to_list is None:
                    to_list = quoted[step.to_list] = quote(step.to_list)
                entry = EntryView(
                    id=f"urn:crmgen:stage:{step.commit}:{name}/{record.slug}:{to_list}",
                    title=f"{title}: {move}",
                    updated=f"{step.date.isoformat()}T00:00:00Z",
                    author=step.author or "crmgen",
                    href=href,
                    summary=f"{schema.title}: {title} entered {step.to_list}"
                    + (f" (from {step.from_list})" if step.from_list else "")
                    + f" on {step.date.isoformat()}.",
                )
                found.append((step.date.isoformat(), owner, entry))
    found.sort(key=lambda item: (item[0], item[2].id), reverse=True)
    return [(owner, entry) for _, owner, entry in found]


def _feed(title: str, path: str, entries: list[EntryView], fallback: str) -> FeedView:
    shown = tuple(entries[:LIMIT])
    updated = shown[0].updated if shown else fallback
    name = path.rsplit("/", 1)[-1]
    return FeedView(f"urn:crmgen:feed:{path}", title, path, name, updated, shown)


def feed_pages(dataset: Dataset) -> tuple[PageSet, tuple[FeedLinkView, ...]]:
    """The feeds as pages (``feeds/stages.xml``, ``feeds/owner-NAME.xml``) and links to them."""
    entries = _entries(dataset)
    if not entries:
        return PageSet(), ()
    fallback = f"{dataset.today.isoformat()}T00:00:00Z"
    title = dataset.config.title
    feeds = [
        _feed(f"{title}: stage changes", "feeds/stages.xml", [e for _, e in entries], fallback)
    ]
    owners = sorted({owner for owner, _ in entries if owner})
    for owner in owners:
        path = f"feeds/owner-{owner_slug(owner)}.xml"
        mine = [e for o, e in entries if o == owner]
        feeds.append(_feed(f"{title}: stage changes of {owner}'s records", path, mine, fallback))
    pages = tuple(Page(feed.href, "feed.xml", {"feed": feed}) for feed in feeds)
    links = (
        FeedLinkView("All stage changes", "feeds/stages.xml"),
        *(FeedLinkView(owner, f"feeds/owner-{owner_slug(owner)}.xml") for owner in owners),
    )
    return PageSet(pages=pages), links
