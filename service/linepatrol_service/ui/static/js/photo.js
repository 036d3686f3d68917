/* The zoomable photo viewer shared by the defect page and the photo page: Leaflet on pixel
   coordinates (CRS.Simple), so a 20 MP photo pans and zooms like a map. A 2048-px copy first,
   the original once the zoom shows more than the copy holds; boxes drawn in photo pixels; one
   drag (mouse, pen or finger: pointer events) -> a box in photo pixels.
   window.LP.photoViewer(element) -> { map, show(photo), setBoxes(boxes), fitBox(xyxy),
   dragBox(done), cancelDrag(), photo() }. */
(function () {
  "use strict";
  const PREVIEW_PX = 2048;

  /** Photo pixels [x1, y1, x2, y2] -> Leaflet bounds: pixel (x, y) from the top-left is
      LatLng(-y, x), since y grows downwards in photos. */
  function bounds(xyxy) {
    return [[-xyxy[3], xyxy[0]], [-xyxy[1], xyxy[2]]];
  }

  function photoViewer(el) {
    if (!el || !window.L) {
      return null;
    }
    const L = window.L;
    const map = L.map(el, {
      crs: L.CRS.Simple, minZoom: -6, maxZoom: 3, zoomSnap: 0.25, attributionControl: false,
    });
    let current = null; // the shown photo: {imageId, filename, width, height}
    let overlay = null;
    let boxLayers = [];
    let drag = null; // the gesture under way: {stop()}

    map.on("zoomend", function () {
      if (!overlay || !overlay.needsOriginal) {
        return;
      }
      // CRS.Simple: 2^zoom screen pixels per photo pixel; the preview holds PREVIEW_PX / side.
      if (Math.pow(2, map.getZoom()) > PREVIEW_PX / overlay.side) {
        overlay.setUrl(overlay.original);
        overlay.needsOriginal = false;
      }
    });

    function show(p) {
      cancelDrag();
      if (overlay) {
        overlay.remove();
      }
      setBoxes([]);
      current = p;
      const whole = [[-p.height, 0], [0, p.width]];
      const preview = "/api/v1/images/" + p.imageId + "?variant=thumbnail&size=" + PREVIEW_PX;
      overlay = L.imageOverlay(preview, whole, { alt: p.filename }).addTo(map);
      overlay.original = "/api/v1/images/" + p.imageId;
      overlay.side = Math.max(p.width, p.height);
      overlay.needsOriginal = overlay.side > PREVIEW_PX;
      map.setMaxBounds(L.latLngBounds(whole).pad(0.5));
      map.fitBounds(whole);
    }

    /** Draw these boxes instead of the last ones: [{xyxy, color, weight, dashArray, label,
        labelClass, className, onClick}]; returns the rectangles in the same order. */
    function setBoxes(boxes) {
      boxLayers.forEach(function (l) { l.remove(); });
      boxLayers = boxes.map(function (b) {
        const rect = L.rectangle(bounds(b.xyxy), {
          color: b.color || "#ff1f1f", weight: b.weight || 3, dashArray: b.dashArray || null,
          fill: Boolean(b.onClick), fillOpacity: 0, interactive: Boolean(b.onClick),
          className: b.className || "",
        }).addTo(map);
        if (b.label) {
          rect.bindTooltip(b.label, { permanent: true, direction: "top", offset: [0, -2],
            className: "box-label " + (b.labelClass || "") });
        }
        if (b.onClick) {
          rect.on("click", function (e) {
            if (!drag) {
              L.DomEvent.stopPropagation(e);
              b.onClick();
            }
          });
        }
        return rect;
      });
      return boxLayers;
    }

    function fitBox(xyxy) {
      map.fitBounds(bounds(xyxy), { padding: [60, 60] });
    }

    function pixel(e) {
      const ll = map.mouseEventToLatLng(e);
      return [Math.min(Math.max(ll.lng, 0), current.width),
        Math.min(Math.max(-ll.lat, 0), current.height)];
    }

    /** One drag on the photo (map panning paused meanwhile) -> done([x1, y1, x2, y2]) in photo
        pixels, to a tenth; cancelDrag() (Esc) ends it without calling done. Pointer events,
        so a mouse, a pen and a finger on a tablet all draw. */
    function dragBox(done) {
      cancelDrag();
      if (!current) {
        return;
      }
      let start = null;
      let shape = null;
      let pointer = null;
      let stopped = false;
      const gesture = { stop: stop };
      map.dragging.disable();
      if (map.tap) {
        map.tap.disable();
      }
      el.classList.add("drawing");

      function down(e) {
        if (e.button > 0 || pointer !== null) {
          return;
        }
        e.preventDefault();
        e.stopPropagation();
        pointer = e.pointerId;
        if (el.setPointerCapture) {
          el.setPointerCapture(pointer);
        }
        start = pixel(e);
      }
      function move(e) {
        if (!start || e.pointerId !== pointer) {
          return;
        }
        e.preventDefault();
        const [x, y] = pixel(e);
        const b = [[-start[1], start[0]], [-y, x]];
        if (shape) {
          shape.setBounds(b);
        } else {
          shape = L.rectangle(b, { color: "#1f8fff", weight: 2, dashArray: "6 4", fill: false,
            interactive: false }).addTo(map);
        }
      }
      function up(e) {
        if (!start || e.pointerId !== pointer) {
          return;
        }
        e.preventDefault();
        const [x, y] = pixel(e);
        const box = [Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x),
          Math.max(start[1], y)].map(function (v) { return Math.round(v * 10) / 10; });
        stop(); // drag stays set until the click that follows, so it selects no box
        done(box);
      }
      function stop() {
        if (stopped) {
          return;
        }
        stopped = true;
        el.removeEventListener("pointerdown", down, true);
        el.removeEventListener("pointermove", move, true);
        el.removeEventListener("pointerup", up, true);
        el.removeEventListener("pointercancel", stop, true);
        if (pointer !== null && el.releasePointerCapture && el.hasPointerCapture(pointer)) {
          el.releasePointerCapture(pointer);
        }
        if (shape) {
          shape.remove();
        }
        map.dragging.enable();
        if (map.tap) {
          map.tap.enable();
        }
        el.classList.remove("drawing");
        setTimeout(function () {
          if (drag === gesture) {
            drag = null;
          }
        }, 0);
      }
      // Capturing listeners on the container: they run before Leaflet's own handlers.
      el.addEventListener("pointerdown", down, true);
      el.addEventListener("pointermove", move, true);
      el.addEventListener("pointerup", up, true);
      el.addEventListener("pointercancel", stop, true);
      drag = gesture;
    }

    function cancelDrag() {
      if (drag) {
        drag.stop();
      }
    }

    return {
      map: map, show: show, setBoxes: setBoxes, fitBox: fitBox, dragBox: dragBox,
      cancelDrag: cancelDrag, drawing: function () { return drag !== null; },
      photo: function () { return current; },
    };
  }

  window.LP = Object.assign(window.LP || {}, { photoViewer: photoViewer });
})();
