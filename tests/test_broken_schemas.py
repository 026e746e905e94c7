"""The class of broken configuration: break each schema of the example repo in turn.

Whatever is wrong with one project's schema, ``validate`` and ``build`` report it (at that file)
and never crash, even though lookups, formulas, rollups, back-links and dashboards of other
projects reach into the broken project.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmgen.build import build_site, load_dataset
from crmgen.cli import main

EXAMPLE = Path(__file__).parent.parent
SCHEMAS = sorted(p.name for p in (EXAMPLE / "schema").glob("*.schema.yaml"))

BREAKS: dict[str, Callable[[str], str | None]] = {
    "invalid YAML": lambda text: text + "\n  bad: [unclosed\n",
    "not a mapping": lambda text: "- just\n- a list\n",
    "empty": lambda text: "",
    "unknown field type": lambda text: text.replace("type: text", "type: txet", 1),
    "title field missing": lambda text: text.replace("  title: title", "  title: nope", 1),
    "deleted": lambda text: None,
}


def _copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("data", "schema", "files"):
        shutil.copytree(EXAMPLE / name, repo / name)
    shutil.copyfile(EXAMPLE / "crmgen.yml", repo / "crmgen.yml")
    return repo


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("how", sorted(BREAKS))
def test_a_broken_schema_is_reported_never_a_crash(schema: str, how: str, tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    target = repo / "schema" / schema
    broken = BREAKS[how](target.read_text(encoding="utf-8"))
    if broken is None:
        target.unlink()
    else:
        target.write_text(broken, encoding="utf-8")
    dataset = load_dataset(repo)
    where = {d.path for d in dataset.errors}
    assert f"schema/{schema}" in where or ("crmgen.yml" in where and broken is None), where
    name = schema.removesuffix(".schema.yaml")
    # what reaches into the broken project points at its schema, never says it does not exist
    assert not any(f"project '{name}' does not exist" in d.message for d in dataset.errors)
    assert not any(d.code == "unknown-project" for d in dataset.diagnostics)
    result = build_site(repo, tmp_path / "site")
    assert result.written == 0 and not (tmp_path / "site").exists()
    run = CliRunner().invoke(main, ["validate", str(repo)])
    assert run.exception is None or isinstance(run.exception, SystemExit), run.output
    assert run.exit_code == 2
    assert "Traceback" not in run.output


def test_the_example_itself_is_clean() -> None:
    dataset = load_dataset(EXAMPLE)
    assert dataset.problems == ()
