"""Line-preserving front-matter edits: a command that edits records changes only what it must.

PyYAML's event marks delimit each top-level entry (block scalars, sequences, nested mappings,
multi-line flow values); every other byte stays. Each edit is read back with ``yamlstrict``: the
changed keys must read as set and every other key as before, or ``EditError`` is raised.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from crmgen import yamlstrict

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_COLON = re.compile(r"[ \t]*:")
_GAP_COMMENT = re.compile(r"([ \t]*)(#.*)?")
_BLOCK_HEADER = re.compile(r"[|>][0-9+-]*(?P<tail>[ \t]+#.*)?[ \t]*")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_UNSAFE = frozenset(",[]{}?:#")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_HEX = {2: "x", 4: "u", 8: "U"}
# What YAML allows unescaped, less the line breaks PyYAML knows beyond \r and \n, and the BOM.
_RAW = re.compile(
    r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_STOP = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class EditError(Exception):
    """The edit cannot be made safely (message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """One top-level ``key: value`` of the front matter, by file line index (0 = ``---``)."""

    name: str | None
    first: int
    last: int
    end_column: int  # where the value ends on its last line
    events: tuple[Any, ...]  # the key's events, then the value's


def set_fields(text: str, changes: Mapping[str, Any]) -> str:
    """Return ``text`` with each top-level front-matter key in ``changes`` set to its new value.

    An existing key has its whole entry (key line and continuation lines) replaced by one line
    that keeps the key's spelling, the spacing after the colon and a trailing comment; a None
    value removes the entry; a missing key is added just before the closing ``---``. Values are
    str, int, Decimal, bool, ``datetime.date`` or a list/tuple of those, written so that
    ``yamlstrict`` reads them back exactly. Line endings, a BOM and a missing final newline are
    kept.

    Args:
        text: the whole record file.
        changes: top-level key -> new value (None removes the key).

    Returns:
        The edited text; ``text`` itself when nothing had to change.

    Raises:
        EditError: no closed front matter, invalid YAML, a bad key name, a duplicated key, an
            entry with anchors, aliases or tags, an unsupported value, or a result that would
            not read back as intended.
    """
    return _edit(text, changes, ())


def insert_after(text: str, key: str, value: Any, after: Sequence[str]) -> str:
    """Set ``key`` like :func:`set_fields`, placing a missing key after a neighbour.

    A missing key's line goes right after the whole entry of the first key in ``after`` that
    exists (e.g. ``owner:`` after ``list:``), else before the closing line. An existing key is
    replaced in place as in :func:`set_fields`.

    Raises:
        EditError: as :func:`set_fields`.
    """
    return _edit(text, {key: value}, tuple(after))


def _edit(text: str, changes: Mapping[str, Any], after: tuple[str, ...]) -> str:
    for key in changes:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise EditError(f"{key!r} is not a field name: use letters, digits, '_' and '-'")
    rendered = {key: None if v is None else _render(key, v, False) for key, v in changes.items()}
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines, close = _split(text[len(bom) :])
    found: dict[str, list[_Entry]] = {}
    for entry in _entries(lines[1:close]):
        if entry.name is not None:
            found.setdefault(entry.name, []).append(entry)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, line after, new lines)
    for key, new in rendered.items():
        mine = found.get(key, [])
        if len(mine) > 1:
            where = " and ".join(str(e.first + 1) for e in mine)
            raise EditError(f"key '{key}' appears {len(mine)} times (lines {where}); keep one")
        if mine:
            _check_plain_entry(key, mine[0])
            line = [] if new is None else [_replace(lines, key, mine[0], new)]
            edits.append((mine[0].first, mine[0].last + 1, line))
        elif new is not None:
            anchor = next((found[a][0] for a in after if a in found), None)
            at = anchor.last + 1 if anchor else close
            edits.append((at, at, [f"{key}: {new}{_ending(lines[at - 1])}"]))
    if not edits:
        return text
    out: list[str] = []
    pos = 0
    for start, stop, new_lines in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [*lines[pos:start], *new_lines]
        pos = stop
    result = "".join([*out, *lines[pos:]])
    _verify(lines, close, result, changes)
    return bom + result


def _split(text: str) -> tuple[list[str], int]:
    """The file's lines (with endings) and the index of the closing ``---`` or ``...`` line."""
    found = yamlstrict.front_matter_lines(text)
    if isinstance(found, str):
        raise EditError(found)
    return found


def _entries(front: list[str]) -> list[_Entry]:
    """The top-level entries of a block-mapping front matter, in order."""
    try:
        events: list[Any] = list(yaml.parse("".join(front), Loader=_Loader))[2:-2]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        raise EditError(f"the front matter is not valid YAML{where}; fix it, then retry") from exc
    if not events:
        return []  # empty, or only comments
    if events[0].start_mark.column != 0:
        raise EditError("the front matter's keys must start at the beginning of their lines")
    if not isinstance(events[0], yaml.MappingStartEvent) or events[0].flow_style:
        raise EditError("the front matter must be a list of 'key: value' lines; fix it by hand")
    entries: list[_Entry] = []
    index = 1
    while not isinstance(events[index], yaml.MappingEndEvent):
        value_at = _node_end(events, index)
        stop = _node_end(events, value_at)
        key = events[index]
        name = key.value if isinstance(key, yaml.ScalarEvent) else None
        last, column = _last_line(front, key.start_mark.line, events[value_at:stop])
        entries.append(
            _Entry(name, key.start_mark.line + 1, last + 1, column, tuple(events[index:stop]))
        )
        index = stop
    if index + 1 < len(events):
        raise EditError("the front matter holds two YAML documents; remove the '---' inside it")
    return entries


def _node_end(events: list[Any], index: int) -> int:
    """Index just after the node that starts at ``events[index]``."""
    depth = 0
    while True:
        depth += isinstance(events[index], _START) - isinstance(events[index], _STOP)
        index += 1
        if depth == 0:
            return index


def _last_line(front: list[str], first: int, value: list[Any]) -> tuple[int, int]:
    """Front-matter index of a value's last line, and the column where the value ends."""
    flows: list[bool] = []
    last: Any = None
    for event in value:
        if isinstance(event, _START):
            flows.append(bool(event.flow_style))
        # A block collection ends at the next token (after comments): its last item counts.
        elif not (isinstance(event, _STOP) and not flows.pop()) and (
            last is None or _end(event) > _end(last)
        ):
            last = event
    line, column = _end(last)
    line = line - 1 if column == 0 and line > first else line
    if getattr(last, "style", None) in ("|", ">"):
        start = last.start_mark
        keep = "+" in front[start.line][start.column :].split(None, 1)[0]
        texts = [_content(text) for text in front[start.line + 1 : line + 1]]
        indent = min((len(t) - len(t.lstrip(" ")) for t in texts if t.strip(" ")), default=0)
        # Trailing blank lines belong to a block scalar only with "+" chomping, or when they
        # are indented past its content (then they are content: spaces).
        while not keep and line > start.line:
            blank = texts[line - start.line - 1]
            if blank.strip(" ") or len(blank) > indent:
                break
            line -= 1
    return line, column


def _end(event: Any) -> tuple[int, int]:
    return event.end_mark.line, event.end_mark.column


def _check_plain_entry(key: str, entry: _Entry) -> None:
    where = f"key '{key}' (line {entry.first + 1})"
    for event in entry.events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise EditError(f"{where} uses a YAML anchor or alias; write the value out in full")
        if getattr(event, "tag", None) is not None:
            raise EditError(f"{where} uses a YAML tag; remove it (quote text that must stay text)")
    start, stop = entry.events[0].start_mark, entry.events[0].end_mark
    if start.column != 0 or stop.line != start.line:
        raise EditError(f"{where} is not a simple 'key:' starting its line; edit it by hand")


def _replace(lines: list[str], key: str, entry: _Entry, new: str) -> str:
    """The one line that replaces an entry: same key spelling, gap and key-line comment."""
    key_event, value = entry.events[0], entry.events[1]
    text = _content(lines[entry.first])
    ending = lines[entry.first][len(text) :]
    colon = _COLON.match(text, key_event.end_mark.column)
    if colon is None:  # pragma: no cover - a parsed block key is always followed by ':'
        raise EditError(f"key '{key}' (line {entry.first + 1}) has no ':'; edit it by hand")
    head, start, style = text[: colon.end()], value.start_mark, getattr(value, "style", None)
    empty = isinstance(value, yaml.ScalarEvent) and not style and not value.value
    if empty or start.line + 1 > entry.first:
        # Nothing of the value on the key line (empty, or a block collection below it).
        rest = _GAP_COMMENT.fullmatch(text, colon.end())
        gap, comment = (rest.group(1), rest.group(2)) if rest else ("", None)
        if comment:
            return f"{head} {new}{gap or ' '}{comment}{ending}"
        return f"{head}{gap or ' '}{new}{ending}"
    tail = ""
    if style in ("|", ">"):
        header = _BLOCK_HEADER.fullmatch(text, start.column)
        tail = (header.group("tail") or "") if header else ""
    elif entry.last == entry.first:
        tail = text[entry.end_column :]
        if tail and tail[0] not in " \t":  # "a"# c is a comment; a# c would not be
            tail = " " + tail
    return f"{head}{text[colon.end() : start.column] or ' '}{new}{tail}{ending}"


def _content(line: str) -> str:
    return line.splitlines()[0] if line else ""


def _ending(line: str) -> str:
    return line[len(_content(line)) :]


def _render(key: str, value: Any, item: bool) -> str:
    """YAML text for a value that ``yamlstrict`` reads back exactly (``item``: in ``[...]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        finite = isinstance(value, int) or value.is_finite()
        text = format(value, "d" if isinstance(value, int) else "f") if finite else ""
        back = yamlstrict.resolve_plain(text)
        if isinstance(back, bool) or not isinstance(back, int | Decimal) or back != value:
            raise EditError(
                f"cannot write the number {value} to '{key}': crmgen reads numbers of at most "
                f"{yamlstrict.MAX_NUMBER_CHARS} characters; round it or store it as text"
            )
        return text
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise EditError(f"the text for '{key}' is not valid Unicode; fix it") from None
        if _plain_ok(value, item):
            return value
        return '"' + "".join(_escape(c) for c in value) + '"'
    if isinstance(value, list | tuple) and not item:
        return "[" + ", ".join(_render(key, v, True) for v in value) + "]"
    if isinstance(value, Mapping) and not item:
        for name in value:
            if not isinstance(name, str) or not _KEY.fullmatch(name):
                raise EditError(f"{name!r} in '{key}' is not a key: use letters, digits and '_'")
        return "{" + ", ".join(f"{k}: {_render(key, v, True)}" for k, v in value.items()) + "}"
    raise EditError(
        f"cannot write a {type(value).__name__} to '{key}': use text, a whole number, a "
        "Decimal, true/false, a date, or a list or mapping of those"
    )


def _plain_ok(text: str, item: bool) -> bool:
    """Can ``text`` be written unquoted and read back as exactly itself?"""
    if not text or text[0] in _INDICATORS or text[0].isspace() or text[-1].isspace():
        return False
    if not text.isprintable() or ": " in text or " #" in text or text.endswith(":"):
        return False
    if item and any(c in _FLOW_UNSAFE for c in text):
        return False
    back = yamlstrict.resolve_plain(text)
    return isinstance(back, str) and back == text


def _escape(char: str) -> str:
    if char in _ESCAPES or _RAW.fullmatch(char):
        return _ESCAPES.get(char, char)
    code = ord(char)
    width = 2 if code < 0x100 else 4 if code < 0x10000 else 8
    return f"\\{_HEX[width]}{code:0{width}X}"


def _verify(lines: list[str], close: int, result: str, changes: Mapping[str, Any]) -> None:
    """Read the edit back: changed keys as set, every other key and the body as before."""
    new_lines, new_close = _split(result)
    before = _read("".join(lines[1:close]), lambda path: True)
    after = _read("".join(new_lines[1:new_close]), lambda path: path[0] not in changes)
    want: dict[str, Any] = {k: v for k, v in before.items() if k not in changes}
    want.update({k: v for k, v in changes.items() if v is not None})
    body_kept = new_lines[new_close + 1 :] == lines[close + 1 :]
    if not body_kept or set(after) != set(want) or not all(_same(after[k], want[k]) for k in want):
        raise EditError(
            f"editing {', '.join(sorted(changes))} would not read back as set, or would change "
            "other values; make this edit by hand (and please report the file)"
        )


def _read(front: str, keep: Callable[[yamlstrict.Path], bool]) -> dict[str, Any]:
    doc, _ = yamlstrict.parse(front, "front matter", keep_string=keep)
    if doc is None:
        raise EditError("the edited front matter would not be valid YAML; edit the file by hand")
    return doc.value if isinstance(doc.value, dict) else {}


def _same(got: Any, want: Any) -> bool:
    """Does crmgen's reading equal the value set (a date reads as its text)?"""
    if isinstance(want, Mapping):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(_same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list | tuple):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, dt.date):
        want = want.isoformat()
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, int | Decimal):
        return isinstance(got, int | Decimal) and got == want
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    return bool(got == want)


def new_record(values: Mapping[str, Any], body: str = "", *, verify: bool = True) -> str:
    """The text of a new record file: ``values`` as front matter in their order, then ``body``.

    Values are written as :func:`set_fields` writes them (None values are left out), and read
    back: each must read as given (``verify=False`` leaves that to a caller that reads the
    text back anyway, as the import does).

    Raises:
        EditError: a bad key, an unsupported value, or one that would not read back.
    """
    lines = ["---\n"]
    kept = {k: v for k, v in values.items() if v is not None}
    for key, value in kept.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise EditError(f"{key!r} is not a field name: use letters, digits, '_' and '-'")
        lines.append(f"{key}: {_render(key, value, False)}\n")
    lines.append("---\n")
    if not verify:
        return "".join(lines) + body
    got = _read("".join(lines[1:-1]), lambda path: False) if kept else {}
    if set(got) != set(kept) or not all(_same(got[k], v) for k, v in kept.items()):
        raise EditError("the new record would not read back as given; please report this")
    return "".join(lines) + body


def write_fields(
    root: Path, rel: str, changes: Mapping[str, Any], after: Sequence[str] = ()
) -> bool:
    """Set front-matter fields of one record file in place, changing only their lines.

    The file is read as bytes and written back atomically (a temporary file in the same folder,
    then a rename; its permissions are kept), so a failure leaves it as it was.

    Args:
        root: the data repo.
        rel: the record's repo-relative path.
        changes: field -> new value (None removes the field).
        after: for a field not in the file yet, the fields to put it after, first found wins.

    Returns:
        Whether the file changed.

    Raises:
        EditError: the edit cannot be made safely; nothing was written.
        OSError: the file cannot be read or written.
    """
    file = root / rel
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(f"{rel} is not UTF-8; save it as UTF-8 first") from exc
    new = text
    for key, value in changes.items():
        new = (
            insert_after(new, key, value, after)
            if value is not None
            else set_fields(new, {key: None})
        )
    if new == text:
        return False
    temp = file.with_name(f".{file.name}.crmgen-edit")
    try:
        with open(temp, "wb") as handle:
            handle.write(new.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(file, temp)
        os.replace(temp, file)
    finally:
        if temp.exists():
            temp.unlink()
    return True
