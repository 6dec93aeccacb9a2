/* Co-marketing pages: small progressive enhancements. Every page works without this file.
 *
 * Loaded as a static file (the Content-Security-Policy allows no inline script). It:
 *  - selects the whole text of read-only copy fields when they get focus, so copying by hand is one step
 *    (the Copy buttons themselves are portal.js's data-copy-target);
 *  - disables a form's submit button once it is sent, so a co-branding or claim is not sent twice.
 */
(function () {
  "use strict";

  document.addEventListener("focusin", function (event) {
    const field = event.target;
    if (field instanceof HTMLTextAreaElement && field.classList.contains("cm-copytext")) {
      field.select();
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    window.setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  // A page restored from the back/forward cache keeps disabled buttons; enable them again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll('button[aria-busy="true"]').forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  });
})();
