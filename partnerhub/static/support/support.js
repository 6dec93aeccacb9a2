/* PartnerHub support pages: keyboard shortcuts on the desk and small form helpers. Every page works without
 * this file (it is loaded as a static file: the Content-Security-Policy allows no inline script).
 *
 * Desk shortcuts (ignored while typing in a field or with Ctrl/Alt/Meta held):
 *   j / k   next / previous ticket        Enter   open the current ticket
 *   x       tick the current ticket        /       search
 */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable='true']"));
  }

  // Desk ------------------------------------------------------------------------------------------------------
  const table = document.querySelector("[data-desk]");
  if (table) {
    const rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-ticket-row]"));
    const bulkCount = document.querySelector("[data-bulk-count]");
    const bulkControls = document.querySelectorAll("[data-bulk-control]");
    const selectAll = table.querySelector("[data-select-all]");
    let current = -1;

    function checkboxOf(row) {
      return row.querySelector("input[type='checkbox'][name='ticket']");
    }

    function refreshSelection() {
      let ticked = 0;
      rows.forEach(function (row) {
        const box = checkboxOf(row);
        const on = Boolean(box && box.checked);
        row.classList.toggle("is-selected", on);
        if (on) ticked += 1;
      });
      if (bulkCount) {
        bulkCount.textContent =
          ticked === 0 ? "Bulk change:" : ticked === 1 ? "1 ticket ticked:" : ticked + " tickets ticked:";
      }
      bulkControls.forEach(function (control) {
        control.disabled = ticked === 0;
      });
      if (selectAll) {
        selectAll.checked = ticked > 0 && ticked === rows.length;
        selectAll.indeterminate = ticked > 0 && ticked < rows.length;
      }
    }

    function setCurrent(index, focus) {
      if (!rows.length) return;
      index = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) {
        row.classList.toggle("is-current", i === index);
      });
      current = index;
      const link = rows[index].querySelector("a.ticket-subject");
      if (focus && link) {
        link.focus({ preventScroll: true });
        rows[index].scrollIntoView({ block: "nearest" });
      }
    }

    rows.forEach(function (row, index) {
      row.addEventListener("focusin", function () {
        setCurrent(index, false);
      });
      const box = checkboxOf(row);
      if (box) box.addEventListener("change", refreshSelection);
    });

    if (selectAll) {
      selectAll.hidden = false;
      selectAll.addEventListener("change", function () {
        rows.forEach(function (row) {
          const box = checkboxOf(row);
          if (box) box.checked = selectAll.checked;
        });
        refreshSelection();
      });
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (event.key === "/" && !isTyping(event.target)) {
        const search = document.querySelector("[data-desk-search]");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
        return;
      }
      if (isTyping(event.target) && event.key !== "Escape") return;
      if (event.key === "Escape" && isTyping(event.target) && event.target.matches("[data-desk-search]")) {
        event.target.blur();
        setCurrent(current < 0 ? 0 : current, true);
        return;
      }
      if (event.key === "j" || (event.key === "ArrowDown" && event.target.closest("[data-desk]"))) {
        event.preventDefault();
        setCurrent(current + 1, true);
      } else if (event.key === "k" || (event.key === "ArrowUp" && event.target.closest("[data-desk]"))) {
        event.preventDefault();
        setCurrent(current < 0 ? 0 : current - 1, true);
      } else if (event.key === "x" && current >= 0) {
        event.preventDefault();
        const box = checkboxOf(rows[current]);
        if (box) {
          box.checked = !box.checked;
          refreshSelection();
        }
      } else if (event.key === "Enter" && current >= 0 && !event.target.closest("a, button")) {
        const link = rows[current].querySelector("a.ticket-subject");
        if (link) window.location.assign(link.href);
      }
    });

    refreshSelection();
  }

  // Reply forms: tint the message box for internal notes -------------------------------------------------------
  document.querySelectorAll("[data-reply-form]").forEach(function (form) {
    function update() {
      const chosen = form.querySelector("input[name='visibility']:checked");
      form.setAttribute("data-visibility", chosen ? chosen.value : "public");
      const button = form.querySelector("[data-reply-submit]");
      if (button && chosen) {
        button.textContent = chosen.value === "public" ? "Send reply" : "Add note";
      }
    }
    form.addEventListener("change", update);
    update();
  });

  // New ticket: show the requester fields that apply -----------------------------------------------------------
  document.querySelectorAll("[data-requester]").forEach(function (group) {
    const sections = document.querySelectorAll("[data-requester-section]");
    function update() {
      const chosen = group.querySelector("input[name='requester_kind']:checked");
      const kind = chosen ? chosen.value : "me";
      sections.forEach(function (section) {
        section.hidden = section.getAttribute("data-requester-section") !== kind;
      });
    }
    group.addEventListener("change", update);
    update();
  });
})();
