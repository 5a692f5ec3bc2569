/* Drag and drop for boards (roadmap Now / Next / Later, sprint board).
 *
 * Markup: a [data-dnd-board] holds columns [data-dnd-column="VALUE"], which hold
 * cards [data-dnd-card draggable="true"]. Each card carries the keyboard path: a
 * form.move-form with a select [data-dnd-field] (the column to move to), a hidden
 * "position" input and a Move button; htmx posts it and swaps the board.
 * Dropping a card only fills that same form (column and position) and submits it,
 * so drag, keyboard and API all reach the same service. No inline script (CSP).
 * Listeners are delegated on document, so boards swapped in by htmx work too.
 */
(function () {
  "use strict";
  var dragged = null;

  function cardsOf(column) {
    return Array.prototype.filter.call(column.children, function (el) {
      return el.hasAttribute("data-dnd-card") && el !== dragged;
    });
  }

  function indexAt(column, y) {
    var cards = cardsOf(column);
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) { return i; }
    }
    return cards.length;
  }

  function clearMarks() {
    document.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-dnd-card][draggable='true']");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearMarks();
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    var column = event.target.closest && event.target.closest("[data-dnd-column]");
    if (!column || !column.closest("[data-dnd-board]").contains(dragged)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drop-target")) { clearMarks(); column.classList.add("drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) { return; }
    var column = event.target.closest && event.target.closest("[data-dnd-column]");
    if (!column) { return; }
    event.preventDefault();
    var form = dragged.querySelector("form.move-form");
    if (!form) { return; }
    var field = form.querySelector("[data-dnd-field]");
    var position = form.querySelector("input[name='position']");
    field.value = column.getAttribute("data-dnd-column");
    if (position) { position.value = String(indexAt(column, event.clientY)); }
    column.insertBefore(dragged, cardsOf(column)[indexAt(column, event.clientY)] || null);
    dragged.classList.remove("dragging");
    clearMarks();
    dragged = null;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });

  /* The keyboard path: a Move button press is a move to the end of the chosen column. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("move-form")) { return; }
    if (event.submitter) {
      var position = form.querySelector("input[name='position']");
      if (position) { position.value = ""; }
    }
  }, true);
})();
