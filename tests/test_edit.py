"""edit.py: a command that edits records changes only what it must, byte for byte."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.edit import EditError, insert_after, set_fields
from crmgen.load import split_front_matter
from crmgen.yamlstrict import Path, parse

# name -> (file text, an existing one-line key, the line it should become for "Won")
NASTY: dict[str, tuple[str, str, str]] = {
    "comments": (
        "---\n# leading comment\ntitle: Acme  # the name\n\n"
        "list: Proposal sent   # a comment\n# trailing comment\n---\nBody\n",
        "list",
        "list: Won   # a comment\n",
    ),
    "quoting": (
        '---\ntitle: \'It\'\'s "quoted"\'\n"list" :  "Proposal sent"  # c\n'
        "owner: ''\n---\nBody\n",
        "list",
        '"list" :  Won  # c\n',
    ),
    "crlf": (
        "---\r\ntitle: Acme\r\nlist: Lead\r\namount: 42000\r\n---\r\nBody\r\nmore\r\n",
        "list",
        "list: Won\r\n",
    ),
    "mixed-endings": (
        "---\ntitle: Acme\r\nlist: Lead\r\nowner: bob\namount: 1\r---\nBody\r\n",
        "list",
        "list: Won\r\n",
    ),
    "bom-no-final-newline": (
        "\ufeff---\ntitle: Acme\nlist: Lead\n---\nBody without newline",
        "list",
        "list: Won\n",
    ),
    "fence-only-no-final-newline": ("---\nlist: Lead\n---", "list", "list: Won\n"),
    "block-scalars": (
        "---\nnotes: |\n  line one\n\n  # not a comment\nlist: Lead\nsummary: >-\n"
        "  folded\n  text\n\nowner: x\n---\nBody\n",
        "list",
        "list: Won\n",
    ),
    "block-sequences": (
        "---\ntags:\n  - a\n  - b\nlist: Lead\nmore:\n- x\n# between\n- y\nz: 1\n---\n",
        "list",
        "list: Won\n",
    ),
    "nested-mapping": (
        "---\naddress:\n  street: 1 Main St\n  city: Springfield\n  geo: {lat: 1, lon: 2}\n"
        "list: Lead\ncontact:\n  name: Ann\n---\nBody\n",
        "list",
        "list: Won\n",
    ),
    "blank-lines": ("---\n\ntitle: Acme\n\n\nlist: Lead\n\n---\nBody\n", "list", "list: Won\n"),
    "fence-in-body": (
        "---\ntitle: Acme\nlist: Lead\n...\nBody\n---\nlist: Body list\n---\n",
        "list",
        "list: Won\n",
    ),
    "multiline-flow": (
        '---\ntags: [a,\n  b, c]  # c\nlist:   Lead\nq: "multi\n  line"\n---\n',
        "list",
        "list:   Won\n",
    ),
    "tabs-and-trailing-space": ("---\nlist:\tLead \nx: 1\n---\n", "list", "list:\tWon \n"),
    "key-like-line-in-a-quoted-value": (
        '---\nq: "a\nlist: b"\nlist: Lead\n---\n',
        "list",
        "list: Won\n",
    ),
}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _front(text: str) -> list[str]:
    parts = split_front_matter(text.removeprefix("\ufeff"))
    assert not isinstance(parts, str), parts
    return _lines(parts[0])


def _read(text: str, keep: Callable[[Path], bool]) -> dict[str, Any]:
    parts = split_front_matter(text.removeprefix("\ufeff"))
    assert not isinstance(parts, str), parts
    doc, diags = parse(parts[0], "r.md", keep_string=keep)
    assert doc is not None, diags
    assert [d for d in diags if d.code == "yaml-duplicate-key"] == []
    return doc.value if isinstance(doc.value, dict) else {}


def _only_change(before: str, after: str) -> tuple[int, list[str], list[str]]:
    """The single run of lines that differs: (index, old lines, new lines)."""
    old, new = _lines(before), _lines(after)
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, old[head : len(old) - tail], new[head : len(new) - tail]


@pytest.mark.parametrize("name", sorted(NASTY))
def test_setting_a_key_changes_exactly_its_line(name: str) -> None:
    text, key, line = NASTY[name]
    after = set_fields(text, {key: "Won"})
    _, old, new = _only_change(text, after)
    assert new == [line]
    assert len(old) == 1 and old[0].lstrip("\ufeff").startswith(line[:2])
    assert after.startswith("\ufeff") == text.startswith("\ufeff")
    assert after.endswith("\n") == text.endswith("\n")
    assert _read(after, lambda p: True)[key] == "Won"


@pytest.mark.parametrize("name", sorted(NASTY))
def test_a_missing_key_adds_one_line_before_the_closing_line(name: str) -> None:
    text = NASTY[name][0]
    after = set_fields(text, {"owner_2": "Alice"})
    index, old, new = _only_change(text, after)
    closing = len(_front(text)) + 1
    ending = _lines(text)[closing - 1][len(_lines(text)[closing - 1].rstrip("\r\n")) :]
    assert (index, old, new) == (closing, [], ["owner_2: Alice" + ending])
    assert _read(after, lambda p: True) == {**_read(text, lambda p: True), "owner_2": "Alice"}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_removing_a_key_deletes_its_line_and_nothing_else(name: str) -> None:
    text, key, _ = NASTY[name]
    after = set_fields(text, {key: None})
    _, old, new = _only_change(text, after)
    assert new == [] and len(old) == 1
    assert key not in _read(after, lambda p: True)


def test_a_multiline_entry_becomes_one_line_keeping_the_key_line_comment() -> None:
    text = (
        "---\r\ntitle: x\r\nnotes: |+  # keep\r\n  a\r\n\r\n  b\r\n\r\n"
        "tags:   # the tags\r\n- a\r\n# between\r\n- b\r\n# after tags\r\n"
        "address:\r\n  street: x\r\n  city: |\r\n    y\r\n\r\nlist: Lead\r\n---\r\nbody\r\n"
    )
    assert set_fields(text, {"notes": "n", "tags": ["q", "r s"], "address": "here"}) == (
        "---\r\ntitle: x\r\nnotes: n  # keep\r\n"
        "tags: [q, r s]   # the tags\r\n# after tags\r\n"
        "address: here\r\n\r\nlist: Lead\r\n---\r\nbody\r\n"
    )


def test_removing_multiline_entries_deletes_exactly_their_lines() -> None:
    text = (
        "---\nnotes: >\n  folded\n\n  text\n\nlist: Lead\ntags:\n  - a\n  # inside\n  - b\n"
        "# after\nq: [a,\n  b]\n---\n"
    )
    assert set_fields(text, {"notes": None, "tags": None, "q": None}) == (
        "---\n\nlist: Lead\n# after\n---\n"
    )


def test_spaces_past_a_block_scalars_indent_are_its_content() -> None:
    text = "---\na: |-\n  x\n\nb: |-\n  line\n   \n  \n\nc: 1\n---\n"
    assert _read(text, lambda p: True)["b"] == "line\n "
    assert set_fields(text, {"b": "X"}) == "---\na: |-\n  x\n\nb: X\n  \n\nc: 1\n---\n"
    assert set_fields(text, {"b": None}) == "---\na: |-\n  x\n\n  \n\nc: 1\n---\n"


def test_several_changes_at_once_and_nothing_to_do() -> None:
    text = "---\ntitle: Acme\nowner:\nlist: Lead\n---\n"
    assert set_fields(text, {"owner": "Ann", "list": None, "amount": Decimal("12.50")}) == (
        "---\ntitle: Acme\nowner: Ann\namount: 12.50\n---\n"
    )
    assert set_fields(text, {"missing": None}) is text
    assert set_fields("---\n---\n", {"a": 1, "b": [1, True]}) == "---\na: 1\nb: [1, true]\n---\n"
    assert set_fields("---\n# only a comment\n...\n", {"a": "x"}) == (
        "---\n# only a comment\na: x\n...\n"
    )


def test_empty_values_take_one_space_and_keep_their_comment() -> None:
    text = "---\nowner:\nclient:   # who pays\nlist:    \n---\n"
    assert set_fields(text, {"owner": "a", "client": "b", "list": "c"}) == (
        "---\nowner: a\nclient: b   # who pays\nlist:    c\n---\n"
    )


def test_a_comment_glued_to_a_quoted_value_stays_a_comment() -> None:
    assert (
        set_fields('---\nlist: "Lead"# c\n---\n', {"list": "Won"}) == "---\nlist: Won # c\n---\n"
    )


# Entry shapes: (lines with {k} for the key, the line that replaces the entry when set to "X").
SHAPES: dict[str, tuple[list[str], str]] = {
    "plain": (["{k}: value  # c"], "{k}: X  # c"),
    "quoted": (["{k}:  'it''s'"], "{k}:  X"),
    "empty": (["{k}:"], "{k}: X"),
    "block": (["{k}: |-", "  line", "", "  # content, not a comment"], "{k}: X"),
    "block-sequence": (["{k}:  # tags", "  - a", "  # c", "  - b"], "{k}: X  # tags"),
    "flush-sequence": (["{k}:", "- a", "-", "- b"], "{k}: X"),
    "mapping": (["{k}:", "  a: 1", "  b:", "    - x", "  c: >", "    folded"], "{k}: X"),
    "flow": (["{k}: [a,", "  b, {{c: d}}]  # c"], "{k}: X"),
    "quoted-lines": (['{k}: "multi', 'k9: x"'], "{k}: X"),
    "next-line": (["{k}:", "  scalar on", "  two lines"], "{k}: X"),
}
BETWEEN = ["", "# comment", "  "]


@st.composite
def _files(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    """A record with random entry shapes, separators and endings, and where each entry is."""
    style = draw(st.sampled_from(["\n", "\r\n", "mixed"]))

    def ending() -> str:
        return draw(st.sampled_from(["\n", "\r\n"])) if style == "mixed" else style

    lines = ["---" + ending()]
    spans: list[tuple[int, int, str]] = []
    for number, shape in enumerate(draw(st.lists(st.sampled_from(sorted(SHAPES)), max_size=6))):
        lines += [b + ending() for b in draw(st.lists(st.sampled_from(BETWEEN), max_size=2))]
        first = len(lines)
        lines += [line.format(k=f"k{number}") + ending() for line in SHAPES[shape][0]]
        spans.append((first, len(lines), SHAPES[shape][1].format(k=f"k{number}")))
    lines += [b + ending() for b in draw(st.lists(st.sampled_from(BETWEEN), max_size=2))]
    lines.append(draw(st.sampled_from(["---", "..."])) + ending())
    body = draw(st.sampled_from(["", "Body", "Body\n---\nk0: body\n"]))
    return draw(st.sampled_from(["", "\ufeff"])) + "".join(lines) + body, spans


@settings(max_examples=200, deadline=None)
@given(file=_files(), data=st.data())
def test_any_mix_of_shapes_changes_only_the_entry(
    file: tuple[str, list[tuple[int, int, str]]], data: st.DataObject
) -> None:
    text, spans = file
    old = _lines(text)
    if spans:
        index = data.draw(st.integers(0, len(spans) - 1))
        first, stop, line = spans[index]
        ending = old[first][len(old[first].rstrip("\r\n")) :]
        assert _lines(set_fields(text, {f"k{index}": "X"})) == [
            *old[:first], line + ending, *old[stop:]
        ]  # fmt: skip
        assert _lines(set_fields(text, {f"k{index}": None})) == [*old[:first], *old[stop:]]
    closing = len(_front(text)) + 1
    added = _lines(set_fields(text, {"new": "X"}))
    ending = old[closing - 1][len(old[closing - 1].rstrip("\r\n")) :]
    assert added == [*old[:closing], "new: X" + ending, *old[closing:]]


def test_values_are_written_as_crmgen_reads_them() -> None:
    cases: list[tuple[Any, str]] = [
        ("Estée", "Estée"),
        ("O’Reilly", "O’Reilly"),
        ("Brown–Forman", "Brown–Forman"),
        ("ON", "ON"),
        ("C#", "C#"),
        ("01234", '"01234"'),
        ("1.10", '"1.10"'),
        ("1e3", '"1e3"'),
        ("0x1F", '"0x1F"'),
        ("true", '"true"'),
        ("~", '"~"'),
        ("", '""'),
        (" leading space", '" leading space"'),
        ("a: b", '"a: b"'),
        ("a #b", '"a #b"'),
        ("#hash", '"#hash"'),
        ('"quoted"', '"\\"quoted\\""'),
        ("tab\there", '"tab\\there"'),
        ("two\nlines\u2028", '"two\\nlines\\u2028"'),
        ("\ufeffbom", '"\\uFEFFbom"'),
        ("bell\x07", '"bell\\x07"'),
        ("back\\slash", "back\\slash"),
        ("😀 party", "😀 party"),
        (42000, "42000"),
        (-7, "-7"),
        (Decimal("1.10"), "1.10"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000"), "-0.000"),
        (True, "true"),
        (False, "false"),
        (dt.date(2026, 1, 5), "2026-01-05"),
        ([], "[]"),
        (["site", "b c", "a,b", "01234", "x: y"], '[site, b c, "a,b", "01234", "x: y"]'),
        (["[z]", "{m}", "?q", "a #b", "C#"], '["[z]", "{m}", "?q", "a #b", "C#"]'),
        ((1, Decimal("2.5"), False), "[1, 2.5, false]"),
    ]  # fmt: skip
    for value, written in cases:
        assert set_fields("---\nx: 1\n---\n", {"x": value}) == f"---\nx: {written}\n---\n"


TEXT = st.one_of(
    st.text(),
    st.text(alphabet="-?:,[]{}#&*!|>'\"%@`~ \t\n\r\\.0123456789eExXoO+aNnulTrFs\ufeff\x85"),
    st.sampled_from(["NO", "ON", "yes", "null", "Null", "01234", "1.10", ".5", "1e3", "0o17"]),
)
SCALAR = st.one_of(
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
)
BASE = NASTY["comments"][0]


def _expected(value: Any) -> Any:
    if isinstance(value, list):
        return [_expected(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, str | bool):
        return type(got) is type(want) and got == want
    return isinstance(got, int | Decimal) and not isinstance(got, bool) and got == want


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(TEXT, st.lists(TEXT, max_size=4)), key=st.sampled_from(["list", "new"]))
def test_text_reads_back_exactly_as_a_string_field(value: Any, key: str) -> None:
    after = set_fields(BASE, {key: value})
    assert _read(after, lambda p: True)[key] == value
    # Quoted where a plain scalar would resolve: the same text for a non-string field too.
    assert _same(_read(after, lambda p: False)[key], value)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(SCALAR, st.lists(SCALAR, max_size=4)), key=st.sampled_from(["list", "n"]))
def test_numbers_dates_and_booleans_read_back_typed(value: Any, key: str) -> None:
    numbers = value if isinstance(value, list) else [value]
    texts = [format(v, "f" if isinstance(v, Decimal) else "d") for v in numbers]
    too_long = any(
        len(text) > 60
        for v, text in zip(numbers, texts, strict=True)
        if not isinstance(v, bool | dt.date)
    )
    if too_long:
        with pytest.raises(EditError, match="at most 60 characters"):
            set_fields(BASE, {key: value})
        return
    after = set_fields(BASE, {key: value})
    got = _read(after, lambda p: False)[key]
    assert _same(got, _expected(value)), (got, value)
    assert _read(after, lambda p: True)["title"] == "Acme"


REFUSED = {
    "": "the file is empty; a record starts with a '---' line, its fields, and '---'",
    "title: x\n": "the file must start with a '---' line opening the front matter",
    "---\ntitle: x\n": "the front matter is not closed; add a '---' line after the last field",
    "---\ntitle: [x\n---\n": "the front matter is not valid YAML on line 3; fix it, then retry",
    "---\njust text\n---\n": (
        "the front matter must be a list of 'key: value' lines; fix it by hand"
    ),
    "---\n{list: x}\n---\n": (
        "the front matter must be a list of 'key: value' lines; fix it by hand"
    ),
    "---\n  list: x\n---\n": (
        "the front matter's keys must start at the beginning of their lines"
    ),
    "---\nlist: a\nx: 1\nlist: b\n---\n": ("key 'list' appears 2 times (lines 2 and 4); keep one"),
    "---\nlist: &a x\n---\n": (
        "key 'list' (line 2) uses a YAML anchor or alias; write the value out in full"
    ),
    "---\nx: &a 1\nlist: *a\n---\n": (
        "key 'list' (line 3) uses a YAML anchor or alias; write the value out in full"
    ),
    "---\nlist: !!str x\n---\n": (
        "key 'list' (line 2) uses a YAML tag; remove it (quote text that must stay text)"
    ),
    "---\nlist:\n  - !t x\n---\n": (
        "key 'list' (line 2) uses a YAML tag; remove it (quote text that must stay text)"
    ),
    "---\nlist: x\n--- y\n---\n": (
        "the front matter holds two YAML documents; remove the '---' inside it"
    ),
    "---\n? list\n: x\n---\n": (
        "key 'list' (line 2) is not a simple 'key:' starting its line; edit it by hand"
    ),
}


@pytest.mark.parametrize("text", sorted(REFUSED))
def test_unsafe_files_are_refused(text: str) -> None:
    with pytest.raises(EditError) as caught:
        set_fields(text, {"list": "Won"})
    assert str(caught.value) == REFUSED[text]


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        {"a": {"b": 1}},
        [None],
        [[1]],
        dt.datetime(2026, 1, 1),
        object(),
        Decimal("NaN"),
        10**61,
    ],
)
def test_unsupported_values_are_refused(value: Any) -> None:
    with pytest.raises(EditError, match="cannot write"):
        set_fields("---\nx: 1\n---\n", {"x": value})


def test_a_mapping_is_written_as_a_flow_mapping() -> None:
    address = {"street": "Chausseestraße 86", "postcode": "01234", "city": "NO"}
    assert set_fields("---\nx: 1\n---\n", {"address": address}) == (
        '---\nx: 1\naddress: {street: Chausseestraße 86, postcode: "01234", city: NO}\n---\n'
    )


def test_new_record_reads_back_as_given() -> None:
    from crmgen.edit import new_record

    text = new_record({"title": "ON", "amount": Decimal("9262.50"), "tags": ["a, b"]}, "Hi\n")
    assert text == '---\ntitle: ON\namount: 9262.50\ntags: ["a, b"]\n---\nHi\n'
    with pytest.raises(EditError, match="is not a field name"):
        new_record({"a b": 1})


@pytest.mark.parametrize("key", ["", "own er", "-x", "a:b", "a.b", "ключ", "x\n"])
def test_bad_key_names_are_refused(key: str) -> None:
    with pytest.raises(EditError, match="is not a field name"):
        set_fields("---\nx: 1\n---\n", {key: "v"})


def test_an_edit_that_would_change_another_value_is_refused() -> None:
    # Removing b would hand its trailing blank line to a's "keep" block scalar.
    text = "---\na: |+\n  x\nb: |\n  y\n\nc: 1\n---\n"
    with pytest.raises(EditError) as caught:
        set_fields(text, {"b": None})
    assert str(caught.value) == (
        "editing b would not read back as set, or would change other values; make this edit "
        "by hand (and please report the file)"
    )


def test_insert_after_goes_after_the_whole_entry_keeping_endings() -> None:
    text = (
        "---\r\ntitle: x\r\nlist:\r\n  - Lead\r\n  # why\r\n  - Won\r\n# about notes\r\n"
        "notes: |\r\n  a\r\n\r\n---\r\nbody"
    )
    assert insert_after(text, "owner", "Ann", ["missing", "list", "title"]) == (
        "---\r\ntitle: x\r\nlist:\r\n  - Lead\r\n  # why\r\n  - Won\r\nowner: Ann\r\n"
        "# about notes\r\nnotes: |\r\n  a\r\n\r\n---\r\nbody"
    )
    assert insert_after(text, "owner", "Ann", ["notes"]) == (
        "---\r\ntitle: x\r\nlist:\r\n  - Lead\r\n  # why\r\n  - Won\r\n# about notes\r\n"
        "notes: |\r\n  a\r\nowner: Ann\r\n\r\n---\r\nbody"
    )
    assert insert_after(text, "owner", "Ann", ["nope"]) == text.replace(
        "\r\n---", "\r\nowner: Ann\r\n---"
    )


def test_insert_after_replaces_an_existing_key_in_place() -> None:
    text = "---\nlist: Lead\ntitle: x\nowner:   # who\n---\n"
    assert insert_after(text, "owner", "Ann", ["list"]) == (
        "---\nlist: Lead\ntitle: x\nowner: Ann   # who\n---\n"
    )
    assert insert_after(text, "client", None, ["list"]) is text
