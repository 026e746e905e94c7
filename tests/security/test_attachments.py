"""Hostile attachments: every type a browser could run, and every disguise, is a clean
diagnostic naming the file and the field; no such file is ever published.

Each variant is a file in the attachments folder referenced by a file field (or shown as an
image in a record body); ``validate`` must name it, and ``build`` must write no site.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import MakeRepo, record

from crmgen.build import build_site, load_dataset

SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><script>alert(document.domain)</script></html>"
XHTML = (
    b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
    b"<script>alert(1)</script></html>"
)
XML = b'<?xml version="1.0"?><?xml-stylesheet href="evil.xsl"?><x/>'
PNG = (Path(__file__).parent.parent.parent / "files/atlas-robotics/logo.png").read_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _zip(parts: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buf.getvalue()


#: name -> (file name, bytes, the words the message must contain)
REFUSED: dict[str, tuple[str, bytes, str]] = {
    "svg with a script": ("logo.svg", SVG_SCRIPT, "can run script"),
    "svg named png": ("logo.png", SVG_SCRIPT, "content is not PNG (it looks like SVG)"),
    "html": ("page.html", HTML, "can run script"),
    "htm": ("page.htm", HTML, "can run script"),
    "html named pdf": ("contract.pdf", HTML, "content is not PDF (it looks like HTML)"),
    "html named txt": ("notes.txt", HTML, "content is not text (it looks like HTML)"),
    "html named csv": ("export.csv", b"  \n<script>alert(1)</script>", "content is not CSV"),
    "xhtml": ("page.xhtml", XHTML, "can run script"),
    "xhtml named docx": ("offer.docx", XHTML, "content is not Word"),
    "xml": ("feed.xml", XML, "can run script"),
    "javascript": ("app.js", b"alert(1)", "can run script"),
    "module javascript": ("app.mjs", b"alert(1)", "can run script"),
    "mhtml": ("saved.mhtml", b"MIME-Version: 1.0\r\n", "can run script"),
    "png named jpg": ("photo.jpg", PNG, "content is not JPEG (it looks like a PNG file)"),
    "zip of html named docx": (
        "offer.docx",
        _zip({"index.html": "<script>alert(1)</script>"}),
        "content is not Word",
    ),
    "odt of the wrong kind": (
        "minutes.odt",
        _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
        "content is not OpenDocument text",
    ),
    "pdf with javascript": (
        "offer.pdf",
        PDF.replace(b"/Type /Catalog", b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
        "PDF with JavaScript",
    ),
    "pdf with a launch action": (
        "offer.pdf",
        PDF.replace(b"/Type /Catalog", b"/OpenAction << /S /Launch /F (cmd.exe) >>"),
        "PDF with JavaScript",
    ),
    "no extension": ("README", b"hello", "has the type .(none)"),
    "executable": ("setup.exe", b"MZ\x90\x00", "has the type .exe"),
    "binary named txt": ("notes.txt", b"\x00\x01\x02binary", "content is not text"),
    "latin-1 named csv": ("export.csv", "name,city\nJosé,Córdoba\n".encode("latin-1"), "not CSV"),
}

ACCEPTED: dict[str, tuple[str, bytes]] = {
    "pdf": ("contract.pdf", PDF),
    "png": ("logo.png", PNG),
    "csv with a bom": ("export.csv", "\ufeffname,amount\nÅsa,12\n".encode()),
    "text": ("notes.txt", b"Call back on Monday.\n"),
    "docx": ("offer.docx", _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"})),
    "xlsx": ("sheet.xlsx", _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<w/>"})),
    "ods": (
        "sheet.ods",
        _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
    ),
    "legacy doc": ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
}


def _repo(make_repo: MakeRepo, name: str, content: bytes, field: str = "logo") -> Path:
    return make_repo(
        {
            f"files/acme/{name}": content,
            "data/clients/acme.md": record(f"title: Acme\n{field}: files/acme/{name}"),
        }
    )


@pytest.mark.parametrize("variant", sorted(REFUSED))
def test_a_dangerous_or_disguised_attachment_is_refused(
    make_repo: MakeRepo, variant: str, tmp_path: Path
) -> None:
    name, content, words = REFUSED[variant]
    root = _repo(make_repo, name, content)
    errors = load_dataset(root).errors
    assert [(d.path, d.line, d.field) for d in errors] == [("data/clients/acme.md", 3, "logo")]
    assert f"files/acme/{name}" in errors[0].message and words in errors[0].message
    out = tmp_path / "site"
    assert build_site(root, out).written == 0 and not out.exists()


@pytest.mark.parametrize("variant", sorted(ACCEPTED))
def test_an_allowed_attachment_is_published_as_is(
    make_repo: MakeRepo, variant: str, tmp_path: Path
) -> None:
    name, content = ACCEPTED[variant]
    root = _repo(make_repo, name, content)
    assert load_dataset(root).problems == ()
    result = build_site(root, tmp_path / "site")
    assert result.problems == ()
    assert (tmp_path / "site/files/acme" / name).read_bytes() == content


def test_accept_narrows_a_field_and_cannot_widen_it(make_repo: MakeRepo) -> None:
    from conftest import CLIENTS_SCHEMA

    narrowed = CLIENTS_SCHEMA.replace(
        "logo: {type: string, x-crmgen: {type: file}}",
        "logo: {type: string, x-crmgen: {type: file, accept: [png, jpg]}}\n"
        "  badge: {type: string, x-crmgen: {type: file, accept: [svg]}}\n"
        "  tool: {type: string, x-crmgen: {type: file, accept: [exe, pdf]}}\n"
        "  note: {type: string, x-crmgen: {type: text, accept: [pdf]}}",
    )
    root = make_repo(
        {
            "schema/clients.schema.yaml": narrowed,
            "files/acme/contract.pdf": PDF,
            "data/clients/acme.md": record("title: Acme\nlogo: files/acme/contract.pdf"),
        }
    )
    found = [(d.path, d.field, d.message) for d in load_dataset(root).errors]
    assert found == [
        ("data/clients/acme.md", "logo",
         "logo 'files/acme/contract.pdf' has the type .pdf; allowed here: png, jpg"),
        ("schema/clients.schema.yaml", "badge",
         "badge: 'svg' files can run script in a browser; crmgen never publishes them"),
        ("schema/clients.schema.yaml", "tool",
         "tool: 'exe' is not a type crmgen publishes; use some of pdf, png, jpg, jpeg, gif, "
         "webp, txt, csv, docx, xlsx, pptx, doc, xls, ppt, odt, ods, odp"),
        ("schema/clients.schema.yaml", "note", "note: only file fields take 'accept'; remove it"),
    ]  # fmt: skip


def test_each_attachment_has_a_size_limit(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities]\nmax_attachment_size: 2048\n",
            "files/acme/big.pdf": PDF + b"%" * 4096,
            "files/acme/small.pdf": PDF,
            "data/clients/acme.md": record("title: Acme\nlogo: files/acme/big.pdf"),
            "data/clients/globex.md": record("title: Globex\nlogo: files/acme/small.pdf"),
        }
    )
    errors = load_dataset(root).errors
    assert [(d.path, d.field) for d in errors] == [("data/clients/acme.md", "logo")]
    assert "over the 2,048-byte limit" in errors[0].message


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("../../files/acme/logo.svg", "can run script"),
        ("../../files/acme/page.html", "can run script"),
        ("/files/acme/fake.png", "content is not PNG"),
        ("../../files/acme/contract.pdf", "allowed here: png, jpg, jpeg, gif, webp"),
        ("../../files/acme/missing.png", "does not exist"),
        ("../../schema/clients.schema.yaml", "must be inside the attachments folder"),
    ],
)
def test_a_body_image_must_be_an_image_attachment(
    make_repo: MakeRepo, image: str, words: str
) -> None:
    root = make_repo(
        {
            "files/acme/logo.svg": SVG_SCRIPT,
            "files/acme/page.html": HTML,
            "files/acme/fake.png": HTML,
            "files/acme/contract.pdf": PDF,
            "data/clients/acme.md": record("title: Acme", f"Notes.\n\n![our logo]({image})\n"),
        }
    )
    errors = load_dataset(root).errors
    assert [(d.code, d.path, d.line) for d in errors] == [
        ("body-image", "data/clients/acme.md", 6)
    ]
    assert words in errors[0].message


def test_body_images_show_local_attachments_and_link_remote_ones(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo(
        {
            "files/acme/logo.png": PNG,
            "data/clients/acme.md": record(
                "title: Acme",
                "![logo](../../files/acme/logo.png)\n\n![pixel](https://tracker.example/p.gif)\n",
            ),
        }
    )
    assert load_dataset(root).problems == ()
    out = tmp_path / "site"
    build_site(root, out)
    page = (out / "clients/acme.html").read_text(encoding="utf-8")
    assert '<img src="../files/acme/logo.png" alt="logo">' in page
    assert "tracker.example" in page and '<img src="https://tracker' not in page
    assert (out / "files/acme/logo.png").read_bytes() == PNG
