"""What an import did, row by row, and its report as text or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from crmgen.model import EMPTY, Diagnostic

from .mapping import Column

Status = Literal["created", "updated", "unchanged", "skipped", "rejected"]
STATUSES: tuple[Status, ...] = ("created", "updated", "unchanged", "skipped", "rejected")
_WOULD = {"created": "would create", "updated": "would update"}


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row of an input file and what became of it.

    Attributes:
        file: the input file, as named on the command line.
        row: its spreadsheet row number (the header is row 1).
        project: the project it goes to.
        status: created, updated, unchanged, skipped (an existing record that differs, without
            ``--update``) or rejected.
        slug: the record's id (empty when rejected before one was chosen).
        path: the record file, repo-relative.
        fields: for updated and skipped rows, the fields that differ.
        reasons: for rejected rows, every reason.
    """

    file: str
    row: int
    project: str
    status: Status
    slug: str = ""
    path: str = ""
    fields: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Remap:
    """A value changed on its way in, with the number of rows it happened in."""

    field: str
    before: str
    after: str
    how: str  # "map": the mapping file's values; "case": the declared spelling
    rows: int


@dataclass(frozen=True, slots=True)
class FileResult:
    """One input file: its project, what each column fills, and the values remapped."""

    name: str
    project: str
    key: str
    columns: tuple[Column, ...]
    remaps: tuple[Remap, ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    """A record file to write: repo-relative path, whole new text, whether it is new."""

    path: str
    text: str
    new: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of an import.

    ``writes`` are the files that were (or, in a dry run, would be) written; none when
    ``--all-or-nothing`` met a rejected row. ``problems`` are usage errors that stopped the
    import before any row (an unknown project, a bad mapping, an unreadable file).
    """

    files: tuple[FileResult, ...] = ()
    rows: tuple[RowResult, ...] = ()
    writes: tuple[Write, ...] = ()
    problems: tuple[Diagnostic, ...] = ()
    dry_run: bool = False
    all_or_nothing: bool = False
    written: bool = False
    notes: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(row.status for row in self.rows)
        return {status: counts[status] for status in STATUSES}

    @property
    def blocked(self) -> bool:
        """``--all-or-nothing`` met a rejected row: nothing is written."""
        return self.all_or_nothing and any(r.status == "rejected" for r in self.rows)


def text_report(result: ImportResult) -> str:
    """The report for a terminal: per file its columns, values remapped and rows; totals."""
    lines: list[str] = []
    by_file: dict[str, list[RowResult]] = {}
    for row in result.rows:
        by_file.setdefault(row.file, []).append(row)
    for info in result.files:
        lines.append(f"{info.name} -> {info.project} (key: {info.key})")
        matched = [
            c.header if c.header == c.target else f"{c.header} -> {c.target}"
            for c in info.columns
            if c.target is not None
        ]
        lines.append(f"  columns: {', '.join(matched) or 'none'}")
        for column in info.columns:
            if column.target is None:
                lines.append(f"  column {column.header!r} {column.why}")
        for remap in info.remaps:
            why = "mapping file" if remap.how == "map" else "declared spelling"
            lines.append(
                f"  value {remap.field}: {remap.before!r} -> {remap.after!r} "
                f"({remap.rows} row{'s' if remap.rows != 1 else ''}, {why})"
            )
        for row in by_file.get(info.name, []):
            lines.append("  " + _row_line(row, result.dry_run or result.blocked))
    totals = result.totals
    lines.append(", ".join(f"{status} {count}" for status, count in totals.items()))
    if result.blocked:
        lines.append(
            f"--all-or-nothing: {totals['rejected']} row(s) rejected, so nothing was written"
        )
    elif result.dry_run:
        lines.append("dry run: nothing was written")
    elif totals["skipped"]:
        lines.append(
            f"{totals['skipped']} existing record(s) differ from their rows and were left as "
            "they are; import again with --update to change them"
        )
    return "\n".join(lines) + "\n"


def _row_line(row: RowResult, hypothetical: bool) -> str:
    where = f"row {row.row}"
    if row.status == "rejected":
        return f"{where}: rejected: " + "; ".join(row.reasons)
    verb = _WOULD.get(row.status, row.status) if hypothetical else row.status
    line = f"{where}: {verb} {row.path}"
    if row.status == "updated":
        line += f" ({', '.join(row.fields)})"
    elif row.status == "skipped":
        line += f": differs in {', '.join(row.fields)}; --update to change it"
    return line


def json_report(result: ImportResult) -> str:
    """The report as JSON, for tools."""
    doc = {
        "files": [
            {
                "file": info.name,
                "project": info.project,
                "key": info.key,
                "columns": [
                    {"column": c.header, "field": c.target, "how": c.why} for c in info.columns
                ],
                "values": [
                    {
                        "field": r.field,
                        "from": r.before,
                        "to": r.after,
                        "how": r.how,
                        "rows": r.rows,
                    }
                    for r in info.remaps
                ],
            }
            for info in result.files
        ],
        "rows": [
            {
                "file": r.file,
                "row": r.row,
                "project": r.project,
                "status": r.status,
                "id": r.slug or None,
                "path": r.path or None,
                "fields": list(r.fields),
                "reasons": list(r.reasons),
            }
            for r in result.rows
        ],
        "totals": result.totals,
        "dry_run": result.dry_run,
        "written": result.written,
        "problems": [
            {"path": d.path, "line": d.line, "message": d.message} for d in result.problems
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
