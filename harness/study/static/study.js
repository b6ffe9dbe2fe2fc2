// One blind comparison at a time: A and B shown in the same place (flip), the original on demand,
// 1:1 zoom (one image pixel per device pixel, never smoothed) and pan, response time measured from the
// moment all three images are decoded to the click.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  rater: null, trial: null, urls: {}, showing: "a", holdingOriginal: false, width: 0, height: 0,
  scale: 1, x: 0, y: 0, fit: false, shownAt: null, busy: false,
};
window.studyState = state; // read by the browser tests

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function oneToOne() { return 1 / (window.devicePixelRatio || 1); }

function render() {
  const img = $("stage");
  const side = state.holdingOriginal ? "original" : state.showing;
  if (state.urls[side] && img.dataset.side !== side) {
    img.src = state.urls[side];
    img.dataset.side = side;
  }
  img.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`;
  const badge = $("showing");
  badge.textContent = side === "original" ? "original" : side.toUpperCase();
  badge.classList.toggle("original", side === "original");
  $("zoom-label").textContent = state.fit ? "fit" : "1:1";
  $("zoom-btn").textContent = state.fit ? "1:1" : "Fit";
}

function clampPan() {
  const view = $("viewport").getBoundingClientRect();
  const w = state.width * state.scale, h = state.height * state.scale;
  state.x = w <= view.width ? (view.width - w) / 2 : Math.min(0, Math.max(view.width - w, state.x));
  state.y = h <= view.height ? (view.height - h) / 2 : Math.min(0, Math.max(view.height - h, state.y));
  // whole device pixels: a half-pixel offset would make the browser interpolate at 1:1
  const dpr = window.devicePixelRatio || 1;
  state.x = Math.round(state.x * dpr) / dpr;
  state.y = Math.round(state.y * dpr) / dpr;
}

function setZoom(fit, centre) {
  const view = $("viewport").getBoundingClientRect();
  const c = centre || { x: view.width / 2, y: view.height / 2 };
  // keep the image point under the centre where it is
  const ix = (c.x - state.x) / state.scale, iy = (c.y - state.y) / state.scale;
  state.fit = fit;
  state.scale = fit ? Math.min(view.width / state.width, view.height / state.height, oneToOne()) : oneToOne();
  state.x = c.x - ix * state.scale;
  state.y = c.y - iy * state.scale;
  clampPan();
  render();
}

function pan(dx, dy) { state.x += dx; state.y += dy; clampPan(); render(); }

async function loadBlob(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`image ${url}: ${response.status}`);
  const objectUrl = URL.createObjectURL(await response.blob());
  const probe = new Image();
  probe.src = objectUrl;
  await probe.decode();
  return objectUrl;
}

async function nextTrial() {
  state.busy = true;
  setVoting(false);
  $("status").textContent = "loading…";
  const t = await api(`/api/next?rater=${encodeURIComponent(state.rater)}`);
  for (const url of Object.values(state.urls)) URL.revokeObjectURL(url);
  const [a, b, original] = await Promise.all([loadBlob(t.a), loadBlob(t.b), loadBlob(t.original)]);
  Object.assign(state, { trial: t.trial, urls: { a, b, original }, width: t.width, height: t.height,
                         showing: "a", holdingOriginal: false });
  $("stage").dataset.side = "";
  $("vote-count").textContent = t.votes;
  // start at 1:1 on the image centre: fine detail is what these comparisons are about
  const view = $("viewport").getBoundingClientRect();
  state.scale = oneToOne(); state.fit = false;
  state.x = view.width / 2 - (t.width * state.scale) / 2;
  state.y = view.height / 2 - (t.height * state.scale) / 2;
  clampPan();
  render();
  state.shownAt = performance.now();
  state.busy = false;
  setVoting(true);
  $("status").textContent = "";
}

function setVoting(on) { $("vote-a").disabled = !on; $("vote-b").disabled = !on; }

async function vote(choice) {
  if (state.busy || !state.trial) return;
  state.busy = true;
  setVoting(false);
  const seconds = (performance.now() - state.shownAt) / 1000;
  try {
    const r = await api("/api/vote", { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify({ trial: state.trial, choice, seconds }) });
    $("vote-count").textContent = r.votes;
    state.lastVote = { trial: state.trial, choice };
    await nextTrial();
  } catch (err) {
    $("status").textContent = `not saved: ${err.message}; try again`;
    state.busy = false;
    setVoting(true);
  }
}

async function start(code) {
  state.rater = code || localStorage.getItem("study-rater") || (await api("/api/rater", { method: "POST" })).rater;
  localStorage.setItem("study-rater", state.rater);
  $("rater-id").textContent = state.rater;
  $("rater-line").hidden = false;
  $("welcome").hidden = true;
  $("task").hidden = false;
  $("viewport").focus();
  await nextTrial();
}

function flip() { state.showing = state.showing === "a" ? "b" : "a"; render(); }

function init() {
  api("/api/study").then((s) => { $("study-name").textContent = `Study ${s.name}`; });
  const saved = localStorage.getItem("study-rater");
  if (saved) $("rater-input").value = saved;
  $("start-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("rater-input").value.trim();
    if (code && !/^[A-Za-z0-9_-]{1,40}$/.test(code)) { $("rater-input").reportValidity(); return; }
    if (code) localStorage.setItem("study-rater", code);
    start(code);
  });
  $("flip").addEventListener("click", flip);
  $("zoom-btn").addEventListener("click", () => setZoom(!state.fit));
  const original = $("original-btn");
  original.addEventListener("mousedown", () => { state.holdingOriginal = true; render(); });
  for (const ev of ["mouseup", "mouseleave"]) {
    original.addEventListener(ev, () => { state.holdingOriginal = false; render(); });
  }
  $("vote-a").addEventListener("click", () => vote("a"));
  $("vote-b").addEventListener("click", () => vote("b"));

  document.addEventListener("keydown", (e) => {
    if ($("task").hidden || e.target.tagName === "INPUT") return;
    const step = e.shiftKey ? 200 : 50;
    switch (e.key) {
      case " ": e.preventDefault(); if (!e.repeat) flip(); break;
      case "o": case "O": state.holdingOriginal = true; render(); break;
      case "1": vote("a"); break;
      case "2": vote("b"); break;
      case "z": case "Z": setZoom(!state.fit); break;
      case "ArrowLeft": e.preventDefault(); pan(step, 0); break;
      case "ArrowRight": e.preventDefault(); pan(-step, 0); break;
      case "ArrowUp": e.preventDefault(); pan(0, step); break;
      case "ArrowDown": e.preventDefault(); pan(0, -step); break;
      default: return;
    }
  });
  document.addEventListener("keyup", (e) => {
    if (e.key === "o" || e.key === "O") { state.holdingOriginal = false; render(); }
  });

  const viewport = $("viewport");
  let drag = null;
  viewport.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY };
    viewport.setPointerCapture(e.pointerId);
    viewport.classList.add("dragging");
  });
  viewport.addEventListener("pointermove", (e) => {
    if (!drag) return;
    pan(e.clientX - drag.x, e.clientY - drag.y);
    drag = { x: e.clientX, y: e.clientY };
  });
  viewport.addEventListener("pointerup", () => { drag = null; viewport.classList.remove("dragging"); });
  viewport.addEventListener("dblclick", (e) => {
    const r = viewport.getBoundingClientRect();
    setZoom(!state.fit, { x: e.clientX - r.left, y: e.clientY - r.top });
  });
  window.addEventListener("resize", () => { if (state.trial) setZoom(state.fit); });
}

init();
