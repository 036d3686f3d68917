/* Photo page: every item's box on one photo (the shared viewer of photo.js), coloured by status;
   select a box (click it, the list, Tab, n/p) to confirm it, mark it false, change its class or
   move/resize it, or draw a missed object. Every edit goes through /api/v1 (audited there); the
   boxes are then fetched again, so the zoom and the selection stay. */
(function () {
  "use strict";
  const tools = document.getElementById("photo-tools");
  const viewer = window.LP.photoViewer ? window.LP.photoViewer(
    document.getElementById("photo-viewer")) : null;
  if (!tools || !viewer) {
    return;
  }
  const imageId = tools.dataset.image;
  const ui = tools.dataset.ui;
  const write = tools.dataset.write === "true";
  const NAMES = ["x1", "y1", "x2", "y2"];
  const COLOURS = { new: "#ff9f1a", rejected: "#9aa0a6" }; // anything else: confirmed, on
  const ORIGINS = {
    detected: "the detector's 模型框", corrected: "corrected by a reviewer 已修正",
    drawn: "drawn by a reviewer 人工标注",
  };
  let boxes = JSON.parse(document.getElementById("boxes-data").textContent);
  let selected = null; // an item id
  const byId = function (id) { return boxes.find(function (b) { return b.id === id; }) || null; };
  const $ = function (id) { return document.getElementById(id); };

  viewer.show(JSON.parse(document.getElementById("photo-data").textContent));

  function draw() {
    viewer.setBoxes(boxes.map(function (b) {
      const on = b.id === selected;
      return {
        xyxy: b.xyxy, color: COLOURS[b.status] || "#22c55e", weight: on ? 5 : 2,
        dashArray: b.status === "rejected" ? "6 4" : null,
        label: b.zh + " #" + b.id, labelClass: on ? "selected" : "",
        className: "box box-" + b.id + " box-" + b.status,
        onClick: function () { select(b.id, true); },
      };
    }));
  }

  function list() {
    const ul = $("box-list");
    ul.textContent = "";
    boxes.forEach(function (b) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "box-item st-" + b.status;
      button.dataset.id = b.id;
      button.setAttribute("aria-pressed", String(b.id === selected));
      button.textContent = "#" + b.id + " " + b.zh + " " + b.en + " · " + b.statusText;
      button.addEventListener("focus", function () { select(b.id, false); });
      button.addEventListener("click", function () { select(b.id, false); });
      li.appendChild(button);
      ul.appendChild(li);
    });
    $("box-count").textContent = String(boxes.length);
    $("no-boxes").hidden = boxes.length > 0;
  }

  function details() {
    const b = byId(selected);
    $("selected").hidden = !b;
    if (!b) {
      return;
    }
    $("selected").dataset.item = b.id;
    $("sel-link").href = ui + "/defects/" + b.id;
    $("sel-link").textContent = "#" + b.id + " (defect page 缺陷页)";
    $("sel-class-text").textContent = b.zh + " " + b.en;
    $("sel-status").textContent = b.statusText;
    $("sel-status").dataset.status = b.status;
    $("sel-confidence").textContent = Number(b.confidence).toFixed(2);
    $("sel-origin").textContent = ORIGINS[b.origin] || b.origin;
    if (!write) {
      return;
    }
    $("sel-class").value = b.class;
    NAMES.forEach(function (n, i) { $("sel-" + n).value = b.xyxy[i]; });
    const note = $("sel-box-note");
    note.hidden = b.correctable;
    note.textContent = b.correctable ? "" : "This is not the item's first photo: its box is " +
      "corrected on that one (see the defect page). 框只能在该目标的首张照片上修正。";
    $("sel-box-save").disabled = !b.correctable;
    $("sel-redraw").disabled = !b.correctable;
  }

  function render() {
    draw();
    list();
    details();
  }

  /** Select item ``id``; ``focus``: move the keyboard focus to its entry in the list. */
  function select(id, focus) {
    if (selected === id) {
      return;
    }
    selected = id;
    render();
    if (focus) {
      const button = document.querySelector('#box-list button[data-id="' + id + '"]');
      if (button) {
        button.focus({ preventScroll: true });
      }
    }
  }

  function step(by) {
    if (!boxes.length) {
      return;
    }
    const at = boxes.findIndex(function (b) { return b.id === selected; });
    const next = at < 0 ? (by > 0 ? 0 : boxes.length - 1)
      : (at + by + boxes.length) % boxes.length;
    select(boxes[next].id, true);
  }

  async function refresh() {
    boxes = await window.LP.api("GET", ui + "/images/" + imageId + "/boxes.json");
    if (!byId(selected)) {
      selected = null;
    }
    render();
    // how many times the boxes were reloaded: a script (or a test) waits on it after an edit
    document.body.dataset.boxesLoaded = String(Number(document.body.dataset.boxesLoaded || 0) + 1);
  }

  async function patch(change, done) {
    const b = byId(selected);
    if (!b) {
      window.LP.toast("Select a box first (n, Tab or a click).", true);
      return false;
    }
    try {
      await window.LP.api("PATCH", "/api/v1/defects/" + b.id, change);
      window.LP.toast("Item #" + b.id + ": " + done);
      await refresh();
      return true;
    } catch (err) {
      window.LP.toast("Item #" + b.id + ": " + err.message, true);
      return false;
    }
  }

  function tiny(xyxy) {
    if (xyxy[2] - xyxy[0] < 2 || xyxy[3] - xyxy[1] < 2) {
      window.LP.toast("Drag over the object to draw its box.", true);
      return true;
    }
    return false;
  }

  function saveBox(xyxy) {
    const b = byId(selected);
    if (b && !b.correctable) {
      window.LP.toast("Item #" + b.id + "'s box is corrected on its first photo: open its " +
        "defect page.", true);
      return;
    }
    patch({ xyxy: xyxy }, "box saved");
  }

  function redraw() {
    const b = byId(selected);
    if (!b) {
      window.LP.toast("Select a box first (n, Tab or a click).", true);
      return;
    }
    if (!b.correctable) {
      saveBox(b.xyxy); // says where it is corrected instead
      return;
    }
    const button = $("sel-redraw");
    button.setAttribute("aria-pressed", "true");
    viewer.dragBox(function (xyxy) {
      button.setAttribute("aria-pressed", "false");
      if (!tiny(xyxy)) {
        NAMES.forEach(function (n, i) { $("sel-" + n).value = xyxy[i]; });
        saveBox(xyxy);
      }
    });
  }

  function drawMissed() {
    const button = $("draw-start");
    button.setAttribute("aria-pressed", "true");
    viewer.dragBox(async function (xyxy) {
      button.setAttribute("aria-pressed", "false");
      if (tiny(xyxy)) {
        return;
      }
      try {
        const item = await window.LP.api("POST", "/api/v1/images/" + imageId + "/annotations",
          { class: $("draw-class").value, xyxy: xyxy });
        window.LP.toast("Item #" + item.id + " added, confirmed");
        selected = item.id;
        await refresh();
      } catch (err) {
        window.LP.toast(err.message, true);
      }
    });
  }

  function cancel() {
    viewer.cancelDrag();
    document.querySelectorAll("#sel-redraw, #draw-start").forEach(function (b) {
      b.setAttribute("aria-pressed", "false");
    });
  }

  async function review(status, done) {
    if (await patch({ status: status }, done)) {
      step(1);
    }
  }

  if (write) {
    $("sel-confirm").addEventListener("click", function () {
      patch({ status: "confirmed" }, "confirmed");
    });
    $("sel-reject").addEventListener("click", function () {
      patch({ status: "rejected" }, "marked false");
    });
    $("sel-class-form").addEventListener("submit", function (e) {
      e.preventDefault();
      patch({ class: $("sel-class").value }, "class changed");
    });
    $("sel-box-form").addEventListener("submit", function (e) {
      e.preventDefault();
      saveBox(NAMES.map(function (n) { return Number($("sel-" + n).value); }));
    });
    $("sel-redraw").addEventListener("click", redraw);
    $("draw-start").addEventListener("click", drawMissed);
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      cancel();
      return;
    }
    if (window.LP.typing(e) || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    switch (e.key) {
      case "n":
      case "j":
        step(1);
        break;
      case "p":
      case "k":
        step(-1);
        break;
      default:
        if (!write) {
          return;
        }
        if (e.key === "c") {
          review("confirmed", "confirmed");
        } else if (e.key === "r" || e.key === "x") {
          review("rejected", "marked false");
        } else if (e.key === "m") {
          redraw();
        } else if (e.key === "d") {
          drawMissed();
        }
    }
  });

  render();
})();
