"""Stage: record files -> ``Record`` values with the line of every key.

Input is untrusted: every broken file becomes a diagnostic naming it, never a traceback.
Plain scalars in fields the schema types as strings keep the exact text the author typed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmgen import yamlstrict
from crmgen.fields.rules import rel
from crmgen.model import (
    RESERVED_SLUGS,
    Config,
    Diagnostic,
    Pos,
    ProjectSchema,
    Record,
    error,
    frozen_map,
    warning,
)
from crmgen.yamlstrict import read_source

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


def _is_string_schema(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if kind == "string" or (isinstance(kind, list | tuple) and set(kind) <= {"string", "null"}):
        return True
    enum = schema.get("enum")
    return isinstance(enum, list | tuple) and bool(enum) and all(isinstance(v, str) for v in enum)


def string_paths(schema: ProjectSchema) -> Any:
    """A ``keep_string`` predicate: does the schema type the value at this path as a string?
    One per schema, answering each path once (it is asked for every value of every record)."""
    found = _STRING_PATHS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    props = {f.name: f.schema for f in schema.fields}
    answers: dict[tuple[str | int, ...], bool] = {}

    def keep(path: tuple[str | int, ...]) -> bool:
        answer = answers.get(path)
        if answer is None:
            answer = _string_at(props, path)
            if len(answers) < 4096:  # a bound: list items have a path each
                answers[path] = answer
        return answer

    if len(_STRING_PATHS) >= 64:
        _STRING_PATHS.clear()
    _STRING_PATHS[id(schema)] = (schema, keep)
    return keep


#: ``string_paths`` made for each schema (by id, with the schema, so the id is not reused).
_STRING_PATHS: dict[int, tuple[ProjectSchema, Any]] = {}


def _string_at(props: Mapping[str, Any], path: tuple[str | int, ...]) -> bool:
    node: Any = props.get(str(path[0])) if path else None
    for step in path[1:]:
        if not isinstance(node, Mapping):
            return False
        node = node.get("items") if isinstance(step, int) else node.get("properties", {}).get(step)
    return _is_string_schema(node)


def split_front_matter(text: str) -> tuple[str, str, int] | str:
    """Split a record into (front matter, body, body's first line), or return a problem."""
    found = yamlstrict.front_matter_lines(text)
    if isinstance(found, str):
        return found
    lines, close = found
    return "".join(lines[1:close]), "".join(lines[close + 1 :]), close + 2


def parse_record(
    text: str, path: str, project: str, slug: str, schema: ProjectSchema
) -> tuple[Record | None, list[Diagnostic]]:
    """Turn one file's text into a Record (values as YAML gave them, no checking yet)."""
    parts = split_front_matter(text)
    if isinstance(parts, str):
        return None, [error("front-matter", parts, path, Pos(1))]
    front, body, body_line = parts
    doc, diags = yamlstrict.parse(front, path, line_offset=1, keep_string=string_paths(schema))
    if doc is None:
        return None, diags
    values = doc.value if doc.value is not None else {}
    if not isinstance(values, dict):
        return None, [
            *diags,
            error(
                "front-matter",
                "the front matter must be a list of 'key: value' lines",
                path,
                Pos(2),
            ),
        ]
    record = Record(
        project=project,
        slug=slug,
        path=path,
        values=frozen_map(values),
        positions=frozen_map(doc.keyed_positions()),
        value_positions=frozen_map(doc.keyed_value_positions()),
        body=body,
        body_line=body_line,
    )
    return record, diags


def _walk(folder: Path) -> tuple[list[tuple[Path, str]], list[Path], list[Path]]:
    """Files (each with its path below ``folder``, "/"-separated), symlinked folders, and
    hidden files or folders (names starting with '.'); in the order of their paths' parts."""
    files: list[tuple[tuple[str, ...], str]] = []
    links: list[Path] = []
    hidden: list[Path] = []
    for current, dirs, names in os.walk(folder, followlinks=False):
        here = Path(current)
        below = os.path.relpath(current, folder)
        parts = () if below == "." else tuple(below.split(os.sep))
        hidden.extend(here / d for d in dirs if d.startswith("."))
        hidden.extend(here / n for n in names if n.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        links.extend(here / d for d in dirs if (here / d).is_symlink())
        files.extend(((*parts, n), os.path.join(current, n)) for n in names if n[0] != ".")
    files.sort()  # as Paths sort: by their parts ("a/b" before "a-c")
    return [(Path(file), "/".join(parts)) for parts, file in files], links, sorted(hidden)


@dataclass(frozen=True, slots=True)
class Source:
    """A record file found under ``data/``: its project, record id and repo path."""

    project: str
    slug: str
    path: str  # repo-relative POSIX path
    file: Path


def load_records(
    root: Path, config: Config, schemas: Mapping[str, ProjectSchema]
) -> tuple[dict[str, dict[str, Record]], list[Diagnostic]]:
    """Read every record of every project under ``data/``.

    Returns:
        project -> slug -> Record (slugs sorted), and the diagnostics.
    """
    sources, diags = find_records(root, config, schemas)
    out: dict[str, dict[str, Record]] = {name: {} for name in schemas}
    for source in sources:
        text, problems = read_source(root, source.file, config.max_file_size)
        diags.extend(problems)
        if text is None:
            continue
        record, problems = parse_record(
            text, source.path, source.project, source.slug, schemas[source.project]
        )
        diags.extend(problems)
        if record is not None:
            out[source.project][source.slug] = record
    return {name: dict(sorted(by_slug.items())) for name, by_slug in out.items()}, diags


def find_records(
    root: Path, config: Config, schemas: Mapping[str, ProjectSchema]
) -> tuple[list[Source], list[Diagnostic]]:
    """Every record file of every project under ``data/``, in order, and what is wrong with
    the folders and file names (files that are not records, duplicate ids, ...)."""
    data = root / "data"
    diags: list[Diagnostic] = []
    sources: list[Source] = []
    if data.is_dir():
        for entry in sorted(data.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                diags.append(
                    warning(
                        "ignored-file",
                        f"'{entry.name}' is ignored: data/ holds one folder per project (and "
                        "names starting with '.' are hidden); move it into a project folder",
                        rel(root, entry),
                    )
                )
            elif entry.name not in schemas and not _configured(root, config, entry.name):
                diags.append(
                    warning(
                        "unknown-project",
                        f"folder '{entry.name}' has no schema "
                        f"and is ignored; add schema/{entry.name}.schema.yaml and "
                        "list it under projects in crmgen.yml",
                        rel(root, entry),
                    )
                )
    for name in schemas:
        files, links, hidden = _walk(data / name)
        prefix = f"{rel(root, data / name)}/"
        for secret in hidden:
            diags.append(
                warning(
                    "ignored-file",
                    f"'{secret.name}' is ignored: names starting with '.' are hidden; rename it "
                    "without the dot if it is a record, or move it out of data/",
                    rel(root, secret),
                )
            )
        for link in links:
            diags.append(
                error(
                    "symlink-folder",
                    "symbolic link to a folder is not followed; "
                    "move the records into the project folder",
                    rel(root, link),
                )
            )
        seen: dict[str, str] = {}
        for file, below in files:
            path = prefix + below
            if file.suffix != ".md":
                diags.append(
                    warning(
                        "not-a-record",
                        f"'{file.name}' is ignored: only .md files are records (editor backups "
                        "and attachments belong elsewhere; attachments go in the attachments "
                        "folder)",
                        path,
                    )
                )
                continue
            slug = file.stem
            problem = slug_problem(slug)
            if problem:
                # Still read and checked below, so every problem of the file shows in one run.
                diags.append(error("slug", f"file name '{file.name}' {problem}", path))
            if slug in seen:
                diags.append(
                    error(
                        "duplicate-slug",
                        f"record id '{slug}' is already used by "
                        f"{seen[slug]}; rename one of the files",
                        path,
                    )
                )
                continue
            seen[slug] = path
            sources.append(Source(name, slug, path, file))
    return sources, diags


def _configured(root: Path, config: Config, project: str) -> bool:
    """A project crmgen.yml names, or whose schema file exists, but that did not load: the
    errors about its schema already say why its records are not read."""
    return project in config.projects or (root / "schema" / f"{project}.schema.yaml").is_file()


def slug_problem(slug: str) -> str | None:
    """Why a file name (without .md) cannot be a record id, or None."""
    if not SLUG.fullmatch(slug):
        return (
            "is not a valid record id: use lower-case letters a-z, digits and '-' (e.g. "
            f"'{_suggest(slug)}.md')"
        )
    if slug in RESERVED_SLUGS:
        return (
            f"is reserved: '{slug}' is a page of the site or a device name on Windows; "
            f"rename the file, e.g. '{slug}-1.md'"
        )
    return None


def _suggest(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "record"
    return slug if slug not in RESERVED_SLUGS else f"{slug}-1"
