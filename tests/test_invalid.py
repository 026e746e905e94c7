"""Invalid data repos and the exact output of ``crmgen validate`` on each; ``build`` agrees.

Each folder under ``tests/invalid/`` (except ``_base``) is laid over ``_base`` to make a
repo; ``expected.txt`` holds the exact output and ``expected-exit`` the exit status.
Regenerate with ``pytest tests/test_invalid.py --snapshot-update`` and review the diff.
``crmgen build`` on the same repo must print exactly the same diagnostics and exit the same way,
and write nothing: ``validate`` is the whole check.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import git_commit_all

from crmgen.cli import main

HERE = Path(__file__).parent / "invalid"
CASES = sorted(p.name for p in HERE.iterdir() if p.is_dir() and not p.name.startswith("_"))


def _repo(case: str, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(HERE / "_base", repo)
    for source in sorted((HERE / case).rglob("*")):
        if source.is_file() and source.name not in ("expected.txt", "expected-exit"):
            target = repo / source.relative_to(HERE / case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    git_commit_all(repo)  # a real checkout: dates from git, and no note about a missing one
    return repo


@pytest.mark.parametrize("case", CASES)
def test_invalid_case(
    case: str, tmp_path: Path, snapshot_update: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(case, tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(main, ["validate", "."])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    output = result.output
    expected = HERE / case / "expected.txt"
    exit_file = HERE / case / "expected-exit"
    if snapshot_update:
        expected.write_text(output, encoding="utf-8")
        exit_file.write_text(f"{result.exit_code}\n")
    assert output == expected.read_text(encoding="utf-8")
    assert result.exit_code == int(exit_file.read_text())


@pytest.mark.parametrize("case", CASES)
def test_build_reports_exactly_what_validate_reports(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(case, tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    checked = CliRunner().invoke(main, ["validate", ".", "--format", "json"])
    built = CliRunner().invoke(main, ["build", ".", "--out", str(tmp_path / "site"), "--format",
                                      "json"])  # fmt: skip
    assert built.exception is None or isinstance(built.exception, SystemExit)
    assert built.output == checked.output
    assert built.exit_code == checked.exit_code != 0
    assert not (tmp_path / "site").exists()
