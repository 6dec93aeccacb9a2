/* PartnerHub portal: small progressive enhancements. Every page works without this file.
 *
 * Loaded as a static file (the Content-Security-Policy allows no inline script). It:
 *  - closes the header dropdowns on outside clicks and Escape;
 *  - lets htmx swap in server-rendered fragments that answer with a form error (X-Portal-Fragment),
 *    and falls back to a normal form submission when htmx gets any other error;
 *  - keeps colour pickers and hex fields in step and previews the brand live;
 *  - copies a new API key to the clipboard;
 *  - asks for confirmation on forms marked data-confirm.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Dropdowns (<details class="dropdown">) -------------------------------------------------------------
  function closeDropdowns(except) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (el) {
      if (el !== except) el.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    const inside = event.target.closest("details.dropdown");
    closeDropdowns(inside);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const open = document.querySelector("details.dropdown[open]");
    if (open) {
      open.removeAttribute("open");
      const summary = open.querySelector("summary");
      if (summary) summary.focus();
    }
  });

  // Confirmation for plain (non-htmx) forms ---------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (question && !form.hasAttribute("hx-post") && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // htmx ----------------------------------------------------------------------------------------------------
  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Portal-Fragment")) {
      // A fragment that reports a form error or a refused action: show it like a success.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function fallBackToFullPage(event) {
    const xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Portal-Fragment")) return;
    const form = event.detail.elt && event.detail.elt.closest("form");
    if (form) {
      // Let the server render its full answer (error page, sign-in, ...) instead of failing silently.
      HTMLFormElement.prototype.submit.call(form);
    } else {
      window.location.reload();
    }
  }

  document.addEventListener("htmx:responseError", fallBackToFullPage);
  document.addEventListener("htmx:sendError", fallBackToFullPage);

  // htmx puts focus back on the control with the same id; when that control is gone (a removed row),
  // move focus to the panel's heading instead of leaving keyboard users at the top of the page.
  document.addEventListener("htmx:afterSettle", function () {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const focusTarget = document.querySelector("[data-focus-after-swap]");
    if (focusTarget) focusTarget.focus({ preventScroll: true });
  });

  // Brand colours -------------------------------------------------------------------------------------------
  const HEX = /^#[0-9a-fA-F]{6}$/;

  function luminance(hex) {
    const channels = [1, 3, 5].map(function (i) {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function contrast(a, b) {
    const la = luminance(a);
    const lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  // Same rule as PartnerBrand.primary_text_color on the server.
  function readableText(background) {
    return contrast(background, "#ffffff") >= contrast(background, "#111827") ? "#ffffff" : "#111827";
  }

  function updatePreview(name, value) {
    const preview = document.querySelector("[data-brand-preview]");
    if (!preview || !HEX.test(value)) return;
    const role = name === "accent_color" ? "accent" : "primary";
    preview.style.setProperty("--brand-" + role, value);
    preview.style.setProperty("--brand-on-" + role, readableText(value));
    const note = document.querySelector('[data-contrast-for="' + name + '"]');
    if (note) {
      const ratio = contrast(value, readableText(value));
      note.textContent = "Text on this colour: " + ratio.toFixed(1) + ":1 contrast" + (ratio < 4.5 ? " (low)" : "");
    }
  }

  document.querySelectorAll(".colour-input").forEach(function (group) {
    const text = group.querySelector("input.input-colour");
    const picker = group.querySelector('input[type="color"]');
    if (!text || !picker) return;
    picker.hidden = false;
    picker.addEventListener("input", function () {
      text.value = picker.value;
      updatePreview(text.name, picker.value);
    });
    text.addEventListener("input", function () {
      const value = text.value.trim();
      if (HEX.test(value)) {
        picker.value = value.toLowerCase();
        updatePreview(text.name, value.toLowerCase());
      }
    });
    if (HEX.test(text.value)) updatePreview(text.name, text.value.toLowerCase());
  });

  document.querySelectorAll("[data-preview-text]").forEach(function (input) {
    const targets = document.querySelectorAll('[data-preview-of="' + input.getAttribute("data-preview-text") + '"]');
    input.addEventListener("input", function () {
      targets.forEach(function (el) {
        el.textContent = input.value || el.getAttribute("data-preview-fallback") || "";
      });
    });
  });

  const logoInput = document.querySelector("[data-logo-input]");
  if (logoInput) {
    logoInput.addEventListener("change", function () {
      const file = logoInput.files && logoInput.files[0];
      const img = document.querySelector("[data-preview-logo]");
      if (!file || !img || !/^image\/(png|jpeg|webp|gif)$/.test(file.type)) return;
      const reader = new FileReader();
      reader.addEventListener("load", function () {
        img.src = reader.result;
        img.hidden = false;
        const badge = document.querySelector("[data-preview-badge]");
        if (badge) badge.hidden = true;
      });
      reader.readAsDataURL(file);
    });
  }

  const autofocus = document.querySelector("[data-autofocus]");
  if (autofocus) autofocus.focus();

  // Copy a new API key --------------------------------------------------------------------------------------
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    const field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      const label = button.querySelector("[data-copy-label]") || button;
      const done = function () {
        label.textContent = "Copied";
        window.setTimeout(function () {
          label.textContent = "Copy";
        }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
        });
      } else {
        field.select();
        document.execCommand("copy");
        done();
      }
    });
  });
})();
