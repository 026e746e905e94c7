"""Work begun in a forked child and taken later (``build.forked.start_forked``), and the build's
use of it: the git history and the templates' check are made while the records are read, and
the result is the same as when they are made in the build's own process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import TODAY, MakeRepo, git_commit_all, record

from crmgen import cache
from crmgen.build import forked, pipeline
from crmgen.build.pipeline import load_dataset
from crmgen.history.log import HISTORIES


def test_the_result_is_made_in_a_child() -> None:
    started = forked.start_forked(lambda: ("made", os.getpid()))
    what, pid = started.result()
    assert what == "made" and pid != os.getpid()


def test_without_fork_it_is_made_here_when_taken() -> None:
    calls: list[int] = []
    started = forked.start_forked(lambda: calls.append(os.getpid()) or len(calls), fork=False)
    assert calls == []  # nothing yet
    assert started.result() == 1 and calls == [os.getpid()]


def test_an_error_in_the_child_is_raised_here_with_its_reason() -> None:
    def work() -> int:
        raise ValueError("no history today")

    with pytest.raises(RuntimeError, match="ValueError: no history today"):
        forked.start_forked(work).result()


def test_a_child_that_died_is_done_again_here() -> None:
    parent = os.getpid()

    def work() -> str:
        if os.getpid() != parent:
            os._exit(9)  # killed: no answer
        return "made here"

    assert forked.start_forked(work).result() == "made here"


def test_close_stops_a_child_still_working_and_reaps_it() -> None:
    started = forked.start_forked(lambda: time.sleep(60))
    assert started._child is not None
    pid = started._child[0]
    started.close()
    with pytest.raises(ChildProcessError):  # reaped: no zombie is left
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, signal.SIG_DFL)
    started.close()  # twice is harmless


def _repo(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme\nstatus: Active"),
            "data/opportunities/site.md": record("title: Site\nlist: Lead\nclient: acme"),
            "templates/record.html": "{% extends 'base.html' %}{% block content %}{{ x.y(",
        }
    )
    git_commit_all(root)
    return root


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.mark.usefixtures("own_key")
def test_the_build_reads_history_and_checks_templates_alike_forked_or_not(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    forks: list[bool] = []
    real = forked.start_forked

    def counted(fn: object, fork: bool = True) -> object:
        forks.append(fork)
        return real(fn, fork)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "start_forked", counted)
    with cache.opened(root) as store:
        in_child = load_dataset(root, today=TODAY, store=store)
    monkeypatch.setattr(pipeline, "workers", lambda: 1)  # one core: made here
    here = load_dataset(root, today=TODAY)
    assert forks == [True, False]
    assert in_child == here
    assert in_child.head and in_child.head == here.head
    created = in_child.projects["clients"].records["acme"].history.created
    assert str(created.date) == "2026-11-02" and created.source == "git"
    assert any(d.code.startswith("usage-template") for d in in_child.diagnostics)
    with cache.opened(root) as store:  # what the child put was written by the parent
        assert store.keys(HISTORIES)
        assert store.keys("template-checks")


def _no_fork() -> int:
    raise BlockingIOError(11, "Resource temporarily unavailable")  # EAGAIN: no process left


def test_when_no_child_can_be_forked_the_work_is_done_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forked.os, "fork", _no_fork)
    started = forked.start_forked(lambda: os.getpid())
    assert started._child is None
    assert started.result() == os.getpid()
    assert forked.run_forked(lambda n: (n, os.getpid()), [1, 2, 3]) == [
        (n, os.getpid()) for n in (1, 2, 3)
    ]


def test_a_load_goes_on_when_no_child_can_be_forked(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo)
    expected = load_dataset(root, today=TODAY)
    monkeypatch.setattr(forked.os, "fork", _no_fork)
    assert load_dataset(root, today=TODAY) == expected
