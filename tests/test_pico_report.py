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

from harness.codecs import get_codec
from harness.sources import published
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.run.runner import _codec, run_sweep
from harness.run.store import RunStore, read_results
from harness.studies.pico.report import (
    caveat_cases,
    equal_rate,
    summary_markdown,
    write_summary,
)
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
    assert f"+{_psnr(SCENES / 'kodak_kodim04' / 'dcvc.png') - pico:.2f} (pico better 0/1)" in text
    assert "JPEG XL is not in this run" in text
    assert "BD-rate needs two or more" in text
    assert "pico / kodim05: CodecError: no published reconstruction of pico for image kodim05" in text
    assert "Needs PSNR and LPIPS or DISTS" in text


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
    assert vvc.loc[0.2, "psnr_rgb:delta"] == pytest.approx(1.0)
    assert vvc.loc[0.25, "psnr_rgb:delta"] == pytest.approx(1.5)
    assert set(vvc["how"]) == {"matched"}
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
    assert summary.failed == 5  # the five published codecs on kodim05, nothing else
    for codec in ("vvc", "avif", "jxl"):
        row = ok.loc[codec]
        assert row["image"] == "kodim04" and row["target_bpp"] == 0.297
        assert abs(row["bpp"] / row["target_bpp"] - 1) <= 0.02, (codec, row["bpp"])
        assert row["rate_source"] == "measured" and row["search_encodes"] >= 1
    # Our encoders never ran on kodim05: PICO has no point there to match.
    assert set(table[table.codec.isin(["vvc", "avif", "jxl"])]["image"]) == {"kodim04"}

    result, path = write_summary(store.run_dir, "pico")
    text = path.read_text()
    p = result.pairs.set_index("codec")
    # At PICO's rate, VVC has the higher PSNR and PICO the far lower LPIPS and DISTS: the paper's caveat.
    assert p.loc["vvc", "psnr_rgb:delta"] > 2.0
    assert p.loc["vvc", "lpips_alex:anchor_better"] == True and p.loc["vvc", "dists:anchor_better"] == True  # noqa: E712
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
