// Sync status page: while a space's sync job is queued or running, poll the status every POLL_MS and show
// its phase and pages; when it ends, reload once so the page shows the new last run, counts and skips.
(function () {
  "use strict";
  var POLL_MS = 1500; // often enough to watch a small space go by, rare enough for a busy admin server
  var list = document.getElementById("sync-list");
  if (!list) { return; }
  var url = list.getAttribute("data-status-url");

  function sections() { return Array.prototype.slice.call(list.querySelectorAll("section[data-space]")); }
  function anyActive() { return sections().some(function (s) { return s.getAttribute("data-active") === "true"; }); }

  function show(section, space) {
    var status = space.status;
    var unit = status.unit || section.getAttribute("data-unit") || "pages";
    var text = status.label + (status.total ? " · " + status.done + "/" + status.total + " " + unit : "");
    var label = section.querySelector(".sync-state");
    if (label.textContent !== text) { label.textContent = text; }
    label.className = "sync-state tone-" + status.tone;
    var bar = section.querySelector(".sync-progress");
    bar.hidden = false;
    bar.max = status.total || 1;
    bar.value = status.total ? status.done : 0;
    section.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
        return r.json();
      })
      .then(function (data) {
        var ended = false;
        data.spaces.forEach(function (space) {
          var section = document.getElementById(space.anchor);
          if (!section) { return; }
          var wasActive = section.getAttribute("data-active") === "true";
          var active = !!(space.job && space.job.active);
          if (active) { show(section, space); }
          if (wasActive && !active) { ended = true; }
        });
        if (ended) { window.location.reload(); return; }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 4); });
  }

  if (anyActive()) { window.setTimeout(poll, POLL_MS); }
})();
