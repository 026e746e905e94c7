"""Stage: ``crmgen.yml`` -> ``Config``.

Unknown keys are warnings at their line (a typo must not silently do nothing); wrong
values are errors at the value. A missing file gives the defaults. ``audiences:`` declares who
a build may be for; ``dashboards:`` is kept as written (deeply frozen) for the dashboards stage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import babel
from jsonschema import Draft202012Validator

from crmgen import messages, yamlstrict
from crmgen.fields.attachments import DEFAULT_MAX_ATTACHMENT
from crmgen.model import AudienceSpec, Config, Diagnostic, Pos, error, freeze, frozen_map, warning
from crmgen.yamlstrict import DEFAULT_MAX_SIZE, read_source

FILE = "crmgen.yml"

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "x-hint": "a three-letter ISO 4217 code such as EUR, USD or GBP",
        },
        "locale": {"type": "string", "pattern": "^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$"},
        "projects": {
            "type": "array",
            "items": {
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9_-]*$",
                "x-hint": "a folder name of lower-case letters, digits, '-' and '_'",
            },
            "uniqueItems": True,
        },
        "attachments": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"},
        "max_file_size": {"type": "integer", "minimum": 1024},
        "max_attachment_size": {"type": "integer", "minimum": 1024},
        "base_url": {"type": "string"},
        "audiences": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]*$",
                        "x-hint": "a name of lower-case letters, digits, '-' and '_'",
                    },
                    "description": {"type": "string"},
                },
            },
        },
        "dashboards": {"type": "array"},
        "automations": {"type": "object"},
        "repository": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
            "x-hint": "owner/name of the repository on the forge, such as acme/crm",
        },
        "branch": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_./-]+$",
            "x-hint": "the branch the site is built from, such as main",
        },
        "forge": {
            "type": "string",
            "pattern": r"^https://[A-Za-z0-9.-]+(:[0-9]+)?$",
            "x-hint": "the forge's https address without a path, such as https://github.com",
        },
        "publish": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"audience": {"type": "string"}},
        },
    },
}
KNOWN = frozenset(CONFIG_SCHEMA["properties"])
#: Folders of the site that crmgen writes itself; no project may be called like them.
SITE_FOLDERS = frozenset({"assets", "dashboards", "search", "feeds", "alerts", "forms"})
_AUDIENCE_NAME = re.compile(
    CONFIG_SCHEMA["properties"]["audiences"]["items"]["properties"]["name"]["pattern"]
)


def parse_config(text: str, path: str = FILE) -> tuple[Config, list[Diagnostic]]:
    """Parse the text of ``crmgen.yml``."""
    doc, diags = yamlstrict.parse(text, path)
    if doc is None:
        return Config(path=path), diags
    data = doc.value if doc.value is not None else {}
    if not isinstance(data, dict):
        return Config(path=path), [
            *diags,
            error("config-shape", "crmgen.yml must be a mapping of settings", path, Pos(1)),
        ]
    validator = Draft202012Validator(CONFIG_SCHEMA)
    bad: set[str] = set()
    for err in validator.iter_errors(data):
        where = tuple(err.absolute_path)
        bad.add(str(where[0]) if where else "")
        name = ".".join(str(p) for p in where)
        pos = doc.pos(where) if err.validator == "additionalProperties" else doc.value_pos(where)
        diags.append(error("config", messages.describe(err, name), path, pos, name or None))
    for key in data:
        if key not in KNOWN:
            diags.append(
                warning(
                    "config-unknown-key",
                    f"unknown setting '{key}' is ignored"
                    f"{messages.did_you_mean(key, KNOWN) or '; remove it'}",
                    path,
                    doc.pos((key,)),
                    key,
                )
            )
    locale = str(data.get("locale", "en_US")).replace("-", "_")
    if "locale" not in bad:
        try:
            babel.Locale.parse(locale)
        except (ValueError, babel.UnknownLocaleError):
            diags.append(
                error(
                    "config",
                    f"locale '{locale}' is unknown; use a code like en_GB or de_DE",
                    path,
                    doc.value_pos(("locale",)),
                    "locale",
                )
            )
            bad.add("locale")
    attachments = str(data.get("attachments", "files")).strip("/")
    if "attachments" not in bad and (
        ".." in attachments.split("/") or attachments.split("/")[0].startswith(".git")
    ):
        diags.append(
            error(
                "config",
                "attachments must be a folder inside the repository",
                path,
                doc.value_pos(("attachments",)),
                "attachments",
            )
        )
        bad.add("attachments")

    for index, name in enumerate(data.get("projects") or () if "projects" not in bad else ()):
        taken = {*SITE_FOLDERS, attachments.split("/")[0]}
        if name in taken:
            diags.append(
                error(
                    "config",
                    f"project '{name}' would share its folder of the site with crmgen's own "
                    f"pages or the attachments; rename it (the names {', '.join(sorted(taken))} "
                    "are taken)",
                    path,
                    doc.value_pos(("projects", index)),
                    "projects",
                )
            )
            bad.add("projects")

    def get(key: str, default: Any) -> Any:
        return default if key in bad or data.get(key) is None else data[key]

    audiences = _audiences(data.get("audiences"), doc, path, diags)
    publish = _publish_audience(get("publish", {}), audiences, doc, path, diags)

    config = Config(
        title=get("title", "CRM"),
        currency=get("currency", "USD"),
        locale="en_US" if "locale" in bad else locale,
        projects=tuple(get("projects", ())),
        attachments="files" if "attachments" in bad else attachments,
        max_file_size=get("max_file_size", DEFAULT_MAX_SIZE),
        max_attachment_size=get("max_attachment_size", DEFAULT_MAX_ATTACHMENT),
        base_url=get("base_url", "/"),
        audiences=audiences,
        publish_audience=publish,
        dashboards=freeze(data["dashboards"]) if "dashboards" in data else None,
        automations=freeze(get("automations", None)),
        repository=get("repository", ""),
        branch=get("branch", "main"),
        forge=get("forge", "https://github.com"),
        positions=frozen_map(doc.keyed_positions()),
        value_positions=frozen_map(doc.keyed_value_positions()),
        path=path,
    )
    return config, diags


def _audiences(
    raw: Any, doc: yamlstrict.YamlDoc, path: str, diags: list[Diagnostic]
) -> tuple[AudienceSpec, ...]:
    """The declared audiences that are well formed (the schema check reported the others); a
    name declared twice is an error at the second."""
    found: list[AudienceSpec] = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _AUDIENCE_NAME.fullmatch(name):
            continue
        if any(a.name == name for a in found):
            diags.append(
                error(
                    "config",
                    f"audience '{name}' is declared twice; keep one",
                    path,
                    doc.value_pos(("audiences", index, "name")),
                    "audiences",
                )
            )
            continue
        pos = doc.pos(("audiences", index))
        found.append(AudienceSpec(name, str(item.get("description") or ""), pos))
    return tuple(found)


def _publish_audience(
    raw: dict[str, Any],
    audiences: tuple[AudienceSpec, ...],
    doc: yamlstrict.YamlDoc,
    path: str,
    diags: list[Diagnostic],
) -> str | None:
    """``publish.audience``: the audience of the published site (None: the most restricted);
    an audience ``audiences:`` does not declare is an error at the value."""
    name = raw.get("audience")
    if name is None or any(a.name == name for a in audiences):
        return name
    declared = [a.name for a in audiences]
    hint = messages.did_you_mean(name, declared) or (
        f"; declared: {', '.join(declared)}" if declared else "; crmgen.yml declares none"
    )
    diags.append(
        error(
            "config",
            f"publish.audience '{name}' is not declared under audiences{hint}",
            path,
            doc.value_pos(("publish", "audience")),
            "publish.audience",
        )
    )
    return None


def load_config(root: Path) -> tuple[Config, list[Diagnostic]]:
    """Read ``crmgen.yml`` at the root of the data repo (defaults when absent)."""
    file = root / FILE
    if not file.exists():
        return Config(), [
            warning(
                "config-missing",
                f"no {FILE} found; using defaults (create one to set "
                "the title, currency and projects)",
                FILE,
            )
        ]
    text, diags = read_source(root, file)
    if text is None:
        return Config(), diags
    config, more = parse_config(text)
    return config, diags + more
