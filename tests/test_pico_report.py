"""The PICO study end to end: published reconstructions, our codecs rate-matched to PICO's bpp per image
(``--match pico``), and the equal-bitrate summary (``harness report RUN --anchor pico --summary``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.claims.pico.report import (
    caveat_cases,
    equal_rate,
    summary_markdown,
    write_summary,
)
from harness.codecs import get_codec
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.published import config as published
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from harness.run.worker import _codec
from tests.conftest import KODAK, SHARED

SCENES = SHARED / "datasets" / "ml-pico-scenes"
VIEWER = ["pico", "hific", "dcvc-rt", "vvc-published", "bpg-published"]


@pytest.fixture(autouse=True)
def _pico_dir(monkeypatch):
    for name in (published.ENV_PICO, published.ENV_DIRS, published.ENV_CONFIG):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    _codec.cache_clear()
    yield
    _codec.cache_clear()


@pytest.fixture()
def kodim04(tmp_path) -> Path:
    folder = tmp_path / "originals"
    folder.mkdir()
    os.symlink(KODAK / "kodim04.png", folder / "kodim04.png")
    os.symlink(KODAK / "kodim05.png", folder / "kodim05.png")  # no published reconstruction
    return folder


def _psnr(path: Path) -> float:
    a = load_image(KODAK / "kodim04.png").pixels.astype(float)
    b = load_image(path).pixels.astype(float)
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


def test_equal_rate_summary_of_published_codecs(kodim04, tmp_path):
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(kodim04)), [get_codec(n) for n in VIEWER])
    result = equal_rate(read_results(store.run_dir), "pico", run="run")
    pairs = result.pairs.set_index("codec")
    assert sorted(pairs.index) == sorted(VIEWER[1:]) and set(pairs["image"]) == {"kodim04"}
    assert (pairs["how"] == "published").all()
    assert pairs.loc["dcvc-rt", "rate_gap"] == pytest.approx(0.327 / 0.297 - 1)
    pico = _psnr(SCENES / "kodak_kodim04" / "pico.png")
    for codec, file in [("hific", "hific"), ("dcvc-rt", "dcvc"), ("vvc-published", "vvc"), ("bpg-published", "bpg")]:
        expected = _psnr(SCENES / "kodak_kodim04" / f"{file}.png") - pico
        assert pairs.loc[codec, "psnr_rgb:delta"] == pytest.approx(expected, abs=1e-9)
        assert not pairs.loc[codec, "psnr_rgb:anchor_better"]  # every codec of the viewer beats PICO on PSNR
    text = summary_markdown(result)
    assert f"| kodim04 | **pico** | 0.297 | {pico:.2f} |" in text
    dcvc = _psnr(SCENES / 'kodak_kodim04' / 'dcvc.png') - pico
    # DCVC-RT spends 10% more bits than PICO and wins on PSNR: not a comparison at equal rate.
    assert f"| +{dcvc:.2f} **inconclusive** |" in text
    assert "| dcvc-rt | 1 | +10.1% mean gap (up to 10.1%): not equal |" in text
    # HiFiC is within 2% of PICO's rate (0.300 vs 0.297): at equal rate, and better on PSNR.
    assert "| hific | 1 | equal (gap ≤ 1.0%) | " in text
    hific_row = next(line for line in text.splitlines() if line.startswith("| hific |"))
    assert hific_row.endswith("**rival** |")
    assert "JPEG XL is not in this run" in text
    assert "BD-rate needs two or more" in text
    # Images the authors never published are a gap, not a failure.
    assert "## Not published" in text and "- pico: kodim05" in text
    assert text.split("## Rows that failed")[1].strip().startswith("None.")
    assert "Needs PSNR and LPIPS or DISTS" in text
    assert text.index("## Verdict") < text.index("## Rates") < text.index("## Per image")

    # The generic report of the same run leads with the verdict, shows no all-n/a BD table, folds its
    # diagnostics away and counts never-published images apart from failures.
    from harness.render.report import report_run

    report = report_run(store.run_dir, "pico", ["psnr_rgb"])
    md = (store.run_dir / "report" / "report.md").read_text()
    assert md.index("## At pico's rates") < md.index("## Codecs")
    assert "## BD-rate" not in md and "## BD-quality" not in md and "pico has one point per image" in md
    assert "<details><summary>Diagnostics" in md
    codecs = report.summary.set_index("codec")
    assert (codecs["failed"] == 0).all() and (codecs["absent"] == 1).all() and (codecs["points_per_image"] == 1).all()
    html_page = (store.run_dir / "report" / "report.html").read_text()
    assert "<table>" in html_page.split("At pico")[1] and "<details>" in html_page


def test_pairing_uses_matched_rows_and_refuses_far_points():
    """Pairing rules on a results table: a rate-matched row pairs by its target; a published point pairs
    with its nearest anchor point only, and not beyond the maximum gap."""
    rows = [
        {"codec": "pico", "image": "a", "bpp": 0.2, "target_bpp": None, "psnr_rgb": 30.0},
        {"codec": "pico", "image": "a", "bpp": 0.25, "target_bpp": None, "psnr_rgb": 33.0},
        {"codec": "vvc", "image": "a", "bpp": 0.203, "target_bpp": 0.2, "psnr_rgb": 31.0},
        {"codec": "vvc", "image": "a", "bpp": 0.252, "target_bpp": 0.25, "psnr_rgb": 34.5},
        {"codec": "hific", "image": "a", "bpp": 0.21, "target_bpp": None, "psnr_rgb": 29.0},
        {"codec": "bpg", "image": "a", "bpp": 0.9, "target_bpp": None, "psnr_rgb": 38.0},
    ]
    df = pd.DataFrame([{**r, "status": "ok", "codec_name": r["codec"], "rate_source": "measured",
                        "error": None, "point": r["bpp"]} for r in rows])
    result = equal_rate(df, "pico", ["psnr_rgb"])
    p = result.pairs
    vvc = p[p.codec == "vvc"].set_index("anchor_bpp")
    # 0.2 bpp lies below VVC's curve on this image (0.203-0.252): its matched row, 1.5% off, stands.
    assert vvc.loc[0.2, "psnr_rgb:delta"] == pytest.approx(1.0)
    assert vvc.loc[0.2, "how"] == "matched"
    # 0.25 bpp lies on it: read at exactly 0.25 (two points: linear in log bpp), the 0.252 encode beside.
    on_curve = 31.0 + 3.5 * np.log(0.25 / 0.203) / np.log(0.252 / 0.203)
    assert vvc.loc[0.25, "how"] == "interpolated" and vvc.loc[0.25, "bpp"] == 0.25
    assert vvc.loc[0.25, "psnr_rgb:delta"] == pytest.approx(on_curve - 33.0, abs=1e-12)
    assert vvc.loc[0.25, "psnr_rgb:nearest"] == 34.5 and vvc.loc[0.25, "rate_gap"] == 0.0
    hific = p[p.codec == "hific"]
    assert hific["anchor_bpp"].tolist() == [0.2] and bool(hific["psnr_rgb:anchor_better"].iloc[0])
    why = result.unpaired.set_index(["codec", "anchor_bpp"])["why"]
    assert "nearer the anchor's 0.2 bpp" in why[("hific", 0.25)]
    assert "more than 25%" in why[("bpg", 0.2)]
    assert result.bd is not None  # two anchor points per image: BD-rate is computed too


@pytest.mark.slow
def test_match_pico_with_vvc_avif_jxl_and_summary(kodim04, tmp_path):
    """The study on the Kodak scene: published codecs, and our VVC, AVIF and JPEG XL searched to PICO's
    bpp within 2%; PSNR, MS-SSIM, LPIPS and DISTS; the summary answers the questions with these numbers."""
    store = RunStore(tmp_path / "study")
    codecs = [get_codec(n) for n in [*VIEWER, "vvc", "avif", "jxl"]]
    started = time.perf_counter()
    summary = run_sweep(store, resolve_dataset(str(kodim04)), codecs, match="pico", tolerance=0.02,
                        metrics=("psnr", "ms_ssim", "lpips", "dists"))
    seconds = time.perf_counter() - started
    table = read_results(store.run_dir)
    ok = table[table.status == "ok"].set_index("codec")
    assert summary.failed == 0  # the five published codecs have nothing for kodim05: absent, not failed
    assert (table[table.image == "kodim05"].status == "absent").sum() == 5
    for codec in ("vvc", "avif", "jxl"):
        rows = ok.loc[[codec]]
        row = rows[rows["target_bpp"].notna()].iloc[0]  # the searched row; the others are its search encodes
        assert row["image"] == "kodim04" and row["target_bpp"] == 0.297
        # VVC's fractional QP and JPEG XL's distance land within 2%; AVIF's 64 quantizers may not, and is
        # then compared on its own curve at exactly 0.297 bpp (below).
        if codec != "avif":
            assert abs(row["bpp"] / row["target_bpp"] - 1) <= 0.02, (codec, row["bpp"])
        assert row["rate_source"] == "measured" and row["search_encodes"] >= 1
        assert set(rows["role"].dropna()) <= {"search"}
    # Our encoders never ran on kodim05: PICO has no point there to match.
    assert set(table[table.codec.isin(["vvc", "avif", "jxl"])]["image"]) == {"kodim04"}

    result, path = write_summary(store.run_dir, "pico")
    text = path.read_text()
    p = result.pairs.set_index("codec")
    assert (p.loc[["vvc", "avif", "jxl"], "bpp"] == 0.297).all()  # all at exactly PICO's rate
    # At PICO's rate, VVC has the higher PSNR and PICO the far lower LPIPS and DISTS: the paper's caveat.
    assert p.loc["vvc", "psnr_rgb:delta"] > 2.0
    assert p.loc["vvc", "lpips_alex:anchor_better"] == True and p.loc["vvc", "dists:anchor_better"] == True
    cases = caveat_cases(result)
    assert {"vvc", "avif", "jxl"} <= set(cases["codec"])
    assert "pico loses on PSNR but wins on a perceptual metric" in text
    assert "**jxl** (not tested in the paper)" in text
    assert f"{p.loc['jxl', 'bpp']:.4g}" in text
    cli = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(store.run_dir), "--anchor", "pico",
                          "--summary", "--format", "md"], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert (store.run_dir / "report" / "summary.md").read_text() == text
    print(f"--match pico with vvc, avif, jxl on kodim04 and 4 metrics: {seconds:.0f} s")


def test_integer_knob_is_compared_at_the_exact_anchor_rate(kodim04, tmp_path):
    """HEVC's integer QP cannot hit PICO's 0.297 bpp on kodim04; the rate search's bracketing encodes are kept
    as rows (role "search"), the summary reads HEVC's PSNR at exactly 0.297 bpp on its own curve, and the
    command line names every row that missed the tolerance."""
    env = {**os.environ, published.ENV_PICO: str(SCENES), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = [sys.executable, "-m", "harness.cli", "run", "--codecs", "pico,hevc", "--dataset", str(kodim04),
            "--results", str(tmp_path), "--run", "m", "--match", "pico", "--metrics", "psnr"]
    cli = subprocess.run(args, capture_output=True, text=True, env=env)
    said = " ".join((cli.stdout + cli.stderr).split())  # rich wraps long lines
    assert cli.returncode == 0, said  # kodim05 was never published: not a failure
    assert "0 failed, 1 not published" in said  # only pico on kodim05; hevc has no target there
    table = read_results(tmp_path / "m")
    hevc = table[(table.codec == "hevc") & (table.status == "ok")]
    target = hevc[hevc.target_bpp.notna()].iloc[0]
    search = hevc[hevc.role == "search"]
    assert target.target_bpp == 0.297 and len(search) == 2
    assert search.bpp.min() < 0.297 < search.bpp.max()  # one encode each side of PICO's rate
    gap = target.bpp / 0.297 - 1
    assert (f"hevc kodim04: target 0.297 bpp, got {target.bpp:.4g} ({gap:+.1%})" in said) == (abs(gap) > 0.02)

    result = equal_rate(table, "pico", ["psnr_rgb"])
    pair = result.pairs.set_index("codec").loc["hevc"]
    assert pair["how"] == "interpolated" and pair["bpp"] == 0.297 and pair["rate_gap"] == 0.0
    curve = hevc.sort_values("bpp")
    from harness.analysis.bdrate import quality_at_rate

    expected = quality_at_rate(curve.bpp, curve.psnr_rgb, 0.297)
    assert pair["psnr_rgb:codec"] == pytest.approx(expected, abs=1e-12)
    assert pair["psnr_rgb:nearest"] == pytest.approx(target.psnr_rgb)
    lo, hi = curve[curve.bpp < 0.297].psnr_rgb.max(), curve[curve.bpp > 0.297].psnr_rgb.min()
    assert lo < pair["psnr_rgb:codec"] < hi
    text = summary_markdown(result)
    assert "| hevc | 1 | exact (interpolated on its curve) |" in text


def test_published_rival_at_a_different_rate_is_never_silently_equal():
    from harness.analysis.equal_rate import outcome

    # Within the tolerance: an equal-rate comparison.
    assert outcome(+1.0, 0.01, True, 0.02) == "codec" and outcome(-1.0, -0.019, True, 0.02) == "anchor"
    # The rival spends 10% more bits: the anchor winning is "at a lower rate"; the rival winning proves nothing.
    assert outcome(-1.0, 0.10, True, 0.02) == "anchor at lower rate"
    assert outcome(+1.0, 0.10, True, 0.02) == "inconclusive"
    # Lower is better (LPIPS): a rival 10% cheaper with lower LPIPS wins at a lower rate.
    assert outcome(-0.01, -0.10, False, 0.02) == "codec at lower rate"
    assert outcome(+0.01, -0.10, False, 0.02) == "inconclusive"
