/* Defect page: the zoomable photo (the shared viewer of photo.js), switching between the
   defect's photos, the review actions, and the box tools (correct the defect's box, add a
   missed object: a drag on the photo fills the fields). */
(function () {
  "use strict";

  /* The defect's photos in the shared viewer (photo.js), one at a time with the defect's box. */
  function photoViewer() {
    const dataEl = document.getElementById("photo-data");
    const viewer = window.LP.photoViewer ? window.LP.photoViewer(
      document.getElementById("photo-viewer")) : null;
    if (!viewer || !dataEl) {
      return null;
    }
    const photos = JSON.parse(dataEl.textContent);
    let shown = 0;

    function show(i) {
      const p = photos[i];
      shown = i;
      viewer.show(p);
      viewer.setBoxes([{ xyxy: p.box, color: "#ff1f1f", weight: 3 }]);
      document.querySelectorAll(".evidence").forEach(function (b, j) {
        b.classList.toggle("active", j === i);
      });
    }

    document.querySelectorAll(".evidence").forEach(function (b) {
      b.addEventListener("click", function () { show(Number(b.dataset.evidence)); });
    });
    const zoomBox = document.createElement("button");
    zoomBox.type = "button";
    zoomBox.textContent = "Zoom to the box";
    zoomBox.addEventListener("click", function () { viewer.fitBox(photos[shown].box); });
    document.getElementById("photo-viewer").after(zoomBox);
    if (photos.length) {
      show(0);
    }

    return {
      photo: function () { return photos[shown]; },
      index: function () { return shown; },
      dragBox: viewer.dragBox,
    };
  }

  function boxTools(viewer) {
    const form = document.getElementById("box-form");
    if (!form || !viewer) {
      return;
    }
    const names = ["x1", "y1", "x2", "y2"];
    function box() {
      return names.map(function (n) { return Number(form.elements[n].value); });
    }
    document.getElementById("box-drag").addEventListener("click", function (e) {
      const button = e.currentTarget;
      button.setAttribute("aria-pressed", "true");
      viewer.dragBox(function (xyxy) {
        names.forEach(function (n, i) { form.elements[n].value = xyxy[i]; });
        button.setAttribute("aria-pressed", "false");
      });
    });
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      if (viewer.index() !== 0) {
        window.LP.toast("The defect's box is corrected on its first photo: show that one.", true);
        return;
      }
      try {
        await window.LP.api("PATCH", "/api/v1/defects/" + form.dataset.defect, { xyxy: box() });
        window.location.reload();
      } catch (err) {
        window.LP.toast(err.message, true);
      }
    });
    document.getElementById("box-add").addEventListener("click", async function () {
      try {
        const item = await window.LP.api("POST", "/api/v1/images/" + viewer.photo().imageId +
          "/annotations", { class: form.elements["class"].value, xyxy: box() });
        window.location.href = form.dataset.ui + "/defects/" + item.id;
      } catch (err) {
        window.LP.toast(err.message, true);
      }
    });
  }

  function review() {
    const form = document.getElementById("review-form");
    if (!form) {
      return;
    }
    const id = form.dataset.defect;

    async function send(change) {
      try {
        await window.LP.api("PATCH", "/api/v1/defects/" + id, change);
        window.location.reload();
      } catch (err) {
        window.LP.toast(err.message, true);
      }
    }

    document.querySelectorAll("[data-patch]").forEach(function (b) {
      b.addEventListener("click", function () { send(JSON.parse(b.dataset.patch)); });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const change = {
        class: form.elements["class"].value,
        severity: form.severity.value,
        status: form.status.value,
        assignee: form.assignee.value.trim() || null,
      };
      if (form.note.value.trim()) {
        change.note = form.note.value.trim();
      }
      send(change);
    });
    document.addEventListener("keydown", function (e) {
      if (window.LP.typing(e) || e.ctrlKey || e.metaKey || e.altKey) {
        return;
      }
      if (e.key === "c") {
        send({ status: "confirmed" });
      } else if (e.key === "r") {
        send({ status: "rejected" });
      } else if (e.key === "n") {
        const next = document.getElementById("next-defect");
        if (next) {
          window.location.href = next.href;
        }
      }
    });
  }

  boxTools(photoViewer());
  review();
})();
