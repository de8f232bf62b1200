// Calendar page: copy buttons for feed URLs (the rep picker submits through app.js).
// A static file because the site's Content-Security-Policy allows no inline script.
"use strict";
(function () {
  function say(text) {
    var status = document.getElementById("copy-status");
    if (status) { status.textContent = text; }
  }

  function copyFrom(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    var done = function () { say("Copied: " + field.value); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        say("Selected: press Ctrl+C (or Copy) to copy.");
      });
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    } else {
      say("Selected: press Ctrl+C (or Copy) to copy.");
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () { copyFrom(button); });
  });
  document.querySelectorAll("input.select-all").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
