// Places each verdict badge of an aligned block (`aligned`, `align*`…) beside the row
// it belongs to. The badge says its row (data-row) and its block's rows (data-rows);
// the block is the formula's first table with that many rows. Without this script
// (or without such a table) the badges stay stacked beside the formula.
(function () {
  "use strict";

  function rowsOf(table) {
    return Array.prototype.filter.call(table.children, function (e) {
      return e.localName === "mtr" || e.localName === "mlabeledtr";
    });
  }

  function place(mathRow) {
    var column = mathRow.querySelector(":scope > .badges");
    var formula = mathRow.querySelector(":scope > .math-display");
    if (!column || !formula) return;
    var badges = column.querySelectorAll(":scope > .badge[data-row]");
    if (!badges.length) return;
    var wanted = Number(badges[0].getAttribute("data-rows"));
    var table = Array.prototype.find.call(formula.querySelectorAll("mtable"), function (t) {
      return rowsOf(t).length === wanted;
    });
    if (!table) return;
    var rows = rowsOf(table);
    column.classList.add("badges-by-row");
    var top = column.getBoundingClientRect().top;
    var perRow = {};
    var widest = 0;
    Array.prototype.forEach.call(column.querySelectorAll(":scope > .badge"), function (badge) {
      var row = rows[Number(badge.getAttribute("data-row"))] || rows[0];
      var box = row.getBoundingClientRect();
      var key = rows.indexOf(row);
      var n = perRow[key] || 0;
      perRow[key] = n + 1;
      widest = Math.max(widest, n + 1);
      badge.style.top = box.top + box.height / 2 - top - badge.offsetHeight / 2 + "px";
      badge.style.left = n * 1.65 + "em";
    });
    column.style.minWidth = widest * 1.65 + "em";
  }

  function placeAll() {
    document.querySelectorAll(".math-row").forEach(place);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", placeAll);
  } else {
    placeAll();
  }
  // Rows move when fonts arrive and when the width changes.
  window.addEventListener("load", placeAll);
  window.addEventListener("resize", placeAll);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(placeAll);
})();
