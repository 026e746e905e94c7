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
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crmgen.model.store import NO_STORE, Store

#: The named data set every spec reads.
DATA_NAME = "table"
#: Value formats: how a measure's number is shown (d3-format specifiers for Vega). Percentages
#: keep the precision a figure needs (62.47 %, 1.18 %), counts are whole numbers.
D3_FORMATS = {
    "currency": "$,.0f",
    "count": ",d",
    "number": ",.2~f",
    "percent": ".2~%",
    "days": ",.1~f",
}
#: The smallest text of a chart, in px (axis labels and titles, legends).
FONT_SIZE = 12
#: A bar chart by category is drawn sideways, one band this tall per category, so that every
#: label stays readable however many there are.
BAND = 22
_WIDTH, _HEIGHT, _PIE = 460, 220, 200
#: The colour of a one-series chart, and of several series in order.
CATEGORY_FIRST = "#4c78a8"
SERIES = ("#4c78a8", "#f58518", "#72b7b2", "#b279a2", "#9d755d", "#eeca3b")
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


def d3_format(fmt: str, display: Mapping[str, Any] | None = None) -> str:
    """The d3-format specifier of a value format, with a field's declared ``decimals`` and
    ``grouping`` (``x-crmgen: {format: {decimals: 0, grouping: false}}``) applied."""
    spec = D3_FORMATS[fmt]
    display = display or {}
    if fmt in ("currency", "number") and "decimals" in display:
        spec = spec.split(".")[0] + f".{int(display['decimals'])}f"
    if fmt in ("currency", "number", "count") and display.get("grouping") is False:
        spec = spec.replace(",", "")
    return spec


def format_value(
    value: Decimal | None,
    fmt: str,
    *,
    currency: str,
    locale: str,
    display: Mapping[str, Any] | None = None,
) -> str:
    """Text of a stat card: whole currency units, counts, percentages (two decimals at most,
    as many as the figure needs) or days; "–" for none. ``display`` is the measured field's
    declared format (``decimals``, ``grouping``)."""
    from babel import Locale
    from babel.numbers import format_currency, format_decimal, format_percent
    from babel.units import format_unit

    if value is None:
        return "–"
    display = display or {}
    grouping = display.get("grouping") is not False
    decimals = display.get("decimals")
    if fmt == "currency":
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
        places = int(decimals) if decimals is not None else 0
        whole = _with_decimals(pattern, places)
        if not grouping:
            whole = whole.replace(",", "")
        amount = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        return str(format_currency(amount, currency, whole, locale=locale, currency_digits=False))
    if fmt == "percent":
        return str(format_percent(value, "#,##0.##%", locale=locale))
    if fmt == "days":
        days = value.quantize(Decimal(1), ROUND_HALF_UP)
        return str(format_unit(days, "duration-day", "long", locale=locale))
    if fmt == "count":
        text = format_decimal(value.quantize(Decimal(1), ROUND_HALF_UP), locale=locale)
        return str(text) if grouping else str(format_decimal(value, "0", locale=locale))
    if decimals is not None:
        places = int(decimals)
        pattern = ("#,##0" if grouping else "0") + ("." + "0" * places if places else "")
        amount = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        return str(format_decimal(amount, pattern, locale=locale))
    pattern = "#,##0.##" if grouping else "0.##"
    amount = value.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return str(format_decimal(amount, pattern, locale=locale))


def _with_decimals(pattern: str, places: int) -> str:
    """A locale's currency pattern (``¤#,##0.00``) with ``places`` decimals (0 drops them)."""
    head, dot, tail = pattern.partition(".")
    if not dot:
        integer, rest = head, ""
    else:
        rest = tail.lstrip("0#")
        integer = head
    digits = "." + "0" * places if places else ""
    # keep the part before the number (¤ ) and after it ( ¤)
    start = integer.find("#") if "#" in integer else integer.find("0")
    prefix, number = integer[:start], integer[start:]
    return f"{prefix}{number}{digits}{rest}"


def chart_spec(
    kind: str,
    fmt: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    key_title: str,
    series: Sequence[str] = (),
    colours: Mapping[str, str] | None = None,
    horizontal: bool = False,
    display: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Vega-Lite spec for a bar, line or pie chart of ``rows``, as wide as its card.

    Args:
        kind: bar, line or pie.
        fmt: the value format (a key of ``D3_FORMATS``).
        rows: the initial data, in display order (also what the static SVG shows).
        title: the chart title, used as the accessible description.
        key_title: what the groups are ("Month", "List", "Source"...), for tooltips.
        series: the series labels, in order (default: those found in ``rows``).
        colours: label -> colour of each group a pie or a bar chart by category colours (the
            site-wide colour of each category); the browser narrows the scale to the groups
            present. Several series are coloured by series instead.
        horizontal: bars drawn sideways, one band per group (categories, not months).
        display: the measured field's declared format (``decimals``, ``grouping``).

    Returns:
        The spec as a dict with ``datasets.table`` set to ``rows``; its ``width`` is
        "container" (the static SVG is drawn at ``static_size``).
    """
    import altair as alt

    number = d3_format(fmt, display)
    series = list(series or dict.fromkeys(str(row["s"]) for row in rows))
    tooltip = [
        alt.Tooltip("k:N", title=key_title),
        alt.Tooltip("v:Q", title="Value", format=number),
    ]
    if len(series) > 1:
        tooltip.insert(1, alt.Tooltip("s:N", title="Series"))
    value_axis = alt.Axis(format=number, tickCount=5, labelFlush=False)
    if fmt == "count":  # whole numbers only: never "0, 0.5, 1" nor "0, 1, 1"
        value_axis = alt.Axis(format=number, tickMinStep=1, tickCount=5, labelFlush=False)
    base = alt.Chart(description=title)
    by_category = _category_scale(rows, colours) if colours and len(series) < 2 else None
    if kind == "pie":
        chart = base.mark_arc(innerRadius=50, outerRadius=100).encode(
            theta=alt.Theta("v:Q", stack=True),
            color=alt.Color("k:N", title=None, scale=by_category or alt.Undefined, legend=None),
            order=alt.Order("i:Q"),
            tooltip=[*tooltip, alt.Tooltip("share:Q", title="Share", format=".2~%")],
        )
        chart = chart.properties(width=_PIE, height=_PIE)
    else:
        key_axis = (
            alt.Axis(labelLimit=150)
            if horizontal
            else alt.Axis(labelAngle=-40, labelOverlap="parity", labelLimit=90)
        )
        key = (
            alt.Y("k:N", sort=None, title=None, axis=key_axis)
            if horizontal
            else alt.X("k:O", sort=None, title=None, axis=key_axis)
        )
        value = (alt.X if horizontal else alt.Y)("v:Q", title=None, axis=value_axis)
        channels: dict[str, Any] = {"x": value, "y": key} if horizontal else {"x": key, "y": value}
        mark = base.mark_line(point=True) if kind == "line" else base.mark_bar()
        if len(series) > 1:
            scale = alt.Scale(domain=series, range=[_series_colour(i) for i in range(len(series))])
            channels["color"] = alt.Color("s:N", title=None, scale=scale,
                                          legend=alt.Legend(orient="bottom"))  # fmt: skip
            if kind == "bar":
                offset = alt.YOffset if horizontal else alt.XOffset
                channels["yOffset" if horizontal else "xOffset"] = offset(
                    "s:N", scale=alt.Scale(domain=series)
                )
        elif by_category is not None and kind == "bar":
            channels["color"] = alt.Color("k:N", scale=by_category, legend=None)
        chart = mark.encode(tooltip=tooltip, **channels)
        height: Any = alt.Step(BAND * max(1, len(series))) if horizontal else _HEIGHT
        chart = chart.properties(width="container", height=height)
    spec: dict[str, Any] = chart.to_dict(validate=ALTAIR_CHECKS)
    spec["config"] = _CONFIG
    spec["data"] = {"name": DATA_NAME}
    spec["datasets"] = {DATA_NAME: [dict(row) for row in rows]}
    if colours:
        spec["usermeta"] = {"colours": dict(colours)}
    return spec


#: Text sizes and the look shared by every chart (the browser and the static SVG).
_CONFIG = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "axis": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE, "labelColor": "#333"},
    "legend": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE, "labelLimit": 220},
    "view": {"stroke": None},
    "bar": {"color": CATEGORY_FIRST},
    "line": {"color": CATEGORY_FIRST},
    "point": {"color": CATEGORY_FIRST},
}


#: Whether Altair checks each spec it writes against the whole Vega-Lite schema: no, at 8 ms a
#: chart it was most of a dashboard's time besides drawing it. The specs are made only here,
#: from a few fixed shapes; ``test_every_chart_shape_is_valid_vega_lite`` checks each shape.
ALTAIR_CHECKS = False


def _category_scale(rows: Sequence[Mapping[str, Any]], colours: Mapping[str, str]) -> Any:
    """An explicit scale of the groups in ``rows``, each with its site-wide colour."""
    import altair as alt

    domain = list(dict.fromkeys(str(row["k"]) for row in rows))
    return alt.Scale(domain=domain, range=[colours.get(k, "#bab0ac") for k in domain])


def _series_colour(index: int) -> str:
    return SERIES[index % len(SERIES)]


def static_size(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec at a fixed width, for the static SVG (vl-convert has no container); a donut
    gets its legend back (without JavaScript the page cannot colour its list of slices)."""
    found = {**spec, "width": _WIDTH} if spec.get("width") == "container" else dict(spec)
    color = (found.get("encoding") or {}).get("color")
    if (found.get("mark") or {}).get("type") == "arc" and color and color.get("legend") is None:
        legend = {"orient": "right", "labelLimit": 180}
        found["encoding"] = {**found["encoding"], "color": {**color, "legend": legend}}
    return found


#: Draws static SVGs: a list of (spec at its static size, d3 locale) -> one SVG text each.
Draw = Callable[[Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]], list[str]]


def render_svgs(
    jobs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    store: Store = NO_STORE,
    draw: Draw | None = None,
) -> list[str]:
    """Each (spec, d3 locale) drawn as a static SVG (for no-JS and print) with that d3-format
    locale, at a fixed width when the spec takes its container's (``static_size``), in order.

    Cached in ``store`` by the spec, the locale and the version of vl-convert; those not in it
    are drawn by ``draw`` (default: ``draw_here``, in this process) in one call.
    """
    statics = [(static_size(spec), locale) for spec, locale in jobs]
    keys = [
        hashlib.sha256(
            json.dumps([spec, locale, _vl_version()], sort_keys=True, default=str).encode()
        ).hexdigest()
        for spec, locale in statics
    ]
    found = {key: value.decode() for key, value in store.get_many("svg", keys).items()}
    missing = [n for n, key in enumerate(keys) if key not in found]
    drawn = (draw or draw_here)([statics[n] for n in missing]) if missing else []
    for n, svg in zip(missing, drawn, strict=True):
        found[keys[n]] = svg
        store.put("svg", keys[n], svg.encode())
    return [found[key] for key in keys]


def draw_here(jobs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[str]:
    """Draw each (spec, d3 locale) with vl-convert in this process (see ``warm_up``)."""
    import vl_convert

    return [
        str(vl_convert.vegalite_to_svg(dict(spec), format_locale=dict(locale)))
        for spec, locale in jobs
    ]


def warm_up() -> None:
    """Start vl-convert's engine (a third of a second, before the first drawing): a process
    that will draw calls this while the charts are still being worked out elsewhere."""
    import vl_convert

    spec = {"mark": "bar", "data": {"values": [{"v": 1}]}, "encoding": {"y": {"field": "v"}}}
    vl_convert.vegalite_to_svg(spec)


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
        y=alt.Y("k:N", sort=None, title=None, axis=alt.Axis(labelLimit=150)),
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
    chart = alt.layer(bars, spread).properties(width="container", height=alt.Step(BAND))
    spec: dict[str, Any] = chart.to_dict(validate=ALTAIR_CHECKS)
    spec["config"] = _CONFIG
    spec["data"] = {"name": DATA_NAME}
    spec["datasets"] = {DATA_NAME: [dict(row) for row in rows]}
    return spec
