/*
 * compare.js: a two-sided image comparison component (slider, flip, side by side) with synchronised
 * zoom and pan, nearest-neighbour magnification and an amplified difference heat map.
 *
 * A classic script (not an ES module, so that it also runs from file://): it defines one global,
 * HarnessCompare. Pair it with compare.css. No dependencies.
 *
 *   const view = HarnessCompare.mount(element, {
 *     a: "a.png", b: "b.png", original: "original.png",   // image URLs, all the same size
 *     diffA: "a.diff.png", diffB: "b.diff.png",           // optional: |error| maps (grey, 0..255)
 *     mapsA: {invented: "a.invented.png", lost: ...}, mapsB: {...}, // optional: coloured detail maps
 *     width: 768, height: 512,                            // optional: read from the images otherwise
 *     labels: {a: "vvc 0.30 bpp", b: "jpeg 0.31 bpp", original: "original"},
 *     mode: "slider",          // "slider" | "flip" | "side"
 *     zoom: "fit",             // "fit" | 1 | 2 | 4 | 8
 *     center: {x: 384, y: 256},// image pixel at the centre of the view (default: the image centre)
 *     split: 0.5,              // slider position, fraction of the view's width (A left, B right)
 *     flip: "a",               // which side flip mode shows: "a" | "b"
 *     original: false,         // state key "showOriginal": every pane shows the original
 *     diff: false, gain: 4,    // show the difference maps, amplified gain times
 *     map: null,               // "invented" | "lost": show that detail map of each side instead
 *     tags: true,              // corner labels; false hides them (e.g. a blind study)
 *     keys: true,              // listen to the keyboard (see KEYS); false for embedding several
 *     onChange: (state) => {}, // called after every change of the view state
 *   });
 *   view.set({mode: "flip", zoom: 2, center: {x: 100, y: 80}, a: "other.png"});
 *   view.state();    // {mode, zoom, center, split, flip, showOriginal, diff, gain, scale}
 *   view.destroy();
 *
 * Geometry (display.js, loaded first, holds the rule): zoom z is an integer number of DEVICE pixels per
 * image pixel, at any devicePixelRatio; image pixel (x, y) covers the device pixels
 * [left + x*z, left + (x+1)*z) with left = round(paneCentre - center.x*z) in device pixels, likewise for y;
 * images are drawn with image-rendering: pixelated. "fit" is the largest integer zoom that fits; an image
 * larger than the view is area-filtered down (when the page may read its pixels; the browser's filter
 * otherwise) and tagged "scaled 0.47x, press 1 for pixels".
 * Touch: drag pans (or moves the slider from its handle), pinch and double-tap zoom, press and hold shows
 * the original.
 *
 * Keys (when keys is true): s slider, f flip, x side by side; space toggles A/B (flip mode), a / b show
 * A / B, o shows the original (press again to go back); 0 fit, 1 2 4 8 zoom, + / - zoom in and out;
 * arrows pan (shift: faster); [ and ] move the slider; d difference maps, g / G gain up and down.
 * Mouse: drag to pan, wheel to zoom at the pointer, drag the slider's handle (or click) to move it.
 */
(function (global) {
  "use strict";

  var ZOOMS = ["fit", 1, 2, 4, 8];
  var MODES = ["slider", "flip", "side"];
  var GAINS = [1, 2, 4, 8, 16, 32];
  var MAPS = ["invented", "lost"];
  var KEYS = {
    s: "slider mode", f: "flip mode", x: "side by side",
    " ": "flip between A and B", a: "show A", b: "show B", o: "show the original",
    "0": "fit", "1": "1:1", "2": "2x", "4": "4x", "8": "8x", "+": "zoom in", "-": "zoom out",
    arrows: "pan", "[": "slider left", "]": "slider right", d: "difference maps", g: "gain up", G: "gain down",
    m: "detail maps: invented, lost, off",
  };
  // An approximation of matplotlib's "inferno" (perceptually uniform, dark = no error).
  var INFERNO = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21],
                 [250, 193, 39], [252, 255, 164]];
  var counter = 0;

  function heatTable(gain, channel) {
    var values = [];
    for (var k = 0; k < 256; k++) {
      var v = Math.min(1, (gain * k) / 255) * (INFERNO.length - 1);
      var i = Math.min(INFERNO.length - 2, Math.floor(v));
      var t = v - i;
      values.push(((INFERNO[i][channel] * (1 - t) + INFERNO[i + 1][channel] * t) / 255).toFixed(5));
    }
    return values.join(" ");
  }

  function el(tag, cls, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  }

  function normZoom(z) {
    if (z === "fit" || z === undefined || z === null) return "fit";
    var n = Number(z);
    return ZOOMS.indexOf(n) >= 0 ? n : "fit";
  }

  function mount(element, options) {
    var opts = Object.assign({}, options || {});
    var id = "hc" + (++counter);
    var state = {
      mode: MODES.indexOf(opts.mode) >= 0 ? opts.mode : "slider",
      zoom: normZoom(opts.zoom),
      center: opts.center ? {x: Number(opts.center.x), y: Number(opts.center.y)} : null,
      split: opts.split === undefined ? 0.5 : Math.min(1, Math.max(0, Number(opts.split))),
      flip: opts.flip === "b" ? "b" : "a",
      showOriginal: !!opts.showOriginal,
      diff: !!opts.diff,
      gain: GAINS.indexOf(Number(opts.gain)) >= 0 ? Number(opts.gain) : 4,
      map: MAPS.indexOf(opts.map) >= 0 ? opts.map : null,
    };
    var urls = {a: opts.a, b: opts.b, original: opts.original, diffA: opts.diffA, diffB: opts.diffB,
                mapsA: opts.mapsA || {}, mapsB: opts.mapsB || {}};
    var labels = Object.assign({a: "A", b: "B", original: "original"}, opts.labels || {});
    var size = {w: Number(opts.width) || 0, h: Number(opts.height) || 0};

    element.classList.add("hc-root");
    element.classList.toggle("hc-no-tags", opts.tags === false);
    element.setAttribute("tabindex", element.getAttribute("tabindex") || "0");
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "hc-defs");
    svg.setAttribute("aria-hidden", "true");
    svg.innerHTML = '<filter id="' + id + '-heat" color-interpolation-filters="sRGB"><feComponentTransfer>' +
      '<feFuncR type="table"/><feFuncG type="table"/><feFuncB type="table"/></feComponentTransfer></filter>';
    element.appendChild(svg);
    var panes = [el("div", "hc-pane hc-pane-1", element), el("div", "hc-pane hc-pane-2", element)];
    // Pane 1 holds A and B (slider, flip); pane 2 holds B beside it (side by side). Each image element
    // keeps one URL: switching what is shown is a visibility change, never a reload.
    var layers = {
      a: el("img", "hc-img hc-a", panes[0]),
      b: el("img", "hc-img hc-b", panes[0]),
      b2: el("img", "hc-img hc-b", panes[1]),
      o1: el("img", "hc-img hc-o", panes[0]),
      o2: el("img", "hc-img hc-o", panes[1]),
    };
    Object.keys(layers).forEach(function (k) {
      layers[k].alt = k;
      layers[k].draggable = false;
      layers[k].decoding = "async";
    });
    var handle = el("div", "hc-handle", panes[0]);
    var scaleTag = el("div", "hc-scale", element);
    var D = global.HarnessDisplay;
    var tags = {
      left: el("div", "hc-tag hc-tag-left", panes[0]),
      right: el("div", "hc-tag hc-tag-right", panes[0]),
      pane2: el("div", "hc-tag hc-tag-left", panes[1]),
    };

    function want(layer, url) {
      // Only images that are shown are requested: nothing else is downloaded. data-url: the image the
      // layer shows (its src is an area-filtered copy of it while the view is scaled down).
      if (!url) { layer.removeAttribute("src"); layer.removeAttribute("data-url"); return; }
      if (layer.getAttribute("data-url") === url) return;
      layer.setAttribute("data-url", url);
      layer.classList.remove("hc-filtered");  // until its area-filtered copy is there
      layer.setAttribute("src", url);
    }

    function downscale(layer, drawn) {
      var url = layer.getAttribute("data-url");
      if (!url) return;
      var wantSrc = url;
      if (drawn.zoom === null) {
        D.downscaled(url, drawn.width, drawn.height, function (small) {
          if (layer.getAttribute("data-url") !== url) return;
          var now = current();
          if (now.zoom === null && now.width === drawn.width && small) {
            if (layer.getAttribute("src") !== small) layer.setAttribute("src", small);
            layer.classList.add("hc-filtered");
          }
        });
        return;
      }
      layer.classList.remove("hc-filtered");
      if (layer.getAttribute("src") !== wantSrc) layer.setAttribute("src", wantSrc);
    }

    function sourceOf(side) {
      if (side === "o") return urls.original;
      if (state.map) return (side === "a" ? urls.mapsA : urls.mapsB)[state.map] || null;
      if (state.diff) return side === "a" ? urls.diffA : urls.diffB;
      return urls[side];
    }

    function paneSize() {
      var r = panes[0].getBoundingClientRect();
      return {w: r.width, h: r.height};
    }

    function current() {
      // What is drawn: {zoom: k or null (scaled down), scale: device px per image px, width, height}.
      var p = paneSize();
      return D.scaleOf(state.zoom, size.w, size.h, p.w, p.h, D.ratio());
    }

    function scale() { return current().scale; }

    function center() {
      if (state.zoom === "fit" || !state.center) return {x: size.w / 2, y: size.h / 2};
      return clampCenter(state.center);
    }

    function clampCenter(c) {
      return {x: Math.min(size.w, Math.max(0, c.x)), y: Math.min(size.h, Math.max(0, c.y))};
    }

    function origin(pane) {
      // CSS position of the image in a pane; s: CSS pixels per image pixel. Edges on whole device pixels.
      var r = (pane || panes[0]).getBoundingClientRect(), d = current(), dpr = D.ratio();
      var at = D.place(r, size.w, size.h, d, center(), dpr);
      return {left: at.left, top: at.top, width: at.width, height: at.height, s: d.scale / dpr, w: r.width,
              h: r.height, drawn: d};
    }

    function snapRoot() {
      // The panes start on whole device pixels (on the layout grid of display.js), whatever the page
      // above them: browsers may round a child's paint offset against a parent at a fraction.
      var r = element.getBoundingClientRect(), dpr = D.ratio(), grid = D.grid(dpr);
      var pad = function (v) { return Math.max(0, Math.ceil(v * dpr / grid - 1e-6) * grid / dpr - v); };
      var top = pad(r.top) + "px", left = pad(r.left) + "px";
      if (element.style.paddingTop !== top) element.style.paddingTop = top;
      if (element.style.paddingLeft !== left) element.style.paddingLeft = left;
    }

    function layout() {
      snapRoot();
      var g = origin(), g2 = origin(panes[1]);
      Object.keys(layers).forEach(function (k) {
        var img = layers[k], o = img.parentNode === panes[1] ? g2 : g;
        img.style.left = o.left + "px";
        img.style.top = o.top + "px";
        img.style.width = o.width + "px";
        img.style.height = o.height + "px";
        if (img.style.display !== "none") downscale(img, g.drawn);
      });
      // Pixelated always: at integer zooms nearest neighbour, scaled down the area-filtered copy is drawn
      // 1:1 (while it is made, or where the page may not read pixels, the browser's own filter).
      element.classList.toggle("hc-pixelated", g.drawn.zoom !== null);
      var text = D.tag(g.drawn.scale);
      scaleTag.textContent = text;
      element.setAttribute("data-scale", String(g.drawn.scale));
      element.setAttribute("data-zoom", g.drawn.zoom === null ? "scaled" : String(g.drawn.zoom));
      var x = Math.round(state.split * g.w);
      layers.b.style.clipPath = state.mode === "slider" ? "inset(0 0 0 " + (x - g.left) + "px)" : "none";
      handle.style.left = x + "px";
    }

    function render() {
      MODES.forEach(function (m) { element.classList.toggle("hc-mode-" + m, state.mode === m); });
      element.classList.toggle("hc-diff", state.diff);
      element.classList.toggle("hc-original", state.showOriginal);
      var filter = state.diff && !state.map ? "url(#" + id + "-heat)" : "none";
      element.setAttribute("data-map", state.map || (state.diff ? "difference" : ""));
      var show = {a: false, b: false, b2: false, o1: state.showOriginal, o2: state.showOriginal && state.mode === "side"};
      if (!state.showOriginal) {
        if (state.mode === "slider") { show.a = true; show.b = true; }
        if (state.mode === "flip") { show[state.flip] = true; }
        if (state.mode === "side") { show.a = true; show.b2 = true; }
      }
      // Flip mode also fetches the side it does not show, so that the first flip is instant.
      var preload = {a: state.mode === "flip" && !state.showOriginal, b: state.mode === "flip" && !state.showOriginal};
      Object.keys(layers).forEach(function (k) {
        var side = k.charAt(0), url = sourceOf(side);
        layers[k].style.display = show[k] ? "block" : "none";
        layers[k].style.visibility = url ? "visible" : "hidden";  // the original has no difference map
        if (show[k] || preload[k]) want(layers[k], url);
        layers[k].style.filter = side === "o" ? "none" : filter;
      });
      ["R", "G", "B"].forEach(function (c, i) {
        svg.querySelector("feFunc" + c).setAttribute("tableValues", heatTable(state.gain, i));
      });
      var suffix = state.map ? " (" + state.map + " detail)" : state.diff ? " (difference x" + state.gain + ")" : "";
      if (state.showOriginal) {
        tags.left.textContent = labels.original; tags.right.textContent = ""; tags.pane2.textContent = labels.original;
      } else if (state.mode === "flip") {
        tags.left.textContent = (state.flip === "a" ? "A: " + labels.a : "B: " + labels.b) + suffix;
        tags.right.textContent = "";
      } else {
        tags.left.textContent = "A: " + labels.a + suffix;
        tags.right.textContent = state.mode === "slider" ? "B: " + labels.b + suffix : "";
        tags.pane2.textContent = "B: " + labels.b + suffix;
      }
      element.setAttribute("data-shown", state.showOriginal ? "original" : state.mode === "flip" ? state.flip : "a,b");
      layout();
    }

    function snapshot() {
      // scale: device pixels per image pixel; cssScale: CSS pixels per image pixel (for panning by pointer).
      var d = current();
      return {mode: state.mode, zoom: state.zoom, center: center(), split: state.split, flip: state.flip,
              showOriginal: state.showOriginal, diff: state.diff, gain: state.gain, map: state.map, scale: d.scale,
              cssScale: d.scale / D.ratio(), drawn: d.zoom === null ? "scaled" : d.zoom};
    }

    function changed() {
      render();
      if (typeof opts.onChange === "function") opts.onChange(snapshot());
    }

    function set(update) {
      update = update || {};
      ["a", "b", "original", "diffA", "diffB", "mapsA", "mapsB"].forEach(function (k) { if (k in update) urls[k] = update[k] || (k.indexOf("maps") === 0 ? {} : update[k]); });
      if ("map" in update) state.map = MAPS.indexOf(update.map) >= 0 ? update.map : null;
      if (update.labels) Object.assign(labels, update.labels);
      if (update.width) size.w = Number(update.width);
      if (update.height) size.h = Number(update.height);
      if (update.mode && MODES.indexOf(update.mode) >= 0) state.mode = update.mode;
      if ("zoom" in update) {
        var before = center();
        state.zoom = normZoom(update.zoom);
        if (state.zoom !== "fit" && !state.center) state.center = before;
      }
      if (update.center) state.center = clampCenter({x: Number(update.center.x), y: Number(update.center.y)});
      if ("split" in update) state.split = Math.min(1, Math.max(0, Number(update.split)));
      if (update.flip === "a" || update.flip === "b") state.flip = update.flip;
      if ("showOriginal" in update) state.showOriginal = !!update.showOriginal;
      if ("diff" in update) state.diff = !!update.diff;
      if ("gain" in update && GAINS.indexOf(Number(update.gain)) >= 0) state.gain = Number(update.gain);
      changed();
    }

    function zoomStep(direction, at) {
      var i = ZOOMS.indexOf(state.zoom);
      var s0 = scale();
      var j = i + direction;
      // Leaving "fit", go to the first fixed zoom above the fit scale.
      if (state.zoom === "fit" && direction > 0) { j = 1; while (j < ZOOMS.length - 1 && ZOOMS[j] <= s0) j++; }
      j = Math.max(0, Math.min(ZOOMS.length - 1, j));
      var z = ZOOMS[j];
      if (z === state.zoom) return;
      if (at && z !== "fit") {
        // Keep the image point under the pointer where it is.
        var g = origin(), dpr = D.ratio();
        var p = {x: (at.x - g.left) * dpr / s0, y: (at.y - g.top) * dpr / s0};
        var c = center();
        state.center = clampCenter({x: p.x + (c.x - p.x) * s0 / z, y: p.y + (c.y - p.y) * s0 / z});
      } else if (z !== "fit" && !state.center) {
        state.center = center();
      }
      state.zoom = z;
      changed();
    }

    function pan(dx, dy) {
      // dx, dy in screen pixels
      if (state.zoom === "fit") return;
      var s = scale() / D.ratio(), c = center();
      state.center = clampCenter({x: c.x - dx / s, y: c.y - dy / s});
      changed();
    }

    function onKey(event) {
      var t = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
      var k = event.key, step = event.shiftKey ? 200 : 40, handled = true;
      if (k === "s") set({mode: "slider", showOriginal: false});
      else if (k === "f") set({mode: "flip", showOriginal: false});
      else if (k === "x") set({mode: "side", showOriginal: false});
      else if (k === " ") set({flip: state.flip === "a" ? "b" : "a", showOriginal: false, mode: state.mode === "side" ? "side" : "flip"});
      else if (k === "a" || k === "b") set({flip: k, mode: "flip", showOriginal: false});
      else if (k === "o") set({showOriginal: !state.showOriginal});
      else if (k === "0") set({zoom: "fit"});
      else if (k === "1" || k === "2" || k === "4" || k === "8") set({zoom: Number(k)});
      else if (k === "+" || k === "=") zoomStep(1);
      else if (k === "-" || k === "_") zoomStep(-1);
      else if (k === "ArrowLeft") pan(step, 0);
      else if (k === "ArrowRight") pan(-step, 0);
      else if (k === "ArrowUp") pan(0, step);
      else if (k === "ArrowDown") pan(0, -step);
      else if (k === "[") set({split: state.split - 0.05});
      else if (k === "]") set({split: state.split + 0.05});
      else if (k === "d") set({diff: !state.diff, map: null});
      else if (k === "m") set({map: MAPS[MAPS.indexOf(state.map) + 1] || null});
      else if (k === "g") set({gain: GAINS[Math.min(GAINS.length - 1, GAINS.indexOf(state.gain) + 1)]});
      else if (k === "G") set({gain: GAINS[Math.max(0, GAINS.indexOf(state.gain) - 1)]});
      else handled = false;
      if (handled) event.preventDefault();
    }

    var drag = null, touches = {}, pinch = null, lastTap = null, hold = null;
    function local(event, pane) {
      var r = (pane || panes[0]).getBoundingClientRect();
      return {x: event.clientX - r.left, y: event.clientY - r.top};
    }
    function nearHandle(event) {
      // Touch: a drag that starts within a finger's width of the slider's line moves the slider.
      if (state.mode !== "slider" || state.showOriginal || event.currentTarget !== panes[0]) return false;
      return Math.abs(local(event).x - state.split * paneSize().w) <= (event.pointerType === "touch" ? 24 : 0);
    }
    function spread() {
      var ids = Object.keys(touches);
      var a = touches[ids[0]], b = touches[ids[1]];
      return {d: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2};
    }
    function endHold() {
      if (hold && hold.timer) clearTimeout(hold.timer);
      if (hold && hold.on) set({showOriginal: false});
      hold = null;
    }
    function onDown(event) {
      if (event.button !== 0) return;
      var pane = event.currentTarget;
      pane.setPointerCapture(event.pointerId);
      event.preventDefault();
      touches[event.pointerId] = {x: event.clientX, y: event.clientY};
      if (Object.keys(touches).length === 2) {
        // Two fingers: pinch zooms (one zoom step per 1.41x of finger spread), no pan, no hold.
        endHold();
        drag = null;
        pinch = spread();
        return;
      }
      drag = {x: event.clientX, y: event.clientY, moved: false, pane: pane, touch: event.pointerType === "touch",
              handle: event.target === handle || nearHandle(event)};
      if (drag.touch && !state.showOriginal) {
        // Press and hold: the original, until the finger lifts.
        hold = {timer: setTimeout(function () { if (hold) { hold.on = true; hold.timer = null; set({showOriginal: true}); } }, 450)};
      }
    }
    function onMove(event) {
      if (touches[event.pointerId]) touches[event.pointerId] = {x: event.clientX, y: event.clientY};
      if (pinch && Object.keys(touches).length >= 2) {
        var now = spread(), r = panes[0].getBoundingClientRect();
        if (now.d > pinch.d * Math.SQRT2 || now.d < pinch.d / Math.SQRT2) {
          zoomStep(now.d > pinch.d ? 1 : -1, {x: now.x - r.left, y: now.y - r.top});
          pinch = now;
        }
        return;
      }
      if (!drag) return;
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < (drag.touch ? 8 : 3)) return;
      drag.moved = true;
      if (hold && !hold.on) endHold();
      if (drag.handle) {
        set({split: local(event).x / paneSize().w});
      } else {
        drag.x = event.clientX; drag.y = event.clientY;
        pan(dx, dy);
      }
    }
    function onUp(event) {
      delete touches[event.pointerId];
      if (pinch) { if (!Object.keys(touches).length) pinch = null; drag = null; return; }
      var held = hold && hold.on;
      endHold();
      // The slider ends where the finger or pointer lifts, also when the browser coalesced its last move away.
      if (drag && drag.moved && drag.handle && event.type === "pointerup") set({split: local(event).x / paneSize().w});
      if (drag && !drag.moved && !held) {
        if (drag.touch) {
          // Double tap: zoom in one step at the finger (from the largest zoom: back to fit).
          var at = local(event, drag.pane), t = Date.now();
          if (lastTap && t - lastTap.t < 350 && Math.abs(at.x - lastTap.x) + Math.abs(at.y - lastTap.y) < 30) {
            if (state.zoom === ZOOMS[ZOOMS.length - 1]) set({zoom: "fit"}); else zoomStep(1, at);
            lastTap = null;
          } else {
            lastTap = {t: t, x: at.x, y: at.y};
          }
        } else if (state.mode === "slider" && drag.pane === panes[0]) {
          set({split: local(event).x / paneSize().w});
        }
      }
      drag = null;
    }
    function onWheel(event) {
      event.preventDefault();
      zoomStep(event.deltaY < 0 ? 1 : -1, local(event, event.currentTarget));
    }
    function onLoad(event) {
      if (!size.w && event.target.naturalWidth) {
        size.w = event.target.naturalWidth; size.h = event.target.naturalHeight;
        changed();
      }
    }

    panes.forEach(function (pane) {
      pane.addEventListener("pointerdown", onDown);
      pane.addEventListener("pointermove", onMove);
      pane.addEventListener("pointerup", onUp);
      pane.addEventListener("pointercancel", onUp);
      pane.addEventListener("wheel", onWheel, {passive: false});
    });
    Object.keys(layers).forEach(function (k) { layers[k].addEventListener("load", onLoad); });
    if (opts.keys !== false) document.addEventListener("keydown", onKey);
    var resize = typeof ResizeObserver === "function" ? new ResizeObserver(function () { layout(); }) : null;
    if (resize) resize.observe(panes[0]);
    render();

    return {
      set: set,
      state: snapshot,
      zoomIn: function () { zoomStep(1); },
      zoomOut: function () { zoomStep(-1); },
      destroy: function () {
        if (opts.keys !== false) document.removeEventListener("keydown", onKey);
        if (resize) resize.disconnect();
        element.innerHTML = "";
        element.classList.remove("hc-root");
      },
    };
  }

  global.HarnessCompare = {mount: mount, ZOOMS: ZOOMS, MODES: MODES, GAINS: GAINS, MAPS: MAPS, KEYS: KEYS,
                           heatTable: heatTable, INFERNO: INFERNO};
})(typeof window !== "undefined" ? window : this);
