/* Defect queue: keyboard review (j/k move, c confirm, r reject, x select, Enter open) and bulk
   actions; every change is a PATCH of /api/v1/defects/{id}, row updated in place. */
(function () {
  "use strict";
  const table = document.getElementById("queue");
  const count = document.getElementById("bulk-count");
  const STATUS_TEXT = {
    new: "待审核 New", confirmed: "已确认 Confirmed", rejected: "已驳回 Rejected",
    assigned: "已派单 Assigned", fixed: "已消缺 Fixed", closed: "已关闭 Closed",
  };
  if (!table) {
    return;
  }
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  let current = -1;

  function focusRow(i) {
    if (!rows.length) {
      return;
    }
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("current", j === current); });
    rows[current].focus();
  }

  function picked() {
    return rows.filter(function (r) { return r.querySelector(".pick").checked; });
  }

  function updateCount() {
    count.textContent = picked().length + " selected";
  }

  function showStatus(row, defect) {
    const cell = row.querySelector(".status-cell");
    cell.textContent = "";
    const badge = document.createElement("span");
    badge.className = "st st-" + defect.status;
    badge.dataset.status = defect.status;
    badge.textContent = STATUS_TEXT[defect.status] || defect.status;
    cell.appendChild(badge);
    if (defect.assignee) {
      const who = document.createElement("small");
      who.textContent = "→ " + defect.assignee;
      cell.append(document.createElement("br"), who);
    }
    const sev = row.querySelector(".sev");
    if (sev && defect.severity) {
      sev.className = "sev sev-" + defect.severity;
    }
    row.classList.add("done-row");
  }

  async function patch(row, change) {
    try {
      const d = await window.LP.api("PATCH", "/api/v1/defects/" + row.dataset.defect, change);
      showStatus(row, d);
      return true;
    } catch (err) {
      window.LP.toast("Defect " + row.dataset.defect + ": " + err.message, true);
      return false;
    }
  }

  async function bulk(change) {
    const targets = picked();
    if (!targets.length) {
      window.LP.toast("Select defects first (x, or the checkboxes).", true);
      return;
    }
    let ok = 0;
    for (const row of targets) {
      if (await patch(row, change)) {
        ok += 1;
        row.querySelector(".pick").checked = false;
      }
    }
    updateCount();
    window.LP.toast(ok + " of " + targets.length + " defects updated");
  }

  table.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      rows.forEach(function (r) { r.querySelector(".pick").checked = e.target.checked; });
    }
    updateCount();
  });
  rows.forEach(function (r, i) {
    r.addEventListener("click", function (e) {
      if (e.target.tagName !== "INPUT" && e.target.tagName !== "A") {
        focusRow(i);
      }
    });
  });

  document.querySelectorAll("[data-bulk]").forEach(function (b) {
    b.addEventListener("click", function () { bulk(JSON.parse(b.dataset.bulk)); });
  });
  document.querySelector("[data-bulk-assign]").addEventListener("click", function () {
    const who = document.getElementById("bulk-assignee").value.trim();
    if (!who) {
      window.LP.toast("Type whom to assign to.", true);
      return;
    }
    bulk({ status: "assigned", assignee: who });
  });
  document.querySelector("[data-bulk-severity]").addEventListener("click", function () {
    bulk({ severity: document.getElementById("bulk-severity").value });
  });

  document.addEventListener("keydown", async function (e) {
    if (window.LP.typing(e) || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    const row = rows[current];
    switch (e.key) {
      case "j":
      case "ArrowDown":
        e.preventDefault();
        focusRow(current + 1);
        break;
      case "k":
      case "ArrowUp":
        e.preventDefault();
        focusRow(current - 1);
        break;
      case "x":
        if (row) {
          const box = row.querySelector(".pick");
          box.checked = !box.checked;
          updateCount();
        }
        break;
      case "c":
      case "r":
        if (row && await patch(row, { status: e.key === "c" ? "confirmed" : "rejected" })) {
          focusRow(current + 1);
        }
        break;
      case "Enter":
      case "o":
        if (row) {
          window.location.href = row.querySelector("a.open").href;
        }
        break;
      default:
        break;
    }
  });
})();
