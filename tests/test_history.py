"""The history stage on real git repositories, built step by step with fixed dates and authors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmgen import yamlstrict
from crmgen.history import git as history_git
from crmgen.history import log as history
from crmgen.history import values as history_values
from crmgen.history.log import Checkout, FileHistory, Transition, read_history
from crmgen.model import Diagnostic

ANN, BOB, CEM = "Ann Lee", "Bob Ray", "Cem Öz"
KEYS = {"opportunities": "list", "clients": ""}
OPP = "data/opportunities"


def git(repo: Path, *args: str, date: str = "2026-01-01T09:00:00+00:00", author: str = ANN,
        check: bool = True) -> str:  # fmt: skip
    """Run git in ``repo`` with a fixed identity and date and no user or system config."""
    email = author.split()[0].lower() + "@example.com"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 or not check, done.stderr
    return done.stdout.strip()


@dataclass(frozen=True)
class Write:
    path: str
    text: str


@dataclass(frozen=True)
class Delete:
    path: str


@dataclass(frozen=True)
class Move:
    old: str
    new: str


@dataclass(frozen=True)
class Commit:
    """``git add -A`` and commit (also concludes a merge), by ``author`` at ``date``."""

    date: str
    author: str = ANN


@dataclass(frozen=True)
class Git:
    """Any other git command (branch, checkout, merge), dated like a commit."""

    args: tuple[str, ...]
    date: str = "2026-01-01T09:00:00+00:00"
    author: str = ANN
    check: bool = True


Step = Write | Delete | Move | Commit | Git


def make_git_repo(root: Path, steps: Sequence[Step]) -> list[str]:
    """Play ``steps`` in ``root`` (a new repo on branch main if needed); the SHA of each commit."""
    if not (root / ".git").exists():
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "-b", "main")
    shas = []
    for step in steps:
        match step:
            case Write(path, text):
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(text.encode())
            case Delete(path):
                (root / path).unlink()
            case Move(old, new):
                (root / new).parent.mkdir(parents=True, exist_ok=True)
                git(root, "mv", old, new)
            case Commit(date, author):
                git(root, "add", "-A")
                git(
                    root, "commit", "-q", "--allow-empty", "-m", "change", date=date, author=author
                )
                shas.append(git(root, "rev-parse", "HEAD"))
            case Git(args, date, author, check):
                git(root, *args, date=date, author=author, check=check)
    return shas


def deal(stage: str, amount: int = 1000, body: str = "") -> str:
    """An opportunity; ``stage`` is written as given (quote it yourself). The list and amount
    lines are far apart, so that branches changing one and the other merge cleanly."""
    notes = "First call went well.\nThey want a quote for the new website and the shop.\n"
    return (
        f"---\ntitle: Website for Acme\nlist: {stage}\nowner: Ann Lee\nclient: acme\n"
        f"source: Referral\nexpected_close: 2026-06-30\namount: {amount}\n---\n{notes}{body}"
    )


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def read(root: Path, **options: Any) -> tuple[dict[str, FileHistory], Checkout, list[Diagnostic]]:
    return read_history(root, KEYS, **options)


def codes(notes: list[Diagnostic]) -> list[str]:
    return [n.code for n in notes]


# --- Dates, authors and transitions --------------------------------------------------------


def test_add_then_stage_moves(tmp_path: Path) -> None:
    a = f"{OPP}/acme-website.md"
    c1, c2, c3, c4 = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+01:00", ANN),
        Write(a, deal('"Proposal sent"')), Commit("2026-01-12T16:30:00+01:00", BOB),
        Write(a, deal('"Proposal sent"', amount=1500)), Commit("2026-01-20T09:00:00+01:00", BOB),
        # 23:30 in New York is already February in UTC: the author's own date counts.
        Write(a, deal("'Closed won'", amount=1500)), Commit("2026-01-31T23:30:00-05:00", CEM),
    ])  # fmt: skip
    histories, checkout, notes = read(tmp_path)
    assert read(tmp_path) == (histories, checkout, notes)
    assert histories == {
        a: FileHistory(a, d("2026-01-05"), ANN, d("2026-01-31"), (
            Transition(d("2026-01-05"), None, "Lead", ANN, c1),
            Transition(d("2026-01-12"), "Lead", "Proposal sent", BOB, c2),
            Transition(d("2026-01-31"), "Proposal sent", "Closed won", CEM, c4),
        ))
    }  # fmt: skip
    assert checkout == Checkout(is_git=True, shallow=False, dirty=(), head=c4)
    assert notes == []
    assert c3 not in {t.commit for t in histories[a].transitions}


def test_a_record_moved_back_to_an_earlier_list(tmp_path: Path) -> None:
    a = f"{OPP}/acme.md"
    c1, c2, c3 = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Negotiation")), Commit("2026-01-06T10:00:00+00:00", BOB),
        Write(a, deal("Lead")), Commit("2026-01-07T10:00:00+00:00", CEM),
    ])  # fmt: skip
    assert read(tmp_path)[0][a].transitions == (
        Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        Transition(d("2026-01-06"), "Lead", "Negotiation", BOB, c2),
        Transition(d("2026-01-07"), "Negotiation", "Lead", CEM, c3),
    )


def test_a_rename_within_a_project_keeps_the_history(tmp_path: Path) -> None:
    old, new = f"{OPP}/acme.md", f"{OPP}/acme-corp.md"
    c1, _, c3 = make_git_repo(tmp_path, [
        Write(old, deal("Lead")), Commit("2026-02-01T10:00:00+00:00"),
        Move(old, new), Commit("2026-02-02T10:00:00+00:00", BOB),
        Write(new, deal("Qualified")), Commit("2026-02-03T10:00:00+00:00", CEM),
    ])  # fmt: skip
    histories = read(tmp_path)[0]
    assert list(histories) == [new]
    assert histories[new] == FileHistory(new, d("2026-02-01"), ANN, d("2026-02-03"), (
        Transition(d("2026-02-01"), None, "Lead", ANN, c1),
        Transition(d("2026-02-03"), "Lead", "Qualified", CEM, c3),
    ))  # fmt: skip


def test_a_move_between_year_folders_with_a_list_change(tmp_path: Path) -> None:
    old, new = f"{OPP}/2025/acme.md", f"{OPP}/2026/acme.md"
    c1, c2 = make_git_repo(tmp_path, [
        Write(old, deal("Lead")), Commit("2025-12-30T10:00:00+00:00"),
        Move(old, new), Write(new, deal("'Closed won'")), Commit("2026-01-02T10:00:00+00:00", BOB),
    ])  # fmt: skip
    assert read(tmp_path)[0] == {
        new: FileHistory(new, d("2025-12-30"), ANN, d("2026-01-02"), (
            Transition(d("2025-12-30"), None, "Lead", ANN, c1),
            Transition(d("2026-01-02"), "Lead", "Closed won", BOB, c2),
        ))
    }  # fmt: skip


def test_a_move_between_projects_reads_each_side_with_its_own_key(tmp_path: Path) -> None:
    old, new = "data/leads/acme.md", f"{OPP}/acme.md"
    lead = deal("Lead").replace("list: Lead", "status: Hot")
    c1, c2 = make_git_repo(tmp_path, [
        Write(old, lead), Commit("2026-03-01T10:00:00+00:00"),
        Move(old, new), Write(new, deal("Lead")), Commit("2026-03-02T10:00:00+00:00", BOB),
    ])  # fmt: skip
    histories = read_history(tmp_path, {"leads": "status", "opportunities": "list"})[0]
    assert histories[new].transitions == (
        Transition(d("2026-03-01"), None, "Hot", ANN, c1),
        Transition(d("2026-03-02"), "Hot", "Lead", BOB, c2),
    )
    assert histories[new].created == d("2026-03-01")


def test_a_file_deleted_and_added_again_continues_its_history(tmp_path: Path) -> None:
    a, gone = f"{OPP}/acme.md", f"{OPP}/gone.md"
    c1, _, c3, c4 = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Write(gone, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Delete(a), Delete(gone), Commit("2026-01-06T10:00:00+00:00", BOB),
        Write(a, deal("Lead", amount=5)), Commit("2026-01-07T10:00:00+00:00", CEM),
        Write(a, deal("Negotiation", amount=5)), Commit("2026-01-08T10:00:00+00:00", CEM),
    ])  # fmt: skip
    histories = read(tmp_path)[0]
    assert list(histories) == [a]  # a deleted record has no history
    assert histories[a] == FileHistory(a, d("2026-01-05"), ANN, d("2026-01-08"), (
        Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        Transition(d("2026-01-08"), "Lead", "Negotiation", CEM, c4),
    ))  # fmt: skip
    assert c3 not in {t.commit for t in histories[a].transitions}  # added again, still Lead


def test_a_record_added_again_in_another_list_moves_from_its_old_list(tmp_path: Path) -> None:
    a = f"{OPP}/acme.md"
    c1, _, c3 = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Delete(a), Commit("2026-01-06T10:00:00+00:00"),
        Write(a, deal("'Closed lost'")), Commit("2026-01-07T10:00:00+00:00", BOB),
    ])  # fmt: skip
    assert read(tmp_path)[0][a].transitions == (
        Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        Transition(d("2026-01-07"), "Lead", "Closed lost", BOB, c3),
    )


# --- Front matter --------------------------------------------------------------------------


def test_a_list_line_in_the_body_is_ignored(tmp_path: Path) -> None:
    a, b = f"{OPP}/acme.md", f"{OPP}/no-list.md"
    c1, _ = make_git_repo(tmp_path, [
        Write(a, deal("Lead", body="list: Closed won\n")),
        Write(b, "---\ntitle: No list yet\n---\nlist: Lead\n"),
        Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Lead", body="list: Closed lost\n")),
        Write(b, "---\ntitle: No list yet\n---\nlist: Negotiation\n"),
        Commit("2026-01-06T10:00:00+00:00", BOB),
    ])  # fmt: skip
    histories = read(tmp_path)[0]
    assert histories[a].transitions == (Transition(d("2026-01-05"), None, "Lead", ANN, c1),)
    assert histories[a].last_changed == d("2026-01-06")
    assert histories[b] == FileHistory(b, d("2026-01-05"), ANN, d("2026-01-06"), ())


@pytest.mark.parametrize(
    "line",
    [
        "list: Lead",
        "list:    Proposal sent   ",
        "list: Proposal sent # the client asked",
        "list: 'Closed won'",
        "list: 'It''s won'",
        'list: "Proposal sent"',
        'list: "Say \\"yes\\"\\t\\u00e9"',
        "list: 'multi\n  line'",
        "list: plain\n  continued\n\n  here",
        "list: >\n  folded\n  text",
        "list: |\n  literal",
        "list: 2024",
        "list: null",
        "list: yes",
        "list: 'a # not a comment'",
        "list: a#b",
        "list: -5",
        "list: ~",
        "list:",
        "list: ''",
        "list: [Lead, Won]",
        "list: {a: 1}",
        "list: ' leading space'",
        "list:\tTabbed",
        "list: Ünïcode ✓",
        "list: key: value",
    ],
)
def test_list_values_are_read_like_the_load_stage_reads_them(line: str) -> None:
    front = f"title: X\n{line}\nowner: Ann\n"
    doc, problems = yamlstrict.parse(front, "x.md", keep_string=lambda path: True)
    expected = None
    if doc is not None and not problems:
        value = doc.value.get("list")
        expected = value if isinstance(value, str) else None
    text = f"---\n{front}---\nlist: In the body\n".encode()
    assert history_values.front_value(text, "list") == expected


def test_front_matter_edge_cases() -> None:
    assert history_values.front_value(b"---\r\nlist: Lead\r\n...\r\n", "list") == "Lead"
    assert history_values.front_value(b"\xef\xbb\xbf---\nlist: Lead\n---\n", "list") == "Lead"
    assert history_values.front_value(b"list: Lead\n", "list") is None  # no front matter
    assert history_values.front_value(b"---\ntitle: x\n---\nlist: Lead\n", "list") is None
    assert history_values.front_value(b"---\nlisted: x\n  list: y\n---\n", "list") is None
    assert (
        history_values.front_value(b"---\nlist: Lead\n", "list") == "Lead"
    )  # not closed: load errs


def test_a_project_without_lists_has_dates_only(tmp_path: Path) -> None:
    c = "data/clients/acme.md"
    make_git_repo(tmp_path, [
        Write(c, "---\ntitle: Acme\nlist: Lead\n---\n"), Commit("2026-01-05T10:00:00+00:00"),
        Write(c, "---\ntitle: Acme\nlist: Won\n---\n"), Commit("2026-01-09T10:00:00+00:00", BOB),
    ])  # fmt: skip
    assert read(tmp_path)[0] == {c: FileHistory(c, d("2026-01-05"), ANN, d("2026-01-09"), ())}


def test_only_record_files_of_known_projects_are_read(tmp_path: Path) -> None:
    make_git_repo(tmp_path, [
        Write(f"{OPP}/acme.md", deal("Lead")),
        Write(f"{OPP}/notes.txt", "x"),
        Write(f"{OPP}/.draft.md", deal("Lead")),
        Write(f"{OPP}/.hidden/x.md", deal("Lead")),
        Write("data/README.md", "x"),
        Write("data/unknown/x.md", deal("Lead")),
        Write("other/data/opportunities/x.md", deal("Lead")),
        Commit("2026-01-05T10:00:00+00:00"),
    ])  # fmt: skip
    assert list(read(tmp_path)[0]) == [f"{OPP}/acme.md"]


def test_file_names_with_spaces_unicode_and_quotes(tmp_path: Path) -> None:
    names = [f"{OPP}/2026/café “deal”.md", f'{OPP}/it\'s "quoted" \\ too.md', f"{OPP}/a b.md"]
    renamed = f"{OPP}/2026/Zürich & co.md"
    c1, _ = make_git_repo(tmp_path, [
        *[Write(name, deal("Lead")) for name in names], Commit("2026-01-05T10:00:00+00:00"),
        Move(names[2], renamed), Commit("2026-01-06T10:00:00+00:00"),
    ])  # fmt: skip
    histories = read(tmp_path)[0]
    assert list(histories) == sorted([*names[:2], renamed])  # sorted by path
    assert histories[renamed].created == d("2026-01-05")
    assert histories[names[0]].transitions == (Transition(d("2026-01-05"), None, "Lead", ANN, c1),)


# --- Merges --------------------------------------------------------------------------------


def test_a_merge_of_a_list_change_and_another_field_change(tmp_path: Path) -> None:
    a = f"{OPP}/acme.md"
    c1, f1, m1, merge = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Git(("checkout", "-q", "-b", "feature")),
        Write(a, deal('"Proposal sent"')), Commit("2026-01-06T10:00:00+00:00", BOB),
        Git(("checkout", "-q", "main")),
        Write(a, deal("Lead", amount=2000)), Commit("2026-01-07T10:00:00+00:00", CEM),
        Git(("merge", "-q", "--no-commit", "feature")), Commit("2026-01-08T10:00:00+00:00"),
    ])  # fmt: skip
    assert (tmp_path / a).read_text() == deal('"Proposal sent"', amount=2000)
    histories, checkout, _ = read(tmp_path)
    # The amount change on main saw "Lead" in its parent: no move back to Lead.
    assert histories[a] == FileHistory(a, d("2026-01-05"), ANN, d("2026-01-08"), (
        Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        Transition(d("2026-01-06"), "Lead", "Proposal sent", BOB, f1),
    ))  # fmt: skip
    assert checkout.head == merge
    assert m1 not in {t.commit for t in histories[a].transitions}


def test_a_merge_whose_conflict_resolution_sets_the_list(tmp_path: Path) -> None:
    a, b = f"{OPP}/acme.md", f"{OPP}/beta.md"
    c1, f1, m1, merge, later = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Git(("checkout", "-q", "-b", "feature")),
        Write(a, deal('"Proposal sent"')), Commit("2026-01-06T10:00:00+00:00", BOB),
        Git(("checkout", "-q", "main")),
        Write(a, deal("Negotiation")), Commit("2026-01-07T10:00:00+00:00", CEM),
        Git(("merge", "-q", "feature"), check=False),  # conflict on the list line
        Write(a, deal("'Closed won'")), Commit("2026-01-08T10:00:00+00:00", CEM),
        Write(b, deal("Lead")), Commit("2026-01-09T10:00:00+00:00"),
    ])  # fmt: skip
    assert git(tmp_path, "rev-list", "--parents", "-n1", merge).count(" ") == 2
    histories = read(tmp_path)[0]
    assert histories[a] == FileHistory(a, d("2026-01-05"), ANN, d("2026-01-08"), (
        Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        Transition(d("2026-01-06"), "Lead", "Proposal sent", BOB, f1),
        Transition(d("2026-01-07"), "Lead", "Negotiation", CEM, m1),
        Transition(d("2026-01-08"), "Negotiation", "Closed won", CEM, merge),
    ))  # fmt: skip
    assert later not in {t.commit for t in histories[a].transitions}  # dated by the merge


def test_a_merge_that_keeps_the_older_side_is_caught_at_rev(tmp_path: Path) -> None:
    """The resolution takes the feature's list, committed before main's: no commit shows the
    move back, so it is dated at ``rev`` (and moves with it: documented)."""
    a, b = f"{OPP}/acme.md", f"{OPP}/beta.md"
    _, f1, m1, merge, later = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Git(("checkout", "-q", "-b", "feature")),
        Write(a, deal('"Proposal sent"')), Commit("2026-01-06T10:00:00+00:00", BOB),
        Git(("checkout", "-q", "main")),
        Write(a, deal("Negotiation")), Commit("2026-01-07T10:00:00+00:00", CEM),
        Git(("merge", "-q", "feature"), check=False),
        Write(a, deal('"Proposal sent"')), Commit("2026-01-08T10:00:00+00:00", ANN),
        Write(b, deal("Lead")), Commit("2026-01-09T10:00:00+00:00", BOB),
    ])  # fmt: skip
    at_merge = read(tmp_path, rev=merge)[0][a].transitions
    assert at_merge[1:] == (
        Transition(d("2026-01-06"), "Lead", "Proposal sent", BOB, f1),
        Transition(d("2026-01-07"), "Lead", "Negotiation", CEM, m1),
        Transition(d("2026-01-08"), "Negotiation", "Proposal sent", ANN, merge),
    )
    at_head = read(tmp_path)[0][a].transitions
    assert at_head[-1] == Transition(d("2026-01-09"), "Negotiation", "Proposal sent", BOB, later)


# --- Where the data repo is, and the state of the checkout ----------------------------------


def test_a_data_repo_in_a_subfolder_of_the_git_repo(tmp_path: Path) -> None:
    crm = "our crm [*]"  # pathspec magic characters are taken literally
    a = f"{crm}/{OPP}/acme.md"
    c1, _ = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Write(f"{OPP}/outside.md", deal("Lead")),
        Write(f"our crm x/{OPP}/other.md", deal("Lead")),
        Commit("2026-01-05T10:00:00+00:00"),
        Move(a, f"{crm}/{OPP}/2026/acme.md"), Commit("2026-01-06T10:00:00+00:00", BOB),
        Write(f"{crm}/data/opportunities/new.md", deal("Lead")),
        Write(f"our crm x/{OPP}/other.md", deal("Won")),
    ])  # fmt: skip
    histories, checkout, notes = read(tmp_path / crm)
    path = f"{OPP}/2026/acme.md"
    assert histories == {
        path: FileHistory(path, d("2026-01-05"), ANN, d("2026-01-06"), (
            Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        ))
    }  # fmt: skip
    assert checkout.dirty == (f"{OPP}/new.md",)
    assert codes(notes) == ["history-uncommitted"]


def test_uncommitted_and_untracked_changes_are_dirty(tmp_path: Path) -> None:
    a, b = f"{OPP}/acme.md", f"{OPP}/beta.md"
    make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Write(b, deal("Lead")), Write("crmgen.yml", "title: x\n"),
        Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Won")),  # unstaged
        Write(f"{OPP}/new one.md", deal("Lead")),  # untracked
        Write("data/clients/c.md", "---\ntitle: C\n---\n"),
        Write("crmgen.yml", "title: y\n"),  # outside data/
    ])  # fmt: skip
    git(tmp_path, "add", "data/clients/c.md")  # staged
    histories, checkout, notes = read(tmp_path)
    assert checkout.dirty == ("data/clients/c.md", a, f"{OPP}/new one.md")
    assert notes == [
        Diagnostic(
            "warning",
            "history-uncommitted",
            "3 files under data/ have uncommitted changes (staged, unstaged or untracked): "
            "values come from the working tree, dates from the last commit; commit them to get "
            "their dates",
        )
    ]
    assert histories[a].transitions[-1].to_list == "Lead"  # the committed value


def test_a_shallow_clone(tmp_path: Path) -> None:
    a = f"{OPP}/acme.md"
    make_git_repo(tmp_path / "src", [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Won")), Commit("2026-01-06T10:00:00+00:00", BOB),
    ])  # fmt: skip
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{tmp_path / 'src'}", "clone")
    histories, checkout, notes = read(tmp_path / "clone", cache_dir=tmp_path / "cache")
    assert checkout.shallow and checkout.is_git
    assert codes(notes) == ["history-shallow"]
    assert "fetch-depth: 0" in notes[0].message
    # History stops at the clone's depth: the record looks created by the last commit.
    assert histories[a] == FileHistory(a, d("2026-01-06"), BOB, d("2026-01-06"), (
        Transition(d("2026-01-06"), None, "Won", BOB, checkout.head or ""),
    ))  # fmt: skip
    assert not (tmp_path / "cache").exists()  # a shallow history is never cached


def test_outside_git(tmp_path: Path) -> None:
    (tmp_path / OPP).mkdir(parents=True)
    (tmp_path / OPP / "acme.md").write_text(deal("Lead"))
    assert read(tmp_path) == (
        {},
        Checkout(is_git=False, shallow=False, dirty=(), head=None),
        [
            Diagnostic(
                "warning",
                "history-not-git",
                "the data repo is not inside a git checkout: dates come from fields only",
            )
        ],
    )


def test_git_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_git_repo(tmp_path, [Write(f"{OPP}/a.md", deal("Lead")), Commit("2026-01-05T10:00:00Z")])
    monkeypatch.setattr(history_git, "GIT", "crmgen-no-such-git")
    histories, checkout, notes = read(tmp_path)
    assert (histories, checkout, codes(notes)) == ({}, Checkout(False, False, (), None),
                                                   ["history-not-git"])  # fmt: skip
    assert "git is missing" in notes[0].message


def test_an_empty_repository(tmp_path: Path) -> None:
    make_git_repo(tmp_path, [Write(f"{OPP}/acme.md", deal("Lead"))])
    histories, checkout, notes = read(tmp_path)
    assert histories == {}
    assert checkout == Checkout(True, False, (f"{OPP}/acme.md",), None)
    assert codes(notes) == ["history-no-commits", "history-uncommitted"]


def test_rev_names_an_older_commit_or_nothing(tmp_path: Path) -> None:
    a, b = f"{OPP}/acme.md", f"{OPP}/beta.md"
    c1, c2, c3 = make_git_repo(tmp_path, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Won")), Commit("2026-01-06T10:00:00+00:00"),
        Write(b, deal("Lead")), Commit("2026-01-07T10:00:00+00:00"),
    ])  # fmt: skip
    histories, checkout, notes = read(tmp_path, rev=c1[:10])
    assert histories == {
        a: FileHistory(a, d("2026-01-05"), ANN, d("2026-01-05"), (
            Transition(d("2026-01-05"), None, "Lead", ANN, c1),
        ))
    }  # fmt: skip
    assert (checkout.head, notes) == (c1, [])
    assert read(tmp_path, rev="HEAD~1")[1].head == c2
    for bad in ("no-such-branch", "--all", c3 + "x"):
        histories, checkout, notes = read(tmp_path, rev=bad)
        assert (histories, checkout.head, codes(notes)) == ({}, None, ["history-bad-rev"])


def test_a_broken_repository_is_a_note_not_an_exception(tmp_path: Path) -> None:
    c1, _ = make_git_repo(tmp_path, [
        Write(f"{OPP}/acme.md", deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Write(f"{OPP}/acme.md", deal("Won")), Commit("2026-01-06T10:00:00+00:00"),
    ])  # fmt: skip
    (tmp_path / ".git" / "objects" / c1[:2] / c1[2:]).unlink()
    histories, checkout, notes = read(tmp_path)
    assert histories == {} and checkout.is_git
    assert codes(notes) == ["history-git-error"]


# --- The cache -------------------------------------------------------------------------------


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every git command the history stage starts (its one process-starting function)."""
    calls: list[list[str]] = []
    real = history_git.spawn

    def spawn(cwd: Path, args: Sequence[str], **options: Any) -> Any:
        calls.append(list(args))
        return real(cwd, args, **options)

    monkeypatch.setattr(history_git, "spawn", spawn)
    return calls


def _logs(calls: list[list[str]]) -> list[str]:
    """The revision argument of each ``git log`` call."""
    return [args[args.index("--") - 1] for args in calls if args[0] == "log"]


BRANCHY: list[Step] = [
    Write(f"{OPP}/acme.md", deal("Lead")),
    Write(f"{OPP}/beta.md", deal("Lead")),
    Write(f"{OPP}/gamma.md", deal("Lead")),
    Write(f"{OPP}/delta.md", deal("Lead")),
    Commit("2026-01-05T10:00:00+00:00"),
    Git(("checkout", "-q", "-b", "feature")),
    Write(f"{OPP}/acme.md", deal('"Proposal sent"')),
    Write(f"{OPP}/gamma.md", deal('"Proposal sent"')),
    Write(f"{OPP}/delta.md", deal("Negotiation")),
    Commit("2026-01-06T10:00:00+00:00", BOB),
    Git(("checkout", "-q", "main")),
    Write(f"{OPP}/acme.md", deal("Lead", amount=2000)),
    Write(f"{OPP}/beta.md", deal("Qualified")),
    Move(f"{OPP}/beta.md", f"{OPP}/2026/beta.md"),
    Write(f"{OPP}/gamma.md", deal("Qualified")),
    Move(f"{OPP}/delta.md", f"{OPP}/2026/delta.md"),
    Write(f"{OPP}/2026/delta.md", deal("Qualified")),
    Commit("2026-01-07T10:00:00+00:00", CEM),
]
#: Merges the feature into main; the lists of gamma and delta (renamed on main) conflict and
#: are resolved to main's.
MERGE = Git(("merge", "-q", "--no-commit", "-X", "ours", "feature"))


def test_the_cache_skips_git_log_when_nothing_was_committed(
    tmp_path: Path, git_calls: list[list[str]]
) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    make_git_repo(repo, BRANCHY)
    first = read(repo, cache_dir=cache)
    assert len(_logs(git_calls)) == 1
    assert [p.name for p in cache.iterdir()] == ["history-v1.json"]
    git_calls.clear()
    assert read(repo, cache_dir=cache) == first
    assert [args[0] for args in git_calls] == ["rev-parse", "rev-parse", "status"]
    assert read(repo) == first
    # One more commit: only it is read, and the result is what a read from scratch gives.
    (new,) = make_git_repo(repo, [
        Write(f"{OPP}/acme.md", deal("Won")), Commit("2026-01-08T10:00:00+00:00", BOB),
    ])  # fmt: skip
    git_calls.clear()
    second = read(repo, cache_dir=cache)
    assert _logs(git_calls) == [f"{first[1].head}..{new}"]
    assert second == read(repo) != first
    assert second[0][f"{OPP}/acme.md"].transitions[-1] == Transition(
        d("2026-01-08"), "Lead", "Won", BOB, new
    )


def test_new_commits_are_read_incrementally_and_equal_a_full_read(
    tmp_path: Path, git_calls: list[list[str]]
) -> None:
    """The feature branch forked before the cached head and was committed before it: an
    incremental read sees it only when merged, and must still order it as a full read does."""
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    shas = make_git_repo(repo, BRANCHY)
    read(repo, cache_dir=cache)
    _, last = make_git_repo(repo, [
        MERGE, Commit("2026-01-08T10:00:00+00:00"),
        Write(f"{OPP}/2026/beta.md", deal("Won")), Commit("2026-01-09T10:00:00+00:00", BOB),
    ])  # fmt: skip
    git_calls.clear()
    incremental = read(repo, cache_dir=cache)
    assert _logs(git_calls) == [f"{shas[-1]}..{last}"]
    assert incremental == read(repo)
    acme = incremental[0][f"{OPP}/acme.md"]
    assert acme.transitions[1:] == (
        Transition(d("2026-01-06"), "Lead", "Proposal sent", BOB, shas[1]),
    )
    assert acme.last_changed == d("2026-01-08")  # the merge combined both sides
    # Changed on both sides: ordered by commit date, as a full read orders them.
    assert (repo / OPP / "gamma.md").read_text() == deal("Qualified")
    assert incremental[0][f"{OPP}/gamma.md"].transitions[1:] == (
        Transition(d("2026-01-06"), "Lead", "Proposal sent", BOB, shas[1]),
        Transition(d("2026-01-07"), "Lead", "Qualified", CEM, shas[2]),
    )
    assert incremental[0][f"{OPP}/2026/delta.md"].transitions[1:] == (
        Transition(d("2026-01-06"), "Lead", "Negotiation", BOB, shas[1]),
        Transition(d("2026-01-07"), "Lead", "Qualified", CEM, shas[2]),
    )
    assert incremental[0][f"{OPP}/2026/beta.md"].transitions[1:] == (
        Transition(d("2026-01-07"), "Lead", "Qualified", CEM, shas[2]),
        Transition(d("2026-01-09"), "Qualified", "Won", BOB, last),
    )


def test_a_cache_made_on_a_branch_continues_on_the_merge(
    tmp_path: Path, git_calls: list[list[str]]
) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    shas = make_git_repo(repo, [*BRANCHY, Git(("checkout", "-q", "feature"))])
    read(repo, cache_dir=cache)  # CI built the feature branch first
    (merge,) = make_git_repo(repo, [
        Git(("checkout", "-q", "main")), MERGE, Commit("2026-01-08T10:00:00+00:00"),
    ])  # fmt: skip
    git_calls.clear()
    assert read(repo, cache_dir=cache) == read(repo)
    assert _logs(git_calls) == [f"{shas[1]}..{merge}", merge]


@pytest.mark.parametrize("rewrite", ["reset", "amend"])
def test_a_rewritten_history_is_read_again(
    tmp_path: Path, git_calls: list[list[str]], rewrite: str
) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    a = f"{OPP}/acme.md"
    c1, c2 = make_git_repo(repo, [
        Write(a, deal("Lead")), Commit("2026-01-05T10:00:00+00:00"),
        Write(a, deal("Won")), Commit("2026-01-06T10:00:00+00:00"),
    ])  # fmt: skip
    read(repo, cache_dir=cache)
    (repo / a).write_text(deal("Lost"))
    git(repo, "add", "-A")
    if rewrite == "reset":
        git(repo, "reset", "-q", "--soft", c1)
        git(repo, "commit", "-q", "-m", "again", date="2026-01-07T10:00:00Z")
    else:
        git(repo, "commit", "-q", "--amend", "-m", "amended", date="2026-01-07T10:00:00Z")
    amended = git(repo, "rev-parse", "HEAD")
    git_calls.clear()
    histories = read(repo, cache_dir=cache)
    assert _logs(git_calls) == [amended]
    assert histories == read(repo)
    assert [t.to_list for t in histories[0][a].transitions] == ["Lead", "Lost"]
    assert c2 not in {t.commit for t in histories[0][a].transitions}


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not json at all",
        b"crmgen-history 1 0000\n{}",
        "truncate",
        "flip",
        "wrong-version",
    ],
)
def test_a_corrupt_cache_file_is_ignored(tmp_path: Path, damage: bytes | str) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    make_git_repo(repo, BRANCHY)
    expected = read(repo, cache_dir=cache)
    file = cache / history.CACHE_NAME
    data = file.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data = data.replace(b"Lead", b"Lost")
    elif damage == "wrong-version":
        data = data.replace(b"crmgen-history 1 ", b"crmgen-history 0 ", 1)
    elif isinstance(damage, bytes):
        data = damage
    file.write_bytes(data)
    assert read(repo, cache_dir=cache) == expected
    assert file.read_bytes().startswith(b"crmgen-history 1 ")  # written again, whole


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_git_repo(repo, BRANCHY)
    (tmp_path / "a file").write_text("not a folder")
    assert read(repo, cache_dir=tmp_path / "a file") == read(repo)
    assert (tmp_path / "a file").read_text() == "not a folder"


def test_the_cache_follows_a_change_of_list_keys(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    make_git_repo(repo, BRANCHY)
    read(repo, cache_dir=cache)
    keys = {"opportunities": "owner"}
    assert read_history(repo, keys, cache_dir=cache) == read_history(repo, keys)


# --- The histories at a commit, kept in the build's store -----------------------------------


def test_the_histories_at_a_commit_are_kept_in_the_store(tmp_path: Path) -> None:
    from crmgen.cache import Cache
    from crmgen.model.history import Transition as Move_

    repo = tmp_path / "repo"
    path = "data/opportunities/acme.md"
    make_git_repo(repo, [Write(path, deal("Lead")), Commit("2026-01-05T09:00:00+00:00")])
    store, folder = Cache(tmp_path / "c.sqlite"), tmp_path / "log-cache"
    first = read(repo, cache_dir=folder, store=store, version="v1")
    assert first[0][path].transitions[-1].to_list == "Lead"
    assert read(repo, cache_dir=folder) == first  # the same as without the store
    # a planted entry under the key shows: the histories at this commit come from the store
    planted = {path: dataclasses.replace(first[0][path], transitions=(Move_(d("2026-01-01"),
               None, "Planted", "Nobody", "0" * 40),))}  # fmt: skip
    key = history.digest(("v1", first[1].head, "", sorted(KEYS.items())))
    store.put(history.HISTORIES, key, history.pack(planted))
    assert read(repo, cache_dir=folder, store=store, version="v1")[0] == planted
    # another crmgen, another list key or another commit: read from git again
    assert read(repo, cache_dir=folder, store=store, version="v2")[0] == first[0]
    other = read_history(repo, {"opportunities": "stage"}, cache_dir=folder, store=store,
                         version="v1")  # fmt: skip
    assert other[0] != planted
    make_git_repo(repo, [Write(path, deal("Won")), Commit("2026-01-09T09:00:00+00:00")])
    later = read(repo, cache_dir=folder, store=store, version="v1")
    assert [t.to_list for t in later[0][path].transitions] == ["Lead", "Won"]
    # without a log cache (--no-cache) or a version, the store is not used
    assert read(repo, store=store, version="v1")[0] == later[0]
    store.put(history.HISTORIES, key, history.pack(planted))
    assert read(repo, cache_dir=folder, store=store)[0] == later[0]


def test_a_shallow_clone_keeps_no_histories_in_the_store(tmp_path: Path) -> None:
    from crmgen.cache import Cache

    origin = tmp_path / "origin"
    path = "data/opportunities/acme.md"
    steps = [Write(path, deal("Lead")), Commit("2026-01-05T09:00:00+00:00")]
    make_git_repo(origin, [*steps, Write(path, deal("Won")), Commit("2026-01-09T09:00:00+00:00")])
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    store = Cache(tmp_path / "c.sqlite")
    found = read(clone, cache_dir=tmp_path / "log-cache", store=store, version="v1")
    assert "history-shallow" in codes(found[2])
    assert found[0][path].transitions  # read from git
    assert not store._pending  # and nothing put in the store
