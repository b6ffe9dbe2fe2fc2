"""Honest comparisons in ``harness view``: metrics are coloured only between sides at the same rate (a
--match pair, or within the run's rate tolerance), the rate gap is always on screen, and the RD chart beside
the images picks the sides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.codecs import get_codec
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.render.viewer import write_site
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.browser import chromium, rect, screenshot, settle
from tests.runs import write_crops
from tests.test_viewer_display import open_view


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    """JPEG at qualities 30 and 70 on two 128x96 Kodak crops, WebP searched to JPEG's bpp on each (--match)."""
    root = tmp_path_factory.mktemp("pairs")
    crops = write_crops(root / "crops")
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[30, 70],
              match="jpeg", metrics=("psnr",), keep_reconstructions=True)
    result = write_site(store.run_dir)
    assert result.errors == []
    table = read_results(store.run_dir)
    return result, table[table.status == "ok"].reset_index(drop=True)


@pytest.fixture(scope="module")
def browser():
    with chromium(1440, 900) as context:
        yield context


def coloured(page, side: str) -> list[str]:
    return page.eval_on_selector_all(f"#side-{side} tr.better, #side-{side} tr.worse", "ts => ts.map(t => t.className)")


def test_matched_pair_is_coloured_and_unmatched_pair_shows_the_gap(matched, browser):
    site, rows = matched
    jpeg = rows[(rows.codec == "jpeg") & (rows.image == "kodim23")].sort_values("bpp")
    webp = rows[(rows.codec == "webp") & (rows.image == "kodim23")]
    # The default pair is the --match pair: JPEG's middle point and the WebP row searched to its bpp.
    page = open_view(browser, site, "image=kodim23")
    a = rows[rows.job_key.str.startswith(page.get_attribute("#side-a", "data-row"))].iloc[0]
    b = rows[rows.job_key.str.startswith(page.get_attribute("#side-b", "data-row"))].iloc[0]
    assert a.codec == "jpeg" and b.codec == "webp" and b.target_bpp == a.bpp
    gap = round((b.bpp / a.bpp - 1) * 100)
    sign = "+" if gap > 0 else "\u2212" if gap < 0 else "\u00b1"
    assert page.text_content("#rate-gap") == f"same rate (B {sign}{abs(gap)}% bits)"
    psnr = [c for c in rows.columns if c.startswith("psnr_")]
    better_b = sum(b[c] > a[c] for c in psnr)
    assert len(coloured(page, "a")) == len(coloured(page, "b")) == len(psnr)
    assert coloured(page, "b").count("better") == better_b and coloured(page, "a").count("better") == len(psnr) - better_b
    # A at JPEG's other point, B left where it was (chosen by hand): rates differ, no colour, the gap shown.
    other = jpeg[jpeg.job_key != a.job_key].iloc[0]
    page.goto(page.url.split("#")[0] + f"#image=kodim23&a={other.job_key[:12]}&b={b.job_key[:12]}&match=0")
    page.wait_for_function(f"() => document.querySelector('#side-a').dataset.row === '{other.job_key[:12]}'")
    gap = b.bpp / other.bpp - 1
    assert abs(gap) > 0.02
    text = page.text_content("#rate-gap")
    assert text.startswith("B ") and text.endswith("% bits vs A: rates differ, metrics not coloured")
    assert f"{abs(round(gap * 100))}% bits" in text
    assert coloured(page, "a") == coloured(page, "b") == []
    assert page.text_content("#side-b tr[data-column='rate-gap'] td").endswith("% bits")
    assert len(webp) >= 2
    assert page.problems == []


def test_clicking_the_rd_chart_sets_the_sides(matched, browser):
    site, rows = matched
    page = open_view(browser, site, "image=kodim13&mode=flip&zoom=1&x=64&y=48")
    points = page.eval_on_selector_all("#chart .rd-hit", "hs => hs.map(h => h.dataset.key)")
    here = rows[rows.image == "kodim13"]
    assert sorted(points) == sorted(k[:12] for k in here.job_key)
    # The WebP row farthest in bpp from every JPEG row (matched rows sit on top of each other).
    jpeg_bpp = here[here.codec == "jpeg"].bpp.to_numpy()
    webp = here[here.codec == "webp"]
    target = webp.iloc[int(np.argmax([np.abs(np.log(jpeg_bpp / b)).min() for b in webp.bpp]))]
    page.click(f"#chart .rd-hit[data-key='{target.job_key[:12]}']")
    settle(page)
    assert page.get_attribute("#side-a", "data-row") == target.job_key[:12]
    # Side A now draws that row's pixels, one to one.
    left, top, right, bottom = (round(v) for v in rect(page, "#compare .hc-pane-1 .hc-a"))
    shot = screenshot(page)
    pixels = load_image(Path(site.out_dir) / f"img/kodim13/{target.job_key[:12]}.png").pixels
    assert np.array_equal(shot[top + 40:bottom, left:right], pixels[40:])
    # Shift-click sets B; the marks follow, and hovering reads the row's numbers.
    jpeg = here[here.codec == "jpeg"].sort_values("bpp").iloc[-1]
    page.click(f"#chart .rd-hit[data-key='{jpeg.job_key[:12]}']", modifiers=["Shift"])
    assert page.get_attribute("#side-b", "data-row") == jpeg.job_key[:12]
    assert page.get_attribute("#chart .rd-mark-a", "cx") == page.get_attribute(
        f"#chart .rd-point[data-key='{target.job_key[:12]}']", "cx")
    page.hover(f"#chart .rd-hit[data-key='{jpeg.job_key[:12]}']")
    assert page.text_content("#chart-readout").startswith(
        f"jpeg quality=70, bpp {jpeg.bpp:.4f}, PSNR (RGB) {jpeg.psnr_rgb:.4f} dB")
    # The run mean: one point per operating point, the mean over both images.
    page.select_option("#chart-scope", "mean")
    means = page.eval_on_selector_all("#chart .rd-series[data-series='jpeg'] .rd-point", "ps => ps.length")
    assert means == 2
    expected = rows[rows.codec == "jpeg"].groupby("point").bpp.mean()
    index = site.plan.index["mean_curves"]["jpeg"]
    assert [p["bpp"] for p in index] == pytest.approx(sorted(expected))
    assert page.problems == []


def test_detail_maps_are_the_detail_metric_through_the_colour_key(matched, browser, tmp_path):
    from harness.metrics.detail import detail_map
    from harness.render.viewer.assets import map_colours, map_levels

    site, rows = matched
    built = write_site(site.plan.run_dir, tmp_path / "site", detail_maps=True)
    assert built.errors == []
    a = rows[(rows.image == "kodim23") & (rows.codec == "jpeg")].sort_values("bpp").iloc[0]
    page = open_view(browser, built, f"image=kodim23&a={a.job_key[:12]}&b=webp&mode=flip&zoom=4&x=64&y=48")
    page.keyboard.press("m")
    settle(page)
    assert page.get_attribute("#compare", "data-map") == "invented" and "map=invented" in page.url
    assert page.eval_on_selector("#compare .hc-a", "e => e.src").endswith(f"/{a.job_key[:12]}.invented.png")
    original = load_image(site.plan.run_dir.parent / "crops" / "kodim23.png").pixels
    recon = load_image(Path(site.out_dir) / f"img/kodim23/{a.job_key[:12]}.png").pixels
    expected = map_levels(detail_map(original, recon, "invented"))
    assert len(np.unique(expected)) > 20
    colours = map_colours().astype(int)
    assert len({tuple(c) for c in colours}) >= 64
    left, top, right, bottom = (round(v) for v in rect(page, "#compare .hc-pane-1 .hc-a"))
    p_left, p_top, p_right, p_bottom = rect(page, "#compare .hc-pane-1")
    y0, x0 = max(top, int(p_top) + 40), max(left, int(p_left) + 1)
    y1, x1 = min(bottom, int(p_bottom) - 30), min(right, int(p_right) - 1)
    shot = screenshot(page)[y0:y1, x0:x1].astype(int)
    # Each drawn colour read back through the key: the level it stands for, within one of detail_map's.
    levels = np.argmin(((shot[..., None, :] - colours[None, None]) ** 2).sum(-1), axis=-1)
    want = expected[(np.arange(y0, y1) - top) // 4][:, (np.arange(x0, x1) - left) // 4]
    assert np.abs(levels - want.astype(int)).max() <= 1
    # The key in the page: 256 levels of the same colours, its scale printed.
    key = rect(page, "#map-key-bar")
    bar = screenshot(page)[round(key[1]) + 5, round(key[0]):round(key[0]) + 256].astype(int)
    assert np.abs(bar - colours).max() <= 1
    assert page.eval_on_selector_all("#map-key-scale span", "s => s.map(e => e.textContent)") == \
        ["0", "0.25", "0.5", "0.75", "\u22651"]
    page.keyboard.press("m")
    settle(page)
    assert page.get_attribute("#compare", "data-map") == "lost"
    assert page.eval_on_selector("#compare .hc-a", "e => e.src").endswith(f"/{a.job_key[:12]}.lost.png")
    # The difference map has its key too: error levels 0 .. 255/gain.
    page.keyboard.press("d")
    settle(page)
    assert page.get_attribute("#compare", "data-map") == "difference"
    assert page.eval_on_selector_all("#map-key-scale span", "s => s.map(e => e.textContent)") == \
        ["0", "16", "32", "48", "\u226564"]
    assert page.problems == []


def _geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def test_matched_pairs_page_summarises_the_rows(matched, browser):
    site, rows = matched
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda req: problems.append(req.url))
    page.goto((site.out_dir / "pairs.html").as_uri() + "#x=jpeg&y=webp&by=rate&metric=psnr_rgb")
    page.wait_for_selector("body[data-ready]")
    # At the same rate: per JPEG row, the WebP row --match searched to its bpp (or within 2%), closest.
    ratios = []
    for _, group in rows.groupby("image"):
        webp = group[group.codec == "webp"]
        for x in group[group.codec == "jpeg"].itertuples():
            same = webp[(webp.target_bpp == x.bpp) | (np.maximum(webp.bpp, x.bpp) / np.minimum(webp.bpp, x.bpp) - 1
                                                      <= 0.02 + 1e-12)]
            if len(same):
                ratios.append(float(same.bpp.iloc[int(np.argmin(np.abs(np.log(same.bpp / x.bpp))))] / x.bpp))
    assert len(ratios) == 4
    shown = float(page.get_attribute("#pair-summary", "data-geomean"))
    assert shown == pytest.approx(_geomean(ratios), rel=1e-12)
    assert page.text_content("#pair-summary").startswith(f"4 pairs: webp uses {_geomean(ratios):.3f}x the bits")
    # At the same quality: WebP's bpp at JPEG's PSNR, log-bpp interpolated on each image's WebP rows.
    page.select_option("#pair-by", "quality")
    ratios = []
    for _, group in rows.groupby("image"):
        webp = group[group.codec == "webp"].sort_values("psnr_rgb")
        for x in group[group.codec == "jpeg"].itertuples():
            if webp.psnr_rgb.min() <= x.psnr_rgb <= webp.psnr_rgb.max():
                ratios.append(float(np.exp(np.interp(x.psnr_rgb, webp.psnr_rgb, np.log(webp.bpp))) / x.bpp))
    assert ratios
    assert float(page.get_attribute("#pair-summary", "data-geomean")) == pytest.approx(_geomean(ratios), rel=1e-9)
    # Sorted by ratio on a click of its heading; a click on a row opens that pair.
    page.click("#pairs th[data-key='ratio']")
    shown_ratios = [float(r) for r in page.eval_on_selector_all("#pairs tr[data-ratio]", "rs => rs.map(r => r.dataset.ratio)")]
    assert shown_ratios == sorted(shown_ratios) and len(shown_ratios) == len(ratios)
    page.click("#pairs tr[data-ratio] td:nth-child(3)")
    page.wait_for_selector("body[data-ready]")
    assert "view.html#image=" in page.url and page.eval_on_selector("#side-a .codec-select", "e => e.value") == "jpeg"
    assert problems == []
