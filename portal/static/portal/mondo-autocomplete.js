// MONDO autocomplete for inputs marked data-mondo-autocomplete="single" or "multiple".
// Progressive enhancement: without JavaScript the input still takes MONDO ids typed by hand.
(function () {
  "use strict";
  var ENDPOINT = "/datasets/diseases/autocomplete/";

  // In a list, the query is what follows the last MONDO id or separator: names have spaces.
  function lastToken(value) {
    return value.replace(/^[\s\S]*(MONDO:\d{7}|[,;\n])/i, "").replace(/^\s+/, "");
  }

  function enhance(input) {
    var multiple = input.dataset.mondoAutocomplete === "multiple";
    var list = document.createElement("ul");
    list.className = "autocomplete";
    list.id = input.id + "_suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.insertAdjacentElement("afterend", list);
    var timer = null;
    var active = -1;
    var latest = 0; // answers to older queries that arrive late are dropped

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
    }

    function choose(id) {
      if (multiple) {
        var value = input.value;
        var token = lastToken(value);
        input.value = value.slice(0, value.length - token.length) + id + " ";
      } else {
        input.value = id;
      }
      close();
      input.focus();
      // A chosen term is a change like a typed one: the draft's autosave and consent check follow it.
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function highlight(index) {
      var items = list.querySelectorAll("li");
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
    }

    function show(results) {
      list.innerHTML = "";
      results.forEach(function (r) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.id = r.id;
        li.textContent = r.label + " ";
        var code = document.createElement("span");
        code.className = "term-id";
        code.textContent = r.id;
        li.appendChild(code);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(r.id); });
        list.appendChild(li);
      });
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      active = -1;
    }

    function lookup() {
      var q = multiple ? lastToken(input.value) : input.value.trim();
      clearTimeout(timer);
      if (q.length < 2 || /^MONDO:\d{7}$/i.test(q)) { close(); return; }
      timer = setTimeout(function () {
        var ticket = ++latest;
        fetch(ENDPOINT + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) { if (ticket === latest) { show(data.results || []); } })
          .catch(close);
      }, 150);
    }

    input.addEventListener("input", lookup);
    input.addEventListener("keydown", function (event) {
      var items = list.querySelectorAll("li");
      if (list.hidden || !items.length) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(items[active].dataset.id); }
      else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    // Words typed before this script ran (a slow connection) get their suggestions now.
    if (document.activeElement === input) { lookup(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-mondo-autocomplete]").forEach(enhance);
  });
})();
