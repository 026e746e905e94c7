"""The import rule of STYLE.md: model <- stages <- build <- cli, derived from the package tree.

Nothing is labelled by hand except the four pieces of shared ground the issue names (``model``,
``messages``, the field-type registry ``fields`` and ``yamlstrict``) and the edges (``build``,
``cli``, ``serve``, ``__main__``). Every other top-level module or sub-package of ``crmgen`` is
a *unit* (a stage, or a leaf such as ``report``): it may import shared ground and itself, never
another unit. Shared ground imports only shared ground; ``build`` may import any unit; nothing
but ``__main__`` imports ``cli``. A new module is a new unit automatically, so the rule cannot
be dodged by forgetting to list it. The test of the test below adds a stage-to-stage import to a
copy of the package and checks that the rule then fails.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "crmgen"

SHARED = frozenset({"model", "messages", "fields", "yamlstrict"})
BUILD = "build"
EDGES = frozenset({"cli", "serve", "__main__"})


def _module(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The top-level piece a module belongs to: ``crmgen.compute.expr`` -> ``compute``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(package: Path, path: Path) -> set[str]:
    """Every ``crmgen`` module a file imports (relative imports resolved)."""
    me = _module(package, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "crmgen")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] != "crmgen":
                continue
            found.add(module)
            for alias in node.names:
                child = package.parent / module.replace(".", "/") / alias.name
                if child.with_suffix(".py").exists() or (child / "__init__.py").exists():
                    found.add(f"{module}.{alias.name}")
    return found


def violations(package: Path) -> list[str]:
    """Every import that breaks the rule, as "importer imports imported (why)"."""
    problems = []
    modules = sorted(package.rglob("*.py"))
    units = {_unit(_module(package, p)) for p in modules} - {""}
    assert {"load", "validate", "link", "compute", "dashboards", "views", "render"} <= units
    for path in modules:
        me = _module(package, path)
        mine = _unit(me)
        for other in sorted(_imports(package, path)):
            theirs = _unit(other)
            if theirs in ("", mine):
                continue  # the package itself, or within one unit
            if theirs == "cli":
                ok = mine == "__main__"
            elif mine in SHARED:
                ok = theirs in SHARED
            elif mine == BUILD:
                ok = theirs not in EDGES
            elif mine in EDGES:
                ok = True
            else:  # a stage or leaf unit
                ok = theirs in SHARED
            if not ok:
                problems.append(f"{me} imports {other} ({mine} -> {theirs})")
    return problems


def test_import_rule() -> None:
    assert violations(PACKAGE) == []


def test_the_package_tree_shows_the_pipeline() -> None:
    for name in ("load.py", "validate", "link.py", "compute", "dashboards", "views",
                 "render.py", "write.py", "model", "build/pipeline.py"):  # fmt: skip
        assert (PACKAGE / name).exists(), name


def test_a_stage_importing_another_stage_fails_the_rule(tmp_path: Path) -> None:
    copy = tmp_path / "crmgen"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert violations(copy) == []
    link = copy / "link.py"
    link.write_text(link.read_text() + "\nfrom crmgen.validate import check_file\n")
    assert violations(copy) == ["crmgen.link imports crmgen.validate (link -> validate)"]


def test_a_relative_import_between_units_fails_the_rule(tmp_path: Path) -> None:
    copy = tmp_path / "crmgen"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    cube = copy / "dashboards" / "cube.py"
    cube.write_text(cube.read_text() + "\nfrom .. import views\n")
    assert violations(copy) == [
        "crmgen.dashboards.cube imports crmgen.views (dashboards -> views)"
    ]


def test_shared_ground_importing_a_stage_fails_the_rule(tmp_path: Path) -> None:
    copy = tmp_path / "crmgen"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    rules = copy / "fields" / "rules.py"
    rules.write_text(rules.read_text() + "\nimport crmgen.redaction\n")
    assert violations(copy) == [
        "crmgen.fields.rules imports crmgen.redaction (fields -> redaction)"
    ]
