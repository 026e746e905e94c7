from __future__ import annotations

import dataclasses

from conftest import OPPS_SCHEMA, MakeRepo

from crmgen.config import load_config
from crmgen.model import Config
from crmgen.schema import load_schemas, parse_schema


def test_valid_schema_gives_fields_lists_tags() -> None:
    schema, diags = parse_schema("opportunities", OPPS_SCHEMA, "schema/o.schema.yaml")
    assert diags == []
    assert schema is not None
    assert [ls.name for ls in schema.lists][:2] == ["Lead", "Proposal sent"]
    assert schema.tags == ("branding", "website", "seo")
    assert schema.list_field == "list"
    client = schema.field("client")
    assert client is not None and client.type == "reference" and client.target == "clients"
    profit = schema.field("profit")
    assert profit is not None and profit.computed and profit.expression == "amount - cost"


def test_meta_schema_errors_are_at_their_line() -> None:
    text = OPPS_SCHEMA.replace("x-crmgen: {type: rating}", "x-crmgen: {type: stars}").replace(
        "kind: won", "kind: win"
    )
    schema, diags = parse_schema("opportunities", text, "schema/o.schema.yaml")
    assert schema is None
    found = sorted((d.line, d.message) for d in diags)
    assert found[0][0] == 11
    assert "kind must be one of" in found[0][1] and "did you mean 'won'?" in found[0][1]
    assert found[1][0] == 23
    assert 'got "stars"' in found[1][1]


def test_cross_project_checks(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "schema/clients.schema.yaml": "$schema: https://json-schema.org/draft/"
            "2020-12/schema\ntype: object\nx-crmgen: {title: name}\nproperties:\n"
            "  title: {type: string}\n  boss: {type: string, x-crmgen: {type: "
            "reference, project: peoples}}\n  n: {type: string, x-crmgen: {type: "
            "currency}}\n"
        }
    )
    _, diags = load_schemas(root, Config(projects=("clients", "opportunities")))
    messages = [d.message for d in diags]
    assert any("title field 'name' is not a property" in m for m in messages)
    assert any("project 'peoples' does not exist" in m for m in messages)
    assert any("a currency field cannot be stored as text" in m for m in messages)


def test_missing_schema_is_reported(make_repo: MakeRepo) -> None:
    root = make_repo()
    config, _ = load_config(root)
    config = dataclasses.replace(config, projects=("clients", "invoices"))
    _, diags = load_schemas(root, config)
    assert [(d.path, d.message) for d in diags] == [
        ("crmgen.yml", "project 'invoices' has no schema; create schema/invoices.schema.yaml"),
        ("schema/clients.schema.yaml", "deals: project 'opportunities' does not exist"),
    ]
