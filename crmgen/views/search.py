"""Search: an index of the audience's own site, sharded so that a query loads little of it.

The index is built from the views (``TableView`` rows: the values the audience may see, as
they are shown) and the records' Markdown bodies of the dataset cut for the audience, so a
restricted value, or anything computed from one, cannot be in it. It is plain JSON under
``search/``, read by ``assets/search.js``; no WebAssembly, nothing from another host:

- ``search/index.json``: the manifest. Projects (name, title, path prefix, first document,
  count), every list and tag with its facet file, the vocabulary shards that exist and each
  postings shard with its size (the script keeps a query under a byte budget with them).
- ``search/v-<hex>.json``: the vocabulary of terms starting with the two characters ``<hex>``
  spells (UTF-8, hex): ``[term, documents, fields]`` sorted by term. Prefix matching ("atl")
  and typo tolerance ("robtics": edit distance to the terms found in a title) run on it.
- ``search/t-<hex>.json``: postings, ``{term: [gap * 32 + fields, ...]}``: for each document
  that holds the term, the distance from the previous one and the fields (``FIELDS`` bits)
  it is in. A term's shard is the longest shard key that starts it; a shard over ``BUDGET``
  bytes is split by one more character (at most ``MAX_KEY``), so shards stay small.
- ``search/d-<n>.json``: documents ``n * DOC_CHUNK ...``: ``[project, slug, title, list,
  amount]`` (the text shown for the amount; "" without one). Documents are in project order,
  then slug order, so a project is a range of document numbers.
- ``search/f-<n>.json``: the documents of one list or tag, as gaps.

Each record's part of the index (its document and terms) is kept in the cache under its record
page's key, like ``table.json``'s rows, so a build after one edit makes one row; and the whole
index under the key of all of them, so a build where no record changed keeps every file.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from crmgen.model import Dataset, Page, PageSet, record_page
from crmgen.model.store import NO_STORE, Store, digest, pack, unpack

__all__ = [
    "FORMAT",
    "SearchIndex",
    "SearchPageView",
    "index_files",
    "search_index",
    "search_pages",
    "terms",
]

#: The version of the index format; the script refuses another.
FORMAT = 1
#: Documents per ``d-<n>.json``.
DOC_CHUNK = 100
#: A postings shard larger than this (bytes) is split by one more character of its terms.
BUDGET = 48 * 1024
#: The longest shard key.
MAX_KEY = 5
#: Terms longer than this are cut (nobody types more of a word to find it).
MAX_TERM = 24
#: The part of a body that is indexed (characters); a record file may hold 1 MiB.
MAX_BODY = 20_000
#: Where each term of a record was found (bits of a posting): the script weighs them.
FIELDS = {"title": 1, "label": 2, "reference": 4, "field": 8, "body": 16}
_TITLE, _LABEL, _REF, _FIELD, _BODY = (FIELDS[k] for k in FIELDS)
#: Field types whose values are labels a team filters by (lists, tags, selects).
_LABEL_TYPES = frozenset({"list", "tags", "select", "multi-select"})
#: Field types that are not searched as text: numbers, dates, ticks, stars, and back-links
#: (the titles of other records, which would make every client match its deals' words).
_SKIPPED_TYPES = frozenset(
    {"referenced-by", "date", "checkbox", "rating", "number", "currency", "percent"}
)
_WORD = re.compile(r"[^\W_]+")
_LINK_TARGET = re.compile(r"\]\([^)\n]*\)|<[^>\n]*>")
#: Parts of web and e-mail addresses that every such value has.
_NOISE = frozenset({"http", "https", "www", "mailto", "tel"})

_Doc = tuple[int, str, str, str, str]  # project, slug, title, list, amount
_Row = tuple[_Doc, tuple[str, ...], tuple[tuple[str, int], ...]]  # doc, tags, (term, fields)


def normalize(text: str) -> str:
    """Text as the index compares it: accents and other marks removed, lower case (the script
    does the same: ``normalize("NFKD")``, no ``\\p{M}``, ``toLowerCase``)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M")).lower()


def terms(text: str) -> list[str]:
    """The terms of a text: its runs of letters and digits, normalized, of two characters or
    more, cut at ``MAX_TERM``."""
    found = (t[:MAX_TERM] for t in _WORD.findall(normalize(text)))
    return [t for t in found if len(t) > 1]


@functools.lru_cache(maxsize=1 << 14)
def _value_terms(text: str) -> tuple[str, ...]:
    """``terms`` of a field's text, remembered: lists, tags, owners and clients repeat."""
    return tuple(t for t in terms(text) if t not in _NOISE)


@dataclass(frozen=True, slots=True)
class SearchPageView:
    """What the search page offers to filter by."""

    projects: tuple[tuple[str, str], ...]  # (name, title)
    lists: tuple[str, ...]
    tags: tuple[str, ...]


def search_pages(site: Any) -> PageSet:
    """The search page (``search.html``); the script reads and writes its query string."""
    view = SearchPageView(
        projects=tuple((p.name, p.title) for p in site.projects),
        lists=tuple(dict.fromkeys(name for p in site.projects for name in p.table.lists)),
        tags=tuple(sorted({tag for p in site.projects for tag in p.table.tags})),
    )
    return PageSet(pages=(Page("search.html", "search.html", {"search": view}),))


class SearchIndex:
    """The index of one build. ``site`` is the site view to make ``table.json`` from: each
    table row it makes is turned into the record's row of the index as it passes (so a row is
    made once for both); ``key`` is the key of every index file ("" when a record page has
    none), ``paths`` the files the last build with that key wrote (empty when unknown), and
    ``make()`` makes the files. ``seconds`` is the time spent making rows as tables passed."""

    def __init__(self, dataset: Dataset, site: Any, keys: Mapping[str, str], store: Store) -> None:
        self.dataset, self.store, self.seconds = dataset, store, 0.0
        self.frames = [_frame(project) for project in site.projects]
        self.row_keys = [
            [keys.get(record_page(project.name, slug), "") for slug in project.table.rows.slugs]
            for project in site.projects
        ]  # in the table's order: ``_watched`` and ``_rows`` number rows as the table does
        self.shared = [digest((FORMAT, number, frame)) for number, frame in enumerate(self.frames)]
        self.lookups = [
            frozenset(
                f.name for f in dataset.projects[project.name].schema.fields if f.type == "lookup"
            )
            for project in site.projects
        ]
        self.made: dict[tuple[int, int], bytes] = {}
        self.key = ""
        if all(k for project_keys in self.row_keys for k in project_keys):
            self.key = digest((FORMAT, BUDGET, DOC_CHUNK, self.frames, self.row_keys))
        found = store.get("search-files", self.key) if self.key else None
        self.paths: tuple[str, ...] = tuple(unpack(found)) if found is not None else ()
        self.source = site
        self.site = dataclasses.replace(
            site,
            projects=tuple(
                dataclasses.replace(
                    project,
                    table=dataclasses.replace(project.table, rows=self._watched(number, project)),
                )
                for number, project in enumerate(site.projects)
            ),
        )

    def _watched(self, number: int, project: Any) -> Any:
        rows = project.table.rows
        position = {slug: index for index, slug in enumerate(rows.slugs)}

        def build(slug: str) -> Any:
            index = position[slug]
            row = rows[index]
            if (number, index) not in self.made:
                start = time.perf_counter()
                self.made[(number, index)] = self._remember(number, project, index, row)
                self.seconds += time.perf_counter() - start
            return row

        return type(rows)(rows.slugs, build)

    def _remember(self, number: int, project: Any, index: int, row: Any) -> bytes:
        body = self.dataset.projects[project.name].records[row.slug].body
        packed = pack(_row(number, project, index, body, self.lookups[number], row))
        if self.row_keys[number][index]:
            self.store.put(
                "search-rows", f"{self.shared[number]}:{self.row_keys[number][index]}", packed
            )
        return packed

    def make(self) -> Iterator[tuple[str, bytes]]:
        """Every file of the index, sorted by path."""
        files = index_files(self.source, self._rows())
        if self.key:
            self.store.put("search-files", self.key, pack(sorted(files)))
        yield from sorted(files.items())

    def _rows(self) -> Iterator[_Row]:
        """Every record's row of the index, in document order: made as ``table.json`` passed,
        from the cache when its page's key is unchanged, or made now."""
        for number, project in enumerate(self.source.projects):
            keys = self.row_keys[number]
            wanted = {i: f"{self.shared[number]}:{k}" for i, k in enumerate(keys) if k}
            missing = [key for i, key in wanted.items() if (number, i) not in self.made]
            found = dict(self.store.get_many("search-rows", missing))
            for index in range(len(project.table.rows.slugs)):
                blob = self.made.pop((number, index), None)
                if blob is None:
                    blob = found.pop(wanted.get(index, ""), None)
                if blob is None:
                    blob = self._remember(number, project, index, project.table.rows[index])
                yield unpack(blob)


def search_index(
    dataset: Dataset, site: Any, keys: Mapping[str, str] | None = None, store: Store = NO_STORE
) -> SearchIndex:
    """The search index of a site (``views.SiteView``) and its cut dataset.

    Args:
        dataset: the dataset cut for the audience (``redaction.redact``): bodies come from it.
        site: the site's views: every other text comes from its tables' rows.
        keys: the record pages' keys (``views.page_keys``): a record's row of the index is
            kept in ``store`` under its page's key.
        store: the cache.
    """
    return SearchIndex(dataset, site, keys or {}, store)


def _frame(project: Any) -> tuple[Any, ...]:
    table = project.table
    return (
        project.name,
        project.title,
        table.frame_columns,
        table.lists,
        table.tags,
        table.titled,
    )


def _row(
    number: int, project: Any, index: int, body: str, lookups: frozenset[str], row: Any
) -> _Row:
    """One record's document, tags and terms (each with the fields it is in), from its table
    row; the text of a reference or a lookup (the client's name on a deal) counts as a
    reference's."""
    table = project.table
    found: dict[str, int] = {}

    def add(text: str, where: int) -> None:
        for term in _value_terms(text) if len(text) < 200 else terms(text):
            if term not in _NOISE:
                found[term] = found.get(term, 0) | where

    title, amount, amount_rank = row.slug, "", 3
    for position, (column, cell) in enumerate(zip(table.columns, row.cells, strict=True)):
        shown = cell.shown
        if position == 0 and table.titled:
            title = shown.text
            add(title, _TITLE)
            continue
        if column.type == "currency" and shown.kind != "empty":
            rank = 0 if column.name == "amount" else 1
            if rank < amount_rank:
                amount, amount_rank = shown.text, rank
        if column.type in _SKIPPED_TYPES or column.sort_type == "number" or shown.kind == "empty":
            continue
        where = _LABEL if column.type in _LABEL_TYPES else _FIELD
        if shown.kind == "links":
            kind = _REF if column.type == "reference" or column.name in lookups else where
            add(" ".join(link.label for link in shown.links), kind)
        elif shown.kind == "badges":
            add(" ".join(shown.badges), where)
        else:
            add(shown.text, _REF if column.name in lookups else where)
    add(_LINK_TARGET.sub(" ", body[:MAX_BODY]), _BODY)
    tags = tuple(json.loads(row.tags_json))
    doc = (number, row.slug, title, row.list, amount)
    return doc, tags, tuple(sorted(found.items()))


def _hex(key: str) -> str:
    return key.encode("utf-8").hex()


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _gaps(numbers: Sequence[int]) -> list[int]:
    previous, out = 0, []
    for n in numbers:
        out.append(n - previous)
        previous = n
    return out


def index_files(site: Any, rows: Iterable[_Row]) -> dict[str, bytes]:
    """Every file of the index (site path -> bytes), from the rows in document order."""
    files: dict[str, bytes] = {}
    # per term: its postings, the last document it is in, and the fields it is in anywhere
    seen: dict[str, tuple[array[int], list[int]]] = {}
    lists: dict[str, list[int]] = {}
    tags: dict[str, list[int]] = {}
    docs: list[list[Any]] = []
    for number, (doc, doc_tags, doc_terms) in enumerate(rows):
        docs.append(list(doc))
        for term, where in doc_terms:  # the hot loop of a build's index: one lookup a term
            found = seen.get(term)
            if found is None:
                found = seen[term] = (array("q"), [0, 0])
            last = found[1]
            found[0].append((number - last[0]) * 32 + where)
            last[0] = number
            last[1] |= where
        if doc[3]:
            lists.setdefault(doc[3], []).append(number)
        for tag in doc_tags:
            tags.setdefault(tag, []).append(number)
    for start in range(0, len(docs), DOC_CHUNK):
        files[f"search/d-{start // DOC_CHUNK}.json"] = _dump(docs[start : start + DOC_CHUNK])
    postings = {term: found[0] for term, found in seen.items()}
    vocabulary: dict[str, list[list[Any]]] = {}
    for term in sorted(postings):
        vocabulary.setdefault(term[:2], []).append([term, len(postings[term]), seen[term][1][1]])
    for key, entries in vocabulary.items():
        files[f"search/v-{_hex(key)}.json"] = _dump(entries)
    # a term's share of its shard: its key, its numbers and a comma each (``repr`` writes the
    # numbers of a list with ", " between them: two characters a number more than that)
    sizes = {term: len(term) + 6 + len(repr(p.tolist())) - len(p) for term, p in postings.items()}
    shards: dict[str, int] = {}
    for key, shard_terms in _shards(sorted(postings), sizes):
        content = _dump({term: postings[term].tolist() for term in shard_terms})
        files[f"search/t-{_hex(key)}.json"] = content
        shards[key] = len(content)
    facets: dict[str, dict[str, list[int]]] = {"list": {}, "tag": {}}
    for kind, values in (("list", lists), ("tag", tags)):
        for value in sorted(values):
            number = sum(len(v) for v in facets.values())
            files[f"search/f-{number}.json"] = _dump(_gaps(values[value]))
            facets[kind][value] = [number, len(values[value])]
    starts, projects = 0, []
    for project in site.projects:
        prefix = quote(project.name) + "/"
        projects.append([project.name, project.title, prefix, starts, project.count])
        starts += project.count
    manifest = {
        "format": FORMAT,
        "docs": len(docs),
        "chunk": DOC_CHUNK,
        "projects": projects,
        "fields": FIELDS,
        "lists": facets["list"],
        "tags": facets["tag"],
        "vocabulary": sorted(vocabulary),
        "shards": shards,
        "maxKey": MAX_KEY,
    }
    files["search/index.json"] = _dump(manifest)
    return files


def _shards(
    sorted_terms: Sequence[str], sizes: Mapping[str, int]
) -> Iterator[tuple[str, list[str]]]:
    """(key, terms) of each postings shard: terms by their first character, and a group over
    ``BUDGET`` split by one more character, up to ``MAX_KEY``; a term as long as its group's
    key stays in that key's shard. A term's shard is the longest key that starts it."""

    def split(key: str, group: list[str]) -> Iterator[tuple[str, list[str]]]:
        if len(key) >= MAX_KEY or sum(sizes[t] for t in group) <= BUDGET:
            yield key, group
            return
        own = [t for t in group if len(t) == len(key)]
        if own:
            yield key, own
        children: dict[str, list[str]] = {}
        for term in group:
            if len(term) > len(key):
                children.setdefault(term[: len(key) + 1], []).append(term)
        for child in sorted(children):
            yield from split(child, children[child])

    groups: dict[str, list[str]] = {}
    for term in sorted_terms:
        groups.setdefault(term[:1], []).append(term)
    for first in sorted(groups):
        yield from split(first, groups[first])
