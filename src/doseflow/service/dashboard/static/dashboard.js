// doseflow dashboard: draw each chart from the JSON embedded next to it, with the bundled
// plotly.js. Every chart also has a data table on the page with the same numbers.
(function () {
  "use strict";
  function drawCharts() {
    if (typeof window.Plotly === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, spec.data, spec.layout || {}, {
        displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"]
      }).then(function () { el.setAttribute("data-drawn", "true"); });
    });
  }
  // Confirm forms that change data; the question is in the form's data-confirm attribute.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // After a skip link or a status message, move keyboard focus to it.
  window.addEventListener("DOMContentLoaded", function () {
    var status = document.querySelector("[data-focus-on-load]");
    if (status) { status.focus(); }
    drawCharts();
  });
})();
