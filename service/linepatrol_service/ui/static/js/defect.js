/* Defect page: the zoomable photo (Leaflet on pixel coordinates, so a 20 MP photo pans and zooms
   like a map), switching between the defect's photos, the review actions, and the box tools
   (correct the defect's box, add a missed object: a drag on the photo fills the fields). */
(function () {
  "use strict";

  function photoViewer() {
    const el = document.getElementById("photo-viewer");
    const dataEl = document.getElementById("photo-data");
    if (!el || !dataEl || !window.L) {
      return null;
    }
    const photos = JSON.parse(dataEl.textContent);
    const map = window.L.map(el, {
      crs: window.L.CRS.Simple, minZoom: -6, maxZoom: 3, zoomSnap: 0.25, attributionControl: false,
    });
    let layers = [];
    let current = null;
    const PREVIEW_PX = 2048;

    map.on("zoomend", function () {
      if (!current || !current.needsOriginal) {
        return;
      }
      // CRS.Simple: 2^zoom screen pixels per photo pixel; the preview holds PREVIEW_PX / side.
      if (Math.pow(2, map.getZoom()) > PREVIEW_PX / current.side) {
        current.setUrl(current.original);
        current.needsOriginal = false;
      }
    });

    function show(i) {
      const p = photos[i];
      layers.forEach(function (l) { l.remove(); });
      // Pixel (x, y) from the top-left -> LatLng(-y, x): y grows downwards in photos.
      const bounds = [[-p.height, 0], [0, p.width]];
      const box = p.box;
      // A 2048-px copy first (a 20 MP original is several MB); the original replaces it once
      // the zoom shows more detail than the copy holds.
      const preview = "/api/v1/images/" + p.imageId + "?variant=thumbnail&size=" + PREVIEW_PX;
      const photo = window.L.imageOverlay(preview, bounds, { alt: p.filename }).addTo(map);
      photo.original = "/api/v1/images/" + p.imageId;
      photo.side = Math.max(p.width, p.height);
      photo.needsOriginal = photo.side > PREVIEW_PX;
      current = photo;
      layers = [
        photo,
        window.L.rectangle([[-box[3], box[0]], [-box[1], box[2]]],
          { color: "#ff1f1f", weight: 3, fill: false }).addTo(map),
      ];
      map.setMaxBounds(window.L.latLngBounds(bounds).pad(0.5));
      map.fitBounds(bounds);
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
    zoomBox.addEventListener("click", function () {
      const active = document.querySelector(".evidence.active");
      const p = photos[active ? Number(active.dataset.evidence) : 0];
      map.fitBounds([[-p.box[3], p.box[0]], [-p.box[1], p.box[2]]], { padding: [60, 60] });
    });
    el.after(zoomBox);
    if (photos.length) {
      show(0);
    }

    /* One drag on the photo (map panning paused meanwhile) -> a box in photo pixels. */
    function dragBox(done) {
      let start = null;
      let shape = null;
      map.dragging.disable();
      el.style.cursor = "crosshair";
      function pixel(e) {
        const p = photos[shown()];
        return [Math.min(Math.max(e.latlng.lng, 0), p.width),
          Math.min(Math.max(-e.latlng.lat, 0), p.height)];
      }
      function move(e) {
        if (!start) {
          return;
        }
        const [x, y] = pixel(e);
        const bounds = [[-start[1], start[0]], [-y, x]];
        if (shape) {
          shape.setBounds(bounds);
        } else {
          shape = window.L.rectangle(bounds, { color: "#1f8fff", weight: 2, dashArray: "6 4",
            fill: false }).addTo(map);
          layers.push(shape);
        }
      }
      function up(e) {
        if (!start) {
          return;
        }
        const [x, y] = pixel(e);
        map.off("mousedown", down).off("mousemove", move).off("mouseup", up);
        map.dragging.enable();
        el.style.cursor = "";
        done([Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x),
          Math.max(start[1], y)].map(function (v) { return Math.round(v * 10) / 10; }));
      }
      function down(e) {
        start = pixel(e);
      }
      map.on("mousedown", down).on("mousemove", move).on("mouseup", up);
    }

    function shown() {
      const active = document.querySelector(".evidence.active");
      return active ? Number(active.dataset.evidence) : 0;
    }

    return { photo: function () { return photos[shown()]; }, index: shown, dragBox: dragBox };
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
