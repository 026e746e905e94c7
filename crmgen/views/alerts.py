"""Automation findings as views: badges on cards and record pages, and the alerts page.

The dataset is already cut for the audience, so every finding in it may be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from crmgen.model import Dataset, Page, PageSet, record_page
from crmgen.model.findings import Finding
from crmgen.views.feeds import FeedLinkView

RULE_LABELS = {"assignment": "Assignment", "follow-up": "Follow-up", "aging": "Aging"}


@dataclass(frozen=True, slots=True)
class FindingView:
    """One finding: the short badge, the whole message, its rule and severity."""

    rule: str
    rule_label: str
    severity: str
    badge: str
    message: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """One finding on the alerts page, with its record."""

    title: str
    href: str
    project: str
    finding: FindingView


@dataclass(frozen=True, slots=True)
class OwnerAlertsView:
    owner: str  # "" for unassigned
    alerts: tuple[AlertView, ...]


@dataclass(frozen=True, slots=True)
class AlertsView:
    count: int
    by_owner: tuple[OwnerAlertsView, ...]
    rules: tuple[tuple[str, int], ...]  # (rule label, how many)
    feeds: tuple[FeedLinkView, ...]  # the stage-change feeds


def finding_view(finding: Finding) -> FindingView:
    label = RULE_LABELS.get(finding.rule, finding.rule)
    return FindingView(finding.rule, label, finding.severity, finding.badge, finding.message)


def findings_by_record(dataset: Dataset) -> dict[tuple[str, str], tuple[FindingView, ...]]:
    """(project, slug) -> the views of its findings."""
    found: dict[tuple[str, str], list[FindingView]] = {}
    for finding in dataset.findings:
        found.setdefault((finding.project, finding.slug), []).append(finding_view(finding))
    return {key: tuple(views) for key, views in found.items()}


def alerts_pages(dataset: Dataset, feeds: tuple[FeedLinkView, ...] = ()) -> PageSet:
    """The alerts page (``alerts/index.html``), grouped by owner, unassigned first."""
    by_owner: dict[str, list[AlertView]] = {}
    for finding in dataset.findings:
        project = dataset.projects[finding.project]
        record = project.records.get(finding.slug)
        title_field = project.schema.title_field
        shown = project.schema.field(title_field) is not None and record is not None
        title = str(record.get(title_field) or finding.slug) if shown and record else finding.slug
        href = quote(record_page(finding.project, finding.slug))
        alert = AlertView(title, href, project.schema.title, finding_view(finding))
        by_owner.setdefault(finding.owner, []).append(alert)
    groups = tuple(
        OwnerAlertsView(owner, tuple(sorted(alerts, key=lambda a: (a.title.casefold(), a.href))))
        for owner, alerts in sorted(by_owner.items(), key=lambda item: (item[0] != "", item[0]))
    )
    counts: dict[str, int] = {}
    for finding in dataset.findings:
        label = RULE_LABELS.get(finding.rule, finding.rule)
        counts[label] = counts.get(label, 0) + 1
    view = AlertsView(len(dataset.findings), groups, tuple(sorted(counts.items())), feeds)
    label = f"Alerts ({len(dataset.findings)})" if dataset.findings else "Alerts"
    return PageSet(
        pages=(Page("alerts/index.html", "alerts.html", {"alerts": view}),),
        nav=((label, "alerts/index.html"),),
    )
