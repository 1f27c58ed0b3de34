// The consent check of the application form follows the research purpose as it is typed: a
// moment after the last change, the purpose goes to the application's consent check (which
// saves nothing) and the rows of the requested datasets are replaced in place by the answer; a
// short sentence goes to a live region for screen readers. Without JavaScript the page shows the
// check of the saved purpose after each save.
(function () {
  "use strict";
  var DELAY = 500;
  var form, results, status, timer = null, latest = 0;
  // The latest text of each justification, so that one typed while a check was on its way, or
  // for a dataset that stopped and then again needs one, is never lost.
  var justifications = {};

  function isPurpose(el) { return !!(el && el.name && el.name.indexOf("purpose-") === 0); }
  function isJustification(el) { return !!(el && el.name && el.name.indexOf("justification_") === 0); }

  function body() {
    var data = new FormData();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!isPurpose(el) && !isJustification(el)) { return; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      data.append(el.name, el.value);
    });
    return data;
  }

  function rememberJustifications() {
    results.querySelectorAll("textarea[name^='justification_']").forEach(function (el) {
      justifications[el.name] = el.value;
    });
  }

  function replace(html) {
    rememberJustifications();
    var focused = document.activeElement;
    var focusName = focused && results.contains(focused) ? focused.name : null;
    var start = focusName ? focused.selectionStart : null;
    var end = focusName ? focused.selectionEnd : null;
    results.innerHTML = html;
    results.querySelectorAll("textarea[name^='justification_']").forEach(function (el) {
      if (Object.prototype.hasOwnProperty.call(justifications, el.name)) { el.value = justifications[el.name]; }
    });
    if (focusName) {
      var again = results.querySelector("[name='" + focusName + "']");
      if (again) {
        again.focus();
        if (start !== null) { again.setSelectionRange(start, end); }
      }
    }
  }

  function check() {
    var ticket = ++latest;
    status.textContent = "Checking your purpose against each dataset's consent…";
    fetch(form.dataset.consentUrl, {
      method: "POST", body: body(), credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value, Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (json) {
      if (ticket !== latest) { return; } // an older answer that arrived late
      replace(json.html);
      status.textContent = json.summary;
    }).catch(function () {
      if (ticket !== latest) { return; }
      status.textContent = "The consent check could not be updated now; it is shown again when the draft is saved.";
    });
  }

  function changed(event) {
    if (isJustification(event.target)) { justifications[event.target.name] = event.target.value; }
    if (!isPurpose(event.target)) { return; }
    clearTimeout(timer);
    timer = setTimeout(check, DELAY);
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("application-form");
    results = document.getElementById("consent-results");
    status = document.getElementById("consent-status");
    if (!form || !results || !status || !form.dataset.consentUrl || !window.fetch) { return; }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
  });
})();
