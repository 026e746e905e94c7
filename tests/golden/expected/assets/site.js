// crmgen site script: table sorting and filtering. No inline handlers, no eval, no network.
// Without JavaScript every table is complete; this only adds sorting and filters.
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";
  var collator = new Intl.Collator(lang, { numeric: true, sensitivity: "base" });

  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.getAttribute("data-sort") || "" : "";
  }

  function compare(type, a, b) {
    // Empty values always sort last, whatever the direction (handled by the caller).
    if (type === "number") {
      return parseFloat(a) - parseFloat(b);
    }
    return collator.compare(a, b);
  }

  function sortTable(table, th) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(th);
    var type = th.getAttribute("data-type") || "text";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, position) { row.__position = position; });
    rows.sort(function (ra, rb) {
      var a = cellValue(ra, index);
      var b = cellValue(rb, index);
      if (a === "" || b === "") {
        if (a === b) { return ra.__position - rb.__position; }
        return a === "" ? 1 : -1;
      }
      var result = compare(type, a, b);
      if (result === 0 || isNaN(result)) { return ra.__position - rb.__position; }
      return ascending ? result : -result;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function parseTags(row) {
    try {
      var tags = JSON.parse(row.getAttribute("data-tags") || "[]");
      return Array.isArray(tags) ? tags : [];
    } catch (error) {
      return [];
    }
  }

  function setUpFilters(panel, table) {
    var text = panel.querySelector('[data-filter="text"]');
    var list = panel.querySelector('[data-filter="list"]');
    var tag = panel.querySelector('[data-filter="tag"]');
    var count = panel.querySelector('[data-role="count"]');
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);

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
        count.textContent = shown + " of " + rows.length + " shown";
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

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.records"), function (table) {
      Array.prototype.forEach.call(table.querySelectorAll("thead .sort-button"), function (button) {
        button.addEventListener("click", function () {
          sortTable(table, button.closest("th"));
        });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-filters-for]"), function (panel) {
      var table = document.getElementById(panel.getAttribute("data-filters-for"));
      if (table) { setUpFilters(panel, table); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
