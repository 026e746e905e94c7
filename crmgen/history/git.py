"""Running git: the one place crmgen starts a git process.

Argument lists (never a shell), a fixed environment (``LC_ALL=C``, no system config, no pager,
no prompt, literal pathspecs) and ``-z`` output, so any file name works and nothing about the
machine changes the result.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIT = "git"
OPTIONS = ("--no-pager", "-c", "core.quotepath=off", "-c", "color.ui=never", "-c",
           "log.showSignature=false", "-c", "log.follow=false", "-c",
           "i18n.logOutputEncoding=UTF-8")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: bytes
    err: str
    missing: bool = False


def spawn(cwd: Path, args: Sequence[str], *, stdin: bool = False) -> subprocess.Popen[bytes]:
    """Start ``git <args>`` in ``cwd``: the one place this module starts a process."""
    # HOME and XDG_CONFIG_HOME: the user's config may allow the repo (safe.directory).
    keep = ("PATH", "HOME", "XDG_CONFIG_HOME", "SYSTEMROOT", "TMPDIR")
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(LC_ALL="C", LANG="C", GIT_CONFIG_NOSYSTEM="1", GIT_PAGER="cat", PAGER="cat")
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_LITERAL_PATHSPECS="1")
    pipe, null = subprocess.PIPE, subprocess.DEVNULL
    return subprocess.Popen([GIT, *OPTIONS, *args], cwd=cwd, env=env,
                            stdin=pipe if stdin else null, stdout=pipe,
                            stderr=null if stdin else pipe)  # fmt: skip


def run(cwd: Path, *args: str) -> Result:
    try:
        proc = spawn(cwd, args)
    except OSError as exc:
        return Result(-1, b"", exc.strerror or str(exc), isinstance(exc, FileNotFoundError))
    out, err = proc.communicate()
    return Result(proc.returncode, out, err.decode("utf-8", "replace").strip())


def read_objects(cwd: Path, shas: Sequence[str], use: Callable[[str, bytes, bytes], Any]) -> None:
    """One ``git cat-file --batch`` process: ``use(sha, type, content)`` per object found."""
    if not shas:
        return
    try:
        proc = spawn(cwd, ["cat-file", "--batch"], stdin=True)
    except OSError:
        return
    assert proc.stdin is not None and proc.stdout is not None
    pipe, out = proc.stdin, proc.stdout

    def feed() -> None:  # a thread: a full stdout pipe must not block the writer
        try:
            pipe.write("".join(f"{sha}\n" for sha in shas).encode())
            pipe.close()
        except OSError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    for sha in shas:
        header = out.readline().split()
        if len(header) == 3:
            use(sha, header[1], out.read(int(header[2]) + 1)[:-1])
        elif not header:
            break  # git stopped early; else "<sha> missing"
    writer.join()
    out.close()
    proc.wait()


def rev_for(root: Path, when: str) -> tuple[str, int] | str:
    """The commit (SHA, committer time) a revision or a date names, or why there is none.

    ``when`` is a revision (``HEAD~3``, a tag, a SHA) or a date ``YYYY-MM-DD``: then the last
    commit of ``HEAD`` on or before the end of that day (UTC).
    """
    if not when or when.startswith("-") or "\0" in when:
        return f"'{when}' is not a revision or a date"
    if len(when) == 10 and when[4] == "-" and when[7] == "-":
        found = run(root, "rev-list", "-1", f"--before={when} 23:59:59 +0000", "HEAD")
        sha = found.out.decode().strip()
        if found.code != 0 or not sha:
            return f"there is no commit on or before {when}"
    else:
        found = run(root, "rev-parse", "--verify", "-q", f"{when}^{{commit}}")
        sha = found.out.decode().strip()
        if found.code != 0 or not sha:
            return f"'{when}' is not a revision of this repository"
    time = run(root, "show", "-s", "--format=%ct", sha)
    return sha, int(time.out.decode().strip() or 0)


def export_tree(root: Path, rev: str, dest: Path) -> str | None:
    """Write the data repo's files as they were at ``rev`` into ``dest``; None, or the problem.

    ``git archive`` of the data repo's folder at ``rev``, unpacked with tarfile's "data" filter
    (no links out, no absolute paths, no device files).
    """
    import io
    import tarfile

    prefix = run(root, "rev-parse", "--show-prefix").out.decode().strip()
    top = run(root, "rev-parse", "--show-toplevel").out.decode().strip()
    archive = run(Path(top), "archive", "--format=tar", rev, "--", prefix or ".")
    if archive.code != 0:
        return archive.err or f"git archive {rev} failed"
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.out)) as tar:
        for member in tar.getmembers():
            if prefix and member.name.startswith(prefix):
                member.name = member.name[len(prefix) :]
            elif prefix:
                continue
            if member.name:
                tar.extract(member, dest, filter="data")
    return None
