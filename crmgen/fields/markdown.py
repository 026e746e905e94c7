"""Record bodies: untrusted Markdown to safe HTML, and the images a body shows.

The body is every record's long-text field, so it lives with the field types: ``validate``
checks the local images a body shows, ``views`` renders it. Markdown is parsed as CommonMark
plus GitHub's tables and strikethrough, with raw HTML disabled and links limited to safe
schemes; the HTML then goes through nh3 (ammonia) with an explicit allow-list, so even a parser
bug cannot let active content through. Table alignment becomes classes (the site's
Content-Security-Policy forbids inline ``style`` attributes) and headings move one level down
so the record title stays the page's only ``<h1>``.

Images: a body is written for the pull-request preview, where a relative image path is
relative to the record's file (``../../files/acme/logo.png``) and ``/files/...`` to the
repository root. Such an image inside the attachments folder, of an image type that passes the
attachment check, is shown from the site's copy; an image from another host becomes a plain
link with its alt text (the site requests nothing from other hosts); anything else is its alt
text.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from crmgen.fields.rules import LINK_SCHEMES as URL_SCHEMES
from crmgen.fields.rules import is_safe_link, path_problem

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
        "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}

_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
ALLOWED_CLASSES = {"th": _ALIGN_CLASSES, "td": _ALIGN_CLASSES}

LINK_REL = "noopener noreferrer nofollow"

_ALIGN_STYLE = re.compile(r"text-align:(left|center|right)")


#: The rules of the compiled parser: CommonMark without raw HTML, plus GitHub's
#: strikethrough; and tables, for a body whose every ``|`` is in a plain table
#: (``_plain_tables``): markdown-it-pyrs makes a table row of a line with no ``|`` after a
#: table, and a table of a line over ``-:`` with no ``|`` at all; markdown-it-py does not.
_FAST_RULES: tuple[Any, ...] = (
    "blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph",
    "reference", "autolink", "backticks", "emphasis", "entity", "escape", "image", "link",
    "newline", "strikethrough",
)  # fmt: skip

_EMPTY_QUOTE = "<blockquote></blockquote>"  # as markdown-it-py writes one
_FAST_HEADING = re.compile(r"<(/?)h([1-6])>")
#: How both parsers align a table's column, made a class as ``_adjust`` does.
_FAST_ALIGN = re.compile(r'<(t[hd]) style="text-align:(left|center|right)">')


@functools.cache
def _fast_parser(tables: bool = False) -> Any:
    from markdown_it_pyrs import MarkdownIt as CompiledMarkdownIt

    md = CompiledMarkdownIt("zero")
    md.enable_many([*_FAST_RULES, "table"] if tables else list(_FAST_RULES))
    return md


#: What makes a body take the Python parser:
#:
#: * what can make a link, an image or a tag (``](``, ``]:``, ``][``, ``[]``, ``![``, ``<``):
#:   only the Python parser checks links and rewrites images (a lone ``[x]`` is text in both);
#: * code (`` ` ~``), a NUL, and the whitespace ``str.strip`` removes besides
#:   spaces, tabs and line ends (markdown-it-py strips it at the end of a paragraph);
#: * a ``|`` that is not in a plain table (``_plain_tables``);
#: * ``*`` or ``_`` next to a character that is not ASCII or next to an entity (the two follow
#:   different CommonMark versions on which characters count as punctuation beside emphasis);
#: * an empty list item; and in a body with a quote, any line that starts like a list item
#:   (the two differ on when it ends the quote's paragraph).
_SLOW = re.compile(
    "[<`~\x00\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    "|\\]\\(|\\]:|\\]\\[|\\[\\]|!\\["
    "|[^\x00-\x7f][*_]|[*_][^\x00-\x7f]|[*_]&|;[*_]"
    "|^[ \t]*(?:[-+*]|[0-9]{1,9}[.)])[ \t]*$",
    re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)", re.MULTILINE)
_NEWLINES = re.compile(r"\r\n?")


def _fast(text: str) -> bool:
    """Whether the compiled parser renders ``text`` (its line ends made ``\\n``) as
    ``_parser`` does (see ``_SLOW`` and ``_plain_tables``; ``test_markdown_fast.py`` compares
    the two on generated bodies)."""
    if _SLOW.search(text) or ("|" in text and not _plain_tables(text)):
        return False
    return ">" not in text or _LIST_ITEM.search(text) is None


#: The lines of a plain table: cells between pipes, nothing before the first or after the
#: last; the second line is the delimiter row.
_TABLE_ROW = re.compile(r"\|(?:[^|\\\n]*\|)+")
_DELIMITER_ROW = re.compile(r"\|(?: *:?-+:? *\|)+")
#: A delimiter row of one column without a pipe, which the compiled parser with tables
#: reads as one (``-:``, ``:--``); ``---`` without a colon is a heading's underline to both.
_PIPELESS_DELIMITER = re.compile(r"^[ \t]*(?::-+:?|-+:)[ \t]*$", re.MULTILINE)


def _plain_tables(text: str) -> bool:
    """Whether every ``|`` of a body is in a plain table, which both parsers read alike: a
    block of rows (``_TABLE_ROW``: no backslash, no space before the first pipe or after the
    last), the second a delimiter row, all with as many cells, after a blank line (or the
    start) and before one (or the end); and no line that the compiled parser with tables
    reads as a delimiter row without pipes. Anything else with a ``|`` takes the Python
    parser."""
    if _PIPELESS_DELIMITER.search(text):
        return False
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        if "|" not in lines[index]:
            index += 1
            continue
        if index > 0 and lines[index - 1].strip(" \t"):
            return False  # a table right after a paragraph or a list line
        end = index
        while end < len(lines) and lines[end].strip(" \t"):
            end += 1
        block = lines[index:end]
        if len(block) < 2 or not _DELIMITER_ROW.fullmatch(block[1]):
            return False
        cells = block[0].count("|")
        if any(not _TABLE_ROW.fullmatch(row) or row.count("|") != cells for row in block):
            return False
        index = end
    return True


def _fast_render(text: str) -> str:
    """A body ``_fast`` lets through, by markdown-it-pyrs (25 times faster), with the headings
    moved one level down and the table columns' alignment made a class, as ``_adjust``
    does."""
    tables = "|" in text  # then every one is in a plain table (``_fast``)
    html = _fast_parser(tables).render(text).replace("<blockquote>\n</blockquote>", _EMPTY_QUOTE)
    html = _FAST_HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 1, 6)}>", html)
    return _FAST_ALIGN.sub(r'<\1 class="align-\2">', html) if tables else html


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_link  # type: ignore[method-assign]
    return md


def _adjust(tokens: list[Token]) -> None:
    """Alignment styles to classes and headings one level down, in place (our own tokens)."""
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            match = _ALIGN_STYLE.fullmatch(str(style or ""))
            if match:
                token.attrs["class"] = f"align-{match.group(1)}"
        elif token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 6)
            token.tag = f"h{level}"


def sanitize_html(html: str) -> str:
    """Clean HTML with the body allow-list (tags, attributes, classes, URL schemes).

    Args:
        html: HTML that may contain anything.

    Returns:
        HTML holding only allowed tags and attributes, with ``rel`` on every link.
    """
    return str(_cleaner().clean(html))


@functools.cache
def _cleaner() -> Any:
    """The sanitiser, built once (``nh3.clean`` builds one from its arguments on every call:
    two thirds of its time on a record's notes)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class BodyImage:
    """An image a body shows: ``src`` as written, ``path`` in the repo (None when it is on
    another host or leaves the repo), ``line`` of the body (1-based)."""

    src: str
    path: str | None
    line: int

    @property
    def remote(self) -> bool:
        """On another host (shown as a link, never requested)."""
        return bool(_SCHEME.match(self.src)) or self.src.startswith("//")


@dataclass(frozen=True, slots=True)
class Body:
    """A rendered body: safe HTML and the repo paths of the local images it shows."""

    html: str
    images: tuple[str, ...] = ()


def image_path(src: str, source: str) -> str | None:
    """The repo path an image ``src`` in the file ``source`` points to, as the pull-request
    preview reads it; None for another host, a URL with a scheme, or a path out of the repo."""
    if not src or _SCHEME.match(src) or src.startswith("//"):
        return None
    target = unquote(src.split("#", 1)[0].split("?", 1)[0])
    if target.startswith("/"):
        joined = target.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(source), target)
    path = posixpath.normpath(joined)
    if path.startswith("../") or path == ".." or path_problem(path):
        return None
    return path


def body_images(text: str, source: str) -> list[BodyImage]:
    """Every image of a body, with the repo path it points to (for checking them)."""
    if "![" not in text:
        return []
    found: list[BodyImage] = []
    for block in _parser().parse(text, {}):
        for child in block.children or ():
            if child.type == "image":
                src = str(child.attrs.get("src", ""))
                line = block.map[0] + 1 if block.map else 1
                found.append(BodyImage(src, image_path(src, source), line))
    return found


def _images(tokens: list[Token], source: str, root: str, show: Callable[[str], bool]) -> list[str]:
    """Rewrite every image token in place: a shown local image gets its site URL, a remote one
    becomes a link, the rest their alt text. Returns the local images shown."""
    shown: list[str] = []
    for block in tokens:
        if not block.children:
            continue
        children: list[Token] = []
        for child in block.children:
            if child.type != "image":
                children.append(child)
                continue
            src = str(child.attrs.get("src", ""))
            alt = child.content
            path = image_path(src, source)
            if path is not None and show(path):
                child.attrs["src"] = root + quote(path)
                shown.append(path)
                children.append(child)
            elif path is None and src.lower().startswith(("http://", "https://")):
                opening = Token("link_open", "a", 1, attrs={"href": src})
                closing = Token("link_close", "a", -1)
                children += [opening, Token("text", "", 0, content=alt or src), closing]
            else:
                children.append(Token("text", "", 0, content=alt))
        block.children = children
    return shown


def render_body(
    text: str,
    *,
    source: str = "",
    root: str = "",
    show_image: Callable[[str], bool] = lambda path: False,
) -> Body:
    """Render an untrusted Markdown body to safe HTML.

    Args:
        text: the record body.
        source: the record file's repo path (relative images are relative to it).
        root: the page's relative prefix to the site root, for the URLs of shown images.
        show_image: whether a repo path may be shown as an image (inside the attachments
            folder and of a checked image type); the site publishes each one shown.

    Returns:
        Sanitised HTML, safe to mark as ``Markup`` in templates ("" for an empty body), and
        the local images it shows.
    """
    if not text.strip():
        return Body("")
    text = _NEWLINES.sub("\n", text)  # as markdown-it-py reads it
    if _fast(text):
        return Body(sanitize_html(_fast_render(text)))
    return _render_python(text, source, root, show_image)


def _render_python(text: str, source: str, root: str, show_image: Callable[[str], bool]) -> Body:
    """``render_body`` by markdown-it-py: every body ``_fast`` does not let through."""
    md = _parser()
    env: dict[str, object] = {}
    tokens = md.parse(text, env)
    _adjust(tokens)
    images = _images(tokens, source, root, show_image)
    return Body(sanitize_html(md.renderer.render(tokens, md.options, env)), tuple(images))
