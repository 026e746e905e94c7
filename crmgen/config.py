"""Stage: ``crmgen.yml`` -> ``Config``.

Unknown keys are warnings at their line (a typo must not silently do nothing); wrong
values are errors. A missing file gives the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import babel
from jsonschema import Draft202012Validator

from crmgen import messages, yamlstrict
from crmgen.model import Config, Diagnostic, Pos, error, frozen_map, warning
from crmgen.sources import DEFAULT_MAX_SIZE, read_text

FILE = "crmgen.yml"

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "locale": {"type": "string", "pattern": "^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$"},
        "projects": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
            "uniqueItems": True,
        },
        "attachments": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"},
        "max_file_size": {"type": "integer", "minimum": 1024},
        "base_url": {"type": "string"},
        "audiences": {"type": "object"},
        "automations": {"type": "object"},
        "dashboards": {"type": "array"},
    },
}
KNOWN = frozenset(CONFIG_SCHEMA["properties"])


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
        diags.append(
            error("config", messages.describe(err, name), path, doc.value_pos(where), name or None)
        )
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

    def get(key: str, default: Any) -> Any:
        return default if key in bad or data.get(key) is None else data[key]

    config = Config(
        title=get("title", "CRM"),
        currency=get("currency", "USD"),
        locale="en_US" if "locale" in bad else locale,
        projects=tuple(get("projects", ())),
        attachments="files" if "attachments" in bad else attachments,
        max_file_size=get("max_file_size", DEFAULT_MAX_SIZE),
        base_url=get("base_url", "/"),
        dashboards=tuple(get("dashboards", ())),
        audiences=frozen_map(get("audiences", {})),
        automations=frozen_map(get("automations", {})),
        positions=frozen_map(doc.keyed_positions()),
        path=path,
        raw=frozen_map(data),
    )
    return config, diags


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
    text, diags = read_text(root, file)
    if text is None:
        return Config(), diags
    config, more = parse_config(text)
    return config, diags + more
