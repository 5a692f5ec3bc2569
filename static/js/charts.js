/* Draws every Plotly figure on the page. A chart is an element
 *   <div class="chart" data-figure="ID"></div>
 * next to {{ figure|json_script:"ID" }} (built in Python by charts.py). No
 * inline script: the Content-Security-Policy forbids it. Re-runs after htmx
 * swaps so charts inside swapped fragments are drawn too. */
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };

  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      Plotly.react(el, figure.data || [], figure.layout || {}, Object.assign({}, config, figure.config || {}));
      el.setAttribute("data-drawn", "true");
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  /* Fragments swapped out of band (the roadmap's progress chart after a Move). */
  document.addEventListener("htmx:oobAfterSwap", function (event) { draw(event.target); });
  window.pmhubCharts = { draw: draw };
})();
