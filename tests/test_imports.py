"""The import rule of STYLE.md: model <- stages <- build <- cli.

Base modules import only base modules; a stage imports base modules and its own group
(a package like ``compute`` or the dashboard trio), never another stage; only ``build``
imports stages; only the edges (``cli``, ``serve``, ``__main__``) import ``build``; nothing
imports ``cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "crmgen"

BASE = {
    "crmgen",
    "crmgen.model",
    "crmgen.yamlstrict",
    "crmgen.fields",
    "crmgen.messages",
    "crmgen.sources",
    "crmgen.report",
    "crmgen.progress",
    "crmgen.formatting",
    "crmgen.markdown",
    "crmgen.redaction",
    "crmgen.compute",
    "crmgen.compute.expr",
}
GROUPS = {
    "crmgen.compute.evaluate": "compute",
    "crmgen.compute.order": "compute",
    "crmgen.compute.paths": "compute",
    "crmgen.dashboards": "dashboards",
    "crmgen.charts": "dashboards",
    "crmgen.metrics": "dashboards",
    "crmgen.dashboard_spec": "dashboards",
    "crmgen.dashboard_check": "dashboards",
    "crmgen.dashboard_cube": "dashboards",
    "crmgen.dashboard_view": "dashboards",
}
EDGES = {"crmgen.cli", "crmgen.serve", "crmgen.__main__"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("crmgen"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crmgen"):
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if (PACKAGE.parent / node.module.replace(".", "/") / a.name)
                .with_suffix(".py")
                .exists()
            )
    return found


def _kind(module: str) -> str:
    if module in BASE or module.startswith("crmgen.compute.expr"):
        return "base"
    if module == "crmgen.build":
        return "build"
    if module in EDGES:
        return "edge"
    return "stage"


def test_import_rule() -> None:
    problems = []
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 15
    for path in modules:
        me = _module(path)
        for other in sorted(_imports(path)):
            mine, theirs = _kind(me), _kind(other)
            if other == "crmgen.cli":
                ok = me == "crmgen.__main__"
            elif mine == "base":
                ok = theirs == "base"
            elif mine == "stage":
                ok = theirs == "base" or (GROUPS.get(me, me) == GROUPS.get(other, other))
            elif mine == "build":
                ok = theirs in ("base", "stage")
            else:
                ok = True
            if not ok:
                problems.append(f"{me} ({mine}) imports {other} ({theirs})")
    assert problems == []
