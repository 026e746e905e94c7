"""An incremental build is byte-identical to a clean one, after any sequence of edits.

Hypothesis draws sequences of edits to a small real repo (the golden one, with git history):
change a value, a list, tags or a body; add, rename or delete a record; change a schema, a
template override or crmgen.yml; commit or not. After each edit the repo is built into the same
site folder with its cache (the incremental build), and a copy of it without any cache into a
fresh folder (the clean build); every file of the two sites must be equal, and an incremental
build with nothing changed must do nothing at all.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import git_commit_all
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from crmgen import views
from crmgen.build import build_site, pages, records

GOLDEN = Path(__file__).parent / "golden" / "input"
TODAY = dt.date(2026, 11, 27)
pytestmark = pytest.mark.slow

Edit = Callable[[Path], None]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _deal(root: Path, slug: str) -> Path:
    return root / "data" / "opportunities" / f"{slug}.md"


def _existing(root: Path) -> list[Path]:
    return sorted((root / "data" / "opportunities").glob("*.md"))


def change_amount(n: int) -> Edit:
    def edit(root: Path) -> None:
        deal = _existing(root)[n % len(_existing(root))]
        text = deal.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if not line.startswith("amount:")]
        lines.insert(2, f"amount: {1000 + n * 7}")
        deal.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def change_list(n: int) -> Edit:
    def edit(root: Path) -> None:
        deal = _existing(root)[n % len(_existing(root))]
        lists = ["Lead", "Proposal sent", "Closed won", "Closed lost"]
        text = deal.read_text(encoding="utf-8")
        lines = [
            f"list: {lists[n % 4]}" if x.startswith("list:") else x for x in text.splitlines()
        ]
        deal.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def change_body(n: int) -> Edit:
    def edit(root: Path) -> None:
        deal = _existing(root)[n % len(_existing(root))]
        with deal.open("a", encoding="utf-8") as handle:
            handle.write(f"\nMet again on day {n}: **follow up**.\n")

    return edit


def rename_client(n: int) -> Edit:
    """A client's name changes: every deal that links to it shows the new title."""

    def edit(root: Path) -> None:
        client = root / "data" / "clients" / ("acme.md" if n % 2 else "globex.md")
        text = client.read_text(encoding="utf-8")
        lines = [f"title: Client {n}" if x.startswith("title:") else x for x in text.splitlines()]
        client.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def move_deal(n: int) -> Edit:
    """A deal moves to another client (a new one, every third time): two groups of records
    that references connect change (``compute`` keeps each group's values by its records)."""

    def edit(root: Path) -> None:
        deal = _existing(root)[n % len(_existing(root))]
        client = ("acme", "globex", "initech")[n % 3]
        if client == "initech" and not (root / "data" / "clients" / "initech.md").exists():
            (root / "data" / "clients" / "initech.md").write_text(
                "---\ntitle: Initech\n---\n", encoding="utf-8"
            )
        text = deal.read_text(encoding="utf-8")
        lines = [f"client: {client}" if x.startswith("client:") else x for x in text.splitlines()]
        deal.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def add_deal(n: int) -> Edit:
    def edit(root: Path) -> None:
        _deal(root, f"new-deal-{n}").write_text(
            f"---\ntitle: New deal {n}\nlist: Lead\nclient: {'acme' if n % 2 else 'globex'}\n"
            f"amount: {500 * (n + 1)}\ntags: [seo]\n---\nFresh lead number {n}.\n",
            encoding="utf-8",
        )

    return edit


def delete_deal(n: int) -> Edit:
    def edit(root: Path) -> None:
        deals = _existing(root)
        if len(deals) > 1:
            deals[n % len(deals)].unlink()

    return edit


def rename_deal(n: int) -> Edit:
    def edit(root: Path) -> None:
        deal = _existing(root)[n % len(_existing(root))]
        target = deal.with_name(f"renamed-{n}.md")
        if not target.exists():
            deal.rename(target)

    return edit


def change_schema(n: int) -> Edit:
    """The project's title changes (every page that names it shows the new one)."""

    def edit(root: Path) -> None:
        schema = root / "schema" / "opportunities.schema.yaml"
        lines = schema.read_text(encoding="utf-8").splitlines()
        lines = [f"title: Deals {n}" if x.startswith("title:") else x for x in lines]
        schema.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def toggle_template(n: int) -> Edit:
    def edit(root: Path) -> None:
        override = root / "templates" / "table.html"
        if override.exists():
            shutil.rmtree(root / "templates")
            return
        override.parent.mkdir()
        packaged = Path(__file__).parent.parent / "crmgen" / "templates" / "table.html"
        text = packaged.read_text(encoding="utf-8")
        override.write_text(text.replace("<h1>", f'<h1 data-version="{n}">'), encoding="utf-8")

    return edit


def change_config(n: int) -> Edit:
    def edit(root: Path) -> None:
        config = root / "crmgen.yml"
        text = config.read_text(encoding="utf-8")
        lines = [
            f"title: Golden CRM {n}" if x.startswith("title:") else x for x in text.splitlines()
        ]
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


EDITS = st.sampled_from(
    [
        change_amount, change_list, change_body, rename_client, move_deal, add_deal,
        delete_deal, rename_deal, change_schema, toggle_template, change_config,
    ]
)  # fmt: skip
STEP = st.tuples(EDITS, st.integers(0, 50), st.booleans())


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _stamps(folder: Path) -> dict[str, tuple[int, int, int]]:
    """What the fingerprint of a run sees of each file: size, modification time, inode."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _clean_build(repo: Path, scratch: Path) -> dict[str, bytes]:
    copy = scratch / "clean-repo"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".crmgen-cache"))
    out = scratch / "clean-site"
    shutil.rmtree(out, ignore_errors=True)
    result = build_site(copy, out, today=TODAY)
    assert result.written and not result.kept, result.diagnostics
    return _files(out)


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure is short already
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=4))
@example(steps=[(rename_deal, 33, False), (rename_deal, 33, False), (delete_deal, 38, False)])
@example(steps=[(move_deal, 2, False), (change_amount, 2, False), (move_deal, 3, True)])
def test_incremental_build_equals_clean_build(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[tuple[Callable[[int], Edit], int, bool]],
) -> None:
    # files changed 50 ms before a build are remembered by their stat (2 s in use), so the
    # files a step leaves alone come from the store without being read: a build takes longer
    # than 50 ms, so each edit falls on another tick of the file system's clock than the last
    monkeypatch.setattr(records, "RACY", 0.05)
    scratch = tmp_path_factory.mktemp("incremental")
    repo = scratch / "repo"
    shutil.copytree(GOLDEN, repo)
    (repo / ".gitignore").write_text(".crmgen-cache/\n", encoding="utf-8")
    git_commit_all(repo, date="2026-10-05T09:00:00+02:00")
    site = scratch / "site"
    assert build_site(repo, site, today=TODAY).written
    for number, (make, n, commit) in enumerate(steps):
        before, stamps = _files(repo), _stamps(repo)
        make(n)(repo)
        # taken before the build, which writes its cache into the repo
        same, untouched = _files(repo) == before, _stamps(repo) == stamps
        if commit:
            git_commit_all(repo, f"Edit {number}", date=f"2026-10-{6 + number:02}T10:00:00+02:00")
        result = build_site(repo, site, today=TODAY)
        if untouched and not commit:  # the edit found nothing to do (a name already taken)
            assert result.kept, (make.__name__, n)
        elif not same or commit:  # (a file written again with its old bytes may be either)
            assert result.written and not result.kept, result.diagnostics
        expected = _clean_build(repo, scratch)
        actual = _files(site)
        assert sorted(actual) == sorted(expected), (make.__name__, n)
        for name in expected:
            assert actual[name] == expected[name], (make.__name__, n, name)
    again = build_site(repo, site, today=TODAY)  # nothing changed: nothing done
    assert again.kept and again.written == result.written
    assert _files(site) == actual


def test_a_site_changed_by_hand_is_built_again(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOLDEN, repo)
    site = tmp_path / "site"
    build_site(repo, site, today=TODAY)
    page = site / "opportunities" / "acme-website.html"
    original = page.read_bytes()
    page.write_bytes(b"defaced")
    result = build_site(repo, site, today=TODAY)
    assert not result.kept and page.read_bytes() == original


def test_an_unchanged_repo_is_not_built_twice_but_another_day_is(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOLDEN, repo)
    site = tmp_path / "site"
    first = build_site(repo, site, today=TODAY)
    second = build_site(repo, site, today=TODAY)
    assert second.kept and second.diagnostics == first.diagnostics
    assert second.dataset.projects.keys() == first.dataset.projects.keys()  # loaded on demand
    tomorrow = build_site(repo, site, today=TODAY + dt.timedelta(days=1))
    assert not tomorrow.kept
    other_audience = build_site(repo, site, today=TODAY + dt.timedelta(days=1), strict=True)
    assert not other_audience.kept


def test_page_keys_are_the_same_in_every_process() -> None:
    """A key that depends on a process's hash seed (a set pickled in its hash order) would
    change on every build of the CLI, so no page would ever be kept: two interpreters with
    different seeds must give the example's pages the same keys."""
    code = (
        "import sys; from pathlib import Path\n"
        "from crmgen import redaction, views\n"
        "from crmgen.build import load_dataset, pipeline\n"
        "from crmgen.model.store import digest\n"
        "dataset, _ = redaction.redact(load_dataset(Path(sys.argv[1])), None)\n"
        "site = views.build_site_views(dataset)\n"
        "keys = views.page_keys(dataset, pipeline._shared_key(dataset, site, [], []))\n"
        "print(len(keys), digest(sorted(keys.items())))\n"
    )
    root = Path(__file__).parent.parent
    found = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1795000000"}
        done = subprocess.run(
            [sys.executable, "-c", code, str(root)],
            env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        found.add(done.stdout)
    assert len(found) == 1, found
    assert int(found.pop().split()[0]) > 100


def test_an_edit_of_a_row_the_table_moves_rebuilds_its_search_row(tmp_path: Path) -> None:
    """The golden deals' table is in amount order, not file order: a row's cached parts (its
    ``table.json`` cells, its search row) must be found by its own record's key, so renaming
    the deal at the top of the table changes the search index as a clean build does."""
    repo = tmp_path / "repo"
    shutil.copytree(GOLDEN, repo)
    site = tmp_path / "site"
    assert build_site(repo, site, today=TODAY).written
    _replace(repo / "data/opportunities/acme-website.md", "title: Acme website", "title: Zenith")
    assert build_site(repo, site, today=TODAY).written
    expected = _clean_build(repo, tmp_path)
    actual = _files(site)
    changed = [name for name in expected if actual.get(name) != expected[name]]
    assert changed == []
    assert any(b"Zenith" in data for name, data in actual.items() if name.startswith("search/"))


def _rows_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the table rows made as HTML from here on (not taken from the store)."""
    made: list[str] = []
    original = views.rows_html

    def counting(rows: Sequence[views.RowView], shown: Sequence[int]) -> object:
        made.extend(row.slug for row in rows)
        return original(rows, shown)

    monkeypatch.setattr(views, "rows_html", counting)
    return made


@pytest.mark.parametrize("workers", [False, True])
def test_a_table_page_made_again_makes_only_its_changed_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """A table page re-rendered because one of its rows changed takes the other rows' HTML
    from the store. Rows are kept when pages are rendered in the build's own process (an
    edit's few pages); page workers keep none (every row of a big build would wait in memory
    for its end), so after a build by workers the first edit makes its pages' rows once."""
    repo = tmp_path / "repo"
    shutil.copytree(GOLDEN, repo)
    site = tmp_path / "site"
    with monkeypatch.context() as first:
        if workers:  # every page rendered by forked workers
            first.setattr(pages, "PARALLEL_FROM", 1)
        assert build_site(repo, site, today=TODAY).written
    made = _rows_made(monkeypatch)
    if workers:
        _replace(_deal(repo, "globex-seo"), "amount: ", "amount: 2")
        assert build_site(repo, site, today=TODAY).written
        assert sorted(made) == [
            "acme",
            "acme-brand",
            "acme-website",
            "globex",
            "globex-seo",
            "lead",
        ]
        made.clear()
    _replace(_deal(repo, "globex-seo"), "amount: ", "amount: 1")
    assert build_site(repo, site, today=TODAY).written
    # the edited deal's group: the deal and its client (the client's row shows its total)
    assert sorted(made) == ["globex", "globex-seo"]
    assert _files(site) == _clean_build(repo, tmp_path)
