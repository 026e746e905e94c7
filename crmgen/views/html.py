"""HTML of one value, built once in Python instead of once per cell in a template macro.

A value is formatted once (``fields.formatting.display``) and turned into HTML once here; the
table, the board and the record page all print the same ``Markup``. Every piece of record
content goes through ``markupsafe.escape``; hrefs come from ``LinkView`` (already checked by
``fields``: a safe scheme, or a path inside the site). The output is byte-for-byte what the
``value`` and ``link`` macros of ``_macros.html`` draw, which stay for overriding templates.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from crmgen.fields.formatting import Display, LinkView

__all__ = ["SECTION_ROOT", "link_html", "value_html"]

#: The way back to the site root from a page one folder deep (every project and dashboard
#: page): the root the HTML of values is built for.
SECTION_ROOT = "../"


def link_html(link: LinkView, root: str = SECTION_ROOT) -> str:
    """One link as HTML (see the ``link`` macro): internal hrefs are prefixed with ``root``."""
    label = escape(link.label)
    if not link.href:
        return f'<span class="plain-link">{label}</span>'
    href = escape(link.href)
    if link.external:
        return f'<a class="external" href="{href}" rel="noopener noreferrer nofollow">{label}</a>'
    if link.download:
        return f'<a class="download" href="{root}{href}" download>{label}</a>'
    return f'<a href="{root}{href}">{label}</a>'


def value_html(shown: Display, root: str = SECTION_ROOT) -> Markup:
    """One value as HTML, drawn by its kind (see the ``value`` macro); empty for ``empty``."""
    kind = shown.kind
    if kind == "links":
        return Markup(", ".join(link_html(link, root) for link in shown.links))
    if kind == "badges":
        badges = " ".join(f'<span class="badge">{escape(b)}</span>' for b in shown.badges)
        return Markup(f'<span class="badges">{badges}</span>')
    if kind == "stars":
        rating = escape(str(shown.rating))
        return Markup(
            f'<span class="stars" role="img" aria-label="{rating} out of 5">'
            f"{escape(shown.text)}</span>"
        )
    if kind == "text":
        extra = "".join(
            f' <span class="extra">({link_html(link, root)})</span>' for link in shown.links
        )
        return Markup(f'<span class="text">{escape(shown.text)}</span>{extra}')
    return Markup("")
