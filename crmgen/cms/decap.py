"""A Decap CMS configuration (``admin/config.yml``) for the data repo.

One folder collection per project (``data/<project>``, Markdown with YAML front matter), the
editorial workflow (every edit is a pull request), the GitHub backend of ``repository:`` and
``branch:``, attachments in the attachments folder. Field by field: selects for lists, tags and
enums, relation widgets for references, ``required`` and ``pattern`` from the schema, number
bounds, dates as ``YYYY-MM-DD``; the Markdown notes last.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from crmgen.model import Config, FieldSpec, ProjectSchema

from . import editable, hint, pattern


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _widget(
    spec: FieldSpec, schema: ProjectSchema, schemas: Mapping[str, ProjectSchema]
) -> dict[str, Any]:
    stored = spec.schema
    kind = spec.type
    if kind in ("list", "select", "multi-select") or (kind == "tags" and schema.tags):
        options = [s.name for s in schema.lists] if kind == "list" else list(spec.options)
        if kind == "tags":
            options = list(schema.tags)
        found: dict[str, Any] = {"widget": "select", "options": _plain(options)}
        if kind in ("multi-select", "tags"):
            found["multiple"] = True
        return found
    if kind == "tags":
        return {"widget": "list"}
    if kind == "reference" and spec.target is not None and spec.target in schemas:
        title = schemas[spec.target].title_field
        return {
            "widget": "relation",
            "collection": spec.target,
            "value_field": "{{slug}}",
            "search_fields": [title],
            "display_fields": [title],
            **({"multiple": True} if spec.multiple else {}),
        }
    if kind in ("number", "percent", "currency", "rating"):
        found = {"widget": "number", "value_type": "int" if stored.get("type") == "integer"
                 or kind == "rating" else "float"}  # fmt: skip
        low, high = stored.get("minimum"), stored.get("maximum")
        if kind == "rating":
            low, high = 0 if low is None else low, 5 if high is None else high
        if low is not None:
            found["min"] = _plain(low)
        if high is not None:
            found["max"] = _plain(high)
        return found
    if kind == "date":
        return {"widget": "datetime", "format": "YYYY-MM-DD", "date_format": "YYYY-MM-DD",
                "time_format": False}  # fmt: skip
    if kind == "checkbox":
        return {"widget": "boolean"}
    if kind == "file":
        return {"widget": "file", **({"allow_multiple": True} if spec.multiple else {})}
    if kind == "long-text":
        return {"widget": "text"}
    if kind == "address" and isinstance(stored.get("properties"), Mapping):
        parts = [
            {"name": str(name), "label": str(name).replace("_", " ").capitalize(),
             "widget": "string", "required": False}
            for name in stored["properties"]
        ]  # fmt: skip
        return {"widget": "object", "fields": parts}
    return {"widget": "string"}


def _field(
    spec: FieldSpec, schema: ProjectSchema, schemas: Mapping[str, ProjectSchema]
) -> dict[str, Any]:
    found: dict[str, Any] = {"name": spec.name, "label": spec.label}
    found.update(_widget(spec, schema, schemas))
    found["required"] = spec.required and "default" not in spec.schema
    if "default" in spec.schema:
        found["default"] = _plain(spec.schema["default"])
    shape = pattern(spec)
    if shape is not None and found["widget"] == "string":
        found["pattern"] = [shape[0], f"Write {shape[1]}"]
    text = hint(spec)
    if text:
        found["hint"] = text
    return found


def decap_config(config: Config, schemas: Mapping[str, ProjectSchema]) -> dict[str, Any]:
    """The configuration as plain values, one collection per project in navigation order."""
    order = config.project_order(schemas)
    collections = []
    for name in order:
        schema = schemas[name]
        fields = [_field(s, schema, schemas) for s in schema.fields if editable(s)]
        fields.append({"name": "body", "label": "Notes", "widget": "markdown", "required": False})
        summary = "{{" + schema.title_field + "}}"
        if schema.list_field:
            summary += " · {{" + schema.list_field + "}}"
        collection: dict[str, Any] = {
            "name": name,
            "label": schema.title,
            "label_singular": str(schema.json_schema.get("x-crmgen", {}).get("label") or name),
            "folder": f"data/{name}",
            "extension": "md",
            "format": "yaml-frontmatter",
            "create": True,
            "slug": "{{slug}}",
            "identifier_field": schema.title_field,
            "summary": summary,
            "fields": fields,
        }
        description = schema.json_schema.get("description")
        if isinstance(description, str) and description.strip():
            collection["description"] = " ".join(description.split())
        collections.append(collection)
    return {
        "backend": {
            "name": "github",
            "repo": config.repository or "OWNER/NAME",
            "branch": config.branch,
        },
        "publish_mode": "editorial_workflow",
        "media_folder": config.attachments,
        "public_folder": config.attachments,
        "slug": {"encoding": "ascii", "clean_accents": True},
        "collections": collections,
    }


def decap_yaml(config: Config, schemas: Mapping[str, ProjectSchema]) -> str:
    """``admin/config.yml``: the configuration with a header saying where it comes from."""
    head = (
        "# Decap CMS configuration, made by `crmgen cms-config` from schema/ and crmgen.yml:\n"
        "# run it again after changing a schema instead of editing this file.\n"
        "# Every edit is a pull request (editorial workflow) that CI checks like any other.\n"
    )
    if not config.repository:
        head += "# crmgen.yml names no repository: replace OWNER/NAME below.\n"
    body = yaml.safe_dump(
        decap_config(config, schemas), sort_keys=False, allow_unicode=True, width=100
    )
    return head + body
