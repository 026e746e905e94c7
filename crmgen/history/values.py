"""The list value of a record version, read from its bytes as the load stage reads it.

A record's list is the ``<key>:`` line at column 0 of its front matter (between the fences of
``yamlstrict.front_matter_lines``), unquoted like YAML, plain text kept as typed. One-line
plain and simply quoted values take a fast path; anything else is asked of YAML.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from crmgen.yamlstrict import END_FENCE, FENCE

_PLAIN = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`\s](?:(?![ \t]#|:[ \t]).)*(?<!:)")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def front_value(data: bytes, key: str) -> str | None:
    """The string value of ``key`` in a record's front matter, as the load stage reads a string
    field, or None: no front matter, no such key, null, or not a string."""
    lines = data.decode("utf-8-sig", errors="replace").splitlines()
    if not lines or not FENCE.fullmatch(lines[0]):
        return None
    head = key + ":"
    for index in range(1, len(lines)):
        line = lines[index]
        if END_FENCE.fullmatch(line):
            return None
        if line.startswith(head) and line[len(head) : len(head) + 1] in ("", " ", "\t"):
            end = index + 1
            while end < len(lines) and lines[end][:1] in ("", " ", "\t"):
                end += 1
            return _scalar(line[len(head) :], lines[index + 1 : end])
    return None


def _scalar(rest: str, more: list[str]) -> str | None:
    """The YAML scalar written after ``key:`` (and on its indented continuation lines)."""
    text = rest.strip(" \t")
    if not any(line.strip(" \t") for line in more):  # fast paths for one plain/quoted line
        if text in ("", "~"):
            return None
        if _PLAIN.fullmatch(text):
            return text
        inner = text[1:-1]
        if len(text) > 1 and text[0] == text[-1] == "'" and "'" not in inner.replace("''", ""):
            return inner.replace("''", "'")
        if len(text) > 1 and text[0] == text[-1] == '"' and not re.search(r'["\\]', inner):
            return inner
    try:  # escapes, several lines, block scalars, comments: ask YAML
        node = yaml.compose("_:" + rest + "\n" + "\n".join(more) + "\n", Loader=_LOADER)
    except yaml.YAMLError:
        return None
    value = node.value[0][1] if isinstance(node, yaml.MappingNode) and node.value else None
    if not isinstance(value, yaml.ScalarNode) or (not value.style and value.value in ("", "~")):
        return None
    return str(value.value)
