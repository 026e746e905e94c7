"""Stage: schema files -> checked ``ProjectSchema`` values.

Each ``schema/<project>.schema.yaml`` is parsed strictly, checked against the crmgen
meta-schema (errors at their line) and against JSON Schema 2020-12 itself, and turned
into field specs, lists and tags. Cross-project references are checked once all are read.
"""

from __future__ import annotations

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
from crmgen.fields import FIELD_TYPES, infer_type
from crmgen.model import Diagnostic, FieldSpec, ListSpec, Pos, ProjectSchema, error
from crmgen.sources import read_text

SUFFIX = ".schema.yaml"


@functools.cache
def meta_validator() -> Draft202012Validator:
    """The validator for schema files (the meta-schema is packaged)."""
    text = resources.files("crmgen").joinpath("metaschema/project.schema.yaml").read_text("utf-8")
    return Draft202012Validator(yaml.safe_load(text))


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


def _field(name: str, prop: Mapping[str, Any], required: bool, pos: Pos) -> FieldSpec:
    meta = prop.get("x-crmgen") or {}
    ftype = meta.get("type") or infer_type(name, dict(prop))
    stored = {k: v for k, v in prop.items() if k != "x-crmgen"}
    items = stored.get("items") if isinstance(stored.get("items"), dict) else {}
    enum = stored.get("enum") or (items or {}).get("enum") or ()
    return FieldSpec(
        name=name,
        type=ftype,
        label=meta.get("label") or _label(name),
        schema=stored,
        required=required,
        multiple=stored.get("type") == "array",
        target=meta.get("project"),
        path=meta.get("path"),
        expression=meta.get("formula") or meta.get("rollup"),
        result=meta.get("result"),
        options=tuple(str(o) for o in enum),
        audiences=tuple(meta.get("audiences") or ()),
        via=meta.get("field"),
        pos=pos,
    )


def parse_schema(name: str, text: str, path: str) -> tuple[ProjectSchema | None, list[Diagnostic]]:
    """Parse and check one project's schema file text."""
    doc, diags = yamlstrict.parse(text, path)
    if doc is None:
        return None, diags
    data = doc.value
    if not isinstance(data, dict):
        return None, [*diags, error("schema-shape", "a schema must be a YAML mapping", path)]
    for err in sorted(meta_validator().iter_errors(_jsonable(data)), key=lambda e: list(e.path)):
        where = tuple(err.absolute_path)
        label = ".".join(str(p) for p in where) or "schema"
        diags.append(
            error(
                "schema-meta",
                messages.describe(err, label),
                path,
                doc.pos(where),
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
        _field(fname, prop or {}, fname in required, doc.pos(("properties", fname)))
        for fname, prop in props.items()
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
        json_schema=_jsonable(data),
    )
    diags.extend(_check_project(schema, doc))
    return schema, diags


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
                doc.pos(("x-crmgen", "title")),
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
                    doc.pos(("x-crmgen", "lists", i)),
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
            types = set(json_type) if isinstance(json_type, list) else {json_type}
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


def load_schemas(
    root: Path, projects: Sequence[str], max_size: int
) -> tuple[dict[str, ProjectSchema], list[Diagnostic]]:
    """Read ``schema/<project>.schema.yaml`` for every project and check them together.

    Args:
        root: the data repo.
        projects: project names (from ``crmgen.yml``, or every schema file when empty).
        max_size: the file size limit.
    """
    folder = root / "schema"
    diags: list[Diagnostic] = []
    names = list(projects)
    if not names and folder.is_dir():
        names = sorted(p.name[: -len(SUFFIX)] for p in folder.glob("*" + SUFFIX))
    schemas: dict[str, ProjectSchema] = {}
    for name in names:
        file = folder / (name + SUFFIX)
        rel = f"schema/{name}{SUFFIX}"
        if not file.is_file():
            diags.append(
                error(
                    "schema-missing", f"project '{name}' has no schema; create {rel}", "crmgen.yml"
                )
            )
            continue
        text, problems = read_text(root, file, max_size)
        diags.extend(problems)
        if text is None:
            continue
        schema, problems = parse_schema(name, text, rel)
        diags.extend(problems)
        if schema is not None:
            schemas[name] = schema
    diags.extend(check_links(schemas))
    return schemas, diags


def check_links(schemas: Mapping[str, ProjectSchema]) -> list[Diagnostic]:
    """Reference and referenced-by fields must name existing projects and fields."""
    out: list[Diagnostic] = []
    for schema in schemas.values():
        for spec in schema.fields:
            if spec.type not in ("reference", "referenced-by") or spec.target is None:
                continue
            if spec.target not in schemas:
                out.append(
                    error(
                        "schema-project",
                        f"{spec.name}: project '{spec.target}' does "
                        f"not exist{messages.did_you_mean(spec.target, schemas)}",
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
