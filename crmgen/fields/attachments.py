"""Attachments: which files the site may publish, checked by extension AND by content.

Record contents and attachments are untrusted. A file the site publishes is opened by readers
from the site's own origin, so a file a browser would run (SVG, HTML, XHTML, XML, JavaScript,
...) could run script there. Only an allow-list of types is published: PDF, PNG, JPEG, GIF,
WebP, plain text, CSV and office documents. Each is checked by its extension and by its bytes
(magic numbers, the parts of an office zip, UTF-8 text that does not start with markup), so
HTML saved under a ``.pdf`` name is refused; a PDF that carries JavaScript is refused too. The
names of what a file really is come from ``puremagic``. A file field may narrow the list
(``accept: [pdf]``); a size limit applies to every attachment.
"""

from __future__ import annotations

import functools
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: Default largest attachment (crmgen.yml ``max_attachment_size``).
DEFAULT_MAX_ATTACHMENT = 20 * 1024 * 1024
_HEAD = 8192


@dataclass(frozen=True, slots=True)
class FileType:
    """An allowed attachment type: its name, the extensions it may have, how its bytes begin."""

    name: str
    extensions: tuple[str, ...]
    matches: Callable[[bytes, Path], bool]
    image: bool = False


def _starts(*signatures: bytes) -> Callable[[bytes, Path], bool]:
    return lambda head, path: head.startswith(signatures)


def _webp(head: bytes, path: Path) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _zip_parts(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _ooxml(folder: str) -> Callable[[bytes, Path], bool]:
    def matches(head: bytes, path: Path) -> bool:
        parts = _zip_parts(path) if head.startswith(b"PK\x03\x04") else []
        return "[Content_Types].xml" in parts and any(p.startswith(folder) for p in parts)

    return matches


def _odf(mime: str) -> Callable[[bytes, Path], bool]:
    def matches(head: bytes, path: Path) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.read("mimetype").decode("ascii", "replace").strip() == mime
        except (KeyError, zipfile.BadZipFile, OSError, ValueError):
            return False

    return matches


_MARKUP = re.compile(rb"\A(\xef\xbb\xbf)?\s*<")


def _text(head: bytes, path: Path) -> bool:
    """UTF-8 text without NUL bytes that does not start with markup (HTML, XML or SVG)."""
    if b"\x00" in head or _MARKUP.match(head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a character cut at the end of the sample
    return True


_OLE = _starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

#: Every type the site may publish, in the order messages list them.
FILE_TYPES: tuple[FileType, ...] = (
    FileType("PDF", ("pdf",), _starts(b"%PDF-")),
    FileType("PNG", ("png",), _starts(b"\x89PNG\r\n\x1a\n"), image=True),
    FileType("JPEG", ("jpg", "jpeg"), _starts(b"\xff\xd8\xff"), image=True),
    FileType("GIF", ("gif",), _starts(b"GIF87a", b"GIF89a"), image=True),
    FileType("WebP", ("webp",), _webp, image=True),
    FileType("text", ("txt",), _text),
    FileType("CSV", ("csv",), _text),
    FileType("Word", ("docx",), _ooxml("word/")),
    FileType("Excel", ("xlsx",), _ooxml("xl/")),
    FileType("PowerPoint", ("pptx",), _ooxml("ppt/")),
    FileType("Word 97-2003", ("doc",), _OLE),
    FileType("Excel 97-2003", ("xls",), _OLE),
    FileType("PowerPoint 97-2003", ("ppt",), _OLE),
    FileType("OpenDocument text", ("odt",), _odf("application/vnd.oasis.opendocument.text")),
    FileType(
        "OpenDocument spreadsheet",
        ("ods",),
        _odf("application/vnd.oasis.opendocument.spreadsheet"),
    ),
    FileType(
        "OpenDocument presentation",
        ("odp",),
        _odf("application/vnd.oasis.opendocument.presentation"),
    ),
)
_BY_EXTENSION = {ext: t for t in FILE_TYPES for ext in t.extensions}
#: Every extension the site may publish.
SAFE_EXTENSIONS = tuple(_BY_EXTENSION)
#: Extensions of images a record body may show.
IMAGE_EXTENSIONS = tuple(ext for t in FILE_TYPES if t.image for ext in t.extensions)
#: Types a browser runs or renders as a page: never published, whatever ``accept`` says.
SCRIPTABLE = frozenset(
    {"svg", "svgz", "html", "htm", "xhtml", "xht", "shtml", "xml", "xsl", "xslt", "js", "mjs",
     "cjs", "mht", "mhtml", "hta", "swf", "wasm", "php", "jsp", "asp", "aspx", "rdf", "vtt"}
)  # fmt: skip
_PDF_SCRIPT = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


def accept_problem(extensions: Iterable[str]) -> str | None:
    """Why an ``accept:`` list cannot be used, or None: only safe extensions may be named."""
    for ext in extensions:
        name = ext.lower().lstrip(".")
        if name in SCRIPTABLE:
            return f"'{ext}' files can run script in a browser; crmgen never publishes them"
        if name not in _BY_EXTENSION:
            return (
                f"'{ext}' is not a type crmgen publishes; use some of {', '.join(SAFE_EXTENSIONS)}"
            )
    return None


def attachment_problem(
    file: Path, accept: Iterable[str] = (), max_size: int = DEFAULT_MAX_ATTACHMENT
) -> str | None:
    """Why an existing file inside the repo may not be published as an attachment, or None.

    Args:
        file: the file (already known to be inside the attachments folder).
        accept: the extensions the field allows (empty: every safe type).
        max_size: the largest size in bytes.
    """
    try:
        stat = os.stat(file)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return _checked(str(file), stat.st_size, stat.st_mtime_ns, tuple(accept), max_size)


@functools.lru_cache(maxsize=4096)
def _checked(
    name: str, size: int, mtime: int, accept: tuple[str, ...], max_size: int
) -> str | None:
    file = Path(name)
    ext = file.suffix.lower().lstrip(".")
    allowed = tuple(a.lower().lstrip(".") for a in accept) or SAFE_EXTENSIONS
    if size > max_size:
        return (
            f"is {size:,} bytes, over the {max_size:,}-byte limit for attachments; "
            "make it smaller or link to it instead"
        )
    if ext in SCRIPTABLE:
        return (
            f"is a .{ext} file, which can run script in a reader's browser; crmgen does not "
            "publish it: convert it to PDF or PNG"
        )
    kind = _BY_EXTENSION.get(ext)
    if kind is None or ext not in allowed:
        return f"has the type .{ext or '(none)'}; allowed here: {', '.join(allowed)}"
    try:
        with open(file, "rb") as handle:
            head = handle.read(_HEAD)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not kind.matches(head, file):
        looks = _looks_like(head)
        return f"is named .{ext} but its content is not {kind.name}{looks}; check the file"
    if kind.name == "PDF" and _pdf_script(file):
        return "is a PDF with JavaScript, actions or embedded files; save it again without them"
    return None


def _pdf_script(file: Path) -> bool:
    with open(file, "rb") as handle:
        return bool(_PDF_SCRIPT.search(handle.read()))


def _looks_like(head: bytes) -> str:
    """ " (it looks like HTML)" from the content's magic, or "" when it cannot be told."""
    if _MARKUP.match(head):
        text = head.lower()
        found = (
            "SVG"
            if b"<svg" in text
            else "HTML"
            if b"<html" in text or b"<!doctype html" in text or b"<script" in text
            else "XML or HTML"
        )
        return f" (it looks like {found})"
    import puremagic

    try:
        guess = puremagic.from_stream(io.BytesIO(head))
    except (puremagic.PureError, ValueError):
        return ""
    return f" (it looks like a {guess.lstrip('.').upper()} file)" if guess else ""
