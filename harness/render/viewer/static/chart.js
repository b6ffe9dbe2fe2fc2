/*
 * chart.js: a small rate-distortion chart in plain SVG (no library). One global, HarnessChart.
 *
 *   HarnessChart.draw(element, {
 *     series: [{name: "jpeg", points: [{x: 0.81, y: 31.2, key: "row id", text: "hover text"}, ...]}, ...],
 *     log: true,                       // bpp on a log axis
 *     xLabel: "bpp", yLabel: "PSNR [dB]",
 *     marks: {a: "row id", b: "row id"},   // the two current sides, ringed and lettered
 *     onPick: (point, series, shift) => {}, // click (shift-click)
 *     onHover: (point, series) => {},
 *   });
 *
 * A series of one point is drawn as a diamond (a single-point contender, e.g. a published file); longer
 * series as a line through their points, sorted by x.
 */
(function (global) {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var COLOURS = ["#5b9bd5", "#ed7d31", "#70ad47", "#ffc000", "#d16ad6", "#4bc4c4", "#ff6b6b", "#b0b0b0",
                 "#9e7bff", "#c6e377", "#f4a3c0", "#8f8f3a"];

  function node(tag, attrs, parent, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    if (parent) parent.appendChild(n);
    return n;
  }

  function ticks(lo, hi, log) {
    if (log) {
      var out = [];
      for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, e); if (v >= lo && v <= hi) out.push(v); });
      }
      return out.length >= 2 ? out : [lo, hi];
    }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / 4 || 1)));
    while ((hi - lo) / step > 6) step *= 2;
    var list = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) list.push(Number(v.toPrecision(10)));
    return list;
  }

  function draw(element, opts) {
    element.innerHTML = "";
    var W = element.clientWidth || 300, H = Math.max(180, Math.round(W * 0.8));
    var m = {l: 44, r: 16, t: 8, b: 32};
    var svg = node("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "rd-chart", role: "img"}, element);
    var pts = [];
    opts.series.forEach(function (s) { s.points.forEach(function (p) { if (isFinite(p.x) && isFinite(p.y) && (!opts.log || p.x > 0)) pts.push(p); }); });
    if (!pts.length) { node("text", {x: 10, y: 20, fill: "#aaa"}, svg, "no values"); return; }
    var xs = pts.map(function (p) { return p.x; }), ys = pts.map(function (p) { return p.y; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (opts.log) { x0 /= 1.15; x1 *= 1.15; } else { var dx = (x1 - x0) * 0.06 || x0 * 0.1 || 1; x0 = Math.max(0, x0 - dx); x1 += dx; }
    var dy = (y1 - y0) * 0.08 || Math.abs(y0) * 0.05 || 1; y0 -= dy; y1 += dy;
    var fx = opts.log ? function (v) { return m.l + (Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0)) * (W - m.l - m.r); }
                      : function (v) { return m.l + (v - x0) / (x1 - x0) * (W - m.l - m.r); };
    var fy = function (v) { return H - m.b - (v - y0) / (y1 - y0) * (H - m.t - m.b); };
    var axes = node("g", {"class": "rd-axes"}, svg);
    ticks(x0, x1, opts.log).forEach(function (v) {
      node("line", {x1: fx(v), x2: fx(v), y1: m.t, y2: H - m.b, "class": "rd-grid"}, axes);
      node("text", {x: fx(v), y: H - m.b + 12, "text-anchor": "middle"}, axes, String(Number(v.toPrecision(3))));
    });
    ticks(y0, y1, false).forEach(function (v) {
      node("line", {x1: m.l, x2: W - m.r, y1: fy(v), y2: fy(v), "class": "rd-grid"}, axes);
      node("text", {x: m.l - 4, y: fy(v) + 4, "text-anchor": "end"}, axes, String(Number(v.toPrecision(4))));
    });
    node("text", {x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle"}, axes, opts.xLabel + (opts.log ? " (log)" : ""));
    node("text", {x: 10, y: (m.t + H - m.b) / 2, transform: "rotate(-90 10 " + ((m.t + H - m.b) / 2) + ")",
                  "text-anchor": "middle"}, axes, opts.yLabel);
    var marks = opts.marks || {};
    opts.series.forEach(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      var good = s.points.filter(function (p) { return isFinite(p.x) && isFinite(p.y) && (!opts.log || p.x > 0); })
        .sort(function (p, q) { return p.x - q.x; });
      var g = node("g", {"class": "rd-series", "data-series": s.name}, svg);
      if (good.length > 1) {
        node("polyline", {points: good.map(function (p) { return fx(p.x) + "," + fy(p.y); }).join(" "), fill: "none",
                          stroke: colour, "stroke-width": 1.5}, g);
      }
      good.forEach(function (p) {
        var X = fx(p.x), Y = fy(p.y), shape;
        if (good.length === 1) {
          shape = node("path", {d: "M" + X + " " + (Y - 6) + "l6 6l-6 6l-6 -6z", fill: colour}, g);
        } else {
          shape = node("circle", {cx: X, cy: Y, r: 3.5, fill: colour}, g);
        }
        shape.setAttribute("class", "rd-point");
        shape.setAttribute("data-key", p.key);
        node("title", {}, shape, p.text);
        // A larger invisible target, so that a finger or a quick mouse hits the point.
        var hit = node("circle", {cx: X, cy: Y, r: 9, fill: "transparent", "class": "rd-hit", "data-key": p.key}, g);
        node("title", {}, hit, p.text);
        hit.addEventListener("click", function (event) { if (opts.onPick) opts.onPick(p, s, event.shiftKey); });
        hit.addEventListener("mouseenter", function () { if (opts.onHover) opts.onHover(p, s); });
        ["a", "b"].forEach(function (side) {
          if (marks[side] !== p.key) return;
          node("circle", {cx: X, cy: Y, r: 8, fill: "none", stroke: "#fff", "stroke-width": 2, "class": "rd-mark rd-mark-" + side}, g);
          node("text", {x: X + 9, y: Y - 7, "class": "rd-mark-label"}, g, side.toUpperCase());
        });
      });
    });
    // The legend below the plot (HTML, wraps), so that it never hides a point.
    var legend = document.createElement("div");
    legend.className = "rd-legend";
    opts.series.forEach(function (s, i) {
      var item = document.createElement("span");
      item.setAttribute("data-series", s.name);
      var swatch = document.createElement("i");
      swatch.style.background = COLOURS[i % COLOURS.length];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.name + (s.points.length === 1 ? " (one point)" : "")));
      legend.appendChild(item);
    });
    element.appendChild(legend);
  }

  global.HarnessChart = {draw: draw, COLOURS: COLOURS};
})(typeof window !== "undefined" ? window : this);
