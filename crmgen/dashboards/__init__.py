"""Stage: dashboards. Declared charts -> checked specs (``check``) -> pages (``pages``).

One module per step: ``declarations`` parses ``crmgen.yml``'s ``dashboards:`` (or the built-in
sales dashboard); ``resolve`` checks each series against the data; ``cube`` turns the records a
chart reads into facts and packed rows; ``metrics`` computes measures from facts; ``values``
orders each chart's groups and values; ``vegalite`` writes Vega-Lite specs and static SVGs;
``page`` builds frozen view models. ``check`` runs inside ``load_dataset`` (so ``crmgen
validate`` reports every dashboard error ``build`` would); ``pages`` runs on a dataset already
cut for the audience. No record reaches the page, only sums per month, project, list and tag.
"""

from __future__ import annotations

from crmgen.model import Dataset, Diagnostic, Page, PageSet, frozen_map
from crmgen.model.dashboards import DashboardSpec
from crmgen.model.store import NO_STORE, Store

from .declarations import parse_dashboards
from .page import Drawings, TabView, dashboard_page
from .resolve import resolve_all
from .vegalite import Draw

__all__ = ["BUNDLE_PATH", "check", "frame", "pages"]

#: Where the Vega / Vega-Lite / vega-embed bundle is written, once per site.
BUNDLE_PATH = "assets/vega-bundle.js"


def check(dataset: Dataset) -> tuple[tuple[DashboardSpec, ...], list[Diagnostic]]:
    """Parse the declared dashboards and resolve them against the dataset.

    Returns:
        The dashboards with every chart that fits the data (series resolved), and a diagnostic
        for every problem at its line in ``crmgen.yml``.
    """
    config = dataset.config
    specs, diagnostics = parse_dashboards(
        config.dashboards, config.positions, config.path, config.value_positions
    )
    resolved, more = resolve_all(dataset, specs)
    return resolved, diagnostics + more


#: The navigation entry of the dashboards.
NAV = (("Dashboards", "dashboards/index.html"),)


def frame(dataset: Dataset) -> PageSet:
    """What the rest of the site needs of the dashboards before they are made: the navigation
    entry (no pages, files or home page yet; ``pages`` gives them all)."""
    return PageSet(nav=NAV) if _specs(dataset) else PageSet()


def _specs(dataset: Dataset) -> list[DashboardSpec]:
    return [spec for spec in dataset.dashboards if isinstance(spec, DashboardSpec)]


def pages(dataset: Dataset, store: Store = NO_STORE, draw: Draw | None = None) -> PageSet:
    """Every dashboard page of a dataset cut for its audience, plus their SVGs and the bundle
    (both cached in ``store``).

    The first dashboard is also ``dashboards/index.html`` and goes on the home page. The SVGs
    not in ``store`` are drawn by ``draw`` (default: in this process), all in one call.
    """
    from . import vegalite

    specs = _specs(dataset)
    if not specs:
        return PageSet()
    result: list[Page] = []
    drawings: Drawings = {}
    first = None
    for spec in specs:
        tabs = tuple(TabView(s.name, s.title, s.name == spec.name) for s in specs)
        view, found = dashboard_page(dataset, spec, tabs)
        first = first or view
        result.append(Page(f"dashboards/{spec.name}.html", "dashboard.html", {"dashboard": view}))
        drawings.update(found)
    svgs = vegalite.render_svgs(list(drawings.values()), store, draw)
    files = {path: svg.encode() for path, svg in zip(drawings, svgs, strict=True)}
    result.insert(0, Page("dashboards/index.html", "dashboard.html", {"dashboard": first}))
    files[BUNDLE_PATH] = vegalite.vega_bundle(store).encode()
    return PageSet(
        pages=tuple(result),
        files=frozen_map(files),
        nav=NAV,
        home=frozen_map({"dashboard": first}),
    )
