"""The workflows ``crmgen init`` writes, run as GitHub Actions would run them.

A data repo is scaffolded in a temporary folder and given a real git history with fixed dates
(a ``main`` commit, a pull-request branch, and the merge commit Actions checks out for a pull
request). Each job's steps are taken from the parsed YAML: every ``run:`` is executed with
``bash --noprofile --norc -eo pipefail`` (the runner's default shell) in the repo, with the
step's ``env:``, ``GITHUB_ACTIONS``, ``GITHUB_STEP_SUMMARY`` and ``GITHUB_OUTPUT`` set as the
runner sets them, and every ``${{ … }}`` replaced by what Actions would give (an expression
this file does not know fails the test). Each ``uses:`` step is played by a stand-in that
does what the action does here (``configure-pages`` writes its ``base_url`` output, the
upload actions check their folder).

crmgen comes from a wheel built from this source tree and installed into a virtual
environment, which the workflows' own install step then finds: the ``crmgen`` the steps run is
the installed package, package data included, never the source folder.

Beside running them: the policy the workflows must keep (pinned actions, least privilege, no
credentials left in the checkout, concurrency) and that this repository's own data workflows
are the scaffold's, byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git_env

from crmgen.scaffold import scaffold_files, write_scaffold

REPO = Path(__file__).parent.parent
DATA_WORKFLOWS = ("pull-request.yml", "publish.yml", "lead-from-issue.yml")
BASE_URL = "https://example.github.io/acme-crm"
GIT_DATES = ("2026-10-05T09:00:00+02:00", "2026-10-20T15:30:00+02:00", "2026-10-21T10:00:00+02:00")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")

pytestmark = pytest.mark.slow


# --- the installed crmgen ------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with crmgen installed from a wheel of this source tree (its
    dependencies come from the running interpreter's site-packages)."""
    import setuptools

    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.fail("building a wheel offline needs setuptools>=70.1: pip install -e '.[test]'")
    top = tmp_path_factory.mktemp("installed")
    src = top / "src"
    src.mkdir()
    shutil.copytree(REPO / "crmgen", src / "crmgen", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    quiet = {"capture_output": True, "text": True, "check": True}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(top / "wheels"), str(src)], **quiet,
    )  # fmt: skip
    env = top / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
        **quiet,
    )
    wheel = next((top / "wheels").glob("crmgen-*.whl"))
    subprocess.run(
        [*pip, "--python", str(env / "bin/python"), "install", "-q", "--no-deps",
         "--no-index", str(wheel)], **quiet,
    )  # fmt: skip
    return env


# --- a data repo with a pull request -------------------------------------------------------


def git(root: Path, *args: str, date: str = GIT_DATES[0]) -> str:
    env = {**git_env(date), "GIT_CONFIG_GLOBAL": os.devnull}
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=root, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


@dataclass
class PullRequest:
    root: Path
    base: str  # github.event.pull_request.base.sha
    head: str  # github.event.pull_request.head.sha


def make_pull_request(root: Path, edit: Callable[[Path], None]) -> PullRequest:
    """A scaffolded repo committed on main, a branch that ``edit`` changes, and the merge of
    the two checked out (detached), as ``actions/checkout`` checks out ``refs/pull/N/merge``."""
    write_scaffold(root, scaffold_files())
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Start the CRM")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "pr")
    edit(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Pull request", date=GIT_DATES[1])
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "--detach", base)
    git(root, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", head, date=GIT_DATES[2])
    return PullRequest(root, base, head)


def move_and_add(root: Path) -> None:
    deal = root / "data/opportunities/acme-website.md"
    deal.write_text(deal.read_text().replace("list: Proposal sent", "list: Contract to sign"))
    (root / "data/opportunities/acme-seo.md").write_text(
        "---\ntitle: Acme SEO retainer\nlist: Qualification\nclient: acme-corp\n"
        "amount: 12000\nexpected_close: 2027-01-31\n---\n"
    )


# --- running a job as the runner would -----------------------------------------------------


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str = ""
    stderr: str = ""
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def workflow(name: str) -> dict[str, Any]:
    text = scaffold_files()[f".github/workflows/{name}"].decode()
    parsed: dict[str, Any] = yaml.safe_load(text)
    parsed["on"] = parsed.pop(True)  # YAML 1.1 reads the key `on` as true
    return parsed


def substitute(text: str, context: Mapping[str, str]) -> str:
    """``${{ expr }}`` -> what Actions gives for it; an unknown expression is a test error."""

    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr not in context:
            raise AssertionError(f"no value for ${{{{ {expr} }}}}: add it to the test's context")
        return context[expr]

    return EXPRESSION.sub(value, text)


def as_text(value: Any, context: Mapping[str, str]) -> str:
    """An input or env value as the runner passes it: a string, booleans in lower case."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return substitute(text, context)


def read_outputs(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIM`` blocks, as the runner reads GITHUB_OUTPUT."""
    found: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            found[key] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            key, value = line.split("=", 1)
            found[key] = value
    return found


Action = Callable[[Path, Mapping[str, str], Path], None]


def checkout(root: Path, inputs: Mapping[str, str], outputs: Path) -> None:
    # the whole history where dates matter: test_only_the_deploy_job_may_write checks it
    assert inputs.get("persist-credentials") == "false"


def setup_python(root: Path, inputs: Mapping[str, str], outputs: Path) -> None:
    assert inputs["python-version"] >= "3.11"
    if inputs.get("cache") == "pip":
        assert (root / inputs["cache-dependency-path"]).is_file()


def configure_pages(root: Path, inputs: Mapping[str, str], outputs: Path) -> None:
    with outputs.open("a") as handle:
        handle.write(f"base_url={BASE_URL}\norigin=https://example.github.io\n")
        handle.write("host=example.github.io\nbase_path=/acme-crm\n")


def upload(root: Path, inputs: Mapping[str, str], outputs: Path) -> None:
    assert (root / inputs["path"] / "index.html").is_file(), f"nothing built in {inputs['path']}"


def deploy(root: Path, inputs: Mapping[str, str], outputs: Path) -> None:
    with outputs.open("a") as handle:
        handle.write(f"page_url={BASE_URL}/\n")


ACTIONS: dict[str, Action] = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "actions/configure-pages": configure_pages,
    "actions/upload-artifact": upload,
    "actions/upload-pages-artifact": upload,
    "actions/deploy-pages": deploy,
}
STEP_KEYS = frozenset({"name", "id", "uses", "with", "run", "env"})


def run_job(
    job: Mapping[str, Any],
    root: Path,
    venv: Path,
    context: Mapping[str, str],
    event: str,
    workspace_tmp: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[StepRun]:
    """Run ``job``'s steps in ``root``; yields each step's result and stops after a failure.

    A job's ``if:`` is looked up in ``context`` like any expression ("true" runs the job);
    ``extra_env`` is added to every step's environment (``GITHUB_EVENT_PATH``, a ``PATH`` with
    stand-ins first)."""
    assert "env" not in job and "defaults" not in job, "teach the test"
    if "if" in job and substitute("${{ " + job["if"] + " }}", context) != "true":
        return
    context = dict(context)
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CI")
    }
    base_env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(root),
        GITHUB_EVENT_NAME=event,
        GITHUB_SHA=git(root, "rev-parse", "HEAD"),
        RUNNER_TEMP=str(workspace_tmp),
        PIP_NO_INDEX="1",  # the install step must find crmgen installed, never download it
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    base_env.update(extra_env or {})
    for index, step in enumerate(job["steps"]):
        assert set(step) <= STEP_KEYS, f"step {index} has {set(step) - STEP_KEYS}: teach the test"
        name = step.get("name") or step.get("uses") or step["run"]
        summary = workspace_tmp / f"step_summary_{index}"
        outputs = workspace_tmp / f"output_{index}"
        summary.write_text("")
        outputs.write_text("")
        if "uses" in step:
            action = step["uses"].partition("@")[0]
            inputs = {k: as_text(v, context) for k, v in (step.get("with") or {}).items()}
            ACTIONS[action](root, inputs, outputs)
            result = StepRun(name, 0)
        else:
            env = dict(base_env)
            env.update({k: as_text(v, context) for k, v in (step.get("env") or {}).items()})
            env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(outputs))
            script = workspace_tmp / f"step_{index}.sh"
            script.write_text(substitute(step["run"], context))
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=root, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            result = StepRun(name, done.returncode, done.stdout, done.stderr)
        result.summary = summary.read_text()
        result.outputs = read_outputs(outputs)
        if "id" in step:
            for key, value in result.outputs.items():
                context[f"steps.{step['id']}.outputs.{key}"] = value
        yield result
        if result.returncode:
            return


def run_all(*args: Any) -> list[StepRun]:
    return list(run_job(*args))


def _assert_ok(runs: list[StepRun]) -> None:
    for run in runs:
        assert run.returncode == 0, f"step {run.name!r} failed:\n{run.stdout}\n{run.stderr}"


# --- the tests -----------------------------------------------------------------------------


def test_the_steps_run_the_installed_crmgen(venv: Path) -> None:
    done = subprocess.run(
        [str(venv / "bin/python"), "-c", "import crmgen.scaffold as s; print(s.__file__)"],
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True, text=True, check=True, cwd=venv,
    )  # fmt: skip
    assert Path(done.stdout.strip()).is_relative_to(venv)
    assert (venv / "bin/crmgen").is_file()


def test_pull_request_workflow_checks_summarises_and_previews(venv: Path, tmp_path: Path) -> None:
    pr = make_pull_request(tmp_path / "repo", move_and_add)
    flow = workflow("pull-request.yml")
    assert list(flow["on"]) == ["pull_request"]
    context = {"github.event.pull_request.base.sha": pr.base}
    runner = tmp_path / "runner"
    runner.mkdir()
    runs = run_all(flow["jobs"]["check"], pr.root, venv, context, "pull_request", runner)
    _assert_ok(runs)
    by_name = {run.name: run for run in runs}
    assert len(runs) == len(flow["jobs"]["check"]["steps"])
    assert "::error" not in by_name["Validate"].stdout
    changes = by_name["Changes in the pipeline"].summary
    assert changes.startswith(f"## Pipeline changes {pr.base[:12]}..")
    assert "Acme SEO retainer" in changes  # a deal added
    assert "Proposal sent → **Contract to sign**" in changes and "notify @legal" in changes
    assert "**Open pipeline**" in changes and "**Weighted forecast**" in changes
    assert (pr.root / "site/index.html").is_file()  # the preview the upload step took


def test_pull_request_with_a_mistake_fails_with_an_annotation(venv: Path, tmp_path: Path) -> None:
    def break_a_record(root: Path) -> None:
        deal = root / "data/opportunities/acme-website.md"
        deal.write_text(deal.read_text().replace("client: acme-corp", "client: acme-crop"))

    pr = make_pull_request(tmp_path / "repo", break_a_record)
    flow = workflow("pull-request.yml")
    runner = tmp_path / "runner"
    runner.mkdir()
    context = {"github.event.pull_request.base.sha": pr.base}
    runs = run_all(flow["jobs"]["check"], pr.root, venv, context, "pull_request", runner)
    assert runs[-1].name == "Validate" and runs[-1].returncode == 1
    assert "::error file=data/opportunities/acme-website.md,line=6," in runs[-1].stdout
    assert "did you mean 'acme-corp'?" in runs[-1].stdout
    assert "acme-crop" in runs[-1].summary  # the full list in the job summary


@pytest.mark.parametrize("event", ["push", "workflow_dispatch", "schedule"])
def test_publish_workflow_builds_the_site_at_the_pages_address(
    venv: Path, tmp_path: Path, event: str
) -> None:
    flow = workflow("publish.yml")
    assert event in flow["on"]
    root = make_pull_request(tmp_path / "repo", move_and_add).root  # main after the merge
    runner = tmp_path / "runner"
    runner.mkdir()
    build = run_all(flow["jobs"]["build"], root, venv, {}, event, runner)
    _assert_ok(build)
    assert len(build) == len(flow["jobs"]["build"]["steps"])
    sitemap = (root / "site/sitemap.xml").read_text()
    assert f"<loc>{BASE_URL}/opportunities/acme-website.html</loc>" in sitemap
    # built for publish.audience (staff): the managers' cost appears nowhere
    assert "18,000" not in (root / "site/opportunities/acme-website.html").read_text()
    deploy = run_all(flow["jobs"]["deploy"], root, venv, {}, event, runner)
    _assert_ok(deploy)
    assert deploy[-1].outputs["page_url"] == f"{BASE_URL}/"


# --- what the workflows must keep ----------------------------------------------------------


def _steps(flow: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for job in flow["jobs"].values():
        yield from job["steps"]


def test_actions_are_pinned_to_commits_with_their_version() -> None:
    for name in DATA_WORKFLOWS:
        text = scaffold_files()[f".github/workflows/{name}"].decode()
        for line in text.splitlines():
            if "uses:" in line:
                ref, _, comment = line.split("uses:", 1)[1].strip().partition(" # ")
                assert PINNED.match(ref), line
                assert re.fullmatch(r"v\d+\.\d+\.\d+", comment), f"{line}: name the version"
    dependabot = yaml.safe_load(scaffold_files()[".github/dependabot.yml"])
    ecosystems = {u["package-ecosystem"] for u in dependabot["updates"]}
    assert ecosystems == {"github-actions", "pip"}


def test_only_the_deploy_job_may_write() -> None:
    publish = workflow("publish.yml")
    assert publish["permissions"] == {}
    assert publish["jobs"]["build"]["permissions"] == {"contents": "read", "pages": "read"}
    assert publish["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert publish["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    assert publish["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    pull = workflow("pull-request.yml")
    assert pull["permissions"] == {"contents": "read"}
    assert "permissions" not in pull["jobs"]["check"]
    assert pull["concurrency"]["cancel-in-progress"] is True
    assert "pull_request_target" not in pull["on"]
    for flow in (publish, pull):
        for step in _steps(flow):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"] == {"fetch-depth": 0, "persist-credentials": False}
            assert "${{" not in step.get("run", ""), "pass expressions through env:"


def test_this_repository_runs_the_scaffold_workflows() -> None:
    files = scaffold_files()
    for name in (*(f"workflows/{w}" for w in DATA_WORKFLOWS), "dependabot.yml"):
        ours = (REPO / ".github" / name).read_bytes()
        assert ours == files[f".github/{name}"], (
            f".github/{name} drifted from the scaffold's: make the same change in "
            f"crmgen/scaffold/repo/dot-github/{name} (a Dependabot update too), then "
            "pytest tests/test_scaffold.py --snapshot-update"
        )


# --- the lead form's workflow: an issue becomes a pull request -----------------------------

GH_STAND_IN = """#!/usr/bin/env bash
# gh, played: records its arguments (one JSON array a line) and answers like gh
set -eu
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "$GH_LOG"
if [ "${1:-}" = pr ] && [ "${2:-}" = create ]; then
  echo "https://github.com/acme/crm/pull/43"
fi
"""
LEAD = "contains(github.event.issue.labels.*.name, 'lead')"


@dataclass
class LeadRun:
    runs: list[StepRun]
    gh: list[list[str]]
    origin: Path


def run_lead_workflow(
    venv: Path, tmp_path: Path, answers: Mapping[str, str], labels: tuple[str, ...] = ("lead",)
) -> LeadRun:
    """A scaffolded repo on main with a bare ``origin``; an issue opened from the form with
    ``answers`` (field -> text, in the body GitHub writes); the job run as Actions would, with
    ``gh`` a stand-in that records its arguments."""
    import json

    from crmgen.forms.issue import issue_body
    from crmgen.schema import parse_schema

    root = tmp_path / "repo"
    write_scaffold(root, scaffold_files())
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Start the CRM")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main")
    schema_text = (root / "schema/clients.schema.yaml").read_text()
    schema, _ = parse_schema("clients", schema_text, "schema/clients.schema.yaml")
    assert schema is not None
    runner = tmp_path / "runner"
    bin_dir = runner / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "gh").write_text(GH_STAND_IN)
    (bin_dir / "gh").chmod(0o755)
    event = {
        "action": "opened",
        "issue": {
            "number": 42,
            "title": f"New lead: {answers.get('title', '')}",
            "body": issue_body(schema, answers),
            "labels": [{"name": name} for name in labels],
        },
        "repository": {"default_branch": "main"},
    }
    (runner / "event.json").write_text(json.dumps(event))
    gh_log = runner / "gh.log"
    gh_log.write_text("")
    flow = workflow("lead-from-issue.yml")
    context = {
        LEAD: "true" if "lead" in labels else "false",
        "github.token": "ghs_not_a_real_token",
        "github.event.issue.number": "42",
        "github.event.repository.default_branch": "main",
    }
    extra = {
        "PATH": f"{bin_dir}{os.pathsep}{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "GH_LOG": str(gh_log),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    runs = run_all(flow["jobs"]["propose"], root, venv, context, "issues", runner, extra)
    calls = [json.loads(line) for line in gh_log.read_text().splitlines()]
    return LeadRun(runs, calls, origin)


def test_lead_workflow_turns_an_issue_into_a_pull_request(venv: Path, tmp_path: Path) -> None:
    flow = workflow("lead-from-issue.yml")
    assert flow["on"] == {"issues": {"types": ["opened"]}}
    answers = {
        "title": "NO",  # YAML-special strings stay exactly as typed
        "contact_name": "- x",
        "email": "ann@example.com",
        "phone": "+353 1 555 0142",
        "source": "Website",
        "industry": "Retail",
        "size": "11-50",
        "body": "A new website.\n\n{a: 1}",
    }
    lead = run_lead_workflow(venv, tmp_path, answers)
    _assert_ok(lead.runs)
    assert len(lead.runs) == len(flow["jobs"]["propose"]["steps"])
    made = lead.runs[3]
    assert made.outputs["path"] == "data/clients/no.md"
    assert "data/clients/no.md" in made.summary
    assert lead.gh[0] == ["auth", "setup-git"]
    assert lead.gh[1] == [
        "pr", "create", "--base", "main", "--head", "lead/issue-42",
        "--title", "New lead from issue #42",
        "--body", "Adds `data/clients/no.md`, made by crmgen import-issue from #42. Closes #42.",
    ]  # fmt: skip
    text = git(lead.origin, "show", "lead/issue-42:data/clients/no.md")
    assert text.splitlines()[:9] == [
        "---",
        "title: NO",
        "list: Lead",
        'contact_name: "- x"',
        "email: ann@example.com",
        "phone: +353 1 555 0142",
        "source: Website",
        "industry: Retail",
        "size: 11-50",
    ]
    assert text.endswith("A new website.\n\n{a: 1}")
    changed = git(lead.origin, "diff", "--name-only", "main", "lead/issue-42")
    assert changed == "data/clients/no.md"  # nothing else in the pull request


def test_lead_workflow_stops_at_a_wrong_answer(venv: Path, tmp_path: Path) -> None:
    lead = run_lead_workflow(venv, tmp_path, {"title": "Acme", "email": "not an address"})
    assert lead.runs[-1].name == "Make the record from the issue"
    assert lead.runs[-1].returncode == 1
    assert "email must be an email address" in lead.runs[-1].stderr
    assert lead.gh == []  # no branch, no pull request
    assert "lead/issue-42" not in git(lead.origin, "branch", "--list")


def test_lead_workflow_ignores_issues_without_the_label(venv: Path, tmp_path: Path) -> None:
    lead = run_lead_workflow(venv, tmp_path, {"title": "Acme"}, labels=("bug",))
    assert lead.runs == [] and lead.gh == []


def test_lead_workflow_permissions() -> None:
    flow = workflow("lead-from-issue.yml")
    assert flow["permissions"] == {}
    job = flow["jobs"]["propose"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["if"] == LEAD
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"] == {"persist-credentials": False}
        assert "${{" not in step.get("run", ""), "pass expressions through env:"


def test_issue_templates_are_made_from_the_schemas() -> None:
    """This repository's and the scaffold's templates are what ``crmgen issue-template``
    makes of their schemas."""
    from crmgen.forms.template import issue_template
    from crmgen.schema import parse_schema

    files = scaffold_files()
    for label, schema_text, ours in (
        (
            "scaffold",
            files["schema/clients.schema.yaml"].decode(),
            files[".github/ISSUE_TEMPLATE/new-lead.yml"].decode(),
        ),
        (
            "example",
            (REPO / "schema/clients.schema.yaml").read_text(),
            (REPO / ".github/ISSUE_TEMPLATE/new-lead.yml").read_text(),
        ),
    ):
        schema, _ = parse_schema("clients", schema_text, "schema/clients.schema.yaml")
        assert schema is not None
        assert ours == issue_template(schema), f"the {label}'s template: crmgen issue-template"
