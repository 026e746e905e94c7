"""Deal-aging alerts: a record in a list longer than that list's ``max_days``."""

from __future__ import annotations

from crmgen.model import Dataset
from crmgen.model.automations import Automations
from crmgen.model.findings import Finding


def check(dataset: Dataset, automations: Automations) -> list[Finding]:
    found = []
    for spec in automations.aging:
        project = dataset.projects[spec.project]
        schema = project.schema
        list_field = schema.list_field or ""
        owner_field = "owner" if schema.field("owner") else None
        for record in project.records.values():
            stage = record.get(list_field)
            limit = spec.lists.get(stage) if isinstance(stage, str) else None
            days = record.history.days_in_stage(dataset.today)
            if limit is None or days is None or days <= limit:
                continue
            since = record.history.stage_since.date
            assert since is not None
            found.append(
                Finding(
                    rule="aging",
                    severity="warning",
                    project=spec.project,
                    slug=record.slug,
                    path=record.path,
                    line=record.pos(list_field).line,
                    message=(
                        f"in {stage} for {days} days (since {since.isoformat()}), longer than "
                        f"the {limit} this list allows: move it on, or close it"
                    ),
                    owner=str(record.get(owner_field) or "") if owner_field else "",
                    badge=f"{days} d in {stage}",
                    reads=frozenset({(spec.project, list_field)}),
                )
            )
    return found
