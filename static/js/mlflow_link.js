// The run link the MLflow client prints (<tracking uri>/#/experiments/<id>/runs/<run id>) carries
// its target after '#', which never reaches the server: read it here and go to pmhub's page.
(function () {
  "use strict";
  var hash = window.location.hash || "";
  var holder = document.getElementById("mlflow-link-base");
  var base = (holder && holder.getAttribute("data-base")) || "/mlflow/";
  var run = hash.match(/^#\/experiments\/(\d+)\/runs\/([0-9a-f]{32})/);
  var experiment = hash.match(/^#\/experiments\/(\d+)/);
  var registered = hash.match(/^#\/models\/([^/]+)/);
  var target = null;
  if (run) {
    target = base + "runs/" + run[2] + "/";
  } else if (experiment) {
    target = base + "experiments/" + experiment[1] + "/";
  } else if (registered) {
    target = base + "registered-models/" + encodeURIComponent(decodeURIComponent(registered[1])) + "/";
  }
  if (target) {
    window.location.replace(target);
  } else {
    var note = document.getElementById("mlflow-link-status");
    if (note) { note.textContent = "This link names no MLflow run, experiment or model that pmhub knows."; }
  }
})();
