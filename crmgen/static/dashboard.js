/* crmgen dashboards: one set of controls filters every chart and stat card of the page.
 *
 * The page carries small pre-aggregated cubes (built by crmgen/dashboards/metrics.py), never records:
 * rows of [month, project, list, tag, group, field filters..., columns...], each dimension an
 * index into data.dims (tag -1 is a record's total row, tag 0 "no tag"; month 0 "no date"; a
 * field filter's 0 "not set", or for a field of several values an index into its combos).
 * This script filters the rows by the controls, re-aggregates them per chart exactly as Python
 * does, and redraws. The controls live in the address (?list=…&owner=…&from=2026-01), so a
 * filtered dashboard can be bookmarked and shared, and the back button goes back a filter. It
 * runs under a strict Content-Security-Policy: no eval (vega-embed is asked for its AST
 * interpreter) and no injected styles (dashboard.css has what vega-embed needs).
 */
(function () {
  "use strict";

  var ADDITIVE = { count: true, sum: true, weighted: true };
  var OTHERS = "\u001fothers";
  var OTHERS_LABEL = "Others";
  var NONE = "(none)";  // the option that keeps records without a value

  /* ---- Pure functions: the same rules as crmgen/dashboards/metrics.py (tested under Node). ---- */

  function finish(op, acc) {
    if (op === "avg" || op === "avg_days") {
      return acc[0] !== null && acc[1] ? acc[0] / acc[1] : null;
    }
    if (op === "win_rate") {
      var won = acc[0] || 0;
      var lost = acc[1] || 0;
      return won + lost ? won / (won + lost) : null;
    }
    if (op === "min" || op === "max") {
      return acc[0];
    }
    return acc[0] === null ? 0 : acc[0];
  }

  function keyOf(group, row, cube, dims) {
    switch (group) {
      case "month": return row[0] ? dims.months[row[0]] : null;
      case "list": return dims.lists[row[2]];
      case "tag": return dims.tags[row[3]];
      case "project": return dims.projects[row[1]];
      case "field": return cube.groups[row[4]];
      default: return "";
    }
  }

  function fieldsOf(dims) {
    return dims.fields || [];
  }

  /* Whether a row passes the selection. skip: the filters that do not apply to the series. */
  function keeps(row, sel, byTag, timed, skip, dims) {
    if (sel.project !== null && row[1] !== sel.project) return false;
    if (sel.list !== null && !skip.list && row[2] !== sel.list) return false;
    // A record has one total row (tag -1) and one row per tag: use one kind, never both.
    var tag = skip.tag ? null : sel.tag;
    if (byTag ? row[3] < 0 || (tag !== null && row[3] !== tag) : row[3] >= 0) {
      return false;
    }
    if (timed) {
      if (!row[0]) return false;
      if (sel.start !== null && row[0] < sel.start) return false;
      if (sel.end !== null && row[0] > sel.end) return false;
    }
    var fields = fieldsOf(dims);
    var chosen = sel.fields || [];
    for (var j = 0; j < fields.length; j += 1) {
      var want = chosen[j];
      if (want === null || want === undefined || skip[fields[j].name]) continue;
      var found = row[5 + j];
      if (fields[j].combos) {
        var combo = fields[j].combos[found];
        if (want === 0 ? combo.length > 0 : combo.indexOf(want) < 0) return false;
      } else if (found !== want) {
        return false;
      }
    }
    return true;
  }

  function combine(rule, old, value) {
    if (old === null) return value;
    if (rule === "min") return Math.min(old, value);
    if (rule === "max") return Math.max(old, value);
    return old + value;
  }

  /* A cube's rows, [month, project, list, tag, group, ...fields, ...columns], unpacked once
   * from the delta-encoded keys that crmgen/dashboards/metrics.py pack_rows writes. */
  function rowsOf(cube, dims) {
    if (cube.rows) return cube.rows;
    var fields = fieldsOf(dims);
    var sizes = [dims.months.length, dims.projects.length, dims.lists.length, dims.tags.length + 1]
      .concat(fields.map(function (f) { return f.combos ? f.combos.length : f.values.length; }));
    var columns = function (i) { return cube.values.map(function (column) { return column[i]; }); };
    if (cube.dims) {  // keys too big for a JavaScript number: written as they are
      cube.rows = cube.dims.map(function (dimensions, i) { return dimensions.concat(columns(i)); });
      return cube.rows;
    }
    var key = 0;
    cube.rows = cube.keys.map(function (delta, i) {
      key += delta;
      var rest = key;
      var digits = sizes.map(function (size) {
        var index = rest % size;
        rest = (rest - index) / size;
        return index;
      });
      var row = [digits[0], digits[1], digits[2], digits[3] - 1, rest];  // tag -1: total row
      return row.concat(digits.slice(4), columns(i));
    });
    return cube.rows;
  }

  function skipOf(series) {
    var skip = {};
    (series.skip || []).forEach(function (name) { skip[name] = true; });
    return skip;
  }

  /* A series' value per group key under a selection: Map key -> number or null. */
  function seriesValues(data, chart, series, sel) {
    var cube = data.cubes[series.cube];
    var skip = skipOf(series);
    var byTag = (sel.tag !== null && !skip.tag) || chart.group === "tag";
    var timed = series.timed && (sel.start !== null || sel.end !== null);
    var first = 5 + fieldsOf(data.dims).length;
    var totals = new Map();
    rowsOf(cube, data.dims).forEach(function (row) {
      if (!keeps(row, sel, byTag, timed, skip, data.dims)) return;
      var key = keyOf(chart.group, row, cube, data.dims);
      if (key === null) return;
      var acc = totals.get(key);
      if (!acc) {
        acc = series.cols.map(function () { return null; });
        totals.set(key, acc);
      }
      series.cols.forEach(function (col, i) {
        var value = row[first + col];
        if (value !== null) acc[i] = combine(cube.combine[col], acc[i], value);
      });
    });
    var values = new Map();
    totals.forEach(function (acc, key) {
      var value = finish(series.op, acc);
      values.set(key, value === null ? null : value * series.scale);
    });
    return values;
  }

  function totalOf(values, key) {
    return values.reduce(function (sum, found) { return sum + (found.get(key) || 0); }, 0);
  }

  /* The rows a chart draws, in display order: {k: label, s: series, v: value, i: order,
   * share: of the whole, for a donut}. A chart of more groups than chart.fold adds up the
   * smallest as "Others", last (crmgen/dashboards/values.py fold_limit). */
  function chartRows(data, chart, sel) {
    var values = chart.series.map(function (s) { return seriesValues(data, chart, s, sel); });
    var present = new Set();
    values.forEach(function (found) { found.forEach(function (v, key) { present.add(key); }); });
    var keys;
    var labels = new Map();
    if (chart.group === "month") {
      var months = data.dims.months;
      var found = months.filter(function (m) { return present.has(m); });
      keys = found.length
        ? months.slice(months.indexOf(found[0]), months.indexOf(found[found.length - 1]) + 1)
        : [];
      months.forEach(function (m, i) { labels.set(m, data.dims.monthLabels[i]); });
    } else {
      var all = chart.keys || data.cubes[chart.series[0].cube].groups;
      keys = all.filter(function (key) { return present.has(key); });
      all.forEach(function (key, i) { labels.set(key, chart.keyLabels[i]); });
    }
    // the groups the cube added up as Others (crmgen/dashboards/top.py) stay Others: never
    // ranked, always last
    var folded = keys.indexOf(OTHERS) >= 0 ? [OTHERS] : [];
    keys = keys.filter(function (key) { return key !== OTHERS; });
    var others = folded.length > 0;
    if (chart.fold && keys.length + folded.length > chart.fold) {
      var biggest = keys.slice().sort(function (a, b) {
        return totalOf(values, b) - totalOf(values, a);
      }).slice(0, chart.fold - 1);
      var rest = keys.filter(function (key) { return biggest.indexOf(key) < 0; }).concat(folded);
      values.forEach(function (found) {
        found.set(OTHERS, rest.reduce(function (sum, key) { return sum + (found.get(key) || 0); }, 0));
      });
      keys = keys.filter(function (key) { return biggest.indexOf(key) >= 0; });
      labels.set(OTHERS, OTHERS_LABEL);
      others = true;
    }
    if (chart.order === "value") {
      keys = keys.slice().sort(function (a, b) { return totalOf(values, b) - totalOf(values, a); });
    } else if (chart.order === "name") {
      keys = keys.slice().sort(function (a, b) {
        var x = labels.get(a).toLowerCase();
        var y = labels.get(b).toLowerCase();
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    if (others) keys.push(OTHERS);
    var rows = [];
    keys.forEach(function (key, index) {
      chart.series.forEach(function (series, s) {
        var value = values[s].has(key) ? values[s].get(key) : null;
        if (value === null && ADDITIVE[series.op]) value = 0;
        rows.push({ k: labels.get(key), s: series.label, v: value, i: index, share: null });
      });
    });
    var whole = rows.reduce(function (sum, row) { return sum + (row.v || 0); }, 0);
    if (chart.share && whole) {
      rows.forEach(function (row) { row.share = (row.v || 0) / whole; });
    }
    return rows;
  }

  /* Numbers as the stat cards and tables show them (crmgen/dashboards/vegalite.py
   * format_value): a field's declared decimals and grouping, percentages with the decimals
   * they need (two at most). */
  function formatter(data, fmt, display) {
    display = display || {};
    var decimals = display.decimals === undefined ? null : display.decimals;
    var options = {
      currency: {
        style: "currency", currency: data.currency,
        minimumFractionDigits: decimals || 0, maximumFractionDigits: decimals || 0
      },
      percent: { style: "percent", maximumFractionDigits: 2 },
      days: { style: "unit", unit: "day", unitDisplay: "long", maximumFractionDigits: 0 },
      count: { maximumFractionDigits: 0 },
      number: decimals === null
        ? { maximumFractionDigits: 2 }
        : { minimumFractionDigits: decimals, maximumFractionDigits: decimals }
    }[fmt];
    if (display.grouping === false) options.useGrouping = false;
    var format = new Intl.NumberFormat(data.locale, options);
    return function (value) { return value === null ? "–" : format.format(value); };
  }

  /* The selection the controls' values (as in the address: names, not indexes) stand for. */
  function selectionOf(data, values) {
    var dims = data.dims;
    function index(list, value) {
      if (!value) return null;
      var found = list.indexOf(value);
      return found < 0 ? null : found;
    }
    var start = index(dims.months, values.from);
    var end = index(dims.months, values.to);
    if (start !== null && end !== null && start > end) {
      var swap = start;
      start = end;
      end = swap;
    }
    return {
      project: index(dims.projects, values.project),
      list: index(dims.lists, values.list),
      tag: values.tag === NONE ? 0 : index(dims.tags, values.tag),
      start: start,
      end: end,
      fields: fieldsOf(dims).map(function (field) {
        var value = values[field.name];
        return value === NONE ? 0 : index(field.values, value);
      })
    };
  }

  /* The names of the controls a selection sets. */
  function activeFilters(data, sel) {
    var active = [];
    if (sel.project !== null) active.push("project");
    if (sel.list !== null) active.push("list");
    if (sel.tag !== null) active.push("tag");
    if (sel.start !== null || sel.end !== null) active.push("month");
    fieldsOf(data.dims).forEach(function (field, j) {
      if (sel.fields && sel.fields[j] !== null && sel.fields[j] !== undefined) active.push(field.name);
    });
    return active;
  }

  /* What a chart of top groups (crmgen/dashboards/top.py) says when a set filter applies to
   * it: another group may now be larger than one it shows. */
  function topNote(data, chart, sel) {
    if (!chart.top) return "";
    var applies = activeFilters(data, sel).some(function (name) {
      return chart.series.some(function (s) { return (s.skip || []).indexOf(name) < 0; });
    });
    return applies ? chart.top : "";
  }

  /* The filters set in a selection that some series of a chart ignores: [[name, [labels]]]. */
  function ignoredFilters(data, chart, sel) {
    var found = [];
    activeFilters(data, sel).forEach(function (name) {
      var series = chart.series.filter(function (s) { return (s.skip || []).indexOf(name) >= 0; });
      if (series.length) found.push([name, series.map(function (s) { return s.label; })]);
    });
    return found;
  }

  var api = {
    finish: finish, seriesValues: seriesValues, chartRows: chartRows, formatter: formatter,
    selectionOf: selectionOf, ignoredFilters: ignoredFilters, topNote: topNote
  };
  if (typeof module === "object" && module.exports) {
    module.exports = api;
    return;
  }

  /* ---- The page. ---- */

  function controlValues(form) {
    var values = {};
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      values[select.name] = select.value;
    });
    return values;
  }

  /* The address of the current controls: ?list=Closed+won&owner=…&from=2026-01 */
  function queryOf(form) {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      if (select.value !== "") params.set(select.name, select.value);
    });
    var query = params.toString();
    return window.location.pathname + (query ? "?" + query : "") + window.location.hash;
  }

  /* Set the controls from the address; a value no option has is ignored. */
  function restore(form) {
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      var wanted = params.get(select.name) || "";
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === wanted; });
      select.value = known ? wanted : "";
    });
  }

  function labelOf(form, name) {
    if (name === "month") return "The time frame";
    var label = form.querySelector("label[for='dash-" + name + "']");
    return label ? label.textContent : name;
  }

  function describe(form) {
    var parts = [];
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      if (select.value !== "") {
        parts.push(labelOf(form, select.name) + ": " + select.selectedOptions[0].textContent);
      }
    });
    return parts.length ? "Showing " + parts.join(", ") : "Showing all records";
  }

  function joined(items) {
    return items.length < 2 ? items.join("") : items.slice(0, -1).join(", ") + " and " + items[items.length - 1];
  }

  /* A visible line saying which set filters a chart or card cannot apply, and to what. */
  function noteText(form, chart, ignored, what) {
    return ignored.map(function (found) {
      var name = found[0];
      var label = labelOf(form, name);
      if (found[1].length === chart.series.length) {
        return name === "month"
          ? label + " does not apply to this " + what + ": it has no date."
          : label + " does not apply to this " + what + ": its records have no " + label.toLowerCase() + ".";
      }
      return label + " does not apply to " + joined(found[1]) + ": shown unfiltered by it.";
    }).join(" ");
  }

  function setNote(element, text) {
    if (!element) return;
    element.textContent = text;
    element.hidden = text === "";
  }

  function fillTable(figure, rows, format) {
    var body = figure.querySelector(".chart-data tbody");
    if (!body) return;
    var multi = figure.querySelectorAll(".chart-data thead th").length > 2;
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = row.k;
      tr.appendChild(th);
      var cells = multi ? [row.s, format(row.v)] : [format(row.v)];
      cells.forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === cells.length - 1) td.className = "number";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  /* Swatches take their colour from data-colour: set through the CSSOM, which the page's
   * Content-Security-Policy allows (a style attribute in the HTML it would not). */
  function paint(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll(".swatch-colour[data-colour]"), function (el) {
      el.style.backgroundColor = el.getAttribute("data-colour");
    });
  }

  /* A donut's slices beside it: colour, label, value and share, only those present. */
  function fillLegend(figure, rows, format, percent, colours) {
    var body = figure.querySelector(".pie-legend tbody");
    if (!body) return;
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var swatch = document.createElement("td");
      swatch.className = "swatch";
      var colour = document.createElement("span");
      colour.className = "swatch-colour";
      colour.setAttribute("aria-hidden", "true");
      colour.setAttribute("data-colour", colours[row.k] || "#bab0ac");
      swatch.appendChild(colour);
      tr.appendChild(swatch);
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = row.k;
      tr.appendChild(th);
      [format(row.v), row.share === null ? "" : percent(row.share)].forEach(function (text, i) {
        var td = document.createElement("td");
        td.className = i ? "number share" : "number";
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    paint(body);
  }

  /* The chart's spec with these rows; a scale of colours narrowed to the groups present,
   * each keeping its site-wide colour. */
  function specFor(chart, rows) {
    var spec = JSON.parse(JSON.stringify(chart.spec));
    spec.datasets = { table: rows };
    var colours = spec.usermeta && spec.usermeta.colours;
    var color = spec.encoding && spec.encoding.color;
    if (colours && color && color.field === "k") {
      var domain = [];
      rows.forEach(function (row) { if (domain.indexOf(row.k) < 0) domain.push(row.k); });
      color.scale = { domain: domain, range: domain.map(function (k) { return colours[k] || "#bab0ac"; }) };
    }
    return spec;
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    var form = document.getElementById("dashboard-controls");
    var root = document.getElementById("dashboard");
    if (!source || !form || !root || typeof window.vegaEmbed !== "function") return;
    var data = JSON.parse(source.textContent);
    var status = document.getElementById("dashboard-status");
    var views = new Map();
    var options = {
      actions: false, renderer: "svg", ast: true, defaultStyle: false,
      formatLocale: data.d3Locale, tooltip: { disableDefaultStyle: true }
    };
    var percent = formatter(data, "percent");

    function embed(chart, spec) {
      var figure = document.getElementById("chart-" + chart.id);
      var container = figure.querySelector(".chart-live");
      var pending = (views.get(chart.id) || Promise.resolve(null)).then(function (old) {
        if (old) old.finalize();
        // shown before it is drawn: a chart as wide as its card measures the card, and a
        // hidden container measures 0
        figure.classList.add("live");
        return window.vegaEmbed(container, spec, options);
      });
      views.set(chart.id, pending.catch(function (error) {
        figure.classList.remove("live");  // the static SVG shows again
        console.error("crmgen dashboard, chart " + chart.id + ": " + error);
        return null;
      }));
    }

    function drawChart(chart, sel) {
      var figure = document.getElementById("chart-" + chart.id);
      var rows = chartRows(data, chart, sel);
      var format = formatter(data, chart.fmt, chart.display);
      fillTable(figure, rows, format);
      fillLegend(figure, rows, format, percent, (chart.spec.usermeta || {}).colours || {});
      var note = noteText(form, chart, ignoredFilters(data, chart, sel), "chart");
      var top = topNote(data, chart, sel);
      setNote(figure.querySelector(".filter-note"), note && top ? note + " " + top : note || top);
      figure.classList.toggle("empty", rows.length === 0);
      figure.querySelector(".chart-empty").hidden = rows.length > 0;
      embed(chart, specFor(chart, rows));
    }

    function drawStat(chart, sel) {
      var card = root.querySelector("[data-stat='" + chart.id + "']");
      var value = chartRows(data, chart, sel).map(function (row) { return row.v; })[0];
      value = value === undefined ? (ADDITIVE[chart.series[0].op] ? 0 : null) : value;
      var shown = card.querySelector(".stat-value");
      shown.textContent = formatter(data, chart.fmt, chart.display)(value);
      shown.setAttribute("data-value", value === null ? "" : String(Math.round(value * 1e4) / 1e4));
      setNote(card.querySelector(".filter-note"), noteText(form, chart, ignoredFilters(data, chart, sel), "figure"));
    }

    function update() {
      var sel = selectionOf(data, controlValues(form));
      var filtered = Array.prototype.some.call(form.querySelectorAll("select"), function (s) { return s.value !== ""; });
      root.classList.toggle("filtered", filtered);
      data.charts.forEach(function (chart) {
        if (chart.static) return;  // computed once at build time; the controls do not apply
        (chart.kind === "stat" ? drawStat : drawChart)(chart, sel);
      });
      if (status) status.textContent = describe(form);
    }

    root.classList.add("js");
    form.hidden = false;
    var note = document.getElementById("dashboard-nojs");
    if (note) note.hidden = true;
    form.addEventListener("change", function () {
      window.history.pushState(null, "", queryOf(form));
      update();
    });
    form.addEventListener("reset", function () {
      window.setTimeout(function () {
        window.history.pushState(null, "", queryOf(form));
        update();
      }, 0);
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("popstate", function () {
      restore(form);
      update();
    });
    data.charts.forEach(function (chart) {
      if (chart.static && chart.spec) embed(chart, chart.spec);
    });
    restore(form);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
