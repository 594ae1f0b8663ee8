/* Carnet santé — small enhancements on top of pages that work without JavaScript:
   the CSRF header for htmx, focus after swaps, and the idle-session warning. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) { event.detail.headers["X-CSRFToken"] = token; }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target) { target.setAttribute("aria-busy", "true"); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    // The element the request marked busy, even when the server retargeted the answer.
    var target = (event.detail.requestConfig && event.detail.requestConfig.target) ||
      event.detail.target;
    if (target && target.removeAttribute) { target.removeAttribute("aria-busy"); }
    if (event.detail.successful) { idle.reset(); }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt && document.contains(event.detail.elt) ? event.detail.elt : null;
    var swapped = target || document.getElementById(event.detail.target && event.detail.target.id);
    // The live region's out-of-band update is not where the person works: leave focus alone.
    if (!swapped || swapped.id === "live-region") { return; }
    // An error summary always takes the focus: the person must hear what went wrong.
    var summary = swapped.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); return; }
    // Otherwise move focus only when the swap removed the focused control (a button, a
    // pagination link): never while someone types in a live search field.
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var heading = (swapped.matches("[data-focus-after-swap]") ? swapped : null) ||
      swapped.querySelector("[data-focus-after-swap]") ||
      swapped.querySelector("h1[tabindex='-1'], h2[tabindex='-1']");
    (heading || document.getElementById("contenu")).focus();
  });

  /* A sent message: the form is emptied and the focus stays in the message box. A refused
     one (422) comes back as a new form the server retargets (HX-Retarget). */
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig || {};
    var form = config.elt || event.detail.elt;
    if (!form || !form.matches || !form.matches("[data-reset-on-success]")) { return; }
    if (!event.detail.successful || !event.detail.xhr || event.detail.xhr.status >= 300 ||
        !document.contains(form)) { return; }
    form.reset();
    // Sent after a refusal: its summary, inline errors and field marks go too.
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-summary], .field-error"),
      function (node) { node.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (field) {
      field.removeAttribute("aria-invalid");
      var described = (field.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && id !== field.id + "-error"; });
      if (described.length) { field.setAttribute("aria-describedby", described.join(" ")); }
      else { field.removeAttribute("aria-describedby"); }
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field--error"),
      function (field) { field.classList.remove("field--error"); });
    var box = form.querySelector("[data-reply-box]");
    if (box) { count(box, true); box.focus(); }
  });

  /* Characters left: shown as one types, read out politely only after a pause. */
  var pause = null;
  function count(box, quiet) {
    var shown = document.querySelector('[data-count-for="' + box.id + '"]');
    var live = document.getElementById(box.id + "-count-live");
    if (!shown) { return; }
    var left = parseInt(shown.getAttribute("data-count-max"), 10) - box.value.length;
    var text = (left >= 0 ? shown.getAttribute("data-count-text") : shown.getAttribute("data-count-over"))
      .replace("{n}", Math.abs(left).toLocaleString(document.documentElement.lang));
    shown.textContent = box.value.length ? text : "";
    clearTimeout(pause);
    if (live && !quiet) { pause = setTimeout(function () { live.textContent = text; }, 1500); }
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-reply-box]")) { count(event.target); }
  });

  /* The password rules, checked as one types (activation): their state is read out in the
     page's polite live region after a pause, and only when it changed. */
  var rulesPause = null;
  var rulesSaid = "";
  document.addEventListener("htmx:afterSettle", function (event) {
    var box = event.detail.target;
    var status = box && box.querySelector && box.querySelector("[data-password-status]");
    var live = document.getElementById("live-region");
    if (!status || !live) { return; }
    var text = status.textContent.trim();
    clearTimeout(rulesPause);
    if (text === rulesSaid) { return; }
    rulesPause = setTimeout(function () {
      rulesSaid = text;
      live.textContent = text;
    }, 1000);
  });

  /* Upload progress: a <progress> with its text, updated while htmx sends the file. */
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-progress]");
    if (!form || !event.detail.lengthComputable) { return; }
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    if (!bar) { return; }
    var percent = Math.round(event.detail.loaded / event.detail.total * 100);
    box.hidden = false;
    bar.value = percent;
    bar.textContent = percent + " %";
  });

  /* Idle-session warning (WCAG 2.2.1): shown before the server ends the session. */
  var idle = {
    timers: [],
    previousFocus: null,
    open: false,
    reset: function () {
      var body = document.body;
      var seconds = parseInt(body.getAttribute("data-session-idle"), 10);
      var warning = parseInt(body.getAttribute("data-session-warning"), 10);
      this.timers.forEach(clearTimeout);
      this.timers = [];
      if (!seconds) { return; }
      var self = this;
      this.hide();
      this.timers.push(setTimeout(function () { self.show(); },
        Math.max(seconds - warning, 1) * 1000));
      this.timers.push(setTimeout(function () {
        window.location.assign(body.getAttribute("data-session-expired-url"));
      }, seconds * 1000));
    },
    show: function () {
      var panel = document.getElementById("session-warning");
      if (!panel) { return; }
      if (!this.open) { this.previousFocus = document.activeElement; }
      this.open = true;
      panel.hidden = false;
      var button = panel.querySelector("[data-session-extend]");
      (button || panel).focus();
    },
    hide: function () {
      var panel = document.getElementById("session-warning");
      // "Rester connecté" swaps in a new, hidden panel: it was open all the same.
      var wasOpen = this.open || (panel && !panel.hidden);
      this.open = false;
      if (panel) { panel.hidden = true; }
      if (wasOpen) {
        // Back to where the person was; if that was nothing in particular, the main content.
        var back = this.previousFocus;
        if (!back || back === document.body || !document.contains(back)) {
          back = document.getElementById("contenu");
        }
        if (back) { back.focus(); }
      }
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    // On a full page load only an error summary takes the focus (after a failed post);
    // headings are focused after htmx swaps, where the focus would otherwise be lost.
    var summary = document.querySelector("[data-error-summary]");
    // After switching spaces (one's own, a child's), the new page's h1 takes the focus, so
    // a screen reader announces whose space this is.
    var landing = document.querySelector("[data-focus-on-load]");
    if (summary) { summary.focus(); } else if (landing) { landing.focus(); }
    idle.reset();
  });
})();
