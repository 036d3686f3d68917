/* Flight page: live progress while processing (polls the API), then reloads to show defects. */
(function () {
  "use strict";
  const state = document.getElementById("flight-state");
  if (!state) {
    return;
  }
  const id = state.dataset.flight;
  const active = ["queued", "processing"];

  async function poll() {
    try {
      const f = await window.LP.api("GET", "/api/v1/flights/" + id);
      const p = f.progress;
      const bar = document.querySelector(".progressline progress");
      if (bar) {
        bar.max = p.total || 1;
        bar.value = p.done + p.failed;
      }
      const text = document.getElementById("progress-text");
      if (text) {
        text.textContent = p.done + " done · " + p.failed + " failed · " + p.pending +
          " waiting · " + p.total + " photos";
      }
      if (f.status !== state.dataset.status) {
        window.location.reload();
        return;
      }
    } catch (err) {
      window.LP.toast("Progress: " + err.message, true);
    }
    setTimeout(poll, 1500);
  }

  if (active.includes(state.dataset.status)) {
    setTimeout(poll, 1000);
  }

  document.querySelectorAll("[data-flight-action]").forEach(function (button) {
    button.addEventListener("click", async function () {
      button.disabled = true;
      try {
        await window.LP.api("POST", "/api/v1/flights/" + id + "/" + button.dataset.flightAction);
        window.location.reload();
      } catch (err) {
        window.LP.toast(err.message, true);
        button.disabled = false;
      }
    });
  });
})();
