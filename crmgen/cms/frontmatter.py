"""A Front Matter CMS configuration (``frontmatter.json``) for the data repo: a content type
per project with its fields, and the project's folder as a page folder, so records can be
edited in a form inside VS Code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crmgen.model import Config, FieldSpec, ProjectSchema

from . import editable, hint
from .decap import _plain


def _field(spec: FieldSpec, schema: ProjectSchema) -> dict[str, Any]:
    stored = spec.schema
    kind = spec.type
    found: dict[str, Any] = {"title": spec.label, "name": spec.name}
    if kind in ("list", "select", "multi-select") or (kind == "tags" and schema.tags):
        options = [s.name for s in schema.lists] if kind == "list" else list(spec.options)
        if kind == "tags":
            options = list(schema.tags)
        found.update(type="choice", choices=_plain(options))
        if kind in ("multi-select", "tags"):
            found["multiple"] = True
    elif kind == "tags":
        found["type"] = "list"
    elif kind == "reference" and spec.target:
        found.update(
            type="contentRelationship",
            contentTypeName=spec.target,
            contentTypeValue="slug",
            multiple=spec.multiple,
        )
    elif kind in ("number", "percent", "currency", "rating"):
        bounds: dict[str, Any] = {
            "isDecimal": not (stored.get("type") == "integer" or kind == "rating")
        }
        low, high = stored.get("minimum"), stored.get("maximum")
        if kind == "rating":
            low, high = 0 if low is None else low, 5 if high is None else high
        if low is not None:
            bounds["min"] = _plain(low)
        if high is not None:
            bounds["max"] = _plain(high)
        found.update(type="number", numberOptions=bounds)
    elif kind == "date":
        found.update(type="datetime", dateFormat="yyyy-MM-dd")
    elif kind == "checkbox":
        found["type"] = "boolean"
    elif kind == "file":
        found.update(type="file", multiple=spec.multiple)
    elif kind in ("long-text", "address"):
        found.update(type="string", multiline=True)
    else:
        found["type"] = "string"
    found["required"] = spec.required and "default" not in stored
    if "default" in stored:
        found["default"] = _plain(stored["default"])
    text = hint(spec)
    if text:
        found["description"] = text
    return found


def frontmatter_config(config: Config, schemas: Mapping[str, ProjectSchema]) -> dict[str, Any]:
    order = config.project_order(schemas)
    return {
        "$schema": "https://frontmatter.codes/frontmatter.schema.json",
        "frontMatter.framework.id": "other",
        "frontMatter.content.publicFolder": config.attachments,
        "frontMatter.content.pageFolders": [
            {
                "title": schemas[name].title,
                "path": f"[[workspace]]/data/{name}",
                "contentTypes": [name],
            }
            for name in order
        ],
        "frontMatter.taxonomy.contentTypes": [
            {
                "name": name,
                "pageBundle": False,
                "previewPath": None,
                "fields": [_field(s, schemas[name]) for s in schemas[name].fields if editable(s)],
            }
            for name in order
        ],
    }


def frontmatter_json(config: Config, schemas: Mapping[str, ProjectSchema]) -> str:
    return json.dumps(frontmatter_config(config, schemas), ensure_ascii=False, indent=2) + "\n"
