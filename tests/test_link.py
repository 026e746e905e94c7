from __future__ import annotations

from conftest import OPPS_SCHEMA, MakeRepo, record

from crmgen.build import load_dataset


def test_unknown_references_suggest_slug_or_title(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/acme-corp.md": record("title: Acme Corp"),
            "data/opportunities/a.md": record("title: A\nlist: Lead\nclient: acme-crop"),
            "data/opportunities/b.md": record("title: B\nlist: Lead\nclient: acme corp"),
            "data/opportunities/c.md": record("title: C\nlist: Lead\nclient: zzz"),
        }
    )
    messages = {d.path: (d.line, d.message) for d in load_dataset(root).errors}
    assert messages == {
        "data/opportunities/a.md": (
            4,
            "client 'acme-crop' does not exist in clients; did you mean 'acme-corp'?",
        ),
        "data/opportunities/b.md": (
            4,
            "client 'acme corp' does not exist in clients; did you mean 'acme-corp' (its "
            "title is 'acme corp')?",
        ),
        "data/opportunities/c.md": (4, "client 'zzz' does not exist in clients"),
    }


def test_backlinks_and_referenced_by(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme"),
            "data/clients/lonely.md": record("title: Lonely"),
            "data/opportunities/b.md": record("title: B\nlist: Lead\nclient: acme"),
            "data/opportunities/a.md": record("title: A\nlist: Lead\nclient: acme"),
        }
    )
    ds = load_dataset(root)
    acme, lonely = ds.record("clients", "acme"), ds.record("clients", "lonely")
    assert acme is not None and lonely is not None
    assert acme.linked_from("opportunities") == ("a", "b")
    assert acme.linked_from("opportunities", "client") == ("a", "b")
    assert acme.linked_from("opportunities", "partner") == ()
    assert {p: dict(f) for p, f in acme.backlinks.items()} == {
        "opportunities": {"client": ("a", "b")}
    }
    assert acme.computed["deals"] == ("opportunities/a", "opportunities/b")
    assert dict(lonely.backlinks) == {} and lonely.computed["deals"] == ()


def test_a_record_without_a_title_is_never_suggested_by_title(make_repo: MakeRepo) -> None:
    # placeholders authors type for "no client yet" must not match an untitled record
    clients = (
        "type: object\nx-crmgen: {title: title}\nproperties:\n"
        "  title: {type: string}\n  email: {type: string}\n  size: {type: string}\n"
    )
    root = make_repo(
        {
            "schema/clients.schema.yaml": clients,
            "data/clients/globex.md": record("size: large"),
            "data/opportunities/a.md": record("title: A\nlist: Lead\nclient: none"),
            "data/opportunities/b.md": record("title: B\nlist: Lead\nclient: xxxx"),
        }
    )
    messages = {d.path: (d.line, d.message) for d in load_dataset(root).errors}
    assert messages == {
        "data/opportunities/a.md": (4, "client 'none' does not exist in clients"),
        "data/opportunities/b.md": (4, "client 'xxxx' does not exist in clients"),
    }


def test_multiple_references_link_each_item_and_place_errors_at_the_item(
    make_repo: MakeRepo,
) -> None:
    opps = OPPS_SCHEMA.replace(
        "  amount:",
        "  partners: {type: array, items: {type: string}, "
        "x-crmgen: {type: reference, project: clients}}\n  amount:",
    )
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": opps,
            "data/clients/acme.md": record("title: Acme"),
            "data/clients/globex.md": record("title: Globex"),
            # no client: the partners after it are still linked
            "data/opportunities/a.md": record(
                "title: A\nlist: Lead\npartners:\n  - acme\n  - nope\n  - globex"
            ),
            "data/opportunities/b.md": record("title: B\nlist: Lead\nclient: acme"),
        }
    )
    dataset = load_dataset(root)
    assert [(d.code, d.path, d.line, d.col, d.field, d.message) for d in dataset.errors] == [
        (
            "unknown-reference",
            "data/opportunities/a.md",
            6,
            5,
            "partners",
            "partners 'nope' does not exist in clients",
        )
    ]
    acme, globex = dataset.record("clients", "acme"), dataset.record("clients", "globex")
    assert acme is not None and globex is not None
    assert {p: dict(f) for p, f in acme.backlinks.items()} == {
        "opportunities": {"client": ("b",), "partners": ("a",)}
    }
    assert {p: dict(f) for p, f in globex.backlinks.items()} == {
        "opportunities": {"partners": ("a",)}
    }


def test_a_reference_into_a_project_whose_schema_is_broken_is_left_to_its_errors(
    make_repo: MakeRepo,
) -> None:
    root = make_repo(
        {
            "schema/clients.schema.yaml": "- not\n- a mapping\n",
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/a.md": record("title: A\nlist: Lead\nclient: acme"),
        }
    )
    dataset = load_dataset(root)
    assert "schema/clients.schema.yaml" in {d.path for d in dataset.errors}
    assert not any(d.code == "unknown-reference" for d in dataset.diagnostics)
