"""Bodies rendered by markdown-it-pyrs (``markdown._fast``) come out exactly as the Python
parser would render them, and every body where the two differ takes the Python parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmgen.fields import markdown

EXAMPLE = Path(__file__).parent.parent


def _python(text: str) -> str:
    return markdown._render_python(text, "", "", lambda path: False).html


PIECES = [
    "# ", "## ", "###### ", "####### ", "> ", "- ", "* ", "+ ", "1. ", "2) ", "10. ", "    ",
    "\t", "```", "~~~", "```py", "---", "***", "___", "===", "| a | b |\n", "|---|:-:|\n",
    "a | b\n", "-:\n", "**", "__", "*", "_", "~~", "~", "`", "\\", "&amp;", "&copy;", "&#35;",
    "&#x41;", "&nbsp;", "&bogus;", "\n", "\n\n", "  \n", "\r\n", "\r", "text", "word ", "é",
    "😀", "€", "http://x.example", "www.x.example", "a@b.example", "!", "(", ")", "[x] ",
    "[ ] ", "- [ ] ", "[", "]", "[a]", "[a](http://x.example)", "[a](javascript:x)", "![i](a.png)",
    "<b>", "<http://x.example>", "[a]: http://x.example\n",
]  # fmt: skip
LETTERS = "ab Z9*_~`#>-+=|\\&;:!()\n \t.,'\"/é€{}^%$@?1\rΩ中ـ\u0301\u200b\ufeff\x00«»–“…\xa0"
BODIES = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(LETTERS, max_size=6)), max_size=40
).map("".join)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(BODIES)
def test_every_body_renders_as_the_python_parser_renders_it(body: str) -> None:
    # ``render_body`` takes either parser; made line ends are what both read
    expected = _python(markdown._NEWLINES.sub("\n", body)) if body.strip() else ""
    assert markdown.render_body(body).html == expected


@pytest.mark.parametrize(
    ("body", "python"),
    [
        ("> ", False),  # an empty quote: written without a line end inside, by both now
        (";\u200b文\n-:", False),  # a "table" without any |: no tables in the compiled one
        ("1\xa0", True),  # the Python parser strips Unicode spaces at a paragraph's end
        ("> ”'»€http://x.example\n*", True),  # an empty list item after a quote's paragraph
        ("> **text\r2) 9- \\*", True),  # a list item after a quote's paragraph (and a lone CR)
        ("😀___*_$a**$Ztext", True),  # emphasis beside characters that are not ASCII
        ("__9&- Zé€***&#x41;a@b.example", True),  # emphasis beside an entity
        ("```\nunclosed fence", True),  # the compiled parser ends it with a line end
        ("a\x00b", True),
        ("[a](javascript:alert(1)) and [b](https://ok.example)", True),  # only Python checks links
        ("![logo](../../files/a.png)", True),  # only Python rewrites images
    ],
)
def test_where_the_parsers_differ_the_body_takes_the_python_parser_or_is_evened(
    body: str, python: bool
) -> None:
    text = markdown._NEWLINES.sub("\n", body)
    assert markdown._fast(text) is not python
    assert markdown.render_body(body).html == _python(text)


def test_plain_notes_take_the_compiled_parser() -> None:
    body = (
        "# Kick-off\n\nCalled *Maria*: she wants **two** options.\n\n- draft by Friday\n"
        "- [x] brief signed\n\n1. scope\n2. price\n\n---\n\nDone &amp; dusted.\n"
    )
    assert markdown._fast(body)
    html = markdown.render_body(body).html
    assert html == _python(body)
    assert "<h2>Kick-off</h2>" in html and "<h1>" not in html  # one level down


def test_the_example_bodies_render_alike_and_most_take_the_compiled_parser() -> None:
    bodies = [p.read_text().split("---", 2)[2] for p in (EXAMPLE / "data").rglob("*.md")]
    fast = 0
    for body in bodies:
        text = markdown._NEWLINES.sub("\n", body)
        if body.strip():
            assert markdown.render_body(body).html == _python(text)
            fast += markdown._fast(text)
    assert fast > len(bodies) // 2


CELL = st.text("ab Z9*_~#>-+=:!()., '\"/é€{}^%$@?1Ω中\u0301«»–“…&;\\|`[]", max_size=8)


@st.composite
def tables(draw: st.DrawFn, cell: st.SearchStrategy[str] = CELL) -> str:
    """A table, mostly plain (``markdown._plain_tables``), sometimes not quite: a missing or
    extra cell, a space before a pipe, a delimiter without dashes, a line without pipes."""
    width = draw(st.integers(1, 4))
    align = st.sampled_from(["---", ":---", "---:", ":-:", " --- ", "-", ":", "--"])
    rows = [[draw(cell) for _ in range(width)] for _ in range(draw(st.integers(0, 4)))]
    lines = [
        "|" + "|".join(draw(cell) for _ in range(width)) + "|",
        "|" + "|".join(draw(align) for _ in range(width)) + "|",
        *("|" + "|".join(row) + "|" for row in rows),
    ]
    if draw(st.booleans()):  # now and then, something that makes it not plain
        index = draw(st.integers(0, len(lines) - 1))
        lines[index] = draw(
            st.sampled_from([" ", "", "x", "| a |", "\t"]).map(
                lambda bit, line=lines[index]: draw(
                    st.sampled_from([bit + line, line + bit, line.strip("|"), bit])
                )
            )
        )
    return "\n".join(lines)


TABLED = st.lists(
    st.one_of(tables(), st.sampled_from(PIECES), st.text(LETTERS, max_size=6)), max_size=12
).map(lambda parts: "".join(p if not p.startswith("|") else f"\n\n{p}\n\n" for p in parts))


#: Bodies most of which take the compiled parser: plain tables among text without what
#: sends a body to the Python parser anyway (links, code, tags).
PLAIN_CELL = st.text("ab Z9*_#-+=:!()., '\"/1&;é中Ω€😀\u0301«»–…ßØ", max_size=10)
PLAIN_LETTERS = "ab Z9*_#>-+=&;:!()\n \t.,'\"/1é"
PLAIN_PIECES = [p for p in PIECES if not any(c in p for c in "<`~[]\r|") and p.isascii()]
PLAIN_TABLED = st.lists(
    st.one_of(
        tables(PLAIN_CELL), st.sampled_from(PLAIN_PIECES), st.text(PLAIN_LETTERS, max_size=6)
    ),
    max_size=10,
).map(lambda parts: "".join(p if not p.startswith("|") else f"\n\n{p}\n\n" for p in parts))


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        TABLED,
        TABLED.map(lambda body: body.replace("\n\n|", "\n|")),
        PLAIN_TABLED,
        PLAIN_TABLED.map(lambda body: body.replace("\n\n|", "\n|")),
    )
)
def test_bodies_with_tables_render_as_the_python_parser_renders_them(body: str) -> None:
    """A plain table takes the compiled parser, and renders as the Python parser renders
    it (alignment classes included); every other table takes the Python parser."""
    expected = _python(markdown._NEWLINES.sub("\n", body)) if body.strip() else ""
    assert markdown.render_body(body).html == expected


def test_a_plain_table_takes_the_compiled_parser() -> None:
    body = "Fees:\n\n| Phase | Fee (EUR) |\n| --- | ---: |\n| *Discovery* | 6,000 |\n\nDone.\n"
    assert markdown._fast(body)
    assert 'class="align-right"' in markdown.render_body(body).html
    assert markdown.render_body(body).html == _python(body)
    for other in (
        "| a | b |\n| --- | --- |\nno pipe\n",  # a row without pipes: a row to one parser only
        "text\n| a | b |\n| --- | --- |\n",  # right after a paragraph
        "| a | b |\n| --- |\n",  # a cell fewer in the delimiter row
        "| a \\| b |\n| --- |\n",  # an escaped pipe
        " | a |\n| --- |\n",  # a space before the first pipe
    ):
        assert not markdown._fast(other), other
        assert markdown.render_body(other).html == _python(other)
