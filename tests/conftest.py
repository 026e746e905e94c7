"""Shared fixtures: ``make_repo`` writes a small data repo; ``today`` is pinned."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

TODAY = dt.date(2026, 11, 27)

CLIENTS_SCHEMA = """\
$schema: https://json-schema.org/draft/2020-12/schema
title: Clients
type: object
required: [title]
additionalProperties: false
x-crmgen: {title: title}
properties:
  title: {type: string, minLength: 1}
  email: {type: string, x-crmgen: {type: email}}
  phone: {type: string, x-crmgen: {type: phone}}
  website: {type: string, x-crmgen: {type: url}}
  size: {type: string, enum: [small, medium, large], x-crmgen: {type: select}}
  code: {type: string, x-crmgen: {type: text}}
  logo: {type: string, x-crmgen: {type: file}}
  ltv:
    x-crmgen:
      type: rollup
      rollup: 'sum(opportunities.amount where list.kind = "won")'
      result: currency
  open_count: {x-crmgen: {type: rollup, rollup: 'count(opportunities where list.kind = "open")'}}
  deals: {x-crmgen: {type: referenced-by, project: opportunities, field: client}}
"""

OPPS_SCHEMA = """\
$schema: https://json-schema.org/draft/2020-12/schema
title: Opportunities
type: object
required: [title, list]
additionalProperties: false
x-crmgen:
  title: title
  lists:
    - {name: Lead, kind: open, probability: 0.1}
    - {name: Proposal sent, kind: open, probability: 0.5}
    - {name: Closed won, kind: won, probability: 1}
    - {name: Closed lost, kind: lost, probability: 0}
  tags: [branding, website, seo]
properties:
  title: {type: string, minLength: 1}
  list: {type: string, x-crmgen: {type: list}}
  tags: {type: array, items: {type: string}, x-crmgen: {type: tags}}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  amount: {type: number, minimum: 0, x-crmgen: {type: currency}}
  cost: {type: number, minimum: 0, x-crmgen: {type: currency}}
  profit: {x-crmgen: {type: formula, formula: "amount - cost", result: currency}}
  weighted: {x-crmgen: {type: formula, formula: "amount * list.probability", result: currency}}
  confidence: {type: integer, minimum: 0, maximum: 5, x-crmgen: {type: rating}}
  expected_close: {type: string, format: date, x-crmgen: {type: date}}
  client_email: {x-crmgen: {type: lookup, path: client.email}}
  client_size: {x-crmgen: {type: lookup, path: client.size}}
"""

CONFIG = """\
title: Test CRM
currency: EUR
locale: en_GB
projects: [clients, opportunities]
"""


def record(front: str, body: str = "") -> str:
    """A record file from dedented front matter and a body."""
    return "---\n" + textwrap.dedent(front).strip("\n") + "\n---\n" + body


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Write a data repo: the standard config and schemas plus ``files`` (path -> text).

    Pass ``base=False`` to start from an empty folder; a value of None deletes a default file.
    """

    def make(files: Mapping[str, str | bytes | None] | None = None, base: bool = True) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        content: dict[str, str | bytes | None] = {}
        if base:
            content = {
                "crmgen.yml": CONFIG,
                "schema/clients.schema.yaml": CLIENTS_SCHEMA,
                "schema/opportunities.schema.yaml": OPPS_SCHEMA,
            }
        content.update(files or {})
        for rel, text in content.items():
            path = root / rel
            if text is None:
                if path.exists():
                    path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture
def today() -> dt.date:
    return TODAY


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="Rewrite stored expected outputs (invalid cases, golden site) instead of comparing.",
    )


@pytest.fixture
def snapshot_update(request: pytest.FixtureRequest) -> bool:
    update = bool(request.config.getoption("--snapshot-update"))
    if update and __import__("os").environ.get("CI"):
        pytest.fail("--snapshot-update is refused in CI: regenerate snapshots locally")
    return update


GIT_DATE = "2026-11-02T09:30:00+01:00"


def git_env(date: str = GIT_DATE) -> dict[str, str]:
    """The environment of a test's git commands: a fixed author, committer and date, and no
    system configuration."""
    import os

    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ann Example",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Ann Example",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def git_commit_all(root: Path, message: str = "Records", date: str = GIT_DATE) -> None:
    """Make ``root`` a git repository (if it is not one) and commit everything in it, with a
    fixed author, committer and date, so builds of it are reproducible."""
    import subprocess

    env = git_env(date)

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main",
                        *args], cwd=root, env=env, check=True, capture_output=True)  # fmt: skip

    if not (root / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", message)
