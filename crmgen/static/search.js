// crmgen search: the box in every page's header and the search page (search.html).
// The index is the site's own JSON under search/ (see crmgen/views/search.py): a manifest,
// then only the shards a query needs (vocabulary by first two characters, postings by
// prefix, documents by hundreds), so a query loads a few of them. No WebAssembly, no eval,
// no innerHTML: results are built with textContent, hrefs are the site's own relative paths.
// Opened from file://, browsers refuse to load the index: the box says so and points to
// the tables' filters.
(function () {
  "use strict";

  var FORMAT = 1;
  // Field bits of a posting (FIELDS in views/search.py) and how much a match in each counts.
  var WEIGHTS = [[1, 10], [2, 5], [4, 4], [8, 2], [16, 1]];
  var TITLE = 1;
  var BUDGET = 400 * 1024;   // bytes of postings one query term may load
  var MAX_EXPAND = 40;       // index terms one query term may stand for (prefixes, typos)
  var MAX_TERM = 24;
  var BOX_RESULTS = 10;      // results in the header box
  var PAGE_RESULTS = 50;     // results per "page" of the search page
  var lang = document.documentElement.lang || "en";
  var numbers = new Intl.NumberFormat(lang);

  function scriptRoot() {
    var script = document.querySelector('script[src$="assets/search.js"]');
    var src = script ? script.getAttribute("src") : "";
    return src.slice(0, src.length - "assets/search.js".length);
  }

  var root = scriptRoot();

  // ---- Text, as views/search.py normalizes it ----

  function normalize(text) {
    return String(text).normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  }

  function terms(text) {
    var found = normalize(text).match(/[\p{L}\p{N}]+/gu) || [];
    var out = [];
    found.forEach(function (term) {
      var chars = Array.from(term).slice(0, MAX_TERM);
      if (chars.length > 1 && out.indexOf(chars.join("")) === -1) { out.push(chars.join("")); }
    });
    return out;
  }

  function hex(text) {
    var bytes = new TextEncoder().encode(text);
    var out = "";
    for (var i = 0; i < bytes.length; i += 1) { out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return out;
  }

  // Edit distance (insert, delete, replace, swap of neighbours) of a to b, or with
  // ``prefix`` to the closest start of b; max + 1 once it is certain to exceed max.
  function distance(a, b, max, prefix) {
    if (!prefix && Math.abs(a.length - b.length) > max) { return max + 1; }
    var before = null;
    var previous = [];
    var j;
    for (j = 0; j <= b.length; j += 1) { previous.push(j); }
    for (var i = 1; i <= a.length; i += 1) {
      var current = [i];
      var least = i;
      for (j = 1; j <= b.length; j += 1) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        var value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
        if (before && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          value = Math.min(value, before[j - 2] + 1);
        }
        current.push(value);
        if (value < least) { least = value; }
      }
      if (least > max) { return max + 1; }
      before = previous;
      previous = current;
    }
    return prefix ? Math.min.apply(null, previous) : previous[b.length];
  }

  function weight(fields) {
    for (var i = 0; i < WEIGHTS.length; i += 1) {
      if (fields & WEIGHTS[i][0]) { return WEIGHTS[i][1]; }
    }
    return 0;
  }

  // ---- The index: the manifest, then shards as a query needs them ----

  function Index(base) {
    this.base = base;
    this.files = {};
    this.decoded = {};
    this.meta = null;
  }

  Index.prototype.load = function (name) {
    if (!this.files[name]) {
      this.files[name] = window.fetch(this.base + name, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        });
    }
    return this.files[name];
  };

  Index.prototype.ready = function () {
    var self = this;
    if (!this.started) {
      this.started = this.load("index.json").then(function (meta) {
        if (!meta || meta.format !== FORMAT || !Array.isArray(meta.projects)) {
          throw new Error("unknown search index");
        }
        self.meta = meta;
        self.vocabulary = {};
        meta.vocabulary.forEach(function (key) { self.vocabulary[key] = true; });
        return meta;
      });
    }
    return this.started;
  };

  Index.prototype.shardOf = function (term) {
    var chars = Array.from(term);
    for (var length = Math.min(chars.length, this.meta.maxKey); length > 0; length -= 1) {
      var key = chars.slice(0, length).join("");
      if (Object.prototype.hasOwnProperty.call(this.meta.shards, key)) { return key; }
    }
    return null;
  };

  // The index terms a query term may stand for: [term, quality, documents], best first.
  Index.prototype.candidates = function (term) {
    var self = this;
    var chars = Array.from(term);
    var typos = chars.length >= 4;
    var keys = [chars.slice(0, 2).join("")];
    if (typos) { keys.push(chars[1] + chars[0], chars[0] + chars[2]); }
    keys = keys.filter(function (key, i) {
      return keys.indexOf(key) === i && self.vocabulary[key];
    });
    return Promise.all(keys.map(function (key) { return self.load("v-" + hex(key) + ".json"); }))
      .then(function (shards) {
        var found = [];
        var most = chars.length >= 8 ? 2 : 1;
        shards.forEach(function (entries) {
          entries.forEach(function (entry) {
            var word = entry[0];
            var quality = 0;
            if (word === term) {
              quality = 1;
            } else if (word.indexOf(term) === 0) {
              quality = 0.6 + 0.3 * chars.length / Array.from(word).length;
            } else if (typos && (entry[2] & TITLE)) {
              var d = distance(chars, Array.from(word), most, true);
              if (d <= most) { quality = d === 1 ? 0.45 : 0.3; }
            }
            if (quality > 0) { found.push([word, quality, entry[1]]); }
          });
        });
        found.sort(function (a, b) { return b[1] - a[1] || b[2] - a[2] || (a[0] < b[0] ? -1 : 1); });
        return found.slice(0, MAX_EXPAND);
      });
  };

  Index.prototype.postings = function (shard, term) {
    var id = shard + "\u0000" + term;
    if (!this.decoded[id]) {
      var data = this.files["t-" + hex(shard) + ".json"].value[term] || [];
      var docs = new Int32Array(data.length);
      var fields = new Uint8Array(data.length);
      var doc = 0;
      for (var i = 0; i < data.length; i += 1) {
        doc += Math.floor(data[i] / 32);
        docs[i] = doc;
        fields[i] = data[i] % 32;
      }
      this.decoded[id] = { docs: docs, fields: fields };
    }
    return this.decoded[id];
  };

  // Document -> score for one query term: its best candidate in each document.
  Index.prototype.scores = function (term) {
    var self = this;
    return this.candidates(term).then(function (candidates) {
      var planned = {};
      var total = 0;
      var chosen = candidates.filter(function (candidate) {
        var shard = self.shardOf(candidate[0]);
        if (shard === null) { return false; }
        candidate.push(shard);
        if (planned[shard]) { return true; }
        var size = self.meta.shards[shard];
        if (candidate[1] < 1 && total + size > BUDGET) { return false; }
        planned[shard] = true;
        total += size;
        return true;
      });
      var names = Object.keys(planned).map(function (shard) { return "t-" + hex(shard) + ".json"; });
      return Promise.all(names.map(function (name) {
        return self.load(name).then(function (value) { self.files[name].value = value; });
      })).then(function () {
        var scores = new Map();
        chosen.forEach(function (candidate) {
          var list = self.postings(candidate[3], candidate[0]);
          for (var i = 0; i < list.docs.length; i += 1) {
            var score = candidate[1] * weight(list.fields[i]);
            var doc = list.docs[i];
            var had = scores.get(doc);
            if (had === undefined || had < score) { scores.set(doc, score); }
          }
        });
        return scores;
      });
    });
  };

  Index.prototype.facet = function (kind, value) {
    var entry = value ? (this.meta[kind] || {})[value] : null;
    if (!entry) { return Promise.resolve(value ? new Set() : null); }
    return this.load("f-" + entry[0] + ".json").then(function (gaps) {
      var docs = new Set();
      var doc = 0;
      gaps.forEach(function (gap) { doc += gap; docs.add(doc); });
      return docs;
    });
  };

  // Every document matching the query and filters, best first: {docs: [number], terms}.
  Index.prototype.search = function (query, filters) {
    var self = this;
    filters = filters || {};
    return this.ready().then(function (meta) {
      var words = terms(query);
      var project = null;
      meta.projects.forEach(function (p) { if (p[0] === filters.project) { project = p; } });
      var inProject = function (doc) {
        return !filters.project || (project !== null && doc >= project[3] && doc < project[3] + project[4]);
      };
      return Promise.all([
        Promise.all(words.map(function (word) { return self.scores(word); })),
        self.facet("lists", filters.list),
        self.facet("tags", filters.tag)
      ]).then(function (found) {
        var perTerm = found[0];
        var lists = found[1];
        var tags = found[2];
        var keep = function (doc) {
          return inProject(doc) && (!lists || lists.has(doc)) && (!tags || tags.has(doc));
        };
        var ranked = [];
        if (!words.length) {
          if (!filters.project && !lists && !tags) { return { docs: [], terms: words }; }
          var all = lists || tags;
          var docs = all ? Array.from(all) : [];
          if (!all) {
            for (var d = project[3]; d < project[3] + project[4]; d += 1) { docs.push(d); }
          }
          docs = docs.filter(keep).sort(function (a, b) { return a - b; });
          return { docs: docs, terms: words };
        }
        perTerm.sort(function (a, b) { return a.size - b.size; });
        perTerm[0].forEach(function (score, doc) {
          if (!keep(doc)) { return; }
          var total = score;
          for (var i = 1; i < perTerm.length; i += 1) {
            var other = perTerm[i].get(doc);
            if (other === undefined) { return; }
            total += other;
          }
          ranked.push([doc, total]);
        });
        ranked.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
        return { docs: ranked.map(function (r) { return r[0]; }), terms: words };
      });
    });
  };

  // The documents (title, project, list, amount, href) of some document numbers, in order.
  Index.prototype.documents = function (numbersWanted) {
    var self = this;
    var chunk = this.meta.chunk;
    var chunks = [];
    numbersWanted.forEach(function (doc) {
      var n = Math.floor(doc / chunk);
      if (chunks.indexOf(n) === -1) { chunks.push(n); }
    });
    return Promise.all(chunks.map(function (n) { return self.load("d-" + n + ".json"); }))
      .then(function (loaded) {
        var byChunk = {};
        chunks.forEach(function (n, i) { byChunk[n] = loaded[i]; });
        return numbersWanted.map(function (doc) {
          var row = byChunk[Math.floor(doc / chunk)][doc % chunk];
          var project = self.meta.projects[row[0]];
          return {
            project: project[0],
            projectTitle: project[1],
            href: safePrefix(project[2]) ? root + project[2] + encodeURIComponent(row[1]) + ".html" : "",
            title: row[2] || row[1],
            list: row[3],
            amount: row[4]
          };
        });
      });
  };

  function safePrefix(prefix) {
    return /^[A-Za-z0-9._~%-]+\/$/.test(prefix) && prefix.indexOf("..") === -1;
  }

  // ---- Drawing results (textContent only) ----

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function hit(doc) {
    var link = element(doc.href ? "a" : "span", "search-hit");
    if (doc.href) { link.setAttribute("href", doc.href); }
    link.setAttribute("data-project", doc.project);
    link.appendChild(element("span", "search-hit-title", doc.title));
    var meta = element("span", "search-hit-meta");
    if (doc.list) { meta.appendChild(element("span", "search-hit-list", doc.list)); }
    if (doc.amount) { meta.appendChild(element("span", "search-hit-amount", doc.amount)); }
    link.appendChild(meta);
    return link;
  }

  // Results grouped by project; the groups in the order of their best result.
  function groups(container, docs) {
    var order = [];
    var byProject = {};
    docs.forEach(function (doc) {
      if (!byProject[doc.project]) {
        byProject[doc.project] = [];
        order.push(doc);
      }
      byProject[doc.project].push(doc);
    });
    order.forEach(function (first) {
      var group = element("section", "search-group");
      group.setAttribute("data-project", first.project);
      group.appendChild(element("h2", "search-group-title", first.projectTitle));
      var list = element("ul", "search-hits");
      byProject[first.project].forEach(function (doc) {
        var item = element("li");
        item.appendChild(hit(doc));
        list.appendChild(item);
      });
      group.appendChild(list);
      container.appendChild(group);
    });
  }

  function tablesNote(container, reason) {
    container.appendChild(element("p", "search-note", reason + " Use the filters of each table:"));
    var list = element("ul", "search-tables");
    Array.prototype.forEach.call(document.querySelectorAll(".site-nav a"), function (a) {
      if (/(^|\/)index\.html$/.test(a.getAttribute("href") || "") && a.textContent !== "Home") {
        var item = element("li");
        var link = element("a", "", a.textContent);
        link.setAttribute("href", a.getAttribute("href"));
        item.appendChild(link);
        list.appendChild(item);
      }
    });
    container.appendChild(list);
  }

  var FILE_REASON = "Search cannot run on a site opened from a file (file://): the browser " +
    "refuses to load its index. Serve the folder over http(s) to search.";
  var FAILED_REASON = "The search index could not be loaded.";

  function unavailable() {
    return window.location.protocol === "file:" || !window.fetch || !window.TextEncoder ||
      !window.Map || !window.Set;
  }

  var index = new Index(root + "search/");

  // ---- The header box ----

  function Box(wrap) {
    this.wrap = wrap;
    this.input = wrap.querySelector("input");
    this.popup = wrap.querySelector(".search-popup");
    this.status = wrap.querySelector("[aria-live]");
    this.sequence = 0;
    this.results = null;   // {query, docs}
    this.pendingEnter = false;
  }

  Box.prototype.start = function () {
    var self = this;
    this.wrap.hidden = false;
    this.input.addEventListener("input", function () { self.run(); });
    this.input.addEventListener("focus", function () {
      if (unavailable()) { self.showNote(FILE_REASON); } else { index.ready().catch(function () {}); }
      if (self.input.value.trim()) { self.run(); }
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        self.enter();
      } else if (event.key === "ArrowDown") {
        var first = self.popup.querySelector("a");
        if (first && !self.popup.hidden) { event.preventDefault(); first.focus(); }
      } else if (event.key === "Escape") {
        self.close();
      }
    });
    this.popup.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(self.popup.querySelectorAll("a"));
      var at = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at !== -1 && at + 1 < links.length) {
        event.preventDefault();
        links[at + 1].focus();
      } else if (event.key === "ArrowUp" && at !== -1) {
        event.preventDefault();
        (at === 0 ? self.input : links[at - 1]).focus();
      } else if (event.key === "Escape") {
        self.input.focus();
        self.close();
      }
    });
    document.addEventListener("click", function (event) {
      if (!self.wrap.contains(event.target)) { self.close(); }
    });
  };

  Box.prototype.close = function () {
    this.popup.hidden = true;
    this.input.removeAttribute("aria-expanded");
  };

  Box.prototype.open = function () {
    this.popup.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  };

  Box.prototype.showNote = function (reason) {
    clear(this.popup);
    tablesNote(this.popup, reason);
    this.popup.setAttribute("data-state", "unavailable");
    this.open();
  };

  Box.prototype.enter = function () {
    var query = this.input.value.trim();
    if (!query) { return; }
    if (this.results && this.results.query === query) {
      var first = this.popup.querySelector("a.search-hit");
      if (first) { window.location.href = first.href; }
    } else {
      this.pendingEnter = true;
    }
  };

  Box.prototype.run = function () {
    var self = this;
    var query = this.input.value.trim();
    var sequence = (this.sequence += 1);
    if (unavailable()) { this.showNote(FILE_REASON); return; }
    if (!query) { this.results = null; this.close(); return; }
    var started = window.performance.now();
    index.search(query, {}).then(function (found) {
      return index.documents(found.docs.slice(0, BOX_RESULTS)).then(function (docs) {
        if (sequence !== self.sequence) { return; }
        self.show(query, docs, found.docs.length, window.performance.now() - started);
      });
    }).catch(function () {
      if (sequence === self.sequence) { self.showNote(FAILED_REASON); }
    });
  };

  Box.prototype.show = function (query, docs, count, ms) {
    clear(this.popup);
    this.results = { query: query, docs: docs };
    this.popup.removeAttribute("data-state");
    if (!docs.length) {
      this.popup.appendChild(element("p", "search-note", "No record matches “" + query + "”."));
    } else {
      groups(this.popup, docs);
    }
    var more = element("a", "search-all",
      count > docs.length ? "All " + numbers.format(count) + " results" : "Search page: filter by project, list and tag");
    more.setAttribute("href", root + "search.html?q=" + encodeURIComponent(query));
    this.popup.appendChild(more);
    this.status.textContent = count === 1 ? "1 result" : numbers.format(count) + " results";
    this.popup.setAttribute("data-query", query);
    this.popup.setAttribute("data-ms", ms.toFixed(1));
    this.open();
    if (this.pendingEnter) {
      this.pendingEnter = false;
      var first = this.popup.querySelector("a.search-hit");
      if (first) { window.location.href = first.href; }
    }
  };

  // ---- The search page: query and filters in the address ----

  function SearchPage(panel) {
    this.panel = panel;
    this.fields = {};
    var self = this;
    Array.prototype.forEach.call(panel.querySelectorAll("[data-search-field]"), function (field) {
      self.fields[field.getAttribute("data-search-field")] = field;
    });
    this.count = document.querySelector("[data-search-count]");
    this.results = document.querySelector("[data-search-results]");
    this.sequence = 0;
    this.shown = PAGE_RESULTS;
  }

  SearchPage.prototype.start = function () {
    var self = this;
    var params = new URLSearchParams(window.location.search);
    Object.keys(this.fields).forEach(function (name) {
      var field = self.fields[name];
      var value = params.get(name) || "";
      if (field.tagName === "SELECT" && value &&
          !Array.prototype.some.call(field.options, function (o) { return o.value === value; })) {
        value = "";
      }
      field.value = value;
      field.addEventListener(field.tagName === "SELECT" ? "change" : "input", function () {
        self.shown = PAGE_RESULTS;
        self.remember();
        self.run();
      });
    });
    this.panel.hidden = false;
    if (unavailable()) {
      clear(this.results);
      tablesNote(this.results, FILE_REASON);
      return;
    }
    this.run();
  };

  SearchPage.prototype.values = function () {
    var out = {};
    var self = this;
    Object.keys(this.fields).forEach(function (name) { out[name] = self.fields[name].value.trim(); });
    return out;
  };

  SearchPage.prototype.remember = function () {
    var params = new URLSearchParams();
    var values = this.values();
    ["q", "project", "list", "tag"].forEach(function (name) {
      if (values[name]) { params.set(name, values[name]); }
    });
    var text = params.toString();
    try {
      window.history.replaceState(null, "", text ? "?" + text : window.location.pathname);
    } catch (error) { /* file: URLs */ }
  };

  SearchPage.prototype.run = function () {
    var self = this;
    var values = this.values();
    var sequence = (this.sequence += 1);
    var started = window.performance.now();
    index.search(values.q || "", values).then(function (found) {
      var wanted = found.docs.slice(0, self.shown);
      return index.documents(wanted).then(function (docs) {
        if (sequence !== self.sequence) { return; }
        self.show(values, docs, found, window.performance.now() - started);
      });
    }).catch(function () {
      if (sequence !== self.sequence) { return; }
      clear(self.results);
      tablesNote(self.results, FAILED_REASON);
    });
  };

  SearchPage.prototype.show = function (values, docs, found, ms) {
    var self = this;
    clear(this.results);
    var total = found.docs.length;
    var asked = found.terms.length || values.project || values.list || values.tag;
    if (!asked) {
      this.count.textContent = "Type a name, a word of a note, a tag or a client.";
    } else if (!total) {
      this.count.textContent = "No record matches.";
    } else {
      this.count.textContent = (total === 1 ? "1 record" : numbers.format(total) + " records") +
        (docs.length < total ? ", the first " + numbers.format(docs.length) + " shown" : "");
    }
    groups(this.results, docs);
    if (docs.length < total) {
      var more = element("button", "search-more", "Show more");
      more.setAttribute("type", "button");
      more.addEventListener("click", function () {
        self.shown += PAGE_RESULTS;
        self.run();
      });
      this.results.appendChild(more);
    }
    this.results.setAttribute("data-query", values.q || "");
    this.results.setAttribute("data-ms", ms.toFixed(1));
  };

  // ---- Start ----

  function editable(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function init() {
    var wrap = document.querySelector("[data-search-box]");
    var box = null;
    if (wrap) {
      box = new Box(wrap);
      box.start();
    }
    var panel = document.querySelector("[data-search-page]");
    if (panel) { new SearchPage(panel).start(); }
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey ||
          editable(event.target) || !box) {
        return;
      }
      event.preventDefault();
      box.input.focus();
      box.input.select();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
