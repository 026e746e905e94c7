"""What a run reads, as one hash: when it is the same as last time, so is the result.

``crmgen validate`` and ``crmgen build`` look their result up by this hash before doing any
work (a pre-commit hook, a rebuild with nothing changed). It covers every file a run reads
(path, size, modification and change times, inode: a file edited, replaced, renamed, added or
removed changes it): the files at the top of the repo and the folders ``data/``, ``schema/``,
``templates/`` and the attachments folder, except the cache and the sites crmgen wrote; the git
commit, index and shallowness (the history); crmgen itself (``records.code_version``); the
day (``today()``); and whatever the caller adds (audience, output folder, options).

Stats, not contents: reading 12,500 records to hash them would cost what the cache saves.
A file changed without any of its times or size changing (a deliberate ``touch -d`` to the old
times with the same size) is the one edit this cannot see; ``--no-cache`` runs everything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = ["CACHE_FOLDER", "RUNS", "build_date", "code_version", "fingerprint"]

#: The cache space of whole runs: what a run read -> what it found (see ``fingerprint``).
RUNS = "runs"
#: The cache folder in a data repo (list it in the repo's .gitignore).
CACHE_FOLDER = ".crmgen-cache"

#: Libraries whose version changes what crmgen makes of the same input.
_LIBRARIES = (
    "crmgen", "pyyaml", "jsonschema", "ada-url", "babel", "markdown-it-py", "nh3", "jinja2",
    "vl-convert-python", "altair", "puremagic",
)  # fmt: skip

#: Folders of a data repo that are not input.
_SKIPPED = frozenset({".git", ".crmgen-cache", "__pycache__", "node_modules"})
#: A file every site crmgen writes carries (``write.MARKER``): such a folder is output.
_SITE_MARKER = ".crmgen-site"


def build_date() -> dt.date:
    """Today, or the day of ``SOURCE_DATE_EPOCH`` (UTC) for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()


@functools.cache
def code_version() -> str:
    """A hash of crmgen's own files (code, templates, assets), Python's version and the
    libraries that shape the output: part of every cache key, so that another crmgen (even
    an edited checkout of the same version) never reuses what this one stored."""
    package = Path(__file__).parent.parent
    digest = hashlib.sha256(sys.version.encode())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


#: The folders of a data repo a run reads, besides the attachments folder.
INPUT_FOLDERS = ("data", "schema", "templates")
_ATTACHMENTS = re.compile(r"""^attachments:[ \t]*["']?([^\s"'#]+)""", re.M)


def fingerprint(root: Path, code: str, extra: Iterable[str] = ()) -> str:
    """The hash of everything a run of ``root`` reads, with crmgen's ``code`` version and the
    caller's ``extra`` parts (today's date, options): the files at the top of the repo
    (``crmgen.yml``), the folders a run reads (``INPUT_FOLDERS`` and the attachments folder
    that ``crmgen.yml`` names), and git's state. Other folders (docs, tests, CI) are not
    input: editing them does not make a build run again."""
    digest = hashlib.sha256()
    digest.update(code.encode())
    for part in extra:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    digest.update(b"\0git\0" + _git(root).encode())
    _tree(root, "", digest, _input_folders(root))
    return digest.hexdigest()


def _input_folders(root: Path) -> frozenset[str] | None:
    """The top-level folders a run reads; None (every folder) when ``crmgen.yml`` cannot be
    read (the run will say why)."""
    try:
        text = (root / "crmgen.yml").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = _ATTACHMENTS.search(text)
    attachments = found.group(1) if found else "files"
    return frozenset({*INPUT_FOLDERS, attachments.strip("/").split("/")[0]})


def _tree(
    folder: Path, prefix: str, digest: hashlib._Hash, top: frozenset[str] | None = None
) -> None:
    parts: list[str] = []
    _walk(folder, prefix, parts, top)
    digest.update("\0".join(parts).encode("utf-8", "surrogatepass"))


def _walk(folder: Path, prefix: str, parts: list[str], top: frozenset[str] | None = None) -> None:
    """``parts`` gets a line per folder and file under ``folder``; at the top, only the
    folders in ``top`` are walked (all when None)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        parts.append(f"!{prefix}{exc.errno}")
        return
    if prefix and any(e.name == _SITE_MARKER for e in entries):
        return  # a site crmgen wrote
    for entry in entries:
        name = prefix + entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIPPED and (top is None or entry.name in top):
                    parts.append(f"d{name}")
                    _walk(Path(entry.path), name + "/", parts)
                continue
            info = entry.stat(follow_symlinks=False)
            if entry.is_symlink():  # what it points to is what is read
                target = os.readlink(entry.path)
                with contextlib.suppress(OSError):
                    info = entry.stat()
                name = f"{name}->{target}"
        except OSError as exc:
            parts.append(f"!{name}{exc.errno}")
            continue
        parts.append(
            f"f{name}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}:"
            f"{info.st_mode}"
        )


def _git(root: Path) -> str:
    """The commit checked out, whether the clone is shallow, and the state of the index."""
    from crmgen.history.git import run

    found = run(root, "rev-parse", "HEAD", "--is-shallow-repository", "--git-dir")
    if found.code != 0:
        return f"none:{found.code}"
    lines = found.out.decode("utf-8", "replace").split("\n")
    git_dir = Path(lines[2]) if len(lines) > 2 and lines[2] else None
    index = ""
    if git_dir is not None:
        try:
            info = (root / git_dir / "index").stat()
            index = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        except OSError:
            index = "-"
    return f"{lines[0]}:{lines[1] if len(lines) > 1 else ''}:{index}"
