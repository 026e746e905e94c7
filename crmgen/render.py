"""Stage: pages and the site view -> every output file, as bytes. Never writes to disk.

Templates are Jinja in its immutable sandbox, with autoescape on and ``StrictUndefined``: a
missing variable is an error, never an empty string, and no template (packaged or overridden)
can reach Python internals or change a value. A data repo's ``templates/`` overrides the
packaged ones file by file (``ChoiceLoader``: override folders first, the packaged
``crmgen/templates`` last). ``check_templates`` compiles every template for ``crmgen validate``;
errors found while rendering are diagnostics at the template's line too. Static assets are read
from the package (``importlib.resources``) and attachments through a function the caller passes
in, so this module only ever reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from decimal import Decimal
from importlib.resources import files as package_files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import jinja2
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from crmgen.fields.rules import inside
from crmgen.model import Diagnostic, Page, Pos, error
from crmgen.model.store import NO_STORE, Store, pack, unpack

#: The Content-Security-Policy of every page: no inline script or style, no foreign origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)

#: Packaged static files are written under this folder of the site.
ASSETS = "assets"

# JSON inside <script> must not close the element or start a comment, and U+2028/U+2029 end
# lines in older JavaScript parsers.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


class NavEntry(Protocol):
    """A navigation link; ``href`` relative to the site root."""

    @property
    def label(self) -> str: ...
    @property
    def href(self) -> str: ...


class SiteInfo(Protocol):
    """What the renderer needs of ``views.SiteView`` (a stage may not import another)."""

    @property
    def title(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def built(self) -> str: ...
    @property
    def built_iso(self) -> str: ...
    @property
    def nav(self) -> Sequence[NavEntry]: ...
    @property
    def attachments(self) -> Sequence[str]: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, Mapping):
        return dict(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def tojson_script(value: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/json">`` (and in HTML text).

    Keys are sorted for byte-identical builds; ``<``, ``>``, ``&``, U+2028 and U+2029 are
    written as ``\\uXXXX`` escapes so no value can close the element.
    """
    text = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )
    return Markup(text.translate(_SCRIPT_ESCAPES))  # escaped for this context above


class _RepoLoader(FileSystemLoader):
    """A file-system loader that refuses a template file that is (or passes through) a symbolic
    link leading out of its folder: a template must not publish a file of the builder's disk."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        folders = [Path(p) for p in self.searchpath]
        if not any(inside(folder, Path(filename)) for folder in folders):
            raise jinja2.TemplateNotFound(
                template, f"{template} is a link that leaves the templates folder; copy the file"
            )
        return source, filename, uptodate


_DATA_FIELDS: dict[type, frozenset[str]] = {}


def _data_fields(cls: type) -> frozenset[str]:
    """The fields of a frozen dataclass (a view model), which templates may read directly."""
    found = _DATA_FIELDS.get(cls)
    if found is None:
        params = getattr(cls, "__dataclass_params__", None)
        frozen = params is not None and params.frozen
        names = (f.name for f in fields(cls) if not f.name.startswith("_")) if frozen else ()
        found = _DATA_FIELDS[cls] = frozenset(names)
    return found


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with a fast path for the common case: reading a field of a
    frozen dataclass (every view model). Such a field is data set when the view was built,
    never a method or an internal, so the sandbox's checks (an ABC ``isinstance`` walk per
    attribute, 70% of the time of a big page) would only ever say yes. Anything else, and
    whatever a template then does with the value (call it, index it, read its attributes),
    goes through the sandbox as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        names = _DATA_FIELDS.get(type(obj))  # a million reads a big build: no call for it
        if names is None:
            names = _data_fields(type(obj))
        if attribute in names:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)


class _StoredBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in the build's store (signed, like every entry), by template,
    source checksum and crmgen's version (which covers the environment's settings)."""

    def __init__(self, store: Store, version: str) -> None:
        self.store, self.version = store, version

    def _key(self, bucket: jinja2.bccache.Bucket) -> str:
        return f"{self.version}:{bucket.key}:{bucket.checksum}"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found = self.store.get(TEMPLATE_SPACE, self._key(bucket))
        if found is not None:
            bucket.bytecode_from_string(found)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store.put(TEMPLATE_SPACE, self._key(bucket), bucket.bytecode_to_string())


#: The store's space for compiled templates.
TEMPLATE_SPACE = "templates"


def make_environment(
    template_dirs: Sequence[Path], store: Store | None = None, version: str = ""
) -> ImmutableSandboxedEnvironment:
    """The Jinja environment: override folders first, then the packaged templates.

    Every template runs in Jinja's immutable sandbox: no attribute starting with ``_``, no
    internals of functions, frames or generators, no method that changes a list or dict.

    Args:
        template_dirs: folders whose templates replace packaged ones of the same name.
        store: where compiled templates are kept between runs (with ``version``, crmgen's),
            so a build compiles only the templates that changed.
    """
    loaders: list[Any] = [_RepoLoader(str(d)) for d in template_dirs]
    loaders.append(PackageLoader("crmgen", "templates"))
    env = _Sandbox(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=_StoredBytecode(store, version) if store is not None and version else None,
    )
    env.filters["tojson_script"] = tojson_script
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return env


@dataclass(frozen=True, slots=True)
class NavLink:
    """An entry of the site navigation as a page sees it: ``href`` relative to that page."""

    label: str
    href: str
    current: bool


def root_of(path: str) -> str:
    """The relative prefix from a page to the site root: ``a/b.html`` -> ``../``."""
    return "../" * path.count("/")


def common_context(page: Page, site: SiteInfo) -> dict[str, Any]:
    """Variables every template gets: ``root``, ``site``, ``site_title``, ``nav`` (and its
    list items as HTML, ``nav_html``) and more."""
    root = root_of(page.path)
    folder = page.path.rpartition("/")[0]
    nav, nav_html = _navigation(site.nav, folder, root, page.path == "index.html")
    return {
        "root": root,
        "site": site,
        "site_title": site.title,
        "lang": site.lang,
        "built": site.built,
        "built_iso": site.built_iso,
        "nav": list(nav),
        "nav_html": nav_html,
        "page_path": page.path,
        "csp": CSP,
    }


_Navigation = tuple[tuple[NavLink, ...], Markup]
#: ``_navigation`` by the identity of the site's entries (kept, so that their id is never
#: reused while in here; hashing them would hash every entry for every page), the folder
#: and whether the page is the home page.
_NAVIGATIONS: dict[tuple[int, str, bool], tuple[Sequence[NavEntry], _Navigation]] = {}


def _navigation(entries: Sequence[NavEntry], folder: str, root: str, home: bool) -> _Navigation:
    """The navigation of a page in ``folder`` ("" at the top; ``root``: its ``root_of``, the
    same for the whole folder; ``home``: the home page), and its list items as ``base.html``
    writes them: the same for every page of a folder, so made once (each page of a
    10,000-deal site wrote its dozen links again)."""
    key = (id(entries), folder, home)
    found = _NAVIGATIONS.get(key)
    if found is not None and found[0] is entries:
        return found[1]
    if len(_NAVIGATIONS) > 256:
        _NAVIGATIONS.clear()
    inside = f"{folder}/" if folder else ""  # a page is in a folder when its path starts so
    nav = [NavLink("Home", f"{root}index.html", home)]
    for entry in entries:
        target = unquote(entry.href).rsplit("/", 1)[0] + "/"
        nav.append(NavLink(entry.label, f"{root}{entry.href}", inside.startswith(target)))
    current = ' aria-current="page"'
    items = "".join(
        f'<li><a href="{escape(link.href)}"{current if link.current else ""}>'
        f"{escape(link.label)}</a></li>\n"
        for link in nav
    )
    made = (tuple(nav), Markup(items))
    _NAVIGATIONS[key] = (entries, made)
    return made


def packaged_assets() -> Iterator[tuple[str, bytes]]:
    """(relative name, content) of every packaged static file, sorted by name."""

    def walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.startswith((".", "__")):
                continue
            if entry.is_dir():
                yield from walk(entry, f"{prefix}{entry.name}/")
            else:
                yield f"{prefix}{entry.name}", entry.read_bytes()

    yield from walk(package_files("crmgen") / "static", "")


def render_pages(
    pages: Iterable[Page],
    site: SiteInfo,
    template_dirs: Sequence[Path],
    problems: list[Diagnostic],
    root: Path | None = None,
    env: jinja2.Environment | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Every page, rendered, one at a time (so the build never holds the whole site).

    Args:
        pages: the pages to render (``views.pages``: records, dashboards and the rest).
        site: the site view (``views.SiteView``).
        template_dirs: override folders, searched before the packaged templates.
        problems: receives a diagnostic for each template that failed (missing variable,
            sandbox violation, ...), at its line; a template that fails is reported once, and
            its pages are left out.
        root: the data repo, to name override templates by their repo path in diagnostics.
        env: the environment of ``template_dirs`` (``make_environment``), when the caller
            keeps one for several calls: its templates are compiled once.

    Yields:
        (site-relative POSIX path, content) of each page.
    """
    env = env or make_environment(template_dirs)
    failed: dict[str, Diagnostic] = {}
    for page in pages:
        if page.template in failed:
            continue
        try:
            context = {**page.build_context(), **common_context(page, site)}
            html = env.get_template(page.template).render(context)
        except (jinja2.TemplateError, SecurityError) as exc:
            failed[page.template] = template_error(exc, page.template, template_dirs, root)
            problems.append(failed[page.template])
            continue
        yield page.path, html.encode("utf-8")


def render_files(
    pages: Iterable[Page],
    site: SiteInfo,
    template_dirs: Sequence[Path],
    read_attachment: Callable[[str], bytes],
    problems: list[Diagnostic],
    root: Path | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Every file of the site, one at a time: the pages (see :func:`render_pages`), then
    ``assets/…`` (the packaged static files), then the attachments the site publishes, read
    through ``read_attachment`` (repo-relative path -> bytes)."""
    yield from render_pages(pages, site, template_dirs, problems, root)
    yield from other_files(site, read_attachment)


def other_files(
    site: SiteInfo, read_attachment: Callable[[str], bytes]
) -> Iterator[tuple[str, bytes]]:
    """The files beside the pages: ``assets/…`` and the attachments the site publishes."""
    for name, content in packaged_assets():
        yield f"{ASSETS}/{name}", content
    for path in site.attachments:
        yield path, read_attachment(path)


def render_site(
    pages: Sequence[Page],
    site: SiteInfo,
    template_dirs: Sequence[Path],
    read_attachment: Callable[[str], bytes],
    root: Path | None = None,
) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """Every file of the site in a dict (see :func:`render_files`), and the template problems.

    Raises:
        ValueError: two outputs would have the same path.
    """
    problems: list[Diagnostic] = []
    out: dict[str, bytes] = {}
    for path, content in render_files(pages, site, template_dirs, read_attachment, problems, root):
        if path in out:
            raise ValueError(f"two files of the site would be written to {path}; rename one")
        out[path] = content
    return dict(sorted(out.items())), problems


def template_error(
    exc: Exception, name: str, template_dirs: Sequence[Path], root: Path | None
) -> Diagnostic:
    """A template failure as a diagnostic at the template file and line where it happened."""
    filename, line = _where(exc)
    path = _template_path(filename, name, template_dirs, root)
    if isinstance(exc, SecurityError):
        message = (
            f"template is not allowed to do this: {exc}; templates may only read the values "
            "they are given (no attributes starting with '_', no internals)"
        )
    elif isinstance(exc, jinja2.UndefinedError):
        message = f"template error: {exc.message}; check the name against the template's context"
    else:
        message = f"template error: {getattr(exc, 'message', None) or exc}"
    return error("usage-template", message, path, Pos(line) if line else None)


def _where(exc: Exception) -> tuple[str | None, int]:
    """The template file and line of an exception (syntax errors carry them; runtime errors
    are found in the traceback, which Jinja rewrites to point at template lines)."""
    filename = getattr(exc, "filename", None)
    line = getattr(exc, "lineno", None)
    if filename and line:
        return str(filename), int(line)
    tb = exc.__traceback__
    found: tuple[str | None, int] = (None, 0)
    while tb is not None:
        code = tb.tb_frame.f_code.co_filename
        if code.endswith((".html", ".xml", ".txt", ".j2")):
            found = (code, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_path(
    filename: str | None, name: str, template_dirs: Sequence[Path], root: Path | None
) -> str:
    if filename:
        file = Path(filename)
        for folder in template_dirs:
            try:
                relative = file.resolve().relative_to(folder.resolve())
            except ValueError:
                continue
            base = folder.resolve()
            if root is not None:
                with contextlib.suppress(ValueError):
                    base = folder.resolve().relative_to(root.resolve())
            return (Path(base) / relative).as_posix()
        if "crmgen" in file.parts:
            return f"<crmgen>/templates/{file.name}"
    return f"templates/{name}"


def check_templates(root: Path, store: Store = NO_STORE, version: str = "") -> list[Diagnostic]:
    """Compile every template (packaged and the data repo's overrides) in the sandbox.

    Finds what can be found without data: syntax errors, and any attribute or item whose name
    starts with ``_`` (the sandbox refuses those at render time). Both at the template's line.
    The problems are kept in ``store`` under the templates' files and texts and ``version``
    (crmgen's): most runs read the templates but compile none.
    """
    folder = root / "templates"
    dirs = [folder] if folder.is_dir() else []
    env = make_environment(dirs)
    names = sorted(set(env.list_templates()))
    key = _templates_key(env, names, root, version) if version else ""
    found = store.get(TEMPLATE_CHECKS, key) if key else None
    if found is not None:
        problems_found: list[Diagnostic] = unpack(found)
        return problems_found
    problems = _template_problems(env, names, dirs, root)
    if key:
        store.put(TEMPLATE_CHECKS, key, pack(problems))
    return problems


#: The store's space for the problems ``check_templates`` found.
TEMPLATE_CHECKS = "template-checks"


def _templates_key(env: jinja2.Environment, names: Sequence[str], root: Path, version: str) -> str:
    """A hash of every template's file and text, the repo's place and crmgen's version; ""
    when a template cannot be read (it is checked every time, and reported)."""
    digest = hashlib.sha256(f"{version}\0{root}".encode())
    for name in names:
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            return ""
        digest.update(f"\0{name}\0{filename}\0{source}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _template_problems(
    env: jinja2.Environment, names: Sequence[str], dirs: Sequence[Path], root: Path
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for name in names:
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
            tree = env.parse(source, name, filename)
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(template_error(exc, name, dirs, root))
            continue
        except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
            problems.append(
                error("usage-template", f"cannot read template: {exc}", f"templates/{name}")
            )
            continue
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            attr = (
                node.attr
                if isinstance(node, nodes.Getattr)
                else _const(getattr(node, "arg", None))
            )
            if isinstance(attr, str) and attr.startswith("_"):
                problems.append(
                    error(
                        "usage-template",
                        f"template uses '{attr}': attributes and items starting with '_' are "
                        "internals that templates may not reach; remove it",
                        _template_path(filename, name, dirs, root),
                        Pos(node.lineno),
                    )
                )
    return problems


def _const(node: nodes.Node | None) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def sitemap(page_paths: Sequence[str], base_url: str) -> bytes:
    """A sitemap.xml of every page under ``base_url`` (an absolute http(s) URL)."""
    from urllib.parse import quote
    from xml.sax.saxutils import escape

    base = base_url if base_url.endswith("/") else base_url + "/"
    urls = "".join(
        f"  <url><loc>{escape(base + quote(path))}</loc></url>\n" for path in sorted(page_paths)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode()
