/* crmgen dashboards: one set of controls filters every chart and stat card of the page.
 *
 * The page carries small pre-aggregated cubes (built by crmgen/dashboards/metrics.py), never records:
 * rows of [month, project, list, tag, group, ...columns], each dimension an index into
 * data.dims (tag -1 is a record's total row, tag 0 "no tag"; month 0 "no date"). This script
 * filters the rows by the controls, re-aggregates them per chart exactly as Python does, and
 * redraws. It runs under a strict Content-Security-Policy: no eval (vega-embed is asked for
 * its AST interpreter) and no injected styles (dashboard.css has what vega-embed needs).
 */
(function () {
  "use strict";

  var ADDITIVE = { count: true, sum: true, weighted: true };

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

  function keeps(row, sel, byTag, timed) {
    if (sel.project !== null && row[1] !== sel.project) return false;
    if (sel.list !== null && row[2] !== sel.list) return false;
    // A record has one total row (tag -1) and one row per tag: use one kind, never both.
    if (byTag ? row[3] < 0 || (sel.tag !== null && row[3] !== sel.tag) : row[3] >= 0) {
      return false;
    }
    if (timed) {
      if (!row[0]) return false;
      if (sel.start !== null && row[0] < sel.start) return false;
      if (sel.end !== null && row[0] > sel.end) return false;
    }
    return true;
  }

  function combine(rule, old, value) {
    if (old === null) return value;
    if (rule === "min") return Math.min(old, value);
    if (rule === "max") return Math.max(old, value);
    return old + value;
  }

  /* A cube's rows, [month, project, list, tag, group, ...columns], unpacked once from the
   * delta-encoded keys that crmgen/dashboards/metrics.py pack_rows writes. */
  function rowsOf(cube, dims) {
    if (cube.rows) return cube.rows;
    var sizes = [dims.months.length, dims.projects.length, dims.lists.length, dims.tags.length + 1];
    var key = 0;
    cube.rows = cube.keys.map(function (delta, i) {
      key += delta;
      var rest = key;
      var row = sizes.map(function (size) {
        var index = rest % size;
        rest = (rest - index) / size;
        return index;
      });
      row[3] -= 1;  // tag -1 is a record's total row
      row.push(rest);  // the group
      return row.concat(cube.values.map(function (column) { return column[i]; }));
    });
    return cube.rows;
  }

  /* A series' value per group key under a selection: Map key -> number or null. */
  function seriesValues(data, chart, series, sel) {
    var cube = data.cubes[series.cube];
    var byTag = sel.tag !== null || chart.group === "tag";
    var timed = series.timed && (sel.start !== null || sel.end !== null);
    var totals = new Map();
    rowsOf(cube, data.dims).forEach(function (row) {
      if (!keeps(row, sel, byTag, timed)) return;
      var key = keyOf(chart.group, row, cube, data.dims);
      if (key === null) return;
      var acc = totals.get(key);
      if (!acc) {
        acc = series.cols.map(function () { return null; });
        totals.set(key, acc);
      }
      series.cols.forEach(function (col, i) {
        var value = row[5 + col];
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

  /* The rows a chart draws, in display order: {k: label, s: series, v: value, i: order}. */
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
      keys = chart.keys.filter(function (key) { return present.has(key); });
      chart.keys.forEach(function (key, i) { labels.set(key, chart.keyLabels[i]); });
    }
    if (chart.order === "value") {
      var total = new Map(keys.map(function (key) {
        return [key, values.reduce(function (sum, found) { return sum + (found.get(key) || 0); }, 0)];
      }));
      keys = keys.slice().sort(function (a, b) { return total.get(b) - total.get(a); });
    } else if (chart.order === "name") {
      keys = keys.slice().sort(function (a, b) {
        var x = labels.get(a).toLowerCase();
        var y = labels.get(b).toLowerCase();
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    var rows = [];
    keys.forEach(function (key, index) {
      chart.series.forEach(function (series, s) {
        var value = values[s].has(key) ? values[s].get(key) : null;
        if (value === null && ADDITIVE[series.op]) value = 0;
        rows.push({ k: labels.get(key), s: series.label, v: value, i: index });
      });
    });
    return rows;
  }

  function formatter(data, fmt) {
    var options = {
      currency: {
        style: "currency", currency: data.currency,
        minimumFractionDigits: 0, maximumFractionDigits: 0
      },
      percent: { style: "percent", maximumFractionDigits: 0 },
      days: { style: "unit", unit: "day", unitDisplay: "long", maximumFractionDigits: 0 },
      count: { maximumFractionDigits: 0 },
      number: { maximumFractionDigits: 2 }
    }[fmt];
    var format = new Intl.NumberFormat(data.locale, options);
    return function (value) { return value === null ? "–" : format.format(value); };
  }

  var api = { finish: finish, seriesValues: seriesValues, chartRows: chartRows, formatter: formatter };
  if (typeof module === "object" && module.exports) {
    module.exports = api;
    return;
  }

  /* ---- The page. ---- */

  function readSelection(form) {
    function index(name) {
      var field = form.elements.namedItem(name);
      return field && field.value !== "" ? parseInt(field.value, 10) : null;
    }
    var start = index("from");
    var end = index("to");
    if (start !== null && end !== null && start > end) {
      var swap = start;
      start = end;
      end = swap;
    }
    return { project: index("project"), list: index("list"), tag: index("tag"), start: start, end: end };
  }

  function describe(form) {
    var parts = [];
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      if (select.value !== "") {
        var label = form.querySelector("label[for='" + select.id + "']");
        parts.push((label ? label.textContent + ": " : "") + select.selectedOptions[0].textContent);
      }
    });
    return parts.length ? "Showing " + parts.join(", ") : "Showing all records";
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

    function drawChart(chart, sel) {
      var figure = document.getElementById("chart-" + chart.id);
      var rows = chartRows(data, chart, sel);
      fillTable(figure, rows, formatter(data, chart.fmt));
      figure.classList.toggle("empty", rows.length === 0);
      figure.querySelector(".chart-empty").hidden = rows.length > 0;
      var pending = views.get(chart.id);
      if (pending) {
        pending = pending.then(function (view) {
          return view && view.data("table", rows).runAsync();
        });
      } else {
        var spec = Object.assign({}, chart.spec, { datasets: { table: rows } });
        var container = figure.querySelector(".chart-live");
        pending = window.vegaEmbed(container, spec, options).then(function (result) {
          figure.classList.add("live");
          return result.view;
        });
      }
      views.set(chart.id, pending.catch(function (error) {
        figure.classList.remove("live");  // the static SVG shows again
        console.error("crmgen dashboard, chart " + chart.id + ": " + error);
        return null;
      }));
    }

    function drawStat(chart, sel) {
      var card = root.querySelector("[data-stat='" + chart.id + "'] .stat-value");
      var value = chartRows(data, chart, sel).map(function (row) { return row.v; })[0];
      value = value === undefined ? (ADDITIVE[chart.series[0].op] ? 0 : null) : value;
      card.textContent = formatter(data, chart.fmt)(value);
      card.setAttribute("data-value", value === null ? "" : String(Math.round(value * 1e4) / 1e4));
    }

    function update() {
      var sel = readSelection(form);
      var filtered = Object.keys(sel).some(function (key) { return sel[key] !== null; });
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
    form.addEventListener("change", update);
    form.addEventListener("reset", function () { window.setTimeout(update, 0); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
