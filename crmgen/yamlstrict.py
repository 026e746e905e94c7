"""Strict, position-keeping YAML parsing for untrusted front matter and config.

PyYAML's event stream is turned into plain values by hand so that:

* every mapping key and sequence item keeps its line and column;
* duplicate keys, anchors, aliases and explicit tags are errors at their line;
* plain scalars follow the YAML 1.2 core schema (no ``yes``/``on`` booleans, no
  sexagesimals, no timestamps), and a caller can ask for the raw text of any scalar
  (for fields its schema types as strings) so that ``NO``, ``01234`` or ``1.10`` stay as typed;
* numbers become ``int`` or ``Decimal`` (never float), so currency stays exact.

``read_source`` is the one way crmgen reads an input text file (records, schemas, crmgen.yml):
size limit first, UTF-8 only, no symlink out of the repository.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Any

import yaml

from crmgen.fields.rules import inside, rel
from crmgen.model import Diagnostic, Pos, error, shared_pos

Path = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
#: Numbers longer than this, or with a larger exponent, stay text (and fail a number check).
MAX_NUMBER_CHARS = 60
MAX_EXPONENT = 100


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """A parsed document.

    Attributes:
        value: the root value (usually a dict).
        positions: path -> position of the key (mapping entry) or item (sequence).
        value_positions: path -> position where the value itself starts.
    """

    value: Any
    positions: Mapping[Path, Pos]
    value_positions: Mapping[Path, Pos]

    def pos(self, path: Path) -> Pos:
        """Position of ``path`` or of its closest ancestor that has one."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Pos(1, 1))

    def keyed_positions(self) -> dict[str, Pos]:
        """Positions keyed by "/"-joined paths (``dashboards/0/charts/2``), root left out."""
        return _keyed(self.positions)

    def keyed_value_positions(self) -> dict[str, Pos]:
        """Positions of values keyed like :meth:`keyed_positions`."""
        return _keyed(self.value_positions)

    def value_pos(self, path: Path) -> Pos:
        """Position of the value at ``path`` (falls back to the key)."""
        return self.value_positions.get(path) or self.pos(path)


#: "/"-joined path by path: every record of a project has the same few paths.
_JOINED: dict[Path, str] = {}
#: At most this many paths are remembered (a repo whose every record has keys of its own).
_JOINED_MAX = 1 << 16


def _keyed(positions: Mapping[Path, Pos]) -> dict[str, Pos]:
    """``positions`` keyed by "/"-joined paths, each one string in memory; root left out."""
    out = {}
    joined = _JOINED
    for path, pos in positions.items():
        key = joined.get(path)
        if key is None:
            if not path:
                continue
            if len(joined) >= _JOINED_MAX:
                joined.clear()
            key = joined[path] = sys.intern("/".join(str(p) for p in path))
        out[key] = pos
    return out


def resolve_plain(text: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema, numbers as int/Decimal."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if len(text) <= MAX_NUMBER_CHARS:
        if _INT.fullmatch(text):
            return int(text)
        if _OCT.fullmatch(text):
            return int(text[2:], 8)
        if _HEX.fullmatch(text):
            return int(text[2:], 16)
        if _FLOAT.fullmatch(text):
            try:
                number = Decimal(text)
            except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
                return text
            exponent = number.adjusted()
            if abs(exponent) <= MAX_EXPONENT:
                return number
    return text


def plain_value(text: str, keep: bool) -> Any:
    """A plain scalar's value: resolved (``resolve_plain``), or its text as typed when ``keep``
    (a field the schema types as a string), an empty one or ``~`` still null."""
    if keep:
        return None if text in ("", "~") else text
    return resolve_plain(text)


def _codepoint(character: object) -> int:
    if isinstance(character, str) and character:
        return ord(character[0])
    return character if isinstance(character, int) else 0


def _never(_: Path) -> bool:
    return False


def parse(
    text: str,
    path: str,
    *,
    line_offset: int = 0,
    keep_string: Callable[[Path], bool] = _never,
) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Parse one YAML document strictly.

    Args:
        text: the YAML source.
        path: the file's repo-relative path, for diagnostics.
        line_offset: added to every line (front matter starts after the ``---`` line).
        keep_string: called with a value's path; True keeps a plain scalar's raw text.

    Returns:
        The document (None when it cannot be parsed at all) and the diagnostics.
    """
    fast = _fast_parse(text, line_offset, keep_string)
    if fast is not None:
        return fast, []
    builder = _Builder(path, line_offset, keep_string)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1 + line_offset, mark.column + 1) if mark else Pos(1 + line_offset)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark:
            started = exc.context_mark.line + 1 + line_offset
            problem += f" ({exc.context} started on line {started})"
        return None, [
            *builder.diagnostics,
            error(
                "yaml-syntax",
                f"invalid YAML: {problem}; check the indentation, quoting and brackets",
                path,
                pos,
            ),
        ]
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 + line_offset
        return None, [
            *builder.diagnostics,
            error(
                "yaml-character",
                f"character U+{_codepoint(exc.character):04X} is not allowed in YAML; remove it",
                path,
                Pos(line),
            ),
        ]
    except yaml.YAMLError as exc:
        return None, [
            *builder.diagnostics,
            error("yaml-syntax", f"invalid YAML: {exc}", path, Pos(1 + line_offset)),
        ]
    if builder.documents > 1:
        builder.diagnostics.append(
            error(
                "yaml-multiple-documents",
                "more than one YAML document; remove the extra '---' or '...' separator",
                path,
                Pos(1 + line_offset),
            )
        )
    doc = YamlDoc(builder.root, builder.positions, builder.value_positions)
    return doc, builder.diagnostics


# The fast path: most front matter is lines of ``key: value``, a flow list of plain words, or
# a key with a block list or a mapping of such lines under it. Such a document is read here,
# line by line, into exactly the values and positions the event stream would give, in about
# half the time; anything else (a comment, deeper nesting, an empty value, a multi-line or
# escaped scalar, a character YAML treats specially, a duplicate key, ...) returns None and
# takes the full parser, which also reports every problem. ``tests/test_yamlfast.py``
# compares the two on generated documents.

#: Characters the fast path accepts anywhere: printable, no tab, CR, NEL, LS, PS or BOM.
_FAST_TEXT = re.compile(
    "[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
_FAST_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)")
_FAST_ITEM = re.compile(r"( *)-(?: +|$)")
#: A plain scalar of block context: no indicator first, no ``: `` or `` #`` inside, no ``:``
#: last (``-`` first only before a non-space, as in ``-5``).
_FAST_PLAIN = re.compile(
    r"(?![-?:,\[\]{}#&*!|>'\"%@`])(?:(?!: | #).)*(?<![: ])"
    r"|-[^ ](?:(?!: | #).)*(?<![: ])"
)
#: A plain item of a flow list: no flow indicator, quote, ``:`` or ``#`` at all.
_FAST_FLOW_ITEM = re.compile(
    r"(?![-?&*!|>%@`])[^,\[\]{}#:'\"]*(?<! )"
    r"|-[^ ,\[\]{}#:'\"][^,\[\]{}#:'\"]*(?<! )"
)
_FAST_QUOTED = re.compile(r"\"([^\"\\]*)\" *|'([^']*)' *")


def _fast_parse(text: str, offset: int, keep_string: Callable[[Path], bool]) -> YamlDoc | None:
    """``text`` read by the fast path, or None when it is not in the subset it reads."""
    if not text or not _FAST_TEXT.fullmatch(text):
        return None
    lines = text.split("\n")
    if lines[-1]:
        return None  # the last line has no line end: the full parser decides
    root: dict[str, Any] = {}
    positions: dict[Path, Pos] = {}
    values: dict[Path, Pos] = {}
    pending: str | None = None  # a key with nothing after it: a block list or mapping below
    inner: dict[str, Any] | list[Any] | None = None  # that block list or mapping
    parent = ""
    indent = -1
    for number, line in enumerate(lines[:-1], start=offset + 1):
        if not line.strip():
            if line:
                return None  # spaces only: the full parser decides where they belong
            continue
        if line[0] not in " -":  # a key of the document
            if pending is not None:
                return None  # a key with an empty value: the full parser places the null
            inner = None
            found = _FAST_KEY.match(line)
            if found is None or found.group(1) in root:
                return None
            key = found.group(1)
            if not root:  # the document's mapping starts at its first key
                positions[()] = values[()] = shared_pos(number, 1)
            positions[(key,)] = shared_pos(number, 1)
            rest = line[found.end() :]
            if not rest:
                pending = key
            elif not _fast_value(root, key, (key,), rest, number, found.end() + 1, keep_string,
                                 positions, values):  # fmt: skip
                return None
            continue
        depth = len(line) - len(line.lstrip(" "))
        if pending is not None:  # the first line below a key with an empty value
            parent, pending, indent = pending, None, depth
            inner = [] if line[depth] == "-" else {}
            if isinstance(inner, dict) and not indent:
                return None
            root[parent] = inner
            values[(parent,)] = positions[(parent,)]
        if inner is None or depth != indent:
            return None
        if isinstance(inner, list):
            item = _FAST_ITEM.match(line)
            if item is None or item.end() == len(line):
                return None  # not an item, or an empty one: the full parser places it
            place: Path = (parent, len(inner))
            value = _fast_scalar(line[item.end() :], place, keep_string)
            if value is _NOT_FAST:
                return None
            inner.append(value)
            positions[place] = values[place] = shared_pos(number, item.end() + 1)
            continue
        found = _FAST_KEY.match(line, indent)
        if found is None or found.group(1) in inner or found.end() == len(line):
            return None
        key = found.group(1)
        positions[(parent, key)] = shared_pos(number, indent + 1)
        if not _fast_value(inner, key, (parent, key), line[found.end() :], number,
                           found.end() + 1, keep_string, positions, values):  # fmt: skip
            return None
    if pending is not None or not root:
        return None
    return YamlDoc(root, positions, values)


def _fast_value(
    into: dict[str, Any],
    key: str,
    path: Path,
    text: str,
    number: int,
    col: int,
    keep_string: Callable[[Path], bool],
    positions: dict[Path, Pos],
    values: dict[Path, Pos],
) -> bool:
    """Read the value written after ``key:`` on its line into ``into``; False if not fast."""
    value: Any
    values[path] = shared_pos(number, col)
    if text[0] == "[":
        value = _fast_flow(text, number, col, path, keep_string, positions, values)
        if value is None:
            return False
    else:
        value = _fast_scalar(text, path, keep_string)
        if value is _NOT_FAST:
            return False
    into[key] = value
    return True


_NOT_FAST = object()


def _fast_scalar(text: str, path: Path, keep_string: Callable[[Path], bool]) -> Any:
    """The value of a scalar written on one line, as the builder makes it, or ``_NOT_FAST``."""
    if text[0] in "\"'":
        quoted = _FAST_QUOTED.fullmatch(text)
        if quoted is None:
            return _NOT_FAST
        double, single = quoted.groups()
        return double if double is not None else single
    text = text.rstrip(" ")
    if not _FAST_PLAIN.fullmatch(text):
        return _NOT_FAST
    return plain_value(text, keep_string(path))


def _fast_flow(
    text: str,
    number: int,
    col: int,
    path: Path,
    keep_string: Callable[[Path], bool],
    positions: dict[Path, Pos],
    values: dict[Path, Pos],
) -> list[Any] | None:
    """A flow list of plain items on one line (``[a, b c, 3]``), or None."""
    close = text.find("]")
    if close < 0 or text[close + 1 :].strip(" "):
        return None
    inner = text[1:close]
    if not inner.strip(" "):
        return [] if "," not in inner else None
    out: list[Any] = []
    start = col + 1
    for part in inner.split(","):
        item = part.strip(" ")
        if not item or not _FAST_FLOW_ITEM.fullmatch(item):
            return None
        place: Path = (*path, len(out))
        where = shared_pos(number, start + len(part) - len(part.lstrip(" ")))
        out.append(plain_value(item, keep_string(place)))
        positions[place] = values[place] = where
        start += len(part) + 1
    return out


class _Frame:
    __slots__ = ("container", "key", "path", "pending_key", "pending_pos")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path) -> None:
        self.container = container
        self.path = path
        self.pending_key: str | None = None
        self.pending_pos: Pos | None = None
        self.key: str | None = None


class _Builder:
    """Builds plain values from a PyYAML event stream, iteratively."""

    def __init__(self, path: str, line_offset: int, keep_string: Callable[[Path], bool]) -> None:
        self.path = path
        self.offset = line_offset
        self.keep_string = keep_string
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.positions: dict[Path, Pos] = {}
        self.value_positions: dict[Path, Pos] = {}
        self.diagnostics: list[Diagnostic] = []
        self.documents = 0
        self.skip_depth = 0  # >0 while inside an ignored (invalid) key node

    def _pos(self, event: Any) -> Pos:
        mark = event.start_mark
        return shared_pos(mark.line + 1 + self.offset, mark.column + 1)

    def _check(self, event: Any) -> None:
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent):
            self.diagnostics.append(
                error(
                    "yaml-alias",
                    f"YAML alias '*{anchor}' is not allowed; write the value out in full",
                    self.path,
                    self._pos(event),
                )
            )
        elif anchor is not None:
            self.diagnostics.append(
                error(
                    "yaml-anchor",
                    f"YAML anchor '&{anchor}' is not allowed; remove it and write values in full",
                    self.path,
                    self._pos(event),
                )
            )
        tag = getattr(event, "tag", None)
        if tag is not None and not isinstance(event, yaml.AliasEvent):
            self.diagnostics.append(
                error(
                    "yaml-tag",
                    f"YAML tag '{tag}' is not allowed; remove it (quote the value if it "
                    "must stay text)",
                    self.path,
                    self._pos(event),
                )
            )

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            return
        if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentEndEvent):
            return
        if self.documents > 1:
            return
        self._check(event)
        if self.skip_depth:
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self.skip_depth += 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self.skip_depth -= 1
            return
        frame = self.stack[-1] if self.stack else None
        # A mapping waiting for a key.
        if (
            frame is not None
            and isinstance(frame.container, dict)
            and frame.pending_key is None
            and not isinstance(event, yaml.MappingEndEvent)
        ):
            self._key(frame, event)
            return
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self.stack.pop()
            return
        path, pos = self._slot(frame, event)
        if isinstance(event, yaml.ScalarEvent):
            value: Any
            if not event.style:  # plain: None (pure-Python parser) or "" (libyaml)
                keep = event.tag is not None or self.keep_string(path)
                value = plain_value(event.value, keep)
            else:
                value = event.value
            self._store(frame, path, pos, value)
        elif isinstance(event, yaml.AliasEvent):
            self._store(frame, path, pos, None)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            container: dict[str, Any] | list[Any] = (
                {} if isinstance(event, yaml.MappingStartEvent) else []
            )
            # A block collection starts on the lines below its key: its value is "at" the key.
            block = not event.flow_style and frame is not None
            self._store(frame, path, pos, container, at_key=block)
            self.stack.append(_Frame(container, path))

    def _key(self, frame: _Frame, event: Any) -> None:
        pos = self._pos(event)
        if not isinstance(event, yaml.ScalarEvent):
            self.diagnostics.append(
                error(
                    "yaml-complex-key",
                    "a key must be a plain name, not a list or mapping",
                    self.path,
                    pos,
                )
            )
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self.skip_depth = 1
            frame.pending_key = "\0invalid"
            frame.pending_pos = pos
            return
        key = event.value
        assert isinstance(frame.container, dict)
        if key in frame.container:
            first = self.positions.get((*frame.path, key))
            where = f" (first set on line {first.line})" if first else ""
            self.diagnostics.append(
                error(
                    "yaml-duplicate-key",
                    f"duplicate key '{key}'{where}; keep only one",
                    self.path,
                    pos,
                    key if not frame.path else str(frame.path[0]),
                )
            )
            frame.pending_key = "\0duplicate"
        else:
            frame.pending_key = key
        frame.pending_pos = pos

    def _slot(self, frame: _Frame | None, event: Any) -> tuple[Path, Pos]:
        pos = self._pos(event)
        if frame is None:
            return (), pos
        if isinstance(frame.container, dict):
            return (*frame.path, frame.pending_key or ""), pos
        return (*frame.path, len(frame.container)), pos

    def _store(
        self, frame: _Frame | None, path: Path, pos: Pos, value: Any, at_key: bool = False
    ) -> None:
        if frame is None:
            self.root = value
            self.positions[()] = pos
            self.value_positions[()] = pos
            return
        if isinstance(frame.container, dict):
            key = frame.pending_key or ""
            key_pos = frame.pending_pos or pos
            frame.pending_key = None
            frame.pending_pos = None
            if key.startswith("\0"):
                return  # duplicate or invalid key: reported, value dropped
            frame.container[key] = value
            self.positions[path] = key_pos
            self.value_positions[path] = key_pos if at_key else pos
        else:
            frame.container.append(value)
            self.positions[path] = pos
            self.value_positions[path] = pos


DEFAULT_MAX_SIZE = 1024 * 1024

#: The line opening a record's front matter, and a line closing it.
FENCE = re.compile(r"---[ \t]*")
END_FENCE = re.compile(r"(---|\.\.\.)[ \t]*")


def front_matter_lines(text: str) -> tuple[list[str], int] | str:
    """A record's lines (with their endings) and the index of the line closing its front
    matter (``---`` or ``...``), or what is wrong. The one rule for where front matter is,
    shared by loading and editing records."""
    if not text.strip():
        return "the file is empty; a record starts with a '---' line, its fields, and '---'"
    lines = text.splitlines(keepends=True)
    if not FENCE.fullmatch(lines[0].rstrip("\r\n")):
        return "the file must start with a '---' line opening the front matter"
    for index in range(1, len(lines)):
        if END_FENCE.fullmatch(lines[index].rstrip("\r\n")):
            return lines, index
    return "the front matter is not closed; add a '---' line after the last field"


def read_source(
    root: FilePath, path: FilePath, max_size: int = DEFAULT_MAX_SIZE
) -> tuple[str | None, list[Diagnostic]]:
    """Read a UTF-8 text file of the repo, refusing what cannot be trusted.

    The size is checked before reading; a symlink that leaves the repo is refused;
    a byte-order mark is accepted; invalid UTF-8 and NUL characters are reported at their line.
    """
    data, problem = _read_bytes(root, path, max_size)
    if data is None:
        return None, [problem(rel(root, path))] if problem else []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            error(
                "encoding",
                f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8",
                rel(root, path),
                Pos(line, col),
            )
        ]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [
            error(
                "encoding",
                "file contains a NUL character; it is not a text file",
                rel(root, path),
                Pos(line),
            )
        ]
    return text, []


#: Opening a link that stays in the repo: the same, following it.
_FOLLOW = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
#: Whether ``open`` can refuse a symbolic link here (else a link is looked for first).
_REFUSES_LINKS = hasattr(os, "O_NOFOLLOW")
# not following a link (checked first), not waiting on a named pipe, not kept by a child
_NOFOLLOW = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _read_bytes(
    root: FilePath, path: FilePath, max_size: int
) -> tuple[bytes | None, Callable[[str], Diagnostic] | None]:
    """The bytes of a file (one open, one ``fstat`` and the reads: a record file costs no
    other system call), or None and the problem for the file's repo path."""
    fd = None
    if _REFUSES_LINKS or not path.is_symlink():
        try:
            fd = os.open(path, _NOFOLLOW)
        except OSError as exc:
            if not path.is_symlink():
                return None, _unreadable(exc)
    if fd is None:  # a symbolic link: read only when it stays in the repo
        if not inside(root, path):
            return None, lambda name: error(
                "symlink-outside",
                "symbolic link points outside the repository; replace it with the file itself",
                name,
            )
        try:
            fd = os.open(path, _FOLLOW)
        except OSError as again:
            return None, _unreadable(again)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a folder, a named pipe, a device
            return None, lambda name: error(
                "unreadable", "cannot read file: it is not a regular file", name
            )
        size = info.st_size
        if size > max_size:
            return None, lambda name: error(
                "too-large",
                f"file is {size:,} bytes, over the {max_size:,}-byte limit; split it or move "
                "large content to an attachment",
                name,
            )
        chunks = []
        total = 0
        while chunk := os.read(fd, max_size + 1 - total):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_size:
                return None, lambda name: error(
                    "too-large", f"file grew over the {max_size:,}-byte limit", name
                )
    except OSError as exc:
        return None, _unreadable(exc)
    finally:
        os.close(fd)
    return b"".join(chunks), None


def _unreadable(exc: OSError) -> Callable[[str], Diagnostic]:
    return lambda name: error("unreadable", f"cannot read file: {exc.strerror}", name)
