"""A tiny sales repo built by hand, for the dashboard tests.

Six opportunities (a Lead, two Proposals, two Won, one Lost; ``f`` has no dates at all) and
three invoices. The records are written as YAML to keep them readable; numbers with a decimal
point become ``Decimal`` and lists become tuples, as the loader would make them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import yaml

from crmgen import dashboards, yamlstrict
from crmgen.dashboards import vegalite
from crmgen.dashboards.declarations import builtin_dashboards, parse_dashboards
from crmgen.dashboards.resolve import resolve_all
from crmgen.model import (
    AudienceSpec,
    Config,
    Dataset,
    Diagnostic,
    FieldSpec,
    ListSpec,
    Page,
    Project,
    ProjectSchema,
    Record,
    frozen_map,
)
from crmgen.model.dashboards import ChartSpec, DashboardSpec
from crmgen.redaction import redact

D = Decimal
LISTS = (
    ListSpec("Lead", "open", D("0.1")),
    ListSpec("Proposal", "open", D("0.5")),
    ListSpec("Won", "won", D(1)),
    ListSpec("Lost", "lost", D(0)),
)
#: A value only managers may see; it must appear in no output built for anyone else.
SECRET_COST = 7_777_123

OPPORTUNITIES = f"""\
a: {{title: A, list: Lead, tags: [web], amount: 1000, created: 2025-01-10,
    expected_close: 2025-03-01, source: Referral, cost: {SECRET_COST}, discount: 10,
    services: [design], owner: Ann}}
b: {{title: B, list: Proposal, tags: [web, seo], amount: 4000, created: 2025-01-20,
    expected_close: 2025-04-15, source: Website, discount: 20, services: [design, build]}}
c: {{title: C, list: Won, tags: [seo], amount: 3000, created: 2025-02-01, closed: 2025-03-11,
    source: Referral, owner: Ann}}
d: {{title: D, list: Won, tags: [web, seo], amount: 5000.50, created: 2025-02-15,
    closed: 2025-04-05, source: Website, owner: Bo}}
e: {{title: E, list: Lost, amount: 2000, created: 2025-03-01, closed: 2025-03-20,
    loss_reason: Price, source: Referral}}
f: {{title: F, list: Proposal, amount: 6000}}
"""

INVOICES = """\
i1: {title: I1, list: Paid, amount: 1500, issued: 2025-03-15, paid_on: 2025-04-02,
     opportunity: c}
i2: {title: I2, list: Sent, amount: 1500, issued: 2025-04-01, opportunity: c}
i3: {title: I3, list: Void, amount: 999, issued: 2025-04-01, opportunity: d}
"""


@pytest.fixture(autouse=True, scope="module")
def bundle_once() -> Iterator[None]:
    """The real Vega bundle, made before the module's tests (it takes a second; the process
    keeps it, so every later build in the process reuses it).

    Import it into a test module to use it there.
    """
    assert "vegaEmbed" in vegalite.vega_bundle()
    yield


def field(name: str, type_: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, type_, kw.pop("label", name.replace("_", " ").capitalize()), **kw)


def opportunities_schema(**replace: FieldSpec | None) -> ProjectSchema:
    """The opportunities schema; ``replace`` swaps fields by name (None removes the field)."""
    fields = (
        field("title", "text"),
        field("list", "list"),
        field("tags", "tags"),
        field("owner", "text"),
        field("amount", "currency"),
        field("cost", "currency", audiences=("managers",)),
        field("discount", "percent"),
        field("created", "date"),
        field("closed", "date"),
        field("expected_close", "date"),
        field("source", "select", options=("Referral", "Website")),
        field("loss_reason", "select", options=("Price", "Timing")),
        field("services", "multi-select", options=("design", "build")),
    )
    kept = (replace.get(f.name, f) for f in fields)
    fields = tuple(f for f in kept if f is not None)
    schema_path = "schema/opportunities.schema.yaml"
    return ProjectSchema(
        "opportunities", schema_path, "Opportunities", "title", fields, LISTS, ("web", "seo")
    )


def invoices_schema() -> ProjectSchema:
    fields = (
        field("title", "text"),
        field("list", "list"),
        field("amount", "currency"),
        field("issued", "date"),
        field("paid_on", "date"),
        field("opportunity", "reference", target="opportunities"),
    )
    lists = (ListSpec("Sent", "open"), ListSpec("Paid", "n-a"), ListSpec("Void", "n-a"))
    return ProjectSchema(
        "invoices", "schema/invoices.schema.yaml", "Invoices", "title", fields, lists
    )


def _typed(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return tuple(value)
    return value


def records(project: str, text: str) -> dict[str, Record]:
    """Records from YAML ``slug: {field: value, ...}`` lines."""
    found = {}
    for slug, values in yaml.safe_load(text).items():
        typed = {name: _typed(value) for name, value in values.items()}
        path = f"data/{project}/{slug}.md"
        found[slug] = Record(project, slug, path, frozen_map(typed), frozen_map({}))
    return found


def make_dataset(
    *, invoices: bool = True, schema: ProjectSchema | None = None, opportunities: str = ""
) -> Dataset:
    """The hand-made repo (or another opportunities schema or records)."""
    opps = records("opportunities", opportunities or OPPORTUNITIES)
    projects = {"opportunities": Project(schema or opportunities_schema(), frozen_map(opps))}
    if invoices:
        projects["invoices"] = Project(
            invoices_schema(), frozen_map(records("invoices", INVOICES))
        )
    config = Config(
        title="Test",
        currency="EUR",
        locale="en_GB",
        projects=("opportunities", "invoices"),
        audiences=(AudienceSpec("managers"),),
    )
    return Dataset("/repo", config, frozen_map(projects), today=dt.date(2025, 6, 1))


def parse(text: str) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """Parse a ``dashboards:`` YAML snippet with the positions of its keys and values."""
    doc, problems = yamlstrict.parse(textwrap.dedent(text), "crmgen.yml")
    assert doc is not None and not problems
    return parse_dashboards(
        doc.value["dashboards"], doc.keyed_positions(), "crmgen.yml", doc.keyed_value_positions()
    )


def resolved(
    dataset: Dataset, specs: tuple[DashboardSpec, ...] | None = None, audience: str | None = None
) -> tuple[Dataset, list[Diagnostic]]:
    """The dataset with ``specs`` (the built-in dashboard by default) resolved against it, cut
    for ``audience``, as ``build_site`` makes it; and the diagnostics of both steps."""
    specs = specs if specs is not None else builtin_dashboards()
    found, diagnostics = resolve_all(dataset, specs)
    cut, problems = redact(replace(dataset, dashboards=found), audience)
    return cut, diagnostics + problems


def build(
    dataset: Dataset, specs: tuple[DashboardSpec, ...] | None = None, audience: str | None = None
) -> tuple[list[Page], dict[str, bytes], list[Diagnostic]]:
    """The dashboard pages in EUR / en_GB; the built-in dashboard unless ``specs`` are given."""
    cut, diagnostics = resolved(dataset, specs, audience)
    found = dashboards.pages(cut)
    return list(found.pages), dict(found.files), diagnostics


def stats(page: Page) -> dict[str, tuple[str, str]]:
    """Stat card id -> (text, machine value)."""
    return {s.id: (s.text, s.value) for s in page.context["dashboard"].stats}


def table(page: Page, chart_id: str) -> list[tuple[str, str, str]]:
    """A chart's data table: (group, series, formatted value) rows."""
    chart = next(c for c in page.context["dashboard"].charts if c.id == chart_id)
    return [(row.key, row.series, row.text) for row in chart.table]


def synthetic(count: int, seed: int = 7) -> Dataset:
    """``count`` opportunities over four years, nine stages, nine tags, six sources."""
    rng = random.Random(seed)
    lists = (
        *LISTS,
        ListSpec("Qualification", "open", D("0.2")),
        ListSpec("Negotiation", "open", D("0.7")),
        ListSpec("Contract", "open", D("0.9")),
        ListSpec("Writing", "open", D("0.25")),
        ListSpec("Silent", "n-a"),
    )
    tags = ("branding", "web", "seo", "social", "content", "ads", "photo", "video", "print")
    sources = ("Referral", "Website", "Cold call", "Trade show", "LinkedIn", "Partner")
    base = opportunities_schema(source=field("source", "select", options=sources))
    schema = ProjectSchema(base.name, base.path, base.title, "title", base.fields, lists, tags)
    found = {}
    for i in range(count):
        stage = rng.choice(lists)
        created = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(4 * 365))
        values: dict[str, Any] = {
            "title": f"Deal {i}",
            "list": stage.name,
            "created": created,
            "tags": tuple(rng.sample(tags, rng.choice((1, 1, 2, 2, 3)))),
            "amount": rng.randrange(2000, 120000, 50),
            "source": rng.choice(sources),
        }
        if stage.kind in ("won", "lost"):
            values["closed"] = created + dt.timedelta(days=rng.randrange(5, 200))
        if stage.kind == "lost":
            values["loss_reason"] = rng.choice(("Price", "Timing"))
        if stage.kind == "open":
            values["expected_close"] = created + dt.timedelta(days=rng.randrange(10, 300))
        slug = f"deal-{i:05d}"
        found[slug] = Record(
            "opportunities",
            slug,
            f"data/opportunities/{slug}.md",
            frozen_map(values),
            frozen_map({}),
        )
    project = Project(schema, frozen_map(found))
    config = Config(currency="EUR", locale="en_GB", audiences=(AudienceSpec("managers"),))
    return Dataset("/repo", config, frozen_map({"opportunities": project}), dt.date(2027, 1, 1))


def plain(value: Any) -> Any:
    """A view model as plain dicts and lists, for comparing in tests."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def context(page: Page) -> dict[str, Any]:
    """A dashboard page's view as plain values: stats, charts, controls, missing, data..."""
    result: dict[str, Any] = plain(page.context["dashboard"])
    return result


def charts_of(
    dataset: Dataset, specs: tuple[DashboardSpec, ...] | None = None, audience: str | None = None
) -> tuple[Dataset, tuple[ChartSpec, ...]]:
    """The dataset cut for ``audience`` and the resolved charts of its first dashboard."""
    cut, _ = resolved(dataset, specs, audience)
    return cut, cut.dashboards[0].charts if cut.dashboards else ()
