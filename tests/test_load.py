from __future__ import annotations

import os
from pathlib import Path

from conftest import MakeRepo, record

from crmgen.build import load_dataset
from crmgen.load import split_front_matter


def test_split_front_matter() -> None:
    assert split_front_matter("---\na: 1\n---\nbody\n") == ("a: 1\n", "body\n", 4)
    assert split_front_matter("---\r\na: 1\r\n...\r\n") == ("a: 1\r\n", "", 4)
    assert isinstance(split_front_matter("   \n"), str)
    assert isinstance(split_front_matter("a: 1\n"), str)


def test_keys_keep_lines_and_body_line(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme\n\ncode: 007", "Notes\n")})
    ds = load_dataset(root)
    acme = ds.record("clients", "acme")
    assert acme is not None
    assert acme.pos("title").line == 2
    assert acme.pos("code").line == 4
    assert acme.values["code"] == "007"
    assert acme.body == "Notes\n"
    assert acme.body_line == 6


def test_subfolders_and_bom(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/2025/acme.md": "\ufeff" + record("title: Acme"),
            "data/clients/.gitkeep": "",
        }
    )
    ds = load_dataset(root)
    assert ds.errors == ()
    acme = ds.record("clients", "acme")
    assert acme is not None and acme.path == "data/clients/2025/acme.md"


def test_symlinked_record_leaving_the_repo_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text(record("title: Secret"))
    root = make_repo({"data/clients/inside.md": record("title: Inside")})
    os.symlink(outside, root / "data/clients/secret.md")
    os.symlink(tmp_path, root / "data/clients/linked-folder")
    ds = load_dataset(root)
    problems = {(d.path, d.code) for d in ds.errors}
    assert ("data/clients/secret.md", "symlink-outside") in problems
    assert ("data/clients/linked-folder", "symlink-folder") in problems
    assert ds.record("clients", "secret") is None


def test_folder_without_schema_is_a_warning(make_repo: MakeRepo) -> None:
    root = make_repo({"data/leads/x.md": record("title: X")})
    ds = load_dataset(root)
    assert [(d.path, d.code) for d in ds.warnings] == [("data/leads", "unknown-project")]


def test_oversized_file_is_not_read(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/big.md": record("title: Big", "x" * (1024 * 1024 + 10))})
    ds = load_dataset(root)
    assert [d.code for d in ds.errors] == ["too-large"]
