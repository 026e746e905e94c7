"""Restricted fields appear nowhere in a build for another audience: not in HTML, not in
data attributes, dashboard data, charts or SVGs, not through formulas or lookups, and not in
the search index, word by word."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from conftest import OPPS_SCHEMA, MakeRepo, record

from crmgen.build import build_site
from crmgen.views.search import terms

SECRET_COST = "987654.321"
SECRETS = ["987654.321", "987,654.32", "987654", "987,654", "SECRET-NOTE-XYZ"]
# profit = amount - cost = 1000000 - 987654.321 = 12345.679
DERIVED = ["12345.679", "12,345.68", "12,345.679", "12345"]


def _repo(make_repo: MakeRepo) -> Path:
    schema = OPPS_SCHEMA.replace(
        "cost: {type: number, minimum: 0, x-crmgen: {type: currency}}",
        "cost: {type: number, minimum: 0, x-crmgen: {type: currency, audiences: [managers]}}\n"
        "  internal: {type: string, x-crmgen: {type: text, audiences: [managers]}}",
    )
    return make_repo(
        {
            "schema/opportunities.schema.yaml": schema,
            "crmgen.yml": "title: T\ncurrency: EUR\nlocale: en_GB\n"
            "projects: [clients, opportunities]\naudiences: [{name: managers}]\n"
            "dashboards:\n  - name: money\n    title: Money\n    charts:\n"
            "      - {title: Profit, kind: stat, measure: sum(profit)}\n"
            "      - {title: Cost by tag, kind: bar, measure: sum(cost), group: tag}\n"
            "      - {title: Amount, kind: stat, measure: sum(amount)}\n"
            "      - {title: Amount by tag, kind: bar, measure: sum(amount), group: tag}\n",
            "data/clients/acme.md": record("title: Acme"),
            "data/opportunities/big.md": record(
                f"title: Big deal\nlist: Closed won\nclient: acme\namount: 1000000\n"
                f"cost: {SECRET_COST}\ninternal: SECRET-NOTE-XYZ\ntags: [seo]\n"
                "expected_close: 2026-12-01"
            ),
        }
    )


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "vega-bundle.js"
    }


def test_default_build_leaks_no_restricted_value(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _repo(make_repo)
    out = tmp_path / "public"
    result = build_site(root, out, today=dt.date(2026, 11, 27))
    assert result.written > 0
    files = _all_bytes(out)
    assert any(name.endswith(".svg") for name in files)
    dashboard = files["dashboards/money.html"].decode()
    assert "Amount" in dashboard and "Profit" not in dashboard and "Cost by tag" not in dashboard
    for name, data in files.items():
        text = data.decode("utf-8", errors="replace")
        for secret in SECRETS + DERIVED:
            assert secret not in text, f"{secret} leaked into {name}"
        for label in ('data-field="cost"', 'data-field="profit"', 'data-field="internal"'):
            assert label not in text, f"{label} in {name}"


def test_managers_build_shows_them(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _repo(make_repo)
    out = tmp_path / "managers"
    assert build_site(root, out, audience="managers", today=dt.date(2026, 11, 27)).written
    dashboard = (out / "dashboards/money.html").read_text()
    assert "Profit" in dashboard and "Cost by tag" in dashboard
    page = (out / "opportunities/big.html").read_text()
    # shown exactly, not rounded to cents
    assert "987,654.321" in page and "SECRET-NOTE-XYZ" in page and "12,345.679" in page


def test_publish_audience_is_what_a_plain_build_makes(make_repo: MakeRepo, tmp_path: Path) -> None:
    """``publish: {audience: managers}`` in crmgen.yml: a build without --audience (what the
    publish workflow runs) is the managers' site; without it, the most restricted one."""
    root = _repo(make_repo)
    config = root / "crmgen.yml"
    config.write_text(config.read_text() + "publish: {audience: managers}\n")
    out = tmp_path / "published"
    assert build_site(root, out, today=dt.date(2026, 11, 27)).written
    assert "987,654.321" in (out / "opportunities/big.html").read_text()


def _index_terms(site: Path) -> set[str]:
    """Every term of the search index (vocabulary and postings) and every document's text."""
    found: set[str] = set()
    for path in (site / "search").iterdir():
        data = json.loads(path.read_text(encoding="utf-8"))
        if path.name.startswith("v-"):
            found |= {entry[0] for entry in data}
        elif path.name.startswith("t-"):
            found |= set(data)
        elif path.name.startswith("d-"):
            found |= {t for doc in data for value in doc[1:] for t in terms(str(value))}
    return found


def test_the_search_index_holds_no_restricted_term(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _repo(make_repo)
    public, managers = tmp_path / "public", tmp_path / "managers"
    assert build_site(root, public, today=dt.date(2026, 11, 27)).written
    assert build_site(root, managers, audience="managers", today=dt.date(2026, 11, 27)).written
    restricted = {"secret", "xyz"}  # the words of SECRET-NOTE-XYZ that nothing else has
    assert restricted <= _index_terms(managers)  # the managers' index has them: the test can fail
    indexed = _index_terms(public)
    assert "big" in indexed and not restricted & indexed
    # the documents show the amount, never the cost or the profit
    docs = [path.read_text() for path in (public / "search").glob("d-*.json")]
    assert any("1,000,000" in text for text in docs)
    for secret in SECRETS + DERIVED:
        assert not any(secret in text for text in docs)
