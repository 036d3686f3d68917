/* The model registry page (admins): each button moves a version through the registry's
   transition table with PATCH /api/v1/models/{id}; the API checks the move again. */
(function () {
  "use strict";
  document.querySelectorAll("button.model-move").forEach(function (b) {
    b.addEventListener("click", async function () {
      b.disabled = true;
      try {
        await window.LP.api("PATCH", "/api/v1/models/" + b.dataset.model, { state: b.dataset.to });
        window.location.reload();
      } catch (err) {
        window.LP.toast(err.message, true);
        b.disabled = false;
      }
    });
  });
})();
