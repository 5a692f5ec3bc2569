/* Feedback inbox: a "select all" checkbox for the bulk actions (no inline script: CSP). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    if (!name) { return; }
    var form = box.form || document;
    form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (el) {
      el.checked = box.checked;
    });
  });
})();
