"""The search index (``crmgen/views/search.py``): terms, shards, files, determinism, reuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, MakeRepo, record

from crmgen.build import build_site
from crmgen.views import search


def _repo(make_repo: MakeRepo) -> Path:
    return make_repo(
        {
            "data/clients/atlas-robotics.md": record(
                "title: Atlas Robotics GmbH\nemail: k.vogel@atlas-robotics.example\nsize: medium",
                "Warehouse-picking robots. Met Katrin at [Web Summit](https://websummit.example).",
            ),
            "data/clients/zurich-bank.md": record("title: Zürich Bank"),
            "data/opportunities/atlas-video.md": record(
                "title: Launch video\nlist: Closed won\nclient: atlas-robotics\namount: 31000\n"
                "tags: [seo, website]\nexpected_close: 2026-12-01",
                "Shot in Berlin.",
            ),
            "data/opportunities/bank-site.md": record(
                "title: Bank website\nlist: Proposal sent\nclient: zurich-bank\namount: 12000\n"
                "tags: [website]"
            ),
        }
    )


def _index(site: Path) -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (site / "search").iterdir()}


def _postings(files: dict[str, Any], term: str) -> dict[int, int]:
    """Document -> fields of ``term``, decoded as the script does."""
    manifest = files["index.json"]
    keys = [term[:n] for n in range(min(len(term), manifest["maxKey"]), 0, -1)]
    key = next((k for k in keys if k in manifest["shards"]), None)
    if key is None:
        return {}
    data = files[f"t-{key.encode().hex()}.json"].get(term, [])
    out, doc = {}, 0
    for value in data:
        doc += value // 32
        out[doc] = value % 32
    return out


def _doc(files: dict[str, Any], number: int) -> list[Any]:
    chunk = files["index.json"]["chunk"]
    return list(files[f"d-{number // chunk}.json"][number % chunk])


def test_terms_are_words_without_accents_in_lower_case() -> None:
    assert search.terms("Atlas Robotics GmbH — Zürich's café, x 42") == [
        "atlas",
        "robotics",
        "gmbh",
        "zurich",
        "cafe",
        "42",
    ]
    assert search.terms("snake_case and-dash") == ["snake", "case", "and", "dash"]
    assert search.terms("a" * 40) == ["a" * search.MAX_TERM]


def test_every_term_is_in_the_longest_shard_key_that_starts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search, "BUDGET", 40)
    words = sorted({"ro", "rob", "robot", "robots", "robotics", "rock", "rose", "ruby", "ab"})
    sizes = {w: 15 for w in words}
    shards = list(search._shards(words, sizes))
    keys = [key for key, _ in shards]
    assert len(keys) == len(set(keys)) and len(keys) > 3  # split, each key once
    assert sorted(t for _, terms in shards for t in terms) == words
    for key, terms in shards:
        for term in terms:
            longest = max((k for k in keys if term.startswith(k)), key=len)
            assert longest == key, (term, key, keys)


def test_the_index_finds_titles_fields_references_tags_and_bodies(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    assert build_site(_repo(make_repo), site, today=TODAY).written
    files = _index(site)
    manifest = files["index.json"]
    assert manifest["format"] == search.FORMAT
    assert [p[:2] for p in manifest["projects"]] == [
        ["clients", "Clients"],
        ["opportunities", "Opportunities"],
    ]
    # documents: clients then opportunities, each by slug
    # a client without an amount shows its first currency field (a rollup here)
    assert _doc(files, 0) == [0, "atlas-robotics", "Atlas Robotics GmbH", "", "€31,000"]
    assert _doc(files, 2) == [1, "atlas-video", "Launch video", "Closed won", "€31,000"]
    fields = search.FIELDS
    assert _postings(files, "atlas") == {
        0: fields["title"] | fields["field"],  # the title, the e-mail address
        2: fields["reference"],  # the deal's client
    }
    assert _postings(files, "zurich") == {1: fields["title"], 3: fields["reference"]}
    assert _postings(files, "seo") == {2: fields["label"]}
    assert _postings(files, "berlin") == {2: fields["body"]}
    assert _postings(files, "websummit") == {}  # a link's target is not text
    assert _postings(files, "https") == {}
    # numbers and dates are not text to search
    assert _postings(files, "31000") == {} and _postings(files, "2026") == {}
    # the vocabulary knows each term's documents and fields
    vocabulary = files[f"v-{b'at'.hex()}.json"]
    assert ["atlas", 2, fields["title"] | fields["field"] | fields["reference"]] in vocabulary
    # facets: the documents of a list or a tag
    number, count = manifest["tags"]["website"]
    assert count == 2 and files[f"f-{number}.json"] == [2, 1]
    number, count = manifest["lists"]["Closed won"]
    assert files[f"f-{number}.json"] == [2]
    # every file the manifest names exists, and nothing else is there
    named = {"index.json"}
    named |= {f"v-{k.encode().hex()}.json" for k in manifest["vocabulary"]}
    named |= {f"t-{k.encode().hex()}.json" for k in manifest["shards"]}
    named |= {f"f-{n}.json" for n, _ in [*manifest["lists"].values(), *manifest["tags"].values()]}
    named |= {f"d-{n}.json" for n in range(-(-manifest["docs"] // manifest["chunk"]))}
    assert named == set(files)
    for key, size in manifest["shards"].items():
        assert (site / "search" / f"t-{key.encode().hex()}.json").stat().st_size == size
    assert (site / "search.html").is_file()


def test_a_rebuild_gives_a_byte_identical_index(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _repo(make_repo)
    first, second = tmp_path / "one", tmp_path / "two"
    assert build_site(root, first, today=TODAY).written
    shutil.rmtree(root / ".crmgen-cache", ignore_errors=True)
    assert build_site(root, second, today=TODAY).written
    one = {p.name: p.read_bytes() for p in (first / "search").iterdir()}
    two = {p.name: p.read_bytes() for p in (second / "search").iterdir()}
    assert one == two


def test_an_incremental_build_gives_the_index_of_a_clean_one(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _repo(make_repo)
    site = tmp_path / "site"
    assert build_site(root, site, today=TODAY).written
    deal = root / "data/opportunities/bank-site.md"
    deal.write_text(deal.read_text().replace("Bank website", "Bank intranet"))
    assert build_site(root, site, today=TODAY).written
    clean = tmp_path / "clean"
    shutil.rmtree(root / ".crmgen-cache")
    assert build_site(root, clean, today=TODAY).written
    incremental = {p.name: p.read_bytes() for p in (site / "search").iterdir()}
    assert incremental == {p.name: p.read_bytes() for p in (clean / "search").iterdir()}
    assert "intranet" in json.dumps(_index(site)["v-696e.json"])


def test_rows_of_unchanged_records_come_from_the_cache(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    site = tmp_path / "site"
    assert build_site(root, site, today=TODAY).written
    made: list[str] = []
    real = search._row

    def counting(number: int, project: Any, index: int, body: str, *rest: Any) -> Any:
        made.append(project.records.slugs[index])
        return real(number, project, index, body, *rest)

    monkeypatch.setattr(search, "_row", counting)
    deal = root / "data/opportunities/bank-site.md"
    deal.write_text(deal.read_text() + "\nNew notes.\n")
    assert build_site(root, site, today=TODAY).written
    # the rows of the edited deal's group (its client; see compute's groups), not the others
    assert sorted(made) == ["bank-site", "zurich-bank"]
