"""Diagnostics and automation findings -> text for terminals, JSON for tools, annotations and
a step summary for GitHub Actions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from crmgen.model import Diagnostic
from crmgen.model.findings import SEVERITIES, Finding

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
#: GitHub shows at most 10 annotations of a kind per step: 9 plus one line saying how many more.
GITHUB_LIMIT = 9


def is_config(diag: Diagnostic) -> bool:
    """Problems in the trusted configuration (crmgen.yml, schema files), not in records."""
    return (
        diag.path == "crmgen.yml"
        or diag.path.startswith("schema/")
        or diag.code.startswith("usage-")
    )


def ordered(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by place, without exact duplicates."""
    return sorted(set(diags), key=lambda d: (*d.sort_key, d.severity))


def exit_code(diags: Sequence[Diagnostic], strict: bool = False) -> int:
    """0 clean, 2 when the configuration is broken, 1 for data errors."""
    failing = [d for d in diags if d.severity == "error" or (strict and d.severity == "warning")]
    if any(is_config(d) for d in failing):
        return EXIT_USAGE
    return EXIT_DATA if failing else EXIT_OK


def location(diag: Diagnostic) -> str:
    place = diag.path or "crmgen"
    if diag.line:
        place += f":{diag.line}"
        if diag.col:
            place += f":{diag.col}"
    return place


def format_text(diags: Sequence[Diagnostic]) -> str:
    """``path:line:col: message`` lines (warnings say so), then a count."""
    lines = []
    for d in ordered(diags):
        label = {"warning": "warning: ", "info": "note: "}.get(d.severity, "")
        lines.append(f"{location(d)}: {label}{d.message}")
    lines.append(summary(diags))
    return "\n".join(lines) + "\n"


def summary(diags: Sequence[Diagnostic]) -> str:
    errors = sum(d.severity == "error" for d in diags)
    warnings = sum(d.severity == "warning" for d in diags)
    notes = len(diags) - errors - warnings
    if not errors and not warnings:
        return "no problems found" + (f" ({notes} note(s))" if notes else "")
    return f"{errors} error(s), {warnings} warning(s)" + (f", {notes} note(s)" if notes else "")


def format_json(diags: Sequence[Diagnostic]) -> str:
    rows = [
        {
            "severity": d.severity,
            "code": d.code,
            "message": d.message,
            "path": d.path,
            "line": d.line,
            "col": d.col,
            "field": d.field,
        }
        for d in ordered(diags)
    ]
    return json.dumps({"diagnostics": rows, "summary": summary(diags)}, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diags: Sequence[Diagnostic]) -> str:
    """At most 9 workflow-command annotations (errors first), then one line naming how many
    more."""
    rank = {"error": 0, "warning": 1, "info": 2}
    rows = sorted(ordered(diags), key=lambda d: rank.get(d.severity, 3))
    lines = []
    for d in rows[:GITHUB_LIMIT]:
        kind = {"error": "error", "warning": "warning"}.get(d.severity, "notice")
        props = [f"file={_escape_prop(d.path)}"] if d.path else []
        if d.line:
            props.append(f"line={d.line}")
        if d.col:
            props.append(f"col={d.col}")
        props.append(f"title={_escape_prop('crmgen ' + d.code)}")
        lines.append(f"::{kind} {','.join(props)}::{_escape_data(d.message)}")
    if len(rows) > GITHUB_LIMIT:
        lines.append(
            f"... and {len(rows) - GITHUB_LIMIT} more problem(s); see the job summary "
            "or run `crmgen validate` locally for the full list"
        )
    lines.append(summary(diags))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def step_summary(diags: Sequence[Diagnostic]) -> str:
    """A Markdown table of every diagnostic for ``GITHUB_STEP_SUMMARY``."""
    rows = ordered(diags)
    out = ["## crmgen validate", "", summary(diags), ""]
    if rows:
        out += ["| | file | line | field | message |", "| --- | --- | --- | --- | --- |"]
        for d in rows:
            icon = {"error": "❌", "warning": "⚠️"}.get(d.severity, "ℹ️")
            out.append(
                f"| {icon} | `{_cell(d.path)}` | {d.line or ''} | {_cell(d.field or '')} "
                f"| {_cell(d.message)} |"
            )
    return "\n".join(out) + "\n"


def write_step_summary(diags: Sequence[Diagnostic], path: Path) -> None:
    """Append the table to the step summary file (GitHub appends per step)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(step_summary(diags))


# --- automation findings ------------------------------------------------------------------


def findings_text(findings: Sequence[Finding]) -> str:
    """``path:line: severity [rule] message`` lines, then a count per severity."""
    lines = [
        f"{f.path}:{f.line}: {f.severity} [{f.rule}] {f.message}"
        + (f" (owner: {f.owner})" if f.owner else "")
        for f in sorted(findings, key=lambda f: (f.path, f.line, f.rule, f.message))
    ]
    lines.append(findings_summary(findings))
    return "\n".join(lines) + "\n"


def findings_summary(findings: Sequence[Finding]) -> str:
    if not findings:
        return "no findings"
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    return ", ".join(f"{n} {s}(s)" for s, n in reversed(counts.items()) if n)


def findings_json(findings: Sequence[Finding]) -> str:
    rows = [
        {
            "rule": f.rule,
            "severity": f.severity,
            "project": f.project,
            "record": f.slug,
            "path": f.path,
            "line": f.line,
            "owner": f.owner,
            "message": f.message,
            "proposal": dict(f.proposal),
        }
        for f in sorted(findings, key=lambda f: (f.path, f.line, f.rule, f.message))
    ]
    return json.dumps({"findings": rows, "summary": findings_summary(findings)}, indent=2) + "\n"


def findings_github(findings: Sequence[Finding]) -> str:
    """At most 9 annotations (notice/warning/error), then a line naming how many more."""
    rows = sorted(findings, key=lambda f: (SEVERITIES.index(f.severity) * -1, f.path, f.line))
    lines = []
    for f in rows[:GITHUB_LIMIT]:
        kind = {"info": "notice"}.get(f.severity, f.severity)
        props = (
            f"file={_escape_prop(f.path)},line={f.line},title={_escape_prop('crmgen ' + f.rule)}"
        )
        lines.append(f"::{kind} {props}::{_escape_data(f.message)}")
    if len(rows) > GITHUB_LIMIT:
        lines.append(f"... and {len(rows) - GITHUB_LIMIT} more finding(s); see the job summary")
    lines.append(findings_summary(findings))
    return "\n".join(lines) + "\n"


def findings_step_summary(findings: Sequence[Finding]) -> str:
    """A Markdown table of every finding, grouped by owner, for ``GITHUB_STEP_SUMMARY``."""
    out = ["## crmgen check", "", findings_summary(findings), ""]
    if findings:
        out += ["| owner | record | rule | finding |", "| --- | --- | --- | --- |"]
        for f in sorted(findings, key=lambda f: (f.owner or "~", f.path, f.rule)):
            out.append(
                f"| {_cell(f.owner or 'unassigned')} | `{_cell(f.path)}` | {f.rule} "
                f"| {_cell(f.message)} |"
            )
    return "\n".join(out) + "\n"


def findings_fail(findings: Sequence[Finding], fail_on: str | None) -> bool:
    """Whether a finding is at or above ``fail_on`` (None: never)."""
    if fail_on is None:
        return False
    level = [str(s) for s in SEVERITIES].index(fail_on)
    return any(SEVERITIES.index(f.severity) >= level for f in findings)
