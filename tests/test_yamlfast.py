"""Front matter read by the fast path (``yamlstrict._fast_parse``) gives exactly the values
and positions the full parser gives, without a problem; every document where that could not
hold (and every document with a problem) takes the full parser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmgen import yamlstrict
from crmgen.config import load_config
from crmgen.load import split_front_matter, string_paths
from crmgen.schema import load_schemas

EXAMPLE = Path(__file__).parent.parent

KeepString = Callable[[yamlstrict.Path], bool]


def _full(text: str, keep: KeepString) -> tuple[object, list[object]]:
    """The full parser's answer, whatever the fast path would say."""
    saved = yamlstrict._fast_parse
    yamlstrict._fast_parse = lambda *args: None  # type: ignore[assignment]
    try:
        return yamlstrict.parse(text, "r.md", line_offset=1, keep_string=keep)
    finally:
        yamlstrict._fast_parse = saved


def _same(text: str, keep: KeepString) -> bool:
    """Whether the fast path read ``text``; asserts it read it as the full parser does."""
    fast = yamlstrict._fast_parse(text, 1, keep)
    if fast is None:
        return False
    full, problems = _full(text, keep)
    assert problems == []
    assert isinstance(full, yamlstrict.YamlDoc)
    assert fast.value == full.value
    assert [type(v) for v in _leaves(fast.value)] == [type(v) for v in _leaves(full.value)]
    assert fast.positions == full.positions
    assert fast.value_positions == full.value_positions
    assert list(fast.positions) == list(full.positions)  # the order keys were written in
    assert list(fast.value_positions) == list(full.value_positions)
    assert yamlstrict.parse(text, "r.md", line_offset=1, keep_string=keep) == (fast, [])
    return True


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


KEEPS: list[KeepString] = [
    lambda path: False,
    lambda path: True,
    lambda path: str(path[0]) in ("name", "zip", "tags"),
]

KEYS = ["name", "amount", "tags", "zip", "a", "b_c", "d-e", "_f", "Zoë", "1x", "a b", "name"]
SCALARS = [
    "word", "two words", "Zoë Ng", "42", "-5", "+7", "007", "1.10", "1e5", "1e500", ".5",
    "0x1F", "0o17", "2025-01-31", "yes", "NO", "true", "False", "null", "~", "", "-", "--x",
    "---", "...", "a: b", "a:b", "a:", "C#", "a #b", "#x", "&a", "*a", "!t x", "|", ">", "%x",
    "@x", "`x", "?x", "?", ":x", "[a, b]", "[]", "[ ]", "[a,]", "[,]", "[a, [b]]", "[a: b]",
    "[a #b]", "[-1, x y]", "[- a]", "[~, null, 3]", "{a: b}", '"q"', '""', '"a\\"b"',
    '"a\\nb"', '"a # b"', "'q'", "''", "'it''s'", "'a\"b'", '"unclosed', "'x' y", '"x" #c',
    "x  ", "a  b", "\t", "a\tb", "é€😀", "\u2028", "\x85", "\ufeff", "\xa0x", "x\xa0",
    "http://x.example/a?b=c#d", "a, b", "a]", "a}", "{", "50%",
]  # fmt: skip
LINE_PIECES = [
    "", "  ", "# comment", "  - ", "- ", "    - ", "  ", "    ", "   ", "\t", ":", " : ",
]  # fmt: skip


@st.composite
def _documents(draw: st.DrawFn) -> str:
    spaces, scalars = st.sampled_from([" ", "  ", ""]), st.sampled_from(SCALARS)
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        key = draw(st.sampled_from(KEYS))
        kind = draw(st.sampled_from(["value", "value", "list", "map", "odd"]))
        if kind == "value":
            lines.append(f"{key}:{draw(spaces)}{draw(scalars)}")
        elif kind in ("list", "map"):  # a key with items or keys below it
            lines.append(f"{key}:")
            indent = " " * draw(st.sampled_from([0, 2, 2, 4] if kind == "list" else [0, 2, 2, 3]))
            for _ in range(draw(st.integers(0, 3))):
                lead = f"-{draw(spaces)}" if kind == "list" else f"{draw(st.sampled_from(KEYS))}: "
                lines.append(f"{indent}{lead}{draw(scalars)}")
        else:
            lines.append(draw(st.sampled_from(LINE_PIECES)) + draw(scalars))
    end = draw(st.sampled_from(["\n", "\n", "", "\r\n"]))
    return "\n".join(lines) + end


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(_documents(), st.sampled_from(range(len(KEEPS))))
@example("a: [ x ,  y]\n", 0)
@example("tags:\n- a\n-  b\nname: x\n", 2)
@example("address:\n  street: 1 Main St\n  zip: 007\n", 2)
def test_what_the_fast_path_reads_the_full_parser_reads_alike(text: str, keep: int) -> None:
    _same(text, KEEPS[keep])


SIMPLE_VALUES = [
    "word", "Zoë Ng", "42", "-5", "1.10", "2025-01-31", "yes", "~", "C#", "a:b", '"1-10"',
    "'q'", "[a, b c, 3]", "[]", "https://x.example/p?q=1#top", "a, b", "50%", "x  ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["value", "list", "map"]),
            st.lists(st.sampled_from(SIMPLE_VALUES), min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(range(len(KEEPS))),
)
def test_the_usual_front_matter_takes_the_fast_path(
    fields: list[tuple[str, list[str]]], keep: int
) -> None:
    lines = []
    for number, (kind, values) in enumerate(fields):
        key = f"f{number}"
        if kind == "value" or all(v.startswith("[") for v in values):
            lines.append(f"{key}: {values[0]}")
        elif kind == "list":
            # a list item is a scalar: a list in a list takes the full parser
            lines += [f"{key}:", *(f"  - {v}" for v in values if not v.startswith("["))]
        else:
            lines += [f"{key}:", *(f"  k{i}: {v}" for i, v in enumerate(values))]
    assert _same("\n".join(lines) + "\n", KEEPS[keep])


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # a duplicate key: the full parser reports it
        "a: &x 1\n",  # an anchor
        "a: !t 1\n",  # a tag
        "a: 1 # note\n",  # a comment
        "# note\na: 1\n",
        "a:\nb: 1\n",  # an empty value: the full parser places its null
        "a:\n  - x\n   - y\n",  # items at two indents
        "a:\n  b:\n    c: 1\n",  # a mapping two levels deep
        "a: x\n  y\n",  # a scalar over two lines
        "a: 1\r\n",  # CR LF
        "a: 1\n  \n",  # a line of spaces
        "a: 1",  # no line end
        "a: \u2028\n",  # a line separator: a line break to YAML 1.1
        "a: 'it''s'\n",  # an escaped quote
        "a: [x, y,]\n",
    ],
)
def test_what_the_fast_path_leaves_to_the_full_parser(text: str) -> None:
    assert yamlstrict._fast_parse(text, 1, KEEPS[0]) is None


def test_the_example_records_take_the_fast_path_and_read_alike() -> None:
    config = load_config(EXAMPLE)
    schemas = load_schemas(EXAMPLE, config[0] if isinstance(config, tuple) else config)
    if isinstance(schemas, tuple):
        schemas = schemas[0]
    fast = total = 0
    for name, schema in schemas.items():
        keep = string_paths(schema)
        for file in sorted((EXAMPLE / "data" / name).rglob("*.md")):
            parts = split_front_matter(file.read_text(encoding="utf-8"))
            assert not isinstance(parts, str)
            total += 1
            fast += _same(parts[0], keep)
    assert total > 100
    assert fast >= total * 0.9
