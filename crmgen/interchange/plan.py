"""Plan an import: rows of CSV files -> records to create or update, or reasons to reject.

Nothing here touches the disk or knows how records are validated or written: the build
passes ``Tools`` (the same parse and check as ``crmgen validate``, the line-preserving editor)
and the records that exist. Files are planned in dependency order (a file of clients before a
file of deals that references them), every row gets its record id first, then references are
resolved by id, title or key across everything (the repo and every row of the run), then each
row is checked. A row that references a rejected row is rejected with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from crmgen.messages import did_you_mean
from crmgen.model import Diagnostic, ProjectSchema, Record, error

from .cells import Mapped, read_cell, value_key
from .mapping import BODY, SLUG, Column, match_columns
from .outcome import FileResult, ImportResult, Remap, RowResult, Write
from .rows import (
    Input,
    Options,
    RowProblem,
    Tools,
    _default,
    _in_order,
    _key,
    _reason,
    _Row,
    _with_body,
    files_order,
    key_of,
    same_value,
)
from .slugs import unique_slug


def plan_import(
    inputs: Sequence[Input],
    schemas: Mapping[str, ProjectSchema],
    existing: Mapping[str, Mapping[str, Record]],
    tools: Tools,
    options: Options | None = None,
    ids: Mapping[str, set[str]] | None = None,
) -> ImportResult:
    """Plan the import of ``inputs`` into a repo holding ``existing`` records.

    ``ids`` are the record ids in use per project, valid records or not (a new record never
    takes the id of a broken file); the ids of ``existing`` by default.

    Returns:
        Every row's outcome and the files to write (none with ``all_or_nothing`` when a row is
        rejected); usage problems (unknown project or key, a bad mapping) instead of rows.
    """
    options = options or Options()
    problems: list[Diagnostic] = []
    files: list[tuple[Input, tuple[Column, ...], str]] = []
    for item in _in_order(inputs, schemas):
        name, spec = item.table.name, item.spec
        if spec.project is None:
            problems.append(
                error(
                    "usage-import",
                    f"{name}: say which project it goes to: --project P, "
                    "or 'project:' for it in the mapping file",
                )
            )
            continue
        schema = schemas.get(spec.project)
        if schema is None:
            problems.append(
                error(
                    "usage-import",
                    f"{name}: there is no project '{spec.project}'"
                    f"{did_you_mean(spec.project, sorted(schemas))}",
                )
            )
            continue
        columns, found = match_columns(item.table.header, schema, spec, name)
        problems.extend(found)
        key, found = _key(spec, schema, columns, name)
        problems.extend(found)
        files.append((item, columns, key))
    if problems:
        return ImportResult(problems=tuple(problems), dry_run=options.dry_run)
    return _Planner(schemas, existing, tools, options, ids or {}).run(files)


class _Planner:
    def __init__(
        self,
        schemas: Mapping[str, ProjectSchema],
        existing: Mapping[str, Mapping[str, Record]],
        tools: Tools,
        options: Options,
        ids: Mapping[str, set[str]],
    ) -> None:
        self.schemas = schemas
        self.existing = existing
        self.tools = tools
        self.options = options
        self.taken: dict[str, set[str]] = {
            p: set(existing.get(p, {})) | set(ids.get(p, ())) for p in schemas
        }
        self.planned: dict[tuple[str, str], _Row] = {}  # new records of this run by id
        self.titles: dict[str, dict[str, set[str]]] = {}
        self.keys: dict[str, dict[str, set[str]]] = {}
        for project, records in existing.items():
            title = schemas[project].title_field
            for slug, record in records.items():
                self._index(self.titles, project, record.values.get(title), slug)

    def _index(
        self, table: dict[str, dict[str, set[str]]], project: str, value: Any, slug: str
    ) -> None:
        if isinstance(value, str) and value.strip():
            table.setdefault(project, {}).setdefault(value_key(value), set()).add(slug)

    def run(self, files: list[tuple[Input, tuple[Column, ...], str]]) -> ImportResult:
        rows: list[_Row] = []
        results: list[FileResult] = []
        total = sum(len(item.table.rows) for item, _, _ in files)
        for item, columns, key in files:
            found, remaps = self._read(item, columns, key)
            rows.extend(found)
            results.append(
                FileResult(item.table.name, item.spec.project or "", key, columns, remaps)
            )
        for row in rows:
            if not row.reasons:
                self._resolve(row)
        ready = [row for row in rows if not row.reasons]

        def work(start: int, end: int) -> list[tuple[Any, ...]]:
            out = []
            for row in ready[start:end]:
                self._make(row)
                out.append((row.status, row.text, tuple(row.reasons), row.changed))
            return out

        made = self.tools.run_spans(work, len(ready)) if ready else []
        for row, (status, text, reasons, changed) in zip(ready, made, strict=True):
            row.status, row.text, row.reasons, row.changed = status, text, list(reasons), changed
        self.tools.progress(total, total)
        self._cascade(rows)
        for row in rows:
            if row.reasons:
                row.status = "rejected"
        out = tuple(
            RowResult(
                r.file,
                r.number,
                r.project,
                r.status,
                r.slug,
                self._path(r) if r.slug else "",
                r.changed,
                tuple(r.reasons),
            )
            for r in sorted(rows, key=lambda r: (files_order(results, r.file), r.number))
        )
        rejected = any(r.status == "rejected" for r in out)
        writes: tuple[Write, ...] = ()
        if not (self.options.all_or_nothing and rejected):
            writes = tuple(
                Write(self._path(r), r.text, r.status == "created")
                for r in rows
                if r.text is not None and r.status in ("created", "updated")
            )
        return ImportResult(
            tuple(results),
            out,
            writes,
            dry_run=self.options.dry_run,
            all_or_nothing=self.options.all_or_nothing,
        )

    def _path(self, row: _Row) -> str:
        if row.match is not None:
            return self.existing[row.project][row.match].path
        return f"data/{row.project}/{row.slug}.md"

    # -- reading rows -------------------------------------------------------------------------

    def _read(
        self, item: Input, columns: Sequence[Column], key: str
    ) -> tuple[list[_Row], tuple[Remap, ...]]:
        table, spec = item.table, item.spec
        project = spec.project or ""
        schema = self.schemas[project]
        fields = {f.name: f for f in schema.fields}
        rules = spec.rules
        lists = [s.name for s in schema.lists]
        mapped: list[Mapped] = []
        seen_rows: dict[str, int] = {}
        rows: list[_Row] = []
        for number, message in table.problems:
            rows.append(_Row(table.name, number, project, {}, {}, None, None, reasons=[message]))
        index = self._existing_index(project, key)
        key_kind = fields[key].type if key in fields else SLUG
        for row_ in table.rows:
            values: dict[str, Any] = {}
            refs: dict[str, Any] = {}
            body: str | None = None
            slug_cell: str | None = None
            parts: dict[str, dict[str, str]] = {}
            for column in columns:
                target = column.target
                if target is None:
                    continue
                text = row_.cells[column.index]
                if target == SLUG:
                    slug_cell = text.strip() or None
                elif target == BODY:
                    body = text.strip("\n") if text.strip() else None
                elif "." in target:
                    name, _, part = target.partition(".")
                    if text.strip():
                        parts.setdefault(name, {})[part] = text.strip()
                else:
                    spec_ = fields[target]
                    value = read_cell(spec_, text, rules, mapped, lists, schema.tags)
                    if value is None:
                        continue
                    if spec_.type == "reference":
                        refs[target] = value
                    else:
                        values[target] = value
            for name, found in parts.items():
                values[name] = found
            row = _Row(table.name, row_.number, project, values, refs, body, slug_cell)
            self._identify(row, key, key_kind, index, seen_rows, schema)
            rows.append(row)
        counted = Counter((m.field, m.before, m.after, m.how) for m in mapped)
        remaps = tuple(Remap(*k, rows=n) for k, n in sorted(counted.items()))
        rows.sort(key=lambda r: r.number)
        return rows, remaps

    def _existing_index(self, project: str, key: str) -> dict[str, list[str]]:
        records = self.existing.get(project, {})
        index: dict[str, list[str]] = {}
        if key == SLUG:
            return {slug: [slug] for slug in records}
        kind = self.schemas[project].field(key)
        for slug, record in records.items():
            value = record.values.get(key)
            found = key_of(value, kind.type if kind else "text")
            if found:
                index.setdefault(found, []).append(slug)
            if key != self.schemas[project].title_field:  # a key also finds references
                self._index(self.keys, project, found, slug)
        return index

    def _identify(
        self,
        row: _Row,
        key: str,
        kind: str,
        index: Mapping[str, list[str]],
        seen: dict[str, int],
        schema: ProjectSchema,
    ) -> None:
        """Find the row's existing record by its key, or give it a new id."""
        raw = row.slug_cell if key == SLUG else (row.values.get(key) or row.refs.get(key))
        row.key = raw if key == SLUG and raw else key_of(raw, kind)
        if row.key:
            if row.key in seen:
                shown = raw if isinstance(raw, str) else row.key
                row.reasons.append(
                    f"same {key} as row {seen[row.key]} ({shown!r}); keep one of the two rows"
                )
                return
            seen[row.key] = row.number
            matches = index.get(row.key, [])
            if len(matches) > 1:
                row.reasons.append(
                    f"{key} {row.key!r} matches {len(matches)} records of {row.project} "
                    f"({', '.join(sorted(matches))}); make the key unique, or import by id"
                )
                return
            if matches:
                row.match = row.slug = matches[0]
                return
        taken = self.taken.setdefault(row.project, set())
        title = row.values.get(schema.title_field)
        if row.slug_cell is not None:
            problem = self.tools.slug_problem(row.slug_cell)
            if problem or row.slug_cell in taken:
                row.reasons.append(
                    f"id {row.slug_cell!r} {problem or 'is taken by another record'}"
                )
                return
            row.slug = row.slug_cell
        else:
            name = title if isinstance(title, str) else raw if isinstance(raw, str) else ""
            row.slug = unique_slug(name, taken, self.tools.slug_problem, row.project[:-1] or "r")
        taken.add(row.slug)
        self.planned[(row.project, row.slug)] = row
        self._index(self.titles, row.project, title, row.slug)
        if key not in (SLUG, schema.title_field) and row.key:
            self._index(self.keys, row.project, row.key, row.slug)

    # -- references ---------------------------------------------------------------------------

    def _resolve(self, row: _Row) -> None:
        schema = self.schemas[row.project]
        for name, raw in row.refs.items():
            spec = schema.field(name)
            target = spec.target if spec is not None else None
            if target is None or target not in self.schemas:
                continue
            names = raw if isinstance(raw, list) else [raw]
            slugs = [self._find(target, text, name, row) for text in names]
            if any(s is None for s in slugs):
                continue
            found = [s for s in slugs if s is not None]
            row.values[name] = found if isinstance(raw, list) else found[0]
            row.targets.extend((target, s) for s in found)

    def _find(self, project: str, text: str, field_name: str, row: _Row) -> str | None:
        """The id of the record of ``project`` that ``text`` names: its id, its title, or
        its key in this import; a problem on ``row`` when none or several do."""
        if text in self.taken.get(project, set()):
            return text
        key = value_key(text)
        for table, how, wanted in (
            (self.titles, "title", key),
            (self.keys, "key", key),
            (self.keys, "key", key_of(text, "url")),
        ):
            found = table.get(project, {}).get(wanted, set())
            if len(found) == 1:
                return next(iter(found))
            if len(found) > 1:
                row.reasons.append(
                    f"{field_name} {text!r} is the {how} of {len(found)} records of {project} "
                    f"({', '.join(sorted(found))}); write the id of the one you mean"
                )
                return None
        titles = self.titles.get(project, {})
        shown = {k: k for k in titles}
        for slug in self.taken.get(project, set()):
            shown.setdefault(slug, slug)
        hint = did_you_mean(key, list(shown))
        hint = hint and self._shown_hint(project, hint)
        row.reasons.append(
            f"{field_name} {text!r} is not the id or the title of a record of {project}{hint}"
        )
        return None

    def _shown_hint(self, project: str, hint: str) -> str:
        """A did-you-mean on folded titles, shown with the title as written."""
        key = hint.split("'", 2)[1]
        for slug in sorted(self.titles.get(project, {}).get(key, ())):
            record = self.existing.get(project, {}).get(slug)
            title_field = self.schemas[project].title_field
            values = record.values if record else self.planned[(project, slug)].values
            return f"; did you mean {values.get(title_field)!r} ({slug})?"
        return hint

    def _cascade(self, rows: Sequence[_Row]) -> None:
        """Reject every row that references a new record whose row is rejected."""
        changed = True
        while changed:
            changed = False
            for row in rows:
                if row.reasons:
                    continue
                for project, slug in row.targets:
                    other = self.planned.get((project, slug))
                    if other is not None and other is not row and other.reasons:
                        row.reasons.append(
                            f"it references {slug!r}, the record of {other.file} row "
                            f"{other.number}, which is rejected"
                        )
                        changed = True
                        break

    # -- records ------------------------------------------------------------------------------

    def _make(self, row: _Row) -> None:
        schema = self.schemas[row.project]
        try:
            if row.match is None:
                self._create(row, schema)
            else:
                self._update(row, schema)
        except RowProblem as exc:
            row.reasons.append(str(exc))

    def _create(self, row: _Row, schema: ProjectSchema) -> None:
        values: dict[str, Any] = {}
        for spec in schema.fields:
            if spec.name in row.values:
                values[spec.name] = row.values[spec.name]
            elif spec.required and "default" in spec.schema:
                values[spec.name] = _default(spec.schema["default"])
        body = f"\n{row.body}\n" if row.body else ""
        text = self.tools.new_text(values, body)
        path = f"data/{row.project}/{row.slug}.md"
        record, problems = self.tools.check(row.project, row.slug, path, text)
        errors = [_reason(d) for d in problems if d.severity == "error"]
        if errors:
            row.reasons.extend(errors)
            return
        read = record.values if record is not None else {}
        if set(read) != set(values) or not all(same_value(read[k], v) for k, v in values.items()):
            raise RowProblem("its values would not read back exactly as given; please report it")
        row.status, row.text = "created", text

    def _update(self, row: _Row, schema: ProjectSchema) -> None:
        assert row.match is not None
        record = self.existing[row.project][row.match]
        changes = {
            name: value
            for name, value in row.values.items()
            if not same_value(record.values.get(name), value)
        }
        body_changed = row.body is not None and row.body != record.body.strip("\n")
        fields = tuple(name for name in (f.name for f in schema.fields) if name in changes)
        row.changed = (*fields, *(["body"] if body_changed else []))
        if not row.changed:
            row.status = "unchanged"
            return
        old = self.tools.read_text(record.path)
        text = self.tools.edit_text(old, changes) if changes else old
        if body_changed:
            text = _with_body(text, f"\n{row.body}\n")
        _, before = self.tools.check(row.project, row.match, record.path, old)
        _, after = self.tools.check(row.project, row.match, record.path, text)
        known = {(d.field, d.message) for d in before}
        errors = [
            _reason(d)
            for d in after
            if d.severity == "error" and (d.field, d.message) not in known
        ]
        if errors:
            row.reasons.extend(errors)
            return
        row.status = "updated" if self.options.update else "skipped"
        row.text = text
