"""``crmgen init``: its output is golden, it validates and builds clean, and it never
overwrites a file without saying so.

The golden copy is ``tests/golden/init/`` (with the running crmgen's version written as
``@VERSION@``). On a mismatch the actual output is written to ``tests/golden/init-changed/``;
regenerate with ``pytest tests/test_scaffold.py --snapshot-update`` (refused in CI).
"""

from __future__ import annotations

import datetime as dt
import shutil
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import git_commit_all

from crmgen.build import build_site, load_dataset
from crmgen.cli import main
from crmgen.scaffold import ScaffoldError, scaffold_files, write_scaffold

GOLDEN = Path(__file__).parent / "golden" / "init"
CHANGED = GOLDEN.with_name("init-changed")
VERSION = metadata.version("crmgen").encode()
EXAMPLES = ["data/clients/acme-corp.md", "data/opportunities/acme-website.md"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["init", *args])
    return result.exit_code, result.output


def test_init_output_is_golden(tmp_path: Path, snapshot_update: bool) -> None:
    code, output = _init(str(tmp_path / "crm"))
    assert code == 0, output
    actual = {
        name: data.replace(b"crmgen==" + VERSION, b"crmgen==@VERSION@")
        for name, data in _tree(tmp_path / "crm").items()
    }
    if snapshot_update:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in actual.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    expected = _tree(GOLDEN)
    shutil.rmtree(CHANGED, ignore_errors=True)
    if actual != expected:
        for name, data in actual.items():
            (CHANGED / name).parent.mkdir(parents=True, exist_ok=True)
            (CHANGED / name).write_bytes(data)
    assert sorted(actual) == sorted(expected), f"file list differs; see {CHANGED}"
    for name in actual:
        assert actual[name] == expected[name], f"{name} differs; diff {CHANGED} against {GOLDEN}"
    assert f"created {len(actual)} file(s) in {tmp_path / 'crm'}" in output


def test_every_scaffold_file_is_package_data() -> None:
    """pyproject's package-data pattern reaches every file of the scaffold folder."""
    import tomllib

    patterns = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())[
        "tool"
    ]["setuptools"]["package-data"]["crmgen"]
    assert "scaffold/repo/**/*" in patterns
    folder = Path(__file__).parent.parent / "crmgen/scaffold/repo"
    hidden = [p for p in folder.rglob(".*")]
    assert hidden == [], "a file starting with '.' stays out of wheels: name it dot-…"
    assert len(scaffold_files()) == sum(1 for p in folder.rglob("*") if p.is_file())


def test_the_version_pins_the_running_crmgen() -> None:
    files = scaffold_files(version="9.8.7")
    assert b"crmgen==9.8.7\n" in files["requirements.txt"]
    assert b'"crmgen==9.8.7"' in files[".pre-commit-config.yaml"]
    assert not any(b"@CRMGEN_VERSION@" in data for data in files.values())


def test_scaffold_validates_and_builds_clean_in_git(tmp_path: Path) -> None:
    root = tmp_path / "crm"
    write_scaffold(root, scaffold_files())
    git_commit_all(root, "Start the CRM", date="2026-10-05T09:00:00+02:00")
    today = dt.date(2026, 11, 27)
    dataset = load_dataset(root, today=today)
    assert dataset.diagnostics == ()
    assert {p: len(dataset.projects[p].records) for p in dataset.projects} == {
        "clients": 1,
        "opportunities": 1,
    }
    result = build_site(root, tmp_path / "site", base_url="https://crm.example.com/", today=today)
    assert result.diagnostics == ()
    site = tmp_path / "site"
    pages = ["index.html", "opportunities/board.html", "clients/acme-corp.html"]
    pages += ["opportunities/acme-website.html", "dashboards/index.html", "sitemap.xml"]
    for page in pages:
        assert (site / page).is_file(), page
    # built for publish.audience: staff (no cost, no profit)
    assert "18,000" not in (site / "opportunities/acme-website.html").read_text()


def test_init_then_build_works_at_once(tmp_path: Path) -> None:
    """The README's first screen, outside git: a note, nothing else."""
    code, output = _init(str(tmp_path / "crm"))
    assert code == 0, output
    result = CliRunner().invoke(main, ["build", str(tmp_path / "crm")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "crm/site/index.html").is_file()
    assert "not inside a git checkout" in result.output
    assert "warning" not in result.output and "error" not in result.output


def test_bare_leaves_out_the_examples_and_still_builds(tmp_path: Path) -> None:
    code, output = _init(str(tmp_path / "crm"), "--bare")
    assert code == 0, output
    files = _tree(tmp_path / "crm")
    assert sorted(files) == sorted(set(scaffold_files()) - set(EXAMPLES))
    result = build_site(tmp_path / "crm", tmp_path / "site", today=dt.date(2026, 11, 27))
    assert [d for d in result.diagnostics if d.severity != "info"] == []


def test_a_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "crm"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    code, output = _init(str(root))
    assert code == 2
    assert f"{root} is not empty; give an empty or new folder, or --force" in output
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_a_git_repo_with_nothing_else_counts_as_empty(tmp_path: Path) -> None:
    (tmp_path / "crm/.git").mkdir(parents=True)
    assert _init(str(tmp_path / "crm"))[0] == 0
    assert (tmp_path / "crm/crmgen.yml").is_file()


def test_force_names_every_file_it_replaces_and_keeps_the_others(tmp_path: Path) -> None:
    root = tmp_path / "crm"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    (root / "README.md").write_text("our own readme\n")
    code, output = _init(str(root), "--force")
    assert code == 0
    assert f"overwrote {root / 'README.md'}" in output
    assert output.count("overwrote ") == 2  # the line above and the summary's count
    assert (root / "notes.txt").read_text() == "mine"
    assert (root / "README.md").read_bytes() == scaffold_files()["README.md"]
    # again: nothing to overwrite, nothing said about any file
    code, output = _init(str(root), "--force")
    assert code == 0 and "overwrote" not in output
    assert f"{len(scaffold_files())} already as they are" in output


def test_force_never_writes_through_a_link_or_over_a_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    root = tmp_path / "crm"
    root.mkdir()
    (root / "README.md").symlink_to(outside)
    with pytest.raises(ScaffoldError, match=r"README\.md is a symbolic link"):
        write_scaffold(root, scaffold_files(), force=True)
    assert outside.read_text() == "keep"
    (root / "README.md").unlink()
    (root / "data").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ScaffoldError, match="data is a symbolic link"):
        write_scaffold(root, scaffold_files(), force=True)
    (root / "data").unlink()
    (root / "crmgen.yml").mkdir()
    with pytest.raises(ScaffoldError, match=r"crmgen\.yml is a folder"):
        write_scaffold(root, scaffold_files(), force=True)
    assert sorted(p.name for p in root.iterdir()) == ["crmgen.yml"]  # nothing half-written


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "crm").write_text("")
    code, output = _init(str(tmp_path / "crm"), "--force")
    assert code == 2 and "is a file" in output
