"""``crmgen cms-config``: the Decap CMS configuration, checked against Decap's own config
schema (``tests/cms/``: vendored from decap-cms-core 3.19.1, MIT), and the Front Matter CMS
configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft7Validator

from crmgen.cli import main
from crmgen.cms.decap import decap_config
from crmgen.cms.frontmatter import frontmatter_config
from crmgen.config import load_config
from crmgen.scaffold import scaffold_files, write_scaffold
from crmgen.schema import load_schemas

EXAMPLE = Path(__file__).parent.parent
DECAP_SCHEMA = json.loads((Path(__file__).parent / "cms/decap-config.schema.json").read_text())
COMPUTED = ("lookup", "formula", "rollup", "referenced-by")


def _decap_problems(config: dict[str, Any]) -> list[str]:
    """What Decap's ``validateConfig`` says of a configuration: its schema, and the
    ``uniqueItemProperties`` rule (field and collection names unique) that Ajv adds."""
    found = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(DECAP_SCHEMA).iter_errors(config)
    ]

    def unique(items: list[dict[str, Any]], where: str) -> None:
        names = [i.get("name") for i in items]
        if len(names) != len(set(names)):
            found.append(f"{where}: names must be unique")
        for item in items:
            if isinstance(item.get("fields"), list):
                unique(item["fields"], f"{where}/{item.get('name')}")

    unique(config.get("collections", []), "collections")
    return found


def _setup(root: Path) -> tuple[Any, Any]:
    config, _ = load_config(root)
    schemas, _ = load_schemas(root, config)
    return config, schemas


@pytest.mark.parametrize("repo", ["example", "scaffold"])
def test_decap_config_is_valid_for_decap(repo: str, tmp_path: Path) -> None:
    root = EXAMPLE
    if repo == "scaffold":
        root = tmp_path / "scaffold"
        write_scaffold(root, scaffold_files())
    config, schemas = _setup(root)
    made = yaml.safe_load(yaml.safe_dump(decap_config(config, schemas)))  # as Decap reads it
    assert _decap_problems(made) == []
    assert made["publish_mode"] == "editorial_workflow"


def test_the_schema_check_can_fail() -> None:
    config, schemas = _setup(EXAMPLE)
    made = decap_config(config, schemas)
    broken = json.loads(json.dumps(made))
    broken["collections"][0]["fields"][0] = {"name": "x", "widget": "relation"}
    broken["collections"][1]["fields"].append(dict(broken["collections"][1]["fields"][0]))
    del broken["media_folder"]
    problems = _decap_problems(broken)
    assert any("is not valid under any of the given schemas" in p for p in problems)
    assert any("names must be unique" in p for p in problems)
    assert any("is not valid under any of the given schemas" in p and p.startswith(": ")
               for p in problems)  # fmt: skip  # media_folder or media_library


def test_decap_fields_follow_the_schema() -> None:
    config, schemas = _setup(EXAMPLE)
    made = decap_config(config, schemas)
    assert made["backend"] == {"name": "github", "repo": "northwind-studio/crm", "branch": "main"}
    assert made["media_folder"] == made["public_folder"] == "files"
    by_name = {c["name"]: c for c in made["collections"]}
    assert list(by_name) == list(config.projects)
    deals = {f["name"]: f for f in by_name["opportunities"]["fields"]}
    opportunities = schemas["opportunities"]
    stored = [f.name for f in opportunities.fields if f.type not in COMPUTED]
    assert list(deals) == [*stored, "body"]  # computed fields are never editable
    assert deals["list"]["widget"] == "select" and deals["list"]["options"][0] == "Unqualified"
    assert deals["list"]["default"] == "Unqualified" and deals["list"]["required"] is False
    assert deals["title"]["required"] is True
    assert deals["tags"] == {**deals["tags"], "widget": "select", "multiple": True}
    assert deals["client"] == {
        **deals["client"],
        "widget": "relation",
        "collection": "clients",
        "value_field": "{{slug}}",
        "search_fields": ["title"],
    }
    assert deals["amount"]["widget"] == "number" and deals["amount"]["min"] == 0
    assert deals["expected_close"]["format"] == "YYYY-MM-DD"
    assert "managers" in deals["cost"]["hint"]  # restricted: editable, and says so
    clients = {f["name"]: f for f in by_name["clients"]["fields"]}
    assert clients["email"]["pattern"][0].startswith("^")
    assert clients["source"]["options"][0] == "Referral"
    assert clients["body"]["widget"] == "markdown"


def test_frontmatter_config() -> None:
    config, schemas = _setup(EXAMPLE)
    made = frontmatter_config(config, schemas)
    folders = made["frontMatter.content.pageFolders"]
    assert folders[0] == {
        "title": "Clients",
        "path": "[[workspace]]/data/clients",
        "contentTypes": ["clients"],
    }
    types = {t["name"]: {f["name"]: f for f in t["fields"]} for t in made[
        "frontMatter.taxonomy.contentTypes"]}  # fmt: skip
    known = {"string", "number", "datetime", "boolean", "choice", "list", "file",
             "contentRelationship"}  # fmt: skip
    for fields in types.values():
        assert {f["type"] for f in fields.values()} <= known
    deals = types["opportunities"]
    assert deals["client"]["type"] == "contentRelationship"
    assert deals["client"]["contentTypeName"] == "clients"
    assert deals["list"]["choices"][0] == "Unqualified"
    assert deals["expected_close"]["dateFormat"] == "yyyy-MM-dd"
    assert "profit" not in deals and "weighted_amount" not in deals


def test_cli_writes_both_and_checks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for name in ("schema", "data"):
        shutil.copytree(EXAMPLE / name, root / name)
    shutil.copy(EXAMPLE / "crmgen.yml", root / "crmgen.yml")
    runner = CliRunner()
    assert runner.invoke(main, ["cms-config", str(root), "--check"]).exit_code == 1
    done = runner.invoke(main, ["cms-config", str(root)])
    assert done.exit_code == 0 and done.stdout == "admin/config.yml\nfrontmatter.json\n"
    assert yaml.safe_load((root / "admin/config.yml").read_text())["collections"]
    assert json.loads((root / "frontmatter.json").read_text())["frontMatter.framework.id"]
    assert runner.invoke(main, ["cms-config", str(root), "--check"]).exit_code == 0
