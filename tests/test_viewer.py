"""``harness view``: the comparison site of a run, driven in headless Chromium. Pixels on screen are
compared with the reconstruction files exactly, numbers with the run's parquet."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.codecs import get_codec
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.render.viewer import ViewerError, write_site
from harness.render.viewer.assets import difference_map
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.browser import chromium, screenshot
from tests.browser import rect as _rect
from tests.browser import settle as _settle
from tests.runs import write_crops

CROPS = (("kodim23", 120, 200), ("kodim04", 300, 60))
REPO = Path(__file__).resolve().parents[1]
INFERNO = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21],
           [250, 193, 39], [252, 255, 164]]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """JPEG and WebP at three qualities on two 384x256 Kodak crops, reconstructions kept."""
    root = tmp_path_factory.mktemp("viewer")
    crops = write_crops(root / "crops", CROPS, height=256, width=384)
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[20, 50, 80],
              metrics=("psnr",), keep_reconstructions=True)
    return store.run_dir


@pytest.fixture(scope="module")
def site(run_dir):
    result = write_site(run_dir)
    assert result.errors == []
    return result


@pytest.fixture(scope="module")
def browser():
    with chromium(1440, 900) as context:
        yield context


def _rows(run_dir: Path) -> pd.DataFrame:
    table = read_results(run_dir)
    return table[table.status == "ok"].reset_index(drop=True)


def _row(run_dir: Path, codec: str, image: str, point: float) -> pd.Series:
    table = _rows(run_dir)
    hit = table[(table.codec == codec) & (table.image == image) & (table.point == point)]
    assert len(hit) == 1
    return hit.iloc[0]


def _pixels(path: Path) -> np.ndarray:
    return load_image(path).pixels


def _open(context, site, fragment: str):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site.out_dir / "view.html").as_uri() + "#" + fragment)
    page.wait_for_selector("body[data-ready]")
    _settle(page)
    page.errors = errors
    return page


def _screen_vs_image(page, layer: str, zoom: int, skip: tuple[float, float] | None = None,
                     pane: str = ".hc-pane-1") -> tuple[np.ndarray, np.ndarray]:
    """The visible part of ``layer`` on screen, and the same region of its image file magnified ``zoom``
    times by pixel repetition (labels at the top of the pane left out; ``skip``: an x range to leave out)."""
    left, top, right, bottom = _rect(page, f"#compare {pane} {layer}")
    assert left == int(left) and top == int(top), "images must sit on whole screen pixels"
    p_left, p_top, p_right, p_bottom = _rect(page, f"#compare {pane}")
    x0, x1 = math.ceil(max(left, p_left)), math.floor(min(right, p_right))
    y0, y1 = math.ceil(max(top, p_top + 34)), math.floor(min(bottom, p_bottom))
    src = page.eval_on_selector(f"#compare {pane} {layer}", "e => e.src")
    image = _pixels(Path(src.removeprefix("file://")))
    shot = screenshot(page)
    ys = (np.arange(y0, y1) - int(top)) // zoom
    xs = (np.arange(x0, x1) - int(left)) // zoom
    keep = np.ones(len(xs), bool) if skip is None else ~((np.arange(x0, x1) >= skip[0]) & (np.arange(x0, x1) < skip[1]))
    return shot[y0:y1, x0:x1][:, keep], image[ys][:, xs][:, keep]


def test_site_files_are_lossless_and_named_by_content(run_dir, site):
    plan = site.plan
    rows = _rows(run_dir)
    assert sorted(plan.pages) == ["kodim04", "kodim23"]
    assert sum(len(p["rows"]) for p in plan.pages.values()) == len(rows) == 12
    for page in plan.pages.values():
        original = _pixels(site.out_dir / page["original"])
        assert np.array_equal(original, _pixels(run_dir.parent / "crops" / f"{page['image']}.png"))
        for shown in page["rows"]:
            row = rows[rows.job_key.str.startswith(shown["id"])].iloc[0]
            kept = run_dir / row["reconstruction"]
            # The kept PNG is plain (no colour chunks): the site links it rather than re-encoding it.
            assert os.path.samefile(site.out_dir / shown["file"], kept)
            diff = _pixels(site.out_dir / shown["diff"])[..., 0]
            assert np.array_equal(diff, difference_map(original, _pixels(kept)))
            assert diff.max() > 0
    # A second build finds every file in place.
    started = time.perf_counter()
    again = write_site(run_dir)
    assert again.files == site.files and time.perf_counter() - started < 10


def test_flip_at_1to1_shows_the_files_pixels_and_the_original_on_its_key(run_dir, site, browser):
    a = _row(run_dir, "jpeg", "kodim23", 20)
    b = _row(run_dir, "webp", "kodim23", 50)
    page = _open(browser, site, f"image=kodim23&a={a.job_key[:12]}&b={b.job_key[:12]}&mode=flip&zoom=1&x=100&y=70")
    # Image pixel (100, 70) is at the centre of the view.
    left, top, _, _ = _rect(page, "#compare .hc-pane-1 .hc-a")
    p_left, p_top, p_right, p_bottom = _rect(page, "#compare .hc-pane-1")
    assert left + 100 == round((p_left + p_right) / 2) and top + 70 == round((p_top + p_bottom) / 2)
    screen, expected = _screen_vs_image(page, ".hc-a", 1)
    assert expected.size > 200 * 200 * 3
    assert np.array_equal(screen, expected)
    # The layer shows this row's file, which holds the kept reconstruction's pixels.
    assert page.eval_on_selector("#compare .hc-a", "e => e.src").endswith(f"/{a.job_key[:12]}.png")

    page.keyboard.press(" ")
    _settle(page)
    assert page.get_attribute("#compare", "data-shown") == "b"
    screen, expected = _screen_vs_image(page, ".hc-b", 1)
    assert np.array_equal(screen, expected)
    assert page.eval_on_selector("#compare .hc-pane-1 .hc-b", "e => e.src").endswith(f"/{b.job_key[:12]}.png")

    page.keyboard.press("o")
    _settle(page)
    assert page.get_attribute("#compare", "data-shown") == "original"
    screen, expected = _screen_vs_image(page, ".hc-o", 1)
    assert np.array_equal(screen, expected)
    original = _pixels(run_dir.parent / "crops" / "kodim23.png")
    left, top, _, _ = _rect(page, "#compare .hc-pane-1 .hc-o")
    shot = screenshot(page)
    # One more direct check against the dataset's original file: the pixel at the view's centre.
    cx, cy = round((p_left + p_right) / 2), round((p_top + p_bottom) / 2)
    assert tuple(shot[cy, cx]) == tuple(original[cy - int(top), cx - int(left)])
    assert "original=1" in page.url
    page.keyboard.press("o")
    assert page.get_attribute("#compare", "data-shown") == "b"
    assert page.errors == []


def _half_up(value: float) -> str:
    # Number.prototype.toFixed(4): the exact binary value rounded half up.
    return str(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _shown_numbers(page, side: str) -> dict[str, tuple[Any, str]]:
    cells = page.eval_on_selector_all(
        f"#side-{side} tr[data-column]",
        "trs => trs.map(t => [t.dataset.column, t.dataset.value === undefined ? null : t.dataset.value,"
        " t.querySelector('td').textContent])")
    return {column: (None if value is None else json.loads(value), text) for column, value, text in cells}


def test_numbers_beside_each_side_equal_the_parquet(run_dir, site, browser):
    table = _rows(run_dir)
    metrics = [c for c in table.columns if c.startswith("psnr_")]
    assert len(metrics) == 4
    a = _row(run_dir, "webp", "kodim04", 80)
    page = _open(browser, site, f"image=kodim04&a={a.job_key[:12]}&b=jpeg")
    for side in ("a", "b"):
        rid = page.get_attribute(f"#side-{side}", "data-row")
        row = table[table.job_key.str.startswith(rid)].iloc[0]
        shown = _shown_numbers(page, side)
        assert page.eval_on_selector(f"#side-{side} .codec-select", "e => e.value") == row["codec"]
        assert {"bpp", *metrics, "file_bytes", "encode_seconds", "decode_seconds"} <= set(shown)
        for column, (value, text) in shown.items():
            if column in ("rate-gap", "point"):
                continue
            assert value == row[column], column  # the exact float of the parquet
            assert text == (str(int(row[column])) if column == "file_bytes" else _half_up(row[column])), column
    assert page.errors == []


def test_side_b_is_rate_matched_to_side_a(run_dir, site, browser):
    table = _rows(run_dir)
    a = _row(run_dir, "jpeg", "kodim23", 50)
    webp = table[(table.codec == "webp") & (table.image == "kodim23")]
    expected = webp.iloc[int(np.argmin(np.abs(np.log(webp.bpp / a.bpp))))]
    page = _open(browser, site, f"image=kodim23&a={a.job_key[:12]}&b=webp")
    assert page.get_attribute("#side-b", "data-row") == expected.job_key[:12]
    assert f"b={expected.job_key[:12]}" in page.url
    # Another point for A: B follows to the webp point closest in bpp.
    low = _row(run_dir, "jpeg", "kodim23", 20)
    page.select_option("#side-a .row-select", low.job_key[:12])
    expected = webp.iloc[int(np.argmin(np.abs(np.log(webp.bpp / low.bpp))))]
    assert page.get_attribute("#side-b", "data-row") == expected.job_key[:12]
    assert _shown_numbers(page, "b")["bpp"][0] == expected.bpp
    # Choosing B's point by hand ends the matching, and the address says so.
    other = webp[webp.job_key != expected.job_key].iloc[0]
    page.select_option("#side-b .row-select", other.job_key[:12])
    assert "match=0" in page.url and page.get_attribute("#side-b", "data-row") == other.job_key[:12]


def test_slider_at_2x_and_the_view_state_in_the_address(run_dir, site, browser):
    a = _row(run_dir, "jpeg", "kodim23", 20)
    b = _row(run_dir, "webp", "kodim23", 20)
    page = _open(browser, site, f"image=kodim23&a={a.job_key[:12]}&b={b.job_key[:12]}&mode=slider&zoom=1&x=190&y=128")
    page.keyboard.press("2")
    _settle(page)
    assert "zoom=2" in page.url and "x=190" in page.url and "y=128" in page.url
    handle = _rect(page, "#compare .hc-handle")
    # Left of the handle: A magnified 2x, pixel for pixel; right of it: B.
    screen, expected_a = _screen_vs_image(page, ".hc-a", 2, skip=(handle[0] - 1, 10**6))
    assert expected_a.shape[1] > 300 and np.array_equal(screen, expected_a)
    screen, expected_b = _screen_vs_image(page, ".hc-b", 2, skip=(0, handle[2] + 1))
    assert expected_b.shape[1] > 300 and np.array_equal(screen, expected_b)
    assert page.eval_on_selector("#compare .hc-a", "e => getComputedStyle(e).imageRendering") == "pixelated"
    # Pan with the keyboard, then open the address in a new page: the same view.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("x")
    # The address follows the view once the page has handled both keys.
    page.wait_for_function("() => location.hash.includes('mode=side') && location.hash.includes('x=210')",
                           timeout=5000)  # 40 screen pixels at 2x
    url = page.url
    assert "mode=side" in url and "x=210" in url
    rect = _rect(page, "#compare .hc-pane-2 .hc-b")
    again = browser.new_page()
    again.goto(url)
    again.wait_for_selector("body[data-ready]")
    _settle(again)
    assert again.url == url and _rect(again, "#compare .hc-pane-2 .hc-b") == rect
    screen, expected = _screen_vs_image(again, ".hc-b", 2, pane=".hc-pane-2")
    assert np.array_equal(screen, expected)
    # Editing the address changes the view in place: 4x at another position, in flip mode.
    again.evaluate("() => { location.hash = location.hash.replace('zoom=2', 'zoom=4').replace('x=210', 'x=50')"
                   ".replace('mode=side', 'mode=flip'); }")
    again.wait_for_function("() => document.querySelector('#compare').getAttribute('data-shown') === 'a'")
    _settle(again)
    assert "zoom=4" in again.url and "x=50" in again.url
    left, _, _, _ = _rect(again, "#compare .hc-pane-1 .hc-a")
    p_left, _, p_right, _ = _rect(again, "#compare .hc-pane-1")
    assert left + 50 * 4 == round((p_left + p_right) / 2)
    screen, expected = _screen_vs_image(again, ".hc-a", 4)
    assert np.array_equal(screen, expected)


def _heat(values: np.ndarray, gain: int) -> np.ndarray:
    """compare.js's colour table: inferno anchors, linear between them, of min(1, gain * e / 255)."""
    v = np.minimum(1.0, gain * values / 255.0) * (len(INFERNO) - 1)
    i = np.minimum(len(INFERNO) - 2, np.floor(v).astype(int))
    t = (v - i)[..., None]
    table = np.asarray(INFERNO, float)
    return table[i] * (1 - t) + table[i + 1] * t


def test_difference_view_is_the_amplified_error_as_a_heat_map(run_dir, site, browser):
    a = _row(run_dir, "jpeg", "kodim23", 20)
    b = _row(run_dir, "webp", "kodim23", 50)
    page = _open(browser, site, f"image=kodim23&a={a.job_key[:12]}&b={b.job_key[:12]}&mode=side&zoom=1&x=190&y=128")
    page.keyboard.press("d")
    page.keyboard.press("g")  # gain 4 -> 8
    _settle(page)
    assert "diff=1" in page.url and "gain=8" in page.url
    assert page.eval_on_selector("#compare .hc-a", "e => e.src").endswith(f"/{a.job_key[:12]}.diff.png")
    screen, grey = _screen_vs_image(page, ".hc-a", 1)
    expected = _heat(grey[..., 0].astype(float), 8)
    assert np.abs(screen.astype(float) - expected).max() <= 2.0
    assert len(np.unique(grey[..., 0])) > 10  # a real error map, not a flat one


def test_index_links_images_and_codecs(run_dir, site, browser):
    page = browser.new_page()
    page.goto((site.out_dir / "index.html").as_uri())
    page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.eval_on_selector_all(".card", "cs => cs.map(c => c.dataset.image)") == ["kodim04", "kodim23"]
    assert page.eval_on_selector_all("#codecs tr[data-codec]", "rs => rs.map(r => r.dataset.codec)") == ["jpeg", "webp"]
    page.click("#codecs tr[data-codec='webp'] a")
    page.wait_for_selector("body[data-ready]")
    assert page.eval_on_selector("#side-a .codec-select", "e => e.value") == "webp"
    assert page.eval_on_selector("#side-b .codec-select", "e => e.value") == "jpeg"


def test_cli_writes_the_site_and_refuses_a_run_without_pixels(run_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "harness.cli", "view", str(run_dir), "--out", str(out)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (out / "index.html").resolve().as_uri()
    assert "2 images, 12 reconstructions" in done.stderr
    crops = write_crops(tmp_path / "crops", CROPS[:1], height=64, width=64)
    bare = RunStore(tmp_path / "bare")
    run_sweep(bare, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[50], keep_bitstreams=False)
    with pytest.raises(ViewerError, match="kept neither bitstream nor reconstruction"):
        write_site(bare.run_dir)
    done = subprocess.run([sys.executable, "-m", "harness.cli", "view", str(bare.run_dir)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2 and "no row has pixels to show" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_rows_without_kept_pngs_are_decoded_from_their_bitstreams(tmp_path):
    """The default run keeps bitstreams only: the site decodes them again, and the pixels are those the
    row's metrics were measured on."""
    from harness.run.reconstruct import pixels_sha256

    crops = write_crops(tmp_path / "crops", CROPS[:1], height=64, width=96)
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[40])
    result = write_site(store.run_dir)
    assert result.errors == []
    rows = _rows(store.run_dir)
    assert rows["reconstruction"].isna().all() and rows["bitstream"].notna().all()
    for shown in result.plan.pages["kodim23"]["rows"]:
        row = rows[rows.job_key.str.startswith(shown["id"])].iloc[0]
        pixels = _pixels(result.out_dir / shown["file"])
        assert pixels_sha256(pixels) == row["reconstruction_sha256"]
        original = _pixels(crops / "kodim23.png")
        assert np.array_equal(_pixels(result.out_dir / shown["diff"])[..., 0], difference_map(original, pixels))


def test_report_and_viewer_find_each_other_whatever_the_order(run_dir, site, browser, tmp_path):
    from harness.render.report import report_run, write_report

    # The viewer was built first (no report then); the report, written now, links it and tells it.
    assert '{"report":null}' in (site.out_dir / "data" / "links.js").read_text()
    report = report_run(run_dir, "jpeg", formats=["html"])
    text = report.files["html"].read_text()
    assert 'href="../viewer/view.html#a=webp&amp;b=jpeg"' in text
    assert 'href="../viewer/index.html"' in text
    page = browser.new_page()
    page.goto((site.out_dir / "index.html").as_uri())
    assert page.get_attribute("#report-link", "href") == "../report/report.html"
    assert not page.eval_on_selector("#report-link", "e => e.hidden")
    # The report page keeps its links when the viewer is there (checked at load time) ...
    page.goto(report.files["html"].as_uri())
    page.wait_for_function("() => window.HARNESS_VIEWER_LINKS !== undefined")
    assert page.eval_on_selector_all("a[href*='view.html']", "as => as.length") >= 1
    # ... and drops them when it is not (a report written where no viewer is).
    alone = write_report(report, tmp_path / "alone", ["html"], viewer=tmp_path / "no-viewer")
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(alone["html"].as_uri())
    page.wait_for_function("() => !document.querySelector('a[href*=\"view.html\"]')")
    assert page.text_content(".viewer-note").startswith("harness view RUN makes a comparison viewer")
    assert [url.rsplit("/", 3)[-3:] for url in failed] == [["no-viewer", "data", "links.js"]]
    # A viewer built after the report links it from the start.
    again = write_site(run_dir, tmp_path / "late-viewer", images=[])
    assert '"report":' in (again.out_dir / "data" / "links.js").read_text()
    assert again.plan.index["report"] is not None


def test_serve_makes_image_files_on_request(run_dir, tmp_path, browser):
    out = tmp_path / "served"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "harness.cli", "view", str(run_dir), "--out", str(out),
                               "--serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving http://127.0.0.1:"), line + server.stderr.read()
        url = line.split()[1]
        assert not (out / "img").exists()  # nothing made before it is asked for
        a = _row(run_dir, "jpeg", "kodim04", 50)
        page = browser.new_page()
        page.goto(url.replace("index.html", "view.html") + f"#image=kodim04&a={a.job_key[:12]}&b=webp&mode=flip&zoom=1")
        page.wait_for_selector("body[data-ready]")
        _settle(page)
        page.wait_for_function("() => document.querySelector('#compare .hc-pane-1 .hc-b').complete")
        b = page.get_attribute("#side-b", "data-row")
        made = sorted(p.name for p in (out / "img").rglob("*.png"))
        # Flip shows A and fetches B ahead: only their files were made, none of the other image.
        assert made == sorted([f"{a.job_key[:12]}.png", f"{b}.png"])
        left, top, right, bottom = _rect(page, "#compare .hc-pane-1 .hc-a")
        shot = screenshot(page)
        recon = _pixels(run_dir / a["reconstruction"])
        p_left, p_top, p_right, p_bottom = _rect(page, "#compare .hc-pane-1")
        y0, x0 = math.ceil(max(top, p_top + 34)), math.ceil(max(left, p_left))
        y1, x1 = math.floor(min(bottom, p_bottom)), math.floor(min(right, p_right))
        assert np.array_equal(shot[y0:y1, x0:x1], recon[y0 - int(top):y1 - int(top), x0 - int(left):x1 - int(left)])
        page.keyboard.press("o")
        _settle(page)
        assert any(p.name.startswith("original-") for p in (out / "img" / "kodim04").iterdir())
    finally:
        server.terminate()
        server.wait(timeout=20)


SCENES = REPO.parent / "shared" / "datasets" / "ml-pico-scenes"
PICO_CODECS = ["pico", "hific", "dcvc-rt", "vvc-published", "bpg-published", "vvc", "avif", "jxl"]


@pytest.mark.slow
def test_match_pico_run_shows_every_codec_at_matched_rates(tmp_path, browser):
    """The PICO study's viewer: published PICO, HiFiC, DCVC-RT, VVC and BPG and our VVC, AVIF and JPEG XL
    searched to PICO's bpp on kodim04, through the command line as the README runs it. Also writes the
    README's screenshots when HARNESS_UPDATE_SCREENSHOTS=1."""
    from tests.conftest import KODAK

    originals = tmp_path / "originals"
    originals.mkdir()
    os.symlink(KODAK / "kodim04.png", originals / "kodim04.png")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_PUBLISHED") and k != "HARNESS_PICO_DIR"}
    env.update(PYTHONPATH=str(REPO), HARNESS_PUBLISHED_DIRS=str(SCENES))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", ",".join(PICO_CODECS),
                           "--dataset", str(originals), "--match", "pico", "--keep-reconstructions",
                           "--metrics", "psnr,ms_ssim", "--results", str(tmp_path), "--run", "pico"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    run_seconds = time.perf_counter() - started
    check_pico_viewer(tmp_path / "pico", browser, tmp_path, env)
    print(f"--match pico run with {len(PICO_CODECS)} codecs on kodim04: {run_seconds:.0f} s")


def check_pico_viewer(run_dir: Path, browser, tmp_path: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "view", str(run_dir)], capture_output=True, text=True, check=False,
                          env=env)
    assert done.returncode == 0, done.stderr
    rows = _rows(run_dir)
    assert set(rows.codec) == set(PICO_CODECS)
    pico = rows[rows.codec == "pico"].iloc[0]
    # One row per codec at PICO's rate (the searches' other encodes are rows too, without a target).
    table = rows[(rows.rate_source == "published") | (rows.target_bpp == pico["bpp"])].set_index("codec")
    assert sorted(table.index) == sorted(PICO_CODECS)

    site = type("Site", (), {"out_dir": run_dir / "viewer"})
    page = _open(browser, site, "image=kodim04&a=pico&b=vvc&mode=flip&zoom=1&x=300&y=580")
    listed = page.eval_on_selector_all("#side-b .codec-select option", "os => os.map(o => o.value)")
    assert listed[0] == "original" and sorted(listed[1:]) == sorted(PICO_CODECS)
    assert page.eval_on_selector("#side-a .codec-select", "e => e.value") == "pico"
    for codec in PICO_CODECS[1:]:
        page.select_option("#side-b .codec-select", codec)
        bpp = _shown_numbers(page, "b")["bpp"][0]
        assert bpp == table.loc[codec, "bpp"]
        if codec in ("vvc", "avif", "jxl"):
            # VVC's fractional QP and JPEG XL's distance land within 2%; one of AVIF's 64 quantizers is ~5%.
            tolerance = 0.06 if codec == "avif" else 0.02
            assert table.loc[codec, "target_bpp"] == pico["bpp"] and abs(bpp / pico["bpp"] - 1) <= tolerance, codec
        else:
            assert table.loc[codec, "rate_source"] == "published"
        assert _shown_numbers(page, "a")["bpp"][0] == pico["bpp"]
    # PICO's published file, pixel for pixel at 1:1; then our VVC at the same rate.
    screen, expected = _screen_vs_image(page, ".hc-a", 1)
    assert np.array_equal(screen, expected)
    assert np.array_equal(_pixels(run_dir / "viewer" / page.eval_on_selector("#compare .hc-a", "e => e.src")
                                  .split("/viewer/")[1]), _pixels(SCENES / "kodak_kodim04" / "pico.png"))
    page.select_option("#side-b .codec-select", "vvc")
    page.keyboard.press(" ")
    _settle(page)
    screen, expected = _screen_vs_image(page, ".hc-b", 1)
    assert np.array_equal(screen, expected)

    # The README's pictures: the slider at 2x on the lips (PICO against JPEG XL at its rate), and the
    # difference view side by side.
    shots = tmp_path / "shots"
    shots.mkdir()
    page.goto(page.url.split("#")[0] + "#image=kodim04&a=pico&b=jxl&mode=slider&zoom=2&x=250&y=470&split=0.5")
    page.wait_for_selector("body[data-ready]")
    _settle(page)
    page.screenshot(path=str(shots / "viewer-slider-2x.png"))
    page.keyboard.press("x")
    page.keyboard.press("d")
    page.keyboard.press("1")
    page.keyboard.press("ArrowUp")  # a little above the centre at 1:1: the face
    _settle(page)
    page.screenshot(path=str(shots / "viewer-difference.png"))
    if os.environ.get("HARNESS_UPDATE_SCREENSHOTS") == "1":
        for shot in shots.iterdir():
            (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
            (REPO / "docs" / "img" / shot.name).write_bytes(shot.read_bytes())
