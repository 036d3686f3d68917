/* New flight: create it, upload every photo or zip with its own progress bar and result (per-file
   rejections with their reasons, as the API reports them), then submit it for processing. */
(function () {
  "use strict";
  const form = document.getElementById("new-flight");
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("files");
  const panel = document.getElementById("upload-status");
  const tbody = document.querySelector("#upload-files tbody");
  const summary = document.getElementById("upload-summary");
  const submitButton = document.getElementById("submit-flight");
  const gotoLink = document.getElementById("goto-flight");
  const PARALLEL = 2;
  const chosen = [];
  let flightId = null;

  function humanSize(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function addFiles(list) {
    for (const file of list) {
      if (chosen.some(function (c) { return c.file.name === file.name && c.file.size === file.size; })) {
        continue;
      }
      const row = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = file.name + " (" + humanSize(file.size) + ")";
      const progressCell = document.createElement("td");
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      progressCell.appendChild(bar);
      const result = document.createElement("td");
      result.textContent = "waiting";
      row.append(name, progressCell, result);
      tbody.appendChild(row);
      chosen.push({ file: file, row: row, bar: bar, result: result, done: false });
    }
    panel.hidden = chosen.length === 0;
    summary.textContent = chosen.length + " file(s) chosen";
  }

  function showResult(entry, data) {
    // One upload may answer for many photos (a zip): list each with its outcome.
    entry.result.textContent = "";
    const list = document.createElement("ul");
    list.className = "reasons";
    for (const item of data.files) {
      const li = document.createElement("li");
      li.className = "res-" + item.status;
      li.dataset.status = item.status;
      let text = (data.files.length > 1 ? item.filename + ": " : "") + item.status;
      if (item.reason) {
        text += " — " + item.reason;
      }
      if (item.warnings && item.warnings.length) {
        text += " (" + item.warnings.join("; ") + ")";
      }
      li.textContent = text;
      list.appendChild(li);
    }
    entry.result.appendChild(list);
    const all = data.files.map(function (f) { return f.status; });
    entry.result.className = all.every(function (s) { return s === "rejected"; }) ? "res-rejected"
      : all.includes("accepted") ? "res-accepted" : "res-duplicate";
  }

  // A busy server answers 503 with Retry-After (seconds): wait that long and send again.
  const MAX_RETRIES = 10;

  function retryAfterMs(xhr) {
    const header = xhr.getResponseHeader("Retry-After");
    const seconds = Number(header);
    if (xhr.status !== 503 || header === null || !Number.isFinite(seconds) || seconds < 0) {
      return null;
    }
    return Math.min(seconds, 60) * 1000 * (1 + Math.random() / 2);
  }

  function uploadOne(entry, attempt) {
    const tries = attempt || 0;
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      const body = new FormData();
      body.append("files", entry.file, entry.file.name);
      xhr.open("POST", "/api/v1/flights/" + flightId + "/images");
      xhr.setRequestHeader("X-CSRF-Token", window.LP.csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          entry.bar.value = Math.round((100 * e.loaded) / e.total);
        }
      };
      entry.result.textContent = "uploading…";
      xhr.onload = function () {
        const wait = retryAfterMs(xhr);
        if (wait !== null && tries < MAX_RETRIES) {
          entry.result.textContent = "server busy — trying again in " + Math.ceil(wait / 1000) +
            " s…";
          setTimeout(function () { uploadOne(entry, tries + 1).then(resolve); }, wait);
          return;
        }
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
        entry.bar.value = 100;
        entry.done = true;
        if (xhr.status >= 200 && xhr.status < 300 && data) {
          showResult(entry, data);
          resolve(data);
        } else {
          entry.result.className = "res-rejected";
          entry.result.textContent = "rejected — " + window.LP.errorText(xhr.status, data);
          resolve({ accepted: 0, duplicates: 0, rejected: 1, files: [] });
        }
      };
      xhr.onerror = function () {
        entry.result.className = "res-rejected";
        entry.result.textContent = "failed — network error; try again";
        resolve({ accepted: 0, duplicates: 0, rejected: 1, files: [] });
      };
      xhr.send(body);
    });
  }

  async function uploadAll() {
    const todo = chosen.filter(function (c) { return !c.done; });
    const totals = { accepted: 0, duplicates: 0, rejected: 0 };
    let next = 0;
    async function worker() {
      while (next < todo.length) {
        const entry = todo[next++];
        const r = await uploadOne(entry);
        totals.accepted += r.accepted;
        totals.duplicates += r.duplicates;
        totals.rejected += r.rejected;
        summary.textContent = totals.accepted + " accepted · " + totals.duplicates +
          " duplicate · " + totals.rejected + " rejected";
      }
    }
    const workers = [];
    for (let i = 0; i < PARALLEL; i++) {
      workers.push(worker());
    }
    await Promise.all(workers);
    return totals;
  }

  /** PUT the chosen tower ledger for the flight's line (admins only; the API checks). */
  async function sendLedger(line) {
    const field = document.getElementById("ledger");
    if (!field || !field.files.length) {
      return;
    }
    const file = field.files[0];
    const geo = /\.(geo)?json$/i.test(file.name);
    const response = await fetch("/api/v1/lines/" + encodeURIComponent(line) + "/ledger", {
      method: "PUT", credentials: "same-origin", body: await file.text(),
      headers: { "X-CSRF-Token": window.LP.csrfToken(), "Content-Type": geo ? "application/geo+json" : "text/csv" },
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      throw new Error("Ledger " + file.name + ": " + window.LP.errorText(response.status, data));
    }
    document.getElementById("ledger-result").textContent =
      "Ledger of " + data.line + ": " + data.towers + " towers loaded.";
    field.value = "";
  }

  async function submitFlight() {
    submitButton.disabled = true;
    try {
      await window.LP.api("POST", "/api/v1/flights/" + flightId + "/submit");
      window.location.href = "/ui/flights/" + flightId;
    } catch (err) {
      window.LP.toast("Submit: " + err.message, true);
      submitButton.disabled = false;
    }
  }

  zone.addEventListener("dragover", function (e) {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });
  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = "";
  });
  submitButton.addEventListener("click", submitFlight);

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    if (!chosen.length) {
      window.LP.toast("Choose or drop some photos first.", true);
      return;
    }
    const start = document.getElementById("start-upload");
    start.disabled = true;
    try {
      await sendLedger(form.line.value.trim());
      if (flightId === null) {
        const f = await window.LP.api("POST", "/api/v1/flights", {
          line: form.line.value, date: form.date.value, team: form.team.value,
          drone: form.drone.value, notes: form.notes.value,
        });
        flightId = f.id;
        gotoLink.href = "/ui/flights/" + flightId;
        gotoLink.hidden = false;
      }
      const totals = await uploadAll();
      const accepted = tbody.querySelector('li[data-status="accepted"], li[data-status="duplicate"]');
      if (accepted && document.getElementById("auto-submit").checked) {
        await submitFlight();
      } else {
        submitButton.hidden = !accepted;
        if (!totals.accepted) {
          window.LP.toast("No photo was accepted; see the reasons per file.", true);
        }
      }
    } catch (err) {
      window.LP.toast(err.message, true);
    } finally {
      start.disabled = false;
    }
  });
})();
