"""The fingerprint of a run: what it covers and what it leaves out."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import MakeRepo, record

from crmgen.build.inputs import fingerprint


def _key(root: Path) -> str:
    return fingerprint(root, "code", ("build",))


def test_every_input_changes_the_fingerprint_and_nothing_else_does(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    first = _key(root)
    assert _key(root) == first  # the same input, the same key
    for folder in ("docs", "tests", ".github/workflows"):  # not read by a run
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "notes.md").write_text("x", encoding="utf-8")
    assert _key(root) == first
    changes = [
        lambda: (root / "data/clients/globex.md").write_text(record("title: Globex")),
        lambda: (root / "schema/clients.schema.yaml").write_text(
            (root / "schema/clients.schema.yaml").read_text() + "\n"
        ),
        lambda: (root / "templates").mkdir() or (root / "templates/base.html").write_text("x"),
        lambda: (root / "files").mkdir() or (root / "files/logo.png").write_bytes(b"x"),
        lambda: (root / "crmgen.yml").write_text((root / "crmgen.yml").read_text() + "\n"),
        lambda: os.rename(root / "data/clients/acme.md", root / "data/clients/acme2.md"),
    ]
    seen = {first}
    for change in changes:
        change()
        key = _key(root)
        assert key not in seen, change
        seen.add(key)


def test_the_attachments_folder_crmgen_yml_names_is_input(make_repo: MakeRepo) -> None:
    root = make_repo()
    config = root / "crmgen.yml"
    config.write_text(config.read_text() + "attachments: uploads/crm\n", encoding="utf-8")
    (root / "uploads/crm").mkdir(parents=True)
    first = _key(root)
    (root / "uploads/crm/contract.pdf").write_bytes(b"%PDF-1.4")
    assert _key(root) != first


def test_an_unreadable_config_walks_every_folder(make_repo: MakeRepo) -> None:
    root = make_repo()
    (root / "crmgen.yml").write_bytes(b"\xff\xfe not utf-8")
    first = _key(root)
    (root / "elsewhere").mkdir()
    (root / "elsewhere/x.md").write_text("x", encoding="utf-8")
    assert _key(root) != first
