"""Charts: number formats per locale, Vega-Lite specs, static SVG, the offline bundle."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmgen.dashboards import vegalite as charts

ROWS = [
    {"k": "Jan 2025", "s": "Sales", "v": 1200.0, "i": 0},
    {"k": "Feb 2025", "s": "Sales", "v": 0.0, "i": 1},
    {"k": "Mar 2025", "s": "Sales", "v": 34567.0, "i": 2},
]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en_GB", {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]}),
        ("de_DE", {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", "\xa0€"]}),
        ("hi_IN", {"decimal": ".", "thousands": ",", "grouping": [3, 2], "currency": ["€", ""]}),
    ],
)
def test_format_locale_places_the_site_currency_as_the_locale_does(
    locale: str, expected: dict[str, object]
) -> None:
    assert charts.format_locale(locale, "EUR") == expected


@pytest.mark.parametrize(
    ("value", "fmt", "locale", "text"),
    [
        ("1234567.5", "currency", "en_GB", "€1,234,568"),
        ("1234567.5", "currency", "de_DE", "1.234.568\xa0€"),
        ("0.4567", "percent", "en_GB", "46%"),
        ("43.5", "days", "en_GB", "44 days"),
        ("1", "days", "en_GB", "1 day"),
        ("1234", "count", "de_DE", "1.234"),
        ("1234.567", "number", "en_GB", "1,234.57"),
        (None, "currency", "en_GB", "–"),
    ],
)
def test_format_value(value: str | None, fmt: str, locale: str, text: str) -> None:
    number = Decimal(value) if value is not None else None
    assert charts.format_value(number, fmt, currency="EUR", locale=locale) == text


def test_a_bar_spec_reads_the_named_table_in_order() -> None:
    spec = charts.chart_spec("bar", "currency", ROWS, title="Sales", key_title="Month")
    assert spec["data"] == {"name": "table"}
    assert spec["datasets"] == {"table": ROWS}
    assert spec["mark"]["type"] == "bar" and spec["description"] == "Sales"
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert (x["field"], x["type"], x["sort"]) == ("k", "ordinal", None)  # months as labels
    assert (y["field"], y["axis"]["format"]) == ("v", "$,.0f")
    assert "xOffset" not in spec["encoding"] and "color" not in spec["encoding"]
    assert "timeUnit" not in str(spec)  # nothing for the viewer's time zone to shift


def test_several_series_sit_side_by_side_with_fixed_colours() -> None:
    rows = [*ROWS, *({**row, "s": "Paid"} for row in ROWS)]
    spec = charts.chart_spec(
        "bar", "count", rows, title="T", key_title="Month", series=["Sales", "Paid", "Invoiced"]
    )
    encoding = spec["encoding"]
    assert encoding["xOffset"]["scale"]["domain"] == ["Sales", "Paid", "Invoiced"]
    assert encoding["color"]["scale"]["domain"] == ["Sales", "Paid", "Invoiced"]
    assert encoding["y"]["axis"]["tickMinStep"] == 1  # no "0.5 deals"
    line = charts.chart_spec("line", "count", rows, title="T", key_title="Month")
    assert line["mark"] == {"type": "line", "point": True} and "xOffset" not in line["encoding"]


def test_a_pie_keeps_each_slice_colour_whatever_the_filter() -> None:
    spec = charts.chart_spec(
        "pie",
        "count",
        ROWS,
        title="T",
        key_title="Source",
        domain=["Jan 2025", "Feb 2025", "Mar 2025", "(not set)"],
    )
    assert spec["mark"]["type"] == "arc" and spec["mark"]["innerRadius"] > 0  # a donut
    assert spec["encoding"]["color"]["scale"]["domain"][-1] == "(not set)"
    assert spec["encoding"]["order"]["field"] == "i"


def test_static_svg_uses_the_site_currency_and_is_deterministic() -> None:
    spec = charts.chart_spec("bar", "currency", ROWS, title="Sales", key_title="Month")
    svg = charts.render_svg(spec, charts.format_locale("de_DE", "EUR"))
    assert svg.startswith("<svg") and "Mar 2025" in svg
    assert "30.000\xa0€" in svg  # an axis label in German with the euro after it
    assert charts.render_svg(spec, charts.format_locale("de_DE", "EUR")) == svg


def test_the_bundle_works_offline_under_a_strict_csp() -> None:
    bundle = charts.vega_bundle()
    assert "window.vegaEmbed=" in bundle and "window.vega=" in bundle
    assert "expressionInterpreter" in bundle  # vega-embed's `ast: true` needs no eval
    assert len(bundle.encode()) < 1_000_000
