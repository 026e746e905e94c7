"""Lookups (chains, through lookups, multiple), formulas, rollups, cycles, per-record errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import MakeRepo, record

from crmgen.build import load_dataset

THREE = """\
$schema: https://json-schema.org/draft/2020-12/schema
type: object
required: [title]
additionalProperties: false
x-crmgen: {title: title}
properties:
  title: {type: string}
  opportunity: {type: string, x-crmgen: {type: reference, project: opportunities}}
  deals: {type: array, items: {type: string}, x-crmgen: {type: reference, project: opportunities}}
  client_email: {x-crmgen: {type: lookup, path: opportunity.client.email}}
  client_email2: {x-crmgen: {type: lookup, path: opportunity.client_email}}
  amounts: {x-crmgen: {type: lookup, path: deals.amount}}
  total: {x-crmgen: {type: formula, formula: "sum(deals.amount)", result: currency}}
  best: {x-crmgen: {type: rollup, rollup: "max(deals.amount)", result: currency}}
  names: {x-crmgen: {type: rollup, rollup: "concat(deals.title)"}}
"""


def _repo(make_repo: MakeRepo) -> MakeRepo:
    def make(extra: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
        files: dict[str, str | None] = {
            "crmgen.yml": "projects: [clients, opportunities, delivery]\n",
            "schema/delivery.schema.yaml": THREE,
            "data/clients/acme.md": record("title: Acme\nemail: a@acme.example\nsize: large"),
            "data/clients/globex.md": record("title: Globex\nemail: g@globex.example"),
            "data/opportunities/won1.md": record(
                "title: W1\nlist: Closed won\nclient: acme\namount: 100.10\ncost: 40"
            ),
            "data/opportunities/won2.md": record(
                "title: W2\nlist: Closed won\nclient: acme\namount: 0.2\ncost: 0.1"
            ),
            "data/opportunities/open1.md": record(
                "title: O1\nlist: Proposal sent\nclient: acme\namount: 1000"
            ),
            "data/opportunities/lost1.md": record(
                "title: L1\nlist: Closed lost\nclient: globex\namount: 5000"
            ),
            "data/delivery/d1.md": record("title: D1\nopportunity: won1\ndeals: [won1, won2]"),
        }
        files.update(extra or {})
        return make_repo(files)

    return make


def test_lookups_formulas_rollups(make_repo: MakeRepo, today: dt.date) -> None:
    ds = load_dataset(_repo(make_repo)(), today=today)
    assert ds.errors == ()
    acme = ds.record("clients", "acme")
    assert acme is not None
    assert acme.computed["ltv"] == Decimal("100.30")  # exact: 100.10 + 0.2
    assert acme.computed["open_count"] == 1
    assert acme.computed["deals"] == (
        "opportunities/open1",
        "opportunities/won1",
        "opportunities/won2",
    )
    assert acme.linked_from("opportunities") == ("open1", "won1", "won2")
    won1 = ds.record("opportunities", "won1")
    assert won1 is not None
    assert won1.computed["profit"] == Decimal("60.10")
    assert won1.computed["weighted"] == Decimal("100.10")
    assert won1.computed["client_email"] == "a@acme.example"
    assert won1.computed["client_size"] == "large"
    open1 = ds.record("opportunities", "open1")
    assert open1 is not None and open1.computed["weighted"] == Decimal("500.0")
    assert open1.computed["profit"] is None  # no cost: unknown, not amount
    d1 = ds.record("delivery", "d1")
    assert d1 is not None
    assert d1.computed["client_email"] == "a@acme.example"  # chain of references
    assert d1.computed["client_email2"] == "a@acme.example"  # lookup of a lookup
    assert d1.computed["amounts"] == (Decimal("100.10"), Decimal("0.2"))
    assert d1.computed["total"] == Decimal("100.30")
    assert d1.computed["best"] == Decimal("100.10")
    assert d1.computed["names"] == "W1, W2"


def test_result_types_are_inferred_for_the_site(make_repo: MakeRepo, today: dt.date) -> None:
    ds = load_dataset(_repo(make_repo)(), today=today)
    schema = ds.projects["delivery"].schema
    assert schema.field("client_email") is not None
    assert schema.field("client_email").result == "email"  # type: ignore[union-attr]
    assert schema.field("best").result == "currency"  # type: ignore[union-attr]
    assert schema.field("names").result == "text"  # type: ignore[union-attr]


def test_division_by_zero_is_a_record_diagnostic(make_repo: MakeRepo, today: dt.date) -> None:
    schema = THREE.replace(
        "  names:",
        '  ratio: {x-crmgen: {type: formula, formula: "1 / (len(title) - 2)"}}\n  names:',
    )
    ds = load_dataset(_repo(make_repo)({"schema/delivery.schema.yaml": schema}), today=today)
    problems = [d for d in ds.errors if d.field == "ratio"]
    assert len(problems) == 1
    assert problems[0].path == "data/delivery/d1.md"
    assert "division by zero" in problems[0].message
    assert problems[0].message.startswith("ratio: ")


def test_cycle_is_reported_with_its_path(make_repo: MakeRepo, today: dt.date) -> None:
    schema = THREE.replace(
        "  names:",
        '  a: {x-crmgen: {type: formula, formula: "b + 1"}}\n'
        '  b: {x-crmgen: {type: formula, formula: "c + 1"}}\n'
        '  c: {x-crmgen: {type: formula, formula: "a + 1"}}\n  names:',
    )
    ds = load_dataset(_repo(make_repo)({"schema/delivery.schema.yaml": schema}), today=today)
    cycles = [d for d in ds.errors if d.code == "cycle"]
    assert len(cycles) == 1
    assert "delivery.a -> delivery.b -> delivery.c -> delivery.a" in cycles[0].message
    assert cycles[0].path == "schema/delivery.schema.yaml"
    assert cycles[0].line == 15


def test_unknown_names_are_schema_errors_at_their_line(
    make_repo: MakeRepo, today: dt.date
) -> None:
    schema = THREE.replace(
        "  names:",
        '  bad: {x-crmgen: {type: formula, formula: "amout * 2"}}\n'
        "  bad2: {x-crmgen: {type: lookup, path: opportunity.clent.email}}\n"
        "  bad3: {x-crmgen: {type: lookup, path: title.foo}}\n"
        '  bad4: {x-crmgen: {type: rollup, rollup: "sum(invoices.amount)"}}\n  names:',
    )
    ds = load_dataset(_repo(make_repo)({"schema/delivery.schema.yaml": schema}), today=today)
    by_field = {d.field: d for d in ds.errors}
    assert "'amout' is not a field of delivery" in by_field["bad"].message
    assert by_field["bad"].line == 15
    assert "did you mean 'client'?" in by_field["bad2"].message
    assert "is a text field, not a reference" in by_field["bad3"].message
    assert "neither a reference field of delivery nor a project" in by_field["bad4"].message


SEMANTICS_CLIENTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  deals: {x-crmgen: {type: referenced-by, project: opportunities, field: client}}
  partnered: {x-crmgen: {type: referenced-by, project: opportunities, field: partner}}
  every_link: {x-crmgen: {type: referenced-by, project: opportunities}}
  deal_titles: {x-crmgen: {type: lookup, path: deals.title}}
  partner_amounts: {x-crmgen: {type: lookup, path: partnered.amount}}
  big: {x-crmgen: {type: rollup, rollup: "count(opportunities where amount > 500)"}}
  big_sum: {x-crmgen: {type: rollup, rollup: "sum(opportunities.amount where amount > 500)"}}
  not_big: {x-crmgen: {type: rollup, rollup: "count(opportunities where not (amount > 500))"}}
  all_deals: {x-crmgen: {type: rollup, rollup: "count(opportunities)"}}
"""
SEMANTICS_OPPS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  partner: {type: string, x-crmgen: {type: reference, project: clients}}
  amount: {type: number, x-crmgen: {type: currency}}
"""


def _semantics(make_repo: MakeRepo, today: dt.date):  # type: ignore[no-untyped-def]
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities]\n",
            "schema/clients.schema.yaml": SEMANTICS_CLIENTS,
            "schema/opportunities.schema.yaml": SEMANTICS_OPPS,
            "data/clients/acme.md": record("title: Acme"),
            "data/clients/globex.md": record("title: Globex"),
            "data/opportunities/a.md": record("title: A\nclient: acme\namount: 1000"),
            "data/opportunities/b.md": record("title: B\nclient: acme\namount: 100"),
            "data/opportunities/c.md": record("title: C\nclient: acme"),  # no amount at all
            "data/opportunities/d.md": record(
                "title: D\nclient: globex\npartner: acme\namount: 700"
            ),
        }
    )
    dataset = load_dataset(root, today=today)
    assert dataset.diagnostics == ()
    return dataset


def test_a_rollup_condition_that_is_null_leaves_the_record_out(
    make_repo: MakeRepo, today: dt.date
) -> None:
    acme = _semantics(make_repo, today).record("clients", "acme")
    assert acme is not None
    # a rollup over a project follows every reference field that points here (all_deals below
    # counts d, which names acme as partner), so the big ones are a and d; c has no amount:
    # "amount > 500" is null for it, so it is not big
    assert acme.computed["big"] == 2  # a and d
    assert acme.computed["big_sum"] == 1700
    # ... but "not" reads null as false (docs/formulas.md), so c counts as "not big"
    assert acme.computed["not_big"] == 2  # b and c
    assert acme.computed["all_deals"] == 4  # a, b, c through client, d through partner


def test_referenced_by_follows_its_own_reference_field(
    make_repo: MakeRepo, today: dt.date
) -> None:
    dataset = _semantics(make_repo, today)
    acme, globex = dataset.record("clients", "acme"), dataset.record("clients", "globex")
    assert acme is not None and globex is not None
    assert acme.computed["deals"] == ("opportunities/a", "opportunities/b", "opportunities/c")
    assert acme.computed["partnered"] == ("opportunities/d",)
    assert acme.computed["every_link"] == (
        "opportunities/a", "opportunities/b", "opportunities/c", "opportunities/d",
    )  # fmt: skip
    assert globex.computed["deals"] == ("opportunities/d",) and globex.computed["partnered"] == ()


def test_lookups_go_through_referenced_by_fields(make_repo: MakeRepo, today: dt.date) -> None:
    dataset = _semantics(make_repo, today)
    acme = dataset.record("clients", "acme")
    assert acme is not None
    assert acme.computed["deal_titles"] == ("A", "B", "C")
    assert acme.computed["partner_amounts"] == (700,)
    schema = dataset.projects["clients"].schema
    assert dataset.reads[("clients", "deal_titles")] == {
        ("clients", "deals"),
        ("opportunities", "title"),
    }
    assert dataset.reads[("clients", "deals")] == {("opportunities", "client")}
    assert dataset.reads[("clients", "every_link")] == {
        ("opportunities", "client"),
        ("opportunities", "partner"),
    }
    assert dataset.reads[("clients", "all_deals")] == {
        ("opportunities", "client"),
        ("opportunities", "partner"),
    }
    assert schema.field("deal_titles") is not None


RESULTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  closed: {type: string, format: date, x-crmgen: {type: date}}
  amount: {type: number, x-crmgen: {type: currency}}
  flag: {type: boolean, x-crmgen: {type: checkbox}}
  labels: {type: array, items: {type: string}, x-crmgen: {type: multi-select}}
  partner: {type: string, x-crmgen: {type: reference, project: deals}}
  got_text: {x-crmgen: {type: formula, formula: "if(flag, amount, title)", result: currency}}
  got_bool: {x-crmgen: {type: formula, formula: "if(flag, amount, flag)", result: number}}
  got_date: {x-crmgen: {type: formula, formula: "if(flag, amount, closed)", result: percent}}
  got_list: {x-crmgen: {type: formula, formula: "if(flag, amount, labels)", result: currency}}
  got_number: {x-crmgen: {type: formula, formula: "if(flag, closed, amount)", result: date}}
  not_bool: {x-crmgen: {type: formula, formula: "if(flag, flag, closed)", result: checkbox}}
  via_partner:
    x-crmgen: {type: formula, formula: 'if(partner.title = "D", partner.title, 1)', result: number}
  maybe_null: {x-crmgen: {type: formula, formula: "if(flag, amount, null)", result: currency}}
  bad_day: {x-crmgen: {type: formula, formula: "date(2025, 2, 30)"}}
"""


def test_a_value_that_does_not_fit_its_result_is_a_record_error_at_its_first_input(
    make_repo: MakeRepo, today: dt.date
) -> None:
    # if() of two kinds cannot be checked at the schema: each record's value is checked
    root = make_repo(
        {
            "crmgen.yml": "projects: [deals]\n",
            "schema/deals.schema.yaml": RESULTS,
            "data/deals/d.md": record(
                "labels: [a, b]\nclosed: 2026-01-05\ntitle: D\namount: 100\nflag: false\n"
                "partner: d"
            ),
        }
    )
    dataset = load_dataset(root, today=today)
    found = {d.field: (d.code, d.message, d.path, d.line, d.col) for d in dataset.diagnostics}
    path = "data/deals/d.md"
    assert found == {
        "got_text": (
            "formula-error",
            "got_text: the result must be a number but is text "
            "(in formula 'if(flag, amount, title)')",
            path, 4, 1,  # title, the earliest of flag (6), amount (5) and title (4)
        ),
        "got_bool": (
            "formula-error",
            "got_bool: the result must be a number but is true/false "
            "(in formula 'if(flag, amount, flag)')",
            path, 5, 1,
        ),
        "got_date": (
            "formula-error",
            "got_date: the result must be a number but is a date "
            "(in formula 'if(flag, amount, closed)')",
            path, 3, 1,
        ),
        "got_list": (
            "formula-error",
            "got_list: the result must be a number but is a list "
            "(in formula 'if(flag, amount, labels)')",
            path, 2, 1,
        ),
        "got_number": (
            "formula-error",
            "got_number: the result must be a date but is a number "
            "(in formula 'if(flag, closed, amount)')",
            path, 3, 1,
        ),
        "not_bool": (
            "formula-error",
            "not_bool: the result must be true or false but is a date "
            "(in formula 'if(flag, flag, closed)')",
            path, 3, 1,
        ),
        "via_partner": (  # a dotted name is placed at its first part, partner (7)
            "formula-error",
            "via_partner: the result must be a number but is text "
            "(in formula 'if(partner.title = \"D\", partner.title, 1)')",
            path, 7, 1,
        ),
        "bad_day": (  # reads no field: the top of the file
            "formula-error",
            "bad_day: date(2025, 2, 30) is not a valid date (in formula 'date(2025, 2, 30)')",
            path, 1, 1,
        ),
    }  # fmt: skip
    d = dataset.record("deals", "d")
    assert d is not None
    assert [d.computed[name] for name in sorted(found)] == [None] * len(found)
    assert d.computed["maybe_null"] is None  # empty fits every result: no error


LOOKUP_CLIENTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  name_len: {x-crmgen: {type: formula, formula: "len(title)"}}
  joined: {x-crmgen: {type: formula, formula: "today()"}}
  partner: {type: string, x-crmgen: {type: reference, project: clients}}
  partner_ref: {x-crmgen: {type: lookup, path: partner.partner}}
"""
LOOKUP_OPPS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  client_len: {x-crmgen: {type: lookup, path: client.name_len}}
  client_partner: {x-crmgen: {type: lookup, path: client.partner_ref}}
"""
LOOKUP_DELIVERY = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  deal: {type: string, x-crmgen: {type: reference, project: opportunities}}
  deep_len: {x-crmgen: {type: lookup, path: deal.client.name_len}}
  deep_joined: {x-crmgen: {type: lookup, path: deal.client.joined}}
  via_lookup: {x-crmgen: {type: lookup, path: deal.client_len}}
  deep_partner: {x-crmgen: {type: lookup, path: deal.client.partner_ref}}
"""


def test_a_lookup_of_a_computed_field_in_another_project_takes_its_result_type(
    make_repo: MakeRepo, today: dt.date
) -> None:
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities, delivery]\n",
            "schema/clients.schema.yaml": LOOKUP_CLIENTS,
            "schema/opportunities.schema.yaml": LOOKUP_OPPS,
            "schema/delivery.schema.yaml": LOOKUP_DELIVERY,
            "data/clients/acme.md": record("title: Acme"),
        }
    )
    dataset = load_dataset(root, today=today)
    assert dataset.diagnostics == ()
    acme = dataset.record("clients", "acme")
    assert acme is not None and acme.computed["joined"] == today  # the build's today

    def shown(project: str, name: str) -> tuple[str | None, str | None]:
        spec = dataset.projects[project].schema.field(name)
        assert spec is not None
        return spec.result, spec.result_target

    assert shown("clients", "name_len") == ("number", None)
    assert shown("opportunities", "client_len") == ("number", None)
    assert shown("delivery", "deep_len") == ("number", None)
    assert shown("delivery", "deep_joined") == ("date", None)
    assert shown("delivery", "via_lookup") == ("number", None)
    # a lookup that ends on a reference (or a lookup of one) links to the referenced project
    assert shown("clients", "partner_ref") == ("reference", "clients")
    assert shown("opportunities", "client_partner") == ("reference", "clients")
    assert shown("delivery", "deep_partner") == ("reference", "clients")


ROLLUP_CLIENTS = """\
type: object
required: [title]
x-crmgen: {title: title}
properties:
  title: {type: string}
  deals: {x-crmgen: {type: referenced-by, project: opportunities, field: client}}
  n_deals: {x-crmgen: {type: rollup, rollup: "count(deals)"}}
  n_opps: {x-crmgen: {type: rollup, rollup: "count(opportunities)"}}
  amounts: {x-crmgen: {type: rollup, rollup: "sum(opportunities.amount)"}}
  profits: {x-crmgen: {type: rollup, rollup: "sum(opportunities.profit)"}}
  joined: {x-crmgen: {type: rollup, rollup: "concat(opportunities.amount)"}}
  last_kind: {x-crmgen: {type: rollup, rollup: "max(opportunities.list.kind)"}}
  overdue: {x-crmgen: {type: rollup, rollup: "count(opportunities where closes < today())"}}
"""
ROLLUP_OPPS = """\
type: object
required: [title]
x-crmgen:
  title: title
  lists: [{name: Lead, kind: open}, {name: Won, kind: won}]
properties:
  title: {type: string}
  list: {type: string, x-crmgen: {type: list}}
  client: {type: string, x-crmgen: {type: reference, project: clients}}
  partners: {type: array, items: {type: string}, x-crmgen: {type: reference, project: clients}}
  amount: {type: number, x-crmgen: {type: currency}}
  closes: {type: string, format: date, x-crmgen: {type: date}}
  profit: {x-crmgen: {type: formula, formula: "amount * 2", result: currency}}
  a_bad: {x-crmgen: {type: formula, formula: "title - 1"}}
  z_ok: {x-crmgen: {type: formula, formula: "len(title)"}}
  client_count: {x-crmgen: {type: rollup, rollup: "count(client)"}}
  client_title: {x-crmgen: {type: rollup, rollup: "concat(client.title)"}}
  partner_count: {x-crmgen: {type: rollup, rollup: "count(partners)"}}
  client_deals: {x-crmgen: {type: lookup, path: client.deals}}
  client_n: {x-crmgen: {type: lookup, path: client.n_deals}}
  stage_kind: {x-crmgen: {type: lookup, path: list.kind}}
"""


def test_rollups_over_every_kind_of_link_and_their_result_types(
    make_repo: MakeRepo, today: dt.date
) -> None:
    root = make_repo(
        {
            "crmgen.yml": "projects: [clients, opportunities]\n",
            "schema/clients.schema.yaml": ROLLUP_CLIENTS,
            "schema/opportunities.schema.yaml": ROLLUP_OPPS,
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/a.md": record(
                "title: A\nlist: Won\nclient: acme\namount: 10\ncloses: 2026-01-01"
            ),
            "data/opportunities/b.md": record(
                "title: B\nlist: Lead\nclient: acme\namount: 2.5\ncloses: 2027-01-01"
            ),
            "data/opportunities/c.md": record("title: C\npartners: [nope, acme]"),
        }
    )
    dataset = load_dataset(root, today=today)
    assert [(d.code, d.field) for d in dataset.diagnostics] == [
        ("unknown-reference", "partners"),
        ("schema-formula", "a_bad"),
    ]
    acme = dataset.record("clients", "acme")
    assert acme is not None
    rollups = ("n_deals", "n_opps", "amounts", "profits", "joined", "last_kind", "overdue")
    assert {k: acme.computed[k] for k in rollups} == {
        "n_deals": 2,  # through the referenced-by field: a and b
        "n_opps": 3,  # every opportunity linking acme: c as a partner too
        "amounts": Decimal("12.5"),
        "profits": Decimal("25.0"),
        "joined": "10, 2.5",
        "last_kind": "won",
        "overdue": 1,  # a closes before today
    }
    c = dataset.record("opportunities", "c")
    a = dataset.record("opportunities", "a")
    assert a is not None and c is not None
    assert a.computed["client_count"] == 1 and a.computed["client_title"] == "Acme"
    assert c.computed["client_count"] == 0 and c.computed["client_title"] == ""
    assert c.computed["partner_count"] == 1  # 'nope' does not exist; acme after it counts
    # a formula whose types can never work is left empty on every record, and the rest goes on
    assert [(r.computed["a_bad"], r.computed["z_ok"]) for r in (a, c)] == [(None, 1), (None, 1)]

    def result(project: str, name: str) -> tuple[str | None, str | None]:
        spec = dataset.projects[project].schema.field(name)
        assert spec is not None
        return spec.result, spec.result_target

    assert result("clients", "n_deals") == ("number", None)
    assert result("clients", "n_opps") == ("number", None)
    assert result("clients", "amounts") == ("currency", None)  # the summed field's type
    assert result("clients", "profits") == ("currency", None)  # a computed one's result
    assert result("clients", "joined") == ("text", None)
    assert result("clients", "last_kind") == (None, None)  # a list attribute has no type
    assert result("opportunities", "client_deals") == (None, "opportunities")
    assert result("opportunities", "client_n") == ("number", None)  # a lookup of a rollup
    assert result("opportunities", "stage_kind") == ("text", None)
    assert a.computed["stage_kind"] == "won"
