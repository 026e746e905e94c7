"""Reading untrusted input files safely: size limit first, UTF-8, no links out of the repo."""

from __future__ import annotations

import os
from pathlib import Path

from crmgen.model import Diagnostic, Pos, error

DEFAULT_MAX_SIZE = 1024 * 1024


def rel(root: Path, path: Path) -> str:
    """The repo-relative POSIX path of ``path``."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, stays inside ``root``."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def read_text(
    root: Path, path: Path, max_size: int = DEFAULT_MAX_SIZE
) -> tuple[str | None, list[Diagnostic]]:
    """Read a UTF-8 text file of the repo, refusing what cannot be trusted.

    The size is checked before reading; a symlink that leaves the repo is refused;
    a byte-order mark is accepted; invalid UTF-8 is reported at its line.
    """
    name = rel(root, path)
    if path.is_symlink() and not inside(root, path):
        return None, [
            error(
                "symlink-outside",
                "symbolic link points outside the repository; replace it with the file itself",
                name,
            )
        ]
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return None, [error("unreadable", f"cannot read file: {exc.strerror}", name)]
    if size > max_size:
        return None, [
            error(
                "too-large",
                f"file is {size:,} bytes, over the {max_size:,}-byte limit; split it or move "
                "large content to an attachment",
                name,
            )
        ]
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_size + 1)
    except OSError as exc:
        return None, [error("unreadable", f"cannot read file: {exc.strerror}", name)]
    if len(data) > max_size:
        return None, [error("too-large", f"file grew over the {max_size:,}-byte limit", name)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            error(
                "encoding",
                f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8",
                name,
                Pos(line, col),
            )
        ]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [
            error(
                "encoding", "file contains a NUL character; it is not a text file", name, Pos(line)
            )
        ]
    return text, []
