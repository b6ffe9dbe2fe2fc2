/*
 * dom.js: the two DOM helpers the viewer's pages share (viewer.js, pairs.js). A classic script; it defines
 * one global, HarnessDom.
 *
 *   HarnessDom.$(selector, root)       // the first match under root (default: the document)
 *   HarnessDom.make(tag, attrs, text)  // a new element with those attributes and, if given, that text
 */
(function (global) {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  global.HarnessDom = {$: $, make: make};
})(window);
