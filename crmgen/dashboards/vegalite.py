"""Charts: chart rows -> Vega-Lite specs (Altair), static SVG (vl-convert), number formats.

Every spec reads one named data set, ``table``, of rows ``{"k": group label, "s": series label,
"v": value, "i": order}``; the browser swaps those rows when the dashboard filters change (see
``static/dashboard.js``), and the static SVG is drawn from the unfiltered rows. Altair and
vl-convert are imported lazily: they are heavy and only a build with dashboards needs them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crmgen.model.store import NO_STORE, Store

#: The named data set every spec reads.
DATA_NAME = "table"
#: Value formats: how a measure's number is shown (d3-format specifiers for Vega).
D3_FORMATS = {
    "currency": "$,.0f",
    "count": ",.0f",
    "number": ",.2~f",
    "percent": ".1~%",
    "days": ",.1~f",
}
_WIDTH, _HEIGHT, _PIE = 460, 220, 220
#: What the bundle puts on ``window``: vega-embed (which carries Vega-Lite) and Vega.
_BUNDLE_EXPORTS = "window.vegaEmbed = vegaEmbed;\nwindow.vega = vega;\n"


def format_locale(locale: str, currency: str) -> dict[str, Any]:
    """A d3-format locale: the separators of ``locale`` and the symbol of ``currency``.

    Vega formats ``$`` in a specifier with it, so axes and tooltips show the site's currency
    placed as the site's locale places it (``€1,200`` in en_GB, ``1.200 €`` in de_DE).
    """
    from babel import Locale
    from babel.numbers import get_currency_symbol, get_decimal_symbol, get_group_symbol

    pattern = Locale.parse(locale).currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale)
    first, rest = pattern.grouping
    return {
        "decimal": get_decimal_symbol(locale),
        "thousands": get_group_symbol(locale),
        "grouping": [first] if first == rest else [first, rest],
        "currency": [
            pattern.prefix[0].replace("¤", symbol),
            pattern.suffix[0].replace("¤", symbol),
        ],
    }


def format_value(value: Decimal | None, fmt: str, *, currency: str, locale: str) -> str:
    """Text of a stat card: whole currency units, counts, percentages or days; "–" for none."""
    from babel import Locale
    from babel.numbers import format_currency, format_decimal, format_percent
    from babel.units import format_unit

    if value is None:
        return "–"
    if fmt == "currency":
        pattern = Locale.parse(locale).currency_formats["standard"].pattern
        whole = pattern.split(";")[0].replace(".00", "").replace(".0", "")
        amount = value.quantize(Decimal(1), ROUND_HALF_UP)
        return str(format_currency(amount, currency, whole, locale=locale, currency_digits=False))
    if fmt == "percent":
        return str(format_percent(value, locale=locale))
    if fmt == "days":
        days = value.quantize(Decimal(1), ROUND_HALF_UP)
        return str(format_unit(days, "duration-day", "long", locale=locale))
    if fmt == "count":
        return str(format_decimal(value.quantize(Decimal(1), ROUND_HALF_UP), locale=locale))
    return str(format_decimal(value.quantize(Decimal("0.01"), ROUND_HALF_UP), locale=locale))


def chart_spec(
    kind: str,
    fmt: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    key_title: str,
    series: Sequence[str] = (),
    domain: Sequence[str] = (),
) -> dict[str, Any]:
    """A Vega-Lite spec for a bar, line or pie chart of ``rows``.

    Args:
        kind: bar, line or pie.
        fmt: the value format (a key of ``D3_FORMATS``).
        rows: the initial data, in display order (also what the static SVG shows).
        title: the chart title, used as the accessible description.
        key_title: what the groups are ("Month", "List", "Source"...), for tooltips.
        series: the series labels, in order (default: those found in ``rows``).
        domain: every group label a pie may show, in order, so that a slice keeps its colour
            when filters hide others.

    Returns:
        The spec as a dict with ``datasets.table`` set to ``rows``.
    """
    import altair as alt

    number = D3_FORMATS[fmt]
    series = list(series or dict.fromkeys(str(row["s"]) for row in rows))
    tooltip = [
        alt.Tooltip("k:N", title=key_title),
        alt.Tooltip("v:Q", title="Value", format=number),
    ]
    if len(series) > 1:
        tooltip.insert(1, alt.Tooltip("s:N", title="Series"))
    legend = alt.Legend(orient="bottom")
    color = alt.Color("s:N", title=None, scale=alt.Scale(domain=series), legend=legend)
    base = alt.Chart(description=title)
    if kind == "pie":
        chart = base.mark_arc(innerRadius=55, outerRadius=105).encode(
            theta=alt.Theta("v:Q", stack=True),
            color=alt.Color(
                "k:N",
                title=None,
                scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined,
                legend=alt.Legend(labelLimit=180),
            ),
            order=alt.Order("i:Q"),
            tooltip=tooltip,
        )
        chart = chart.properties(width=_PIE, height=_PIE)
    else:
        x = alt.X("k:O", sort=None, title=None, axis=alt.Axis(labelAngle=-40, labelOverlap=True))
        step = 1 if fmt == "count" else alt.Undefined
        y = alt.Y("v:Q", title=None, axis=alt.Axis(format=number, tickCount=5, tickMinStep=step))
        mark = base.mark_line(point=True) if kind == "line" else base.mark_bar()
        chart = mark.encode(x=x, y=y, tooltip=tooltip, **_series_channels(kind, series, color))
        chart = chart.properties(width=_WIDTH, height=_HEIGHT)
    spec: dict[str, Any] = chart.to_dict()
    spec["data"] = {"name": DATA_NAME}
    spec["datasets"] = {DATA_NAME: [dict(row) for row in rows]}
    return spec


def _series_channels(kind: str, series: list[str], color: Any) -> dict[str, Any]:
    import altair as alt

    if len(series) < 2:
        return {}
    if kind == "line":
        return {"color": color}
    return {"color": color, "xOffset": alt.XOffset("s:N", scale=alt.Scale(domain=series))}


def render_svg(spec: Mapping[str, Any], locale: Mapping[str, Any], store: Store = NO_STORE) -> str:
    """Draw a spec as a static SVG with the given d3-format locale (for no-JS and print).

    Cached in ``store`` by the spec, the locale and the version of vl-convert.
    """
    import vl_convert

    text = json.dumps([spec, locale, _vl_version()], sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).hexdigest()
    cached = store.get("svg", key)
    if cached is not None:
        return cached.decode()
    svg = str(vl_convert.vegalite_to_svg(dict(spec), format_locale=dict(locale)))
    store.put("svg", key, svg.encode())
    return svg


def vega_bundle(store: Store = NO_STORE) -> str:
    """Vega, Vega-Lite and vega-embed as one script that sets ``window.vegaEmbed``, no CDN.

    The same for every audience and over a second to make: cached in ``store`` by the version
    of vl-convert (whose Vega it bundles) and what the bundle exports.
    """
    text = f"{_vl_version()}\n{_BUNDLE_EXPORTS}"
    key = hashlib.sha256(text.encode()).hexdigest()
    cached = store.get("vega-bundle", key)
    if cached is not None:
        return cached.decode()
    bundle = _bundle(text)
    store.put("vega-bundle", key, bundle.encode())
    return bundle


@functools.cache
def _vl_version() -> str:
    from importlib.metadata import version

    return version("vl-convert-python")


@functools.cache
def _bundle(version_and_exports: str) -> str:
    import vl_convert

    return str(vl_convert.javascript_bundle(_BUNDLE_EXPORTS))


def stage_times_spec(rows: Sequence[Mapping[str, Any]], *, title: str) -> dict[str, Any]:
    """Median days in each list (bars) with the middle half of the stays (a line from the
    first to the third quartile). ``rows``: ``{"k": list, "median", "low", "high", "n"}``."""
    import altair as alt

    base = alt.Chart(description=title).encode(
        y=alt.Y("k:N", sort=None, title=None, axis=alt.Axis(labelLimit=180)),
        tooltip=[
            alt.Tooltip("k:N", title="List"),
            alt.Tooltip("median:Q", title="Median days", format=",.1~f"),
            alt.Tooltip("low:Q", title="First quartile", format=",.1~f"),
            alt.Tooltip("high:Q", title="Third quartile", format=",.1~f"),
            alt.Tooltip("n:Q", title="Stays", format=",.0f"),
        ],
    )
    bars = base.mark_bar(opacity=0.75).encode(
        x=alt.X("median:Q", title="Days (median; line: middle half of the stays)")
    )
    spread = base.mark_rule(strokeWidth=2).encode(x="low:Q", x2="high:Q")
    chart = alt.layer(bars, spread).properties(width=_WIDTH, height=max(60, 26 * len(rows)))
    spec: dict[str, Any] = chart.to_dict()
    spec["data"] = {"name": DATA_NAME}
    spec["datasets"] = {DATA_NAME: [dict(row) for row in rows]}
    return spec
