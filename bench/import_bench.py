"""How long ``crmgen import`` and ``crmgen export`` take on a large CSV.

Writes an empty data repo with the example's ``crmgen.yml``, schemas and attachments, and two
CSV files shaped like another CRM's export: N/20 accounts and N deals that name their account
by its company name, with thousands separators, currency symbols, day/month/year dates and
stage names mapped by a mapping file. Then it times, each in one process:

* the import of both files in one command (every row parsed, validated and written);
* the same import again with ``--update`` (every row found and compared: nothing changes);
* the export of the deals as CSV (the whole check, redaction, every computed field).

Usage: ``python -m bench.import_bench [--rows 10000] [--out /tmp/crmgen-import-bench]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from bench.generate import REPO_ROOT

STAGES = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
MAPPING = """\
files:
  accounts.csv:
    project: clients
    columns: {Account Name: title, Web: website, Industry: category}
  deals.csv:
    project: opportunities
    columns: {Opportunity Name: title, Account Name: client, Close Date: expected_close}
    values:
      list: {New: Unqualified, Qualified: Qualification, Proposal: Proposal sent,
             Won: Closed won, Lost: Closed lost}
    date_formats: ["%d/%m/%Y"]
"""


def write_inputs(folder: Path, rows: int, seed: int = 0) -> None:
    """The accounts and deals CSV files and the mapping file."""
    rng = random.Random(seed)
    accounts = [
        f"Account {n:05d} {rng.choice(['GmbH', 'Ltd', 'SA', 'Inc'])}" for n in range(rows // 20)
    ]
    with open(folder / "accounts.csv", "w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(["Account Name", "Email", "Web", "Industry", "Stage"])
        for n, name in enumerate(accounts):
            out.writerow(
                [name, f"info{n}@acct{n}.example", f"https://www.acct{n}.example", "Technology",
                 "Prospect"]
            )  # fmt: skip
    with open(folder / "deals.csv", "w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(["Opportunity Name", "Stage", "Account Name", "Amount", "Close Date", "Tags"])
        for n in range(rows):
            amount = rng.randrange(1000, 200000)
            out.writerow(
                [
                    f"Deal {n:06d}",
                    rng.choice(STAGES),
                    rng.choice(accounts),
                    f"€{amount:,}.{rng.randrange(100):02d}",
                    f"{rng.randrange(1, 28):02d}/{rng.randrange(1, 13):02d}/2026",
                    ", ".join(rng.sample(["website", "seo", "branding", "video"], 2)),
                ]
            )
    (folder / "mapping.yml").write_text(MAPPING, encoding="utf-8")


def empty_repo(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "crmgen.yml", root / "crmgen.yml")
    shutil.copytree(REPO_ROOT / "schema", root / "schema")
    shutil.copytree(REPO_ROOT / "files", root / "files")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/crmgen-import-bench"))
    args = parser.parse_args(argv)

    from crmgen.build.interchange import export_project, import_files
    from crmgen.interchange.rows import Options

    root = args.out / "repo"
    empty_repo(root)
    write_inputs(args.out, args.rows)
    files = [args.out / "deals.csv", args.out / "accounts.csv"]
    mapping = args.out / "mapping.yml"

    start = time.perf_counter()
    first = import_files(root, files, mapping=mapping)
    took_import = time.perf_counter() - start
    assert first.written and not first.problems, first.problems
    start = time.perf_counter()
    again = import_files(root, files, mapping=mapping, options=Options(update=True))
    took_again = time.perf_counter() - start
    start = time.perf_counter()
    data, problems = export_project(root, "opportunities")
    took_export = time.perf_counter() - start
    assert data is not None, problems
    rows = sum(len(r) for r in [first.rows])
    print(f"import of {rows} rows ({args.rows} deals, {args.rows // 20} accounts): "
          f"{took_import:.1f} s; totals {first.totals}")  # fmt: skip
    print(f"re-import with --update: {took_again:.1f} s; totals {again.totals}")
    print(f"export of {args.rows} deals: {took_export:.1f} s ({len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
