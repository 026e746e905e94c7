from __future__ import annotations

import json
from pathlib import Path

from crmgen import report
from crmgen.model import Diagnostic


def _diag(i: int, severity: str = "error", path: str = "data/x.md") -> Diagnostic:
    return Diagnostic(
        severity,
        "type",
        f'amount must be a number, got "{i}k"',
        path,
        i,
        3,  # type: ignore[arg-type]
        "amount",
    )


def test_text_format_and_exit_codes() -> None:
    diags = [_diag(2), _diag(1, "warning")]
    assert report.format_text(diags) == (
        'data/x.md:1:3: warning: amount must be a number, got "1k"\n'
        'data/x.md:2:3: amount must be a number, got "2k"\n'
        "1 error(s), 1 warning(s)\n"
    )
    assert report.exit_code(diags) == 1
    assert report.exit_code([_diag(1, "warning")]) == 0
    assert report.exit_code([_diag(1, "warning")], strict=True) == 1
    assert report.exit_code([_diag(1, path="schema/a.schema.yaml")]) == 2
    assert report.exit_code([]) == 0


def test_github_annotations_are_capped_and_escaped() -> None:
    diags = [_diag(i) for i in range(1, 13)]
    diags.append(Diagnostic("error", "x", "50%\nnext", "data/a,b:c.md", 1, 1))
    out = report.format_github(diags).splitlines()
    annotations = [line for line in out if line.startswith("::")]
    assert len(annotations) == 9
    assert (
        annotations[0]
        == "::error file=data/a%2Cb%3Ac.md,line=1,col=1,title=crmgen x::50%25%0Anext"
    )
    assert out[9] == (
        "... and 4 more problem(s); see the job summary or run `crmgen validate` "
        "locally for the full list"
    )


def test_step_summary_lists_everything(tmp_path: Path) -> None:
    diags = [_diag(i) for i in range(1, 13)]
    target = tmp_path / "summary.md"
    report.write_step_summary(diags, target)
    text = target.read_text()
    assert text.count("| ❌ |") == 12
    assert "12 error(s), 0 warning(s)" in text


def test_json_format() -> None:
    data = json.loads(report.format_json([_diag(1)]))
    assert data["diagnostics"][0] == {
        "severity": "error",
        "code": "type",
        "message": 'amount must be a number, got "1k"',
        "path": "data/x.md",
        "line": 1,
        "col": 3,
        "field": "amount",
    }
