"""``crmgen init``: the files of a new data repo, and writing them into a folder.

The files are package data in ``crmgen/scaffold/repo/`` so that ``pip install`` ships them. A
path part that starts with ``dot-`` is written with a dot (``dot-github/`` becomes
``.github/``): packaging tools leave hidden files out of a wheel unless told otherwise. The
marker ``@CRMGEN_VERSION@`` becomes the running crmgen's version, so a new repo's workflows
and pre-commit hook install the crmgen that made it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The folder of the example records, left out by ``crmgen init --bare``.
EXAMPLES = "data/"
VERSION_MARK = b"@CRMGEN_VERSION@"
#: What a folder may hold and still count as empty (``git init`` first, then ``crmgen init .``).
IGNORED = frozenset({".git"})


class ScaffoldError(Exception):
    """The folder cannot be scaffolded (not empty without ``force``, or a path in the way)."""


@dataclass(frozen=True, slots=True)
class Written:
    """One file of the scaffold and what writing it did: created, overwritten or unchanged."""

    path: str
    action: str


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        name = "." + entry.name[4:] if entry.name.startswith("dot-") else entry.name
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", entry


def scaffold_files(*, bare: bool = False, version: str | None = None) -> dict[str, bytes]:
    """The files of a new data repo: repo-relative POSIX path -> content, sorted by path.

    Args:
        bare: leave out the example records (``data/``).
        version: the crmgen version the repo installs (default: the running one).
    """
    version = version or metadata.version("crmgen")
    found: dict[str, bytes] = {}
    for path, entry in _walk(resources.files(__package__).joinpath("repo"), ""):
        if bare and path.startswith(EXAMPLES):
            continue
        found[path] = entry.read_bytes().replace(VERSION_MARK, version.encode())
    return dict(sorted(found.items()))


def write_scaffold(
    root: Path, files: Mapping[str, bytes], *, force: bool = False
) -> list[Written]:
    """Write ``files`` into ``root`` (created if missing) and say what happened to each.

    Raises:
        ScaffoldError: ``root`` is not empty (``.git`` aside) and ``force`` is not set; or a
            path is taken by a folder or a symbolic link, which are never written through.
    """
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} is a file, not a folder")
    if not force and root.is_dir() and any(e.name not in IGNORED for e in root.iterdir()):
        raise ScaffoldError(
            f"{root} is not empty; give an empty or new folder, or --force to write into it "
            "(each file it replaces is named)"
        )
    for rel in files:
        path = root / rel
        for part in [*reversed(path.relative_to(root).parents), Path(rel)]:
            here = root / part
            if here.is_symlink():
                raise ScaffoldError(f"{here} is a symbolic link; crmgen init never writes there")
        if path.is_dir():
            raise ScaffoldError(f"{path} is a folder; crmgen init would write a file there")
    done: list[Written] = []
    for rel, data in files.items():
        path = root / rel
        if path.exists():
            if path.read_bytes() == data:
                done.append(Written(rel, "unchanged"))
                continue
            action = "overwritten"
        else:
            action = "created"
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.crmgen-init")
        temp.write_bytes(data)
        os.replace(temp, path)
        done.append(Written(rel, action))
    return done
