"""The study's web app in a real headless Chromium (Debian's, driven by playwright): what is on screen is
the file's pixels at 1:1 (A, B after the flip key, the original on its key, after panning), every vote is
in the SQLite file once the page has it, a server killed with SIGKILL mid-session loses no committed
vote, and two raters at once do not collide."""

from __future__ import annotations

import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.runs import write_crops

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--force-color-profile=srgb"]



@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    """A study on real JPEG and WebP encodes of two 400x300 Kodak crops, larger than the browser's view."""
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.pairwise.plan import create_study
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep

    root = tmp_path_factory.mktemp("browser-study")
    crops = write_crops(root / "crops", height=300, width=400)
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[15, 40])
    db = create_study(store.run_dir, "browser")
    return store.run_dir, db.path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(run_dir: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "study", "serve", str(run_dir), "browser",
                                "--port", str(port)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/study", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "server exited") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start in 60 s")


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


def _browser(playwright, tmp_path: Path, name: str):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    return playwright.chromium.launch_persistent_context(
        str(tmp_path / f"profile-{name}"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 360, "height": 380}, device_scale_factor=1)


def test_browser_session_votes_kill_and_two_raters(study, tmp_path):
    from playwright.sync_api import sync_playwright

    run_dir, database = study
    port = _free_port()
    server = _serve(run_dir, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            alice = _browser(p, tmp_path, "alice")
            page = alice.new_page()
            page.goto(url)
            page.fill("#rater-input", "alice")
            page.click("#start")
            trial = _wait_ready(page)
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

            # each vote is in the SQLite file as soon as the page has moved on
            cast = []
            for key in ["1", "2", "1", "2"]:
                trial = _wait_ready(page)
                time.sleep(0.05)
                page.keyboard.press(key)
                page.wait_for_function(f"window.studyState.lastVote && window.studyState.lastVote.trial === '{trial}'")
                cast.append((trial, "a" if key == "1" else "b"))
                rows = _votes(database)
                assert [(r[0], r[5]) for r in rows] == cast
                assert all(r[1] == "alice" and r[6] > 0 for r in rows)

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

            # a second rater at once, in another browser profile: both vote at the same moment
            bob = _browser(p, tmp_path, "bob")
            other = bob.new_page()
            other.goto(url)
            other.click("#start")  # no code: a random anonymous id
            other.wait_for_function("window.studyState.rater !== null")
            bob_id = other.evaluate("studyState.rater")
            assert bob_id.startswith("r-") and bob_id != "alice"
            ta, tb = _wait_ready(page), _wait_ready(other)
            assert ta != tb
            page.keyboard.press("2")
            other.keyboard.press("1")
            page.wait_for_function(f"window.studyState.lastVote.trial === '{ta}'")
            other.wait_for_function(f"window.studyState.lastVote && window.studyState.lastVote.trial === '{tb}'")
            rows = {r[0]: r for r in _votes(database)}
            assert rows[ta][1] == "alice" and rows[ta][5] == "b"
            assert rows[tb][1] == bob_id and rows[tb][5] == "a"
            assert len(rows) == len(cast) + 2
            bob.close()
            alice.close()
    finally:
        server.kill()
        server.wait(timeout=30)
