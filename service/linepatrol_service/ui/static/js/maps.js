/* Maps: the ledger's lines and towers drawn as vectors (no tile server needed, works offline),
   defects coloured by grade (or, on the warnings page, warnings coloured by status) over the
   lines, the towers over them (panes below); a tile layer only when the service is configured
   with one. */
(function () {
  "use strict";
  const COLOURS = { critical: "#b3141b", serious: "#b54708", general: "#d4a017" };
  // A warning's status (app.css .wst-*), and which one colours a place with several: the
  // least far along.
  const WARNING_COLOURS = {
    issued: "#b3141b", acknowledged: "#c2410c", dispatched: "#1d4ed8", resolved: "#15803d", closed: "#4b5563",
  };
  const WARNING_RANK = { issued: 0, acknowledged: 1, dispatched: 2, resolved: 3, closed: 4 };
  const el = document.getElementById("map");
  if (!el || !window.L) {
    return;
  }
  const cfgEl = document.getElementById("map-config");
  const cfg = cfgEl ? JSON.parse(cfgEl.textContent) : {};
  const L = window.L;
  const map = L.map(el, { zoomSnap: 0.5, attributionControl: Boolean(cfg.tileUrl) });
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: cfg.tileMaxZoom || 19, attribution: cfg.tileAttribution || "" }).addTo(map);
  }
  map.setView([30, 110], 4);
  // A metric scale bar: span lengths and hazard distances are judged in metres.
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);

  // Stacking, bottom to top: lines, spans and camera positions (the overlay pane); defects;
  // towers, so a finding snapped to a tower rings it instead of hiding it; tower labels (the
  // tooltip pane); the count badges, so no label covers them. Towers take no clicks: a click on
  // a tower's dot goes through to the defect ringing it (app.css lets these panes' SVG pass
  // clicks through too).
  const PANES = { defects: "lpDefects", towers: "lpTowers", counts: "lpCounts" };
  map.createPane(PANES.defects).style.zIndex = "450";
  map.createPane(PANES.towers).style.zIndex = "460";
  map.createPane(PANES.counts).style.zIndex = "660";

  // Leaflet puts a string tooltip or popup in as HTML: user text (photo names, tower names)
  // goes in as a text node instead, so it can never become markup.
  function text(value) {
    const span = document.createElement("span");
    span.textContent = String(value);
    return span;
  }

  function popup(list) {
    // Several findings often share a point (all snapped to one tower): list them all.
    const box = document.createElement("div");
    for (const p of list) {
      const row = document.createElement("div");
      // No url for a viewer who may not open the defect page (an uploader): name it only.
      const link = document.createElement(p.url ? "a" : "span");
      if (p.url) {
        link.href = p.url;
      }
      link.textContent = "#" + p.id + " " + p.zh + " · " + p.en;
      const info = document.createElement("small");
      info.textContent = " " + (p.severity || "—") + " · " + p.status +
        (p.tower ? " · tower " + p.tower : "") + (p.span ? " · span " + p.span : "");
      row.append(link, info);
      box.appendChild(row);
    }
    return box;
  }

  function style(feature) {
    const kind = feature.properties.kind;
    if (kind === "tower" || kind === "photo") {
      return {}; // L.geoJSON styles its points too: keep towerMarker's own colours
    }
    if (kind === "span") {
      if (typeof feature.properties.covered === "boolean") {
        // Coverage: spans the photos showed closely enough, and the gaps (dashed).
        return feature.properties.covered
          ? { color: "#15803d", weight: 6, opacity: 0.7 }
          : { color: "#b3141b", weight: 6, opacity: 0.7, dashArray: "8 6" };
      }
      return { color: "#f59e0b", weight: 8, opacity: 0.8 };
    }
    return { color: "#0b5cad", weight: 3 };
  }

  const RANK = { critical: 0, serious: 1, general: 2 };

  function towerMarker(feature, latlng) {
    if (feature.properties.kind === "photo") {
      // Where the camera was: a small grey dot, its photo's name on hover.
      return L.circleMarker(latlng, { radius: 3, color: "#4b5563", weight: 1, fillColor: "#9ca3af", fillOpacity: 1 })
        .bindTooltip(text("Photo " + feature.properties.filename));
    }
    // Coverage (a flight's or a line's map): a covered tower's ring green, a gap's red; the
    // other maps keep the plain dark ring.
    const covered = feature.properties.covered;
    const ring = covered === true ? "#15803d" : covered === false ? "#b3141b" : "#1b1f24";
    return L.circleMarker(latlng, {
      radius: 5, color: ring, weight: typeof covered === "boolean" ? 3 : 2, fillColor: "#fff",
      fillOpacity: 1, pane: PANES.towers, interactive: false,
    }).bindTooltip(text(feature.properties.tower), { permanent: true, direction: "right", className: "tower-label", offset: [6, 0] });
  }

  /** The features' properties grouped by position ("lon,lat"). */
  function byPosition(features) {
    const groups = new Map();
    for (const f of features) {
      const key = f.geometry.coordinates.join(",");
      if (!groups.has(key)) {
        groups.set(key, []);
      }
      groups.get(key).push(f.properties);
    }
    return groups;
  }

  function countBadge(marker, radius, count) {
    // A badge on the ring's upper left: the centre is the tower's dot, the right its label.
    const off = Math.round(radius * 0.75);
    marker.bindTooltip(text(count), {
      permanent: true, direction: "center", className: "count-label", pane: PANES.counts,
      offset: [-off, -off],
    });
  }

  function warningPopup(list) {
    const box = document.createElement("div");
    for (const p of list) {
      const row = document.createElement("div");
      const link = document.createElement("a");
      link.href = p.url;
      link.textContent = "Warning #" + p.id + " " + p.zh + " · " + p.en;
      const info = document.createElement("small");
      info.textContent = " " + p.status_zh + " " + p.status_en + (p.overdue ? " · overdue 超期" : "") +
        " · " + p.distance_m.toFixed(1) + " m (≤ " + p.warning_distance_m.toFixed(1) + " m)" +
        (p.tower ? " · tower " + p.tower : "") + (p.span ? " · span " + p.span : "");
      row.append(link, info);
      box.appendChild(row);
    }
    return box;
  }

  /** One marker per position: coloured by the status of its least advanced warning. */
  function warningMarkers(features) {
    const markers = [];
    for (const [key, list] of byPosition(features)) {
      list.sort(function (a, b) { return (WARNING_RANK[a.status] ?? 9) - (WARNING_RANK[b.status] ?? 9); });
      const [lon, lat] = key.split(",").map(Number);
      const radius = 9 + Math.min(6, 2 * (list.length - 1));
      const marker = L.circleMarker([lat, lon], {
        radius: radius, pane: PANES.defects, color: "#1b1f24", weight: 2,
        fillOpacity: 0.95, fillColor: WARNING_COLOURS[list[0].status] || "#4b5563",
        className: "warning-marker warning-" + list[0].status,
      }).bindPopup(warningPopup(list));
      if (list.length > 1) {
        countBadge(marker, radius, list.length);
      }
      markers.push(marker);
    }
    return markers;
  }

  /** One marker per position: coloured by its most urgent finding, sized by how many. */
  function defectMarkers(features) {
    const groups = byPosition(features);
    const markers = [];
    for (const [key, list] of groups) {
      list.sort(function (a, b) { return (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9); });
      const [lon, lat] = key.split(",").map(Number);
      const focus = el.dataset.focus && list.some(function (p) { return String(p.id) === el.dataset.focus; });
      const radius = (focus ? 12 : 9) + Math.min(6, 2 * (list.length - 1));
      const marker = L.circleMarker([lat, lon], {
        // Hazards (cranes, excavators… near the line) get a dark dashed ring, line defects a white one.
        radius: radius, pane: PANES.defects,
        color: list.some(function (p) { return p.category === "hazard"; }) ? "#1b1f24" : "#fff",
        dashArray: list.some(function (p) { return p.category === "hazard"; }) ? "4 3" : null,
        weight: 2,
        fillOpacity: 0.95, fillColor: COLOURS[list[0].severity] || "#4b5563",
      }).bindPopup(popup(list));
      if (list.length > 1) {
        countBadge(marker, radius, list.length);
      }
      markers.push(marker);
    }
    return markers;
  }

  fetch(el.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    })
    .then(function (data) {
      // Lines first, then the span, camera positions and towers (each pane keeps this order).
      const order = { line: 0, span: 1, photo: 2, tower: 3, defect: 4, warning: 5 };
      data.features.sort(function (a, b) { return order[a.properties.kind] - order[b.properties.kind]; });
      const kind = function (k) { return function (f) { return f.properties.kind === k; }; };
      const defects = data.features.filter(kind("defect"));
      const warnings = data.features.filter(kind("warning"));
      const ledger = data.features.filter(function (f) {
        return f.properties.kind !== "defect" && f.properties.kind !== "warning";
      });
      const layer = L.featureGroup([
        L.geoJSON({ type: "FeatureCollection", features: ledger }, { style: style, pointToLayer: towerMarker }),
        ...defectMarkers(defects),
        ...warningMarkers(warnings),
      ]).addTo(map);
      const bounds = layer.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 18 });
      }
      el.dataset.features = String(data.features.length);
      el.dataset.defects = String(defects.length);
      el.dataset.warnings = String(warnings.length);
      el.classList.add("loaded");
    })
    .catch(function (err) {
      window.LP.toast("Map: " + err.message, true);
    });
})();
