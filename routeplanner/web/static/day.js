// The rep's pages: the re-planning box that refreshes itself while a repair waits or runs,
// and "near me" from the phone's position (asked only on a tap); the rep picker submits
// through app.js. Everything works without this file, just less smoothly.
(function () {
  "use strict";

  var box = document.getElementById("changes");
  var state = box && box.getAttribute("data-state");
  var job = box && box.getAttribute("data-job");
  if (job && (state === "waiting" || state === "running")) {
    var countdown = box.querySelector("[data-countdown]");
    if (countdown) {
      var timer = setInterval(function () {
        var left = parseInt(countdown.textContent, 10) - 1;
        countdown.textContent = String(Math.max(0, left));
        if (left <= 0) { clearInterval(timer); }
      }, 1000);
    }
    var poll = function () {
      fetch("/api/v1/visits/jobs/" + encodeURIComponent(job), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (found) {
          if (found && found.state !== state) { window.location.reload(); return; }
          setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1500);
  }

  var nearby = document.getElementById("nearby");
  if (nearby && "geolocation" in navigator) {
    nearby.hidden = false;
    nearby.addEventListener("click", function () {
      var status = document.getElementById("nearby-status");
      if (status) { status.textContent = "Finding your position…"; }
      navigator.geolocation.getCurrentPosition(function (position) {
        var url = new URL(window.location.href);
        url.searchParams.set("lat", position.coords.latitude.toFixed(5));
        url.searchParams.set("lon", position.coords.longitude.toFixed(5));
        window.location.assign(url.toString());
      }, function (error) {
        if (status) { status.textContent = "No position: " + error.message; }
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 });
    });
  }
}());
