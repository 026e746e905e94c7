"""Record bodies: untrusted Markdown to safe HTML.

Part of the views stage. Markdown is parsed as CommonMark plus GitHub's tables and
strikethrough, with raw HTML disabled and links limited to safe schemes; the HTML then goes
through nh3 (ammonia) with an explicit allow-list, so even a parser bug cannot let active
content through. Table alignment becomes classes (the site's Content-Security-Policy forbids
inline ``style`` attributes) and headings move one level down so the record title stays the
page's only ``<h1>``.
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from crmgen.fields.rules import LINK_SCHEMES as URL_SCHEMES
from crmgen.fields.rules import is_safe_link

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
    return str(
        nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
            allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel=LINK_REL,
            strip_comments=True,
        )
    )


def render_markdown(text: str) -> str:
    """Render an untrusted Markdown body to safe HTML.

    Args:
        text: the record body.

    Returns:
        Sanitised HTML, safe to mark as ``Markup`` in templates; "" for an empty body.
    """
    if not text.strip():
        return ""
    md = _parser()
    env: dict[str, object] = {}
    tokens = md.parse(text, env)
    _adjust(tokens)
    return sanitize_html(md.renderer.render(tokens, md.options, env))
