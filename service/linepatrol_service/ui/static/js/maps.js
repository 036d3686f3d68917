/* Maps: the ledger's lines and towers drawn as vectors (no tile server needed, works offline),
   defects coloured by grade on top; a tile layer only when the service is configured with one. */
(function () {
  "use strict";
  const COLOURS = { critical: "#b3141b", serious: "#b54708", general: "#d4a017" };
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

  function popup(p) {
    const box = document.createElement("div");
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = "#" + p.id + " " + p.zh + " · " + p.en;
    const info = document.createElement("div");
    info.textContent = (p.severity || "—") + " · " + p.status + (p.tower ? " · tower " + p.tower : "") +
      (p.span ? " · span " + p.span : "");
    box.append(link, info);
    return box;
  }

  function style(feature) {
    const kind = feature.properties.kind;
    if (kind === "span") {
      return { color: "#f59e0b", weight: 8, opacity: 0.8 };
    }
    return { color: "#0b5cad", weight: 3 };
  }

  function point(feature, latlng) {
    const p = feature.properties;
    if (p.kind === "tower") {
      return L.circleMarker(latlng, { radius: 5, color: "#1b1f24", weight: 2, fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip(p.tower, { permanent: true, direction: "right", className: "tower-label", offset: [6, 0] });
    }
    const focus = el.dataset.focus && String(p.id) === el.dataset.focus;
    return L.circleMarker(latlng, {
      radius: focus ? 10 : 7, color: "#fff", weight: 2, fillOpacity: 0.95,
      fillColor: COLOURS[p.severity] || "#4b5563",
    }).bindPopup(popup(p));
  }

  fetch(el.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    })
    .then(function (data) {
      // Lines first, then towers and defects on top.
      const order = { line: 0, span: 1, tower: 2, defect: 3 };
      data.features.sort(function (a, b) { return order[a.properties.kind] - order[b.properties.kind]; });
      const layer = L.geoJSON(data, { style: style, pointToLayer: point }).addTo(map);
      const bounds = layer.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 18 });
      }
      el.dataset.features = String(data.features.length);
      el.dataset.defects = String(data.features.filter(function (f) { return f.properties.kind === "defect"; }).length);
      el.classList.add("loaded");
    })
    .catch(function (err) {
      window.LP.toast("Map: " + err.message, true);
    });
})();
