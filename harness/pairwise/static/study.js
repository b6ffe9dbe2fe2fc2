// One blind comparison at a time: A and B shown in the same place (flip), the original on demand,
// 1:1 zoom (one image pixel per device pixel, never smoothed) and pan, response time measured from the
// moment all three images are decoded to the click.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  rater: null, trial: null, urls: {}, showing: "a", holdingOriginal: false, width: 0, height: 0,
  zoom: 1, center: null, shownAt: null, busy: false,
};
window.studyState = state; // read by the browser tests

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The viewer's comparison component (harness/render/viewer/static/compare.js) in flip mode, with its own
// keys off: this page maps the keys (1 and 2 vote here, they zoom there).
let view = null;

function render() {
  const st = view.state();
  const side = st.showOriginal ? "original" : st.flip;
  const badge = $("showing");
  badge.textContent = side === "original" ? "original" : side.toUpperCase();
  badge.classList.toggle("original", side === "original");
  state.showing = st.flip;
  state.holdingOriginal = st.showOriginal;
  state.zoom = st.zoom;
  state.center = st.center;
  $("zoom-label").textContent = st.zoom === "fit" ? "fit" : `${st.zoom}:1`;
  $("zoom-btn").textContent = st.zoom === "fit" ? "1:1" : "Fit";
}

function setZoom(fit) { view.set({ zoom: fit ? "fit" : 1 }); }

function pan(dx, dy) {
  const st = view.state();
  if (st.zoom === "fit") return;
  view.set({ center: { x: st.center.x - dx / st.scale, y: st.center.y - dy / st.scale } });
}

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
  Object.assign(state, { trial: t.trial, urls: { a, b, original }, width: t.width, height: t.height });
  $("vote-count").textContent = t.votes;
  // every comparison starts at 1:1 on the image centre, showing A: fine detail is what these studies are about
  const settings = { a, b, original, width: t.width, height: t.height, mode: "flip", flip: "a", zoom: 1,
                     center: { x: t.width / 2, y: t.height / 2 }, showOriginal: false };
  if (view === null) {
    view = HarnessCompare.mount($("viewport"), { ...settings, keys: false, tags: false,
                                                 onChange: render });
  } else {
    view.set(settings);
  }
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

function flip() { view.set({ flip: view.state().flip === "a" ? "b" : "a", showOriginal: false }); }
function showOriginal(on) { if (view) view.set({ showOriginal: on }); }

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
  $("zoom-btn").addEventListener("click", () => setZoom(view.state().zoom !== "fit"));
  const original = $("original-btn");
  original.addEventListener("mousedown", () => showOriginal(true));
  for (const ev of ["mouseup", "mouseleave"]) original.addEventListener(ev, () => showOriginal(false));
  $("vote-a").addEventListener("click", () => vote("a"));
  $("vote-b").addEventListener("click", () => vote("b"));

  document.addEventListener("keydown", (e) => {
    if ($("task").hidden || e.target.tagName === "INPUT") return;
    const step = e.shiftKey ? 200 : 50;
    switch (e.key) {
      case " ": e.preventDefault(); if (!e.repeat) flip(); break;
      case "o": case "O": if (!e.repeat) showOriginal(true); break;
      case "1": vote("a"); break;
      case "2": vote("b"); break;
      case "z": case "Z": setZoom(view.state().zoom !== "fit"); break;
      case "ArrowLeft": e.preventDefault(); pan(step, 0); break;
      case "ArrowRight": e.preventDefault(); pan(-step, 0); break;
      case "ArrowUp": e.preventDefault(); pan(0, step); break;
      case "ArrowDown": e.preventDefault(); pan(0, -step); break;
      default: return;
    }
  });
  document.addEventListener("keyup", (e) => {
    if (e.key === "o" || e.key === "O") showOriginal(false);
  });

}

init();
