// doseflow dashboard: confirmations, following background jobs, focus after a status.
// Charts need no script: the server draws them as SVG (svg_charts.py).
(function () {
  "use strict";
  // Confirm forms that change data; the question is in the form's data-confirm attribute.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // A map's shapes that name a page (data-href): a click opens it. Not links: a link inside
  // an image is out of reach of assistive technology (axe: nested-interactive); the table
  // beside the map carries the same links for keyboards and screen readers.
  document.addEventListener("click", function (event) {
    var shape = event.target.closest && event.target.closest("svg [data-href]");
    if (shape) { window.location.assign(shape.getAttribute("data-href")); }
  });
  // Background jobs still queued or running (rows with data-job-status, the address of the
  // job's status as JSON): poll every POLL_MS and update the row's status, progress bar and
  // message in place until the job ends, then show its outcome and the link to its result.
  var POLL_MS = 1500;
  function field(row, name) { return row.querySelector("[data-job-field='" + name + "']"); }
  function showJob(row, job) {
    var status = field(row, "status"), bar = field(row, "bar"), message = field(row, "message");
    if (status) {
      status.textContent = job.status;
      status.className = "tag" + (job.status === "failed" ? " bad" : job.status === "succeeded" ? " ok" : "");
    }
    if (bar && job.progress !== null) { bar.value = job.progress; }
    if (message) {
      var text = job.message || "";
      if (job.progress !== null && !job.finished) { text = Math.round(job.progress * 100) + "% " + text; }
      if (job.error) { text = job.error; }
      message.textContent = text;
      if (job.result_url) {
        var link = document.createElement("a");
        link.href = job.result_url;
        link.textContent = "Show the result";
        message.textContent = "";
        message.appendChild(link);
      }
    }
    if (job.finished) {
      row.removeAttribute("data-job-status");
      row.setAttribute("data-job-finished", job.status);
      if (bar) { bar.remove(); }
    }
  }
  function pollJob(row, url) {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (job) {
        showJob(row, job);
        if (!job.finished) { window.setTimeout(function () { pollJob(row, url); }, POLL_MS); }
      })
      .catch(function () {  // signed out or the server away for a moment: try more slowly
        window.setTimeout(function () { pollJob(row, url); }, POLL_MS * 4);
      });
  }
  function followJobs() {
    document.querySelectorAll("[data-job-status]").forEach(function (row) {
      pollJob(row, row.getAttribute("data-job-status"));
    });
  }
  // On a phone the main navigation folds behind a Menu button (the CSS hides the list while
  // the button says aria-expanded="false"); without this script the button stays hidden and
  // the list stays open. Escape closes it and gives the focus back to the button.
  function foldNavigation() {
    var toggle = document.querySelector(".nav-toggle");
    if (!toggle) { return; }
    toggle.hidden = false;
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
    });
    toggle.parentNode.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }
  // A table wider than the screen scrolls inside itself (dashboard.css): it takes the
  // keyboard focus then, so that keyboard users can scroll it with the arrow keys.
  function focusableScrollers() {
    document.querySelectorAll("table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth) {
        if (!table.hasAttribute("tabindex")) { table.setAttribute("data-scroller", ""); }
        if (table.hasAttribute("data-scroller")) { table.tabIndex = 0; }
      } else if (table.hasAttribute("data-scroller")) {
        table.removeAttribute("tabindex");
        table.removeAttribute("data-scroller");
      }
    });
  }
  window.addEventListener("resize", focusableScrollers);
  // After a skip link or a status message, move keyboard focus to it.
  window.addEventListener("DOMContentLoaded", function () {
    var status = document.querySelector("[data-focus-on-load]");
    if (status) { status.focus(); }
    foldNavigation();
    focusableScrollers();
    followJobs();
  });
})();
