/*
 * pairs.js: the matched pairs page. For codecs X and Y, every image's pairs at the same rate (a --match
 * pair or bpp within the run's tolerance), or at the same quality (Y's bpp at X's metric value,
 * interpolated on log bpp between Y's nearest rows on that image); per pair the ratio of Y's bits to X's,
 * the geometric mean and the 10th / 90th percentiles on top. Loads every image's data (data/images/*.js).
 */
(function () {
  "use strict";

  var INDEX = window.HARNESS_VIEWER_INDEX;
  var pages = {};
  var $ = HarnessDom.$, make = HarnessDom.make;
  function sameRate(x, y) {
    var t = function (r) { return typeof r.target_bpp === "number"; };
    var tol = typeof INDEX.tolerance === "number" ? INDEX.tolerance : 0.02;
    return (t(x) && (x.target_bpp === y.bpp || x.target_bpp === y.target_bpp)) || (t(y) && y.target_bpp === x.bpp) ||
      Math.max(x.bpp, y.bpp) / Math.min(x.bpp, y.bpp) - 1 <= tol + 1e-12;
  }
  function bppAt(rows, column, value) {
    // Y's bpp where its metric equals value: log bpp linear in the metric between the two rows around it.
    var pts = rows.filter(function (r) { return typeof r.values[column] === "number" && r.bpp > 0; })
      .sort(function (p, q) { return p.values[column] - q.values[column]; });
    for (var i = 0; i + 1 < pts.length; i++) {
      var a = pts[i].values[column], b = pts[i + 1].values[column];
      if (value >= a && value <= b && b > a) {
        var t = (value - a) / (b - a);
        return Math.exp(Math.log(pts[i].bpp) * (1 - t) + Math.log(pts[i + 1].bpp) * t);
      }
    }
    return null;
  }
  function quantile(sorted, q) {
    var at = (sorted.length - 1) * q, lo = Math.floor(at), hi = Math.ceil(at);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
  }

  function pairs() {
    var X = $("#pair-x").value, Y = $("#pair-y").value, by = $("#pair-by").value, column = $("#pair-metric").value;
    var out = [];
    INDEX.images.forEach(function (im) {
      var page = pages[im.slug];
      if (!page) return;
      var xs = page.rows.filter(function (r) { return r.codec === X && typeof r.bpp === "number"; });
      var ys = page.rows.filter(function (r) { return r.codec === Y && typeof r.bpp === "number"; });
      xs.forEach(function (x) {
        if (by === "rate") {
          var best = null;
          ys.forEach(function (y) {
            if (sameRate(x, y) && (!best || Math.abs(Math.log(y.bpp / x.bpp)) < Math.abs(Math.log(best.bpp / x.bpp)))) best = y;
          });
          if (best) out.push({image: im.image, x: x, y: best, ybpp: best.bpp, ratio: best.bpp / x.bpp});
        } else if (typeof x.values[column] === "number") {
          var b = bppAt(ys, column, x.values[column]);
          if (b !== null) out.push({image: im.image, x: x, y: null, ybpp: b, ratio: b / x.bpp});
        }
      });
    });
    return out;
  }

  var sortKey = "image", sortUp = true;
  function render() {
    var list = pairs(), column = $("#pair-metric").value;
    var n = INDEX.numbers.filter(function (c) { return c.column === column; })[0];
    var ratios = list.map(function (p) { return p.ratio; }).sort(function (a, b) { return a - b; });
    var summary = $("#pair-summary");
    if (!ratios.length) {
      summary.textContent = "no pairs";
      summary.removeAttribute("data-geomean");
    } else {
      var g = Math.exp(ratios.reduce(function (s, r) { return s + Math.log(r); }, 0) / ratios.length);
      summary.setAttribute("data-geomean", String(g));
      summary.textContent = ratios.length + " pairs: " + $("#pair-y").value + " uses " + g.toFixed(3) +
        "x the bits of " + $("#pair-x").value + " (geometric mean; 10th percentile " + quantile(ratios, 0.1).toFixed(3) +
        "x, 90th " + quantile(ratios, 0.9).toFixed(3) + "x)" + (g > 1 ? ": " + $("#pair-x").value + " is " + g.toFixed(2) +
        " times smaller" : g < 1 ? ": " + $("#pair-y").value + " is " + (1 / g).toFixed(2) + " times smaller" : "");
    }
    var get = {image: function (p) { return p.image; }, xbpp: function (p) { return p.x.bpp; },
               ybpp: function (p) { return p.ybpp; }, ratio: function (p) { return p.ratio; },
               xm: function (p) { return p.x.values[column]; }, ym: function (p) { return p.y ? p.y.values[column] : null; }};
    list.sort(function (a, b) {
      var u = get[sortKey](a), v = get[sortKey](b);
      var c = u === v ? 0 : u === null ? 1 : v === null ? -1 : u < v ? -1 : 1;
      return sortUp ? c : -c;
    });
    var table = $("#pairs");
    table.innerHTML = "";
    var head = make("tr");
    [["image", "image"], ["xbpp", "X bpp"], ["ybpp", "Y bpp"], ["ratio", "Y / X bits"],
     ["xm", "X " + (n ? n.label : "")], ["ym", "Y " + (n ? n.label : "")]].forEach(function (h) {
      var th = make("th", {"data-key": h[0]}, h[1] + (sortKey === h[0] ? (sortUp ? " \u25b2" : " \u25bc") : ""));
      th.addEventListener("click", function () { sortUp = sortKey === h[0] ? !sortUp : true; sortKey = h[0]; render(); });
      head.appendChild(th);
    });
    table.appendChild(head);
    list.forEach(function (p) {
      var href = "view.html#image=" + encodeURIComponent(p.image) + "&a=" + p.x.id + "&b=" +
        (p.y ? p.y.id : encodeURIComponent($("#pair-y").value));
      var tr = make("tr", {"data-ratio": String(p.ratio), "data-href": href});
      var cell = function (t) { tr.appendChild(make("td", {}, t)); };
      var a = make("a", {href: href}, p.image);
      var td = make("td");
      td.appendChild(a);
      tr.appendChild(td);
      cell(p.x.bpp.toFixed(4));
      cell(p.ybpp.toFixed(4) + (p.y ? "" : " (interpolated)"));
      cell(p.ratio.toFixed(3));
      var xm = p.x.values[column], ym = p.y ? p.y.values[column] : null;
      cell(typeof xm === "number" ? xm.toFixed(4) : "\u2013");
      cell(typeof ym === "number" ? ym.toFixed(4) : p.y ? "\u2013" : "= X");
      tr.addEventListener("click", function (e) { if (e.target.tagName !== "A") location.href = href; });
      table.appendChild(tr);
    });
    var hash = "x=" + encodeURIComponent($("#pair-x").value) + "&y=" + encodeURIComponent($("#pair-y").value) +
      "&by=" + $("#pair-by").value + "&metric=" + encodeURIComponent(column);
    history.replaceState(null, "", "#" + hash);
    document.body.setAttribute("data-ready", "1");
  }

  function start() {
    $("#run-name").textContent = INDEX.run;
    var p = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      if (kv) p[decodeURIComponent(kv.split("=")[0])] = decodeURIComponent(kv.split("=").slice(1).join("="));
    });
    INDEX.codecs.forEach(function (c, i) {
      $("#pair-x").appendChild(make("option", {value: c.codec}, c.codec));
      $("#pair-y").appendChild(make("option", {value: c.codec}, c.codec));
    });
    INDEX.numbers.forEach(function (n) {
      if (n.better) $("#pair-metric").appendChild(make("option", {value: n.column}, n.label + (n.unit ? " [" + n.unit + "]" : "")));
    });
    var codecs = INDEX.codecs.map(function (c) { return c.codec; });
    $("#pair-x").value = codecs.indexOf(p.x) >= 0 ? p.x : codecs[0];
    $("#pair-y").value = codecs.indexOf(p.y) >= 0 ? p.y : codecs[1] || codecs[0];
    if (p.by) $("#pair-by").value = p.by;
    if (p.metric) $("#pair-metric").value = p.metric;
    ["#pair-x", "#pair-y", "#pair-by", "#pair-metric"].forEach(function (s) { $(s).addEventListener("change", render); });
    var left = INDEX.images.length;
    window.HARNESS_VIEWER_PAGES = window.HARNESS_VIEWER_PAGES || {};
    INDEX.images.forEach(function (im) {
      var script = make("script", {src: "data/images/" + encodeURIComponent(im.slug) + ".js"});
      script.onload = function () {
        pages[im.slug] = window.HARNESS_VIEWER_PAGES[im.slug];
        if (--left === 0) render();
      };
      document.head.appendChild(script);
    });
  }

  start();
})();
