// Metric source form: show only the fieldsets of the chosen kind.
(function () {
  function sync() {
    var kind = document.getElementById("id_kind");
    if (!kind) return;
    document.querySelectorAll("fieldset[data-kinds]").forEach(function (fs) {
      fs.hidden = fs.dataset.kinds.split(" ").indexOf(kind.value) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var kind = document.getElementById("id_kind");
    if (kind) kind.addEventListener("change", sync);
    sync();
  });
})();
