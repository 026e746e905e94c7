"""Numbers never crash the build or lose precision silently.

Every number that validates is shown, sorted and charted exactly; a number past a bound is an
error naming the limit; a formula result is rounded to what can be shown (documented) or, when
too large, is a diagnostic for that record, never a traceback.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from conftest import OPPS_SCHEMA, MakeRepo, record
from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.build import build_site, load_dataset
from crmgen.fields.formatting import format_value, plain_number, sort_value
from crmgen.fields.rules import MAX_DIGITS, MAX_EXPONENT, MIN_EXPONENT, fit_number, number_problem
from crmgen.yamlstrict import resolve_plain


@st.composite
def valid_numbers(draw: st.DrawFn) -> Decimal:
    digits = draw(st.integers(min_value=1, max_value=MAX_DIGITS))
    coefficient = draw(st.integers(min_value=10 ** (digits - 1), max_value=10**digits - 1))
    low = MIN_EXPONENT - (digits - 1)
    exponent = draw(st.integers(min_value=max(low, -20), max_value=MAX_EXPONENT - (digits - 1)))
    sign = draw(st.sampled_from((1, -1)))
    number = Decimal(sign * coefficient).scaleb(exponent)
    return number


def _plain(text: str) -> Decimal:
    """A number back from en_US display text ("$1,234.5", "-0.000001")."""
    return Decimal(text.replace(",", "").replace("$", "").replace("%", "").replace("\u2212", "-"))


@settings(max_examples=400, deadline=None)
@given(valid_numbers())
def test_every_number_that_validates_shows_sorts_and_charts_exactly(number: Decimal) -> None:
    assert number_problem(number) is None
    written = format(number, "f")
    parsed = resolve_plain(written)
    assert parsed == number
    for kind in ("number", "currency"):
        shown = format_value(parsed, kind, currency="USD", locale="en_US")
        assert _plain(shown) == number, (kind, shown)
    assert Decimal(sort_value(parsed)) == number
    assert Decimal(plain_number(number)) == number
    assert Decimal(repr(float(number))) == number  # a chart's JSON number is exact
    assert fit_number(number) == number


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_any_computed_number_fits_or_is_refused_never_crashes(number: Decimal) -> None:
    fitted = fit_number(number)
    if isinstance(fitted, Decimal):
        assert number_problem(fitted) is None
        assert abs(fitted - number) <= abs(number) * Decimal("1e-14") or (
            fitted == 0 and abs(number) < Decimal("1e-12")
        )
    else:
        assert "below 10^15" in fitted


EXTREMES = {
    "top": ("999999999999999", "$999,999,999,999,999"),
    "tiny": ("0.000000000001", "0.000000000001"),
    "digits": ("12345678.9012345", "$12,345,678.9012345"),
    "negative": ("-0.5", "-$0.50"),
}


def test_extremes_build_and_show_exactly(make_repo: MakeRepo, tmp_path: Path) -> None:
    schema = OPPS_SCHEMA.replace(
        "  cost: {type: number, minimum: 0, x-crmgen: {type: currency}}",
        "  cost: {type: number, x-crmgen: {type: currency}}\n"
        "  third: {x-crmgen: {type: formula, formula: 'cost / 3'}}\n"
        "  huge: {x-crmgen: {type: formula, formula: 'cost * 1000000000', result: number}}",
    )
    files = {
        "schema/opportunities.schema.yaml": schema,
        "crmgen.yml": "projects: [clients, opportunities]\ncurrency: USD\nlocale: en_US\n",
        "data/clients/acme.md": record("title: Acme"),
    }
    for name, (value, _) in EXTREMES.items():
        files[f"data/opportunities/{name}.md"] = record(
            f"title: {name}\nlist: Lead\nclient: acme\ncost: {value}"
        )
    root = make_repo(files)
    dataset = load_dataset(root)
    problems = [(d.path, d.field, d.message) for d in dataset.problems]
    # the two values past 10^6 cannot be shown times 10^9: one diagnostic for each record
    assert problems == [
        ("data/opportunities/digits.md", "huge",
         "huge: is too large to show exactly: results must stay below 10^15 "
         "(in formula 'cost * 1000000000')"),
        ("data/opportunities/top.md", "huge",
         "huge: is too large to show exactly: results must stay below 10^15 "
         "(in formula 'cost * 1000000000')"),
    ]  # fmt: skip
    third = dataset.record("opportunities", "digits")
    assert third is not None and third.computed["third"] == Decimal("4115226.30041150")
    for name, (value, _) in EXTREMES.items():
        found = dataset.record("opportunities", name)
        assert found is not None and found.values["cost"] == Decimal(value)
    root.joinpath("schema/opportunities.schema.yaml").write_text(
        schema.replace("cost * 1000000000", "cost / 1000"), encoding="utf-8"
    )
    result = build_site(root, tmp_path / "site", audience=None)
    assert result.problems == ()
    for name, (value, shown) in EXTREMES.items():
        page = (tmp_path / "site/opportunities" / f"{name}.html").read_text(encoding="utf-8")
        assert shown in page, (name, shown)
        assert f'data-sort="{plain_number(Decimal(value))}"' in page


def test_past_each_bound_is_an_error_naming_the_limit(make_repo: MakeRepo) -> None:
    past = {
        "big": ("1000000000000000", "below 10^15"),
        "long": ("1.23456789012345678", "at most 15 can be shown exactly"),
        "small": ("0.0000000000001", "at least 10^-12"),
        "exponent": ("1e15", "below 10^15"),
    }
    files = {"data/clients/acme.md": record("title: Acme")}
    for name, (value, _) in past.items():
        files[f"data/opportunities/{name}.md"] = record(
            f"title: {name}\nlist: Lead\nclient: acme\namount: {value}"
        )
    errors = load_dataset(make_repo(files)).errors
    found = {d.path.rsplit("/", 1)[1][:-3]: d for d in errors}
    assert sorted(found) == sorted(past)
    for name, (_, words) in past.items():
        assert words in found[name].message and found[name].field == "amount"
        assert (found[name].line, found[name].col) == (5, 9)
    assert json.dumps([d.message for d in errors])  # plain text, no traceback
