"""``crmgen changes`` and ``--as-of`` on a scripted history: real commits with fixed dates."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import OPPS_SCHEMA, MakeRepo, git_commit_all, record

from crmgen.build import build_site
from crmgen.cli import main

CONFIG = """\
title: T
currency: EUR
locale: en_GB
projects: [clients, opportunities]
automations:
  notifications:
    project: opportunities
    notify: {Closed won: ["@finance", "@anna"], Proposal sent: ["@tom"]}
"""


def _history(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "crmgen.yml": CONFIG,
            "schema/opportunities.schema.yaml": OPPS_SCHEMA
            + "  owner: {type: string, x-crmgen: {type: text}}\n",
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/a.md": record(
                "title: Alpha\nlist: Lead\nclient: acme\namount: 1000"
            ),
            "data/opportunities/b.md": record(
                "title: Beta\nlist: Proposal sent\nclient: acme\namount: 4000\n"
                "expected_close: 2026-03-31"
            ),
        }
    )
    git_commit_all(root, "January", "2026-01-05T10:00:00+01:00")
    (root / "data/opportunities/a.md").write_text(
        record("title: Alpha\nlist: Proposal sent\nclient: acme\namount: 1000")
    )
    (root / "data/opportunities/b.md").write_text(
        record(
            "title: Beta\nlist: Proposal sent\nclient: acme\namount: 5000\n"
            "expected_close: 2026-04-30"
        )
    )
    (root / "data/opportunities/c.md").write_text(
        record("title: Gamma\nlist: Lead\nclient: acme\namount: 2000")
    )
    git_commit_all(root, "February", "2026-02-10T10:00:00+01:00")
    (root / "data/opportunities/b.md").write_text(
        record(
            "title: Beta\nlist: Closed won\nclient: acme\namount: 5000\nexpected_close: 2026-04-30"
        )
    )
    (root / "data/opportunities/c.md").unlink()
    git_commit_all(root, "March", "2026-03-01T10:00:00+01:00")
    return root


EXPECTED_MARKDOWN = """\
## Pipeline changes {base}..{head}

**Open pipeline** €5,000 → €1,000 (−€4,000) · **Weighted forecast** €2,100 → €500 (−€1,600)

### Stage moves (2)

- Alpha (opportunities): Lead → **Proposal sent** by Ann Example — notify @tom
- Beta (opportunities): Proposal sent → **Closed won** by Ann Example — notify @finance, @anna

### Amounts and close dates (2)

- Beta (opportunities): Amount €4,000 → €5,000
- Beta (opportunities): Expected close 2026-03-31 → 2026-04-30
"""


def _sha(root: Path, rev: str) -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", rev], cwd=root, capture_output=True, text=True)
    return done.stdout.strip()


def test_changes_between_two_revisions_as_markdown_and_json(make_repo: MakeRepo) -> None:
    root = _history(make_repo)
    result = CliRunner().invoke(main, ["changes", "HEAD~2..HEAD", str(root)])
    assert result.exit_code == 0, result.output
    base, head = _sha(root, "HEAD~2")[:12], _sha(root, "HEAD")[:12]
    assert result.output == EXPECTED_MARKDOWN.format(base=base, head=head)
    data = json.loads(
        CliRunner().invoke(main, ["changes", "HEAD~2..HEAD", str(root), "--format", "json"]).output
    )
    assert data["open_pipeline"] == {"before": 5000, "after": 1000}
    assert data["weighted_forecast"] == {"before": 2100, "after": 500}
    assert (data["added"], data["removed"]) == ([], [])  # c came and went in between
    assert [(m["record"], m["from"], m["to"], m["notify"]) for m in data["moves"]] == [
        ("a", "Lead", "Proposal sent", ["@tom"]),
        ("b", "Proposal sent", "Closed won", ["@finance", "@anna"]),
    ]
    assert [(e["field"], e["before"], e["after"]) for e in data["edits"]] == [
        ("amount", 4000, 5000),
        ("expected_close", "2026-03-31", "2026-04-30"),
    ]


def test_changes_lists_added_and_removed_records(make_repo: MakeRepo) -> None:
    root = _history(make_repo)
    added = CliRunner().invoke(main, ["changes", "HEAD~2..HEAD~1", str(root), "--format", "json"])
    assert [i["record"] for i in json.loads(added.output)["added"]] == ["c"]
    removed = CliRunner().invoke(main, ["changes", "HEAD~1..", str(root), "--format", "json"])
    assert [i["record"] for i in json.loads(removed.output)["removed"]] == ["c"]
    links = (
        CliRunner()
        .invoke(main, ["changes", "HEAD~1..", str(root), "--base-url", "https://crm.example/x"])
        .output
    )
    assert "[Gamma](https://crm.example/x/opportunities/c.html) (opportunities)" in links


def test_an_unknown_revision_is_a_usage_error(make_repo: MakeRepo) -> None:
    root = _history(make_repo)
    result = CliRunner().invoke(main, ["changes", "nope..HEAD", str(root)])
    assert result.exit_code == 2
    assert "'nope' is not a revision of this repository" in result.output


def test_as_of_builds_the_board_as_it_stood_then(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _history(make_repo)
    out = tmp_path / "site"
    result = build_site(root, out, as_of="2026-02-15")
    assert result.problems == (), result.diagnostics
    board = (out / "opportunities/board.html").read_text(encoding="utf-8")
    columns = board.split('<section class="board-column')
    lead = next(c for c in columns if 'data-list="Lead"' in c)
    sent = next(c for c in columns if 'data-list="Proposal sent"' in c)
    won = next(c for c in columns if 'data-list="Closed won"' in c)
    assert 'data-slug="c"' in lead and 'data-slug="a"' in sent and 'data-slug="b"' in sent
    assert 'data-count="0"' in won
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "As of 15 Feb 2026:" in page and "not today's data" in page
    # the record pages show the history up to then, not what came later
    beta = (out / "opportunities/b.html").read_text(encoding="utf-8")
    assert "Closed won" not in beta.split('<ol class="timeline"')[1].split("</ol>")[0]
    assert build_site(root, tmp_path / "other", as_of="2025-12-31").written == 0


def test_stage_feeds_for_everyone_and_per_owner(make_repo: MakeRepo, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    root = _history(make_repo)
    (root / "data/opportunities/a.md").write_text(
        record("title: Alpha\nlist: Proposal sent\nclient: acme\namount: 1000\nowner: Léa Moreau")
    )
    git_commit_all(root, "Owner", "2026-03-05T10:00:00+01:00")
    out = tmp_path / "site"
    assert build_site(root, out).problems == ()
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / "feeds/stages.xml").getroot()
    titles = [e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry")]
    assert titles == [
        "Beta: Proposal sent → Closed won",
        "Alpha: Lead → Proposal sent",  # (Gamma was removed: the feed follows the records)
        "Beta: Proposal sent",
        "Alpha: Lead",
    ]
    assert feed.findtext(f"{atom}updated") == "2026-03-01T00:00:00Z"
    first = next(feed.iter(f"{atom}entry"))
    assert first.find(f"{atom}link").get("href") == "../opportunities/b.html"
    assert first.findtext(f"{atom}author/{atom}name") == "Ann Example"
    mine = ET.parse(out / "feeds/owner-lea-moreau.xml").getroot()
    assert [e.findtext(f"{atom}title") for e in mine.iter(f"{atom}entry")] == [
        "Alpha: Lead → Proposal sent",
        "Alpha: Lead",
    ]
    home = (out / "index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" type="application/atom+xml" title="Stage changes" ' \
        'href="feeds/stages.xml">' in home  # fmt: skip
    again = tmp_path / "again"
    build_site(root, again)
    assert (again / "feeds/stages.xml").read_bytes() == (out / "feeds/stages.xml").read_bytes()
