// Offline for the rep: installs the service worker (keeps the week's day pages, map and
// files), queues reports on the phone (localStorage, each with an id made here) when there is
// no network or when sending fails (no answer, a timeout, a 5xx: a connection that looks
// online often is not), and sends each once the network works again; the server stores a
// report sent twice under one id once. The page says what is waiting.
(function () {
  "use strict";
  var KEY = "rp-queue";
  var TIMEOUT_MS = 15000; // a report that got no answer by then is queued, not lost
  var RETRY_MS = 10000;
  var box = document.getElementById("queue");

  function queued() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); show(); }
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function hhmm(d) { return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }

  function show() {
    if (!box) { return; }
    var items = queued();
    box.hidden = items.length === 0;
    box.textContent = items.length + (items.length === 1 ? " report waits" : " reports wait") +
      " to be sent (no connection): " + items.map(function (r) {
        return r.name + " " + r.status.replace("_", " ") + (r.at ? " at " + r.at : "");
      }).join(", ") + ".";
    items.forEach(function (r) {
      document.querySelectorAll('.visit-log[data-visit="' + CSS.escape(r.visit_id) + '"]')
        .forEach(function (log) { log.setAttribute("data-queued", r.status); });
    });
  }

  // fetch that gives up after TIMEOUT_MS; a server error counts as no answer
  function send(url, options) {
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, TIMEOUT_MS) : 0;
    if (abort) { options.signal = abort.signal; }
    return fetch(url, options).then(function (answer) {
      clearTimeout(timer);
      if (answer.status >= 500) { throw new Error("server error " + answer.status); }
      return answer;
    }, function (error) { clearTimeout(timer); throw error; });
  }

  var sending = false;
  function sync() {
    var items = queued();
    if (sending || !items.length || !navigator.onLine) { return; }
    var token = document.querySelector('input[name="csrf_token"]');
    if (!token) { return; }
    sending = true;
    var item = items[0];
    send("/api/v1/visits", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token.value },
      body: JSON.stringify({ visit_id: item.visit_id, status: item.status, at: item.at,
        note: item.note, outcome: item.outcome, rep: item.rep, report_id: item.report_id,
        order_value: item.order_value ? Number(item.order_value.replace(",", ".")) : null,
        next_step: item.next_step || "" })
    }).then(function (answer) {
      sending = false;
      if (answer.status === 401 || answer.status === 429) { return; }
      save(queued().filter(function (r) { return r.report_id !== item.report_id; }));
      if (queued().length) { sync(); } else { window.location.reload(); }
    }).catch(function () { sending = false; });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.getAttribute("action") !== "/route/visit") { return; }
    var id = form.querySelector('input[name="report_id"]');
    if (!id) {
      id = document.createElement("input");
      id.type = "hidden";
      id.name = "report_id";
      form.appendChild(id);
    }
    e.preventDefault();
    if (form.hasAttribute("data-sending")) { return; } // a second tap while the first is on its way
    id.value = newId();
    if (!navigator.onLine) { enqueue(form, e.submitter); return; }
    form.setAttribute("data-sending", "");
    // Sent here rather than by the browser, so a failure queues the report instead of ending
    // on an error page; the server's answer (a redirect to the day page) is then followed.
    // FormData(form) leaves out the button that submitted ("Done: order" is name=pick).
    var data = new FormData(form);
    if (e.submitter && e.submitter.name) { data.append(e.submitter.name, e.submitter.value); }
    send(form.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(data) })
      .then(function (answer) {
        if (answer.ok && answer.redirected) {
          var stop = form.elements.stop;
          var hash = stop && stop.value ? "#stop-" + stop.value : "";
          // to the same address, assign would only move to the anchor: load the page again
          var same = answer.url === window.location.href.split("#")[0];
          if (same) { window.location.hash = hash; window.location.reload(); } else { window.location.assign(answer.url + hash); }
        } else {
          form.submit(); // refused (nothing stored): let the browser show why
        }
      }, function () { form.removeAttribute("data-sending"); enqueue(form, e.submitter); });
  });

  function enqueue(form, submitter) {
    var field = function (name) { var f = form.elements[name]; return f ? f.value : ""; };
    var picked = submitter && submitter.name === "pick" ? submitter.value : "";
    var status = field("status");
    var stop = form.closest("li");
    var name = stop ? (stop.querySelector("a[href^='/accounts/'], summary") || stop).textContent.trim() : "";
    var items = queued();
    items.push({ report_id: field("report_id"), visit_id: field("visit_id"), status: status, rep: field("rep"),
      at: field("at") || (status === "done" || status === "checked_in" ? hhmm(new Date()) : ""),
      note: field("note"), outcome: picked || field("outcome"), order_value: field("order_value"),
      next_step: field("next_step"), name: name.slice(0, 60) });
    save(items);
  }

  window.addEventListener("online", sync);
  setInterval(sync, RETRY_MS); // online but failing fires no "online" event: keep trying
  show();
  sync();

  if ("serviceWorker" in navigator && document.body.hasAttribute("data-offline")) {
    navigator.serviceWorker.register("/route/sw.js", { scope: "/route" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      // keep the week's day pages: load each once (the worker keeps what passes through it)
      if (!navigator.onLine) { return; }
      var last = parseInt(localStorage.getItem("rp-kept") || "0", 10);
      if (Date.now() - last < 10 * 60 * 1000) { return; }
      localStorage.setItem("rp-kept", String(Date.now()));
      document.querySelectorAll("nav.days a").forEach(function (a, i) {
        if (i < 7) { fetch(a.href, { credentials: "same-origin" }).catch(function () {}); }
      });
    }).catch(function () {});
  }
}());
