/* Defect page: the zoomable photo (Leaflet on pixel coordinates, so a 20 MP photo pans and zooms
   like a map), switching between the defect's photos, and the review actions. */
(function () {
  "use strict";

  function photoViewer() {
    const el = document.getElementById("photo-viewer");
    const dataEl = document.getElementById("photo-data");
    if (!el || !dataEl || !window.L) {
      return;
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

  photoViewer();
  review();
})();
