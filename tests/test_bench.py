"""The benchmark's generator writes valid, deterministic repos; the runner measures sites."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.generate import TODAY, generate, scalar
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
