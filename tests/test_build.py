"""The whole pipeline: determinism, nothing written on errors, SIGKILL never half-writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen.build import build_site

REPO = Path(__file__).parent.parent
TODAY = dt.date(2026, 11, 27)


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _build_in_subprocess(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SOURCE_DATE_EPOCH": "1795737600", **env}
    full.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "crmgen", "build", str(REPO), "--out", str(out)],
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_two_builds_are_byte_identical_across_time_zones_and_hash_seeds(tmp_path: Path) -> None:
    a = _build_in_subprocess(
        tmp_path / "a", {"TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "1", "LC_ALL": "C"}
    )
    b = _build_in_subprocess(
        tmp_path / "b", {"TZ": "America/Adak", "PYTHONHASHSEED": "2", "LC_ALL": "C.UTF-8"}
    )
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(first) > 100
    assert first == second


def test_a_failed_build_leaves_the_previous_site_untouched(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    out = tmp_path / "site"
    assert build_site(root, out, today=TODAY).written > 0
    before = tree(out)
    (root / "data/clients/acme.md").write_text(record("title: Acme\nemail: nope"))
    result = build_site(root, out, today=TODAY)
    assert result.written == 0
    assert [d.field for d in result.diagnostics if d.severity == "error"] == ["email"]
    assert tree(out) == before


def test_strict_turns_warnings_into_failure(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme"),
            "crmgen.yml": "title: T\nprojects: [clients, opportunities]\ncolour: red\n",
        }
    )
    out = tmp_path / "site"
    assert build_site(root, out, today=TODAY, strict=True).written == 0
    assert not out.exists()
    assert build_site(root, out, today=TODAY).written > 0


def test_refuses_to_replace_a_folder_that_is_not_a_site(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    result = build_site(root, root, today=TODAY)  # --out . would swap the data repo away
    assert result.written == 0
    assert any(d.code == "usage-output" for d in result.diagnostics)
    assert (root / "crmgen.yml").exists()


def test_template_error_is_a_diagnostic(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme"),
            "templates/home.html": "{% extends 'base.html' %}{% block content %}"
            "{{ no_such_thing.x }}{% endblock %}",
        }
    )
    result = build_site(root, tmp_path / "site", today=TODAY)
    assert result.written == 0
    problems = [d for d in result.diagnostics if d.code == "usage-template"]
    assert len(problems) == 1 and "no_such_thing" in problems[0].message


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_half_written_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = _build_in_subprocess(out, {})
    assert first.returncode == 0, first.stderr
    complete = tree(out)
    rng = random.Random(20261127)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795737600"}
    env.pop("GITHUB_ACTIONS", None)
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "crmgen", "build", str(REPO), "--out", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Same input, so a finished build gives the same tree: either way it must be whole.
        assert tree(out) == complete
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "site"]
    assert all(name.startswith(".site.") for name in leftovers)
    shutil.rmtree(out)


def test_base_url_adds_a_sitemap_and_links_stay_relative(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    out = tmp_path / "site"
    assert build_site(root, out, base_url="https://owner.github.io/repo", today=TODAY).written
    sitemap = (out / "sitemap.xml").read_text()
    assert "<loc>https://owner.github.io/repo/clients/acme.html</loc>" in sitemap
    assert "owner.github.io" not in (out / "clients/acme.html").read_text()
    assert build_site(root, tmp_path / "plain", today=TODAY).written
    assert not (tmp_path / "plain/sitemap.xml").exists()


def test_a_failure_while_workers_render_stops_them_and_keeps_the_old_site(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages are rendered by forked workers while the build makes the tables' data: when that
    fails, no worker is left writing, and the site built before is whole."""
    from crmgen.build import pages as page_stage
    from crmgen.build import pipeline

    deals = {
        f"data/opportunities/deal-{n}.md": record(f"title: Deal {n}\nlist: Lead\namount: {n}")
        for n in range(page_stage.PARALLEL_FROM + 10)
    }
    root = make_repo(deals)
    out = tmp_path / "site"
    first = build_site(root, out)
    assert first.written and not first.problems
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args: object) -> None:
        raise ValueError("the tables' data failed")

    monkeypatch.setattr(pipeline, "_other_files", broken)
    (root / "data/opportunities/deal-1.md").write_text(record("title: Renamed\nlist: Lead"))
    failed = build_site(root, out)
    assert any("the tables' data failed" in d.message for d in failed.diagnostics)
    assert page_stage._WORK is None  # the workers were stopped
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".site-staging-*")) and not list(out.parent.glob(".site*"))


def test_a_run_collects_cycles_less_often_and_restores_the_collector(make_repo: MakeRepo) -> None:
    import gc

    from crmgen.build import COLLECT_AFTER, validate_repo

    root = make_repo()
    before = gc.get_threshold()
    during: list[int] = []
    result = build_site(
        root, root / "site", progress=lambda step, seconds: during.append(gc.get_threshold()[0])
    )
    assert result.written and during and set(during) == {COLLECT_AFTER}
    assert gc.get_threshold() == before
    validate_repo(root, cache=False)
    assert gc.get_threshold() == before
