"""Starting crmgen in a data repo never imports the repo's code.

The data repo below is full of Python files named like modules crmgen and its libraries
import (standard library and dependencies alike); each leaves a marker file when imported. Every
documented way to start crmgen (the ``crmgen`` console script, ``python -P -m crmgen``) and
the undocumented ``python -m crmgen`` build the repo from its own root without one marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent.parent
SHADOWS = (
    "json", "yaml", "re", "decimal", "typing", "enum", "functools", "collections", "copy",
    "abc", "pathlib", "warnings", "datetime", "dataclasses", "difflib", "zipfile", "io",
    "click", "jinja2", "markupsafe", "jsonschema", "babel", "markdown_it", "nh3", "altair",
    "vl_convert", "ada_url", "puremagic", "watchfiles", "model", "fields", "build", "cli",
    "views", "render", "write", "report", "yamlstrict", "messages", "sitecustomize",
    "usercustomize", "runpy", "site", "encodings",
)  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("data", "schema", "files"):
        shutil.copytree(EXAMPLE / name, root / name)
    shutil.copyfile(EXAMPLE / "crmgen.yml", root / "crmgen.yml")
    for name in SHADOWS:
        (root / f"{name}.py").write_text(
            f"open({str(root / ('MARKER-' + name))!r}, 'w').close()\n", encoding="utf-8"
        )
    package = root / "crmgen_helpers"
    package.mkdir()
    (package / "__init__.py").write_text(
        f"open({str(root / 'MARKER-package')!r}, 'w').close()\n", encoding="utf-8"
    )
    return root


def _console_script() -> str:
    found = shutil.which("crmgen") or str(Path(sys.executable).parent / "crmgen")
    assert Path(found).exists(), "the crmgen console script is installed by pip install -e ."
    return found


COMMANDS = {
    "console script": lambda: [_console_script()],
    "python -P -m": lambda: [sys.executable, "-P", "-m", "crmgen"],
    "python -m (guarded)": lambda: [sys.executable, "-m", "crmgen"],
}


@pytest.mark.parametrize("how", sorted(COMMANDS))
@pytest.mark.parametrize("command", ["validate", "build"])
def test_no_file_of_the_data_repo_is_imported(repo: Path, how: str, command: str) -> None:
    for old in repo.glob("MARKER*"):
        old.unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    args = [*COMMANDS[how](), command, "."]
    if command == "build":
        args += ["--out", str(repo.parent / f"site-{how.split()[0]}")]
    done = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    markers = sorted(p.name for p in repo.glob("MARKER*"))
    assert markers == [], (markers, done.stderr[-2000:])
    assert done.returncode == 0, done.stderr[-2000:]
