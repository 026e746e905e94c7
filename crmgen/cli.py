"""The ``crmgen`` command line: options in, one library call, diagnostics out.

Exit status: 0 success, 1 data errors, 2 usage or configuration errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from crmgen import report
from crmgen.model import Diagnostic

ROOT = click.argument(
    "root",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)


def _emit(diags: tuple[Diagnostic, ...] | list[Diagnostic], fmt: str | None) -> None:
    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    if fmt == "json":
        click.echo(report.format_json(diags), nl=False)
    elif fmt == "github":
        click.echo(report.format_github(diags), nl=False)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            report.write_step_summary(diags, Path(summary))
    else:
        click.echo(report.format_text(diags), nl=False, err=bool(diags))


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise click.UsageError(f"{root} is not a folder; give the data repo's root")


FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default=None,
    help="Output format (github is automatic when GITHUB_ACTIONS=true).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crmgen")
def main() -> None:
    """crmgen: a sales CRM whose database is a git repository."""


def run() -> NoReturn:
    """The ``crmgen`` command (the console script and ``python -m crmgen``): the command, then
    an exit that does not free the process's objects one by one.

    A build of 10,000 deals ends holding millions of objects, and the interpreter's own exit
    frees each of them: 0.1-0.3 s that nobody waits for. Nothing is lost by skipping it: a
    command has written and closed its files when it returns (site files are written
    atomically, the cache is closed by its ``with``, workers are waited for), and the standard
    streams are flushed here. Tests call ``main`` through click's runner instead.
    """
    try:
        main.main()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click's standalone mode always ends with SystemExit
        code = 0
    status = _status(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``crmgen ... | head``), as Python's exit
            status = status or 120
    os._exit(status)


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` gives: None 0, an int itself, else printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


NO_CACHE = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Read and write no cache (.crmgen-cache/): do everything again.",
)


@main.command()
@ROOT
@FORMAT
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@NO_CACHE
def validate(root: Path, fmt: str | None, strict: bool, no_cache: bool) -> None:
    """Check every record and schema; report all problems with file:line:col.

    Example: crmgen validate . --format github
    """
    from crmgen.build import validate_repo

    _check_root(root)
    diagnostics = validate_repo(root, cache=not no_cache)
    _emit(diagnostics, fmt)
    sys.exit(report.exit_code(diagnostics, strict))


@main.command()
@ROOT
@FORMAT
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error"]),
    default=None,
    help="Exit 1 when a finding is at least this severe (default: findings never fail).",
)
@click.option("--strict", is_flag=True, help="Treat data warnings as errors.")
def check(root: Path, fmt: str | None, fail_on: str | None, strict: bool) -> None:
    """Run the automations (assignment, follow-ups, aging) and list what they found.

    Data problems are reported first, as by validate. Example: crmgen check --fail-on warning
    """
    from crmgen.build import load_dataset

    _check_root(root)
    dataset = load_dataset(root)
    code = report.exit_code(dataset.diagnostics, strict)
    if dataset.diagnostics:
        _emit(dataset.diagnostics, fmt)
    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    findings = dataset.findings
    if fmt == "json":
        click.echo(report.findings_json(findings), nl=False)
    elif fmt == "github":
        click.echo(report.findings_github(findings), nl=False)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(report.findings_step_summary(findings))
    else:
        click.echo(report.findings_text(findings), nl=False)
    if not code and report.findings_fail(findings, fail_on):
        code = report.EXIT_DATA
    sys.exit(code)


@main.command()
@click.argument("revisions")
@click.argument(
    "root",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    help="Markdown for a pull-request summary, or JSON.",
)
@click.option("--audience", default=None, help="Leave out what this audience may not see.")
@click.option("--base-url", default="", help="Link each record to the published site.")
def changes(revisions: str, root: Path, fmt: str, audience: str | None, base_url: str) -> None:
    """What changed in the pipeline between two revisions: A..B, A.. (to HEAD), or A (to the
    working tree).

    Records added and removed, stage moves (and who each stage notifies), amount and close-date
    changes, and the change in open pipeline and weighted forecast.

    Example: crmgen changes origin/main..HEAD >> "$GITHUB_STEP_SUMMARY"
    """
    from crmgen import changes as changes_out
    from crmgen.build import compare_revisions

    _check_root(root)
    base, dots, head = revisions.partition("..")
    if not base:
        raise click.UsageError("give A..B, A.. or A, e.g. origin/main..HEAD")
    found, diags = compare_revisions(
        root, base, (head or "HEAD") if dots else None, audience=audience
    )
    problems = [d for d in diags if d.severity != "info"]
    if problems or found is None:
        click.echo(report.format_text(problems or list(diags)), nl=False, err=True)
    if found is None:
        sys.exit(report.exit_code(diags) or report.EXIT_DATA)
    url = base_url if not base_url or base_url.endswith("/") else base_url + "/"
    out = changes_out.as_json(found) if fmt == "json" else changes_out.markdown(found, url)
    click.echo(out, nl=False)


@main.command()
@ROOT
@click.option("--dry-run", is_flag=True, help="Show what would be written; change no file.")
def assign(root: Path, dry_run: bool) -> None:
    """Give unassigned leads an owner by the assignment rules; writes only the owner lines.

    Example: crmgen assign --dry-run
    """
    from crmgen.build import load_dataset
    from crmgen.edit import EditError, write_fields

    _check_root(root)
    dataset = load_dataset(root)
    code = report.exit_code(dataset.diagnostics)
    if code:
        _emit(dataset.diagnostics, None)
        click.echo("nothing was assigned: fix the problems above first", err=True)
        sys.exit(code)
    proposals = [f for f in dataset.findings if f.rule == "assignment" and f.proposal]
    for finding in proposals:
        schema = dataset.projects[finding.project].schema
        after = [name for name in (schema.list_field, schema.title_field) if name]
        what = ", ".join(f"{k}: {v}" for k, v in finding.proposal.items())
        reason = finding.message.split("(", 1)[-1].rstrip(")")
        if not dry_run:
            try:
                write_fields(root, finding.path, finding.proposal, after)
            except (EditError, OSError) as exc:
                click.echo(f"{finding.path}: not changed: {exc}", err=True)
                code = report.EXIT_DATA
                continue
        click.echo(f"{finding.path}: {what} ({reason})")
    verb = "would assign" if dry_run else "assigned"
    click.echo(f"{verb} {len(proposals)} record(s)", err=True)
    sys.exit(code)


@main.command()
@ROOT
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: ROOT/site).",
)
@click.option("--base-url", default=None, help="Public URL of the site (links stay relative).")
@click.option(
    "--audience",
    default=None,
    help="Build for this audience, declared in crmgen.yml (default: publish.audience in "
    "crmgen.yml, else the most restricted one: no restricted field is shown).",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE|REV",
    help="Build the data as it stood on a date (YYYY-MM-DD) or at a git revision.",
)
@FORMAT
@NO_CACHE
def build(
    root: Path,
    out: Path | None,
    base_url: str | None,
    audience: str | None,
    strict: bool,
    as_of: str | None,
    fmt: str | None,
    no_cache: bool,
) -> None:
    """Validate and build the static site; on errors nothing is written.

    Example: crmgen build . --out site
    """
    from crmgen.build import build_site
    from crmgen.progress import clear_line, terminal_progress

    _check_root(root)
    if base_url and not base_url.startswith(("https://", "http://", "/")):
        raise click.UsageError("--base-url must be an http(s) URL or start with '/'")
    result = build_site(
        root,
        out or root / "site",
        audience=audience,
        base_url=base_url,
        strict=strict,
        progress=terminal_progress(),
        as_of=as_of,
        cache=not no_cache,
    )
    clear_line()
    _emit(result.diagnostics, fmt)
    code = report.exit_code(result.diagnostics, strict)
    if not code and result.kept:
        click.echo(
            f"nothing changed since the last build: {out or root / 'site'} is up to date "
            f"({result.written} files)",
            err=True,
        )
    elif not code:
        click.echo(f"built {result.written} files into {out or root / 'site'}", err=True)
    sys.exit(code)


@main.command()
@ROOT
@click.option(
    "-a",
    "--address",
    default="127.0.0.1:8000",
    show_default=True,
    help="Loopback HOST:PORT to listen on.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the preview is built (default: ROOT/site).",
)
@click.option("--audience", default=None, help="Preview the site of this audience.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a browser.")
def serve(
    root: Path, address: str, out: Path | None, audience: str | None, open_browser: bool
) -> None:
    """Build, serve on loopback, rebuild and reload on every change.

    Example: crmgen serve . -a 127.0.0.1:8000 --open
    """
    from crmgen import serve as preview

    _check_root(root)
    try:
        host, port = preview.parse_address(address)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    def ready(url: str) -> None:
        click.echo(f"serving {root} at {url} (Ctrl-C to stop)", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    def built(problems: list[Diagnostic]) -> None:
        click.echo(report.format_text(problems), nl=False, err=True)

    try:
        preview.serve(
            root,
            out or root / "site",
            host,
            port,
            audience=audience,
            on_ready=ready,
            on_build=built,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {address}: {exc.strerror}") from exc


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--bare", is_flag=True, help="Leave out the example client and deal.")
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder that is not empty; every file replaced is named.",
)
def init(directory: Path, bare: bool, force: bool) -> None:
    """Start a new data repo in DIRECTORY: crmgen.yml, the schemas of a client database and a
    sales pipeline, two example records, GitHub workflows, pre-commit, CODEOWNERS, a README.

    Example: crmgen init my-crm && crmgen build my-crm
    """
    from crmgen.scaffold import ScaffoldError, scaffold_files, write_scaffold

    try:
        written = write_scaffold(directory, scaffold_files(bare=bare), force=force)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from exc
    for item in written:
        if item.action == "overwritten":
            click.echo(f"overwrote {directory / item.path}", err=True)
    count = {a: sum(i.action == a for i in written) for a in ("created", "overwritten")}
    kept = len(written) - count["created"] - count["overwritten"]
    click.echo(
        f"created {count['created']} file(s) in {directory}"
        + (f", overwrote {count['overwritten']}" if count["overwritten"] else "")
        + (f", {kept} already as they are" if kept else "")
        + f"; next: crmgen build {directory}; {directory / 'README.md'} says how to publish",
        err=True,
    )


# -- getting data in and out (#12): import, export, new -------------------------------------


def _row_progress() -> Any:
    """A progress bar for a long import, on a terminal only (never in CI or a pipe)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return lambda done, total: None

    def show(done: int, total: int) -> None:
        if total >= 500:  # called once per span of rows, not per row
            width = 30
            filled = width * done // total
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r\x1b[K[{bar}] {done}/{total} rows")
            if done == total:
                sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    return show


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", "-p", default=None, help="The project the rows go to.")
@click.option(
    "--map",
    "mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Mapping file: projects, columns, value maps, key and formats per file.",
)
@click.option("--key", default=None, help="Field that finds existing records (default: title).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--update", is_flag=True, help="Change existing records that differ.")
@click.option("--all-or-nothing", is_flag=True, help="Write nothing when any row is rejected.")
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The data repo (default: the current folder).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def import_(
    files: tuple[Path, ...],
    project: str | None,
    mapping: Path | None,
    key: str | None,
    dry_run: bool,
    update: bool,
    all_or_nothing: bool,
    root: Path,
    fmt: str,
) -> None:
    """Import CSV files into records: validated first, existing records kept unless --update.

    Exit status 1 when a row is rejected. Example:
    crmgen import accounts.csv deals.csv --map mapping.yml --dry-run
    """
    from crmgen.build.interchange import import_files
    from crmgen.interchange.outcome import json_report, text_report
    from crmgen.interchange.rows import Options

    _check_root(root)
    options = Options(update=update, all_or_nothing=all_or_nothing, dry_run=dry_run)
    result = import_files(
        root,
        files,
        mapping=mapping,
        project=project,
        key=key,
        options=options,
        progress=_row_progress(),
    )
    if result.problems and not result.rows:
        _emit(list(result.problems), None)
        sys.exit(report.exit_code(result.problems) or report.EXIT_DATA)
    click.echo(json_report(result) if fmt == "json" else text_report(result), nl=False)
    if result.problems:
        _emit(list(result.problems), None)
        sys.exit(report.EXIT_DATA)
    sys.exit(report.EXIT_DATA if result.totals["rejected"] else report.EXIT_OK)


@main.command("export")
@click.argument("project")
@click.argument(
    "root", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option(
    "--audience",
    default=None,
    help="Export what this audience sees (default: the most restricted one, like the site).",
)
@click.option("--bom", is_flag=True, help="Start the CSV with a BOM (for old Excel versions).")
@click.option("--as-of", "as_of", default=None, metavar="DATE|REV", help="Export the data as "
              "it stood on a date or at a git revision.")  # fmt: skip
@click.option("--titles", is_flag=True, help="Add the title of each referenced record.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
def export_(
    project: str,
    root: Path,
    fmt: str,
    audience: str | None,
    bom: bool,
    as_of: str | None,
    titles: bool,
    output: Path | None,
) -> None:
    """Export a project's records, every field, stored and computed, as CSV or JSON.

    CSV cells are safe to open in a spreadsheet. Example: crmgen export opportunities -o deals.csv
    """
    from crmgen.build.interchange import export_project

    _check_root(root)
    data, problems = export_project(
        root, project, fmt=fmt, audience=audience, bom=bom, as_of=as_of, titles=titles
    )
    if data is None:
        _emit(list(problems), None)
        click.echo("nothing was exported: fix the problems above first", err=True)
        sys.exit(report.exit_code(problems) or report.EXIT_DATA)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from crmgen.build.interchange import write_atomically
        from crmgen.interchange.outcome import Write

        write_atomically(output.parent.resolve(), [Write(output.name, data.decode(), True)])
        click.echo(f"exported {project} to {output}", err=True)


@main.command("new")
@click.argument("project")
@click.argument("title")
@click.option(
    "--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A field's value (repeatable)."
)
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The data repo (default: the current folder).",
)
def new(project: str, title: str, sets: tuple[str, ...], root: Path) -> None:
    """Create a valid record from the schema (its defaults, a title, --set values); print its
    path. Required fields without a default are asked for on a terminal.

    Example: crmgen new opportunities "Acme website" --set client=acme-corp --set amount=42000
    """
    from crmgen.build.interchange import new_record

    _check_root(root)
    ask = None
    if sys.stdin.isatty() and not os.environ.get("CI"):

        def ask(label: str, name: str) -> str:
            return str(click.prompt(f"{label} ({name})"))

    path, problems = new_record(root, project, title, sets, ask=ask)
    if path is None:
        _fail_with(problems)
    click.echo(path)


# -- the lead form (#12): issue templates and issues into records ----------------------------


@main.command("issue-template")
@click.argument("project", required=False)
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The data repo (default: the current folder).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a template is stale.")
def issue_template(project: str | None, root: Path, check: bool) -> None:
    """Write the GitHub issue template of each project's lead form (or of PROJECT):
    .github/ISSUE_TEMPLATE/new-<label>.yml, made from the schema; print each path.

    Example: crmgen issue-template clients
    """
    from crmgen.build.interchange import issue_templates

    _check_root(root)
    files, problems = issue_templates(root, project)
    _write_generated(
        root,
        files,
        problems,
        check,
        "differs from the form in the schema; run crmgen issue-template",
    )


def _fail_with(problems: Sequence[Diagnostic], *notes: str) -> NoReturn:
    """Report ``problems`` (and ``notes``) on standard error and exit with their code."""
    click.echo(report.format_text(problems), nl=False, err=True)
    for note in notes:
        click.echo(note, err=True)
    sys.exit(report.exit_code(problems) or report.EXIT_DATA)


def _write_generated(
    root: Path, files: Mapping[str, str], problems: Sequence[Diagnostic], check: bool, stale: str
) -> None:
    """Write the files a command generates from the schemas (only those that differ, at once),
    printing each path; with ``check``, write nothing and exit 1 naming each file that
    differs (``stale`` says why)."""
    from crmgen.build.interchange import write_atomically
    from crmgen.interchange.outcome import Write

    if problems:
        _fail_with(problems)
    differ = [p for p, text in files.items() if _read_or_none(root / p) != text]
    if check:
        for path in differ:
            click.echo(f"{path} {stale}")
        sys.exit(report.EXIT_DATA if differ else report.EXIT_OK)
    write_atomically(root, [Write(p, files[p], not (root / p).exists()) for p in differ])
    for path in files:
        click.echo(path)


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@main.command("import-issue")
@click.argument("issue", type=click.File("rb"))
@click.option("--project", "-p", default=None, help="The project whose form it comes from.")
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The data repo (default: the current folder).",
)
def import_issue(issue: Any, project: str | None, root: Path) -> None:
    """Create a record from an issue opened from a lead form: ISSUE is its JSON (the
    github.event.issue of a workflow, or the whole event; - for standard input). The record is
    validated like any other; prints its path.

    Example: crmgen import-issue "$GITHUB_EVENT_PATH"
    """
    from crmgen.build.interchange import import_issue as create
    from crmgen.forms.issue import MAX_ISSUE_BYTES

    _check_root(root)
    data = issue.read(MAX_ISSUE_BYTES + 1)
    path, problems = create(root, data, project=project)
    if path is None:
        _fail_with(problems, "no record was made from the issue")
    click.echo(path)


# -- editors in a form (#12): Decap CMS and Front Matter CMS -------------------------------


@main.command("cms-config")
@ROOT
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file is stale.")
def cms_config(root: Path, check: bool) -> None:
    """Write admin/config.yml (Decap CMS, every edit a pull request) and frontmatter.json
    (Front Matter CMS) from the schemas, so records can be edited in a form; print each path.

    Example: crmgen cms-config .
    """
    from crmgen.build.interchange import cms_configs

    _check_root(root)
    files, problems = cms_configs(root)
    _write_generated(
        root, files, problems, check, "differs from what the schemas make; run crmgen cms-config"
    )
