/*
 * display.js: pixels as they are. The display rule shared by the viewer (compare.js) and the pairwise study.
 *
 * A classic script (runs from file://); it defines one global, HarnessDisplay. No dependencies.
 *
 * The rule: magnification counts DEVICE pixels. Zoom k (an integer: 1, 2, 4, 8) draws each image pixel as
 * k x k device pixels, nearest neighbour, at any devicePixelRatio (1:1 on a 2x screen is one image pixel per
 * device pixel, not per CSS pixel). "fit" is the largest integer zoom at which the image fits the view;
 * an image larger than the view at 1:1 is downsampled with an area filter (each output pixel is the mean of
 * the input area it covers) and the view says so ("scaled 0.47x, press 1 for pixels"). A non-integer
 * upscale never happens.
 *
 *   HarnessDisplay.ratio()                          // window.devicePixelRatio (1 when absent)
 *   HarnessDisplay.fit(w, h, viewW, viewH, dpr)     // {zoom: k or null, scale: device px per image px,
 *                                                   //  width, height: drawn size in device px}
 *   HarnessDisplay.scaleOf(zoom, w, h, viewW, viewH, dpr) // the same for zoom "fit" | k
 *   HarnessDisplay.place(paneRect, w, h, scale, center, dpr)
 *       // CSS {left, top, width, height} of the image inside the pane (paneRect: its client rect), with
 *       // image pixel `center` at the pane's centre and every edge on a whole device pixel
 *   HarnessDisplay.tag(scale)                       // "scaled 0.47x, press 1 for pixels" below 1, else ""
 *   HarnessDisplay.areaDownscale(image, outW, outH) // a canvas of the area-filtered image, or null when the
 *                                                   // browser does not let the page read its pixels (file://)
 *   HarnessDisplay.downscaled(url, outW, outH, done) // the same for an image URL, as an object URL (or null),
 *                                                   // cached per size
 */
(function (global) {
  "use strict";

  function ratio() { return (global && global.devicePixelRatio) || 1; }

  function fit(w, h, viewW, viewH, dpr) {
    var dw = Math.floor(viewW * dpr + 1e-6), dh = Math.floor(viewH * dpr + 1e-6);
    if (!w || !h || dw <= 0 || dh <= 0) return {zoom: 1, scale: 1, width: w, height: h};
    var k = Math.floor(Math.min(dw / w, dh / h));
    if (k >= 1) return {zoom: k, scale: k, width: w * k, height: h * k};
    var s = Math.min(dw / w, dh / h);
    var width = Math.max(1, Math.min(dw, Math.round(w * s))), height = Math.max(1, Math.min(dh, Math.round(h * s)));
    return {zoom: null, scale: Math.min(width / w, height / h), width: width, height: height};
  }

  function scaleOf(zoom, w, h, viewW, viewH, dpr) {
    if (zoom === "fit") return fit(w, h, viewW, viewH, dpr);
    var k = Math.max(1, Math.round(Number(zoom)));
    return {zoom: k, scale: k, width: w * k, height: h * k};
  }

  function grid(dpr) {
    // The smallest whole number of device pixels that is a whole number of CSS pixels (else of 1/64 CSS
    // pixel, the unit of browser layout): image edges are put on multiples of it, so that no layout or
    // paint rounding moves the image by a device pixel (1 at ratio 1, 2 at 2, 3 at 1.5).
    for (var pass = 0; pass < 2; pass++) {
      for (var g = 1; g <= 64; g++) {
        var css = g * (pass ? 64 : 1) / dpr;
        if (Math.abs(css - Math.round(css)) < 1e-6) return g;
      }
    }
    return 1;
  }

  function place(rect, w, h, drawn, center, dpr) {
    // drawn: {scale, width, height} (fit's answer); center: the image pixel at the pane's centre.
    var s = drawn.scale, g = grid(dpr);
    var left = g * Math.round(((rect.left + rect.width / 2) * dpr - center.x * s) / g);
    var top = g * Math.round(((rect.top + rect.height / 2) * dpr - center.y * s) / g);
    return {left: left / dpr - rect.left, top: top / dpr - rect.top, width: drawn.width / dpr, height: drawn.height / dpr};
  }

  function tag(scale) {
    if (!(scale < 1)) return "";
    return "scaled " + (Math.floor(scale * 100) / 100).toFixed(2) + "x, press 1 for pixels";
  }

  // Weights of a 1-D area filter: for each output index, [first input index, weights...] summing to 1.
  function areaWeights(n, m) {
    var out = [], step = n / m;
    for (var i = 0; i < m; i++) {
      var a = i * step, b = (i + 1) * step, first = Math.floor(a), ws = [];
      for (var j = first; j < Math.min(n, Math.ceil(b - 1e-9)); j++) {
        ws.push((Math.min(b, j + 1) - Math.max(a, j)) / step);
      }
      out.push({first: first, w: ws});
    }
    return out;
  }

  function areaDownscale(image, outW, outH) {
    var w = image.naturalWidth || image.width, h = image.naturalHeight || image.height;
    var source = document.createElement("canvas");
    source.width = w; source.height = h;
    var sctx = source.getContext("2d");
    sctx.drawImage(image, 0, 0);
    var data;
    try { data = sctx.getImageData(0, 0, w, h).data; } catch (e) { return null; }  // pixels not readable
    var wx = areaWeights(w, outW), wy = areaWeights(h, outH);
    var rows = new Float32Array(h * outW * 3);  // horizontal pass
    for (var y = 0; y < h; y++) {
      for (var x = 0; x < outW; x++) {
        var f = wx[x], r = 0, g = 0, b = 0;
        for (var t = 0; t < f.w.length; t++) {
          var p = (y * w + f.first + t) * 4, q = f.w[t];
          r += data[p] * q; g += data[p + 1] * q; b += data[p + 2] * q;
        }
        var o = (y * outW + x) * 3;
        rows[o] = r; rows[o + 1] = g; rows[o + 2] = b;
      }
    }
    var target = document.createElement("canvas");
    target.width = outW; target.height = outH;
    var tctx = target.getContext("2d"), result = tctx.createImageData(outW, outH), px = result.data;
    for (var oy = 0; oy < outH; oy++) {
      var fy = wy[oy];
      for (var ox = 0; ox < outW; ox++) {
        var rr = 0, gg = 0, bb = 0;
        for (var u = 0; u < fy.w.length; u++) {
          var k = ((fy.first + u) * outW + ox) * 3, v = fy.w[u];
          rr += rows[k] * v; gg += rows[k + 1] * v; bb += rows[k + 2] * v;
        }
        var d = (oy * outW + ox) * 4;
        px[d] = Math.round(rr); px[d + 1] = Math.round(gg); px[d + 2] = Math.round(bb); px[d + 3] = 255;
      }
    }
    tctx.putImageData(result, 0, 0);
    return target;
  }

  var cache = {};  // url + size -> object URL of its area-filtered version, or "" when not readable
  function downscaled(url, outW, outH, done) {
    var key = url + "@" + outW + "x" + outH;
    if (key in cache) { done(cache[key] || null); return; }
    var image = new Image();
    image.onload = function () {
      var canvas = areaDownscale(image, outW, outH);
      if (!canvas) { cache[key] = ""; done(null); return; }
      canvas.toBlob(function (blob) {
        cache[key] = blob ? URL.createObjectURL(blob) : "";
        done(cache[key] || null);
      }, "image/png");
    };
    image.onerror = function () { cache[key] = ""; done(null); };
    image.src = url;
  }

  global.HarnessDisplay = {ratio: ratio, grid: grid, fit: fit, scaleOf: scaleOf, place: place, tag: tag,
                           areaWeights: areaWeights, areaDownscale: areaDownscale, downscaled: downscaled};
})(typeof window !== "undefined" ? window : this);
