// The rep's offline copy: network first for every page under /route (so nothing stale is
// shown while online), the last good copy when the network is gone. Only pages under the
// worker's scope (/route) and our static files are kept; logging out forgets them all.
"use strict";
var CACHE = "rp-day-v1";
var ASSETS = ["/static/app.css", "/static/day.js", "/static/daymap.js", "/static/offline.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function keep(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/route" || url.pathname.indexOf("/route/") === 0 ||
     url.pathname.indexOf("/static/") === 0) && url.pathname !== "/route/sw.js";
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin === self.location.origin && url.pathname === "/logout") {
    event.waitUntil(caches.delete(CACHE));
    return;
  }
  if (request.method !== "GET" || !keep(url)) { return; }
  event.respondWith(fetch(request).then(function (answer) {
    var landed = new URL(answer.url || request.url);
    if (answer.ok && !answer.redirected && keep(landed)) {
      var copy = answer.clone();
      caches.open(CACHE).then(function (c) { c.put(request, copy); });
    }
    return answer;
  }).catch(function () {
    return caches.match(request).then(function (found) {
      return found || new Response("Offline, and this page was not kept on the phone.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    });
  }));
});
