"""What a browser downloads for the heavy pages of a built site: tables, boards, dashboards.

A page's weight is its own bytes plus every file of the site it loads that is not a shared
asset (``assets/*``), a page or an image: a JSON file named in a ``src``, ``data-*`` or
``fetch`` attribute, say, or ``opportunities/rows.json`` loaded by the table. Shared assets
are counted by name where a budget names them (the dashboard's Vega bundle).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MB = 1024 * 1024
#: What the dashboards budget counts besides the page and its data.
DASHBOARD_ASSETS = ("assets/vega-bundle.js", "assets/dashboard.js", "assets/dashboard.css")
#: Attribute values and quoted strings that may name a file the page loads (not an ``href``:
#: a link or a download, such as a table's CSV, is not loaded with the page).
_REFERENCE = re.compile(
    rb"""(?:\bsrc|\bdata-[a-z-]+)\s*=\s*["']([^"'<>]+)["']"""
    rb"""|(?<!href=)["']([^"'<>\s]+\.(?:json|js))["']"""
)
_IMAGES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp"})
_NOT_DATA = _IMAGES | {".html", ".htm"}


@dataclass(frozen=True, slots=True)
class Weight:
    """Bytes of a page and what it loads; ``None`` when the page does not exist."""

    name: str
    total: int | None
    parts: tuple[tuple[str, int], ...] = ()
    images: int = 0
    gzipped: int = 0
    later: tuple[tuple[str, int], ...] = ()  # files its data names, loaded only when needed

    @property
    def mb(self) -> float | None:
        """The total in MB (2**20 bytes), or None."""
        return None if self.total is None else self.total / MB

    def detail(self) -> str:
        """``page 3.1 MB + rows.json 0.2 MB``, for the report's notes."""
        if self.total is None:
            return f"{self.name}: not in the site"
        text = " + ".join(f"{name} {size / MB:.2f} MB" for name, size in self.parts)
        text += f" = {self.total / MB:.2f} MB, {self.gzipped / MB:.2f} MB gzipped"
        if self.images:
            text += f" (and {self.images / MB:.2f} MB of images it references, not counted)"
        for name, size in self.later:
            text += f" (and {name} {size / MB:.2f} MB, loaded only when a view needs it)"
        return text


def loaded_files(site: Path, page: Path) -> list[Path]:
    """Files of ``site`` that ``page`` references and that are data, not pages or assets."""
    raws = {m.group(1) or m.group(2) for m in _REFERENCE.finditer(page.read_bytes())}
    found: set[Path] = set()
    for raw in raws:
        # A file name has a suffix; data-sort="12" or data-field="title" do not.
        if b"." not in raw.rsplit(b"/", 1)[-1]:
            continue
        target = _resolve(site, page, raw.decode("utf-8", "replace"))
        if target is not None and target.suffix.lower() not in _NOT_DATA:
            found.add(target)
    return sorted(found)


def referenced_images(site: Path, page: Path) -> list[Path]:
    """Images of the site that ``page`` names in a ``src`` attribute (reported apart)."""
    raws = set(re.findall(rb"""\bsrc\s*=\s*["']([^"'<>]+)["']""", page.read_bytes()))
    images = {_resolve(site, page, raw.decode("utf-8", "replace")) for raw in raws}
    return sorted(p for p in images if p is not None and p.suffix.lower() in _IMAGES)


def _resolve(site: Path, page: Path, reference: str) -> Path | None:
    """The site file a relative or root-relative reference names; None if outside or missing."""
    reference = reference.split("#", 1)[0].split("?", 1)[0]
    if not reference or "://" in reference or reference.startswith(("data:", "//", "mailto:")):
        return None
    base = PurePosixPath(page.parent.relative_to(site).as_posix())
    joined = (
        PurePosixPath(reference.lstrip("/")) if reference.startswith("/") else base / reference
    )
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if not parts or parts[0] == "assets":
        return None
    target = site.joinpath(*parts)
    return target if target.is_file() else None


def page_weight(site: Path, relative: str, extra: tuple[str, ...] = ()) -> Weight:
    """The page, the data files it loads and the ``extra`` site files (named budgets)."""
    page = site / relative
    if not page.is_file():
        return Weight(relative, None)
    parts = [(relative, page.stat().st_size)]
    parts += [(p.relative_to(site).as_posix(), p.stat().st_size) for p in loaded_files(site, page)]
    parts += [(name, (site / name).stat().st_size) for name in extra if (site / name).is_file()]
    images = sum(p.stat().st_size for p in referenced_images(site, page))
    gzipped = sum(len(gzip.compress((site / name).read_bytes(), 6)) for name, _ in parts)
    later = tuple(
        (p.relative_to(site).as_posix(), p.stat().st_size)
        for name, _ in parts
        for p in _named_later(site / name)
    )
    return Weight(relative, sum(size for _, size in parts), tuple(parts), images, gzipped, later)


def _named_later(data: Path) -> list[Path]:
    """The file a table's data names as ``"more"`` (its hidden columns), if it is one."""
    if data.suffix != ".json":
        return []
    try:
        found = json.loads(data.read_bytes()).get("more")
    except (ValueError, AttributeError):
        return []
    target = data.parent / found if isinstance(found, str) and "/" not in found else None
    return [target] if target is not None and target.is_file() else []


def dashboard_page(site: Path) -> str | None:
    """The biggest page under ``dashboards/``, else the biggest page loading the Vega bundle."""
    pages = sorted((site / "dashboards").rglob("*.html"), key=lambda p: (p.stat().st_size, p))
    if not pages:
        pages = sorted(
            (p for p in site.rglob("*.html") if b"vega-bundle.js" in p.read_bytes()),
            key=lambda p: (p.stat().st_size, p),
        )
    return pages[-1].relative_to(site).as_posix() if pages else None


def site_weights(site: Path, table_project: str = "opportunities") -> dict[str, Weight]:
    """Weights of the table, the board and the biggest dashboard (with its scripts)."""
    weights = {
        "table": page_weight(site, f"{table_project}/index.html"),
        "board": page_weight(site, f"{table_project}/board.html"),
    }
    dashboard = dashboard_page(site)
    weights["dashboard"] = (
        page_weight(site, dashboard, DASHBOARD_ASSETS)
        if dashboard
        else Weight("dashboards/*.html", None)
    )
    return weights
