"""Stage: cut a dataset for one audience. Restricted values are removed here, before any view.

A field restricted to audiences the build is not for is hidden, and so, transitively, is every
computed field that reads one. What a computed field reads is ``Dataset.reads``, which the
compute stage filled while resolving the very same names, so what is hidden and what is computed
can never disagree: a lookup whose path crosses a hidden field, a formula or rollup naming one
(in a value, a condition or a count), a referenced-by fed by a hidden reference, a rollup over
back-links through one. The result holds no hidden value anywhere: not in schemas, records,
back-links, dashboards or automation findings, so pages, charts, exports and indexes built
from it cannot leak one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from crmgen.messages import did_you_mean
from crmgen.model import (
    Dataset,
    Diagnostic,
    Node,
    Project,
    ProjectSchema,
    Record,
    error,
    evolve,
    freeze,
    frozen_map,
)
from crmgen.model.dashboards import DashboardSpec
from crmgen.model.history import Dated


def hidden_fields(dataset: Dataset, audience: str | None) -> frozenset[Node]:
    """The (project, field) pairs ``audience`` must not see (None: the most restricted
    audience, which sees no restricted field).

    Every field restricted to audiences without ``audience``, and every computed field that
    reads a hidden one, directly or through others.
    """
    hidden = {
        (name, spec.name)
        for name, project in dataset.projects.items()
        for spec in project.schema.fields
        if spec.audiences and audience not in spec.audiences
    }
    readers: dict[Node, set[Node]] = {}
    for node, reads in dataset.reads.items():
        for read in reads:
            readers.setdefault(read, set()).add(node)
    queue = list(hidden)
    while queue:
        for reader in readers.get(queue.pop(), ()):
            if reader not in hidden:
                hidden.add(reader)
                queue.append(reader)
    return frozenset(hidden)


def check_audience(dataset: Dataset, audience: str | None) -> list[Diagnostic]:
    """A usage error when ``audience`` is not declared in ``crmgen.yml``."""
    if audience is None or dataset.config.audience(audience) is not None:
        return []
    declared = [a.name for a in dataset.config.audiences]
    hint = did_you_mean(audience, declared) or (
        f"; declared: {', '.join(declared)}" if declared else "; crmgen.yml declares none"
    )
    return [
        error(
            "usage-audience",
            f"--audience '{audience}' is not declared in crmgen.yml under audiences{hint}",
        )
    ]


def redact(dataset: Dataset, audience: str | None) -> tuple[Dataset, list[Diagnostic]]:
    """The dataset as ``audience`` may see it (None: the one ``publish.audience`` names in
    ``crmgen.yml``, else the most restricted audience).

    Returns:
        A new dataset without any hidden field, value, back-link or chart, with ``audience``
        set ("" for the most restricted one); and a usage error for an undeclared audience
        (then the dataset is returned unchanged).
    """
    if audience is None:
        audience = dataset.config.publish_audience
    problems = check_audience(dataset, audience)
    if problems:
        return dataset, problems
    hidden = hidden_fields(dataset, audience)
    projects = {
        name: _project(project, {f for p, f in hidden if p == name}, hidden)
        for name, project in dataset.projects.items()
    }
    cut = dataclasses.replace(
        dataset,
        projects=frozen_map(projects),
        reads=frozen_map({n: r for n, r in dataset.reads.items() if n not in hidden}),
        dashboards=_dashboards(dataset.dashboards, hidden),
        findings=tuple(f for f in dataset.findings if not f.reads & hidden),
        audience=audience or "",
    )
    return cut, []


def _project(project: Project, gone: set[str], hidden: frozenset[Node]) -> Project:
    schema = _schema(project.schema, gone)
    list_gone = project.schema.list_field in gone
    records = {s: _record(r, gone, hidden, list_gone) for s, r in project.records.items()}
    return Project(schema, frozen_map(records))


def _schema(schema: ProjectSchema, gone: set[str]) -> ProjectSchema:
    if not gone:
        return schema
    json_schema: dict[str, Any] = dict(schema.json_schema)
    properties = json_schema.get("properties")
    if isinstance(properties, Mapping):
        json_schema["properties"] = {k: v for k, v in properties.items() if k not in gone}
    required = json_schema.get("required")
    if isinstance(required, Iterable) and not isinstance(required, str):
        json_schema["required"] = [k for k in required if k not in gone]
    return dataclasses.replace(
        schema,
        fields=tuple(f for f in schema.fields if f.name not in gone),
        json_schema=freeze(json_schema),
    )


def _record(record: Record, gone: set[str], hidden: frozenset[Node], list_gone: bool) -> Record:
    backlinks = {
        project: frozen_map({f: s for f, s in fields.items() if (project, f) not in hidden})
        for project, fields in record.backlinks.items()
    }
    backlinks = {project: fields for project, fields in backlinks.items() if fields}
    if not gone and backlinks == dict(record.backlinks):
        return record
    history = record.history
    if list_gone:  # the stage timeline and the stage dates tell the hidden list
        history = dataclasses.replace(history, transitions=(), stage_since=Dated(), closed=Dated())
    return evolve(
        record,
        history=history,
        values=frozen_map({k: v for k, v in record.values.items() if k not in gone}),
        computed=frozen_map({k: v for k, v in record.computed.items() if k not in gone}),
        positions=frozen_map(
            {k: v for k, v in record.positions.items() if k.split("/")[0] not in gone}
        ),
        value_positions=frozen_map(
            {k: v for k, v in record.value_positions.items() if k.split("/")[0] not in gone}
        ),
        backlinks=frozen_map(backlinks),
    )


def _dashboards(dashboards: Iterable[Any], hidden: frozenset[Node]) -> tuple[DashboardSpec, ...]:
    """Dashboards without the charts that read a hidden field (and without empty dashboards)."""
    kept: list[DashboardSpec] = []
    for spec in dashboards:
        charts = tuple(
            chart
            for chart in spec.charts
            if not any(
                (project, name) in hidden
                for series in chart.series
                for project in series.projects
                for name in series.reads.get(project, ())
            )
        )
        if charts:
            kept.append(dataclasses.replace(spec, charts=charts))
    return tuple(kept)
