"""How each field type is filled in on the lead-capture form, and what may be on it.

One rule for the three places a form shows up: the form page of the site (``views.forms``), the
GitHub issue template generated from it, and ``crmgen import-issue``, which reads the issue
back (``forms``). A form holds the record's title, the fields the schema marks with
``x-crmgen: {form: true}`` and, when ``x-crmgen.form.body`` names it, a text box for the
Markdown notes. Anyone may fill the form and read the issues it opens, so a field restricted to
an audience can never be on it, nor a computed field, a file, a reference (its choices would
publish the other project's records) or the list (the form says which list a lead starts in).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crmgen.messages import did_you_mean
from crmgen.model import FormSpec, ProjectSchema

#: The input name and issue-form id of the Markdown notes.
BODY = "body"
#: Longest single-line value, and longest text box, when the schema gives no ``maxLength``: the
#: whole form travels in one address, which browsers and GitHub keep to about 8,000 characters.
TEXT_LENGTH = 200
LONG_TEXT_LENGTH = 2000

#: field type -> the kind of input: text, textarea, email, tel, url, number, date, select,
#: multiselect (a box per option) or checkbox.
INPUT_KINDS = {
    "text": "text",
    "long-text": "textarea",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "number": "number",
    "percent": "number",
    "currency": "number",
    "rating": "number",
    "date": "date",
    "select": "select",
    "multi-select": "multiselect",
    "tags": "multiselect",
    "checkbox": "checkbox",
    "address": "textarea",
}
#: Query parameters of the forge's new-issue page that are not an issue form's fields: a field
#: of this name goes by ``record_<name>`` in the address and the template.
RESERVED_IDS = frozenset(
    {"title", "body", "labels", "assignees", "milestone", "projects", "template", "type"}
)
#: The words a checkbox sends (the issue template offers the same two).
YES, NO = "Yes", "No"


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the form.

    Attributes:
        name: the field's name: the input's name, the issue form's id, the query parameter.
        label: what the form shows; also the heading of its section in the issue body.
        kind: the input (see ``INPUT_KINDS``).
        required: the form refuses to go on without it (the field is required and has no
            default).
        options: the choices of a select or multiselect.
        minimum, maximum, step: a number's bounds and step, as text ("" for none).
        max_length: the longest value the form accepts.
        pattern: the schema's ``pattern`` for a text value ("" for none).
        description: the schema's ``description``, shown under the label.
    """

    name: str
    label: str
    kind: str
    required: bool = False
    options: tuple[str, ...] = ()
    minimum: str = ""
    maximum: str = ""
    step: str = ""
    max_length: int = TEXT_LENGTH
    pattern: str = ""
    description: str = ""

    @property
    def key(self) -> str:
        """The input's name, the issue form's id and the query parameter: the field's name,
        or ``record_<name>`` for a name the new-issue page keeps for itself (``title``)."""
        return f"record_{self.name}" if self.name in RESERVED_IDS else self.name


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return ""
    if isinstance(value, int):
        return str(value)
    return format(Decimal(repr(value)) if isinstance(value, float) else value, "f")


def _field(schema: ProjectSchema, name: str) -> FormField | None:
    spec = schema.field(name)
    if spec is None:
        return None
    kind = INPUT_KINDS.get(spec.type, "")
    if spec.type == "tags" and not schema.tags:
        kind = "text"  # any tag: written with commas between them
    stored = spec.schema
    required = spec.required and "default" not in stored
    if spec.name == schema.title_field:
        required = True
    options: tuple[str, ...] = spec.options
    if spec.type == "tags":
        options = schema.tags
    minimum, maximum = _number(stored.get("minimum")), _number(stored.get("maximum"))
    step = "any" if kind == "number" else ""
    if spec.type == "rating":
        minimum, maximum, step = minimum or "0", maximum or "5", "1"
    elif stored.get("type") == "integer":
        step = "1"
    longest = LONG_TEXT_LENGTH if kind == "textarea" else TEXT_LENGTH
    limit = stored.get("maxLength")
    if isinstance(limit, int) and not isinstance(limit, bool):
        longest = min(longest, limit)
    pattern = stored.get("pattern")
    return FormField(
        name=spec.name,
        label=spec.label,
        kind=kind,
        required=required,
        options=tuple(options),
        minimum=minimum,
        maximum=maximum,
        step=step,
        max_length=longest,
        pattern=pattern if isinstance(pattern, str) else "",
        description=str(stored.get("description") or ""),
    )


def form_fields(schema: ProjectSchema) -> tuple[FormField, ...]:
    """The inputs of the project's form, in order: the title, the marked fields in schema
    order, then the notes; () when the project has no form."""
    form = schema.form
    if form is None:
        return ()
    names = [schema.title_field]
    names += [f.name for f in schema.fields if f.form and f.name != schema.title_field]
    found = [f for f in (_field(schema, n) for n in names) if f is not None and f.kind]
    if form.body:
        found.append(FormField(BODY, form.body, "textarea", max_length=LONG_TEXT_LENGTH))
    return tuple(found)


#: A problem with a form declaration: the message, and where in the schema file it is.
FormProblem = tuple[str, tuple[str | int, ...]]


def form_problems(schema: ProjectSchema) -> list[FormProblem]:
    """What is wrong with the project's form: marked fields that may not be on it, a list
    that does not exist, two inputs with one label (the issue body is read by its labels)."""
    out: list[FormProblem] = []
    form: FormSpec | None = schema.form
    for spec in schema.fields:
        if not spec.form:
            continue
        where: tuple[str | int, ...] = ("properties", spec.name, "x-crmgen", "form")
        why = ""
        if form is None:
            why = "there is no form: declare x-crmgen.form (with its title) to have one"
        elif spec.audiences:
            why = (
                f"it is restricted to {', '.join(spec.audiences)}; a restricted field can never "
                "be on the form, which anyone can fill and whose issues anyone can read"
            )
        elif spec.computed:
            why = f"it is a computed {spec.type}; only stored fields can be filled in"
        elif spec.type in ("file", "reference", "list"):
            why = {
                "file": "a file cannot travel in an issue; attach it to the pull request",
                "reference": "its choices would publish the ids of another project's records",
                "list": "the form says which list a record starts in: x-crmgen.form.list",
            }[spec.type]
        elif spec.type == "address" and "string" not in _json_types(spec.schema):
            why = "this address is stored in parts; only an address of one text can be filled in"
        if why:
            out.append((f"{spec.name} cannot be on the form: {why}; remove 'form: true'", where))
    if form is None:
        return out
    on_form = {item.name for item in form_fields(schema)}
    for spec in schema.fields:
        wanted = spec.required and "default" not in spec.schema and spec.name not in on_form
        if wanted and not (spec.type == "list" and form.list):
            out.append(
                (
                    f"form: {schema.name} requires {spec.name}, which the form does not ask for "
                    "and the schema gives no default; put it on the form (form: true) or give "
                    "it a default",
                    (),
                )
            )
    lists = [item.name for item in schema.lists]
    if form.list is not None and form.list not in lists:
        hint = did_you_mean(form.list, lists) or (
            f"; the lists are {', '.join(lists)}" if lists else "; the project has no lists"
        )
        out.append((f"form.list: '{form.list}' is not a list of {schema.name}{hint}", ("list",)))
    seen: dict[str, str] = {}
    keys: dict[str, str] = {}
    for item in form_fields(schema):
        if keys.setdefault(item.key, item.name) != item.name:
            out.append(
                (
                    f"form: {item.name} and {keys[item.key]} would both be sent as {item.key}; "
                    "rename one",
                    (),
                )
            )
        key = item.label.strip().casefold()
        if key in seen:
            out.append(
                (
                    f"form: {item.name} and {seen[key]} have the same label '{item.label}'; the "
                    "issue is read back by its labels, so give one of them another",
                    ("body",) if item.name == BODY else (),
                )
            )
        seen.setdefault(key, item.name)
    body_field = schema.field(BODY)
    if form.body and body_field is not None and body_field.form:
        out.append((f"form.body: the field '{BODY}' is on the form too; rename it", ("body",)))
    return out


def _json_types(stored: Any) -> set[str]:
    found = stored.get("type")
    if found is None:
        return {"string"}
    return set(found) if isinstance(found, list | tuple) else {str(found)}
