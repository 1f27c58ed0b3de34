// Saves a draft as the researcher types: to the server every few seconds, and to this browser's
// storage at once, so a closed tab or a lost connection never loses a word.
(function () {
  "use strict";
  var form, status, key, timer = null, dirty = false;

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "file" && el.type !== "submit" && el.name !== "csrfmiddlewaretoken";
    });
  }

  function snapshot() {
    var data = {};
    fields().forEach(function (el) {
      if (el.type === "checkbox") { data[el.name] = el.checked; }
      else if (el.type === "radio") { if (el.checked) { data[el.name] = el.value; } }
      else { data[el.name] = el.value; }
    });
    return data;
  }

  function restore(data) {
    fields().forEach(function (el) {
      if (!(el.name in data)) { return; }
      if (el.type === "checkbox") { el.checked = !!data[el.name]; }
      else if (el.type === "radio") { el.checked = data[el.name] === el.value; }
      else { el.value = data[el.name]; }
    });
  }

  function say(text) { status.textContent = text; }

  function keepLocally() {
    try { localStorage.setItem(key, JSON.stringify({ at: new Date().toISOString(), data: snapshot() })); }
    catch (e) { /* storage full or disabled: the server copy still works */ }
  }

  function save() {
    if (!dirty) { return; }
    dirty = false;
    var body = new FormData();
    var data = snapshot();
    Object.keys(data).forEach(function (name) {
      var value = data[name];
      if (value === true) { body.append(name, "on"); } else if (value !== false) { body.append(name, value); }
    });
    say("Saving…");
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value, Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (json) {
      form.dataset.serverSaved = json.saved_at;
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
      say("All changes saved at " + new Date(json.saved_at).toLocaleTimeString() + ".");
    }).catch(function () {
      dirty = true;
      say("Not saved to the server yet (connection?). Your text is kept in this browser.");
    });
  }

  function changed() {
    dirty = true;
    keepLocally();
    say("Unsaved changes…");
    clearTimeout(timer);
    timer = setTimeout(save, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("application-form");
    status = document.getElementById("autosave-status");
    if (!form || !form.dataset.autosaveUrl) { return; }
    key = "portal-draft:" + form.dataset.draftKey;
    var hasErrors = document.querySelector(".form-errors") !== null;
    try {
      var kept = JSON.parse(localStorage.getItem(key) || "null");
      // A copy newer than the server's is restored, unless the page shows what the server
      // just refused (then the page already holds every word that was posted).
      if (kept && !hasErrors && kept.at > (form.dataset.serverSaved || "")) {
        restore(kept.data);
        dirty = true;
        say("Restored changes that had not reached the server; saving them now.");
        setTimeout(save, 500);
      }
    } catch (e) { /* unreadable copy: ignore */ }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () { clearTimeout(timer); keepLocally(); });
    window.addEventListener("beforeunload", function () { if (dirty) { keepLocally(); } });
  });
})();
