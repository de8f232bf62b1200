// The territories page: select accounts on the map for "Move accounts". A tap or click on an
// account ticks (or unticks) its box in the move list; "Lasso" (or dragging with Shift held)
// draws around accounts and ticks every one inside. A static file because the page's
// Content-Security-Policy allows no inline script; without it the list works alone.
(function () {
  "use strict";

  var form = document.getElementById("move-form");
  var svg = document.querySelector("svg.territory-map");
  if (!form || !svg) { return; }
  var SVG_NS = "http://www.w3.org/2000/svg";
  var boxes = {};
  form.querySelectorAll('input[name="account_ids"]').forEach(function (box) {
    boxes[box.value] = box;
  });
  var count = document.getElementById("move-count");
  var list = document.getElementById("move-list");

  function paint() {
    var ticked = 0;
    Object.keys(boxes).forEach(function (id) { if (boxes[id].checked) { ticked += 1; } });
    svg.querySelectorAll("circle[data-account]").forEach(function (dot) {
      var box = boxes[dot.getAttribute("data-account")];
      dot.classList.toggle("picked", Boolean(box && box.checked));
    });
    if (count) { count.textContent = ticked ? ticked + " selected" : ""; }
  }

  function tick(ids) {
    ids.forEach(function (id) { if (boxes[id]) { boxes[id].checked = true; } });
    paint();
  }

  var lassoOn = false;
  var lasso = null;
  var trail = [];
  var justDrawn = false;

  svg.addEventListener("click", function (event) {
    if (justDrawn) { justDrawn = false; return; }
    var dot = event.target.closest("circle[data-account]");
    var box = dot && boxes[dot.getAttribute("data-account")];
    if (!box) { return; }
    box.checked = !box.checked;
    paint();
  });
  form.addEventListener("change", paint);

  function mapPoint(event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  function inside(x, y, ring) {
    var hit = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      var a = ring[i];
      var b = ring[j];
      if ((a.y > y) !== (b.y > y) && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) {
        hit = !hit;
      }
    }
    return hit;
  }

  svg.addEventListener("pointerdown", function (event) {
    if (!lassoOn && !event.shiftKey) { return; }
    event.preventDefault();
    svg.setPointerCapture(event.pointerId);
    trail = [mapPoint(event)];
    lasso = document.createElementNS(SVG_NS, "polygon");
    lasso.setAttribute("class", "lasso");
    svg.appendChild(lasso);
  });

  svg.addEventListener("pointermove", function (event) {
    if (!lasso) { return; }
    trail.push(mapPoint(event));
    lasso.setAttribute("points", trail.map(function (p) {
      return Math.round(p.x) + "," + Math.round(p.y);
    }).join(" "));
  });

  function finish() {
    if (!lasso) { return; }
    svg.removeChild(lasso);
    lasso = null;
    if (trail.length < 3) { return; }
    justDrawn = true;
    var ids = [];
    svg.querySelectorAll("circle[data-account]").forEach(function (dot) {
      var x = parseFloat(dot.getAttribute("cx"));
      var y = parseFloat(dot.getAttribute("cy"));
      if (inside(x, y, trail)) { ids.push(dot.getAttribute("data-account")); }
    });
    tick(ids);
  }
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", finish);

  var button = document.createElement("button");
  button.type = "button";
  button.id = "move-lasso";
  button.textContent = "Lasso";
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", function () {
    lassoOn = !lassoOn;
    button.setAttribute("aria-pressed", String(lassoOn));
    svg.classList.toggle("lasso-on", lassoOn);
  });
  var clear = document.createElement("button");
  clear.type = "button";
  clear.id = "move-clear";
  clear.textContent = "Clear";
  clear.addEventListener("click", function () {
    Object.keys(boxes).forEach(function (id) { boxes[id].checked = false; });
    paint();
  });
  var hint = document.createElement("p");
  hint.className = "muted";
  hint.textContent = "Or tap accounts on the map; Lasso (or Shift-drag) selects all inside.";
  var place = list || form.lastChild;
  form.insertBefore(hint, place);
  if (count) {
    count.parentNode.insertBefore(button, count);
    count.parentNode.insertBefore(clear, count);
  }
  paint();
}());
