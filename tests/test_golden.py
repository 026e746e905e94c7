"""Golden site: a small repo built and compared file by file with stored output.

On a mismatch the actual output is written to ``tests/golden/expected-changed/`` to diff.
Regenerate with ``pytest tests/test_golden.py --snapshot-update`` (refused in CI) and
review the diff before committing. Static assets are packaged files copied verbatim: only
the presence of the Vega bundle is checked.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from conftest import git_commit_all

from crmgen.build import build_site

HERE = Path(__file__).parent / "golden"
# Packaged static files are copied verbatim; comparing copies of our own files adds nothing.
NOT_COMPARED_PREFIX = "assets/"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(NOT_COMPARED_PREFIX)
    }


def test_golden_site(tmp_path: Path, snapshot_update: bool) -> None:
    out = tmp_path / "site"
    repo = tmp_path / "input"
    shutil.copytree(HERE / "input", repo)
    git_commit_all(repo, date="2026-10-05T09:00:00+02:00")  # its own history, fixed dates
    result = build_site(repo, out, today=dt.date(2026, 11, 27))
    assert result.problems == ()
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    assert (out / "assets/vega-bundle.js").stat().st_size > 100_000
    expected_dir = HERE / "expected"
    changed = HERE / "expected-changed"
    if snapshot_update:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(
            out,
            expected_dir,
            ignore=lambda d, names: [
                n for n in names if Path(d, n).relative_to(out).as_posix() == "assets"
            ],
        )
    actual, expected = _files(out), _files(expected_dir)
    if actual != expected:
        shutil.rmtree(changed, ignore_errors=True)
        shutil.copytree(out, changed)
    else:
        shutil.rmtree(changed, ignore_errors=True)
    assert sorted(actual) == sorted(expected), f"file list differs; see {changed}"
    for name in sorted(actual):
        assert actual[name] == expected[name], f"{name} differs; diff {changed} against expected"
