// crmgen site script: sorting, filtering and paging of record tables.
// No inline handlers, no eval, no innerHTML: cells are built with textContent.
// Without JavaScript every table page is complete and the pager links to the next page.
// With it, the script loads the table's rows (table.json, beside the page) and sorts and
// filters all of them in the browser, page by page. The query string keeps the state:
// ?q=text&list=Won&tag=seo&ref=clients/acme.html&field=owner&value=Ann&sort=amount&dir=desc
// &page=2&cols=title,amount (the columns shown, when not the table's default ones).
// The first column stays in view while the table scrolls sideways; the totals row sums the
// currency and number columns of the rows that pass the filters.
(function () {
  "use strict";

  var FORMAT = 2;
  var lang = document.documentElement.lang || "en";
  var collator = new Intl.Collator(lang, { numeric: true, sensitivity: "base" });
  var numbers = new Intl.NumberFormat(lang);
  var SAFE_EXTERNAL = /^(https?:|mailto:|tel:)/i;

  function siteRoot() {
    var script = document.querySelector('script[src$="assets/site.js"]');
    var src = script ? script.getAttribute("src") : "";
    return src.slice(0, src.length - "assets/site.js".length);
  }

  // ---- Building cells (the same markup as the server's views/html.py) ----

  // A link of the table data: [label], [label, href] or [label, href, "x" | "d"]; an href
  // starting with "=" is the rest followed by the label.
  function linkHref(link) {
    var href = link.length > 1 ? link[1] : "";
    return href.charAt(0) === "=" ? href.slice(1) + link[0] : href;
  }

  function linkElement(link, root) {
    var label = link[0];
    var href = linkHref(link);
    var flag = link.length > 2 ? link[2] : "";
    var element;
    if (!href || (flag === "x" && !SAFE_EXTERNAL.test(href))) {
      element = document.createElement("span");
      element.className = "plain-link";
    } else {
      element = document.createElement("a");
      if (flag === "x") {
        element.className = "external";
        element.setAttribute("href", href);
        element.setAttribute("rel", "noopener noreferrer nofollow");
      } else {
        element.setAttribute("href", root + href);
        if (flag === "d") {
          element.className = "download";
          element.setAttribute("download", "");
        }
      }
    }
    element.textContent = label;
    return element;
  }

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function fillCell(element, cell, root, own) {
    if (cell === null) { return; }
    var kind = cell[0];
    if (kind === "r") {
      element.appendChild(linkElement([cell[2], own], root));
    } else if (kind === "l") {
      cell[2].forEach(function (link, i) {
        if (i > 0) { element.appendChild(document.createTextNode(", ")); }
        element.appendChild(linkElement(link, root));
      });
    } else if (kind === "b") {
      var badges = document.createElement("span");
      badges.className = "badges";
      cell[2].forEach(function (badge, i) {
        if (i > 0) { badges.appendChild(document.createTextNode(" ")); }
        badges.appendChild(span("badge", badge));
      });
      element.appendChild(badges);
    } else if (kind === "s") {
      var stars = span("stars", cell[2]);
      stars.setAttribute("role", "img");
      stars.setAttribute("aria-label", cell[3] + " out of 5");
      element.appendChild(stars);
    } else if (kind === "t") {
      element.appendChild(span("text", cell[2]));
      (cell[3] || []).forEach(function (link) {
        var extra = document.createElement("span");
        extra.className = "extra";
        extra.appendChild(document.createTextNode("("));
        extra.appendChild(linkElement(link, root));
        extra.appendChild(document.createTextNode(")"));
        element.appendChild(document.createTextNode(" "));
        element.appendChild(extra);
      });
    }
  }

  function cellText(cell) {
    if (cell === null) { return ""; }
    if (cell[0] === "r") { return cell[2]; }
    if (cell[0] === "l") { return cell[2].map(function (l) { return l[0]; }).join(", "); }
    if (cell[0] === "b") { return cell[2].join(" "); }
    var links = cell[0] === "t" ? (cell[3] || []).map(function (l) { return l[0]; }) : [];
    return [cell[2]].concat(links).join(" ");
  }

  // Internal links of a cell, with their hrefs expanded.
  function linksOf(cell) {
    if (cell === null) { return []; }
    var links = cell[0] === "l" ? cell[2] : cell[0] === "t" ? cell[3] || [] : [];
    return links.map(function (l) { return [l[0], linkHref(l), l[2] || ""]; });
  }

  // ---- The rows of a table, sorted and filtered in memory ----

  // Each row's position in a column's values: "width" base-36 digits per row, or null
  // when row n has value n.
  function decodeIndex(column, count) {
    var index = new Int32Array(count);
    var width = column.width;
    for (var row = 0; row < count; row += 1) {
      index[row] = column.index === null ? row
        : parseInt(column.index.substr(row * width, width), 36);
    }
    return index;
  }

  function Rows(data) {
    var count = data.slugs.length;
    this.data = data;
    this.count = count;
    // a hidden column not loaded yet (see DataTable.more) is null
    this.index = data.cells.map(function (column) {
      return column ? decodeIndex(column, count) : null;
    });
    this.listIndex = data.list ? decodeIndex(data.list, count) : null;
    this.tagIndex = data.tagged ? decodeIndex(data.tagged, count) : null;
    this.ranks = {};
    this.haystack = null;
  }

  Rows.prototype.cell = function (row, column) {
    return this.data.cells[column].values[this.index[column][row]];
  };

  // Rank of each distinct value of a column (equal values share a rank; empty is -1).
  Rows.prototype.rank = function (column) {
    if (this.ranks[column]) { return this.ranks[column]; }
    var values = this.data.cells[column].values;
    var numeric = this.data.columns[column].sort === "number";
    var ids = [];
    var keys = values.map(function (cell) {
      if (cell === null) { return null; }
      var text = cell[1] === 0 ? cellText(cell) : String(cell[1]);
      if (text === "") { return null; }
      var key = numeric ? parseFloat(text) : text;
      return numeric && isNaN(key) ? null : key;
    });
    keys.forEach(function (key, i) { if (key !== null) { ids.push(i); } });
    var compare = numeric
      ? function (a, b) { return keys[a] - keys[b]; }
      : function (a, b) { return collator.compare(keys[a], keys[b]); };
    ids.sort(compare);
    var rank = new Int32Array(values.length).fill(-1);
    var current = 0;
    ids.forEach(function (id, i) {
      if (i > 0 && compare(ids[i - 1], id) !== 0) { current += 1; }
      rank[id] = current;
    });
    this.ranks[column] = rank;
    return rank;
  };

  Rows.prototype.text = function (row) {
    if (!this.haystack) {
      var texts = this.data.cells.map(function (column) {
        return column.values.map(function (cell) { return cellText(cell).toLocaleLowerCase(); });
      });
      var hay = new Array(this.count);
      for (var r = 0; r < this.count; r += 1) {
        var parts = [];
        for (var c = 0; c < texts.length; c += 1) { parts.push(texts[c][this.index[c][r]]); }
        hay[r] = parts.join("\u0000");
      }
      this.haystack = hay;
    }
    return this.haystack[row];
  };

  // Row ids matching the filters, in the asked order.
  Rows.prototype.select = function (state) {
    var data = this.data;
    var self = this;
    var tests = [];
    var query = state.q.trim().toLocaleLowerCase();
    if (query) { tests.push(function (row) { return self.text(row).indexOf(query) !== -1; }); }
    if (state.list && data.list) {
      var want = data.list.values.indexOf(state.list);
      tests.push(function (row) { return self.listIndex[row] === want; });
    }
    if (state.tag && data.tagged) {
      var tagged = data.tagged.values.map(function (tags) { return tags.indexOf(state.tag) !== -1; });
      tests.push(function (row) { return tagged[self.tagIndex[row]]; });
    }
    if (state.ref) {
      var hits = data.cells.map(function (column) {
        return column.values.map(function (cell) {
          if (cell === null) { return false; }
          return linksOf(cell).some(function (l) { return l[1] === state.ref && l[2] !== "x"; });
        });
      });
      tests.push(function (row) {
        return hits.some(function (hit, c) { return hit[self.index[c][row]]; });
      });
    }
    if (state.field) {
      var at = data.columns.map(function (c) { return c.name; }).indexOf(state.field);
      if (at === -1) {
        tests.push(function () { return false; });
      } else {
        var equal = data.cells[at].values.map(function (cell) {
          return state.value === "" ? cell === null : cellText(cell) === state.value;
        });
        var fieldIndex = this.index[at];
        tests.push(function (row) { return equal[fieldIndex[row]]; });
      }
    }
    var rows = [];
    for (var row = 0; row < this.count; row += 1) {
      var ok = true;
      for (var t = 0; t < tests.length && ok; t += 1) { ok = tests[t](row); }
      if (ok) { rows.push(row); }
    }
    var column = data.columns.map(function (c) { return c.name; }).indexOf(state.sort);
    if (column !== -1) {
      var rank = this.rank(column);
      var index = this.index[column];
      var sign = state.dir === "desc" ? -1 : 1;
      rows.sort(function (a, b) {
        var ra = rank[index[a]];
        var rb = rank[index[b]];
        if (ra === rb) { return a - b; }
        if (ra === -1) { return 1; } // empty values last, whatever the direction
        if (rb === -1) { return -1; }
        return (ra - rb) * sign;
      });
    }
    return rows;
  };

  // ---- One table page driven by its data ----

  function readState(table) {
    var params = new URLSearchParams(window.location.search);
    var page = parseInt(params.get("page") || table.getAttribute("data-page") || "1", 10);
    return {
      q: params.get("q") || "",
      list: params.get("list") || "",
      tag: params.get("tag") || "",
      ref: params.get("ref") || "",
      field: params.get("field") || "",
      value: params.get("value") || "",
      cols: params.get("cols") || "",
      sort: params.get("sort") || "",
      dir: params.get("dir") === "desc" ? "desc" : "asc",
      page: isNaN(page) || page < 1 ? 1 : page
    };
  }

  function writeState(state) {
    var params = new URLSearchParams();
    ["q", "list", "tag", "ref", "field", "value", "cols", "sort"].forEach(function (key) {
      if (state[key]) { params.set(key, state[key]); }
    });
    if (state.sort && state.dir === "desc") { params.set("dir", "desc"); }
    if (state.page > 1) { params.set("page", String(state.page)); }
    var query = params.toString();
    var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    try { window.history.replaceState(null, "", url); } catch (error) { /* file: URLs */ }
  }

  function button(label, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    element.addEventListener("click", onClick);
    return element;
  }

  function DataTable(table, panel, data) {
    this.table = table;
    this.panel = panel;
    this.rows = new Rows(data);
    this.data = data;
    this.root = siteRoot();
    this.pageSize = data.pageSize || 100;
    this.state = readState(table);
    this.selected = [];
    this.defaults = data.columns.map(function (c) { return !c.hidden; });
    var wanted = this.state.cols ? this.state.cols.split(",") : null;
    this.visible = data.columns.map(function (c, i) {
      return i === 0 || (wanted ? wanted.indexOf(c.name) !== -1 : !c.hidden);
    });
    this.money = data.currency && window.Intl
      ? new Intl.NumberFormat(lang, { style: "currency", currency: data.currency }) : numbers;
    this.controls = panel ? {
      q: panel.querySelector('[data-filter="text"]'),
      list: panel.querySelector('[data-filter="list"]'),
      tag: panel.querySelector('[data-filter="tag"]'),
      count: panel.querySelector('[data-role="count"]')
    } : {};
  }

  DataTable.prototype.start = function () {
    var self = this;
    var staticPager = document.querySelector('[data-role="pager"]');
    if (staticPager) { staticPager.hidden = true; }
    this.pager = document.createElement("nav");
    this.pager.className = "pager";
    this.pager.setAttribute("aria-label", "Pages");
    this.table.closest(".table-wrap").insertAdjacentElement("afterend", this.pager);
    ["q", "list", "tag"].forEach(function (key) {
      var control = self.controls[key];
      if (!control) { return; }
      control.value = self.state[key];
      if (control.value !== self.state[key]) { self.state[key] = ""; } // not an option
      var update = function () {
        self.state[key] = control.value;
        self.state.page = 1;
        self.refresh();
      };
      control.addEventListener(key === "q" ? "input" : "change", update);
    });
    if ((this.state.ref || this.state.field) && this.panel) {
      this.refNote = document.createElement("p");
      this.refNote.className = "filter-ref";
      this.panel.appendChild(this.refNote);
    }
    if (this.panel) {
      this.panel.appendChild(this.columnPicker());
      this.panel.hidden = false;
    }
    this.refresh();  // marks the table data-mode="data" once it shows the rows
  };

  // "Columns": every field of the table, one click away; the choice is kept in the URL.
  DataTable.prototype.columnPicker = function () {
    var self = this;
    var details = document.createElement("details");
    details.className = "filter column-picker";
    var summary = document.createElement("summary");
    summary.textContent = "Columns";
    details.appendChild(summary);
    var box = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.className = "visually-hidden";
    legend.textContent = "Columns shown";
    box.appendChild(legend);
    this.data.columns.forEach(function (column, i) {
      if (i === 0) { return; }
      var label = document.createElement("label");
      var check = document.createElement("input");
      check.type = "checkbox";
      check.checked = self.visible[i];
      check.setAttribute("data-column", column.name);
      check.addEventListener("change", function () {
        self.visible[i] = check.checked;
        var same = self.visible.every(function (v, j) { return j === 0 || v === self.defaults[j]; });
        self.state.cols = same ? "" : self.data.columns
          .filter(function (c, j) { return self.visible[j]; })
          .map(function (c) { return c.name; }).join(",");
        self.refresh();
      });
      label.appendChild(check);
      label.appendChild(document.createTextNode(" " + column.label));
      box.appendChild(label);
    });
    details.appendChild(box);
    return details;
  };

  DataTable.prototype.renderHead = function () {
    var self = this;
    var state = this.state;
    var row = document.createElement("tr");
    var current = state.sort || "";
    var dir = state.dir;
    if (!current && this.data.sort) {  // the rows are in the table's declared order
      current = this.data.sort.replace(/^-/, "");
      dir = this.data.sort.charAt(0) === "-" ? "desc" : "asc";
    }
    this.data.columns.forEach(function (column, i) {
      if (!self.visible[i]) { return; }
      var th = document.createElement("th");
      th.setAttribute("scope", "col");
      th.className = "type-" + column.type;
      th.setAttribute("data-field", column.name);
      th.setAttribute("data-type", column.sort);
      if (column.name === current) {
        th.setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
      }
      var sortButton = button(column.label, function () {
        var descending = state.sort === column.name && state.dir === "asc";
        state.sort = column.name;
        state.dir = descending ? "desc" : "asc";
        state.page = 1;
        self.refresh();
      });
      sortButton.className = "sort-button";
      th.appendChild(sortButton);
      row.appendChild(th);
    });
    var head = this.table.tHead;
    while (head.firstChild) { head.removeChild(head.firstChild); }
    head.appendChild(row);
  };

  // The totals of the rows that pass the filters (all pages of them).
  DataTable.prototype.renderTotals = function () {
    var self = this;
    var foot = this.table.tFoot || this.table.createTFoot();
    while (foot.firstChild) { foot.removeChild(foot.firstChild); }
    var row = document.createElement("tr");
    row.className = "totals";
    row.setAttribute("data-role", "totals");
    var shown = this.selected.length;
    this.data.columns.forEach(function (column, c) {
      if (!self.visible[c]) { return; }
      var cell = document.createElement(c === 0 ? "th" : "td");
      cell.setAttribute("data-field", column.name);
      if (c === 0) {
        cell.setAttribute("scope", "row");
        cell.setAttribute("data-role", "total-count");
        cell.textContent = "Total of " + numbers.format(shown) + (shown === 1 ? " record" : " records");
      } else if (column.total) {
        cell.className = "type-" + column.type;
        var sum = 0;
        for (var i = 0; i < self.selected.length; i += 1) {
          var value = self.rows.cell(self.selected[i], c);
          if (value !== null && value[1] !== 0 && value[1] !== "") {
            var number = parseFloat(value[1]);
            if (!isNaN(number)) { sum += number; }
          }
        }
        sum = Math.round(sum * 1e6) / 1e6;
        cell.setAttribute("data-total", String(sum));
        cell.textContent = column.type === "currency" ? self.money.format(sum) : numbers.format(sum);
      }
      row.appendChild(cell);
    });
    foot.appendChild(row);
  };

  // Whether the view asks for a column table.json leaves to table-more.json: a hidden column
  // shown or sorted by, a search (it reads every column), a filter by field or reference.
  DataTable.prototype.needsMore = function () {
    var data = this.data;
    var state = this.state;
    if (!data.more) { return false; }
    if (state.q.trim() || state.ref) { return true; }
    var names = data.columns.map(function (c) { return c.name; });
    var missing = function (name) {
      var at = names.indexOf(name);
      return at !== -1 && !data.cells[at];
    };
    if ((state.field && missing(state.field)) || (state.sort && missing(state.sort))) {
      return true;
    }
    return this.visible.some(function (shown, c) { return shown && !data.cells[c]; });
  };

  // Load table-more.json into the data, then refresh. A table whose extra columns cannot be
  // loaded shows them empty rather than failing.
  DataTable.prototype.more = function () {
    var self = this;
    var data = this.data;
    if (this.loading) { return; }
    this.loading = true;
    this.table.setAttribute("data-mode", "loading");
    if (this.controls.count) { this.controls.count.textContent = "Loading every column…"; }
    var src = new URL(data.more, new URL(this.table.getAttribute("data-src"), window.location.href));
    var merge = function (more) {
      if (more && more.format === FORMAT && Array.isArray(more.columns)) {
        more.columns.forEach(function (at, i) {
          if (typeof at === "number" && !data.cells[at] && more.cells[i]) {
            data.cells[at] = more.cells[i];
          }
        });
      }
      data.cells.forEach(function (column, c) {  // still missing: empty, not broken
        if (!column) {
          data.cells[c] = { values: [null], index: "0".repeat(data.slugs.length), width: 1 };
        }
      });
      delete data.more;
      self.rows = new Rows(data);
      self.loading = false;
      self.refresh();
    };
    window.fetch(src.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(merge, function () { merge(null); });
  };

  DataTable.prototype.refresh = function () {
    var state = this.state;
    if (this.needsMore()) {
      writeState(state);
      this.more();
      return;
    }
    this.selected = this.rows.select(state);
    var pages = Math.max(1, Math.ceil(this.selected.length / this.pageSize));
    if (state.page > pages) { state.page = pages; }
    var self = this;
    this.renderHead();
    this.renderRows();
    this.renderTotals();
    this.renderPager(pages);
    if (this.controls.count) {
      this.controls.count.textContent = numbers.format(this.selected.length) + " of " +
        numbers.format(this.rows.count) + " shown";
    }
    if (this.refNote) { this.renderRef(); }
    self.table.setAttribute("data-shown", String(this.selected.length));
    self.table.setAttribute("data-mode", "data");
    writeState(state);
  };

  DataTable.prototype.renderRows = function () {
    var data = this.data;
    var body = document.createElement("tbody");
    var start = (this.state.page - 1) * this.pageSize;
    var slice = this.selected.slice(start, start + this.pageSize);
    for (var i = 0; i < slice.length; i += 1) {
      var row = slice[i];
      var tr = document.createElement("tr");
      var own = encodeURIComponent(data.project) + "/" + encodeURIComponent(data.slugs[row]) + ".html";
      tr.setAttribute("data-slug", data.slugs[row]);
      for (var c = 0; c < data.columns.length; c += 1) {
        if (!this.visible[c]) { continue; }
        var cell = this.rows.cell(row, c);
        var element = document.createElement(c === 0 ? "th" : "td");
        if (c === 0) { element.setAttribute("scope", "row"); }
        element.className = "type-" + data.columns[c].type;
        element.setAttribute("data-field", data.columns[c].name);
        var sort = cell === null ? "" : cell[1] === 0 ? cellText(cell).toLocaleLowerCase() : cell[1];
        element.setAttribute("data-sort", String(sort));
        fillCell(element, cell, this.root, own);
        tr.appendChild(element);
      }
      body.appendChild(tr);
    }
    this.table.replaceChild(body, this.table.tBodies[0]);
  };

  DataTable.prototype.renderPager = function (pages) {
    var self = this;
    var state = this.state;
    var pager = this.pager;
    while (pager.firstChild) { pager.removeChild(pager.firstChild); }
    var total = this.selected.length;
    var first = total ? (state.page - 1) * this.pageSize + 1 : 0;
    var last = Math.min(total, state.page * this.pageSize);
    var info = document.createElement("p");
    info.className = "pager-rows";
    info.setAttribute("aria-live", "polite");
    info.textContent = total
      ? "Rows " + numbers.format(first) + "–" + numbers.format(last) + " of " + numbers.format(total)
      : "No rows match.";
    pager.appendChild(info);
    if (pages < 2) { return; }
    var go = function (page) {
      return function () {
        state.page = page;
        self.refresh();
        self.table.closest(".table-wrap").scrollIntoView({ block: "start" });
      };
    };
    var previous = button("Previous", go(state.page - 1));
    previous.disabled = state.page <= 1;
    var next = button("Next", go(state.page + 1));
    next.disabled = state.page >= pages;
    var where = document.createElement("span");
    where.className = "pager-page";
    where.textContent = "Page " + numbers.format(state.page) + " of " + numbers.format(pages);
    [previous, where, next].forEach(function (element) { pager.appendChild(element); });
  };

  DataTable.prototype.renderRef = function () {
    var self = this;
    var note = this.refNote;
    while (note.firstChild) { note.removeChild(note.firstChild); }
    if (this.state.field) {
      var named = this.data.columns.filter(function (c) { return c.name === self.state.field; })[0];
      note.appendChild(document.createTextNode("Rows whose " + (named ? named.label : self.state.field) + " is "));
      var value = document.createElement("strong");
      value.textContent = this.state.value || "empty";
      note.appendChild(value);
      note.appendChild(document.createTextNode(" "));
      note.appendChild(button("Show all", function () {
        self.state.field = "";
        self.state.value = "";
        self.state.page = 1;
        self.refresh();
      }));
      return;
    }
    if (!this.state.ref) { note.hidden = true; return; }
    var label = this.state.ref;
    this.data.cells.some(function (column) {
      return column.values.some(function (cell) {
        var hit = linksOf(cell).filter(function (l) { return l[1] === self.state.ref; })[0];
        if (hit) { label = hit[0]; }
        return Boolean(hit);
      });
    });
    note.appendChild(document.createTextNode("Rows that link to "));
    var strong = document.createElement("strong");
    strong.textContent = label;
    note.appendChild(strong);
    note.appendChild(document.createTextNode(" "));
    note.appendChild(button("Show all", function () {
      self.state.ref = "";
      self.state.page = 1;
      self.refresh();
    }));
  };

  // ---- Without the data (file: URLs, a failed request): sort and filter this page ----

  function domRows(table) {
    return Array.prototype.slice.call(table.tBodies[0].rows);
  }

  function sortPage(table, th) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(th);
    var numeric = th.getAttribute("data-type") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = domRows(table);
    var keyed = rows.map(function (row, position) {
      var cell = row.cells[index];
      return { row: row, key: cell ? cell.getAttribute("data-sort") || "" : "", position: position };
    });
    keyed.sort(function (a, b) {
      if (a.key === "" || b.key === "") {
        if (a.key === b.key) { return a.position - b.position; }
        return a.key === "" ? 1 : -1;
      }
      var result = numeric ? parseFloat(a.key) - parseFloat(b.key) : collator.compare(a.key, b.key);
      if (result === 0 || isNaN(result)) { return a.position - b.position; }
      return ascending ? result : -result;
    });
    keyed.forEach(function (item) { table.tBodies[0].appendChild(item.row); });
  }

  function parseTags(row) {
    try {
      var tags = JSON.parse(row.getAttribute("data-tags") || "[]");
      return Array.isArray(tags) ? tags : [];
    } catch (error) {
      return [];
    }
  }

  function filterPage(panel, table) {
    var text = panel.querySelector('[data-filter="text"]');
    var list = panel.querySelector('[data-filter="list"]');
    var tag = panel.querySelector('[data-filter="tag"]');
    var count = panel.querySelector('[data-role="count"]');
    var rows = domRows(table);
    function apply() {
      var query = text ? text.value.trim().toLocaleLowerCase() : "";
      var wantList = list ? list.value : "";
      var wantTag = tag ? tag.value : "";
      var shown = 0;
      rows.forEach(function (row) {
        var match = (!query || row.textContent.toLocaleLowerCase().indexOf(query) !== -1) &&
          (!wantList || row.getAttribute("data-list") === wantList) &&
          (!wantTag || parseTags(row).indexOf(wantTag) !== -1);
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      if (count) {
        count.textContent = numbers.format(shown) + " of " + numbers.format(rows.length) +
          " on this page shown";
      }
    }
    [text, list, tag].forEach(function (control) {
      if (control) {
        control.addEventListener("input", apply);
        control.addEventListener("change", apply);
      }
    });
    panel.hidden = false;
    apply();
  }

  function pageOnly(table, panel) {
    Array.prototype.forEach.call(table.querySelectorAll("thead .sort-button"), function (b) {
      b.addEventListener("click", function () { sortPage(table, b.closest("th")); });
    });
    if (panel) { filterPage(panel, table); }
    table.setAttribute("data-mode", "page");
  }

  function setUp(table) {
    var panel = document.querySelector('[data-filters-for="' + table.id + '"]');
    var src = table.getAttribute("data-src");
    if (!src || !window.fetch || window.location.protocol === "file:") {
      pageOnly(table, panel);
      return;
    }
    window.fetch(src, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (!data || data.format !== FORMAT || !Array.isArray(data.slugs)) {
          throw new Error("unknown table data");
        }
        new DataTable(table, panel, data).start();
      })
      .catch(function () { pageOnly(table, panel); });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.records"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
