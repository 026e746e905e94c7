"""crmgen new: a valid record from the schema's defaults, a title and --set values."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import OPPS_SCHEMA, MakeRepo, record

from crmgen.build import load_dataset
from crmgen.build.interchange import new_record
from crmgen.cli import main

SCHEMA = OPPS_SCHEMA.replace(
    "list: {type: string, x-crmgen: {type: list}}",
    "list: {type: string, default: Lead, x-crmgen: {type: list}}",
).replace("required: [title, list]", "required: [title, list, client]")


def _new(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["new", *args, "--root", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_new_writes_defaults_and_values_and_prints_the_path(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "schema/opportunities.schema.yaml": SCHEMA,
            "data/clients/acme-corp.md": record("title: Acme Corp"),
        }
    )
    code, out, err = _new(
        root,
        "opportunities",
        "Acme: website (phase 2)",
        "--set",
        "client=acme-corp",
        "--set",
        "amount=42,000",
        "--set",
        "tags=website, SEO",
        "--set",
        "expected_close=2026-12-15",
    )
    assert (code, err) == (0, "")
    assert out == "data/opportunities/acme-website-phase-2.md\n"
    assert (root / out.strip()).read_text() == (
        "---\n"
        'title: "Acme: website (phase 2)"\n'
        "list: Lead\n"
        "tags: [website, seo]\n"
        "client: acme-corp\n"
        "amount: 42000\n"
        "expected_close: 2026-12-15\n"
        "---\n"
    )
    assert load_dataset(root).errors == ()
    code, out, _ = _new(
        root, "opportunities", "Acme: website (phase 2)", "--set", "client=acme-corp"
    )
    assert out == "data/opportunities/acme-website-phase-2-2.md\n"


def test_missing_required_fields_are_listed_off_a_terminal(make_repo: MakeRepo) -> None:
    root = make_repo({"schema/opportunities.schema.yaml": SCHEMA})
    code, out, err = _new(root, "opportunities", "Deal")
    assert code == 1
    assert out == ""
    assert (
        "opportunities requires client, which the schema gives no default; give --set client=..."
        in err
    )
    assert not (root / "data").exists()


def test_required_fields_are_asked_for_on_a_terminal(make_repo: MakeRepo) -> None:
    root = make_repo(
        {"schema/opportunities.schema.yaml": SCHEMA, "data/clients/acme.md": record("title: A")}
    )
    asked: list[str] = []

    def ask(label: str, name: str) -> str:
        asked.append(name)
        return "acme"

    path, problems = new_record(root, "opportunities", "Deal", ask=ask)
    assert (path, problems) == ("data/opportunities/deal.md", ())
    assert asked == ["client"]


def test_bad_values_are_errors_and_write_nothing(make_repo: MakeRepo) -> None:
    root = make_repo({"schema/opportunities.schema.yaml": SCHEMA})
    code, _, err = _new(root, "opportunities", "Deal", "--set", "client=x", "--set", "amout=3")
    assert code == 2
    assert "opportunities has no field 'amout'; did you mean 'amount'?" in err
    (root / "data/clients").mkdir(parents=True)
    (root / "data/clients/x.md").write_text(record("title: X"))
    code, _, err = _new(root, "opportunities", "Deal", "--set", "client=x", "--set", "list=Won")
    assert code == 1
    assert "list must be one of the lists" in err
    code, _, err = _new(root, "opportunities", "Deal", "--set", "client=acme-crop")
    assert code == 1
    assert "client 'acme-crop' does not exist in clients" in err
    code, _, err = _new(root, "opportunity", "Deal")
    assert code == 2 and "did you mean 'opportunities'?" in err
    assert not (root / "data/opportunities").exists()
