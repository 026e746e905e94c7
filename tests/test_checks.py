"""Automations: declarations checked at their line, and what each automation finds.

Datasets come from real repos (``make_repo``); the history a check needs is set on records by
hand here (the history stage has its own tests on real git repositories), with ``today``
pinned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen import checks
from crmgen.build import load_dataset
from crmgen.checks.assignment import proposals
from crmgen.model import Dataset, frozen_map
from crmgen.model.history import FROM_GIT, Dated, RecordHistory

TODAY = dt.date(2026, 11, 27)

SCHEMA_EXTRA = (
    "  owner: {type: string, x-crmgen: {type: text}}\n"
    "  region: {type: string, enum: [DACH, Nordics, UK], x-crmgen: {type: select}}\n"
    "  last_contact: {type: string, format: date, x-crmgen: {type: date}}\n"
)


def _repo(make_repo: MakeRepo, automations: str, records: dict[str, str]) -> Path:
    from conftest import OPPS_SCHEMA

    files: dict[str, str | None] = {
        "schema/opportunities.schema.yaml": OPPS_SCHEMA.replace(
            "{name: Lead, kind: open, probability: 0.1}",
            "{name: Lead, kind: open, probability: 0.1, max_days: 10}",
        )
        + SCHEMA_EXTRA,
        "crmgen.yml": "title: T\nprojects: [clients, opportunities]\nautomations:\n" + automations,
        "data/clients/acme.md": record("title: Acme"),
    }
    files.update({f"data/opportunities/{slug}.md": text for slug, text in records.items()})
    return make_repo(files)


def _with_history(dataset: Dataset, **histories: RecordHistory) -> Dataset:
    """The dataset with the given records' histories set, and the automations run again."""
    opps = dataset.projects["opportunities"]
    records = {
        slug: dataclasses.replace(r, history=histories.get(slug, r.history))
        for slug, r in opps.records.items()
    }
    projects = dict(dataset.projects)
    projects["opportunities"] = dataclasses.replace(opps, records=frozen_map(records))
    again, _ = checks.run(dataclasses.replace(dataset, projects=frozen_map(projects)))
    return again


def _git(created: str = "", changed: str = "", since: str = "") -> RecordHistory:
    def dated(text: str) -> Dated:
        return Dated(dt.date.fromisoformat(text), FROM_GIT) if text else Dated()

    return RecordHistory(
        created=dated(created), last_changed=dated(changed), stage_since=dated(since)
    )


ASSIGNMENT = """\
  assignment:
    project: opportunities
    lists: [Lead]
    rules:
      - {when: {region: DACH}, owner: Anna}
      - {when: {amount: {min: 50000}}, owner: Tom}
    team: [Anna, Tom, Priya]
"""


def test_assignment_by_rules_then_least_loaded_round_robin(make_repo: MakeRepo) -> None:
    root = _repo(
        make_repo,
        ASSIGNMENT,
        {
            "a-dach": record("title: A\nlist: Lead\nregion: DACH\namount: 90000"),
            "b-big": record("title: B\nlist: Lead\nregion: UK\namount: 60000"),
            "c": record("title: C\nlist: Lead"),
            "d": record("title: D\nlist: Lead"),
            "e-owned": record("title: E\nlist: Lead\nowner: Priya"),
            "f-sent": record("title: F\nlist: Proposal sent"),
            "g": record("title: G\nlist: Lead\nowner: ''"),
        },
    )
    dataset = load_dataset(root, today=TODAY)
    assert dataset.problems == ()
    got = [(p.record.slug, p.owner, p.reason) for p in proposals(dataset, dataset.automations)]
    assert got == [
        ("a-dach", "Anna", "rule 1: region is DACH"),  # the first matching rule wins
        ("b-big", "Tom", "rule 2: amount from 50000"),
        # round-robin: fewest open records first (Anna 1, Tom 1, Priya 1 after e), team order
        ("c", "Anna", "round-robin: 1 open record(s) before this one"),
        ("d", "Tom", "round-robin: 1 open record(s) before this one"),
        ("g", "Priya", "round-robin: 1 open record(s) before this one"),
    ]
    finding = next(f for f in dataset.findings if f.slug == "c")
    assert (finding.rule, finding.severity, finding.line, finding.badge) == (
        "assignment", "warning", 3, "Unassigned"
    )  # fmt: skip
    assert "`crmgen assign` gives it to Anna" in finding.message
    assert dict(finding.proposal) == {"owner": "Anna"}
    assert ("opportunities", "region") in finding.reads and (
        "opportunities",
        "amount",
    ) in finding.reads


def test_round_robin_takes_older_leads_first(make_repo: MakeRepo) -> None:
    root = _repo(
        make_repo,
        "  assignment: {lists: [Lead], team: [Anna, Tom]}\n",
        {"x": record("title: X\nlist: Lead"), "y": record("title: Y\nlist: Lead")},
    )
    dataset = _with_history(
        load_dataset(root, today=TODAY), x=_git(created="2026-05-02"), y=_git(created="2026-05-01")
    )
    assert [(p.record.slug, p.owner) for p in proposals(dataset, dataset.automations)] == [
        ("y", "Anna"),
        ("x", "Tom"),
    ]


FOLLOW_UP = """\
  follow_up: {project: opportunities, days: 14, lists: {Proposal sent: 7}, activity: last_contact}
"""


def test_follow_up_counts_the_later_of_git_and_the_activity_field(make_repo: MakeRepo) -> None:
    root = _repo(
        make_repo,
        FOLLOW_UP,
        {
            "quiet": record("title: Q\nlist: Lead\nowner: Anna"),
            "called": record("title: C\nlist: Lead\nlast_contact: 2026-11-20"),
            "sent": record("title: S\nlist: Proposal sent"),
            "won": record("title: W\nlist: Closed won"),
            "unknown": record("title: U\nlist: Lead"),
        },
    )
    dataset = _with_history(
        load_dataset(root, today=TODAY),
        quiet=_git(changed="2026-11-12"),  # 15 days > 14
        called=_git(changed="2026-10-01"),  # but contacted 7 days ago
        sent=_git(changed="2026-11-19"),  # 8 days > 7 for this list
        won=_git(changed="2026-01-01"),  # closed: never reminded
    )
    found = {f.slug: f for f in dataset.findings if f.rule == "follow-up"}
    assert sorted(found) == ["quiet", "sent"]
    assert found["quiet"].message == (
        "no activity for 15 days (last on 2026-11-12; Lead expects contact every 14 days): get "
        "in touch and record it in last_contact"
    )
    assert (found["quiet"].owner, found["quiet"].badge) == ("Anna", "Quiet 15 d")
    assert "every 7 days" in found["sent"].message


def test_aging_uses_max_days_and_overrides(make_repo: MakeRepo) -> None:
    root = _repo(
        make_repo,
        "  aging: {project: opportunities, lists: {Proposal sent: 30}}\n",
        {
            "old-lead": record("title: O\nlist: Lead"),
            "new-lead": record("title: N\nlist: Lead"),
            "old-sent": record("title: S\nlist: Proposal sent"),
            "won": record("title: W\nlist: Closed won"),
        },
    )
    dataset = _with_history(
        load_dataset(root, today=TODAY),
        **{
            "old-lead": _git(since="2026-11-10"),  # 17 days > 10 (the list's max_days)
            "new-lead": _git(since="2026-11-20"),
            "old-sent": _git(since="2026-10-01"),  # 57 days > 30 (crmgen.yml)
            "won": _git(since="2025-01-01"),  # no limit for Closed won
        },
    )
    found = {f.slug: f for f in dataset.findings}
    assert sorted(found) == ["old-lead", "old-sent"]
    assert found["old-lead"].message == (
        "in Lead for 17 days (since 2026-11-10), longer than the 10 this list allows: move it "
        "on, or close it"
    )
    assert found["old-sent"].badge == "57 d in Proposal sent"


BAD = """\
  assigment: {lists: [Lead]}
  assignment:
    project: oportunities
  follow_up: {days: 0, lists: {Propsal sent: 3}, activity: title}
  aging: {lists: {Lead: -1}}
  notifications: {notify: {Closed wn: ["@anna"]}}
"""


def test_declaration_errors_are_at_their_line_and_column(make_repo: MakeRepo) -> None:
    root = _repo(make_repo, BAD, {"a": record("title: A\nlist: Lead")})
    found = [(d.line, d.col, d.message) for d in load_dataset(root, today=TODAY).errors]
    assert found == [
        (4, 3, "automations/assigment: unknown automation 'assigment'; did you mean "
         "'assignment'?"),
        (6, 14, "automations/assignment/project: unknown project 'oportunities'; did you mean "
         "'opportunities'?"),
        (7, 21, "automations/follow_up/days: write a whole number of days of at least 1, not 0"),
        (7, 32, "automations/follow_up/lists/Propsal sent: opportunities has no list "
         "'Propsal sent'; did you mean 'Proposal sent'?"),
        (7, 60, "automations/follow_up/activity: 'title' is a text field; use a date field"),
        (8, 25, "automations/aging/lists/Lead: write a whole number of days of at least 1, "
         "not -1"),
        (9, 28, "automations/notifications/notify/Closed wn: opportunities has no list "
         "'Closed wn'; did you mean 'Closed won'?"),
    ]  # fmt: skip


def test_a_failing_automation_is_a_diagnostic_and_the_others_run(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(
        make_repo,
        "  assignment: {lists: [Lead], team: [Anna]}\n  aging: {project: opportunities}\n",
        {"a": record("title: A\nlist: Lead")},
    )

    def broken(dataset: Dataset, automations: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "REGISTRY", (("aging", broken), *checks.REGISTRY[:1]))
    dataset = load_dataset(root, today=TODAY)
    assert [(d.code, d.message) for d in dataset.errors] == [
        ("automation-failed", "the aging automation failed (RuntimeError: boom); the others ran. "
         "Please report this as a bug."),
    ]  # fmt: skip
    assert [f.rule for f in dataset.findings] == ["assignment"]


def test_notifications_name_who_hears_of_each_list(make_repo: MakeRepo) -> None:
    root = _repo(
        make_repo,
        "  notifications:\n    notify: {Closed won: ['@anna', '@finance'], Lead: [Tom]}\n",
        {"a": record("title: A\nlist: Lead")},
    )
    automations = load_dataset(root, today=TODAY).automations
    assert automations.notified("opportunities", "Closed won") == ("@anna", "@finance")
    assert automations.notified("opportunities", "Proposal sent") == ()
    assert automations.notified("clients", "Lead") == ()
