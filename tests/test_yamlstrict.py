from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen import yamlstrict
from crmgen.model import Pos
from crmgen.yamlstrict import parse, read_source, resolve_plain


def test_plain_scalars_follow_yaml_12_core() -> None:
    doc, diags = parse("a: yes\nb: ON\nc: 12:30\nd: 2026-01-01\ne: 1.10\nf: 0x1F\ng: true\n", "x")
    assert diags == []
    assert doc is not None
    assert doc.value == {
        "a": "yes",
        "b": "ON",
        "c": "12:30",
        "d": "2026-01-01",
        "e": Decimal("1.10"),
        "f": 31,
        "g": True,
    }


def test_string_fields_keep_exact_text() -> None:
    text = "zip: 01234\nflag: NO\nver: 1.10\nn: 1.10\nlist: [007, 1e3]\n"
    keep = {("zip",), ("flag",), ("ver",), ("list", 0), ("list", 1)}
    doc, diags = parse(text, "x", keep_string=lambda p: p in keep)
    assert diags == []
    assert doc is not None
    assert doc.value == {
        "zip": "01234",
        "flag": "NO",
        "ver": "1.10",
        "n": Decimal("1.10"),
        "list": ["007", "1e3"],
    }


def test_numbers_are_exact_and_bounded() -> None:
    assert resolve_plain("0.1") == Decimal("0.1")
    assert resolve_plain("1e999") == "1e999"
    assert resolve_plain(".inf") == ".inf"
    assert resolve_plain(".nan") == ".nan"
    assert resolve_plain("9" * 100) == "9" * 100


def test_positions_of_keys_items_and_values() -> None:
    doc, _ = parse("a: 1\nb:\n  - x\n  - y\nc: {d: 2}\n", "x", line_offset=1)
    assert doc is not None
    assert doc.positions[("a",)] == Pos(2, 1)
    assert doc.positions[("b", 1)] == Pos(5, 5)
    assert doc.positions[("c", "d")] == Pos(6, 5)
    assert doc.value_pos(("a",)) == Pos(2, 4)
    assert doc.pos(("b", 9)) == Pos(3, 1)


def test_duplicate_keys_anchors_aliases_tags_are_errors() -> None:
    text = "a: 1\nb: &x 2\nc: *x\nd: !!python/object:os.system ls\na: 3\n"
    doc, diags = parse(text, "r.md", line_offset=1)
    assert [(d.code, d.line, d.col) for d in diags] == [
        ("yaml-anchor", 3, 4),
        ("yaml-alias", 4, 4),
        ("yaml-tag", 5, 4),
        ("yaml-duplicate-key", 6, 1),
    ]
    assert diags[3].message == "duplicate key 'a' (first set on line 2); keep only one"
    assert doc is not None and doc.value["a"] == 1


def test_billion_laughs_is_refused_without_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [" + ", ".join(["*a" if i == 1 else f"*a{i - 1}"] * 9) + "]")
    start = time.perf_counter()
    _, diags = parse("\n".join(lines), "x")
    assert time.perf_counter() - start < 1
    assert any(d.code == "yaml-alias" for d in diags)


def test_syntax_error_has_line() -> None:
    doc, diags = parse("a: 1\nb: [1, 2\n", "r.md", line_offset=1)
    assert doc is None
    assert len(diags) == 1
    assert diags[0].code == "yaml-syntax"
    assert diags[0].line == 4
    assert "flow sequence started on line 3" in diags[0].message


def test_control_character_is_an_error_with_line() -> None:
    doc, diags = parse("a: 1\nb: \x07\n", "x", line_offset=1)
    assert doc is None
    assert [(d.code, d.line) for d in diags] == [("yaml-character", 3)]
    assert "U+0007" in diags[0].message


def test_complex_keys_and_multiple_documents() -> None:
    _, diags = parse("? [a, b]\n: 1\nc: 2\n", "x")
    assert [d.code for d in diags] == ["yaml-complex-key"]
    _, diags = parse("a: 1\n---\nb: 2\n", "x")
    assert [d.code for d in diags] == ["yaml-multiple-documents"]


def test_deep_nesting_does_not_recurse() -> None:
    doc, diags = parse("a: " + "[" * 5000 + "]" * 5000 + "\n", "x")
    assert doc is not None or diags


yaml_chars = st.sampled_from([*list("ab:-[]{},&*!|>'\"#\n \t?.0123456789%@`~\\"), "\u2028"])


@settings(max_examples=1500, deadline=500)
@given(st.text(yaml_chars, max_size=80) | st.text(max_size=80))
def test_random_documents_never_raise(text: str) -> None:
    start = time.perf_counter()
    doc, diags = parse(text, "fuzz.md", line_offset=1, keep_string=lambda p: len(p) == 1)
    assert time.perf_counter() - start < 0.5
    assert doc is not None or diags
    for d in diags:
        assert d.path == "fuzz.md" and d.severity == "error" and d.line >= 1


def test_read_source_checks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ok.md").write_bytes("\ufeffhé".encode())
    assert read_source(root, root / "ok.md") == ("hé", [])
    (root / "bad.md").write_bytes(b"line one\nab\xffc\n")
    text, diags = read_source(root, root / "bad.md")
    assert text is None and (diags[0].line, diags[0].col) == (2, 3)
    (root / "nul.md").write_bytes(b"a\x00b")
    assert read_source(root, root / "nul.md")[1][0].code == "encoding"
    (root / "big.md").write_bytes(b"x" * 2000)
    assert read_source(root, root / "big.md", max_size=1000)[1][0].code == "too-large"
    (tmp_path / "outside.md").write_text("secret")
    os.symlink(tmp_path / "outside.md", root / "link.md")
    assert read_source(root, root / "link.md")[1][0].code == "symlink-outside"


def _read(root: Path, name: str, max_size: int = 1000) -> tuple[str | None, list[str]]:
    text, problems = read_source(root, root / name, max_size)
    return text, [f"{p.code} {p.path}: {p.message}" for p in problems]


def test_read_source_reads_a_file_and_a_link_inside_the_repo(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes(b"\xef\xbb\xbfhello\n")  # a byte-order mark is dropped
    (tmp_path / "b.md").symlink_to("a.md")
    assert _read(tmp_path, "a.md") == ("hello\n", [])
    assert _read(tmp_path, "b.md") == ("hello\n", [])


def test_read_source_refuses_what_cannot_be_trusted(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret", encoding="utf-8")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "out.md").symlink_to(outside)
    (root / "dangling.md").symlink_to(root / "gone.md")
    (root / "big.md").write_text("x" * 1001, encoding="utf-8")
    (root / "folder.md").mkdir()
    (root / "bad.md").write_bytes(b"ok\nab\xffc\n")
    (root / "nul.md").write_bytes(b"ok\n\nx\x00\n")
    assert _read(root, "out.md")[1] == [
        "symlink-outside out.md: symbolic link points outside the repository; "
        "replace it with the file itself"
    ]
    assert _read(root, "dangling.md")[1][0].startswith("symlink-outside dangling.md")
    assert _read(root, "big.md")[1] == [
        "too-large big.md: file is 1,001 bytes, over the 1,000-byte limit; split it or move "
        "large content to an attachment"
    ]
    assert _read(root, "missing.md")[1] == [
        "unreadable missing.md: cannot read file: No such file or directory"
    ]
    assert _read(root, "folder.md")[1] == [
        "unreadable folder.md: cannot read file: it is not a regular file"
    ]
    text, problems = read_source(root, root / "bad.md")
    assert text is None and [(p.code, p.line, p.col) for p in problems] == [("encoding", 2, 3)]
    text, problems = read_source(root, root / "nul.md")
    assert text is None and [(p.code, p.line) for p in problems] == [("encoding", 3)]


def test_read_source_does_not_wait_on_a_named_pipe(tmp_path: Path) -> None:
    """A named pipe in the repo is refused at once, never waited on for a writer."""
    os.mkfifo(tmp_path / "pipe.md")
    assert _read(tmp_path, "pipe.md") == (
        None,
        ["unreadable pipe.md: cannot read file: it is not a regular file"],
    )


def test_read_source_refuses_a_link_out_where_open_cannot_refuse_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``open`` has no ``O_NOFOLLOW`` (Windows), a link is looked for before opening."""
    monkeypatch.setattr(yamlstrict, "_REFUSES_LINKS", False)
    test_read_source_refuses_what_cannot_be_trusted(tmp_path)
    test_read_source_reads_a_file_and_a_link_inside_the_repo(tmp_path / "repo")
    os.mkfifo(tmp_path / "repo" / "pipe.md")
    (tmp_path / "repo" / "to-pipe.md").symlink_to("pipe.md")
    assert _read(tmp_path / "repo", "to-pipe.md")[1] == [
        "unreadable to-pipe.md: cannot read file: it is not a regular file"
    ]
