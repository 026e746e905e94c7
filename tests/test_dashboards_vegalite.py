"""Charts: number formats per locale, Vega-Lite specs, static SVG, the offline bundle."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
        ("0.4567", "percent", "en_GB", "45.67%"),
        ("0.6247", "percent", "en_GB", "62.47%"),  # the precision a win rate needs
        ("0.0118", "percent", "en_GB", "1.18%"),
        ("0.5", "percent", "en_GB", "50%"),
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


def test_a_pie_gives_each_slice_its_site_colour() -> None:
    colours = {"Jan 2025": "#111111", "Feb 2025": "#222222", "Mar 2025": "#333333", "X": "#444"}
    spec = charts.chart_spec("pie", "count", ROWS, title="T", key_title="Source", colours=colours)
    assert spec["mark"]["type"] == "arc" and spec["mark"]["innerRadius"] > 0  # a donut
    scale = spec["encoding"]["color"]["scale"]
    # the groups present, each with its colour; the browser narrows it under a filter
    assert scale == {"domain": ["Jan 2025", "Feb 2025", "Mar 2025"],
                     "range": ["#111111", "#222222", "#333333"]}  # fmt: skip
    assert spec["usermeta"]["colours"] == colours
    assert spec["encoding"]["color"]["legend"] is None  # the page lists slices with values
    assert spec["encoding"]["order"]["field"] == "i"


def test_categories_are_drawn_sideways_as_wide_as_the_card_with_readable_text() -> None:
    rows = [{"k": f"Owner {n}", "s": "Deals", "v": n, "i": n} for n in range(30)]
    spec = charts.chart_spec("bar", "count", rows, title="T", key_title="Owner", horizontal=True)
    assert spec["width"] == "container" and spec["height"] == {"step": charts.BAND}
    assert spec["encoding"]["y"]["field"] == "k" and spec["encoding"]["x"]["field"] == "v"
    axis = spec["encoding"]["x"]["axis"]
    assert (axis["format"], axis["tickMinStep"]) == (",d", 1)  # whole numbers, each once
    assert spec["config"]["axis"]["labelFontSize"] >= 11
    assert spec["config"]["legend"]["labelFontSize"] >= 11
    assert charts.static_size(spec)["width"] == 460  # vl-convert has no container


@pytest.mark.parametrize(
    ("fmt", "display", "value", "d3", "text"),
    [
        ("number", {"decimals": 0, "grouping": False}, "1996", ".0f", "1996"),
        ("number", {"decimals": 1}, "1234.56", ",.1f", "1,234.6"),
        ("currency", {"decimals": 2}, "1234.5", "$,.2f", "€1,234.50"),
        ("currency", {"grouping": False}, "1234.5", "$.0f", "€1235"),
        ("count", {"grouping": False}, "12345", "d", "12345"),
        ("number", {}, "1234.567", ",.2~f", "1,234.57"),
    ],
)
def test_a_declared_display_format_shapes_axes_and_cards(
    fmt: str, display: dict[str, object], value: str, d3: str, text: str
) -> None:
    assert charts.d3_format(fmt, display) == d3
    found = charts.format_value(Decimal(value), fmt, currency="EUR", locale="en_GB",
                                display=display)  # fmt: skip
    assert found == text


def test_static_svg_uses_the_site_currency_and_is_deterministic() -> None:
    spec = charts.chart_spec("bar", "currency", ROWS, title="Sales", key_title="Month")
    german = charts.format_locale("de_DE", "EUR")
    [svg] = charts.render_svgs([(spec, german)])
    assert svg.startswith("<svg") and "Mar 2025" in svg
    assert "30.000\xa0€" in svg  # an axis label in German with the euro after it
    assert charts.render_svgs([(spec, german)]) == [svg]


def test_the_bundle_works_offline_under_a_strict_csp() -> None:
    bundle = charts.vega_bundle()
    assert "window.vegaEmbed=" in bundle and "window.vega=" in bundle
    assert "expressionInterpreter" in bundle  # vega-embed's `ast: true` needs no eval
    assert len(bundle.encode()) < 1_000_000


@pytest.mark.parametrize(
    "make",
    [
        lambda: charts.chart_spec("bar", "currency", ROWS, title="T", key_title="Month"),
        lambda: charts.chart_spec("line", "count", ROWS, title="T", key_title="Month"),
        lambda: charts.chart_spec(
            "bar",
            "count",
            [*ROWS, *({**row, "s": "Paid"} for row in ROWS)],
            title="T",
            key_title="Month",
            series=["Sales", "Paid"],
        ),
        lambda: charts.chart_spec(
            "line",
            "number",
            [*ROWS, *({**row, "s": "Paid"} for row in ROWS)],
            title="T",
            key_title="Month",
            series=["Sales", "Paid"],
            display={"decimals": 1},
        ),
        lambda: charts.chart_spec(
            "bar",
            "count",
            ROWS,
            title="T",
            key_title="Owner",
            horizontal=True,
            colours={"Jan 2025": "#111111"},
        ),
        lambda: charts.chart_spec(
            "bar",
            "count",
            [*ROWS, *({**row, "s": "Paid"} for row in ROWS)],
            title="T",
            key_title="Owner",
            series=["Sales", "Paid"],
            horizontal=True,
        ),
        lambda: charts.chart_spec(
            "pie", "percent", ROWS, title="T", key_title="Source", colours={"X": "#444444"}
        ),
        lambda: charts.stage_times_spec(
            [{"k": "Lead", "median": 3, "low": 1, "high": 5, "n": 4}], title="Days"
        ),
    ],
)
def test_every_chart_shape_is_valid_vega_lite(make: Any) -> None:
    """The build does not let Altair check its specs (``ALTAIR_CHECKS``): each shape it makes
    is checked here, against the Vega-Lite schema Altair ships, as drawn in the browser and
    as drawn for the static SVG."""
    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema import load_schema

    assert charts.ALTAIR_CHECKS is False
    spec = make()
    for shape in (spec, charts.static_size(spec)):
        assert validate_jsonschema(shape, load_schema(), raise_error=False) is None
    broken = {**spec, "mark": {"type": "no-such-mark"}}
    assert validate_jsonschema(broken, load_schema(), raise_error=False) is not None
