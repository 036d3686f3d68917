/* Flights list: reload while any flight is queued or processing, so progress stays live. */
(function () {
  "use strict";
  const busy = document.querySelector('#flights tr[data-status="queued"], #flights tr[data-status="processing"]');
  if (busy) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
