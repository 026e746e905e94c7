"""Stage: schema files -> checked ``ProjectSchema`` values.

Each ``schema/<project>.schema.yaml`` is parsed strictly, checked against the crmgen
meta-schema (errors at their line) and against JSON Schema 2020-12 itself, and turned
into field specs, lists and tags. Cross-project references are checked once all are read.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator

from crmgen import messages, yamlstrict
from crmgen.fields import FIELD_TYPES, RESULT_TYPES, infer_type
from crmgen.fields.attachments import accept_problem
from crmgen.fields.formatting import DISPLAY_FORMAT_TYPES, display_format
from crmgen.fields.forms import form_problems
from crmgen.model import (
    HISTORY_FIELDS,
    Config,
    Diagnostic,
    FieldSpec,
    FormSpec,
    ListSpec,
    Pos,
    ProjectSchema,
    SortSpec,
    ViewsSpec,
    error,
    freeze,
    frozen_map,
)
from crmgen.yamlstrict import read_source

SUFFIX = ".schema.yaml"


@functools.cache
def meta_validator() -> Draft202012Validator:
    """The validator for schema files: the packaged meta-schema, with the field types and result
    types of the field-type registry (so the two never disagree)."""
    text = resources.files("crmgen").joinpath("metaschema/project.schema.yaml").read_text("utf-8")
    meta = yaml.safe_load(text)
    vocabulary = meta["$defs"]["field"]["properties"]["x-crmgen"]["properties"]
    vocabulary["type"] = {"enum": list(FIELD_TYPES)}
    vocabulary["result"] = {"enum": list(RESULT_TYPES)}
    return Draft202012Validator(meta)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _jsonable(value: Any) -> Any:
    """Decimals -> int/float for jsonschema's own meta-validation of the schema."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _field(
    name: str, prop: Mapping[str, Any], required: bool, doc: yamlstrict.YamlDoc
) -> FieldSpec:
    meta = prop.get("x-crmgen") or {}
    where = ("properties", name, "x-crmgen")
    written = next((k for k in ("formula", "rollup", "path") if k in meta), None)
    ftype = meta.get("type") or infer_type(name, prop)
    stored = {k: v for k, v in _jsonable(prop).items() if k != "x-crmgen"}
    items = stored.get("items") if isinstance(stored.get("items"), Mapping) else {}
    enum = stored.get("enum") or (items or {}).get("enum") or ()
    return FieldSpec(
        name=name,
        type=ftype,
        label=meta.get("label") or _label(name),
        schema=freeze(stored),
        required=required,
        multiple=stored.get("type") == "array",
        target=meta.get("project"),
        path=meta.get("path"),
        expression=meta.get("formula") or meta.get("rollup"),
        result=meta.get("result"),
        options=tuple(str(o) for o in enum),
        accept=tuple(str(a).lower().lstrip(".") for a in meta.get("accept") or ()),
        audiences=tuple(meta.get("audiences") or ()),
        via=meta.get("field"),
        pos=doc.pos(("properties", name)),
        expression_pos=doc.value_pos((*where, written)) if written else None,
        display=freeze(display_format(_jsonable(meta.get("format")))),
        form=meta.get("form") is True,
    )


def parse_schema(
    name: str, text: str, path: str, audiences: Sequence[str] | None = None
) -> tuple[ProjectSchema | None, list[Diagnostic]]:
    """Parse and check one project's schema file text.

    Args:
        name: the project.
        text: the schema file's text.
        path: its repo-relative path, for diagnostics.
        audiences: the audiences ``crmgen.yml`` declares; a field restricted to another one is
            an error at its line (None skips that check).
    """
    doc, diags = yamlstrict.parse(text, path)
    if doc is None:
        return None, diags
    data = doc.value
    if not isinstance(data, dict):
        return None, [*diags, error("schema-shape", "a schema must be a YAML mapping", path)]
    for err in sorted(meta_validator().iter_errors(_jsonable(data)), key=lambda e: list(e.path)):
        where = tuple(err.absolute_path)
        label = ".".join(str(p) for p in where) or "schema"
        at_key = err.validator in ("additionalProperties", "required", "propertyNames")
        diags.append(
            error(
                "schema-meta",
                messages.describe(err, label),
                path,
                doc.pos(where) if at_key else doc.value_pos(where),
                str(where[1]) if len(where) > 1 and where[0] == "properties" else None,
            )
        )
    try:
        Draft202012Validator.check_schema(_jsonable(data))
    except jsonschema.SchemaError as exc:
        where = tuple(exc.absolute_path)
        diags.append(
            error("schema-invalid", f"not valid JSON Schema: {exc.message}", path, doc.pos(where))
        )
    if any(d.severity == "error" for d in diags):
        return None, diags
    meta = data.get("x-crmgen") or {}
    required = set(data.get("required") or ())
    props = data.get("properties") or {}
    fields = tuple(
        _field(fname, prop or {}, fname in required, doc) for fname, prop in props.items()
    )
    lists = tuple(
        ListSpec(
            name=item["name"],
            kind=item.get("kind", "open"),
            probability=Decimal(str(item.get("probability", 0))),
            max_days=item.get("max_days"),
        )
        for item in meta.get("lists") or ()
    )
    schema = ProjectSchema(
        name=name,
        path=path,
        title=data.get("title") or _label(name),
        title_field=meta["title"],
        fields=fields,
        lists=lists,
        tags=tuple(meta.get("tags") or ()),
        json_schema=freeze(_jsonable(data)),
    )
    roles, problems = _roles(fields, meta.get("roles") or {}, doc, path)
    schema = dataclasses.replace(schema, roles=frozen_map(roles))
    diags.extend(problems)
    views, problems = views_of(schema, meta.get("views") or {}, doc)
    schema = dataclasses.replace(schema, views=views, form=_form(meta.get("form"), doc))
    diags.extend(problems)
    for message, where in form_problems(schema):
        at = ("x-crmgen", "form", *where) if where[:1] != ("properties",) else where
        diags.append(error("schema-form", message, path, doc.value_pos(at)))
    diags.extend(_check_project(schema, doc))
    if audiences is not None:
        diags.extend(_check_audiences(schema, doc, audiences))
    return schema, diags


def _form(declared: Any, doc: yamlstrict.YamlDoc) -> FormSpec | None:
    """``x-crmgen.form`` (the meta-schema checked its shape), or None."""
    if not isinstance(declared, Mapping):
        return None
    return FormSpec(
        title=str(declared["title"]),
        description=str(declared.get("description") or ""),
        list=declared.get("list"),
        label=str(declared.get("label") or "lead"),
        body=str(declared.get("body") or ""),
        pos=doc.pos(("x-crmgen", "form")),
    )


#: The field types that may play each role.
ROLE_TYPES = {
    "amount": ("currency", "number"),
    "close": ("date",),
    "owner": ("text", "select", "reference", "email"),
    "parent": ("reference",),
}


def _roles(
    fields: Sequence[FieldSpec],
    declared: Mapping[str, Any],
    doc: yamlstrict.YamlDoc | None,
    path: str,
) -> tuple[dict[str, str], list[Diagnostic]]:
    """The declared roles, checked, and defaults chosen from field types for the others:
    amount is the first currency field, close the first date field that is not one of the
    history fields, owner the built-in ``owner`` field, parent the first single reference."""
    by_name = {f.name: f for f in fields}
    problems: list[Diagnostic] = []
    roles: dict[str, str] = {}
    for role, name in declared.items():
        spec = by_name.get(str(name))
        kind = spec.shown_type if spec else None
        if spec is None or kind not in ROLE_TYPES[role]:
            why = (
                f"'{name}' is not a field{messages.did_you_mean(str(name), by_name)}"
                if spec is None
                else f"'{name}' is a {kind} field; {role} needs a {' or '.join(ROLE_TYPES[role])}"
            )
            where = _at(doc, ("x-crmgen", "roles", role))
            problems.append(error("schema-role", f"roles.{role}: {why}", path, where))
        else:
            roles[role] = str(name)
    stored = [f for f in fields if not f.computed]
    defaults = {
        "amount": next((f.name for f in stored if f.type == "currency"), None),
        "close": next(
            (f.name for f in stored if f.type == "date" and f.name not in HISTORY_FIELDS), None
        ),
        "owner": "owner" if "owner" in by_name and not by_name["owner"].computed else None,
        "parent": next((f.name for f in stored if f.type == "reference" and not f.multiple), None),
    }
    for role, name in defaults.items():
        if role not in roles and role not in declared and name:
            roles[role] = name
    return roles, problems


#: What records can be sorted by besides their fields: dates from the history stage.
SORT_DATES = ("created", "stage_since", "closed", "last_changed", "last_activity", "days_in_stage")
#: Field types that can group a board: one value per record.
GROUP_TYPES = frozenset({"list", "select", "text", "reference", "checkbox", "rating", "lookup"})
#: Field types a table does not show at first (long, or a list of other records).
_WIDE = frozenset({"long-text", "referenced-by", "address", "file"})
#: Columns a table shows at first when the schema does not say.
DEFAULT_COLUMNS = 7
#: Kinds of lists, the keys a board's sort may use besides list names.
LIST_KINDS = ("open", "won", "lost", "n-a")


def with_defaults(schema: ProjectSchema) -> ProjectSchema:
    """A schema made in code (not read from a file) with the roles and views a file that
    declares none would get."""
    roles, _ = _roles(schema.fields, {}, None, schema.path)
    schema = dataclasses.replace(schema, roles=frozen_map({**roles, **schema.roles}))
    views, _ = views_of(schema, {}, None)
    return dataclasses.replace(schema, views=views)


def _at(doc: yamlstrict.YamlDoc | None, where: tuple[str | int, ...], key: bool = False) -> Pos:
    if doc is None:
        return Pos(1, 1)
    return doc.pos(where) if key else doc.value_pos(where)


def views_of(
    schema: ProjectSchema, declared: Mapping[str, Any], doc: yamlstrict.YamlDoc | None
) -> tuple[ViewsSpec, list[Diagnostic]]:
    """The project's views (``x-crmgen.views``), checked, with defaults chosen from field
    types and roles for what is not declared:

    - card: amount, parent, owner and close (by role), filled up to four from the other
      short stored fields;
    - table columns: the title, the list, the roles and the tags, filled up to seven from the
      other stored fields in schema order (long text, addresses, files and back-links wait
      one click away);
    - board order: open lists by close date (soonest first), won and lost lists by when they
      were closed (latest first), n-a lists by last activity (latest first);
    - board group: the list field.
    """
    problems: list[Diagnostic] = []
    by_name = {f.name: f for f in schema.fields}
    path = schema.path

    def known(name: str, where: tuple[str | int, ...], extra: Sequence[str] = ()) -> bool:
        if name in by_name or name in extra:
            return True
        hint = messages.did_you_mean(name, [*by_name, *extra])
        problems.append(
            error(
                "schema-view",
                f"views: '{name}' is not a field of {schema.name}"
                + (hint or "; use a property name of this schema"),
                path,
                _at(doc, ("x-crmgen", "views", *where)),
            )
        )
        return False

    def sort(text: str, where: tuple[str | int, ...]) -> SortSpec | None:
        spec = SortSpec.parse(text)
        return spec if known(spec.field, where, SORT_DATES) else None

    card_decl = (declared.get("card") or {}).get("fields")
    table_decl = declared.get("table") or {}
    board_decl = declared.get("board") or {}
    done = set()
    if card_decl is not None:
        done.add("card")
        card = tuple(
            str(n) for i, n in enumerate(card_decl) if known(str(n), ("card", "fields", i))
        )
    else:
        card = _default_card(schema)
    if table_decl.get("columns") is not None:
        done.add("columns")
        columns = [
            str(n)
            for i, n in enumerate(table_decl["columns"])
            if known(str(n), ("table", "columns", i))
        ]
        if schema.title_field in by_name and schema.title_field not in columns:
            columns.insert(0, schema.title_field)
    else:
        columns = _default_columns(schema)
    table_sort = None
    if table_decl.get("sort") is not None:
        done.add("sort")
        table_sort = sort(str(table_decl["sort"]), ("table", "sort"))
    board_sort: dict[str, SortSpec] = _default_board_sort(schema)
    raw_sort = board_decl.get("sort")
    if isinstance(raw_sort, str):
        done.add("board_sort")
        found = sort(raw_sort, ("board", "sort"))
        board_sort = {kind: found for kind in LIST_KINDS} if found else board_sort
    elif isinstance(raw_sort, Mapping):
        done.add("board_sort")
        names = [spec.name for spec in schema.lists]
        for key, text in raw_sort.items():
            if str(key) not in names and str(key) not in LIST_KINDS:
                hint = messages.did_you_mean(str(key), [*names, *LIST_KINDS])
                problems.append(
                    error(
                        "schema-view",
                        f"views: board sort '{key}' is neither a list nor a kind of list"
                        + (hint or f"; use a list name or one of {', '.join(LIST_KINDS)}"),
                        path,
                        _at(doc, ("x-crmgen", "views", "board", "sort", str(key)), key=True),
                    )
                )
                continue
            found = sort(str(text), ("board", "sort", str(key)))
            if found:
                board_sort[str(key)] = found
    group = schema.list_field
    if board_decl.get("group") is not None:
        done.add("group")
        name = str(board_decl["group"])
        if known(name, ("board", "group")):
            spec = by_name[name]
            if spec.type not in GROUP_TYPES or spec.multiple:
                problems.append(
                    error(
                        "schema-view",
                        f"views: board group '{name}' is a {spec.type} field; a board is "
                        "grouped by a field with one value per record (list, select, text, "
                        "reference, checkbox, rating or lookup)",
                        path,
                        _at(doc, ("x-crmgen", "views", "board", "group")),
                    )
                )
            else:
                group = name
    views = ViewsSpec(
        card=card,
        columns=tuple(columns),
        sort=table_sort,
        board_sort=frozen_map(board_sort),
        group=group,
        declared=tuple(sorted(done)),
    )
    return views, problems


def _default_card(schema: ProjectSchema) -> tuple[str, ...]:
    names = [schema.roles.get(r) for r in ("amount", "parent", "owner", "close")]
    card = [n for n in names if n]
    skip = {schema.title_field, schema.list_field, schema.tags_field, *HISTORY_FIELDS}
    for spec in schema.fields if len(card) < 2 else ():  # few roles: the first short fields
        if len(card) >= 4:
            break
        short = spec.type in ("select", "currency", "number", "date", "reference", "rating")
        fits = short and not spec.computed and not spec.multiple
        if fits and spec.name not in skip and spec.name not in card:
            card.append(spec.name)
    return tuple(card[:4])


def _default_columns(schema: ProjectSchema) -> list[str]:
    roles = [schema.roles.get(r) for r in ("parent", "amount", "owner", "close")]
    wanted = [schema.title_field, schema.list_field, *roles, schema.tags_field]
    names = {f.name for f in schema.fields}
    columns: list[str] = []
    for name in wanted:
        if name and name in names and name not in columns:
            columns.append(name)
    for spec in schema.fields:
        if len(columns) >= DEFAULT_COLUMNS:
            break
        if spec.name not in columns and not spec.computed and spec.type not in _WIDE:
            columns.append(spec.name)
    return columns


def _default_board_sort(schema: ProjectSchema) -> dict[str, SortSpec]:
    close = schema.roles.get("close")
    out = {
        "won": SortSpec("closed", True),
        "lost": SortSpec("closed", True),
        "n-a": SortSpec("last_activity", True),
    }
    if close:
        out["open"] = SortSpec(close)
    return out


def _check_audiences(
    schema: ProjectSchema, doc: yamlstrict.YamlDoc, declared: Sequence[str]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for spec in schema.fields:
        for index, name in enumerate(spec.audiences):
            if name in declared:
                continue
            where = ("properties", spec.name, "x-crmgen", "audiences", index)
            hint = messages.did_you_mean(name, declared) or (
                f"; declare it in crmgen.yml under audiences: (- name: {name})"
            )
            out.append(
                error(
                    "schema-audience",
                    f"{spec.name}: audience '{name}' is not declared in crmgen.yml{hint}",
                    schema.path,
                    doc.value_pos(where),
                    spec.name,
                )
            )
    return out


def _check_project(schema: ProjectSchema, doc: yamlstrict.YamlDoc) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    path = schema.path
    names = [f.name for f in schema.fields]
    if schema.title_field not in names:
        out.append(
            error(
                "schema-title",
                f"title field '{schema.title_field}' is not a property"
                f"{messages.did_you_mean(schema.title_field, names)}; add it to properties",
                path,
                doc.value_pos(("x-crmgen", "title")),
            )
        )
    seen: set[str] = set()
    for i, item in enumerate(schema.lists):
        if item.name in seen:
            out.append(
                error(
                    "schema-lists",
                    f"list '{item.name}' is declared twice",
                    path,
                    doc.value_pos(("x-crmgen", "lists", i, "name")),
                )
            )
        seen.add(item.name)
    list_fields = [f for f in schema.fields if f.type == "list"]
    if schema.lists and not list_fields:
        out.append(
            error(
                "schema-lists",
                "lists are declared but no property has type list; "
                "add `list: {type: string, x-crmgen: {type: list}}`",
                path,
                doc.pos(("x-crmgen", "lists")),
            )
        )
    if list_fields and not schema.lists:
        out.append(
            error(
                "schema-lists",
                f"field '{list_fields[0].name}' has type list but "
                "x-crmgen.lists declares no lists; declare them",
                path,
                list_fields[0].pos,
            )
        )
    for spec in schema.fields:
        ftype = FIELD_TYPES[spec.type]
        json_type = spec.schema.get("type")
        if spec.display and spec.shown_type not in DISPLAY_FORMAT_TYPES:
            out.append(
                error(
                    "schema-format",
                    f"{spec.name}: only number, currency and percent fields take 'format' "
                    f"(this one is shown as {spec.shown_type}); remove it",
                    path,
                    doc.pos(("properties", spec.name, "x-crmgen", "format")),
                    spec.name,
                )
            )
        where = ("properties", spec.name, "x-crmgen", "accept")
        problem = accept_problem(spec.accept)
        if spec.accept and spec.type != "file":
            problem = "only file fields take 'accept'; remove it"
        if problem:
            out.append(
                error(
                    "schema-accept",
                    f"{spec.name}: {problem}",
                    path,
                    doc.value_pos(where),
                    spec.name,
                )
            )
        if ftype.computed and any(k in spec.schema for k in ("type", "enum", "const")):
            out.append(
                error(
                    "schema-computed",
                    f"{spec.name} is a computed {spec.type}; remove "
                    "its JSON type keywords (it is never stored)",
                    path,
                    spec.pos,
                    spec.name,
                )
            )
        elif not ftype.computed and json_type is not None:
            types = set(json_type) if isinstance(json_type, list | tuple) else {json_type}
            if not types <= ftype.json_types | {"null"}:
                out.append(
                    error(
                        "schema-type",
                        f"{spec.name}: a {spec.type} field cannot be "
                        f"stored as {messages.type_name(json_type)}; use "
                        f"{messages.type_name(sorted(ftype.json_types))}",
                        path,
                        spec.pos,
                        spec.name,
                    )
                )
    return out


def load_schemas(root: Path, config: Config) -> tuple[dict[str, ProjectSchema], list[Diagnostic]]:
    """Read ``schema/<project>.schema.yaml`` for every project and check them together.

    Args:
        root: the data repo.
        config: its ``crmgen.yml``: the projects (every schema file when it names none), the
            file size limit, and the audiences fields may be restricted to.

    Returns:
        The schemas that loaded, and every problem. A project whose schema failed to load is
        absent, and later stages treat a reference to it as an error, never a crash.
    """
    folder = root / "schema"
    diags: list[Diagnostic] = []
    names = list(config.projects)
    if not names and folder.is_dir():
        names = sorted(p.name[: -len(SUFFIX)] for p in folder.glob("*" + SUFFIX))
    audiences = [a.name for a in config.audiences]
    schemas: dict[str, ProjectSchema] = {}
    for index, name in enumerate(names):
        file = folder / (name + SUFFIX)
        rel = f"schema/{name}{SUFFIX}"
        if not file.is_file():
            pos = config.value_positions.get(f"projects/{index}")
            message = f"project '{name}' has no schema; create {rel}"
            diags.append(error("schema-missing", message, config.path, pos, "projects"))
            continue
        text, problems = read_source(root, file, config.max_file_size)
        diags.extend(problems)
        if text is None:
            continue
        schema, problems = parse_schema(name, text, rel, audiences)
        diags.extend(problems)
        if schema is not None:
            schemas[name] = schema
    diags.extend(check_links(schemas, names))
    return schemas, diags


def check_links(
    schemas: Mapping[str, ProjectSchema], named: Sequence[str] = ()
) -> list[Diagnostic]:
    """Reference and referenced-by fields must name existing projects and fields.

    ``named`` are the projects crmgen.yml names: one of them without a schema that loaded has
    its own errors, so a reference to it says so instead of "does not exist".
    """
    out: list[Diagnostic] = []
    labels: dict[str, str] = {}
    for schema in schemas.values():
        form = schema.form
        if form is not None and labels.setdefault(form.label, schema.name) != schema.name:
            out.append(
                error(
                    "schema-form",
                    f"form: the label '{form.label}' is the form of {labels[form.label]} too; "
                    f"give this form another (label: {schema.name}), so that each form has its "
                    "own issue template and its issues go to the right project",
                    schema.path,
                    form.pos,
                )
            )
        for spec in schema.fields:
            if spec.type not in ("reference", "referenced-by") or spec.target is None:
                continue
            if spec.target not in schemas:
                why = (
                    f"has no usable schema; fix the errors reported for "
                    f"schema/{spec.target}{SUFFIX} first"
                    if spec.target in named
                    else f"does not exist{messages.did_you_mean(spec.target, schemas)}"
                )
                out.append(
                    error(
                        "schema-project",
                        f"{spec.name}: project '{spec.target}' {why}",
                        schema.path,
                        spec.pos,
                        spec.name,
                    )
                )
                continue
            if spec.type == "referenced-by" and spec.via is not None:
                via = schemas[spec.target].field(spec.via)
                if via is None or via.type != "reference" or via.target != schema.name:
                    out.append(
                        error(
                            "schema-field",
                            f"{spec.name}: '{spec.target}.{spec.via}' "
                            f"is not a reference to {schema.name}; name a reference "
                            "field of that project",
                            schema.path,
                            spec.pos,
                            spec.name,
                        )
                    )
    return out
