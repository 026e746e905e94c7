from __future__ import annotations

import json
import os
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


def test_the_command_exits_with_its_status_and_all_its_output(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """``crmgen`` ends with ``os._exit`` (``cli.run``): every line printed still arrives, the
    status is the command's, and the site and cache are whole on disk."""
    good = make_repo({"data/clients/acme.md": record("title: Acme")})
    out = tmp_path / "site"
    command = [sys.executable, "-P", "-m", "crmgen"]
    built = subprocess.run(
        [*command, "build", str(good), "--out", str(out)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    assert (built.stdout + built.stderr).endswith(f"into {out}\n")
    assert (out / "clients/acme.html").is_file()
    assert len(list((good / ".crmgen-cache/sites").glob("*.json"))) == 1  # the site's manifest
    again = subprocess.run(
        [*command, "build", str(good), "--out", str(out)], capture_output=True, text=True
    )
    # the cache was written: the second build finds nothing changed
    assert again.returncode == 0 and "nothing changed" in again.stdout + again.stderr
    broken = {f"data/clients/c{n:03}.md": record("status: Nope") for n in range(300)}
    bad = make_repo(broken)
    checked = subprocess.run(
        [*command, "validate", str(bad), "--format", "json"], capture_output=True, text=True
    )
    assert checked.returncode == 1
    found = json.loads(checked.stdout)  # a long output, whole
    assert found["summary"].startswith("600 error(s)")
    assert sum(d["severity"] == "error" for d in found["diagnostics"]) == 600
    usage = subprocess.run([*command, "build", str(tmp_path / "nowhere")], capture_output=True)
    assert usage.returncode == 2


def test_the_quick_exit_flushes_what_is_still_buffered() -> None:
    """What was written to stdout and not flushed (a pipe's buffer holds 8 kB) still arrives
    when a command ends with output on stderr only: ``run`` flushes both streams."""
    script = (
        "import sys\n"
        "sys.argv = ['crmgen', 'validate', '/nowhere/at/all']\n"
        "sys.stdout.write('partial')\n"
        "from crmgen.cli import run\n"
        "run()\n"
    )
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=buffered
    )
    assert result.returncode == 2
    assert result.stdout == "partial"
    assert "not a folder" in result.stderr


@pytest.mark.parametrize(
    ("code", "status", "printed"), [(None, 0, ""), (0, 0, ""), (1, 1, ""), ("why", 1, "why\n")]
)
def test_exit_status_is_what_sys_exit_gives(
    code: object, status: int, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from crmgen.cli import _status

    assert _status(code) == status
    assert capsys.readouterr().err == printed


def test_validate_does_not_import_the_builds_own_stages(make_repo: MakeRepo) -> None:
    """``crmgen validate`` loads and checks; the views, pages, charts, site writer and change
    summaries are the build's (and a fresh process's 0.07 s to import)."""
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    script = (
        "import sys\n"
        "from crmgen.cli import main\n"
        "try:\n"
        f"    main(['validate', {str(root)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('crmgen.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.splitlines()[-1]
    assert "'crmgen.build.pipeline'" in loaded  # nothing was kept: the whole check ran
    for stage in ("views", "changes", "build.charts", "build.pages", "build.interchange"):
        assert f"'crmgen.{stage}'" not in loaded


def test_build_writes_the_site_and_checks_base_url(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    code, out = _run("build", str(root), "--out", str(tmp_path / "s"), "--base-url", "ftp://x")
    assert code == 2 and "--base-url must be" in out
    code, out = _run("build", str(root), "--out", str(tmp_path / "s"))
    assert code == 0
    assert (tmp_path / "s/clients/acme.html").is_file()


ASSIGN_SCHEMA_EXTRA = "  owner: {type: string, x-crmgen: {type: text}}\n"


def test_assign_writes_only_the_owner_line(make_repo: MakeRepo) -> None:
    from conftest import OPPS_SCHEMA

    nasty = (
        "---\r\n"
        "title: 'Crlf deal'   # quoted, with a comment\r\n"
        "list: Lead\r\n"
        "client: acme\r\n"
        "tags:\r\n  - seo\r\n"
        "---\r\nNotes\r\nno final newline"
    )
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": OPPS_SCHEMA + ASSIGN_SCHEMA_EXTRA,
            "crmgen.yml": "title: T\nprojects: [clients, opportunities]\n"
            "automations:\n  assignment: {lists: [Lead], team: [Anna, Tom]}\n",
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/crlf.md": nasty,
            "data/opportunities/plain.md": record("title: Plain\nlist: Lead\nowner:"),
            "data/opportunities/owned.md": record("title: Owned\nlist: Lead\nowner: Tom"),
        }
    )
    before = {p.name: p.read_bytes() for p in (root / "data/opportunities").iterdir()}
    code, out = _run("assign", str(root), "--dry-run")
    assert code == 0
    assert {p.name: p.read_bytes() for p in (root / "data/opportunities").iterdir()} == before
    assert "data/opportunities/crlf.md: owner: Anna (round-robin" in out
    code, out = _run("assign", str(root))
    assert code == 0 and "assigned 2 record(s)" in out
    crlf = (root / "data/opportunities/crlf.md").read_bytes()
    assert crlf == nasty.replace("list: Lead\r\n", "list: Lead\r\nowner: Anna\r\n").encode()
    plain = (root / "data/opportunities/plain.md").read_bytes()
    assert plain == before["plain.md"].replace(b"owner:\n", b"owner: Anna\n")  # tie: team order
    assert (root / "data/opportunities/owned.md").read_bytes() == before["owned.md"]
    code, out = _run("assign", str(root))
    assert "assigned 0 record(s)" in out  # nothing left to do


def test_check_fails_on_findings_only_when_asked(make_repo: MakeRepo) -> None:
    from conftest import OPPS_SCHEMA

    root = make_repo(
        {
            "schema/opportunities.schema.yaml": OPPS_SCHEMA + ASSIGN_SCHEMA_EXTRA,
            "crmgen.yml": "title: T\nprojects: [clients, opportunities]\n"
            "automations:\n  assignment: {lists: [Lead], team: [Anna]}\n",
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/a.md": record("title: A\nlist: Lead"),
        }
    )
    git_commit_all(root)
    code, out = _run("check", str(root), "--format", "text", env={"GITHUB_ACTIONS": "false"})
    assert (code, out) == (
        0,
        "data/opportunities/a.md:3: warning [assignment] no owner yet; `crmgen assign` gives "
        "it to Anna (round-robin: 0 open record(s) before this one)\n1 warning(s)\n",
    )
    assert _run("check", str(root), "--fail-on", "warning")[0] == 1
    assert _run("check", str(root), "--fail-on", "error")[0] == 0
    data = json.loads(_run("check", str(root), "--format", "json")[1])
    assert data["findings"][0]["proposal"] == {"owner": "Anna"}


def test_build_no_cache_builds_again_what_is_up_to_date(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    out = tmp_path / "site"
    code, text = _run("build", str(root), "--out", str(out))
    assert code == 0 and "built" in text
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, text = _run("build", str(root), "--out", str(out))
    assert code == 0 and "nothing changed since the last build" in text
    code, text = _run("build", str(root), "--out", str(out), "--no-cache")
    assert code == 0 and "nothing changed" not in text and "built" in text
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # everything computed again, the same bytes
