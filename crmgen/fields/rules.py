"""The rules for untrusted values, each written once: URLs, e-mail, phone, dates, repo paths.

Validation, display and the site's links all call these, so a value that validates is exactly a
value that links, and a path that is refused is refused everywhere. Stdlib plus ``ada-url``
(the WHATWG URL parser browsers implement) for URLs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from crmgen.messages import show

#: What a WHATWG URL parser strips at both ends (C0 controls and space) and removes inside.
_C0_EDGES = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A DNS host name after IDNA: labels of letters, digits and hyphens.
_HOST = re.compile(
    r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?"
)
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
#: Letters (any script), digits and ``. _ + ' -``: no ``? & = % # "`` that would change a mailto:.
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?[0-9 ()./\-]+((ext\.?|x) ?[0-9]{1,6})?", re.IGNORECASE)
#: Schemes a link in a record body may use; anything without a scheme is a relative URL.
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def clean_url_text(value: str) -> str:
    """Strip what a WHATWG URL parser strips: C0 controls and space at both ends, tab/CR/LF."""
    return _TAB_NEWLINE.sub("", value.strip(_C0_EDGES))


@dataclass(frozen=True, slots=True)
class WebAddress:
    """A checked http(s) URL: ``href`` to link to, ``host`` as typed (Unicode) and ``ascii_host``
    (punycode) so look-alike letters can be told apart."""

    href: str
    host: str
    ascii_host: str

    @property
    def international(self) -> bool:
        return self.host != self.ascii_host


@functools.lru_cache(maxsize=4096)
def parse_web_address(value: str) -> WebAddress | str:
    """Parse a URL as browsers do; an http(s) URL with a clean host, or why it is not one.

    A host with spaces, quotes, angle brackets or any character outside letters, digits,
    hyphens and dots (after IDNA) is refused, and so are user names and passwords in a URL
    (``https://bank.com@evil.example``). Kept for the last few thousand values (a site shows
    each URL as a link's text and its target; both parse it).
    """
    from ada_url import URL, idna_to_unicode

    text = clean_url_text(value)
    scheme = text.partition(":")[0].lower()
    if ":" not in text or scheme not in ("http", "https"):
        return "must be an http:// or https:// address, e.g. https://example.com/page"
    if _CONTROL.search(text):
        return "must not contain control characters"
    hidden = None  # ASCII has no format character (Cf): only other text is looked through
    if not text.isascii():
        hidden = next((ch for ch in text if unicodedata.category(ch) == "Cf"), None)
    if hidden is not None:
        return (
            f"contains the invisible character U+{ord(hidden):04X}, which can disguise an "
            "address; remove it"
        )
    try:
        url = URL(text)
    except ValueError:
        host = re.split(r"[/?#]", text.split("//", 1)[-1], maxsplit=1)[0]
        return f"has a host that is not a valid name ({_show(host)}); check for spaces or quotes"
    ascii_host = url.hostname
    if url.username or url.password:
        return (
            "must not contain a user name or password before the host; remove the part before '@'"
        )
    bare = ascii_host.strip("[]")
    if not ascii_host or not (
        _HOST.fullmatch(ascii_host) or _IPV4.fullmatch(bare) or ascii_host.startswith("[")
    ):
        return f"has a host that is not a valid name ({_show(ascii_host)}); check for quotes"
    try:
        host = str(idna_to_unicode(ascii_host)) or ascii_host
    except ValueError:  # pragma: no cover - ada accepted it, so it decodes
        host = ascii_host
    return WebAddress(url.href, host, ascii_host)


def _show(text: str) -> str:
    return repr(text[:60])


def url_problem(value: Any) -> str | None:
    """Why a url field value is not a safe http(s) URL, or None."""
    if not isinstance(value, str):
        return "must be an http:// or https:// address written as text"
    found = parse_web_address(value)
    return found if isinstance(found, str) else None


def is_safe_link(url: str) -> bool:
    """Whether a link or image target may appear in a rendered Markdown body.

    Allowed: http, https, mailto and tel URLs, and relative URLs. A colon before the first
    ``/``, ``?`` or ``#`` makes the text a scheme, which must then be one of those four; so
    ``javascript:``, ``data:``, ``vbscript:`` and disguised forms (``jav%09ascript:``, mixed
    case, leading controls) are all refused.
    """
    text = clean_url_text(url)
    if _CONTROL.search(text):
        return False
    head = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    if ":" not in head:
        return True
    return head.split(":", 1)[0].lower() in LINK_SCHEMES


def email_problem(value: Any) -> str | None:
    """Why an email field value is not an address that can be linked with mailto:, or None."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        return "must be an email address like name@example.com"
    return None


def mailto(value: str) -> str | None:
    """The mailto: link of an email value, or None when it breaks the e-mail rule."""
    text = value.strip().removeprefix("mailto:")
    if email_problem(text) is not None:
        return None
    return "mailto:" + quote(text, safe="@+'")


def phone_problem(value: Any) -> str | None:
    """Why a phone field value is not a phone number, or None."""
    if not isinstance(value, str):
        return 'must be a phone number written as text, e.g. "+44 20 7946 0958"'
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.fullmatch(value.strip()) or not 5 <= digits <= 20:
        return 'must be a phone number of 5 to 20 digits, e.g. "+44 20 7946 0958"'
    return None


def tel(value: str) -> str | None:
    """The tel: link of a phone value (digits and a leading +), or None."""
    text = value.strip()
    if phone_problem(text) is not None:
        return None
    digits = re.sub(r"(ext\.?|x) ?[0-9]+$", "", text, flags=re.IGNORECASE)
    digits = re.sub(r"[^0-9]", "", digits)
    return f"tel:{'+' if text.startswith('+') else ''}{digits}"


def rating_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        return "must be a whole number of stars from 0 to 5"
    return None


#: Every stored number must be shown, summed and charted exactly: at most this many significant
#: digits (a float, which charts use, holds 15 exactly) ...
MAX_DIGITS = 15
#: ... and a size below 10^15 (integers of charts stay below 2^53) and above 10^-12.
MAX_EXPONENT = 14
MIN_EXPONENT = -12
#: An int of smaller size has at most ``MAX_DIGITS`` digits and is below 10^(MAX_EXPONENT + 1).
_INT_LIMIT = 10 ** (MAX_EXPONENT + 1)


def number_problem(value: Any) -> str | None:
    """Why a stored number cannot be shown and charted exactly, or None (not a number: None)."""
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        return None  # at most 15 digits (most numbers): nothing to check
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    number = Decimal(value)
    if number.is_zero():
        return None
    digits = len(number.normalize().as_tuple().digits)
    if number.adjusted() > MAX_EXPONENT:
        return (
            f"is too large: numbers must stay below 10^{MAX_EXPONENT + 1} (1,000,000,000,000,000)"
        )
    if number.adjusted() < MIN_EXPONENT:
        return f"is too small: numbers must be 0 or at least 10^{MIN_EXPONENT} in size"
    if digits > MAX_DIGITS:
        return (
            f"has {digits} significant digits; at most {MAX_DIGITS} can be shown exactly, round it"
        )
    return None


def fit_number(value: Decimal) -> Decimal | str:
    """A computed number as the site can show and chart it exactly (what ``number_problem``
    allows): rounded (half even) to ``MAX_DIGITS`` significant digits, and 0 when smaller than
    10^``MIN_EXPONENT`` in size; or why it cannot be (too large)."""
    if not value.is_finite():
        return "is not a finite number"
    with localcontext() as context:
        context.prec = MAX_DIGITS
        context.rounding = ROUND_HALF_EVEN
        rounded = +value
    if rounded.is_zero() or rounded.adjusted() < MIN_EXPONENT:
        return Decimal(0)
    if rounded.adjusted() > MAX_EXPONENT:
        return f"is too large to show exactly: results must stay below 10^{MAX_EXPONENT + 1}"
    return rounded


def parse_date(value: Any) -> dt.date | None:
    """A strict YYYY-MM-DD calendar date, or None."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def date_problem(value: Any) -> str | None:
    if parse_date(value) is None:
        return f"must be a real date written YYYY-MM-DD, got {show(value)}"
    return None


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a plain relative POSIX path that stays where it is put, or None.

    The one safe-path rule: attachments in file fields, their links on the site, and every file
    the site writes all pass through it. Refused: empty, absolute, ``\\``, a drive, ``.``,
    ``..`` or empty segments, control characters, and anything inside ``.git``.
    """
    parts = path.split("/")
    if not path:
        return "is empty; give a path like files/acme/nda.pdf"
    if path.startswith("/") or "\\" in path or (len(parts[0]) > 1 and parts[0][1] == ":"):
        return "must be a path relative to the repository, with '/' between folders"
    if _CONTROL.search(path):
        return "must not contain control characters"
    if any(part in ("", ".", "..") for part in parts):
        return "must not use '..', '.' or '//'; give the path from the repository root"
    if any(part.lower().startswith(".git") for part in parts):
        return "must not point into .git"
    return None


def under(path: str, folder: str) -> bool:
    """Whether the clean relative ``path`` lies inside ``folder`` (both POSIX, relative)."""
    head = PurePosixPath(folder.strip("/")).parts
    return PurePosixPath(path).parts[: len(head)] == head and len(PurePosixPath(path).parts) > len(
        head
    )


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, exists and stays inside ``root``."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def rel(root: Path, path: Path) -> str:
    """The repo-relative POSIX path of ``path``."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
