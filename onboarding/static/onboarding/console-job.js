/* Live progress of a provisioning job in the console: while the job waits or runs, poll its API answer
   (GET /api/v1/jobs/<id>/, same-origin session) and update the state, the bar and each step's row.
   A static file, loaded with `defer`: the Content Security Policy allows no inline script. */
(function () {
  "use strict";

  var panel = document.querySelector("[data-job-url]");
  if (!panel || !window.fetch) {
    return;
  }
  var url = panel.getAttribute("data-job-url");
  var labels = JSON.parse(panel.getAttribute("data-labels") || "{}");
  var active = ["pending", "running"];
  var startedActive = active.indexOf(panel.getAttribute("data-job-state")) !== -1;
  var interval = 2000;

  function setText(element, value) {
    if (element) {
      element.textContent = value;
    }
  }

  function badge(container, kind, state) {
    if (!container) {
      return;
    }
    var span = document.createElement("span");
    span.className = "ph-badge ph-badge--" + kind + "-" + state;
    span.textContent = (labels[kind] && labels[kind][state]) || state;
    container.replaceChildren(span);
  }

  function moment(value) {
    if (!value) {
      return "—";
    }
    var date = new Date(value);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return "—";
    }
    if (seconds < 10) {
      return seconds.toFixed(1) + " s";
    }
    if (seconds < 60) {
      return Math.floor(seconds) + " s";
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min " + Math.floor(seconds % 60) + " s";
    }
    var hours = Math.floor(minutes / 60);
    if (hours < 24) {
      return hours + " h " + (minutes % 60) + " min";
    }
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function render(job) {
    panel.setAttribute("data-job-state", job.state);
    badge(panel.querySelector("[data-job-badge]"), "job", job.state);
    var total = job.steps.length;
    setText(panel.querySelector("[data-job-count]"), job.steps_done + " of " + total + " steps done");
    var bar = panel.querySelector("[data-job-bar]");
    if (bar) {
      bar.setAttribute("width", total ? Math.round((240 * job.steps_done) / total) : 0);
      bar.setAttribute("class", "ph-progress__bar ph-progress__bar--" + job.state);
    }
    job.steps.forEach(function (step) {
      var row = panel.querySelector('tr[data-step="' + CSS.escape(step.name) + '"]');
      if (!row) {
        return;
      }
      badge(row.querySelector('[data-field="state"]'), "step", step.state);
      setText(row.querySelector('[data-field="attempts"]'), String(step.attempts));
      setText(row.querySelector('[data-field="started_at"]'), moment(step.started_at));
      setText(row.querySelector('[data-field="finished_at"]'), moment(step.finished_at));
      setText(row.querySelector('[data-field="duration"]'), duration(step.duration_seconds));
      var error = row.querySelector('[data-field="last_error"] code');
      setText(error, step.last_error || "");
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        render(job);
        if (active.indexOf(job.state) !== -1) {
          window.setTimeout(poll, interval);
        } else {
          setText(panel.querySelector("[data-job-live]"), "Finished.");
          if (startedActive) {
            // The page's tools (retry) depend on the final state: draw them once, from the server.
            window.location.reload();
          }
        }
      })
      .catch(function () {
        setText(panel.querySelector("[data-job-live]"), "Live updates paused; retrying…");
        window.setTimeout(poll, interval * 5);
      });
  }

  if (startedActive) {
    window.setTimeout(poll, interval);
  }
})();
