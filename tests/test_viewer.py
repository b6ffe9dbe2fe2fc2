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
from harness.render.viewer.site import difference_map
from harness.run.runner import run_sweep
from harness.run.store import RunStore, read_results
from tests.browser import chromium, screenshot
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
    with chromium() as context:
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


def _settle(page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('#compare .hc-img')].filter(i => i.style.display !== 'none')"
        ".every(i => i.complete && i.naturalWidth > 0)")


def _rect(page, selector: str) -> list[float]:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                           " return [r.left, r.top, r.right, r.bottom]; }")


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
