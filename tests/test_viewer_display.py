"""Pixels as they are in ``harness view``, at 1440x900 and 390x844 and device pixel ratios 1, 1.5 and 2:
every integer zoom draws each image pixel as zoom x zoom DEVICE pixels (screenshot regions equal the PNG's
pixels replicated), "fit" is the largest integer zoom that fits, and a larger image is scaled down with an
area filter and says so."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.codecs import get_codec
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.render.viewer import write_site
from harness.run.store import RunStore
from harness.run.sweep import run_sweep
from tests.browser import chromium, rect, screenshot, settle
from tests.conftest import KODAK

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """JPEG and WebP at two qualities on a full 768x512 Kodak image and a 96x64 crop."""
    root = tmp_path_factory.mktemp("display")
    images = root / "images"
    images.mkdir()
    os.symlink(KODAK / "kodim23.png", images / "kodim23.png")
    Image.fromarray(np.asarray(Image.open(KODAK / "kodim04.png"))[300:364, 200:296]).save(images / "small.png")
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(images)), [get_codec("jpeg"), get_codec("webp")], points=[30, 70],
              metrics=("psnr",), keep_reconstructions=True)
    result = write_site(store.run_dir)
    assert result.errors == []
    return result


def open_view(context, site, fragment: str):
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    page.goto((site.out_dir / "view.html").as_uri() + "#" + fragment)
    page.wait_for_selector("body[data-ready]")
    settle(page)
    page.problems = problems
    return page


def drawn_vs_file(page, layer: str, zoom: int, pane: str = ".hc-pane-1") -> tuple[np.ndarray, np.ndarray]:
    """The visible part of ``layer`` in the screenshot (device pixels) and the same region of its PNG with
    every pixel repeated ``zoom`` times in each direction; the pane's top 34 CSS px (labels) and bottom
    30 (scale tag) left out."""
    dpr = page.evaluate("devicePixelRatio")
    left, top, right, bottom = (v * dpr for v in rect(page, f"#compare {pane} {layer}"))
    assert abs(left - round(left)) < 0.02 and abs(top - round(top)) < 0.02, "image edges on whole device pixels"
    left, top = round(left), round(top)
    p_left, p_top, p_right, p_bottom = rect(page, f"#compare {pane}")
    x0, x1 = math.ceil(max(left, p_left * dpr)), math.floor(min(right, p_right * dpr))
    y0, y1 = math.ceil(max(top, (p_top + 34) * dpr)), math.floor(min(bottom, (p_bottom - 30) * dpr))
    src = page.eval_on_selector(f"#compare {pane} {layer}", "e => e.src")
    image = load_image(Path(src.removeprefix("file://"))).pixels
    shot = screenshot(page)
    ys = (np.arange(y0, y1) - top) // zoom
    xs = (np.arange(x0, x1) - left) // zoom
    return shot[y0:y1, x0:x1], image[ys][:, xs]


def assert_pixels_exact(page, layer: str, zoom: int, minimum: int = 40) -> None:
    screen, expected = drawn_vs_file(page, layer, zoom)
    assert min(screen.shape[:2]) >= minimum, screen.shape
    bad = np.any(screen != expected, axis=2)
    assert not bad.any(), (f"{np.mean(screen != expected):.3%} of values differ at zoom {zoom}, rows "
                           f"{np.nonzero(bad.any(1))[0][[0, -1]]}, columns {np.nonzero(bad.any(0))[0][[0, -1]]}")


def check_screen(site, width: int, height: int, dpr: float) -> None:
    with chromium(width, height, dpr=dpr) as context:
        page = open_view(context, site, "image=kodim23&a=jpeg&b=webp&mode=flip&zoom=1&x=384&y=256")
        left, top, right, bottom = rect(page, "#compare")
        assert right - left >= min(width, 1440) * 0.45 and bottom - top >= 250, "the image area is visible"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scroll"
        for zoom in (1, 2, 4):
            page.keyboard.press(str(zoom))
            settle(page)
            assert page.get_attribute("#compare", "data-zoom") == str(zoom)
            assert_pixels_exact(page, ".hc-a", zoom)
        # Fit: 768x512 is larger than every view here at 1:1 except 1440x900 at ratio 1.5 and 2, where it
        # fits 1x or 2x; a scaled-down view says so.
        page.keyboard.press("0")
        settle(page)
        pane = rect(page, "#compare .hc-pane-1")
        fits = math.floor(min((pane[2] - pane[0]) * dpr / 768, (pane[3] - pane[1]) * dpr / 512))
        if fits >= 1:
            assert page.get_attribute("#compare", "data-zoom") == str(fits)
            assert page.text_content("#compare .hc-scale") == ""
            assert_pixels_exact(page, ".hc-a", fits)
        else:
            assert page.get_attribute("#compare", "data-zoom") == "scaled"
            tag = page.text_content("#compare .hc-scale")
            assert tag.startswith("scaled 0.") and tag.endswith("x, press 1 for pixels"), tag
            scale = float(page.get_attribute("#compare", "data-scale"))
            drawn = rect(page, "#compare .hc-pane-1 .hc-a")
            assert scale < 1 and abs((drawn[2] - drawn[0]) * dpr - round(768 * scale)) < 0.02
        # The small image at fit: the largest integer zoom, pixel for pixel.
        page.goto(page.url.split("#")[0] + "#image=small&a=jpeg&b=webp&mode=flip&zoom=fit")
        page.wait_for_function("() => document.body.dataset.ready === 'small'")
        settle(page)
        pane = rect(page, "#compare .hc-pane-1")
        fits = math.floor(min((pane[2] - pane[0]) * dpr / 96, (pane[3] - pane[1]) * dpr / 64))
        assert page.get_attribute("#compare", "data-zoom") == str(fits) and fits >= 3
        assert_pixels_exact(page, ".hc-a", fits)
        assert page.problems == []


@pytest.mark.parametrize(("width", "height", "dpr"), [(1440, 900, 1.5), (390, 844, 2)])
def test_every_zoom_draws_whole_device_pixels(site, width, height, dpr):
    check_screen(site, width, height, dpr)


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height", "dpr"), [(1440, 900, 1), (1440, 900, 2), (390, 844, 1),
                                                      (390, 844, 1.5)])
def test_every_zoom_draws_whole_device_pixels_everywhere(site, width, height, dpr):
    check_screen(site, width, height, dpr)


def area_filter(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mean of the input area each output pixel covers (display.js's areaDownscale)."""
    def weights(n: int, m: int) -> np.ndarray:
        w = np.zeros((m, n))
        step = n / m
        for i in range(m):
            a, b = i * step, (i + 1) * step
            for j in range(math.floor(a), min(n, math.ceil(b - 1e-9))):
                w[i, j] = (min(b, j + 1) - max(a, j)) / step
        return w
    out = np.einsum("yi,ixc->yxc", weights(pixels.shape[0], height), pixels.astype(float))
    return np.einsum("xj,yjc->yxc", weights(pixels.shape[1], width), out)


def test_served_fit_is_area_filtered(site, tmp_path):
    """Served over HTTP the page may read pixels: "fit" on an image larger than the view is the area filter
    of its pixels, drawn one to one in device pixels."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "harness.cli", "view", str(site.plan.run_dir), "--out",
                               str(site.out_dir), "--serve", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = server.stdout.readline().split()[1]
        with chromium(390, 844, dpr=1) as context:
            page = context.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda req: failed.append(req.url))
            page.on("console", lambda msg: failed.append(msg.text) if msg.type == "error" else None)
            page.goto(url.replace("index.html", "view.html") + "#image=kodim23&a=jpeg&b=webp&mode=flip&zoom=fit")
            page.wait_for_selector("body[data-ready]")
            page.wait_for_function("() => { const a = document.querySelector('#compare .hc-pane-1 .hc-a');"
                                   " return a.classList.contains('hc-filtered') && a.src.startsWith('blob:')"
                                   " && a.complete && a.naturalWidth > 0; }")
            settle(page)
            assert page.text_content("#compare .hc-scale").startswith("scaled 0.")
            left, top, right, bottom = (round(v) for v in rect(page, "#compare .hc-pane-1 .hc-a"))
            a = page.eval_on_selector("#compare .hc-a", "e => e.dataset.url")
            pixels = load_image(site.out_dir / a.split("/viewer/")[-1].split(url.rsplit("/", 1)[0] + "/")[-1]).pixels
            expected = area_filter(pixels, right - left, bottom - top)
            shot = screenshot(page).astype(float)
            p_top = rect(page, "#compare .hc-pane-1")[1]
            y0 = max(top, math.ceil(p_top) + 34)
            region = shot[y0:bottom - 30, left:right]
            error = np.abs(region - expected[y0 - top:bottom - 30 - top])
            assert error.max() <= 1.0, f"{np.mean(error > 1):.3%} of values off by more than 1 (max {error.max()})"
            assert failed == []
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.slow
def test_readme_screenshots(site, tmp_path):
    """The README's pictures of the comparison page at 1440x900 and 390x844 (HARNESS_UPDATE_SCREENSHOTS=1
    copies them to docs/img/)."""
    shots = []
    for width, height, dpr in ((1440, 900, 1), (390, 844, 2)):
        with chromium(width, height, dpr=dpr) as context:
            page = open_view(context, site, "image=kodim23&a=jpeg&b=webp&mode=slider&zoom=2&x=250&y=200")
            assert page.problems == [] and page.evaluate("document.documentElement.scrollWidth") <= width
            shot = tmp_path / f"viewer-{width}x{height}.png"
            page.screenshot(path=str(shot))
            shots.append(shot)
    if os.environ.get("HARNESS_UPDATE_SCREENSHOTS") == "1":
        for shot in shots:
            (REPO / "docs" / "img" / shot.name).write_bytes(shot.read_bytes())


def _touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": i, "radiusX": 1, "radiusY": 1, "force": 1} for i, (x, y) in enumerate(points)]})


def test_touch_drag_pinch_double_tap_and_hold(site):
    """On a touch screen (390x844): a drag from the slider's line moves it, pinching out zooms in one
    integer step, a double tap zooms in, pressing and holding shows the original until the finger lifts."""
    with chromium(390, 844, dpr=2, touch=True) as context:
        page = open_view(context, site, "image=kodim23&a=jpeg&b=webp&mode=slider&zoom=1&x=384&y=256&split=0.5")
        cdp = context.new_cdp_session(page)
        left, top, right, bottom = rect(page, "#compare .hc-pane-1")
        cx, cy = (left + right) / 2, (top + bottom) / 2
        # Drag from the line to a quarter of the width.
        _touch(cdp, "touchStart", [(cx + 5, cy)])
        for x in np.linspace(cx + 5, left + (right - left) / 4, 8):
            _touch(cdp, "touchMove", [(float(x), cy)])
        _touch(cdp, "touchEnd", [])
        # The slider follows the last move once the page has drawn it (moves are handled per frame).
        page.wait_for_function("() => Math.abs(parseFloat(location.hash.split('split=')[1]) - 0.25) < 0.02",
                               timeout=5000)
        assert abs(float(page.url.split("split=")[1].split("&")[0]) - 0.25) < 0.02
        # Pinch out: fingers from 60 to 160 px apart.
        _touch(cdp, "touchStart", [(cx - 30, cy), (cx + 30, cy)])
        for d in np.linspace(30, 80, 6):
            _touch(cdp, "touchMove", [(cx - float(d), cy), (cx + float(d), cy)])
        _touch(cdp, "touchEnd", [])
        settle(page)
        assert page.get_attribute("#compare", "data-zoom") == "4" and "zoom=4" in page.url
        # Pinch in: back down.
        _touch(cdp, "touchStart", [(cx - 80, cy), (cx + 80, cy)])
        for d in np.linspace(80, 50, 6):
            _touch(cdp, "touchMove", [(cx - float(d), cy), (cx + float(d), cy)])
        _touch(cdp, "touchEnd", [])
        assert page.get_attribute("#compare", "data-zoom") == "2"
        # Double tap: one step in.
        for _ in range(2):
            _touch(cdp, "touchStart", [(cx - 60, cy + 20)])
            _touch(cdp, "touchEnd", [])
            page.wait_for_timeout(60)
        assert page.get_attribute("#compare", "data-zoom") == "4"
        page.keyboard.press("f")
        settle(page)
        assert_pixels_exact(page, ".hc-a", 4)
        # Press and hold: the original while the finger is down.
        _touch(cdp, "touchStart", [(cx - 60, cy)])
        page.wait_for_function("() => document.querySelector('#compare').dataset.shown === 'original'", timeout=3000)
        _touch(cdp, "touchEnd", [])
        assert page.get_attribute("#compare", "data-shown") == "a"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.problems == []


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_index_and_pairs_pages_fit_the_screen(site, width, height):
    with chromium(width, height, dpr=2 if width < 500 else 1) as context:
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("requestfailed", lambda req: problems.append(req.url))
        page.goto((site.out_dir / "index.html").as_uri())
        page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete)")
        assert page.eval_on_selector_all(".card", "cs => cs.length") == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.click("#pairs-link")
        page.wait_for_selector("body[data-ready]")
        page.select_option("#pair-by", "quality")
        assert page.text_content("#pair-summary") != ""
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert problems == []
