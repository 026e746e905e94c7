"""Untrusted Markdown bodies become safe HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.fields.markdown import ALLOWED_TAGS, URL_SCHEMES, render_body
from crmgen.fields.rules import is_safe_link


def render_markdown(text: str) -> str:
    return render_body(text).html


class _Collector(HTMLParser):
    """Every start tag and attribute of a fragment, as a browser tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    """Only allowed tags; no event handler or style; every URL has a safe scheme."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, f"<{tag}> in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name not in ("style", "srcdoc", "formaction"), html
            if name in ("href", "src"):
                assert value is not None
                url = "".join(ch for ch in value if ord(ch) > 0x20).lower()
                head = url.split("/")[0].split("?")[0].split("#")[0]
                if ":" in head:
                    assert head.split(":")[0] in URL_SCHEMES, html


XSS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![i](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![i](javascript:alert(1))",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<div onclick='alert(1)'>\nraw block\n</div>\n",
    "<iframe src='https://evil.example'></iframe>",
    "<style>body{display:none}</style>",
    "[x](file:///etc/passwd)",
    '[x](https://ok.example "t" onmouseover="alert(1)")',
]


@pytest.mark.parametrize("source", XSS)
def test_xss_vectors_produce_no_active_html(source: str) -> None:
    html = render_markdown(source)
    assert_inert(html)  # parses the output: what is left of the vector is text, not markup
    assert "<script" not in html.lower()


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("<div onclick='x'>\nraw block\n</div>\n\nafter <b>inline</b>")
    assert "&lt;div onclick" in html
    assert "<div" not in html
    assert "&lt;b&gt;inline&lt;/b&gt;" in html


def test_tables_and_strikethrough_render() -> None:
    html = render_markdown("| a | b |\n|--:|---|\n| 1 | 2 |\n\n~~gone~~ and *kept*")
    assert "<table>" in html and "<th" in html and "<td" in html
    assert '<th class="align-right">a</th>' in html  # classes, not inline styles (CSP)
    assert "style=" not in html
    assert "<s>gone</s>" in html
    assert "<em>kept</em>" in html


def test_safe_links_are_kept_with_rel() -> None:
    html = render_markdown(
        "[site](https://example.com) [mail](mailto:a@b.example) "
        "[call](tel:+1555) [rel](../clients/acme.html) [frag](#notes)"
    )
    assert 'href="https://example.com"' in html
    assert 'href="mailto:a@b.example"' in html
    assert 'href="tel:+1555"' in html
    assert 'href="../clients/acme.html"' in html
    assert 'href="#notes"' in html
    assert html.count('rel="noopener noreferrer nofollow"') == 5


def test_headings_move_one_level_down() -> None:
    html = render_markdown("# Title\n\n###### Deep")
    assert "<h2>Title</h2>" in html
    assert "<h6>Deep</h6>" in html
    assert "<h1" not in html


def test_empty_body_is_empty() -> None:
    assert render_markdown("  \n") == ""


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://x.example", True),
        ("relative/page.html", True),
        ("?q=1", True),
        ("mailto:a@b.example", True),
        ("javascript:alert(1)", False),
        ("\x00javascript:alert(1)", False),
        ("jav%09ascript:alert(1)", False),
        ("data:,x", False),
    ],
)
def test_is_safe_link(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe


FRAGMENTS = st.sampled_from(
    [
        "[", "]", "(", ")", "<", ">", "!", "javascript:", "JAVASCRIPT:", "data:", "&#106;",
        "&#x09;", "&colon;", "onerror=", "<img ", "<script>", " ", "\n", "\t", "x", '"', "'",
        "`", "|", "---", "~~", "*", "\\", "%0a", "https://a.example", "](", "<svg",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_any_mix_of_dangerous_fragments_stays_inert(source: str) -> None:
    assert_inert(render_markdown(source))


def test_images_follow_the_preview_and_never_reach_another_host() -> None:
    from crmgen.fields.markdown import body_images, image_path, render_body

    source = "data/clients/acme.md"
    assert image_path("../../files/acme/logo.png", source) == "files/acme/logo.png"
    assert image_path("/files/acme/logo.png", source) == "files/acme/logo.png"
    assert image_path("../../files/a%20b.png?x=1#y", source) == "files/a b.png"
    for outside in ("../../../x.png", "https://e.example/x.png", "//e.example/x.png",
                    "data:image/png;base64,AA", "../../.git/config", "/../x.png"):  # fmt: skip
        assert image_path(outside, source) is None, outside
    text = (
        "![logo](../../files/acme/logo.png)\n\n"
        "![tracker](https://tracker.example/pixel.gif)\n\n"
        "![secret](../../schema/clients.schema.yaml)\n\n"
        "![](https://e.example/no-alt.png)\n"
    )
    assert [(i.path, i.line) for i in body_images(text, source)] == [
        ("files/acme/logo.png", 1),
        (None, 3),
        ("schema/clients.schema.yaml", 5),
        (None, 7),
    ]
    body = render_body(
        text, source=source, root="../", show_image=lambda p: p.startswith("files/")
    )
    assert body.images == ("files/acme/logo.png",)
    assert '<img src="../files/acme/logo.png" alt="logo">' in body.html
    assert body.html.count("<img") == 1  # nothing is requested from another host
    assert '<a href="https://tracker.example/pixel.gif" rel="noopener noreferrer nofollow">' \
        "tracker</a>" in body.html  # fmt: skip
    assert ">https://e.example/no-alt.png</a>" in body.html  # no alt: the address is the text
    assert "secret" in body.html and "schema/clients" not in body.html
    assert render_body(text).images == ()  # by default no local image is shown
