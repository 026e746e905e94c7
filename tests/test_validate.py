from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path

from conftest import MakeRepo, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmgen.build import load_dataset
from crmgen.validate import check_file, parse_date


def test_values_are_typed(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/x.md": record(
                "title: X\nlist: Lead\ntags: [seo]\nclient: acme\namount: 10.50\n"
                "expected_close: 2026-12-01\nconfidence: 3\ncost:"
            ),
        }
    )
    ds = load_dataset(root)
    assert ds.errors == ()
    x = ds.record("opportunities", "x")
    assert x is not None
    assert x.values["expected_close"] == dt.date(2026, 12, 1)
    assert x.values["amount"] == Decimal("10.50")
    assert x.values["tags"] == ("seo",)
    assert "cost" not in x.values  # an empty value is absent


def test_yaml_11_values_stay_as_typed_in_string_fields(make_repo: MakeRepo) -> None:
    root = make_repo(
        {"data/clients/norway.md": record("title: NO\ncode: 12:30\nphone: '+47 22 00 00 00'")}
    )
    ds = load_dataset(root)
    assert ds.errors == ()
    norway = ds.record("clients", "norway")
    assert norway is not None
    assert norway.values["title"] == "NO" and norway.values["code"] == "12:30"


def test_all_errors_in_all_files_are_reported(make_repo: MakeRepo) -> None:
    files: dict[str, str | bytes | None] = {
        f"data/clients/c{i}.md": record(f"title: C{i}\nemail: nope{i}") for i in range(30)
    }
    ds = load_dataset(make_repo(files))
    assert len(ds.errors) == 30
    assert all(d.line == 3 and d.field == "email" for d in ds.errors)


def test_parse_date() -> None:
    assert parse_date("2024-02-29") == dt.date(2024, 2, 29)
    for bad in ("2026-02-30", "2026-2-3", "20260101", "2026-13-01", None, 20260101):
        assert parse_date(bad) is None


def test_file_field_symlink_out_of_attachments(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "files").mkdir(parents=True)
    (root / "secret.txt").write_text("s")
    (root / "files" / "ok.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    os.symlink(root / "secret.txt", root / "files" / "link.txt")
    assert check_file(root, "files", "files/ok.pdf") is None
    problem = check_file(root, "files", "files/link.txt")
    assert problem is not None and "links outside the attachments folder" in problem
    assert check_file(root, "files", "C:/x") is not None
    assert check_file(root, "files", "files\\ok.pdf") is not None


field_values = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.sampled_from(
        ["2026-02-30", "1e999", ".nan", "NO", "[a, b", "{x: 1}", "&a x", "*a", "!!str"]
    ),
)


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "list",
                "tags",
                "client",
                "amount",
                "profit",
                "confidence",
                "expected_close",
                "weird key",
                "client_email",
            ]
        ),
        field_values,
        max_size=8,
    ),
    st.text(max_size=40),
)
def test_random_records_give_values_or_diagnostics(
    make_repo: MakeRepo, fields: dict[str, object], body: str
) -> None:
    lines = "\n".join(f"{k}: {v}" for k, v in fields.items())
    root = make_repo({"data/opportunities/fuzz.md": "---\n" + lines + "\n---\n" + body})
    start = time.perf_counter()
    ds = load_dataset(root)
    assert time.perf_counter() - start < 2
    for d in ds.problems:
        assert d.path and d.message
