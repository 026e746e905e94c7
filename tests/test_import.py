"""crmgen import: a messy CSV gives the exact expected report; linked files resolve each other;
re-imports are stable; --update changes only the lines that differ; atomic, all-or-nothing,
dry run; encodings; keys; defaults; the round trip import -> export -> import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import OPPS_SCHEMA, MakeRepo, record

from crmgen.build import load_dataset
from crmgen.build.interchange import import_files
from crmgen.cli import main
from crmgen.interchange.rows import Options

HERE = Path(__file__).parent / "interchange"
REPO = Path(__file__).parent.parent

MESSY_REPORT = """\
accounts.csv -> clients (key: title)
  columns: Company -> title, E-Mail -> email, Size -> size, Code -> code, Web Site -> website, Notes -> body
  value size: 'Large' -> 'large' (1 row, declared spelling)
  value size: 'medum' -> 'medium' (1 row, mapping file)
  row 2: {v}created data/clients/acme-corp.md
  row 3: {v}created data/clients/estee-lauder-and-co.md
  row 4: {v}created data/clients/oreilly-media.md
  row 5: {v}created data/clients/brown-forman.md
  row 6: rejected: same title as row 2 ('ACME CORP'); keep one of the two rows
  row 8: rejected: size must be one of "small", "medium", "large", got "huge"; email must be an email address like name@example.com
deals.csv -> opportunities (key: title)
  columns: Deal -> title, Stage -> list, Client -> client, Amount -> amount, Expected Close -> expected_close, Tags -> tags, Confidence -> confidence
  value list: 'Proposal Sent' -> 'Proposal sent' (1 row, declared spelling)
  value list: 'Won' -> 'Closed won' (1 row, mapping file)
  value tags: 'SEO' -> 'seo' (1 row, declared spelling)
  row 2: {v}created data/opportunities/acme-website-phase-2.md
  row 3: {v}created data/opportunities/estee-rebrand.md
  row 4: rejected: client 'Acme Crop' is not the id or the title of a record of clients; did you mean 'Acme Corp' (acme-corp)?
  row 5: rejected: amount must be a number, got "12k"
  row 6: rejected: amount must be at least 0, got -42.50
  row 7: rejected: it references 'nobody-ltd', the record of accounts.csv row 8, which is rejected
  row 8: rejected: list is required and the schema gives no default; fill its column (or add the column to the file)
created 6, updated 0, unchanged 0, skipped 0, rejected 7
"""  # noqa: E501


def _messy(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo()
    for name in ("accounts.csv", "deals.csv", "mapping.yml"):
        shutil.copy(HERE / name, root / name)
    monkeypatch.chdir(root)
    return root


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["import", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_messy_csv_gives_the_exact_report(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _messy(make_repo, monkeypatch)
    # deals.csv is named first: accounts.csv, which it references, is imported first anyway
    code, out, _ = _run("deals.csv", "accounts.csv", "--map", "mapping.yml")
    assert out == MESSY_REPORT.format(v="")
    assert code == 1  # rows were rejected
    assert (root / "data/clients/acme-corp.md").read_text(encoding="utf-8") == record(
        """
        title: Acme Corp
        email: info@acme.example
        website: https://www.acme.example
        size: large
        code: ON
        """
    )
    # quoted commas, a line break inside a cell (CRLF), a body; NO stays text
    assert (root / "data/clients/estee-lauder-and-co.md").read_text(encoding="utf-8") == (
        "---\ntitle: Estée, Lauder & Co\nemail: hello@estee.example\nsize: medium\ncode: NO\n"
        "---\n\nMet at the fair;\nwants a call\n"
    )
    oreilly = (root / "data/clients/oreilly-media.md").read_bytes()
    assert "title: O’Reilly Media\n".encode() in oreilly
    assert b'code: "01234"\n' in oreilly  # stays the text 01234
    brown = (root / "data/clients/brown-forman.md").read_text(encoding="utf-8")
    assert "title: Brown–Forman\n" in brown
    assert "code: =SUM(A1)\n" in brown  # the spreadsheet's ' prefix is dropped
    deal = (root / "data/opportunities/acme-website-phase-2.md").read_text(encoding="utf-8")
    assert deal == record(
        """
        title: Acme website, phase 2
        list: Closed won
        tags: [website, seo]
        client: acme-corp
        amount: 42000.50
        confidence: 4
        expected_close: 2026-12-15
        """
    )
    dataset = load_dataset(root)
    assert [d for d in dataset.diagnostics if d.severity == "error"] == []
    assert dataset.record("clients", "acme-corp").get("ltv") == 42000.50  # type: ignore[union-attr]


def test_a_second_import_of_the_same_files_changes_nothing(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _messy(make_repo, monkeypatch)
    _run("deals.csv", "accounts.csv", "--map", "mapping.yml")
    before = {p: p.read_bytes() for p in (root / "data").rglob("*.md")}
    code, out, _ = _run("deals.csv", "accounts.csv", "--map", "mapping.yml", "--update")
    assert code == 1
    assert out.splitlines()[-1] == "created 0, updated 0, unchanged 6, skipped 0, rejected 7"
    assert {p: p.read_bytes() for p in (root / "data").rglob("*.md")} == before


def test_dry_run_and_all_or_nothing_write_nothing(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _messy(make_repo, monkeypatch)
    code, out, _ = _run("deals.csv", "accounts.csv", "--map", "mapping.yml", "--dry-run")
    assert out == MESSY_REPORT.format(v="would ").replace("would created", "would create") + (
        "dry run: nothing was written\n"
    )
    assert code == 1
    assert not (root / "data").exists()
    code, out, _ = _run("deals.csv", "accounts.csv", "--map", "mapping.yml", "--all-or-nothing")
    assert out.endswith(
        "rejected 7\n--all-or-nothing: 7 row(s) rejected, so nothing was written\n"
    )
    assert "row 2: would create data/clients/acme-corp.md" in out
    assert not (root / "data").exists()


def test_json_report(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    _messy(make_repo, monkeypatch)
    code, out, _ = _run("deals.csv", "accounts.csv", "--map", "mapping.yml", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert doc["totals"] == {
        "created": 6, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 7
    }  # fmt: skip
    assert doc["written"] is True
    first = doc["rows"][0]
    assert first == {
        "file": "accounts.csv", "row": 2, "project": "clients", "status": "created",
        "id": "acme-corp", "path": "data/clients/acme-corp.md", "fields": [], "reasons": [],
    }  # fmt: skip
    assert {"field": "size", "from": "medum", "to": "medium", "how": "map", "rows": 1} in doc[
        "files"
    ][0]["values"]


def test_linked_files_resolve_references_to_records_of_an_earlier_import(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _messy(make_repo, monkeypatch)
    _run("accounts.csv", "--map", "mapping.yml")
    (root / "more.csv").write_text(
        "Title,List,Client\nSecond,Lead,o’reilly media\nThird,Lead,brown-forman\n",
        encoding="utf-8",
    )
    code, out, _ = _run("more.csv", "-p", "opportunities")
    assert code == 0, out
    assert "client: oreilly-media\n" in (root / "data/opportunities/second.md").read_text()
    assert "client: brown-forman\n" in (root / "data/opportunities/third.md").read_text()


def test_an_ambiguous_title_is_never_guessed(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme"),
            "data/clients/acme-2.md": record("title: ACME"),
            "deals.csv": "title,list,client\nDeal,Lead,Acme\n",
        }
    )
    result = import_files(root, [root / "deals.csv"], project="opportunities")
    assert result.rows[0].reasons == (
        "client 'Acme' is the title of 2 records of clients (acme, acme-2); write the id of "
        "the one you mean",
    )


UPDATED = """\
---
# a comment the import keeps
title:   Acme website
list: Lead   # stage
tags:
  - website
client: acme
amount: 1000
notes: >-
  folded
  text
---
Body stays.
"""


def test_update_changes_only_the_lines_that_differ(make_repo: MakeRepo) -> None:
    schema = OPPS_SCHEMA + "  notes: {type: string, x-crmgen: {type: long-text}}\n"
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": schema,
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/acme-website.md": UPDATED,
            "in.csv": "Title,List,Tags,Client,Amount\r\n"
            'Acme website,Proposal sent,website,Acme,"1,000.00"\r\n',
        }
    )
    path = root / "data/opportunities/acme-website.md"
    result = import_files(root, [root / "in.csv"], project="opportunities")
    assert [(r.status, r.fields) for r in result.rows] == [("skipped", ("list",))]
    assert path.read_text() == UPDATED  # without --update nothing changes
    result = import_files(
        root, [root / "in.csv"], project="opportunities", options=Options(update=True)
    )
    assert [(r.status, r.fields) for r in result.rows] == [("updated", ("list",))]
    assert path.read_bytes() == UPDATED.replace(
        "list: Lead   # stage", "list: Proposal sent   # stage"
    ).encode("utf-8")


def test_update_keeps_crlf_a_bom_and_other_bytes(make_repo: MakeRepo) -> None:
    text = "\ufeff---\r\ntitle: Acme\r\nemail: old@acme.example\r\nsize: small\r\n---\r\nHi\r\n"
    root = make_repo(
        {
            "data/clients/acme.md": text,
            "in.csv": "title,email,size\nAcme,new@acme.example,small\n",
        }
    )
    result = import_files(root, [root / "in.csv"], project="clients", options=Options(True))
    assert result.rows[0].status == "updated"
    assert (root / "data/clients/acme.md").read_bytes() == text.replace("old@", "new@").encode(
        "utf-8"
    )


@pytest.mark.parametrize(
    ("key", "cell", "status"),
    [
        ("email", "INFO@Acme.example", "unchanged"),
        ("website", "http://www.acme.example/about", "unchanged"),
        ("code", " a-1 ", "unchanged"),
        ("slug", "acme", "unchanged"),
        ("email", "other@acme.example", "created"),
    ],
)
def test_keys_find_existing_records(make_repo: MakeRepo, key: str, cell: str, status: str) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record(
                """
                title: Acme
                email: info@acme.example
                website: https://acme.example
                code: A-1
                """
            ),
        }
    )
    column = {"slug": "id"}.get(key, key)
    (root / "in.csv").write_text(f"title,{column}\nAcme Renamed,{cell}\n", encoding="utf-8")
    result = import_files(root, [root / "in.csv"], project="clients", key=key)
    row = result.rows[0]
    expected = status if status == "created" else "skipped"  # the title differs
    assert row.status == expected, row
    if status == "created":
        assert row.slug == "acme-renamed"


def test_a_required_field_takes_the_schema_default(make_repo: MakeRepo) -> None:
    schema = OPPS_SCHEMA.replace(
        "list: {type: string, x-crmgen: {type: list}}",
        "list: {type: string, default: Lead, x-crmgen: {type: list}}",
    )
    root = make_repo(
        {"schema/opportunities.schema.yaml": schema, "in.csv": "Title,List\nNew deal,\n"}
    )
    result = import_files(root, [root / "in.csv"], project="opportunities")
    assert result.rows[0].status == "created"
    assert (root / "data/opportunities/new-deal.md").read_text() == record(
        "title: New deal\nlist: Lead"
    )


def test_ids_are_unique_and_stable(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme Old")})
    (root / "in.csv").write_text("title\nAcme\nÀcmé!\nIndex\n", encoding="utf-8")
    result = import_files(root, [root / "in.csv"], project="clients")
    assert [r.slug for r in result.rows] == ["acme-2", "acme-3", "index-1"]
    again = import_files(root, [root / "in.csv"], project="clients")
    assert [(r.status, r.slug) for r in again.rows] == [
        ("unchanged", "acme-2"),
        ("unchanged", "acme-3"),
        ("unchanged", "index-1"),
    ]


def test_other_encodings_are_refused_naming_the_row(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    (root / "latin.csv").write_bytes("title\nAcme\nCaf\u00e9 Ltd\n".encode("latin-1"))
    monkeypatch.chdir(root)
    code, out, err = _run("latin.csv", "-p", "clients")
    assert code == 1
    assert out == ""
    assert err == (
        "crmgen: latin.csv row 3: byte 0xE9 is not UTF-8 (the file looks like Windows-1252 or "
        "Latin-1); save it as UTF-8 ('CSV UTF-8' in Excel) and import it again\n"
        "1 error(s), 0 warning(s)\n"
    )
    assert not (root / "data").exists()


def test_usage_errors(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo()
    (root / "in.csv").write_text("Title,Emial\nAcme,a@b.example\n", encoding="utf-8")
    monkeypatch.chdir(root)
    code, _, err = _run("in.csv", "-p", "client")
    assert code == 2
    assert "in.csv: there is no project 'client'; did you mean 'clients'?" in err
    code, _, err = _run("in.csv")
    assert code == 2 and "say which project it goes to" in err
    code, _, err = _run("in.csv", "-p", "clients", "--key", "emial")
    assert code == 2 and "key 'emial' is not a stored field of clients" in err
    code, out, _ = _run("in.csv", "-p", "clients")
    assert code == 0
    assert (
        "  column 'Emial' ignored: no field has this name or label; did you mean 'email'?\n"
        in (out)
    )
    (root / "map.yml").write_text("project: clients\ncolumns: {Emial: mail}\nbogus: 1\n")
    code, _, err = _run("in.csv", "--map", "map.yml")
    assert code == 2
    assert "map.yml:3:1: unknown key 'bogus'" in err
    (root / "map.yml").write_text("project: clients\ncolumns: {Emial: mail}\n")
    code, _, err = _run("in.csv", "--map", "map.yml")
    assert code == 2
    assert "column 'Emial' maps to 'mail', which is not a field of clients; did you mean" in err


def test_a_failed_write_leaves_nothing(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo({"in.csv": "title\nA\nB\nC\n"})
    real_open = open
    calls = []

    def failing_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "w" in mode and str(file).endswith(".crmgen-import"):
            calls.append(file)
            if len(calls) == 3:
                raise OSError(28, "No space left on device")
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", failing_open)
    result = import_files(root, [root / "in.csv"], project="clients")
    assert not result.written
    assert "nothing was written" in result.problems[0].message
    assert list((root / "data").rglob("*")) == [root / "data/clients"]


def test_thousands_separators_currency_and_declared_formats(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "in.csv": "title;list;amount;expected_close;cost\n"
            "A;Lead;€ 1.234,50;03.02.2026;EUR 7\n",
            "map.yml": "project: opportunities\ndecimal: ','\ndate_formats: '%d.%m.%Y'\n",
        }
    )
    result = import_files(root, [root / "in.csv"], mapping=root / "map.yml")
    assert result.rows[0].status == "created", result.rows
    text = (root / "data/opportunities/a.md").read_text()
    assert "amount: 1234.50\ncost: 7\nexpected_close: 2026-02-03\n" in text


def test_round_trip_on_the_example_repo(tmp_path: Path) -> None:
    """export every project of the example (managers: every field) -> import into an empty repo
    with the same schemas -> the same stored values and bodies; exporting that gives the same
    stored columns; importing the export again changes nothing."""
    source = tmp_path / "source"
    target = tmp_path / "target"
    for folder in (source, target):
        folder.mkdir()
        shutil.copy(REPO / "crmgen.yml", folder / "crmgen.yml")
        shutil.copytree(REPO / "schema", folder / "schema")
        shutil.copytree(REPO / "files", folder / "files")
    shutil.copytree(REPO / "data", source / "data")
    runner = CliRunner()
    projects = ("clients", "opportunities", "projects", "invoices")
    for project in projects:
        out = runner.invoke(
            main, ["export", project, str(source), "--audience", "managers", "--titles"]
        )
        assert out.exit_code == 0, out.stderr
        (tmp_path / f"{project}.csv").write_bytes(out.stdout_bytes)
    mapping = tmp_path / "map.yml"
    mapping.write_text(
        "key: slug\nfiles:\n" + "".join(f"  {p}.csv: {{project: {p}}}\n" for p in projects)
    )
    files = [tmp_path / f"{p}.csv" for p in reversed(projects)]
    result = import_files(target, files, mapping=mapping, use_cache=False)
    assert result.totals["created"] == sum(1 for _ in (source / "data").rglob("*.md"))
    assert result.totals["rejected"] == 0
    before, after = load_dataset(source), load_dataset(target)
    assert after.errors == ()
    for name, project in before.projects.items():
        for slug, old in project.records.items():
            new = after.record(name, slug)
            assert new is not None
            assert dict(new.values) == dict(old.values), slug
            assert new.body.strip("\n") == old.body.strip("\n")
    again = import_files(target, files, mapping=mapping, options=Options(update=True))
    assert again.totals["unchanged"] == result.totals["created"]


def test_progress_is_reported_per_row(make_repo: MakeRepo) -> None:
    root = make_repo({"in.csv": "title\nA\nB\n"})
    seen: list[tuple[int, int]] = []
    import_files(
        root, [root / "in.csv"], project="clients", progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (2, 2)
    assert seen == sorted(seen)


def test_no_progress_bar_outside_a_terminal(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    (root / "in.csv").write_text("title\n" + "".join(f"C{i}\n" for i in range(600)))
    monkeypatch.chdir(root)
    code, out, err = _run("in.csv", "-p", "clients")
    assert code == 0
    assert "\r" not in out + err and "\x1b" not in out + err
