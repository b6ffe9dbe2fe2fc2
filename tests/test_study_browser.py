"""The study's web app in a real headless Chromium (Debian's, driven by playwright), two invited raters
through complete sessions: the instructions first, what is on screen is the file's pixels at 1:1 (A, B
after the flip key, the original on its key, after panning), the progress bar, a pause after every N
trials, the end page with the rater's completion code, every vote in the SQLite file once the page has it,
a server killed with SIGKILL mid-session losing no committed vote, two raters at once not colliding, the
organizer's live page; flicker mode's period, "no visible difference", and the triplet's reference pane.
Screenshots (1440x900 and 390x844) go to $STUDY_SCREENSHOTS (default /tmp/study-screenshots)."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.runs import write_crops
from tests.studyserver import free_port as _free_port
from tests.studyserver import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--force-color-profile=srgb"]


TRIALS, PAUSE = 6, 3
SHOTS = Path(os.environ.get("STUDY_SCREENSHOTS", "/tmp/study-screenshots"))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    """Studies on real JPEG and WebP encodes of two 400x300 Kodak crops, larger than the browser's view:
    ``browser`` (6 trials per rater, a pause after every 3), ``flicker`` (A/B alternating every 400 ms,
    "no visible difference" offered) and ``triplet``."""
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.pairwise.plan import create_study
    from harness.pairwise.settings import Settings
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep

    root = tmp_path_factory.mktemp("browser-study")
    crops = write_crops(root / "crops", height=300, width=400)
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[15, 40])
    db = create_study(store.run_dir, "browser", settings=Settings(trials_per_rater=TRIALS, pause_every=PAUSE))
    create_study(store.run_dir, "flicker", settings=Settings(mode="flicker", flicker_ms=400, ties=True))
    create_study(store.run_dir, "triplet", settings=Settings(mode="triplet"))
    return store.run_dir, db.path


def _serve(run_dir: Path, port: int, name: str = "browser") -> subprocess.Popen:
    return serve(run_dir, name, port)


def _invite(run_dir: Path, name: str, port: int, n: int) -> tuple[list[str], str]:
    """Invitation links and the organizer's link, from the CLI."""
    result = subprocess.run([sys.executable, "-m", "harness.cli", "study", "invite", str(run_dir), name, "--n", str(n),
                             "--url", f"http://127.0.0.1:{port}"], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    links = [line.split("\t")[1] for line in result.stdout.splitlines() if "\t" in line]
    organizer = next(line.split(" ", 1)[1] for line in result.stderr.splitlines() if line.startswith("organizer:"))
    assert len(links) == n and all("#t=" in link for link in links)
    return links, organizer


def _votes(database: Path) -> list[tuple]:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT trial, rater, image, a, b, choice, seconds FROM votes ORDER BY id").fetchall()
    finally:
        conn.close()


def _trial(database: Path, trial: str) -> tuple:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT image, a, b FROM trials WHERE id = ?", (trial,)).fetchone()
    finally:
        conn.close()


def _file_of(database: Path, image: str, name: str) -> np.ndarray:
    conn = sqlite3.connect(database)
    try:
        if name in ("original", "degraded"):
            rel = conn.execute(f"SELECT {name} FROM images WHERE name = ?", (image,)).fetchone()[0]
        else:
            rel = conn.execute("SELECT path FROM stimuli WHERE image = ? AND condition = ?", (image, name)).fetchone()[0]
    finally:
        conn.close()
    return np.asarray(Image.open(database.parent / rel).convert("RGB"))


def _on_screen(page) -> tuple[np.ndarray, tuple[int, int]]:
    """What the comparison pane shows, and which image pixel sits at its top-left corner."""
    geometry = page.evaluate("""() => {
        const pane = document.querySelector('#viewport .hc-pane-1');
        const img = [...pane.querySelectorAll('img')].find((i) => i.style.display === 'block');
        const p = pane.getBoundingClientRect(), r = img.getBoundingClientRect();
        return {x: p.x, y: p.y, width: p.width, height: p.height, left: p.x - r.x, top: p.y - r.y,
                scale: r.width / img.naturalWidth};
    }""")
    assert geometry["scale"] == 1.0
    clip = {k: geometry[k] for k in ("x", "y", "width", "height")}
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"))
    return shot, (int(geometry["left"]), int(geometry["top"]))


def _check_pixels(page, database: Path, trial: str, side: str) -> None:
    image, a, b = _trial(database, trial)
    name = {"a": a, "b": b, "original": "original"}[side]
    pixels = _file_of(database, image, name)
    shot, (left, top) = _on_screen(page)
    h, w = shot.shape[:2]
    # the part of the image inside the pane (past an edge the pane shows its grey surround)
    y0, y1 = max(top, 0), min(top + h, pixels.shape[0])
    x0, x1 = max(left, 0), min(left + w, pixels.shape[1])
    assert (y1 - y0) * (x1 - x0) > 0.5 * h * w  # the 400x300 image is larger than the view
    assert np.array_equal(shot[y0 - top:y1 - top, x0 - left:x1 - left], pixels[y0:y1, x0:x1]), \
        f"screen differs from {name} on {image}"


def _wait_ready(page) -> str:
    page.wait_for_function("window.studyState.trial && !window.studyState.busy")
    return page.evaluate("studyState.trial")



def _browser(playwright, tmp_path: Path, name: str, width: int = 360, height: int = 380):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    return playwright.chromium.launch_persistent_context(
        str(tmp_path / f"profile-{name}"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": width, "height": height}, device_scale_factor=1)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _vote(page, key: str) -> str:
    trial = _wait_ready(page)
    page.keyboard.press(key)
    page.wait_for_function(f"window.studyState.lastVote && window.studyState.lastVote.trial === '{trial}'")
    return trial


def _progress(page) -> list[float]:
    return page.evaluate("[document.getElementById('progress').value, document.getElementById('progress').max]")


def _completion(database: Path) -> dict[str, str]:
    conn = sqlite3.connect(database)
    try:
        return dict(conn.execute("SELECT id, completion FROM raters").fetchall())
    finally:
        conn.close()


def _start(page, link: str) -> None:
    page.goto(link)
    assert "#t=" not in page.url  # the token leaves the address bar
    page.wait_for_function("!document.getElementById('start').disabled")


def test_browser_sessions_votes_kill_two_raters_and_organizer(study, tmp_path):
    from playwright.sync_api import sync_playwright

    run_dir, database = study
    port = _free_port()
    links, organizer_link = _invite(run_dir, "browser", port, 2)
    server = _serve(run_dir, port)
    try:
        with sync_playwright() as p:
            alice = _browser(p, tmp_path, "alice")
            page = alice.new_page()
            _start(page, links[0])
            page.click("#start")
            trial = _wait_ready(page)
            assert _progress(page) == [0, TRIALS]
            assert page.locator("#showing").inner_text() == "A"
            html = page.content()
            assert "jpeg" not in html and "webp" not in html  # blind: nothing on the page names a condition
            _check_pixels(page, database, trial, "a")
            page.keyboard.press("Space")
            assert page.locator("#showing").inner_text() == "B"
            _check_pixels(page, database, trial, "b")
            page.keyboard.down("o")
            assert page.locator("#showing").inner_text() == "original"
            _check_pixels(page, database, trial, "original")
            page.keyboard.up("o")
            before = page.evaluate("studyState.center.x")
            page.keyboard.press("ArrowRight")  # pan: the view moves over the image
            assert page.evaluate("studyState.center.x") == before + 50
            _check_pixels(page, database, trial, "b")
            page.keyboard.press("z")  # fit: the 400x300 picture is downsampled into the view, and says so
            assert page.locator("#zoom-label").inner_text().startswith("scaled 0.")
            page.keyboard.press("z")
            assert page.locator("#zoom-label").inner_text() == "1:1"
            page.set_viewport_size({"width": 1440, "height": 900})
            _shot(page, "trial-1440x900")

            # each vote is in the SQLite file as soon as the page has moved on; a pause after every 3
            cast = []
            for k, key in enumerate(["1", "2", "1"]):
                cast.append((_vote(page, key), "a" if key == "1" else "b"))
                rows = _votes(database)
                assert [(r[0], r[5]) for r in rows] == cast
                assert len({r[1] for r in rows}) == 1 and all(r[6] > 0 for r in rows)
                assert _progress(page)[0] == k + 1
            page.wait_for_selector("#pause:not([hidden])")
            assert page.locator("#pause-count").inner_text() == str(PAUSE) and page.locator("#task").is_hidden()
            _shot(page, "pause-1440x900")
            page.click("#resume")

            # the server dies mid-session (a comparison is on screen): nothing committed is lost
            open_trial = _wait_ready(page)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            assert [(r[0], r[5]) for r in _votes(database)] == cast
            page.keyboard.press("1")  # the vote cannot reach the server; the page says so and keeps it
            page.wait_for_function("document.getElementById('status').textContent.startsWith('not saved')")
            assert len(_votes(database)) == len(cast)
            server = _serve(run_dir, port)
            page.keyboard.press("1")  # the trial survived the kill: the same comparison is voted on
            page.wait_for_function(f"window.studyState.lastVote.trial === '{open_trial}'")
            cast.append((open_trial, "a"))
            assert [(r[0], r[5]) for r in _votes(database)] == cast

            # a second rater at once, on a phone-sized screen, from the second invitation
            bob = _browser(p, tmp_path, "bob", 390, 844)
            other = bob.new_page()
            _start(other, links[1])
            _shot(other, "instructions-390x844")
            other.click("#start")
            ta, tb = _wait_ready(page), _wait_ready(other)
            assert ta != tb
            _shot(other, "trial-390x844")
            page.keyboard.press("2")
            other.keyboard.press("1")
            page.wait_for_function(f"window.studyState.lastVote.trial === '{ta}'")
            other.wait_for_function(f"window.studyState.lastVote && window.studyState.lastVote.trial === '{tb}'")
            rows = {r[0]: r for r in _votes(database)}
            assert rows[ta][5] == "b" and rows[tb][5] == "a" and rows[ta][1] != rows[tb][1]
            assert len(rows) == len(cast) + 2

            # alice's last trial: the end page and her completion code
            _vote(page, "1")
            page.wait_for_selector("#end:not([hidden])")
            codes = _completion(database)
            assert page.locator("#completion-code").inner_text() == codes[rows[ta][1]]
            assert _progress(page) == [TRIALS, TRIALS]
            _shot(page, "end-1440x900")
            # bob completes his session too, through his own pause
            for k in range(1, TRIALS):
                if k == PAUSE:
                    other.wait_for_selector("#pause:not([hidden])")
                    other.click("#resume")
                _vote(other, "2")
            other.wait_for_selector("#end:not([hidden])")
            assert other.locator("#completion-code").inner_text() == codes[rows[tb][1]]
            assert codes[rows[ta][1]] != codes[rows[tb][1]]
            _shot(other, "end-390x844")
            assert len(_votes(database)) == 2 * TRIALS

            # the organizer's page, with its token
            boss = alice.new_page()
            boss.set_viewport_size({"width": 1440, "height": 900})
            boss.goto(organizer_link)
            boss.wait_for_function("window.organizerState && window.organizerState.updates > 0")
            data = boss.evaluate("organizerState.data")
            assert data["votes"] == 2 * TRIALS and len(data["raters"]) == 2
            assert {r["state"] for r in data["raters"]} <= {"complete", "screened out"}
            assert all(r["setup"]["device_pixel_ratio"] == 1 for r in data["raters"])
            assert boss.locator("#raters tr").count() == 3
            _shot(boss, "organizer-1440x900")
            bob.close()
            alice.close()
    finally:
        server.kill()
        server.wait(timeout=30)


def test_flicker_period_ties_and_triplet_reference(study, tmp_path):
    from playwright.sync_api import sync_playwright

    run_dir, _ = study
    port = _free_port()
    links, _ = _invite(run_dir, "flicker", port, 1)
    triplet_links, _ = _invite(run_dir, "triplet", port, 1)
    server = _serve(run_dir, port, "flicker")
    try:
        with sync_playwright() as p:
            browser = _browser(p, tmp_path, "flicker", 1440, 900)
            page = browser.new_page()
            _start(page, links[0])
            _shot(page, "instructions-flicker-1440x900")
            page.click("#start")
            _wait_ready(page)
            shown = set()
            for _ in range(12):
                shown.add(page.locator("#showing").inner_text())
                time.sleep(0.1)
            assert shown == {"A", "B"}  # A and B alternate by themselves
            page.wait_for_function("window.studyState.flips.length >= 6")
            gaps = np.diff(page.evaluate("studyState.flips"))
            assert abs(float(np.median(gaps)) - 400) < 40, gaps
            assert page.locator("#vote-tie").is_visible()
            _shot(page, "flicker-1440x900")
            trial = _wait_ready(page)
            page.keyboard.press("3")  # no visible difference
            page.wait_for_function(f"window.studyState.lastVote && window.studyState.lastVote.trial === '{trial}'")
            assert _votes(run_dir / "studies" / "flicker" / "study.sqlite")[-1][5] == "tie"
            browser.close()
        server.kill()
        server.wait(timeout=30)
        server = _serve(run_dir, port, "triplet")
        with sync_playwright() as p:
            browser = _browser(p, tmp_path, "triplet", 1440, 900)
            page = browser.new_page()
            _start(page, triplet_links[0])
            page.click("#start")
            _wait_ready(page)
            assert page.locator("#reference").is_visible()
            assert page.locator("#question").inner_text() == "Which is closer to the original?"
            _shot(page, "triplet-1440x900")
            browser.close()
    finally:
        server.kill()
        server.wait(timeout=30)
