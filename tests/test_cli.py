from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MakeRepo, git_commit_all, record

from crmgen.cli import main


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_validate_clean_repo_exits_0(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    code, out = _run("validate", str(root), env={"GITHUB_ACTIONS": "false"})
    assert code == 0
    # outside git the build says so once, as a note that never fails
    assert out == (
        "crmgen: note: the data repo is not inside a git checkout: dates come from fields only\n"
        "no problems found (1 note(s))\n"
    )
    git_commit_all(root)
    assert _run("validate", str(root), env={"GITHUB_ACTIONS": "false"}) == (
        0,
        "no problems found\n",
    )


def test_validate_data_error_exits_1_with_json(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme\nemail: x")})
    code, out = _run("validate", str(root), "--format", "json")
    assert code == 1
    errors = [d for d in json.loads(out)["diagnostics"] if d["severity"] == "error"]
    assert errors[0]["field"] == "email"


def test_config_error_exits_2(make_repo: MakeRepo) -> None:
    root = make_repo({"crmgen.yml": "currency: euro\n"})
    code, out = _run("validate", str(root), "--format", "text")
    assert code == 2
    assert "crmgen.yml:1:11: currency must be a three-letter ISO 4217 code" in out


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    code, _out = _run("validate", str(tmp_path / "nope"))
    assert code == 2


def test_github_format_is_automatic(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(
        {f"data/clients/c{i}.md": record(f"title: C\nemail: x{i}") for i in range(12)}
    )
    git_commit_all(root)
    summary = tmp_path / "summary.md"
    code, out = _run(
        "validate", str(root), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert code == 1
    assert out.count("::error file=data/clients/") == 9
    assert "... and 3 more problem(s)" in out
    assert summary.read_text().count("| ❌ |") == 12


@pytest.mark.parametrize("module", [["-m", "crmgen", "--help"]])
def test_python_dash_m(module: list[str]) -> None:
    result = subprocess.run([sys.executable, *module], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "validate" in result.stdout


def test_build_writes_the_site_and_checks_base_url(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    code, out = _run("build", str(root), "--out", str(tmp_path / "s"), "--base-url", "ftp://x")
    assert code == 2 and "--base-url must be" in out
    code, out = _run("build", str(root), "--out", str(tmp_path / "s"))
    assert code == 0
    assert (tmp_path / "s/clients/acme.html").is_file()
