"""Dashboards from history: the funnel of stages reached and the days spent in each stage,
on a real git history with fixed dates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import OPPS_SCHEMA, MakeRepo, git_commit_all, record

from crmgen.build import load_dataset
from crmgen.dashboards.cube import reached_lists
from crmgen.dashboards.stages import quantile, stage_times

DEALS = {
    # slug: [(date, list), ...] committed in this order
    "a": [("2026-01-01", "Lead"), ("2026-01-11", "Proposal sent"), ("2026-02-10", "Closed won")],
    "b": [("2026-01-01", "Lead"), ("2026-01-05", "Proposal sent"), ("2026-01-25", "Closed lost")],
    "c": [("2026-01-01", "Lead"), ("2026-01-21", "Closed lost")],
    "d": [("2026-01-01", "Proposal sent")],  # added straight into a later stage
}


def _repo(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": OPPS_SCHEMA,
            "data/clients/acme.md": record("title: Acme"),
        }
    )
    steps = sorted({date for moves in DEALS.values() for date, _ in moves})
    for date in steps:
        for slug, moves in DEALS.items():
            for when, stage in moves:
                if when == date:
                    (root / "data/opportunities").mkdir(exist_ok=True)
                    (root / f"data/opportunities/{slug}.md").write_text(
                        record(f"title: {slug.upper()}\nlist: {stage}\nclient: acme\namount: 100")
                    )
        git_commit_all(root, f"On {date}", f"{date}T12:00:00+00:00")
    return root


def test_the_funnel_counts_every_stage_a_deal_went_through(make_repo: MakeRepo) -> None:
    dataset = load_dataset(_repo(make_repo))
    assert dataset.problems == ()
    schema = dataset.projects["opportunities"].schema
    reached = {
        slug: reached_lists(schema, record)
        for slug, record in dataset.projects["opportunities"].records.items()
    }
    assert reached == {
        "a": ("Lead", "Proposal sent", "Closed won"),
        "b": ("Lead", "Proposal sent"),  # lost after a proposal
        "c": ("Lead",),
        "d": ("Lead", "Proposal sent"),  # a later stage implies the earlier open ones
    }


def test_days_in_each_stage_are_the_quartiles_of_finished_stays(make_repo: MakeRepo) -> None:
    dataset = load_dataset(_repo(make_repo))
    found = {s.list: s for s in stage_times(dataset, ["opportunities"])}
    # Lead: a 10, b 4, c 20 days; Proposal sent: a 30, b 20 days (d is still there)
    lead, sent = found["Lead"], found["Proposal sent"]
    assert (lead.count, lead.low, lead.median, lead.high) == (3, 7, 10, 15)
    assert (sent.count, sent.low, sent.median, sent.high) == (
        2,
        Decimal("22.5"),
        25,
        Decimal("27.5"),
    )
    assert list(found) == ["Lead", "Proposal sent"]  # only open lists, in pipeline order
    assert quantile([1, 2, 3, 4], Decimal("0.5")) == Decimal("2.5")
