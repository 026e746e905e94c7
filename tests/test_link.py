from __future__ import annotations

from conftest import MakeRepo, record

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
