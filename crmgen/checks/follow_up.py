"""Follow-up reminders: an open record with no activity for N days (per-list overrides).

Activity is the last commit that touched the file, or the activity date field (such as
``last_contact``), whichever is later.
"""

from __future__ import annotations

import datetime as dt

from crmgen.model import Dataset
from crmgen.model.automations import Automations
from crmgen.model.findings import Finding


def check(dataset: Dataset, automations: Automations) -> list[Finding]:
    found = []
    for spec in automations.follow_up:
        project = dataset.projects[spec.project]
        schema = project.schema
        list_field = schema.list_field or ""
        kinds = {s.name: s.kind for s in schema.lists}
        owner_field = "owner" if schema.field("owner") else None
        for record in project.records.values():
            stage = record.get(list_field)
            if kinds.get(stage) != "open":
                continue
            dates = [record.history.last_changed.date]
            if spec.activity and isinstance(record.get(spec.activity), dt.date):
                dates.append(record.get(spec.activity))
            known = [d for d in dates if d is not None]
            if not known:
                continue
            last = max(known)
            limit = spec.lists.get(stage, spec.days)
            quiet = (dataset.today - last).days
            if quiet <= limit:
                continue
            reads = {(spec.project, list_field)}
            if spec.activity:
                reads.add((spec.project, spec.activity))
            found.append(
                Finding(
                    rule="follow-up",
                    severity="warning",
                    project=spec.project,
                    slug=record.slug,
                    path=record.path,
                    line=record.pos(list_field).line,
                    message=(
                        f"no activity for {quiet} days (last on {last.isoformat()}; {stage} "
                        f"expects contact every {limit} days): get in touch and record it"
                        + (f" in {spec.activity}" if spec.activity else "")
                    ),
                    owner=str(record.get(owner_field) or "") if owner_field else "",
                    badge=f"Quiet {quiet} d",
                    reads=frozenset(reads),
                )
            )
    return found
