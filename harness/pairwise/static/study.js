// One blind comparison at a time: A and B shown in the same place (flipped by hand, or alternating by
// themselves in flicker mode; in triplet mode the original stands beside them), the original on demand,
// 1:1 zoom (one image pixel per device pixel, never smoothed: the display.js rule) and pan. The viewing
// time runs from the moment all three images are decoded to the click. The session token comes from the invitation link's fragment
// and is sent with every request; the page never learns which condition it shows.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  token: null, study: null, trial: null, urls: {}, showing: "a", holdingOriginal: false, width: 0, height: 0,
  zoom: 1, center: null, shownAt: null, busy: false, votes: 0, total: 0, flips: [], paused: false, done: null,
};
window.studyState = state; // read by the browser tests

async function api(path, options = {}, tries = 4) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (response.status === 503 && response.headers.get("Retry-After") && tries > 1) {
    // the database is busy for a moment: the server asks to come back (nothing was saved)
    await new Promise((done) => setTimeout(done, 1000 * Number(response.headers.get("Retry-After"))));
    return api(path, options, tries - 1);
  }
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The viewer's comparison component (harness/render/viewer/static/compare.js) in flip mode, with its own
// keys off: this page maps the keys (1 and 2 vote here, they zoom there).
let view = null;
let reference = null;
let flicker = null;

function render() {
  const st = view.state();
  const side = st.showOriginal ? "original" : st.flip;
  const badge = $("showing");
  badge.textContent = side === "original" ? "original" : side.toUpperCase();
  badge.classList.toggle("original", side === "original");
  Object.assign(state, { showing: st.flip, holdingOriginal: st.showOriginal, zoom: st.zoom, center: st.center });
  // display.js downsamples a picture larger than the view (area filter) in fit: say so, as the viewer does
  const scaled = st.zoom === "fit" && st.scale < 1 ? `scaled ${st.scale.toFixed(2)}x, Z for pixels` : "fit";
  $("zoom-label").textContent = st.zoom === "fit" ? scaled : `${st.zoom}:1`;
  $("zoom-btn").textContent = st.zoom === "fit" ? "1:1" : "Fit";
  if (reference) {
    const r = reference.state();
    if (r.zoom !== st.zoom || r.center.x !== st.center.x || r.center.y !== st.center.y) {
      reference.set({ zoom: st.zoom, center: st.center });
    }
  }
}

function setZoom(fit) { view.set({ zoom: fit ? "fit" : 1 }); }

function pan(dx, dy) {
  const st = view.state();
  if (st.zoom === "fit") return;
  const css = st.cssScale || st.scale;  // CSS pixels per image pixel (display.js counts device pixels)
  view.set({ center: { x: st.center.x - dx / css, y: st.center.y - dy / css } });
}

async function loadBlob(url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store" });
  if (!response.ok) throw new Error(`image: ${response.status}`);
  const objectUrl = URL.createObjectURL(await response.blob());
  const probe = new Image();
  probe.src = objectUrl;
  await probe.decode();
  return objectUrl;
}

function showProgress(votes, total) {
  Object.assign(state, { votes, total });
  $("progress").max = total;
  $("progress").value = votes;
  $("progress-text").textContent = `${votes} / ${total}`;
  $("progress-line").hidden = false;
}

function show(section) {
  for (const id of ["welcome", "pause", "end", "task"]) $(id).hidden = id !== section;
}

function stopFlicker() { if (flicker) { clearInterval(flicker); flicker = null; } }

function startFlicker() {
  stopFlicker();
  state.flips = [];
  flicker = setInterval(() => {
    if (!view.state().showOriginal) flip();
    state.flips.push(performance.now());
    if (state.flips.length > 40) state.flips.shift();
  }, state.study.flicker_ms);
}

async function nextTrial() {
  state.busy = true;
  setVoting(false);
  stopFlicker();
  $("status").textContent = "loading…";
  const t = await api("/api/next");
  showProgress(t.votes, t.total);
  if (t.done) {
    state.done = t;
    $("completion-code").textContent = t.code;
    if (t.reason === "ended") $("end-text").textContent = "The study has collected the answers it needs. Thank you!";
    show("end");
    return;
  }
  show("task");
  for (const url of Object.values(state.urls)) URL.revokeObjectURL(url);
  const [a, b, original] = await Promise.all([loadBlob(t.a), loadBlob(t.b), loadBlob(t.original)]);
  Object.assign(state, { trial: t.trial, urls: { a, b, original }, width: t.width, height: t.height });
  // every comparison starts at 1:1 on the image centre, showing A: fine detail is what these studies are about
  const center = { x: t.width / 2, y: t.height / 2 };
  const settings = { a, b, original, width: t.width, height: t.height, mode: "flip", flip: "a", zoom: 1, center,
                     showOriginal: false };
  if (state.study.mode === "triplet") {
    const refSettings = { a: original, b: original, original, width: t.width, height: t.height, mode: "flip",
                          flip: "a", zoom: 1, center, showOriginal: true };
    if (reference === null) {
      $("reference").hidden = false;
      reference = HarnessCompare.mount($("reference"), {
        ...refSettings, keys: false, tags: true });
    } else {
      reference.set(refSettings);
    }
  }
  if (view === null) {
    view = HarnessCompare.mount($("viewport"), { ...settings, keys: false, tags: false, onChange: render });
  } else {
    view.set(settings);
  }
  render();
  state.shownAt = performance.now();
  state.busy = false;
  setVoting(true);
  $("status").textContent = "";
  if (state.study.mode === "flicker") startFlicker();
}

function setVoting(on) { for (const id of ["vote-a", "vote-b", "vote-tie"]) $(id).disabled = !on; }

async function vote(choice) {
  if (state.busy || !state.trial || (choice === "tie" && !state.study.ties)) return;
  state.busy = true;
  setVoting(false);
  const seconds = (performance.now() - state.shownAt) / 1000;
  try {
    const r = await api("/api/vote", { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify({ trial: state.trial, choice, seconds }) });
    state.lastVote = { trial: state.trial, choice };
    showProgress(r.votes, r.total);
    const every = state.study.pause_every;
    if (every > 0 && r.votes % every === 0 && r.votes < r.total) {
      stopFlicker();
      state.paused = true;
      $("pause-count").textContent = r.votes;
      $("pause-total").textContent = r.total;
      show("pause");
      return;
    }
    await nextTrial();
  } catch (err) {
    $("status").textContent = `not saved: ${err.message}; try again`;
    state.busy = false;
    setVoting(true);
  }
}

function reportSetup() {
  const setup = { screen_width: screen.width, screen_height: screen.height, device_pixel_ratio: devicePixelRatio,
                  zoom: window.outerWidth > 0 ? Math.round((100 * window.outerWidth) / window.innerWidth) / 100 : 0,
                  view_width: window.innerWidth, view_height: window.innerHeight };
  return api("/api/setup", { method: "POST", headers: { "Content-Type": "application/json" },
                             body: JSON.stringify(setup) });
}

async function start() {
  if (!state.token) state.token = (await api("/api/session", { method: "POST" })).token;
  localStorage.setItem("study-token", state.token);
  await reportSetup();
  $("viewport").focus();
  await nextTrial();
}

function flip() { view.set({ flip: view.state().flip === "a" ? "b" : "a", showOriginal: false }); }
function showOriginal(on) { if (view) view.set({ showOriginal: on }); }

async function init() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("t")) {
    localStorage.setItem("study-token", fragment.get("t"));
    history.replaceState(null, "", location.pathname);  // the token leaves the address bar
  }
  state.token = localStorage.getItem("study-token");
  state.study = await api("/api/study");
  $("study-name").textContent = `Study ${state.study.name}`;
  if (state.study.ties) for (const id of ["tie-text", "tie-key", "vote-tie"]) $(id).hidden = false;
  if (state.study.mode === "triplet") {
    $("task-text").innerHTML = "You will see the <b>original</b> photograph and, beside it, two compressed versions, "
      + "<b>A</b> and <b>B</b>, one at a time in the same place. Choose the one <b>closer to the original</b>.";
    $("question").textContent = "Which is closer to the original?";
    $("vote-a").firstChild.textContent = "A is closer ";
    $("vote-b").firstChild.textContent = "B is closer ";
  } else if (state.study.mode === "flicker") {
    $("task-text").innerHTML = "You will see two compressed versions, <b>A</b> and <b>B</b>, of the same photograph "
      + `alternating in the same place every ${state.study.flicker_ms} ms. Choose the one that looks better.`;
  }
  if (!state.token && state.study.enrolment !== "open") {
    $("access").textContent = "This study is by invitation: please open the link you were given.";
    $("access").hidden = false;
    return;
  }
  $("start").disabled = false;
}

function bind() {
  $("start").addEventListener("click", () => start().catch((err) => {
    $("access").textContent = err.message;
    $("access").hidden = false;
  }));
  $("resume").addEventListener("click", () => { state.paused = false; nextTrial(); });
  $("flip").addEventListener("click", flip);
  $("zoom-btn").addEventListener("click", () => setZoom(view.state().zoom !== "fit"));
  const original = $("original-btn");
  original.addEventListener("mousedown", () => showOriginal(true));
  for (const ev of ["mouseup", "mouseleave"]) original.addEventListener(ev, () => showOriginal(false));
  $("vote-a").addEventListener("click", () => vote("a"));
  $("vote-b").addEventListener("click", () => vote("b"));
  $("vote-tie").addEventListener("click", () => vote("tie"));

  document.addEventListener("keydown", (e) => {
    if ($("task").hidden || e.target.tagName === "INPUT") return;
    const step = e.shiftKey ? 200 : 50;
    switch (e.key) {
      case " ": e.preventDefault(); if (!e.repeat) flip(); break;
      case "o": case "O": if (!e.repeat) showOriginal(true); break;
      case "1": vote("a"); break;
      case "2": vote("b"); break;
      case "3": vote("tie"); break;
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

bind();
init();
