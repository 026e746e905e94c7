"""Pages + site view -> files: templates, overrides, escaping, links, assets, attachments."""

from __future__ import annotations

import json
import os
import posixpath
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_views import SECRETS, make_dataset, site_for

from crmgen.model import Page
from crmgen.render import CSP, check_templates, render_site, tojson_script
from crmgen.views import SiteView, pages

ATTACHMENTS = {"files/acme/logo.png": b"PNG-BYTES", "files/acme/nda.pdf": b"%PDF-SECRET"}


def read(path: str) -> bytes:
    return ATTACHMENTS[path]


def render(
    site: SiteView | None = None, dirs: list[Path] | None = None, extra: list[Page] | None = None
) -> dict[str, bytes]:
    """Every file of the site; a template failure fails the test with its diagnostic."""
    files, problems = render_with_problems(site, dirs, extra)
    assert problems == []
    return files


def render_with_problems(
    site: SiteView | None = None, dirs: list[Path] | None = None, extra: list[Page] | None = None
) -> tuple[dict[str, bytes], list[Any]]:
    site = site or site_for(make_dataset())
    found, site = pages(site)
    return render_site([*found, *(extra or [])], site, dirs or [], read)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        self.ids.update(v for k, v in attrs if k == "id" and v)
        self.urls.extend(v for k, v in attrs if k in ("href", "src") and v is not None)


def parse(html: bytes) -> _Links:
    parser = _Links()
    parser.feed(html.decode("utf-8"))
    return parser


def html_pages(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: content for path, content in files.items() if path.endswith(".html")}


def test_every_link_resolves_to_a_produced_file() -> None:
    from crmgen.build.interchange import site_csv_files
    from crmgen.redaction import redact

    site = site_for(make_dataset(), "managers")
    files = render(site)
    # each table's CSV is written by the build beside the rendered pages
    cut = redact(make_dataset(), "managers")[0]
    files.update((path, make()) for path, _, make in site_csv_files(cut, {}))
    checked = 0
    for path, content in html_pages(files).items():
        parsed = parse(content)
        for url in parsed.urls:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "mailto", "tel"):
                continue
            assert not parts.scheme and not parts.netloc, f"{path}: {url}"
            if not parts.path:  # a fragment on the same page
                assert parts.fragment in parsed.ids, f"{path}: {url}"
                continue
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), unquote(parts.path))
            )
            assert target in files, f"{path} links to {url} -> {target}, which is not produced"
            checked += 1
    assert checked > 50


def test_every_page_is_locked_down() -> None:
    for path, content in html_pages(render()).items():
        parsed = parse(content)
        metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
        assert {"http-equiv": "Content-Security-Policy", "content": CSP} in metas, path
        assert {"name": "referrer", "content": "no-referrer"} in metas, path
        assert ("html", {"lang": "en-GB"}) in parsed.tags, path
        for tag, attrs in parsed.tags:
            assert not any(name.startswith("on") or name == "style" for name in attrs), path
            if tag == "script":
                assert attrs.get("src") or attrs.get("type") == "application/json", path
        assert sum(tag == "h1" for tag, _ in parsed.tags) == 1, path
        assert ("main", {"id": "main", "tabindex": "-1"}) in parsed.tags, path


def test_restricted_values_are_in_no_output_byte() -> None:
    files = render()
    blob = b"\n".join(files.values()).decode("utf-8", errors="replace")
    for secret in SECRETS:
        assert secret not in blob, secret
    assert "files/acme/nda.pdf" not in files


def test_assets_and_attachments_are_included() -> None:
    files = render(site_for(make_dataset(), "managers"))
    assert b"addEventListener" in files["assets/site.js"]
    assert b"@media print" in files["assets/site.css"]
    assert files["files/acme/nda.pdf"] == b"%PDF-SECRET"
    assert list(files) == sorted(files)


def test_board_and_table_carry_machine_values() -> None:
    files = render()
    board = files["opportunities/board.html"].decode()
    assert '<section class="board-column kind-open" data-list="Proposal sent"' in board
    assert 'data-count="1" data-total="42000" data-weighted="21000"' in board
    assert '<li class="card" data-slug="acme-web" data-amount="42000">' in board
    assert "<details open>" in board and "<details>" in board  # won/lost collapsed
    table = files["opportunities/index.html"].decode()
    assert '<tr data-slug="acme-web" data-list="Proposal sent"' in table
    assert 'data-field="expected_close" data-sort="2026-12-15"' in table
    assert '<button type="button" class="sort-button">Amount</button>' in table
    assert "<caption" in table and '<label for="filter-text">' in table


def test_rendering_is_deterministic() -> None:
    assert render() == render()


def test_missing_variable_is_an_error_at_the_template_line(tmp_path: Path) -> None:
    (tmp_path / "home.html").write_text("<p>\n{{ no_such_variable }}</p>", encoding="utf-8")
    files, problems = render_with_problems(dirs=[tmp_path])
    assert "index.html" not in files and "clients/acme.html" in files
    assert [(d.code, d.line) for d in problems] == [("usage-template", 2)]
    assert "'no_such_variable' is undefined" in problems[0].message
    assert problems[0].path.endswith("home.html")


@pytest.mark.parametrize(
    "escape",
    [
        "{{ site.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ site['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ (site|attr('__class__')) }}",
        "{{ range.__self__ }}",
        "{% set x = [] %}{{ x.append(1) }}",
        "{{ {}.update(a=1) }}",
        # view models are read through a fast path; what lies beyond their fields is not
        "{{ site.projects[0].__class__ }}",
        "{{ nav[0].__class__.__mro__ }}",
        "{{ site.projects[0].table.rows.__class__ }}",
        "{{ nav.append(1) }}",
        "{{ site.nav.__len__() }}",
    ],
)
def test_a_template_cannot_reach_python_internals(tmp_path: Path, escape: str) -> None:
    (tmp_path / "home.html").write_text(f"<p>\n{escape}</p>", encoding="utf-8")
    files, problems = render_with_problems(dirs=[tmp_path])
    assert "index.html" not in files or b"class" not in files["index.html"]
    assert [(d.code, d.line) for d in problems] == [("usage-template", 2)], problems


def test_check_templates_finds_syntax_errors_and_internals(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "home.html").write_text("<p>\n{% if x %}\n</p>", encoding="utf-8")
    (tmp_path / "templates" / "card.html").write_text("a\n\n{{ x.__class__ }}", encoding="utf-8")
    problems = check_templates(tmp_path)
    assert [(d.path, d.line, d.code) for d in problems] == [
        ("templates/card.html", 3, "usage-template"),
        ("templates/home.html", 3, "usage-template"),
    ]
    assert "'__class__'" in problems[0].message
    assert check_templates(tmp_path / "nothing-here") == []  # the packaged templates are clean


def test_template_problems_are_kept_by_the_templates_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmgen.cache import Cache
    from crmgen.model.store import pack
    from crmgen.render import TEMPLATE_CHECKS, _templates_key, make_environment

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "templates").mkdir()
    card = tmp_path / "templates" / "card.html"
    card.write_text("a\n\n{{ x.__class__ }}", encoding="utf-8")
    store = Cache(tmp_path / "c.sqlite")
    first = check_templates(tmp_path, store, "v1")
    assert [(d.path, d.line) for d in first] == [("templates/card.html", 3)]
    assert check_templates(tmp_path, store, "v1") == first  # read back
    # what is read back is the entry under the templates' key: a planted one shows
    env = make_environment([tmp_path / "templates"])
    key = _templates_key(env, sorted(set(env.list_templates())), tmp_path, "v1")
    store.put(TEMPLATE_CHECKS, key, pack([]))
    assert check_templates(tmp_path, store, "v1") == []
    # another crmgen or another text of a template: checked again
    assert check_templates(tmp_path, store, "v2") == first
    card.write_text("a\n{{ x._y }}", encoding="utf-8")
    assert [(d.path, d.line) for d in check_templates(tmp_path, store, "v1")] == [
        ("templates/card.html", 2)
    ]
    store.close()


def test_override_dir_wins_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "home.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Our own home</h1>'
        "<p>{{ projects|length }} projects</p>{% endblock %}",
        encoding="utf-8",
    )
    files = render(dirs=[tmp_path])
    home = files["index.html"].decode()
    assert "<h1>Our own home</h1><p>2 projects</p>" in home
    assert "Skip to main content" in home  # the packaged base.html still applies
    assert 'class="record"' in files["clients/acme.html"].decode()  # packaged record.html


def test_first_override_dir_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "home.html").write_text("first", encoding="utf-8")
    (second / "home.html").write_text("second", encoding="utf-8")
    assert render(dirs=[first, second])["index.html"] == b"first"


def test_tojson_script_is_safe_inside_a_script_element() -> None:
    data = {"b": "</script><script>alert(1)</script>", "a": "<!-- & \u2028\u2029 -->"}
    text = str(tojson_script(data))
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == data
    assert text.index('"a"') < text.index('"b"')  # sorted keys


def test_json_in_a_template_script_cannot_close_the_element(tmp_path: Path) -> None:
    (tmp_path / "data.html").write_text(
        '<script type="application/json" id="d">{{ payload|tojson_script }}</script>',
        encoding="utf-8",
    )
    payload = {"title": "</script><img src=x onerror=alert(1)>"}
    page = Page("data.html", "data.html", {"payload": payload})
    out = render(dirs=[tmp_path], extra=[page])["data.html"].decode()
    assert out.count("</script>") == 1
    inner = out.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(inner) == payload


def test_common_context_gives_root_and_current_nav() -> None:
    record = render()["opportunities/acme-web.html"].decode()
    assert 'href="../assets/site.css"' in record
    assert '<a href="../opportunities/index.html" aria-current="page">Opportunities</a>' in record
    assert '<a href="../clients/index.html">Clients</a>' in record
    home = render()["index.html"].decode()
    assert 'href="assets/site.css"' in home
    assert '<a href="index.html" aria-current="page">Home</a>' in home


SEGMENT = st.text(alphabet='ab%-_ é<&"', min_size=1, max_size=4).filter(
    lambda t: t not in (".", "..")
)
PATHS = st.lists(SEGMENT, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".html")


@given(
    st.lists(st.tuples(st.text(max_size=6), PATHS), max_size=5),
    st.lists(PATHS | st.just("index.html"), min_size=1, max_size=6),
)
def test_each_pages_navigation_is_the_same_as_made_for_it_alone(
    entries: list[tuple[str, str]], paths: list[str]
) -> None:
    """The navigation is made once per folder (and its HTML with it): every page gets the
    links, the current one and the list items it would get made for it alone, as the template
    loop over ``nav`` writes them, whatever the folders, labels and hrefs."""
    from markupsafe import escape

    from crmgen.fields.formatting import LinkView
    from crmgen.render import NavLink, common_context

    nav = tuple(LinkView(*e) for e in entries)
    site = SiteView("T", "en", None, "", "", projects=(), nav=nav, attachments=())
    for path in paths:
        root = "../" * path.count("/")
        expected = [NavLink("Home", f"{root}index.html", path == "index.html")]
        for label, href in entries:
            folder = unquote(href).rsplit("/", 1)[0] + "/"
            expected.append(NavLink(label, f"{root}{href}", path.startswith(folder)))
        found = common_context(Page(path, "base.html", {}), site)
        assert found["nav"] == expected
        assert found["root"] == root
        html = "".join(
            f'<li><a href="{escape(link.href)}"'
            + (' aria-current="page"' if link.current else "")
            + f">{escape(link.label)}</a></li>\n"
            for link in expected
        )
        assert str(found["nav_html"]) == html


def test_two_outputs_at_one_path_are_refused() -> None:
    clash = Page("assets/site.css", "home.html", {"projects": ()})
    with pytest.raises(ValueError, match=r"assets/site\.css"):
        render(extra=[clash])


def test_body_markdown_is_rendered_and_sanitised() -> None:
    acme = render()["clients/acme.html"].decode()
    assert "<h2>Minutes</h2>" in acme
    assert "<strong>Ann</strong>" in acme
    assert "<script>alert(1)</script>" not in acme
    assert re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", acme)


HASH_SITE = """\
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from test_render import render
from test_views import make_dataset
from test_views import site_for

site = site_for(make_dataset(), "managers")
digest = hashlib.sha256()
for path, content in render(site).items():
    digest.update(path.encode() + b"\\0" + content + b"\\0")
print(digest.hexdigest())
"""


def test_output_is_byte_identical_across_processes(tmp_path: Path) -> None:
    script = tmp_path / "hash_site.py"
    script.write_text(HASH_SITE, encoding="utf-8")
    digests = set()
    for seed, zone in (("1", "UTC"), ("2", "Pacific/Kiritimati")):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": zone, "LC_ALL": "C"}
        result = subprocess.run(
            [sys.executable, str(script), str(Path(__file__).parent)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        digests.add(result.stdout.strip())
    assert len(digests) == 1


class _DictStore:
    """A store in a dict that counts what it was asked for and what it found."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], bytes] = {}
        self.hits = 0

    def get(self, space: str, key: str) -> bytes | None:
        found = self.entries.get((space, key))
        self.hits += found is not None
        return found

    def get_many(self, space: str, keys: Any) -> dict[str, bytes]:
        return {k: v for k in keys if (v := self.get(space, k)) is not None}

    def put(self, space: str, key: str, value: bytes) -> None:
        self.entries[(space, key)] = value

    def keys(self, space: str) -> set[str]:
        return {k for s, k in self.entries if s == space}


def test_compiled_templates_are_kept_by_source_and_version(tmp_path: Path) -> None:
    from crmgen.render import TEMPLATE_SPACE, make_environment

    store = _DictStore()
    override = tmp_path / "templates"
    override.mkdir()
    (override / "hello.html").write_text("Hello {{ name }}!")
    first = make_environment([override], store, "v1")
    assert first.get_template("hello.html").render(name="<b>") == "Hello &lt;b&gt;!"
    kept = {key for space, key in store.entries if space == TEMPLATE_SPACE}
    assert len(kept) == 1 and store.hits == 0
    # a new environment (the next run) loads it compiled and renders the same
    again = make_environment([override], store, "v1")
    assert again.get_template("hello.html").render(name="<b>") == "Hello &lt;b&gt;!"
    assert store.hits == 1
    # another source, or another crmgen, compiles again
    (override / "hello.html").write_text("Bye {{ name }}!")
    changed = make_environment([override], store, "v1")
    assert changed.get_template("hello.html").render(name="x") == "Bye x!"
    assert (
        make_environment([override], store, "v2").get_template("hello.html").render(name="x")
        == "Bye x!"
    )
    assert store.hits == 1 and len(store.entries) == 3
