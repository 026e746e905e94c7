"""Import, export and ``crmgen new`` around the pure steps of ``crmgen.interchange``.

This is where they meet the rest of crmgen: records are read and checked by the same code as
``crmgen validate`` (``records.read_records``, ``load.parse_record``, ``validate.Checker``),
written by the line-preserving editor (``edit``), and exports are made from the dataset a site
is built from, cut for the audience by ``redaction``. Files are written atomically: every new
text is first written to a temporary file beside its target, and only when all of them are
written are they renamed into place.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from crmgen import cache, edit, redaction, report
from crmgen.config import load_config
from crmgen.forms.issue import read_issue
from crmgen.forms.template import issue_template, template_path
from crmgen.interchange import export
from crmgen.interchange.csvfile import CsvError, read_table
from crmgen.interchange.mapping import FileSpec, MappingFile, parse_mapping
from crmgen.interchange.newrecord import new_values, parse_sets
from crmgen.interchange.outcome import ImportResult, Write
from crmgen.interchange.plan import plan_import
from crmgen.interchange.rows import Input, Options, RowProblem, Tools, in_spans
from crmgen.interchange.slugs import unique_slug
from crmgen.load import find_records, parse_record, slug_problem
from crmgen.model import Config, Diagnostic, ProjectSchema, Record, error, record_page
from crmgen.model.store import NO_STORE, Store, digest
from crmgen.schema import load_schemas
from crmgen.validate import Checker
from crmgen.write import sync_tree

from .records import can_fork, read_records, workers

#: ``progress(rows done, rows in all)``.
RowProgress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    return None


def _setup(root: Path) -> tuple[Config, dict[str, ProjectSchema], list[Diagnostic]]:
    config, diags = load_config(root)
    schemas, more = load_schemas(root, config)
    problems = [d for d in [*diags, *more] if d.severity == "error" and report.is_config(d)]
    return config, schemas, problems


class _Checks:
    """Parse and check a record text exactly as ``crmgen validate`` does (one checker per
    project)."""

    def __init__(self, root: Path, config: Config, schemas: Mapping[str, ProjectSchema]) -> None:
        self.root, self.config, self.schemas = root, config, schemas
        self.checkers: dict[str, Checker] = {}

    def __call__(
        self, project: str, slug: str, path: str, text: str
    ) -> tuple[Record | None, list[Diagnostic]]:
        schema = self.schemas[project]
        record, problems = parse_record(text, path, project, slug, schema)
        if record is None:
            return None, problems
        checker = self.checkers.get(project)
        if checker is None:
            checker = self.checkers[project] = Checker(self.root, self.config, schema)
        typed, more = checker.run(record)
        return typed, [*problems, *more]


def _new_text(values: Mapping[str, Any], body: str) -> str:
    try:
        return edit.new_record(values, body, verify=False)  # the plan reads it back
    except edit.EditError as exc:
        raise RowProblem(str(exc)) from None


def _edit_text(text: str, changes: Mapping[str, Any]) -> str:
    try:
        return edit.set_fields(text, changes)
    except edit.EditError as exc:
        raise RowProblem(f"the record cannot be edited safely: {exc}") from None


def import_files(
    root: Path,
    files: Sequence[Path],
    *,
    mapping: Path | None = None,
    project: str | None = None,
    key: str | None = None,
    options: Options | None = None,
    progress: RowProgress = _quiet,
    use_cache: bool = True,
) -> ImportResult:
    """``crmgen import``: read, plan and (unless a dry run, or blocked by all-or-nothing)
    write. Usage problems (a broken schema, mapping or file) are in ``ImportResult.problems``
    and nothing is read further."""
    options = options or Options()
    config, schemas, problems = _setup(root)
    plan_of = MappingFile()
    if mapping is not None:
        try:
            text = mapping.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(error("usage-mapping", f"cannot read the mapping {mapping}: {exc}"))
        else:
            plan_of, found = parse_mapping(text, str(mapping))
            problems.extend(found)
    inputs: list[Input] = []
    for file in files:
        spec = _with_options(plan_of.spec(str(file)), project, key)
        try:
            table = read_table(str(file), file.read_bytes(), spec.delimiter)
        except OSError as exc:
            problems.append(error("usage-import", f"cannot read {file}: {exc.strerror}"))
            continue
        except CsvError as exc:
            problems.append(error("import-file", str(exc)))
            continue
        inputs.append(Input(table, spec))
    if problems:
        return ImportResult(problems=tuple(problems), dry_run=options.dry_run)
    with cache.opened(root if use_cache else None) as store:
        existing, _ = read_records(root, config, schemas, store)
    sources, _ = find_records(root, config, schemas)
    on_disk: dict[str, set[str]] = {}
    for source in sources:
        on_disk.setdefault(source.project, set()).add(source.slug)

    def free(slug: str) -> str | None:
        return slug_problem(slug)

    tools = Tools(
        check=_Checks(root, config, schemas),
        new_text=_new_text,
        edit_text=_edit_text,
        read_text=lambda rel: (root / rel).read_bytes().decode("utf-8"),
        slug_problem=free,
        progress=progress,
        map_rows=_forked_spans,
    )
    result = plan_import(inputs, schemas, existing, tools, options, on_disk)
    if result.problems or options.dry_run or result.blocked or not result.writes:
        return result
    try:
        write_atomically(root, result.writes)
    except OSError as exc:
        problem = error("import-write", f"nothing was written: {exc}")
        return dataclasses.replace(result, problems=(problem,))
    return dataclasses.replace(result, written=True)


#: Below this many rows one process does the work (forking costs more than it saves).
PARALLEL_FROM = 400
_WORK: Callable[[int, int], list[Any]] | None = None


def _forked_spans(
    work: Callable[[int, int], list[Any]], count: int, progress: RowProgress
) -> list[Any]:
    """``work`` over ``range(count)`` in spans, in forked workers on every core this process
    may use (they inherit the plan; each returns plain tuples), in order; here when there are
    few rows, one core, or no fork."""
    global _WORK
    cores = workers()
    if count < PARALLEL_FROM or cores < 2 or not can_fork():
        return in_spans(work, count, progress)
    _WORK = work
    try:
        size = max(50, -(-count // (cores * 8)))
        spans = [(start, min(count, start + size)) for start in range(0, count, size)]
        out: list[Any] = []
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
            for part in pool.map(_span, spans):
                out.extend(part)
                progress(len(out), count)
        return out
    finally:
        _WORK = None


def _span(span: tuple[int, int]) -> list[Any]:
    assert _WORK is not None
    return _WORK(*span)


def _with_options(spec: FileSpec, project: str | None, key: str | None) -> FileSpec:
    """The command line's ``--project`` and ``--key`` win over the mapping file."""
    return dataclasses.replace(spec, project=project or spec.project, key=key or spec.key)


def write_atomically(root: Path, writes: Sequence[Write]) -> None:
    """Write every file or none: all texts go to temporary files beside their targets first
    (a full disk or a missing permission stops the import here, with nothing changed); then
    each is renamed over its target (a rename within a folder is atomic). A file's
    permissions are kept.

    Raises:
        OSError: a temporary file could not be written (they are all removed again).
    """
    staged: list[tuple[Path, Path]] = []
    many = len(writes) > 8  # then one sync of the file system beats a sync per file
    try:
        for write in writes:
            target = root / write.path
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.crmgen-import")
            staged.append((temp, target))
            with open(temp, "wb") as handle:
                handle.write(write.text.encode("utf-8"))
                if not many:
                    handle.flush()
                    os.fsync(handle.fileno())
            if target.exists():
                shutil.copymode(target, temp)
            elif write.new is False:  # pragma: no cover - an updated record went away
                raise FileNotFoundError(f"{write.path} was removed during the import")
        if many:
            sync_tree(root)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, target in staged:
        os.replace(temp, target)


def export_project(
    root: Path,
    project: str,
    *,
    fmt: str = "csv",
    audience: str | None = None,
    bom: bool = False,
    as_of: str | None = None,
    titles: bool = False,
) -> tuple[bytes | None, tuple[Diagnostic, ...]]:
    """``crmgen export``: the project as the audience may see it (like the site), as CSV or
    JSON; None and the problems when the data has errors or the options are wrong."""
    from .pipeline import load_dataset, load_dataset_at

    if as_of is not None:
        dataset = load_dataset_at(root, as_of)
    else:
        with cache.opened(root) as store:
            dataset = load_dataset(root, store=store)
    problems = list(dataset.diagnostics)
    if report.exit_code(problems):
        return None, tuple(problems)
    cut, more = redaction.redact(dataset, audience)
    problems.extend(more)
    if more:
        return None, tuple(problems)
    if project not in cut.projects:
        hint = report_hint(project, list(cut.projects))
        problems.append(error("usage-project", f"there is no project '{project}'{hint}"))
        return None, tuple(problems)
    if fmt == "json":
        return export.to_json(cut, project, titles=titles), tuple(problems)
    return export.to_csv(cut, project, titles=titles, bom=bom), tuple(problems)


def _unknown_references(
    schema: ProjectSchema, values: Mapping[str, Any], ids: Mapping[str, list[str]]
) -> list[Diagnostic]:
    """An error for each reference to a record that does not exist (as the link stage says)."""
    from crmgen.messages import did_you_mean

    out = []
    for spec in schema.fields:
        value = values.get(spec.name)
        if spec.type != "reference" or value is None or spec.target is None:
            continue
        for slug in value if isinstance(value, list | tuple) else [value]:
            known = ids.get(spec.target, [])
            if slug not in known:
                out.append(
                    error(
                        "unknown-reference",
                        f"{spec.name} '{slug}' does not exist in {spec.target}"
                        f"{did_you_mean(str(slug), known)}",
                    )
                )
    return out


def report_hint(name: str, choices: list[str]) -> str:
    from crmgen.messages import did_you_mean

    return did_you_mean(name, choices) or (f"; projects: {', '.join(choices)}" if choices else "")


def site_csv_files(
    dataset: Any, page_keys: Mapping[str, str], store: Store = NO_STORE
) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    """The CSV of each project for the site, as (``<project>/<project>.csv``, key, a function
    that makes it); the dataset is already cut for the site's audience. The key is made of
    the keys of the project's record pages (which cover each record's values, computed
    values and the settings), "" when one has none: a project none of whose records changed
    keeps its CSV. Each row is kept encoded in ``store`` under its record page's key, so a
    CSV of which one row changed makes that row only."""
    for name in sorted(dataset.projects):
        slugs = sorted(dataset.projects[name].records)
        keys = {slug: page_keys.get(record_page(name, slug), "") for slug in slugs}
        key = digest(("csv", name, list(keys.values()))) if all(keys.values()) else ""
        yield f"{name}/{name}.csv", key, functools.partial(_site_csv, dataset, name, keys, store)


#: The store's space for the site CSV's rows, by record page key.
CSV_ROWS = "csv-rows"


def _site_csv(dataset: Any, name: str, keys: Mapping[str, str], store: Store) -> bytes:
    wanted = {slug: f"{name}:{key}" for slug, key in keys.items() if key}
    found = store.get_many(CSV_ROWS, wanted.values())
    made = {slug: found[k] for slug, k in wanted.items() if k in found}

    def keep(slug: str, line: bytes) -> None:
        if slug in wanted:
            store.put(CSV_ROWS, wanted[slug], line)

    return export.to_csv(dataset, name, made=made, keep=keep)


#: ``ask(field label, field name) -> text``: asks for a required value on a terminal.
Ask = Callable[[str, str], str]


def new_record(
    root: Path,
    project: str,
    title: str,
    sets: Sequence[str] = (),
    *,
    ask: Ask | None = None,
    body: str = "",
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """``crmgen new``: write a new valid record of ``project`` from its schema's defaults, the
    title and ``field=value`` pairs; required fields still missing are asked for with ``ask``
    (on a terminal), or listed in an error.

    Returns:
        The new file's repo-relative path (None when nothing was written) and the problems.
    """
    config, schemas, problems = _setup(root)
    if problems:
        return None, tuple(problems)
    schema = schemas.get(project)
    if schema is None:
        hint = report_hint(project, sorted(schemas))
        return None, (error("usage-project", f"there is no project '{project}'{hint}"),)
    given, found = parse_sets(sets, schema)
    if found:
        return None, tuple(error("usage-set", p) for p in found)
    return _create(root, config, schemas, schema, title, given, ask=ask, body=body)


def _create(
    root: Path,
    config: Config,
    schemas: Mapping[str, ProjectSchema],
    schema: ProjectSchema,
    title: str,
    given: dict[str, str],
    *,
    ask: Ask | None = None,
    body: str = "",
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """A new record of ``schema`` from its defaults, the title and field -> text answers,
    validated like ``crmgen validate`` and written atomically (``crmgen new``, ``crmgen
    import-issue``)."""
    project = schema.name
    values, missing = new_values(schema, title, given)
    if missing and ask is not None:
        for name in missing:
            spec = schema.field(name)
            given[name] = ask(spec.label if spec else name, name)
        values, missing = new_values(schema, title, given)
    if missing:
        return None, (
            error(
                "new-required",
                f"{project} requires {', '.join(missing)}, which the schema gives no default; "
                f"give {' '.join(f'--set {m}=...' for m in missing)}",
            ),
        )
    sources, _ = find_records(root, config, schemas)
    ids: dict[str, list[str]] = {}
    for source in sources:
        ids.setdefault(source.project, []).append(source.slug)
    unknown = _unknown_references(schema, values, ids)
    if unknown:
        return None, tuple(unknown)
    taken = set(ids.get(project, ()))
    slug = unique_slug(title, taken, slug_problem, project.rstrip("s") or "record")
    path = f"data/{project}/{slug}.md"
    try:
        text = edit.new_record(values, body)
    except edit.EditError as exc:
        return None, (error("new-value", str(exc)),)
    _, checked = _Checks(root, config, schemas)(project, slug, path, text)
    errors = [
        dataclasses.replace(d, path="", line=0, col=0) for d in checked if d.severity == "error"
    ]
    if errors:
        return None, tuple(errors)
    write_atomically(root, [Write(path, text, True)])
    return path, ()


def import_issue(
    root: Path, data: bytes, *, project: str | None = None
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """``crmgen import-issue``: a new record from an issue opened from a project's form (the
    JSON of ``github.event.issue``, or the whole event), in the form's list, validated and
    written like ``crmgen new``.

    Returns:
        The new file's repo-relative path (None when nothing was written) and the problems,
        each naming its field.
    """
    config, schemas, problems = _setup(root)
    if problems:
        return None, tuple(problems)
    answers, found = read_issue(data, schemas, project)
    if answers is None:
        return None, tuple(error("issue", p) for p in found)
    schema = schemas[answers.project]
    given = dict(answers.texts)
    form = schema.form
    if form is not None and form.list and schema.list_field:
        given[schema.list_field] = form.list
    body = f"\n{answers.body}\n" if answers.body else ""
    return _create(root, config, schemas, schema, answers.title, given, body=body)


def issue_templates(
    root: Path, project: str | None = None
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """``crmgen issue-template``: repo-relative path -> text of the issue template of each
    project with a form (or of ``project``), and the problems (a broken schema, a project
    without a form)."""
    _, schemas, problems = _setup(root)
    if problems:
        return {}, tuple(problems)
    if project is not None and project not in schemas:
        hint = report_hint(project, sorted(schemas))
        return {}, (error("usage-project", f"there is no project '{project}'{hint}"),)
    chosen = [schemas[project]] if project else list(schemas.values())
    files = {}
    for schema in chosen:
        path = template_path(schema)
        if path is not None:
            files[path] = issue_template(schema)
    if not files:
        which = project or "any project"
        return {}, (
            error("usage-form", f"{which} has no form; declare x-crmgen.form in its schema"),
        )
    return dict(sorted(files.items())), ()


def cms_configs(root: Path) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """``crmgen cms-config``: ``admin/config.yml`` (Decap CMS) and ``frontmatter.json`` (Front
    Matter CMS) made from the schemas, as repo-relative path -> text."""
    from crmgen.cms.decap import decap_yaml
    from crmgen.cms.frontmatter import frontmatter_json

    config, schemas, problems = _setup(root)
    if problems:
        return {}, tuple(problems)
    return {
        "admin/config.yml": decap_yaml(config, schemas),
        "frontmatter.json": frontmatter_json(config, schemas),
    }, ()
