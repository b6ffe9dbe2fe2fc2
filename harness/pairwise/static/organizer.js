// The organizer's live view of a study: polls /api/organizer every 2 s with the organizer token from the
// link's fragment (kept out of server logs and Referer headers).
"use strict";

const $ = (id) => document.getElementById(id);
const organizer = { token: null, data: null, updates: 0 };
window.organizerState = organizer; // read by the browser tests

function table(id, header, rows) {
  const el = $(id);
  el.replaceChildren();
  const head = el.insertRow();
  for (const h of header) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
  for (const row of rows) {
    const tr = el.insertRow();
    for (const cell of row) tr.insertCell().textContent = cell === null || cell === undefined ? "" : String(cell);
  }
}

function stat(label, value) {
  const span = document.createElement("span");
  span.className = "stat";
  const b = document.createElement("b");
  b.textContent = value;
  span.append(b, ` ${label}`);
  return span;
}

function draw(d) {
  const g = d.golden;
  $("summary").replaceChildren(
    stat("raters", d.raters.length),
    stat("active", d.raters.filter((r) => r.state === "active").length),
    stat("screened out", d.raters.filter((r) => r.state === "screened out").length),
    stat("votes", d.votes), stat("counted", d.counted), stat("too fast", d.fast),
    stat("golden passed", g.answered ? `${g.passed}/${g.answered} (${Math.round((100 * g.passed) / g.answered)}%)` : "0/0"));
  const s = d.stopping;
  $("stopping").textContent = s.ended_by ? `ended: ${s.ended_by}`
    : `${s.met ? "met" : "not met"}: widest neighbouring 95% Elo difference interval ${s.widest ?? "n/a"}`
      + (s.width > 0 ? ` (stops below ${s.width})` : " (no width set)")
      + (s.budget > 0 ? `; budget ${d.counted} / ${s.budget} votes` : "");
  $("stopping").classList.toggle("met", Boolean(s.met || s.ended_by));
  table("raters", ["rater", "state", "votes", "golden passed", "too fast", "screen", "pixel ratio"],
        d.raters.map((r) => [r.rater, r.state, `${r.votes} / ${d.settings.trials_per_rater}`,
                             `${r.golden_right} / ${r.golden}`, r.fast,
                             r.setup ? `${r.setup.screen_width}x${r.setup.screen_height}` : "",
                             r.setup ? r.setup.device_pixel_ratio : ""]));
  table("elo", ["condition", "Elo", "95% low", "95% high"],
        [...d.elo].sort((a, b) => b.elo - a.elo).map((e) => [e.condition, e.elo, e.low, e.high]));
  table("per-condition", ["condition", "votes"], Object.entries(d.per_condition));
  table("per-pair", ["pair", "votes"], Object.entries(d.per_pair));
}

async function poll() {
  try {
    const response = await fetch("/api/organizer", { headers: { Authorization: `Bearer ${organizer.token}` },
                                                     cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    organizer.data = body;
    organizer.updates += 1;
    $("error").hidden = true;
    draw(body);
  } catch (err) {
    $("error").textContent = `not updated: ${err.message}`;
    $("error").hidden = false;
  }
}

const fragment = location.hash.slice(1);
if (fragment) {
  sessionStorage.setItem("organizer-token", fragment);
  history.replaceState(null, "", location.pathname);
}
organizer.token = sessionStorage.getItem("organizer-token");
poll();
setInterval(poll, 2000);
