"""Record ids made from titles: ASCII, lower case, unique within a project, stable.

``Estée Lauder`` becomes ``estee-lauder``, ``Brown–Forman`` ``brown-forman``, ``Ørsted``
``orsted``. The same title gives the same id on every run; a title whose id is taken gets the
first free ``-2``, ``-3`` … suffix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container

from crmgen.model import RESERVED_SLUGS

#: Letters that do not decompose into an ASCII letter and a mark.
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "&": " and ",
        "@": " at ",
        "+": " plus ",
    }
)
#: Apostrophes join a word (``O’Reilly`` is ``oreilly``); every other mark separates words.
_APOSTROPHES = frozenset("'’‘`´")
_RUN = re.compile(r"[^a-z0-9]+")
#: Ids stay short enough to read in a URL and to leave room for a suffix.
MAX_LENGTH = 60


def ascii_slug(text: str) -> str:
    """``text`` as a record id (possibly empty when it has no letter or digit)."""
    plain = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    kept = []
    for char in plain:
        if unicodedata.combining(char) or char in _APOSTROPHES:
            continue
        kept.append(char if char.isascii() or char.isalnum() else " ")
    ascii_text = "".join(kept).lower().encode("ascii", "ignore").decode("ascii")
    slug = _RUN.sub("-", ascii_text).strip("-")
    if len(slug) > MAX_LENGTH:
        slug = slug[:MAX_LENGTH].rsplit("-", 1)[0] or slug[:MAX_LENGTH]
    return slug


def unique_slug(
    text: str,
    taken: Container[str],
    problem: Callable[[str], str | None],
    fallback: str = "record",
) -> str:
    """The id for a new record named ``text``: its ``ascii_slug`` (or ``fallback``), with the
    first free suffix when that is ``taken`` or not a valid id (``problem`` says which)."""
    base = ascii_slug(text) or fallback
    if base in RESERVED_SLUGS:
        base = f"{base}-1"
    slug, number = base, 1
    while slug in taken or problem(slug):
        number += 1
        slug = f"{base}-{number}"
    return slug
