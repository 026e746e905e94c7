"""crmgen export: every field, RFC 4180, spreadsheet-safe cells (numbers stay numbers), the
audience's own columns, --as-of, JSON; and the table CSV the site offers."""

from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from conftest import MakeRepo, git_commit_all, record
from hypothesis import example, given
from hypothesis import strategies as st

from crmgen.build import load_dataset
from crmgen.build.interchange import export_project, import_files
from crmgen.cli import main
from crmgen.compute import evaluate
from crmgen.interchange.cells import DANGEROUS, csv_cell, neutralise, unneutralise
from crmgen.interchange.csvfile import read_table, write_csv

REPO = Path(__file__).parent.parent

#: Restricted values of the example repo: the cost of each of a few deals.
EXAMPLE_COSTS = ("cost", "profit", "margin")


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _example(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO / "crmgen.yml", root / "crmgen.yml")
    for folder in ("schema", "files", "data"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def test_the_default_export_has_no_restricted_column_or_value(tmp_path: Path) -> None:
    root = _example(tmp_path)
    staff, _ = export_project(root, "opportunities")
    managers, _ = export_project(root, "opportunities", audience="managers")
    assert staff is not None and managers is not None
    staff_header = staff.split(b"\r\n", 1)[0].decode().split(",")
    managers_header = managers.split(b"\r\n", 1)[0].decode().split(",")
    for name in EXAMPLE_COSTS:
        assert name not in staff_header
        assert name in managers_header
    assert set(staff_header) < set(managers_header)
    costs = {row["cost"] for row in _rows(managers) if row["cost"]}
    assert costs
    for row in _rows(staff):  # no cell holds a restricted value by accident
        assert not costs & set(row.values()) - {row["amount"]}


def test_every_field_stored_and_computed_with_reference_titles(tmp_path: Path) -> None:
    root = _example(tmp_path)
    data, _ = export_project(root, "opportunities", titles=True)
    assert data is not None
    header = data.split(b"\r\n", 1)[0].decode()
    assert header.startswith("slug,title,list,tags,owner,client,client.title,client_name,")
    assert header.endswith(",body")
    for name in ("weighted_amount", "days_open", "delivery", "invoiced", "expected_close"):
        assert name in header.split(",")
    clients, _ = export_project(root, "clients")
    assert clients is not None
    atlas = next(r for r in _rows(clients) if r["slug"] == "atlas-robotics")
    assert atlas["address.city"] == "Berlin"  # an address written as parts: a column each
    assert atlas["opportunities"].startswith("atlas-paid-ads-dach, ")  # back-links: ids
    assert atlas["phone"] == "'+49 30 5550 1234"  # would be a formula in a spreadsheet
    assert atlas["employees"] == "95"
    assert atlas["first_contact"] == "2025-07-07"


def test_rfc4180_and_spreadsheet_safety(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/evil.md": record(
                """
                title: "=HYPERLINK(\\"http://evil.example\\", \\"x\\")"
                code: "@SUM(1+1)"
                """,
                'Line one, with a comma\nand a "quote"\n',
            ),
            "data/opportunities/refund.md": record(
                "title: '-Refund'\nlist: Lead\nclient: evil\namount: 0\nconfidence: 3"
            ),
        }
    )
    data, problems = export_project(root, "clients")
    assert data is not None, problems
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "slug,title,email,phone,website,size,code,logo,ltv,open_count,deals,body"
    assert lines[1] == (
        'evil,"\'=HYPERLINK(""http://evil.example"", ""x"")",,,,,\'@SUM(1+1),,0,1,'
        'refund,"Line one, with a comma\nand a ""quote"""'
    )
    assert lines[2] == ""
    deals, _ = export_project(root, "opportunities")
    assert deals is not None
    row = _rows(deals)[0]
    assert row["title"] == "'-Refund"
    assert row["confidence"] == "3"
    # and the import reads each cell back as it was stored
    (root / "back.csv").write_bytes(data)
    result = import_files(root, [root / "back.csv"], project="clients", key="slug")
    assert [r.status for r in result.rows] == ["unchanged"]


def test_negative_numbers_stay_numbers(make_repo: MakeRepo) -> None:
    schema = (
        "$schema: https://json-schema.org/draft/2020-12/schema\ntype: object\n"
        "x-crmgen: {title: title}\nproperties:\n  title: {type: string}\n"
        "  balance: {type: number, x-crmgen: {type: currency}}\n"
    )
    root = make_repo(
        {
            "crmgen.yml": "title: T\nprojects: [accounts]\n",
            "schema/accounts.schema.yaml": schema,
            "data/accounts/a.md": record("title: A\nbalance: -42.5"),
        },
        base=False,
    )
    data, _ = export_project(root, "accounts")
    assert data == b"slug,title,balance,body\r\na,A,-42.5,\r\n"
    as_json, _ = export_project(root, "accounts", fmt="json")
    assert as_json is not None
    assert json.loads(as_json) == [{"slug": "a", "title": "A", "balance": -42.5, "body": ""}]


@given(st.sampled_from((*DANGEROUS, "'")), st.text())
@example("\r", "\n")  # a CR LF at the start: the reader makes it a line feed
def test_cells_starting_with_a_dangerous_character_are_neutralised(first: str, rest: str) -> None:
    text = first + rest
    cell = csv_cell(text)
    assert not cell.startswith(DANGEROUS)
    assert unneutralise(cell) == text
    # and through a real CSV file and back
    data = write_csv(["v"], [[cell]])
    table = read_table("t.csv", data)
    assert unneutralise(table.rows[0].cells[0]) == text.replace("\r\n", "\n")


@given(st.text())
def test_neutralise_is_undone_exactly(text: str) -> None:
    assert unneutralise(neutralise(text)) == text
    assert not neutralise(text).startswith(DANGEROUS)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12))
def test_numbers_are_never_prefixed(value: Decimal) -> None:
    cell = csv_cell(value)
    assert Decimal(cell) == value


def test_bom_json_and_as_of(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme\ncode: A-1")})
    git_commit_all(root)
    (root / "data/clients/acme.md").write_text(record("title: Acme\ncode: A-2"))
    runner = CliRunner()
    out = runner.invoke(main, ["export", "clients", str(root), "--bom"])
    assert out.exit_code == 0
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbfslug,")
    assert b"A-2" in out.stdout_bytes
    old = runner.invoke(main, ["export", "clients", str(root), "--as-of", "HEAD"])
    assert old.exit_code == 0, old.stderr
    assert b",A-1," in old.stdout_bytes
    doc = runner.invoke(main, ["export", "clients", str(root), "--format", "json"])
    assert json.loads(doc.stdout)[0]["code"] == "A-2"


def test_export_usage_errors(make_repo: MakeRepo) -> None:
    root = make_repo({"data/clients/acme.md": record("title: Acme")})
    runner = CliRunner()
    out = runner.invoke(main, ["export", "client", str(root)])
    assert out.exit_code == 2
    assert "there is no project 'client'; did you mean 'clients'?" in out.stderr
    out = runner.invoke(main, ["export", "clients", str(root), "--audience", "boss"])
    assert out.exit_code == 2
    (root / "data/clients/bad.md").write_text(record("title: Bad\nsize: huge"))
    out = runner.invoke(main, ["export", "clients", str(root)])
    assert out.exit_code == 1
    assert "nothing was exported" in out.stderr


def test_the_site_offers_each_table_as_csv(tmp_path: Path) -> None:
    from crmgen.build import build_site

    root = _example(tmp_path)
    out = tmp_path / "site"
    result = build_site(root, out)
    assert not result.diagnostics or all(d.severity != "error" for d in result.diagnostics)
    expected, _ = export_project(root, "opportunities")
    assert (out / "opportunities/opportunities.csv").read_bytes() == expected
    assert b'href="opportunities.csv"' in (out / "opportunities/index.html").read_bytes()
    assert b"cost" not in (out / "opportunities/opportunities.csv").read_bytes().split(b"\r\n")[0]


def test_the_site_csv_makes_only_the_rows_whose_record_changed(tmp_path: Path) -> None:
    from crmgen import cache
    from crmgen.build import build_site
    from crmgen.build.interchange import CSV_ROWS

    root = _example(tmp_path)
    out = tmp_path / "site"
    assert build_site(root, out).written
    with cache.opened(root) as store:  # every row of the first build is in the cache
        before = store._db.execute(  # type: ignore[union-attr]
            "SELECT count(*) FROM entries WHERE space = ?", (CSV_ROWS,)
        ).fetchone()[0]
    deals = sorted((root / "data/opportunities").rglob("*.md"))
    assert before >= len(deals)
    text = deals[0].read_text()
    deals[0].write_text(text.replace("\ntitle: ", "\ntitle: Renamed ", 1))
    assert build_site(root, out).written
    expected, _ = export_project(root, "opportunities")
    assert b"Renamed " in expected
    assert (out / "opportunities/opportunities.csv").read_bytes() == expected
    # a row kept in the cache is used as it is: a planted one shows in the next build
    with cache.opened(root) as store:
        keys = [
            k
            for (k,) in store._db.execute(  # type: ignore[union-attr]
                "SELECT key FROM entries WHERE space = ? AND key LIKE 'opportunities:%'",
                (CSV_ROWS,),
            )
        ]
        for key in keys:
            store.put(CSV_ROWS, key, b"planted\r\n")
    text = deals[1].read_text()  # another row changes: the CSV is made again, from the cache
    deals[1].write_text(text.replace("\ntitle: ", "\ntitle: Also renamed ", 1))
    assert build_site(root, out).written
    made = (out / "opportunities/opportunities.csv").read_bytes()
    # a row is kept by its record page's key, which changes with any record of the edited
    # deal's group (its client and the client's other deals: compute's groups)
    dataset = load_dataset(root)
    schemas = {name: project.schema for name, project in dataset.projects.items()}
    records = {name: project.records for name, project in dataset.projects.items()}
    edited = ("opportunities", deals[1].stem)
    group = next(g for g in evaluate.groups(schemas, records) if edited in g)
    remade = sum(project == "opportunities" for project, _ in group)
    assert 1 < remade < len(deals)
    assert made.count(b"planted\r\n") == len(deals) - remade and b"Also renamed " in made
