/* Shared helpers: calling /api/v1 with the sign-in cookie and the page's CSRF token. */
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function errorText(status, body) {
    if (body && typeof body.detail === "string") {
      return body.detail;
    }
    if (body && Array.isArray(body.detail)) {
      return body.detail.map(function (d) { return d.msg; }).join("; ");
    }
    return "HTTP " + status;
  }

  /** fetch() against the API; resolves to the JSON body, rejects with an Error(message). */
  async function api(method, url, body) {
    const headers = { "X-CSRF-Token": csrfToken(), Accept: "application/json" };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      throw new Error(errorText(response.status, data));
    }
    return data;
  }

  function toast(message, bad) {
    const box = document.getElementById("toast");
    if (!box) {
      return;
    }
    const item = document.createElement("div");
    item.className = bad ? "msg bad" : "msg";
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, bad ? 8000 : 3000);
  }

  /** True when a key press happened while typing in a field (shortcuts must not fire then). */
  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  window.LP = { api: api, csrfToken: csrfToken, toast: toast, typing: typing, errorText: errorText };
})();
