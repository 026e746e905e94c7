"""The lead-capture form pages: ``forms/<project>.html`` for each project with a form.

The page has no server behind it. Its script (``assets/form.js``) turns the filled form into
the address of the forge's new-issue page with the project's issue template and every value
as a query parameter named after its field, and goes there; the person checks the issue and
submits it, and a workflow turns it into a pull request (``crmgen import-issue``). Without
``repository:`` in ``crmgen.yml`` there is no issue page to open: the form page says so and
nothing links to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from crmgen.fields.forms import FormField, form_fields
from crmgen.model import Config, Dataset, Page, PageSet, ProjectSchema

#: Where the form pages go in the site.
FOLDER = "forms"


@dataclass(frozen=True, slots=True)
class FormView:
    """One form page.

    Attributes:
        project, project_title: the project whose records it makes.
        title, description: the form's heading and introduction.
        fields: the inputs, in order.
        issue_url: the forge's new-issue page ("" without ``repository:``).
        template: the issue template's file name (``new-lead.yml``).
        title_prefix: the start of the issue's title ("New lead: ").
        fallback_url: the issue template itself, for a reader without JavaScript.
        forge_name: "GitHub", or the forge's host.
        list: the list the record starts in ("" for the list field's default).
    """

    project: str
    project_title: str
    title: str
    description: str
    fields: tuple[FormField, ...]
    issue_url: str
    template: str
    title_prefix: str
    fallback_url: str
    forge_name: str
    list: str = ""


def form_path(project: str) -> str:
    """The site path of a project's form page."""
    return f"{FOLDER}/{project}.html"


def form_href(config: Config, schema: ProjectSchema) -> str:
    """The form page's site-relative link, or "" when it has none to link (no form, or no
    repository to open an issue in)."""
    if schema.form is None or not config.repository:
        return ""
    return quote(form_path(schema.name))


def form_view(config: Config, schema: ProjectSchema) -> FormView | None:
    """The view of a project's form page, or None when the project has no form."""
    form = schema.form
    if form is None:
        return None
    issue_url = fallback = ""
    if config.repository:
        issue_url = f"{config.forge}/{config.repository}/issues/new"
        fallback = f"{issue_url}?{urlencode({'template': form.template})}"
    host = urlsplit(config.forge).hostname or config.forge
    return FormView(
        project=schema.name,
        project_title=schema.title,
        title=form.title,
        description=form.description,
        fields=form_fields(schema),
        issue_url=issue_url,
        template=form.template,
        title_prefix=f"{form.title}: ",
        fallback_url=fallback,
        forge_name="GitHub" if host == "github.com" else host,
        list=form.list or "",
    )


def form_pages(dataset: Dataset) -> PageSet:
    """A page per project with a form; the home page lists those it can link."""
    pages: list[Page] = []
    links: list[tuple[str, str]] = []
    for name, project in dataset.projects.items():
        view = form_view(dataset.config, project.schema)
        if view is None:
            continue
        pages.append(Page(form_path(name), "form.html", {"form": view}))
        href = form_href(dataset.config, project.schema)
        if href:
            links.append((view.title, href))
    home = {"forms": tuple(links)} if links else {}
    return PageSet(pages=tuple(pages), home=home)
