"""The benchmark's generator writes valid, deterministic repos; the runners measure sites."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import compare, compare_report, dashboard_size
from bench.children import Run, run
from bench.generate import TODAY, generate, scalar
from bench.pages import site_weights
from bench.run import site_sizes
from crmgen.build import load_dataset


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench") / "repo"
    counts = generate(root, 200, seed=7)
    assert counts == {"clients": 20, "opportunities": 200, "projects": 10, "invoices": 20}
    return root


def test_generated_repo_validates_with_the_right_counts(repo: Path) -> None:
    dataset = load_dataset(repo, today=TODAY)
    assert [str(d) for d in dataset.problems] == []
    counts = {name: len(project.records) for name, project in dataset.projects.items()}
    assert counts == {"clients": 20, "opportunities": 200, "projects": 10, "invoices": 20}


def test_generated_deals_cover_every_stage_with_consistent_fields(repo: Path) -> None:
    dataset = load_dataset(repo, today=TODAY)
    opportunities = dataset.projects["opportunities"]
    stages = {r.get("list") for r in opportunities.records.values()}
    assert stages == {spec.name for spec in opportunities.schema.lists}
    for record in opportunities.records.values():
        closed = record.get("list") in ("Closed won", "Closed lost")
        assert (record.get("closed") is not None) == closed, record.path
        assert (record.get("loss_reason") is not None) == (record.get("list") == "Closed lost")
        assert 2024 <= record.get("created").year <= 2026
    years = {p.name for p in (repo / "data" / "opportunities").iterdir() if p.is_dir()}
    assert years == {"2024", "2025", "2026"}
    # Lookups and rollups resolve through the generated references.
    projects = dataset.projects["projects"].records.values()
    assert all(p.get("client_email") for p in projects)


def test_same_seed_gives_identical_files_and_another_seed_does_not(
    repo: Path, tmp_path: Path
) -> None:
    generate(tmp_path / "again", 200, seed=7)
    generate(tmp_path / "other", 200, seed=8)
    assert _files(tmp_path / "again") == _files(repo)
    assert _files(tmp_path / "other") != _files(repo)


def test_generate_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate(tmp_path, 10)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(
    "text", ["N/A", "yes", "a: b", "x #y", "1000+", "11-50", "2025-01-01", "+49 30 1", "Léa"]
)
def test_scalar_reads_back_as_the_same_string(text: str) -> None:
    assert yaml.safe_load(f"k: {scalar(text)}") == {"k": text}
    assert yaml.safe_load(f"k: {scalar([text, 'b'])}") == {"k": [text, "b"]}


def test_site_sizes_finds_the_dashboard_data_and_bundle(tmp_path: Path) -> None:
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "assets").mkdir()
    page = b'<p>x</p><script type="application/json" id="dashboard-data">[1,2]</script>'
    (tmp_path / "dashboards" / "index.html").write_bytes(page)
    (tmp_path / "assets" / "vega-bundle.js").write_bytes(b"v" * 100)
    sizes = site_sizes(tmp_path)
    assert sizes["dashboard_page"] == len(page)
    assert sizes["dashboard_data"] == len(b"[1,2]")
    assert sizes["vega-bundle.js"] == 100
    assert sizes["files"] == 2
    assert sizes["site"] == len(page) + 100


def test_dashboard_size_splits_each_dashboard_into_its_parts(tmp_path: Path) -> None:
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "assets").mkdir()
    data = b'{"cubes":[]}'
    page = b'<p>x</p><script type="application/json" id="dashboard-data">' + data + b"</script>"
    for name in ("index", "sales", "team"):
        (tmp_path / "dashboards" / f"{name}.html").write_bytes(page)
    (tmp_path / "assets" / "vega-bundle.js").write_bytes(b"v" * 1_499_900)
    (tmp_path / "assets" / "dashboard.js").write_bytes(b"j" * 100)
    sizes = dashboard_size.dashboard_sizes(tmp_path)
    assert [s.name for s in sizes] == ["sales", "team"]  # index.html is the first one again
    assert sizes[0].data == len(data) and sizes[0].html == len(page) - len(data)
    assert dict(sizes[0].assets) == {"vega-bundle.js": 1_499_900, "dashboard.js": 100}
    assert sizes[0].total == len(page) + 1_500_000
    printed: list[str] = []
    assert dashboard_size.main([str(tmp_path)], out=printed.append) == 0
    rows = [line for line in printed[0].splitlines() if line.startswith("| sales")]
    assert rows == [f"| sales | {len(page) - len(data)} | 12 | 1,499,900 | 100 | "
                    f"{len(page) + 1_500_000:,} | {sizes[0].gzipped:,} | NO |"]  # fmt: skip


# --- bench.compare: crmgen side by side with Hugo --------------------------------------------

_CELL = re.compile(
    r"(n/a|skipped|-|yes|no|<= .+|both .+"
    r"|[\d,]+(\.\d+)?( s| MiB| MB|x| files| pages)?( \(\d+(\.\d+)?%\))?( \[\d of \d ok\])?)"
)


def _tables(report: str) -> dict[str, list[list[str]]]:
    """Rows of the measure tables, by section title."""
    tables: dict[str, list[list[str]]] = {}
    section = ""
    for line in report.splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and not line.startswith(("| measure", "| ---", "| label")):
            tables.setdefault(section, []).append([c.strip() for c in line.strip("|").split("|")])
    return tables


def test_compare_reports_every_section_with_numbers(tmp_path: Path) -> None:
    skip = "warm,incremental,example,serve" + ("" if shutil.which("hugo") else ",hugo")
    printed: list[str] = []
    args = ["--records", "50", "--runs", "1", "--skip", skip, "--keep", str(tmp_path)]
    args += ["--write", str(tmp_path / "RESULTS.md"), "--label", "test"]
    assert compare.main([*args, "--history", str(tmp_path / "h.csv")], out=printed.append) == 0
    report = printed[0]
    assert (tmp_path / "RESULTS.md").read_text(encoding="utf-8") == report + "\n"
    assert [line[3:] for line in report.splitlines() if line.startswith("## ")] == list(
        compare_report.SECTIONS
    )
    tables = _tables(report)
    for section in compare_report.SECTIONS[1:-2]:
        assert tables[section], section
        for row in tables[section]:
            assert len(row) == len(compare_report.HEADER), row
            for cell in row[1:]:
                assert _CELL.fullmatch(cell), (section, row)
    cold = tables["Full build"][0]
    assert cold[0].startswith("full build, cold, 50 records")
    assert float(cold[1].removesuffix(" s")) > 0
    if shutil.which("hugo"):
        assert float(cold[2].removesuffix(" s")) > 0 and cold[3].endswith("x")
        assert tables["Full build"][-1][2] == f"{62 + 4 + 1} pages"
    assert float(tables["Validate"][0][1].removesuffix(" s")) > 0
    assert tables["Incremental rebuild"][0][1] == "skipped"
    history = compare_report.read_history(tmp_path / "h.csv")
    assert [(row["label"], row["records"]) for row in history] == [("test", "50")]
    assert float(history[0]["full_cold_s"]) > 0
    assert "| test |" in report


def test_edit_amount_changes_one_line(repo: Path) -> None:
    path, original, edited = compare.edit_amount(repo)
    assert path.read_bytes() == original
    changed = [
        (a, b) for a, b in zip(original.splitlines(), edited.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1
    before, after = changed[0]
    assert before.startswith(b"amount: ")
    assert int(after.split()[1]) == int(before.split()[1]) + 1


def test_check_hugo_fails_loudly_when_pages_are_missing(tmp_path: Path) -> None:
    content = tmp_path / "data"
    (content / "clients").mkdir(parents=True)
    (content / "clients" / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
    (content / "clients" / "b.md").write_text("---\ntitle: B\n---\n", encoding="utf-8")
    (tmp_path / "site" / "clients").mkdir(parents=True)
    (tmp_path / "site" / "clients" / "a.html").write_text("A", encoding="utf-8")
    output = "  Pages            | 3  \n"
    ran = Run(wall=1, user=1, system=0, rss_kib=1024, returncode=0, output=output)
    with pytest.raises(compare.HugoError, match=r"rendered 3 pages, expected 4 .*clients/b\.md"):
        compare.check_hugo(ran, content, tmp_path / "site")
    (tmp_path / "site" / "clients" / "b.html").write_text("B", encoding="utf-8")
    ran = Run(wall=1, user=1, system=0, rss_kib=1024, returncode=0, output="Pages | 4")
    assert compare.check_hugo(ran, content, tmp_path / "site") == 4


def test_page_weights_count_the_data_a_page_loads_but_not_shared_assets(tmp_path: Path) -> None:
    (tmp_path / "opportunities").mkdir()
    (tmp_path / "assets").mkdir()
    table = b'<table data-src="table.json" data-sort="1.5"></table><script src="../assets/s.js">'
    (tmp_path / "opportunities" / "index.html").write_bytes(table)
    (tmp_path / "opportunities" / "table.json").write_bytes(b"[" + b"1," * 50 + b"1]")
    (tmp_path / "opportunities" / "board.json").write_bytes(b"[]")
    (tmp_path / "assets" / "s.js").write_bytes(b"x" * 500)
    (tmp_path / "assets" / "vega-bundle.js").write_bytes(b"v" * 1000)
    dash = b'<img src="../dashboards/a.svg"><script src="../assets/vega-bundle.js"></script>'
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "a.svg").write_bytes(b"s" * 70)
    (tmp_path / "dashboards" / "sales.html").write_bytes(dash)
    weights = site_weights(tmp_path)
    assert weights["table"].total == len(table) + 103
    assert [name for name, _ in weights["table"].parts] == [
        "opportunities/index.html",
        "opportunities/table.json",
    ]
    assert weights["board"].total is None and weights["board"].mb is None
    assert weights["dashboard"].total == len(dash) + 1000
    assert weights["dashboard"].images == 70
    assert "not in the site" in weights["board"].detail()


MEASURE = """
import json, sys
from bench.children import run
big = run([sys.executable, "-c", "x = b'x' * (150 * 1024 * 1024)"])  # touched memory
small = run([sys.executable, "-c", "print('hi')"])
print(json.dumps([big.ok, small.ok, small.output, big.rss_mib, small.rss_mib]))
"""


def test_child_usage_is_that_childs_own(tmp_path: Path) -> None:
    # Measured from a fresh, small interpreter: a child's peak memory counts the moment after
    # fork, before exec, when it is a copy of its parent (here, a big pytest process).
    root = Path(__file__).parent.parent
    found = subprocess.run(
        [sys.executable, "-c", MEASURE], cwd=root, capture_output=True, text=True, check=True
    )
    big_ok, small_ok, output, big_rss, small_rss = json.loads(found.stdout)
    assert big_ok and small_ok and output.strip() == "hi"
    assert big_rss > 150 > small_rss
    assert run([sys.executable, "-c", "raise SystemExit(3)"]).returncode == 3


def test_a_child_runs_from_bytecode_as_an_installed_crmgen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A timed child never runs with PYTHONDONTWRITEBYTECODE (every run would compile crmgen's
    modules again), whether it inherits the environment or is given one; the rest is kept."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("CRMGEN_BENCH_PROBE", "kept")
    show = (
        "import os; "
        "print(os.environ.get('PYTHONDONTWRITEBYTECODE'), os.environ['CRMGEN_BENCH_PROBE'])"
    )
    assert run([sys.executable, "-c", show]).output.split() == ["None", "kept"]
    given = {**os.environ, "CRMGEN_BENCH_PROBE": "given"}
    assert run([sys.executable, "-c", show], env=given).output.split() == ["None", "given"]


def test_a_cell_says_how_many_runs_its_median_is_made_of() -> None:
    def ran(seconds: float, code: int = 0) -> Run:
        return Run(wall=seconds, user=seconds, system=0, rss_kib=1024, returncode=code, output="")

    size = compare.SizeResult(records=10, files=12)
    size.runs = {"cold": [ran(10)], "edit": [ran(1), ran(2), ran(0.1, code=1)]}
    rows = {row[0]: row for row in _tables("\n".join(compare_report.incremental([size])))[""]}
    assert rows["one field of one opportunity changed, 10 records"][1:] == [
        "1.50 s (15.0%) [2 of 3 ok]",
        "n/a",
        "n/a",
        "<= 10% of full",
        "no",
    ]
    assert rows["nothing changed, 10 records"][1] == "skipped"
    assert _CELL.fullmatch("1.50 s (15.0%) [2 of 3 ok]")


def test_search_bench_reports_the_index_share_and_sizes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import search

    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    assert search.main([str(copy), "--site", str(tmp_path / "site"), "--no-browser"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 < report["steps"]["search"] < report["steps"]["total"]
    assert report["search_share"] == round(report["steps"]["search"] / report["steps"]["total"], 4)
    index = report["index"]
    assert index["files"] == sum(index[kind]["files"] for kind in "dvtf") + 1
    assert index["d"]["files"] == 3  # 250 records, 100 a chunk
    assert index["t"]["largest"] <= index["bytes"]
