"""An issue opened from a form, read back into the values of a new record.

GitHub writes an issue form's answers into the issue's body as ``### <label>``, a blank line,
the answer, with ``_No response_`` for an empty one. The body is written by whoever opens the
issue, so it is read as hostile input: its size is bounded, every heading must be the label of
an input of the form (once), a one-line answer must be one line, no answer may be longer than
its input allows or hold control characters, and nothing in it is ever used as a path. The
texts come back as a ``crmgen new`` would take them from ``--set`` (the schema decides what
they become, and the record is validated before it is written).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crmgen.fields.forms import BODY, FormField, form_fields
from crmgen.messages import did_you_mean
from crmgen.model import ProjectSchema

#: The most an issue (as JSON, the whole event payload included) may weigh.
MAX_ISSUE_BYTES = 1024 * 1024
#: GitHub's own limit on an issue's body, in characters.
MAX_BODY = 65536
MAX_TITLE = 256
NO_RESPONSE = "_No response_"
_HEADING = re.compile(r"^###[ \t]+(.*?)[ \t]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class IssueAnswers:
    """What an issue says: the project, the record's title, the other answers as texts (field ->
    text; empty answers are left out) and the Markdown notes."""

    project: str
    title: str
    texts: Mapping[str, str]
    body: str
    number: int | None = None


def _issue(data: bytes) -> tuple[Mapping[str, Any] | None, str]:
    if len(data) > MAX_ISSUE_BYTES:
        return None, f"the issue is {len(data)} bytes; at most {MAX_ISSUE_BYTES} are read"
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the issue is not JSON: {exc}"
    if isinstance(doc, dict) and isinstance(doc.get("issue"), dict):
        doc = doc["issue"]  # the whole event payload ($GITHUB_EVENT_PATH)
    if not isinstance(doc, dict) or not ("body" in doc or "title" in doc):
        return None, "give the issue as JSON with its title and body (github.event.issue)"
    return doc, ""


def _project(
    doc: Mapping[str, Any], schemas: Mapping[str, ProjectSchema], asked: str | None
) -> tuple[ProjectSchema | None, str]:
    with_form = {n: s for n, s in schemas.items() if s.form is not None}
    if asked is not None:
        schema = schemas.get(asked)
        if schema is None:
            return None, f"there is no project '{asked}'{did_you_mean(asked, sorted(schemas))}"
        if schema.form is None:
            return None, f"{asked} has no form (x-crmgen.form in its schema)"
        return schema, ""
    labels = doc.get("labels") if isinstance(doc.get("labels"), list) else []
    names = {str(x.get("name")) if isinstance(x, dict) else str(x) for x in labels or ()}
    found = [s for s in with_form.values() if s.form is not None and s.form.label in names]
    if len(found) == 1:
        return found[0], ""
    if not found and len(with_form) == 1:
        return next(iter(with_form.values())), ""
    if not with_form:
        return None, "no project has a form (x-crmgen.form in its schema)"
    return None, "the issue's labels do not say which form it comes from; give --project"


def _sections(body: str, inputs: Sequence[FormField]) -> tuple[dict[str, str], list[str]]:
    """field -> its answer's text (stripped; "" for no response), and the problems."""
    by_label = {item.label.strip().casefold(): item for item in inputs}
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    current: list[str] | None = None
    preamble: list[str] = []
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(line)
        if heading is None:
            (preamble if current is None else current).append(line)
            continue
        label = heading.group(1)
        item = by_label.get(label.strip().casefold())
        if item is None:
            labels = [i.label for i in inputs]
            hint = did_you_mean(label, labels) or f"; the form's are {', '.join(labels)}"
            problems.append(f"the issue has a section '{label[:80]}' that the form has not{hint}")
            current = []
            continue
        if item.name in found:
            problems.append(f"the issue has the section '{item.label}' twice")
        current = found[item.name] = []
    if "\n".join(preamble).strip():
        problems.append(
            "the issue has text before its first section; was it opened from the form?"
        )
    if not found and not problems:
        problems.append("the issue has none of the form's sections; was it opened from the form?")
    texts = {}
    for name, lines in found.items():
        text = "\n".join(lines).strip()
        texts[name] = "" if text == NO_RESPONSE else text
    return texts, problems


def _answer_problem(item: FormField, text: str) -> str | None:
    if _CONTROL.search(text.replace("\t", " ")):
        return f"{item.name}: the answer holds control characters"
    if len(text) > item.max_length:
        return f"{item.name}: the answer is {len(text)} characters long; at most {item.max_length}"
    if "\n" in text and item.kind not in ("textarea",):
        return f"{item.name}: the answer must be one line"
    return None


def read_issue(
    data: bytes, schemas: Mapping[str, ProjectSchema], project: str | None = None
) -> tuple[IssueAnswers | None, list[str]]:
    """Read an issue (the JSON of ``github.event.issue``, or the whole event) opened from a
    project's form. Returns the answers, or None and every problem found."""
    doc, problem = _issue(data)
    if doc is None:
        return None, [problem]
    schema, problem = _project(doc, schemas, project)
    if schema is None:
        return None, [problem]
    body = doc.get("body") or ""
    if not isinstance(body, str):
        return None, ["the issue's body is not text"]
    if len(body) > MAX_BODY:
        return None, [f"the issue's body is {len(body)} characters long; at most {MAX_BODY}"]
    inputs = form_fields(schema)
    texts, problems = _sections(body, inputs)
    for item in inputs:
        text = texts.get(item.name, "")
        found = _answer_problem(item, text)
        if found:
            problems.append(found)
        elif item.required and not text:
            problems.append(f"{item.name} is required ('{item.label}' has no answer)")
    title = texts.pop(schema.title_field, "")
    if len(title) > MAX_TITLE:
        problems.append(f"{schema.title_field}: at most {MAX_TITLE} characters")
    if problems:
        return None, problems
    body_text = texts.pop(BODY, "") if schema.form and schema.form.body else ""
    number = doc.get("number")
    return (
        IssueAnswers(
            project=schema.name,
            title=title,
            texts={k: v for k, v in texts.items() if v},
            body=body_text,
            number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        ),
        [],
    )


def issue_body(schema: ProjectSchema, answers: Mapping[str, str]) -> str:
    """The body GitHub writes for these answers (field -> text) of the project's form: what the
    tests open an issue with, the same way the form page and the template make it."""
    parts = []
    for item in form_fields(schema):
        text = answers.get(item.name, "").strip()
        parts.append(f"### {item.label}\n\n{text or NO_RESPONSE}")
    return "\n\n".join(parts)
