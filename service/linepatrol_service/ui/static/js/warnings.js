/* The warnings page: each lifecycle button PATCHes /api/v1/warnings/{id} (the buttons shown
   are the moves the viewer's role may make; the API checks again). */
(function () {
  "use strict";
  document.querySelectorAll("button.warning-move").forEach(function (b) {
    b.addEventListener("click", async function () {
      b.disabled = true;
      try {
        await window.LP.api("PATCH", "/api/v1/warnings/" + b.dataset.warning,
          { status: b.dataset.to });
        window.location.reload();
      } catch (err) {
        window.LP.toast(err.message, true);
        b.disabled = false;
      }
    });
  });
})();
