"""Who sees what: restricted fields, everything computed from them, and the cut dataset."""

from __future__ import annotations

from conftest import MakeRepo, record
from test_views import make_dataset

from crmgen.build import load_dataset
from crmgen.redaction import hidden_fields, redact


def test_computed_fields_reading_restricted_ones_are_hidden_too() -> None:
    hidden = hidden_fields(make_dataset(), None)
    assert ("opportunities", "profit") in hidden  # amount - cost
    assert ("opportunities", "margin") in hidden  # profit / amount: through profit
    assert ("opportunities", "client_secret") in hidden  # lookup of clients.secret_note
    assert ("clients", "partnered") in hidden  # referenced-by through the hidden partner
    assert ("opportunities", "client_email") not in hidden
    assert ("clients", "deals") not in hidden
    assert hidden_fields(make_dataset(), "managers") == frozenset()
    assert hidden_fields(make_dataset(), "staff") == hidden


def test_the_cut_dataset_holds_no_hidden_field_value_or_back_link() -> None:
    cut, problems = redact(make_dataset(), None)
    assert problems == [] and cut.audience == ""
    opps = cut.projects["opportunities"]
    names = [f.name for f in opps.schema.fields]
    assert "cost" not in names and "profit" not in names and "amount" in names
    assert "cost" not in opps.schema.json_schema.get("properties", {})
    web = opps.records["acme-web"]
    assert (
        "cost" not in web.values and "profit" not in web.computed and "partner" not in web.values
    )
    globex = cut.projects["clients"].records["globex"]
    assert globex.linked_from("opportunities") == ("big-win",)  # not acme-web, via partner
    assert ("opportunities", "profit") not in cut.reads


def test_an_undeclared_audience_is_a_usage_error_with_a_hint() -> None:
    dataset = make_dataset()
    cut, problems = redact(dataset, "manager")
    assert cut is dataset
    assert [(d.code, d.message) for d in problems] == [
        ("usage-audience", "--audience 'manager' is not declared in crmgen.yml under "
         "audiences; did you mean 'managers'?"),
    ]  # fmt: skip
    assert redact(dataset, "interns")[1][0].message.endswith("declared: staff, managers")


RESTRICTED_CLIENTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  cheap_deals: {x-crmgen: {type: rollup, rollup: "count(opportunities where cost < 100)"}}
  sourced: {x-crmgen: {type: rollup, rollup: "count(opportunities)"}}
  deals_count: {x-crmgen: {type: formula, formula: "len(deals)"}}
  deals: {x-crmgen: {type: referenced-by, project: opportunities, field: client}}
  via_lookup: {x-crmgen: {type: lookup, path: deals.title}}
  total: {x-crmgen: {type: rollup, rollup: "sum(opportunities.amount)"}}
"""
RESTRICTED_OPPS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  finder: {type: string, x-crmgen: {type: reference, project: clients, audiences: [managers]}}
  amount: {type: number, x-crmgen: {type: currency}}
  cost: {type: number, x-crmgen: {type: currency, audiences: [managers]}}
  margin_ok: {x-crmgen: {type: formula, formula: "if(cost < amount, true, false)"}}
"""


def test_a_field_reading_a_restricted_one_only_in_a_condition_or_a_count_is_restricted(
    make_repo: MakeRepo,
) -> None:
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities]\naudiences: [{name: managers}]\n",
            "schema/clients.schema.yaml": RESTRICTED_CLIENTS,
            "schema/opportunities.schema.yaml": RESTRICTED_OPPS,
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/a.md": record("title: A\nclient: acme\nfinder: acme\ncost: 50"),
        }
    )
    dataset = load_dataset(root)
    assert dataset.problems == ()
    hidden = hidden_fields(dataset, None)
    # cost only in the condition of a count: the count still tells how many deals are cheap
    assert ("clients", "cheap_deals") in hidden
    # a count or sum over back-links through all references: the hidden 'finder' is one
    assert ("clients", "sourced") in hidden
    assert ("clients", "total") in hidden
    # cost only in the condition of if()
    assert ("opportunities", "margin_ok") in hidden
    # through visible references and visible fields only: shown
    for shown in ("deals", "deals_count", "via_lookup"):
        assert ("clients", shown) not in hidden, shown
    assert hidden_fields(dataset, "managers") == frozenset()
    cut, _ = redact(dataset, None)
    acme = cut.record("clients", "acme")
    assert acme is not None
    assert "cheap_deals" not in acme.computed and "sourced" not in acme.computed
    assert acme.computed["deals"] == ("opportunities/a",)
    assert dict(acme.backlinks["opportunities"]) == {"client": ("a",)}  # not via finder


CUT_CLIENTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  where: {type: object, properties: {city: {type: string}}, x-crmgen: {type: address}}
"""
CUT_OPPS = """\
type: object
required: [title, cost, notes]
x-crmgen: {title: title}
properties:
  title: {type: string}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  finder: {type: string, x-crmgen: {type: reference, project: clients, audiences: [managers]}}
  cost: {type: number, x-crmgen: {type: currency, audiences: [managers]}}
  notes: {type: array, items: {type: string}, x-crmgen: {type: tags, audiences: [managers]}}
  client_title: {x-crmgen: {type: lookup, path: client.title}}
"""


def test_the_cut_holds_no_hidden_name_in_schemas_positions_back_links_or_reads(
    make_repo: MakeRepo,
) -> None:
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities]\naudiences: [{name: managers}]\n",
            "schema/clients.schema.yaml": CUT_CLIENTS,
            "schema/opportunities.schema.yaml": CUT_OPPS,
            "data/clients/acme.md": record("title: Acme\nwhere: {city: Cork}"),
            "data/clients/scout.md": record("title: Scout"),
            "data/opportunities/a.md": record(
                "title: A\nclient: acme\nfinder: scout\ncost: 5\nnotes:\n  - x\n  - y"
            ),
        }
    )
    dataset = load_dataset(root)
    assert [d for d in dataset.diagnostics if d.severity != "info"] == []
    cut, _ = redact(dataset, None)
    schema = cut.projects["opportunities"].schema
    assert list(schema.json_schema["properties"]) == ["title", "client", "client_title"]
    assert list(schema.json_schema["required"]) == ["title"]
    a = cut.record("opportunities", "a")
    assert a is not None
    assert sorted(a.positions) == ["client", "title"]
    assert sorted(a.value_positions) == ["client", "title"]
    # scout is referenced only through the hidden finder: its project hides nothing itself,
    # and still its back-link goes
    scout = cut.record("clients", "scout")
    assert scout is not None and dict(scout.backlinks) == {}
    acme = cut.record("clients", "acme")
    assert acme is not None and acme is dataset.record("clients", "acme")  # nothing to cut
    assert sorted(acme.value_positions) == ["title", "where", "where/city"]
    assert dict(cut.reads) == {
        ("opportunities", "client_title"): {("opportunities", "client"), ("clients", "title")}
    }
    # the managers see it all
    full, _ = redact(dataset, "managers")
    assert list(full.projects["opportunities"].schema.json_schema["required"]) == [
        "title", "cost", "notes"
    ]  # fmt: skip


def test_an_audience_when_none_is_declared_is_a_usage_error(make_repo: MakeRepo) -> None:
    dataset = load_dataset(make_repo())
    cut, problems = redact(dataset, "managers")
    assert cut is dataset
    assert [(d.code, d.message) for d in problems] == [
        ("usage-audience", "--audience 'managers' is not declared in crmgen.yml under "
         "audiences; crmgen.yml declares none"),
    ]  # fmt: skip
