/*
 * viewer.js: the index page and the comparison page of a run's site (harness view). Data come from
 * data/index.js and data/images/<slug>.js, loaded with <script> so the site works from file://.
 *
 * The comparison page keeps its whole state in the address (#image=..&a=..&b=..&mode=..&zoom=..&x=..&y=..
 * &split=..&diff=..&gain=..&match=..): a side is "original", a row id, or a codec label (then the
 * point is rate-matched to the other side, or the codec's middle point).
 */
(function () {
  "use strict";

  var INDEX = window.HARNESS_VIEWER_INDEX;
  var PAGE_KEYS = {n: "next image", p: "previous image", ",": "A: lower point", ".": "A: higher point",
                   "<": "B: lower point", ">": "B: higher point", c: "RD chart (narrow windows)", "?": "this help"};

  var $ = HarnessDom.$, make = HarnessDom.make;

  function fmt(column, value) {
    if (value === null || value === undefined) return "\u2013";
    if (value === "inf") return "inf";
    if (value === "-inf") return "-inf";
    if (column === "file_bytes") return String(value);
    return Number(value).toFixed(4);
  }

  function pointText(point) { return typeof point === "number" ? String(Number(point.toPrecision(6))) : String(point); }

  function bppText(row) { return row && typeof row.bpp === "number" ? row.bpp.toFixed(4) + " bpp" : ""; }

  // --- index page ---------------------------------------------------------------------------------
  function renderIndex() {
    document.title = "Reconstructions: " + INDEX.run;
    $("#run-name").textContent = INDEX.run;
    var report = (window.HARNESS_VIEWER_LINKS || {}).report || INDEX.report;
    if (report) { var r = $("#report-link"); r.href = report; r.hidden = false; }
    var table = $("#codecs");
    var head = make("tr");
    ["codec", "rate", "images", "rows", "bpp range", ""].forEach(function (h) { head.appendChild(make("th", {}, h)); });
    table.appendChild(head);
    var other = function (codec) {
      if (INDEX.reference && INDEX.reference !== codec) return INDEX.reference;
      var next = INDEX.codecs.filter(function (c) { return c.codec !== codec; })[0];
      return next ? next.codec : "original";
    };
    INDEX.codecs.forEach(function (c) {
      var tr = make("tr", {"data-codec": c.codec});
      tr.appendChild(make("td", {}, c.codec));
      tr.appendChild(make("td", {}, c.rate_source || ""));
      tr.appendChild(make("td", {}, String(c.images)));
      tr.appendChild(make("td", {}, String(c.rows)));
      tr.appendChild(make("td", {}, c.bpp_min === null ? "" : c.bpp_min.toFixed(3) + " \u2013 " + c.bpp_max.toFixed(3)));
      var td = make("td");
      td.appendChild(make("a", {href: "view.html#a=" + encodeURIComponent(c.codec) + "&b=" + encodeURIComponent(other(c.codec))}, "compare"));
      tr.appendChild(td);
      table.appendChild(tr);
    });
    var cards = $("#images");
    INDEX.images.forEach(function (im) {
      var a = make("a", {"class": "card", href: "view.html#image=" + encodeURIComponent(im.image), "data-image": im.image});
      a.appendChild(make("img", {src: im.thumb, loading: "lazy", alt: im.image, width: 160}));
      a.appendChild(make("span", {"class": "name"}, im.image));
      a.appendChild(make("span", {"class": "meta"}, im.width + "\u00d7" + im.height + ", " + im.rows + " reconstructions"));
      cards.appendChild(a);
    });
    if (INDEX.not_shown.length) {
      $("#not-shown-section").hidden = false;
      $("#not-shown-summary").textContent = INDEX.not_shown.length + " rows not shown (no pixels)";
      INDEX.not_shown.forEach(function (line) { $("#not-shown").appendChild(make("li", {}, line)); });
    }
  }

  // --- comparison page ----------------------------------------------------------------------------
  var page = null;      // data of the current image
  var sides = {a: null, b: null};   // row objects, or "original"
  var view = null;      // the HarnessCompare instance
  var matchRate = true;
  var pending = null;   // view state to apply once the image data are there

  function params() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var kv = part.split("=");
      out[decodeURIComponent(kv[0])] = decodeURIComponent(kv.slice(1).join("=") || "");
    });
    return out;
  }

  function imageEntry(name) {
    for (var i = 0; i < INDEX.images.length; i++) if (INDEX.images[i].image === name) return INDEX.images[i];
    return null;
  }

  function loadPage(slug, done) {
    var pages = window.HARNESS_VIEWER_PAGES || {};
    if (pages[slug]) { done(pages[slug]); return; }
    var script = make("script", {src: "data/images/" + encodeURIComponent(slug) + ".js"});
    script.onload = function () { done(window.HARNESS_VIEWER_PAGES[slug]); };
    script.onerror = function () { document.body.classList.add("failed"); };
    document.head.appendChild(script);
  }

  function rowsOf(codec) {
    return page.rows.filter(function (r) { return r.codec === codec; });
  }
  function codecsHere() {
    var seen = [];
    INDEX.codecs.forEach(function (c) { if (rowsOf(c.codec).length) seen.push(c.codec); });
    return seen;
  }
  function middle(codec) {
    var rows = rowsOf(codec);
    return rows.length ? rows[Math.floor((rows.length - 1) / 2)] : null;
  }
  function closest(codec, bpp, exclude) {
    // Rate matching: the row of `codec` that a --match run searched to this bpp (or to the same target
    // as `exclude`), else the point closest in bpp on a log scale.
    var best = null, gap = Infinity, target = exclude && exclude !== "original" ? exclude.target_bpp : null;
    rowsOf(codec).forEach(function (r) {
      if (r === exclude || typeof r.bpp !== "number") return;
      var matched = r.target_bpp !== null && (r.target_bpp === bpp || r.target_bpp === target);
      var g = matched ? -1 : Math.abs(Math.log(r.bpp / bpp));
      if (g < gap) { gap = g; best = r; }
    });
    return best;
  }
  function resolve(spec, other) {
    if (!spec) return null;
    if (spec === "original") return "original";
    for (var i = 0; i < page.rows.length; i++) if (page.rows[i].id === spec) return page.rows[i];
    if (!rowsOf(spec).length) return null;
    if (other && other !== "original" && typeof other.bpp === "number") return closest(spec, other.bpp, other) || middle(spec);
    return middle(spec);
  }
  // --- honest comparisons: two rows count as at the same rate when a --match run paired them (one was
  // searched to the other's bpp, or both to the same target) or their bpp differ by at most the run's
  // rate tolerance; only then are their metrics coloured better / worse.
  function paired(x, y) {
    var t = function (r) { return r.target_bpp !== null && r.target_bpp !== undefined; };
    return (t(x) && (x.target_bpp === y.bpp || x.target_bpp === y.target_bpp)) || (t(y) && y.target_bpp === x.bpp);
  }
  function rateGap(x, y) {
    // x's bits relative to y's: 0.34 = 34% more bits.
    if (!x || !y || x === "original" || y === "original" || typeof x.bpp !== "number" || typeof y.bpp !== "number") return null;
    return x.bpp / y.bpp - 1;
  }
  function sameRate(x, y) {
    var g = rateGap(x, y);
    if (g === null) return false;
    var tol = typeof INDEX.tolerance === "number" ? INDEX.tolerance : 0.02;
    return paired(x, y) || Math.max(x.bpp, y.bpp) / Math.min(x.bpp, y.bpp) - 1 <= tol + 1e-12;
  }
  function gapText(g) {
    var pct = Math.round(g * 100);
    return (pct > 0 ? "+" : pct < 0 ? "\u2212" : "\u00b1") + Math.abs(pct) + "% bits";
  }
  function defaults() {
    // The first codec's middle point against the second codec at the same rate; when no point of the
    // first has a same-rate partner, the closest rates.
    var codecs = codecsHere();
    var first = INDEX.reference && codecs.indexOf(INDEX.reference) >= 0 ? INDEX.reference : codecs[0];
    if (!first) return {a: "original", b: "original"};
    var second = codecs.filter(function (c) { return c !== first; })[0];
    var mine = rowsOf(first), mid = Math.floor((mine.length - 1) / 2);
    if (!second) return {a: mine[mid], b: "original"};
    var order = mine.map(function (r, i) { return i; }).sort(function (i, j) { return Math.abs(i - mid) - Math.abs(j - mid); });
    for (var k = 0; k < order.length; k++) {
      var a = mine[order[k]], b = closest(second, a.bpp, a);
      if (b && sameRate(a, b)) return {a: a, b: b};
    }
    return {a: mine[mid], b: closest(second, mine[mid].bpp, mine[mid]) || "original"};
  }
  function sideCodec(side) { return side === "original" ? "original" : side.codec; }
  function sideId(side) { return side === "original" ? "original" : side.id; }
  function sideLabel(side) {
    if (side === "original") return "original";
    return side.codec + " " + bppText(side);
  }

  function fillSide(which) {
    var panel = $("#side-" + which), side = sides[which], other = sides[which === "a" ? "b" : "a"];
    var codecSelect = $(".codec-select", panel), rowSelect = $(".row-select", panel);
    codecSelect.innerHTML = "";
    codecSelect.appendChild(make("option", {value: "original"}, "original"));
    codecsHere().forEach(function (c) { codecSelect.appendChild(make("option", {value: c}, c)); });
    codecSelect.value = sideCodec(side);
    rowSelect.innerHTML = "";
    if (side === "original") {
      rowSelect.disabled = true;
    } else {
      rowSelect.disabled = false;
      rowsOf(side.codec).forEach(function (r) {
        var knob = r.knob && r.point !== null && r.rate_source !== "published" ? " (" + r.knob + " " + pointText(r.point) + ")" : "";
        rowSelect.appendChild(make("option", {value: r.id}, bppText(r) + knob));
      });
      rowSelect.value = side.id;
    }
    var table = $(".numbers", panel);
    table.innerHTML = "";
    function line(name, text, attrs) {
      var tr = make("tr", attrs || {});
      tr.appendChild(make("th", {}, name));
      tr.appendChild(make("td", {}, text));
      table.appendChild(tr);
      return tr;
    }
    if (side === "original") {
      line("image", page.image);
      line("size", page.width + "\u00d7" + page.height);
      panel.setAttribute("data-row", "original");
      return;
    }
    panel.setAttribute("data-row", side.id);
    var gap = rateGap(side, other), honest = sameRate(side, other);
    if (gap !== null) {
      line("rate vs " + (which === "a" ? "B" : "A"), gapText(gap) + (honest ? " (same rate)" : ""),
           {"data-column": "rate-gap", "class": honest ? "same-rate" : "rate-gap"});
    }
    function note(text) {
      var tr = make("tr", {"class": "note"});
      tr.appendChild(make("td", {colspan: "2"}, text));
      table.appendChild(tr);
    }
    if (side.codec_version) note(side.codec_version);
    if (side.rate_source === "published") note("rate: as published by the authors");
    else if (side.knob) line(side.knob, pointText(side.point), {"data-column": "point", title: String(side.point)});
    INDEX.numbers.forEach(function (n) {
      var value = side.values[n.column];
      if (value === null || value === undefined) return;
      var label = n.label + (n.unit ? " [" + n.unit + "]" : "") + (n.better === "higher" ? " \u2191" : n.better === "lower" ? " \u2193" : "");
      var tr = line(label, fmt(n.column, value), {"data-column": n.column, "data-value": JSON.stringify(value),
                                                  title: n.column + " = " + value});
      var theirs = other && other !== "original" && honest ? other.values[n.column] : null;
      if (n.better && typeof value === "number" && typeof theirs === "number" && value !== theirs) {
        tr.className = (n.better === "higher") === (value > theirs) ? "better" : "worse";
      }
    });
    Object.keys(side.metric_errors || {}).forEach(function (metric) {
      note(metric + " failed: " + side.metric_errors[metric]);
    });
  }

  function urls(side, kind) {
    if (side === "original") return kind === "diff" ? null : page.original;
    return kind === "diff" ? side.diff : side.file;
  }

  function writeHash(state) {
    if (!page) return;
    state = state || view.state();
    var p = ["image=" + encodeURIComponent(page.image), "a=" + encodeURIComponent(sideId(sides.a)),
             "b=" + encodeURIComponent(sideId(sides.b)), "mode=" + state.mode, "zoom=" + state.zoom];
    if (state.zoom !== "fit") p.push("x=" + Math.round(state.center.x), "y=" + Math.round(state.center.y));
    if (state.mode === "slider") p.push("split=" + state.split.toFixed(3));
    if (state.mode === "flip") p.push("flip=" + state.flip);
    if (state.showOriginal) p.push("original=1");
    if (state.diff) p.push("diff=1", "gain=" + state.gain);
    if (state.map) p.push("map=" + state.map);
    drawKey(state);
    $("#map-toggle").classList.toggle("on", !!state.map);
    $("#map-toggle").textContent = state.map ? state.map + " detail" : "detail";
    if (!matchRate) p.push("match=0");
    var hash = "#" + p.join("&");
    if (location.hash !== hash) history.replaceState(null, "", hash);
    document.querySelectorAll("#modes button").forEach(function (b) { b.classList.toggle("on", b.dataset.mode === state.mode); });
    document.querySelectorAll("#zooms button").forEach(function (b) { b.classList.toggle("on", b.dataset.zoom === String(state.zoom)); });
    var where = {slider: ["(left of the line)", "(right of the line)"], flip: ["(a, space flips)", "(b, space flips)"],
                 side: ["(left)", "(right)"]}[state.mode];
    $("#side-a .where").textContent = where[0];
    $("#side-b .where").textContent = where[1];
    $("#diff-toggle").classList.toggle("on", state.diff);
    $("#original-toggle").classList.toggle("on", state.showOriginal);
    $("#gain-select").value = String(state.gain);
  }

  function showGap() {
    // Always on screen: the pair's rate gap, and whether the metrics are coloured.
    var g = rateGap(sides.b, sides.a), box = $("#rate-gap");
    box.className = g === null ? "" : sameRate(sides.a, sides.b) ? "same-rate" : "rate-gap";
    if (g === null) { box.textContent = sides.a === "original" || sides.b === "original" ? "against the original" : ""; return; }
    box.textContent = sameRate(sides.a, sides.b) ? "same rate (B " + gapText(g) + ")"
      : "B " + gapText(g) + " vs A: rates differ, metrics not coloured";
  }

  // --- the colour key of the map shown (difference or detail): 256 levels, its numeric scale below.
  var MAP_TITLES = {invented: "invented detail: share of the reconstruction's local detail that is not the original's",
                    lost: "lost detail: share of the original's local detail that is gone"};
  function drawKey(state) {
    var key = $("#map-key"), colours = null, scale = [], title = "";
    if (state.map) {
      colours = INDEX.map_colours;
      scale = ["0", "0.25", "0.5", "0.75", "\u22651"];
      title = MAP_TITLES[state.map];
    } else if (state.diff) {
      var tables = [0, 1, 2].map(function (c) { return HarnessCompare.heatTable(state.gain, c).split(" ").map(Number); });
      colours = tables[0].map(function (r, k) { return [r * 255, tables[1][k] * 255, tables[2][k] * 255]; });
      var top = 255 / state.gain;
      scale = ["0", String(Math.round(top / 4)), String(Math.round(top / 2)), String(Math.round(3 * top / 4)),
               "\u2265" + Math.round(top)];
      title = "largest absolute RGB error against the original (levels of 255), amplified x" + state.gain;
    }
    key.hidden = !colours;
    if (!colours) return;
    key.title = title;
    $("#map-key-title").textContent = state.map ? state.map : "error";
    var canvas = $("#map-key-bar"), ctx = canvas.getContext("2d");
    colours.forEach(function (c, k) {
      ctx.fillStyle = "rgb(" + Math.round(c[0]) + "," + Math.round(c[1]) + "," + Math.round(c[2]) + ")";
      ctx.fillRect(k, 0, 1, canvas.height);
    });
    var box = $("#map-key-scale");
    box.innerHTML = "";
    scale.forEach(function (t) { box.appendChild(make("span", {}, t)); });
  }

  // --- the RD chart: this image's rows (or the run's mean curves), metric and axis chosen by the reader;
  // a click sets side A to the point's row, a shift-click side B.
  function metricOf(n) { return n.label + (n.unit ? " [" + n.unit + "]" : ""); }
  function rowText(r) {
    var parts = [r.codec + (r.knob && r.point !== null ? " " + r.knob + "=" + pointText(r.point) : "")];
    INDEX.numbers.forEach(function (n) {
      var v = r.values[n.column];
      if (typeof v === "number") parts.push(n.label + " " + fmt(n.column, v) + (n.unit ? " " + n.unit : ""));
    });
    return parts.join(", ");
  }
  function drawChart() {
    var panel = $("#chart-panel");
    if (!panel || !page || getComputedStyle(panel).display === "none") return;
    var column = $("#chart-metric").value, scope = $("#chart-scope").value;
    var n = INDEX.numbers.filter(function (x) { return x.column === column; })[0];
    var series = [];
    codecsHere().forEach(function (codec) {
      var points;
      if (scope === "mean") {
        points = (INDEX.mean_curves[codec] || []).map(function (p) {
          return {x: p.bpp, y: p.values[column], key: codec + "@" + p.point, point: p.point, codec: codec,
                  text: codec + " mean of " + p.images + " images: " + p.bpp.toFixed(4) + " bpp, " + n.label + " " +
                        (typeof p.values[column] === "number" ? fmt(column, p.values[column]) : "\u2013")};
        });
      } else {
        points = rowsOf(codec).map(function (r) {
          return {x: r.bpp, y: r.values[column], key: r.id, row: r, text: rowText(r)};
        });
      }
      series.push({name: codec, points: points.filter(function (p) { return typeof p.y === "number"; })});
    });
    var mark = function (side) {
      if (side === "original") return null;
      return scope === "mean" ? side.codec + "@" + side.point : side.id;
    };
    HarnessChart.draw($("#chart"), {
      series: series, log: $("#chart-log").checked, xLabel: "bpp", yLabel: metricOf(n),
      marks: {a: mark(sides.a), b: mark(sides.b)},
      onPick: function (p, s, shift) {
        var row = p.row || rowsOf(p.codec).filter(function (r) { return r.point === p.point; })[0];
        if (!row) return;
        if (shift) { matchRate = false; setSide("b", row); } else { setSide("a", row); }
      },
      onHover: function (p) { $("#chart-readout").textContent = p.text; },
    });
  }

  function show() {
    fillSide("a");
    fillSide("b");
    showGap();
    drawChart();
    $("#match-rate").checked = matchRate;
    document.title = page.image + ": " + sideLabel(sides.a) + " vs " + sideLabel(sides.b);
    var maps = function (side) { return INDEX.detail_maps && side !== "original" ? side.maps : {}; };
    var update = {a: urls(sides.a), b: urls(sides.b), original: page.original, diffA: urls(sides.a, "diff"),
                  diffB: urls(sides.b, "diff"), mapsA: maps(sides.a), mapsB: maps(sides.b), width: page.width, height: page.height,
                  labels: {a: sideLabel(sides.a), b: sideLabel(sides.b)}};
    if (pending) { Object.assign(update, pending); pending = null; }
    view.set(update);
  }

  function setSide(which, side) {
    sides[which] = side;
    if (which === "a" && matchRate && side !== "original" && sides.b !== "original") {
      sides.b = closest(sides.b.codec, side.bpp, side) || sides.b;
    }
    show();
  }

  function viewState(p) {
    // The component's state named in the address (what is absent stays as it is).
    var state = {};
    if (p.mode) state.mode = p.mode;
    if (p.zoom) state.zoom = p.zoom === "fit" ? "fit" : Number(p.zoom);
    if (p.x !== undefined && p.y !== undefined) state.center = {x: Number(p.x), y: Number(p.y)};
    if (p.split !== undefined) state.split = Number(p.split);
    if (p.flip) state.flip = p.flip;
    state.showOriginal = p.original === "1";
    state.diff = p.diff === "1";
    if (p.gain) state.gain = Number(p.gain);
    state.map = INDEX.detail_maps && p.map ? p.map : null;
    return state;
  }

  function openImage(name, p) {
    var entry = imageEntry(name) || INDEX.images[0];
    $("#image-select").value = entry.image;
    loadPage(entry.slug, function (data) {
      var previous = sides;
      page = data;
      matchRate = p.match !== "0";
      var d = defaults();
      var a = resolve(p.a, null) || (previous.a && previous.a !== "original" ? resolve(previous.a.codec, previous.a) : null) || d.a;
      var bSpec = p.b || (previous.b && previous.b !== "original" ? previous.b.codec : null);
      var b = resolve(bSpec, matchRate ? a : null) || d.b;
      if (b === a && b !== "original") b = d.b === a ? "original" : d.b;
      sides = {a: a, b: b};
      pending = viewState(p);
      show();
      document.body.setAttribute("data-ready", page.image);
    });
  }

  function stepImage(delta) {
    var i = INDEX.images.findIndex(function (im) { return im.image === page.image; });
    var next = INDEX.images[(i + delta + INDEX.images.length) % INDEX.images.length];
    openImage(next.image, {});
  }

  function stepRow(which, delta) {
    var side = sides[which];
    if (side === "original") return;
    var rows = rowsOf(side.codec), i = rows.indexOf(side) + delta;
    if (i < 0 || i >= rows.length) return;
    if (which === "b") matchRate = false;
    setSide(which, rows[i]);
  }

  function renderView() {
    $("#run-name").textContent = INDEX.run;
    var select = $("#image-select");
    INDEX.images.forEach(function (im) { select.appendChild(make("option", {value: im.image}, im.image)); });
    HarnessCompare.GAINS.forEach(function (g) { $("#gain-select").appendChild(make("option", {value: String(g)}, "x" + g)); });
    view = HarnessCompare.mount($("#compare"), {onChange: writeHash, keys: true});
    INDEX.numbers.forEach(function (n) {
      if (n.better) $("#chart-metric").appendChild(make("option", {value: n.column}, metricOf(n)));
    });
    ["#chart-metric", "#chart-scope", "#chart-log"].forEach(function (sel) { $(sel).addEventListener("change", drawChart); });
    window.addEventListener("resize", drawChart);
    select.addEventListener("change", function () { openImage(select.value, {}); });
    $("#prev-image").addEventListener("click", function () { stepImage(-1); });
    $("#next-image").addEventListener("click", function () { stepImage(1); });
    document.querySelectorAll("#modes button").forEach(function (b) {
      b.addEventListener("click", function () { view.set({mode: b.dataset.mode, showOriginal: false}); });
    });
    document.querySelectorAll("#zooms button").forEach(function (b) {
      b.addEventListener("click", function () { view.set({zoom: b.dataset.zoom}); });
    });
    $("#diff-toggle").addEventListener("click", function () { view.set({diff: !view.state().diff, map: null}); });
    var mapButton = $("#map-toggle");
    if (!INDEX.detail_maps) {
      mapButton.disabled = true;
      mapButton.title = "detail maps: build with `harness view RUN --detail-maps`, or serve with --serve";
    }
    mapButton.addEventListener("click", function () {
      var now = view.state().map;
      view.set({map: HarnessCompare.MAPS[HarnessCompare.MAPS.indexOf(now) + 1] || null});
    });
    $("#original-toggle").addEventListener("click", function () { view.set({showOriginal: !view.state().showOriginal}); });
    $("#gain-select").addEventListener("change", function () { view.set({gain: Number($("#gain-select").value), diff: true}); });
    ["a", "b"].forEach(function (which) {
      var panel = $("#side-" + which);
      $(".codec-select", panel).addEventListener("change", function (e) {
        var codec = e.target.value, other = sides[which === "a" ? "b" : "a"];
        var side = codec === "original" ? "original" : (other !== "original" ? closest(codec, other.bpp) : null) || middle(codec);
        if (which === "b" && side !== "original") matchRate = true;
        setSide(which, side);
      });
      $(".row-select", panel).addEventListener("change", function (e) {
        var row = page.rows.filter(function (r) { return r.id === e.target.value; })[0];
        if (which === "b") matchRate = false;
        setSide(which, row);
      });
    });
    $("#match-rate").addEventListener("change", function (e) {
      matchRate = e.target.checked;
      setSide("a", sides.a);
    });
    var help = $("#help"), keys = Object.assign({}, HarnessCompare.KEYS, PAGE_KEYS);
    Object.keys(keys).forEach(function (k) {
      var tr = make("tr");
      tr.appendChild(make("th", {}, k === " " ? "space" : k));
      tr.appendChild(make("td", {}, keys[k]));
      $("#help-keys").appendChild(tr);
    });
    $("#help-toggle").addEventListener("click", function () { help.hidden = !help.hidden; });
    document.addEventListener("keydown", function (event) {
      var t = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
      var handled = true;
      if (event.key === "n") stepImage(1);
      else if (event.key === "p") stepImage(-1);
      else if (event.key === ",") stepRow("a", -1);
      else if (event.key === ".") stepRow("a", 1);
      else if (event.key === "<") stepRow("b", -1);
      else if (event.key === ">") stepRow("b", 1);
      else if (event.key === "?") help.hidden = !help.hidden;
      else if (event.key === "c") { document.body.classList.toggle("chart-on"); drawChart(); }
      else if (event.key === "Escape") help.hidden = true;
      else handled = false;
      if (handled) event.preventDefault();
    });
    window.addEventListener("hashchange", function () {
      var p = params();
      if (page && p.image === page.image && sideId(sides.a) === p.a && sideId(sides.b) === p.b) {
        matchRate = p.match !== "0";
        view.set(viewState(p));  // same comparison, another view of it
        return;
      }
      openImage(p.image || page.image, p);
    });
    var p = params();
    var start = p.image;
    if (!start && p.a) {
      // A codec named without an image: the first image that has it.
      var hit = INDEX.images.filter(function (im) { return im.codecs.indexOf(p.a) >= 0; })[0];
      start = hit ? hit.image : null;
    }
    openImage(start || INDEX.images[0].image, p);
  }

  if (!INDEX) {
    document.body.textContent = "data/index.js is missing: run `harness view RUN` again.";
    return;
  }
  if (document.body.dataset.page === "index") {
    renderIndex();
    if (window.performance && performance.mark) performance.mark("harness-index-ready");
  }
  else renderView();
})();
