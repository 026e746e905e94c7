"""What a group or filter value is called and which colour it has, the same on every chart.

A field's values are what the cube stores (``metrics.record_groups``: a reference's slug, a
checkbox's "true"); people read labels: the referenced record's title, Yes/No, "(not set)".
Colours are assigned once per site from the dataset, never from one chart's data, so a
category keeps its colour in every chart and under every filter: lists by meaning (won green,
lost red, set aside grey, open stages a sequential scale in pipeline order), any other value
by its place in the field's options (or in the sorted values the dataset has).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crmgen.model import Dataset, FieldSpec

from .metrics import NOT_SET, OTHERS, record_groups
from .resolve import project_order

NOT_SET_LABEL = "(not set)"
NO_TAG_LABEL = "(no tag)"
OTHERS_LABEL = "Others"
#: A categorical palette (Tableau 10 and companions) without red or green: on a pipeline they
#: mean lost and won.
CATEGORY = (
    "#4c78a8",
    "#f58518",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#79706e",
    "#9ecae9",
    "#ffbf79",
    "#d6a5c9",
    "#439894",
    "#d8b5a5",
    "#bcbddc",
    "#f1ce63",
    "#86bcb6",
)
WON = "#2e8540"
LOST = "#d0343a"
SET_ASIDE = "#8c8c8c"
NOT_SET_COLOUR = "#c7c7c7"
OTHERS_COLOUR = "#a5a5a5"
#: Open stages, light to dark (ColorBrewer Blues, from its 3rd step so none is too pale).
OPEN = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def end_field(dataset: Dataset, project: str, dotted: str, depth: int = 0) -> FieldSpec | None:
    """The stored field a field name (or a lookup, through its path) ends on."""
    first, _, rest = dotted.partition(".")
    found = dataset.projects.get(project)
    spec = found.schema.field(first) if found else None
    if spec is None or depth > 8:
        return None
    if spec.type == "lookup" and spec.path:
        end = end_field(dataset, project, spec.path, depth + 1)
        if not rest:
            return end
        target = end.target if end is not None and end.type == "reference" else None
        return end_field(dataset, target, rest, depth + 1) if target else None
    if not rest:
        return spec
    if spec.type in ("reference", "referenced-by") and spec.target:
        return end_field(dataset, spec.target, rest, depth + 1)
    return None


def options(dataset: Dataset, projects: Iterable[str], name: str) -> list[str]:
    """The declared values of a field in natural order (select options, checkbox true/false)."""
    found: list[str] = []
    for project in projects:
        spec = end_field(dataset, project, name)
        if spec is None:
            continue
        if spec.type == "checkbox":
            found += ["true", "false"]
        found += [str(option) for option in spec.options]
    return list(dict.fromkeys(found))


def value_labels(
    dataset: Dataset, projects: Sequence[str], name: str, values: Iterable[str]
) -> list[str]:
    """Labels of a field's values: a referenced record's title, Yes/No, "(not set)"."""
    targets = [
        spec.target
        for p in projects
        if (spec := end_field(dataset, p, name)) is not None
        and spec.type == "reference"
        and spec.target
    ]
    return [_label(dataset, targets, value) for value in values]


def _label(dataset: Dataset, targets: Sequence[str], value: str) -> str:
    if value == NOT_SET:
        return NOT_SET_LABEL
    if value == OTHERS:
        return OTHERS_LABEL
    for target in targets:
        project = dataset.projects.get(target)
        record = project.records.get(value) if project else None
        if project is not None and record is not None:
            title_field = project.schema.title_field
            title = record.get(title_field) if project.schema.field(title_field) else None
            return title if isinstance(title, str) and title else value
    return {"true": "Yes", "false": "No"}.get(value, value)


def list_colours(dataset: Dataset) -> dict[str, str]:
    """list name -> colour. In a pipeline (a project with won or lost lists): won green, lost
    red, n-a grey, open lists blues from light to dark in pipeline order; elsewhere the
    categorical palette in list order. A list name keeps its first project's colour."""
    colours: dict[str, str] = {}
    for name in _project_order(dataset):
        lists = dataset.projects[name].schema.lists
        pipeline = any(spec.kind in ("won", "lost") for spec in lists)
        opened = [spec.name for spec in lists if spec.kind == "open"]
        for index, spec in enumerate(lists):
            if not pipeline:
                colour = CATEGORY[index % len(CATEGORY)]
            elif spec.kind == "open":
                colour = _sequential(opened.index(spec.name), len(opened))
            else:
                colour = {"won": WON, "lost": LOST}.get(spec.kind, SET_ASIDE)
            colours.setdefault(spec.name, colour)
    return colours


def _sequential(index: int, count: int) -> str:
    if count <= 1:
        return OPEN[2]
    step = (len(OPEN) - 1) * index / (count - 1)
    return OPEN[round(step)]


def field_colours(dataset: Dataset, name: str) -> dict[str, str]:
    """value -> colour for a field (or "tag", "project"), the same on every dashboard: by the
    place of the value in the field's options, then in the sorted values records have."""
    projects = _project_order(dataset)
    if name == "project":
        order = projects
    elif name == "tag":
        declared = [t for p in projects for t in dataset.projects[p].schema.tags]
        order = [*dict.fromkeys(declared), *sorted(_tags(dataset) - set(declared))]
    else:
        projects = [p for p in projects if dataset.projects[p].schema.field(name)]
        declared = options(dataset, projects, name)
        seen = {
            value
            for p in projects
            for record in dataset.projects[p].records.values()
            for value in record_groups(record, name)
        }
        order = [*declared, *sorted(seen - set(declared))]
    colours = {value: CATEGORY[index % len(CATEGORY)] for index, value in enumerate(order)}
    colours[NOT_SET] = NOT_SET_COLOUR
    return colours


def _project_order(dataset: Dataset) -> list[str]:
    """Projects with won or lost lists first (their values are the ones charts show most),
    then the rest, each part in navigation order."""
    order = project_order(dataset)
    lists = {p: dataset.projects[p].schema.lists for p in order}
    sales = [p for p in order if any(s.kind in ("won", "lost") for s in lists[p])]
    return sales + [p for p in order if p not in sales]


def _tags(dataset: Dataset) -> set[str]:
    found: set[str] = set()
    for project in dataset.projects.values():
        field = project.schema.tags_field
        if field:
            for record in project.records.values():
                found.update(str(t) for t in record.get(field) or ())
    return found
