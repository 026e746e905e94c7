"""Hostile templates: a data repo's template overrides (which pull requests may change and CI
builds) cannot run code on the machine that builds, through any Jinja object, nor read a file
outside the repo. Every attempt is an error at the template's line; no marker file appears."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen.build import build_site, load_dataset

#: Escapes through different Jinja objects; each would create MARKER if it ran.
ESCAPES = [
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ joiner.__init__.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ namespace.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ range.__self__.__import__('os').system('touch MARKER') }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ site.__class__.__init__.__globals__ }}",
    "{{ (cycler|attr('__init__')|attr('__globals__'))['os'].system('touch MARKER') }}",
    "{{ site|attr('__class__') }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(site) }}",
    "{{ site.nav.__class__.__mro__ }}",
    "{% set x = site.nav %}{{ x.__len__.__self__ }}",
    "{% set l = [] %}{{ l.append('x') }}{{ l }}",
    "{% set d = {} %}{{ d.update(a=1) }}",
    "{{ lipsum.__code__ }}",
    "{{ cycler.next.__func__.__globals__ }}",
]


def _repo(make_repo: MakeRepo, template: str, name: str = "home.html") -> Path:
    return make_repo(
        {
            f"templates/{name}": (
                '{% extends "base.html" %}\n{% block content %}\n'
                + template
                + "\n{% endblock %}\n"
            ),
            "data/clients/acme.md": record("title: Acme"),
        }
    )


@pytest.mark.parametrize("escape", ESCAPES)
def test_no_template_escape_runs_anything(
    make_repo: MakeRepo, escape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(make_repo, escape)
    monkeypatch.chdir(tmp_path)
    result = build_site(root, tmp_path / "site")
    assert not (tmp_path / "MARKER").exists()
    assert result.written == 0 and not (tmp_path / "site").exists()
    problems = [(d.code, d.path, d.line) for d in result.diagnostics]
    assert ("usage-template", "templates/home.html", 3) in problems, result.diagnostics


def test_validate_finds_the_static_ones(make_repo: MakeRepo) -> None:
    root = _repo(make_repo, "{{ cycler.__init__.__globals__ }}")
    problems = [(d.code, d.path, d.line) for d in load_dataset(root).errors]
    assert problems == [
        ("usage-template", "templates/home.html", 3),
        ("usage-template", "templates/home.html", 3),
    ]


def test_a_template_cannot_include_a_file_outside_the_repo(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-ON-THE-BUILDER", encoding="utf-8")
    root = _repo(make_repo, '{% include "leak.html" %}\n{% include "../../secret.txt" %}')
    (root / "templates" / "leak.html").symlink_to(secret)
    result = build_site(root, tmp_path / "site")
    assert result.written == 0
    assert any(d.code == "usage-template" for d in result.diagnostics)
    assert "TOP-SECRET" not in repr(result)
    assert not (tmp_path / "site").exists()
