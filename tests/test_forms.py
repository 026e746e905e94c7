"""The lead form: the schema's vocabulary, the form page, the issue template and
``crmgen import-issue`` (an issue read back into a record, as hostile input)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from crmgen.build import build_site
from crmgen.build.interchange import import_issue
from crmgen.cli import main
from crmgen.fields.forms import form_fields
from crmgen.forms.issue import MAX_BODY, issue_body
from crmgen.forms.template import issue_template
from crmgen.schema import parse_schema

EXAMPLE = Path(__file__).parent.parent

FORM_SCHEMA = """\
type: object
required: [title, list]
x-crmgen:
  title: title
  form: {title: New lead, description: Tell us., list: Lead, body: Your message}
  lists: [{name: Lead}, {name: Client}]
  tags: [web, seo]
properties:
  title: {type: string, minLength: 1, x-crmgen: {type: text, label: Company}}
  list: {type: string, x-crmgen: {type: list}}
  email: {type: string, x-crmgen: {type: email, form: true}}
  phone: {type: string, x-crmgen: {type: phone, form: true}}
  website: {type: string, x-crmgen: {type: url, form: true}}
  budget: {type: number, minimum: 0, x-crmgen: {type: currency, form: true}}
  start: {type: string, format: date, x-crmgen: {type: date, form: true}}
  size: {type: string, enum: [small, large], x-crmgen: {type: select, form: true}}
  tags: {type: array, items: {type: string}, x-crmgen: {type: tags, form: true}}
  about: {type: string, description: In a few words., x-crmgen: {type: long-text, form: true}}
  newsletter: {type: boolean, x-crmgen: {type: checkbox, form: true}}
  code: {type: string, pattern: "^[A-Z]{3}$", x-crmgen: {type: text, form: true}}
  cost: {type: number, x-crmgen: {type: currency, audiences: [managers]}}
  notes: {type: string, x-crmgen: {type: text}}
"""


def _schema(text: str = FORM_SCHEMA, audiences: list[str] | None = None) -> Any:
    schema, problems = parse_schema("leads", text, "schema/leads.schema.yaml", audiences)
    return schema, [f"{d.line}: {d.message}" for d in problems]


def test_form_fields_follow_the_schema() -> None:
    schema, problems = _schema()
    assert problems == []
    fields = {f.name: f for f in form_fields(schema)}
    assert list(fields) == [
        "title", "email", "phone", "website", "budget", "start", "size", "tags", "about",
        "newsletter", "code", "body",
    ]  # fmt: skip
    kinds = {name: f.kind for name, f in fields.items()}
    assert kinds == {
        "title": "text", "email": "email", "phone": "tel", "website": "url", "budget": "number",
        "start": "date", "size": "select", "tags": "multiselect", "about": "textarea",
        "newsletter": "checkbox", "code": "text", "body": "textarea",
    }  # fmt: skip
    assert fields["title"].required and fields["title"].label == "Company"
    assert not fields["email"].required
    assert fields["size"].options == ("small", "large")
    assert fields["tags"].options == ("web", "seo")
    assert fields["budget"].minimum == "0" and fields["budget"].step == "any"
    assert fields["code"].pattern == "^[A-Z]{3}$"
    assert "cost" not in fields and "notes" not in fields and "list" not in fields


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("audiences: [managers]}}", "audiences: [managers], form: true}}"),
            "cost cannot be on the form: it is restricted to managers",
        ),
        (("list: Lead, body", "list: Leed, body"), "form.list: 'Leed' is not a list of leads; "
         "did you mean 'Lead'?"),
        (("form: {title", "form: {titel: x, title"),
         "unknown key 'titel' in x-crmgen.form: remove it or declare it in the schema; "
         "did you mean 'title'?"),
        (("notes: {type: string, x-crmgen: {type: text}}",
          "notes: {x-crmgen: {type: formula, formula: budget, form: true}}"),
         "notes cannot be on the form: it is a computed formula"),
        (("required: [title, list]", "required: [title, list, notes]"),
         "form: leads requires notes, which the form does not ask for"),
    ],
)  # fmt: skip
def test_what_cannot_be_on_a_form_is_an_error_at_its_line(
    change: tuple[str, str], message: str
) -> None:
    _, problems = _schema(FORM_SCHEMA.replace(*change), ["managers"])
    assert any(message in p for p in problems), problems
    assert all(not p.startswith("0:") for p in problems)


def test_the_form_page_has_the_fields_types_and_required(make_repo: Any, tmp_path: Path) -> None:
    root = make_repo(
        {
            "crmgen.yml": "title: T\nrepository: acme/crm\naudiences: [{name: managers}]\n",
            "schema/leads.schema.yaml": FORM_SCHEMA,
        }
    )
    result = build_site(root, tmp_path / "site")
    assert [d.message for d in result.diagnostics if d.severity == "error"] == []
    html = (tmp_path / "site/forms/leads.html").read_text()
    assert 'data-issue-url="https://github.com/acme/crm/issues/new"' in html
    assert 'data-template="new-lead.yml"' in html
    assert re.search(
        r'<input id="f-title" name="record_title" type="text" maxlength="200" required>', html
    )
    assert re.search(
        r'<input id="f-email" name="email" type="email"[^>]*autocomplete="email">', html
    )
    assert 'name="phone" type="tel"' in html and 'name="website" type="url"' in html
    assert re.search(r'name="budget" type="number" min="0" step="any">', html)
    assert 'name="start" type="date"' in html
    assert '<select id="f-size" name="size">' in html and '<option value="large">' in html
    assert '<input type="checkbox" name="tags" value="seo">' in html
    assert (
        '<textarea id="f-about" name="about"' in html and 'aria-describedby="f-about-hint"' in html
    )
    assert 'data-pattern="^[A-Z]{3}$"' in html
    assert 'name="cost"' not in html and 'name="notes"' not in html
    assert '<script src="../assets/form.js" defer></script>' in html
    assert "<script>" not in html and re.search(r"\son[a-z]+=", html) is None  # nothing inline
    home = (tmp_path / "site/index.html").read_text()
    assert '<a href="forms/leads.html">New lead</a>' in home
    table = (tmp_path / "site/leads/index.html").read_text()
    assert '<a href="../forms/leads.html">Lead form</a>' in table


def test_without_a_repository_the_form_says_so_and_is_not_linked(
    make_repo: Any, tmp_path: Path
) -> None:
    root = make_repo(
        {"crmgen.yml": "title: T\naudiences: [{name: managers}]\n",
         "schema/leads.schema.yaml": FORM_SCHEMA}
    )  # fmt: skip
    build_site(root, tmp_path / "site")
    html = (tmp_path / "site/forms/leads.html").read_text()
    assert "This form is not set up" in html and "<form" not in html and "form.js" not in html
    assert "forms/leads.html" not in (tmp_path / "site/index.html").read_text()
    assert "Lead form" not in (tmp_path / "site/leads/index.html").read_text()


def test_the_issue_template_mirrors_the_form() -> None:
    schema, _ = _schema()
    doc = yaml.safe_load(issue_template(schema))
    assert doc["name"] == "New lead" and doc["labels"] == ["lead"]
    body = {item["id"]: item for item in doc["body"]}
    assert list(body) == [f.key for f in form_fields(schema)]
    assert "record_title" in body and "record_body" in body  # GitHub keeps title and body
    assert body["record_title"]["type"] == "input"
    assert body["record_title"]["validations"]["required"]
    assert body["size"]["type"] == "dropdown" and body["size"]["attributes"]["options"] == [
        "small", "large"]  # fmt: skip
    assert body["tags"]["attributes"]["multiple"] is True
    assert body["newsletter"]["attributes"]["options"] == ["Yes", "No"]
    assert body["about"]["type"] == "textarea" and body["record_body"]["type"] == "textarea"


# --- crmgen import-issue ---------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE / "schema", root / "schema")
    shutil.copytree(EXAMPLE / "data", root / "data")
    shutil.copy(EXAMPLE / "crmgen.yml", root / "crmgen.yml")
    return root


def _issue(root: Path, answers: Mapping[str, str], **extra: Any) -> bytes:
    schema, _ = parse_schema(
        "clients", (root / "schema/clients.schema.yaml").read_text(), "schema/clients.schema.yaml"
    )
    issue = {"number": 7, "title": "New lead", "body": issue_body(schema, answers), **extra}
    return json.dumps({"issue": issue, "repository": {"default_branch": "main"}}).encode()


def test_round_trip_from_the_answers_to_a_record(repo: Path) -> None:
    answers = {
        "title": "ON",
        "contact_name": "{a: 1}",
        "email": "NO@example.com",
        "website": "https://on.example",
        "source": "Trade show",
        "size": "1000+",
        "body": "We need a shop.\n\n- x\n- y",
    }
    path, problems = import_issue(repo, _issue(repo, answers))
    assert problems == ()
    assert path == "data/clients/on.md"
    text = (repo / path).read_text()
    assert text.startswith(
        '---\ntitle: ON\nlist: Lead\ncontact_name: "{a: 1}"\nemail: NO@example.com\n'
        "website: https://on.example\nsource: Trade show\nsize: 1000+\n"
    )
    assert text.endswith("---\n\nWe need a shop.\n\n- x\n- y\n")
    from crmgen.build import load_dataset

    record = load_dataset(repo).record("clients", "on")
    assert record is not None
    assert record.values["title"] == "ON" and record.values["contact_name"] == "{a: 1}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("### Company\n\nAcme\n\n### E-mail\n\nnot-an-email", "email must be an email address"),
        ("### Company\n\n_No response_", "title is required ('Company' has no answer)"),
        ("### Company\n\nAcme\n\n### Evil\n\n../../etc/passwd",
         "the issue has a section 'Evil' that the form has not"),
        ("Hello\n\n### Company\n\nAcme", "the issue has text before its first section"),
        ("### Company\n\nAcme\n\n### Company\n\nOther",
         "the issue has the section 'Company' twice"),
        ("### Company\n\nAcme\nCorp", "title: the answer must be one line"),
        ("### Company\n\nAc\x00me", "title: the answer holds control characters"),
        ("### Company\n\n" + "a" * 300, "title: the answer is 300 characters long; at most 200"),
        ("### Company\n\nAcme\n\n### Lead source\n\nTelepathy", 'source must be one of'),
        ("just text", "text before its first section"),
        ("### Company\n\n" + "x" * (MAX_BODY + 1), f"at most {MAX_BODY}"),
    ],
)  # fmt: skip
def test_hostile_issues_make_nothing_and_say_why(repo: Path, body: str, expected: str) -> None:
    before = sorted(p.name for p in (repo / "data/clients").iterdir())
    data = json.dumps({"title": "x", "body": body, "labels": [{"name": "lead"}]}).encode()
    path, problems = import_issue(repo, data)
    assert path is None
    assert any(expected in d.message for d in problems), [d.message for d in problems]
    assert sorted(p.name for p in (repo / "data/clients").iterdir()) == before


def test_path_like_titles_stay_inside_the_project(repo: Path) -> None:
    for title in ("../../etc/passwd", "/tmp/x", "..", "CON", "data/clients/acme"):
        path, problems = import_issue(repo, _issue(repo, {"title": title}))
        assert problems == () and path is not None, title
        assert re.fullmatch(r"data/clients/[a-z0-9-]+\.md", path), path
        assert (repo / path).resolve().is_relative_to((repo / "data/clients").resolve())


def test_oversized_and_broken_payloads(repo: Path) -> None:
    path, problems = import_issue(repo, b"x" * (1024 * 1024 + 1))
    assert path is None and "at most 1048576" in problems[0].message
    path, problems = import_issue(repo, b"{not json")
    assert path is None and "not JSON" in problems[0].message
    path, problems = import_issue(repo, b'["a list"]')
    assert path is None and "github.event.issue" in problems[0].message


def test_cli_reads_standard_input_and_prints_the_path(repo: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(
        main, ["import-issue", "-", "--root", str(repo)], input=_issue(repo, {"title": "Zed"})
    )
    assert done.exit_code == 0, done.output
    assert done.stdout == "data/clients/zed.md\n"
    bad = runner.invoke(
        main,
        ["import-issue", "-", "--root", str(repo)],
        input=_issue(repo, {"title": "Zed", "email": "x"}),
    )
    assert bad.exit_code == 1 and "email must be an email address" in bad.stderr


def test_issue_template_command_writes_and_checks(repo: Path) -> None:
    runner = CliRunner()
    stale = runner.invoke(main, ["issue-template", "--check", "--root", str(repo)])
    assert stale.exit_code == 1 and "new-lead.yml differs" in stale.stdout
    done = runner.invoke(main, ["issue-template", "clients", "--root", str(repo)])
    assert done.exit_code == 0 and done.stdout == ".github/ISSUE_TEMPLATE/new-lead.yml\n"
    assert (repo / ".github/ISSUE_TEMPLATE/new-lead.yml").read_text() == (
        EXAMPLE / ".github/ISSUE_TEMPLATE/new-lead.yml"
    ).read_text()
    assert runner.invoke(main, ["issue-template", "--check", "--root", str(repo)]).exit_code == 0
    none = runner.invoke(main, ["issue-template", "invoices", "--root", str(repo)])
    assert none.exit_code != 0 and "invoices has no form" in none.stderr
