// The lead-capture form (forms/<project>.html): no server behind it. On submit, after the
// browser's own checks (required, e-mail, URL, numbers, lengths) and the schema's patterns,
// the answers become the query of the forge's new-issue page with the project's issue
// template (GitHub fills an issue form's fields from parameters named after their ids), and
// the page goes there. The form is never submitted itself: the Content-Security-Policy's
// form-action 'none' stays.
(function () {
  "use strict";
  var form = document.getElementById("lead-form");
  if (!form) return;
  // Browsers and GitHub keep an address to about 8,000 characters.
  var MAX_URL = 8000;
  var status = document.getElementById("lead-form-status");
  var notice = document.querySelector("[data-form-noscript]");
  if (notice) notice.hidden = true;
  form.hidden = false;

  function checkPatterns() {
    var inputs = form.querySelectorAll("[data-pattern]");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var re = null;
      try {
        re = new RegExp(input.getAttribute("data-pattern"), "u");
      } catch (e) {
        re = null;
      }
      var bad = re !== null && input.value !== "" && !re.test(input.value);
      input.setCustomValidity(bad ? "Please match the requested format." : "");
    }
    var groups = form.querySelectorAll("fieldset[data-required]");
    for (var j = 0; j < groups.length; j++) {
      var boxes = groups[j].querySelectorAll("input[type=checkbox]");
      var any = false;
      for (var k = 0; k < boxes.length; k++) any = any || boxes[k].checked;
      if (boxes.length) boxes[0].setCustomValidity(any ? "" : "Please choose at least one.");
    }
  }

  // field name -> its value as the issue form takes it ("" for none), in the form's order
  function answers() {
    var found = [];
    var fields = form.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var box = fields[i];
      var name = box.getAttribute("data-field");
      var kind = box.getAttribute("data-kind");
      var value = "";
      if (kind === "multiselect") {
        var picked = [];
        var boxes = box.querySelectorAll("input[type=checkbox]");
        for (var k = 0; k < boxes.length; k++) if (boxes[k].checked) picked.push(boxes[k].value);
        value = picked.join(", ");
      } else if (kind === "checkbox") {
        value = box.querySelector("input").checked ? "Yes" : "";
      } else {
        value = box.querySelector("input, select, textarea").value.trim();
      }
      found.push([name, value]);
    }
    return found;
  }

  form.addEventListener("input", function () {
    checkPatterns();
    status.textContent = "";
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    checkPatterns();
    if (!form.reportValidity()) return;
    var params = new URLSearchParams();
    params.append("template", form.getAttribute("data-template"));
    var values = answers();
    var title = values.length ? values[0][1] : "";
    params.append("title", form.getAttribute("data-title-prefix") + title);
    for (var i = 0; i < values.length; i++) {
      if (values[i][1] !== "") params.append(values[i][0], values[i][1]);
    }
    var url = form.getAttribute("data-issue-url") + "?" + params.toString();
    if (url.length > MAX_URL) {
      status.textContent =
        "The answers are too long to send (" + url.length + " characters in the address, " +
        "at most " + MAX_URL + "): please shorten the longest of them.";
      return;
    }
    window.location.assign(url);
  });
})();
