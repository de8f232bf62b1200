// The day map to work with: zoom (wheel, pinch, + and − buttons), pan (drag), and a tap on a
// stop's marker opens its card under the map. It moves the SVG's viewBox and rescales the
// markers and street names so they keep their size on screen. Without this file the map is a
// still picture whose markers jump to their stop in the list.
(function () {
  "use strict";
  var svg = document.querySelector("svg.map[data-zoom]");
  if (!svg) { return; }
  var box = svg.viewBox.baseVal;
  var home = [box.x, box.y, box.width, box.height];
  var view = home.slice();
  var pointers = {};
  var moved = 0;
  var labels = svg.querySelector(".streets");
  var labelPx = 11;

  function unitsPerPx() {
    var r = svg.getBoundingClientRect();
    return Math.max(view[2] / r.width, view[3] / r.height);
  }

  function draw() {
    svg.setAttribute("viewBox", view.join(" "));
    var k = unitsPerPx();
    svg.querySelectorAll("[data-at]").forEach(function (m) {
      m.setAttribute("transform", "translate(" + m.getAttribute("data-at") + ") scale(" + k + ")");
    });
    if (labels) { labels.setAttribute("font-size", String(labelPx * k)); }
    svg.setAttribute("data-zoom", (home[2] / view[2]).toFixed(2));
  }

  // the point of the map under a screen position (the drawing is centred in its box)
  function at(x, y) {
    var r = svg.getBoundingClientRect();
    var k = unitsPerPx();
    return [view[0] + (x - r.left) * k - (r.width * k - view[2]) / 2,
      view[1] + (y - r.top) * k - (r.height * k - view[3]) / 2];
  }

  function zoom(factor, p) {
    var width = Math.min(home[2] * 1.5, Math.max(home[2] / 40, view[2] / factor));
    var f = view[2] / width;
    view = [p[0] - (p[0] - view[0]) / f, p[1] - (p[1] - view[1]) / f, view[2] / f, view[3] / f];
    draw();
  }

  function centre() { return [view[0] + view[2] / 2, view[1] + view[3] / 2]; }

  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    zoom(Math.exp(-e.deltaY / 300), at(e.clientX, e.clientY));
  }, { passive: false });

  svg.addEventListener("pointerdown", function (e) {
    pointers[e.pointerId] = [e.clientX, e.clientY];
    if (Object.keys(pointers).length === 1) { moved = 0; }
  });

  svg.addEventListener("pointermove", function (e) {
    var last = pointers[e.pointerId];
    if (!last) { return; }
    var ids = Object.keys(pointers);
    var k = unitsPerPx();
    if (ids.length === 1) {
      moved += Math.abs(e.clientX - last[0]) + Math.abs(e.clientY - last[1]);
      if (moved > 6) {
        if (!svg.hasPointerCapture(e.pointerId)) { svg.setPointerCapture(e.pointerId); }
        view[0] -= (e.clientX - last[0]) * k;
        view[1] -= (e.clientY - last[1]) * k;
        draw();
      }
    } else if (ids.length === 2) {
      var other = pointers[ids[0] === String(e.pointerId) ? ids[1] : ids[0]];
      var before = Math.hypot(last[0] - other[0], last[1] - other[1]);
      var after = Math.hypot(e.clientX - other[0], e.clientY - other[1]);
      moved = 100;
      if (before > 0) {
        zoom(after / before, at((e.clientX + other[0]) / 2, (e.clientY + other[1]) / 2));
      }
    }
    pointers[e.pointerId] = [e.clientX, e.clientY];
  });

  function lift(e) { delete pointers[e.pointerId]; }
  svg.addEventListener("pointerup", lift);
  svg.addEventListener("pointercancel", lift);

  var card = document.createElement("section");
  card.className = "map-card";
  card.id = "map-card";
  card.hidden = true;
  card.setAttribute("aria-live", "polite");
  svg.insertAdjacentElement("afterend", card);

  function button(label, text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", action);
    return b;
  }

  function openCard(number) {
    var stop = document.getElementById("stop-" + number);
    if (!stop) { return; }
    card.textContent = "";
    var head = document.createElement("p");
    head.className = "map-card-head";
    var link = document.createElement("a");
    link.href = "#stop-" + number;
    link.textContent = "Stop " + number + " in the list";
    head.appendChild(link);
    head.appendChild(button("Close the card", "×", function () { card.hidden = true; }));
    card.appendChild(head);
    var body = document.createElement("div");
    body.setAttribute("data-stop", number);
    stop.childNodes.forEach(function (node) { body.appendChild(node.cloneNode(true)); });
    body.querySelectorAll("[id]").forEach(function (node) { node.removeAttribute("id"); });
    body.querySelectorAll("details").forEach(function (node) { node.open = true; });
    card.appendChild(body);
    card.hidden = false;
    card.scrollIntoView({ block: "nearest" });
  }

  svg.addEventListener("click", function (e) {
    var marker = e.target.closest ? e.target.closest("a.marker") : null;
    if (moved > 6) { e.preventDefault(); return; }
    if (marker) {
      e.preventDefault();
      openCard(marker.getAttribute("data-stop"));
    }
  });

  var tools = document.createElement("div");
  tools.className = "map-tools";
  tools.appendChild(button("Zoom in", "+", function () { zoom(1.6, centre()); }));
  tools.appendChild(button("Zoom out", "−", function () { zoom(1 / 1.6, centre()); }));
  tools.appendChild(button("Whole day", "⤢", function () { view = home.slice(); draw(); }));
  svg.insertAdjacentElement("beforebegin", tools);
  window.addEventListener("resize", draw);
  draw();
}());
