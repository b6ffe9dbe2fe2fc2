"""Distortion metrics: calibration against the official values, equality with direct pyiqa calls, edge
cases (identical images, small images, missing weights), VMAF, and adding metrics to a finished run."""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import KODAK, REPO, SHARED

CALIBRATION = SHARED / "metrics-calibration"


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _official() -> dict[str, dict[str, float]]:
    with (CALIBRATION / "results_official.csv").open() as handle:
        rows = list(csv.reader(handle))
    files = rows[0][1:]
    return {row[0]: dict(zip(files, map(float, row[1:]))) for row in rows[1:]}


CALIBRATION_FILES = ("I03.bmp", "I04.bmp", "I06.bmp", "I08.bmp", "I19.bmp")


@pytest.fixture(scope="module")
def crop() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 192x256 Kodak crop (large enough for MS-SSIM's 5 scales) and two JPEG reconstructions."""
    ref = _rgb(KODAK / "kodim23.png")[100:292, 200:456].copy()
    return ref, _jpeg(ref, 25), _jpeg(ref, 70)


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 96x128 Kodak crop and two JPEG reconstructions (cheap for the VGG networks)."""
    ref = _rgb(KODAK / "kodim23.png")[150:246, 300:428].copy()
    return ref, _jpeg(ref, 25), _jpeg(ref, 70)


def _pyiqa_direct(name: str, dist: np.ndarray, ref: np.ndarray) -> float:
    from harness.metrics.perceptual import load_network, to_tensor

    return float(load_network(name)(to_tensor(dist), to_tensor(ref)))


# --- calibration -------------------------------------------------------------------------------------

def test_psnr_matches_official_calibration():
    from harness.metrics import get_metric

    official = _official()["psnr"]
    metric = get_metric("psnr")
    for name in CALIBRATION_FILES:
        ref, dist = _rgb(CALIBRATION / "ref_dir" / name), _rgb(CALIBRATION / "dist_dir" / name)
        value = metric.compute(ref, dist, metric.prepare(ref))["psnr_rgb"]
        assert abs(value - official[name]) <= 0.01, (name, value, official[name])


@pytest.mark.slow
@pytest.mark.parametrize("metric_name,column,official_row", [("lpips", "lpips_alex", "lpips"), ("dists", "dists", "dists")])
def test_perceptual_matches_official_calibration(metric_name, column, official_row):
    from harness.metrics import get_metric

    official = _official()[official_row]
    metric = get_metric(metric_name)
    for name in CALIBRATION_FILES:
        ref, dist = _rgb(CALIBRATION / "ref_dir" / name), _rgb(CALIBRATION / "dist_dir" / name)
        value = metric.compute(ref, dist, metric.prepare(ref))[column]
        assert abs(value - official[name]) <= 1e-3, (name, value, official[name])


@pytest.mark.slow
def test_ms_ssim_y_is_pyiqa_and_near_official_matlab():
    from harness.metrics import get_metric

    official = _official()["ms_ssim"]
    metric = get_metric("ms_ssim")
    for name in ("I03.bmp", "I08.bmp"):
        ref, dist = _rgb(CALIBRATION / "ref_dir" / name), _rgb(CALIBRATION / "dist_dir" / name)
        value = metric.compute(ref, dist, None)["ms_ssim_y"]
        # pyiqa's own documented deviation from the MATLAB code is up to 4.4e-3 on this set.
        assert abs(value - official[name]) <= 4.5e-3, (name, value, official[name])


# --- equality with direct pyiqa calls ----------------------------------------------------------------

@pytest.mark.parametrize("metric_name", ["lpips", "lpips_vgg", "dists"])
def test_cached_reference_equals_direct_pyiqa(small, metric_name):
    from harness.metrics import MetricSuite

    ref, low, high = small
    suite = MetricSuite((metric_name,))
    column = suite.metrics[0].columns[0].name
    pyiqa_name = suite.metrics[0].pyiqa_name
    for dist in (low, high, low):  # the reference features are prepared once and reused
        values, errors = suite.evaluate("kodim23-crop", ref, dist)
        assert not errors
        assert values[column] == pytest.approx(_pyiqa_direct(pyiqa_name, dist, ref), abs=1e-6)
    assert len(suite._prepared) == 1
    assert suite.evaluate("kodim23-crop", ref, low)[0][column] > suite.evaluate("kodim23-crop", ref, high)[0][column] > 0


@pytest.mark.parametrize("metric_name", ["lpips", pytest.param("lpips_vgg", marks=pytest.mark.slow),
                                         pytest.param("dists", marks=pytest.mark.slow)])
def test_tiled_evaluation_equals_full_image(metric_name):
    """Tiles of 128 px with the production halo give the full image's value (the 12 MP path): on a
    384x384 image, the corner tiles (256 px) really cut the image, so the halo is what makes them exact."""
    from harness.metrics import get_metric

    ref = _rgb(KODAK / "kodim05.png")[64:448, 200:584].copy()
    low = _jpeg(ref, 15)
    metric = get_metric(metric_name)
    full = metric.compute(ref, low, metric.prepare(ref))[metric.column]
    tiled = metric.tiled(ref, low, core=128)
    assert tiled == pytest.approx(full, abs=1e-6)
    # A halo smaller than the receptive field is measurably wrong.
    assert abs(metric.tiled(ref, low, core=128, halo=16) - full) > 1e-5


def test_tiling_is_used_above_the_pixel_budget(monkeypatch, small):
    from harness.metrics import get_metric, perceptual

    ref, low, _ = small
    metric = get_metric("lpips")
    full = metric.compute(ref, low, metric.prepare(ref))["lpips_alex"]
    monkeypatch.setattr(perceptual, "TILE_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(perceptual, "TILE_CORE", 64)
    assert metric.prepare(ref) is None
    assert metric.compute(ref, low, None)["lpips_alex"] == pytest.approx(full, abs=1e-6)


@pytest.mark.parametrize("metric_name", ["lpips", pytest.param("lpips_vgg", marks=pytest.mark.slow),
                                         pytest.param("dists", marks=pytest.mark.slow)])
def test_streamed_evaluation_equals_full_image(metric_name):
    """The large-image path: bands of 40 rows (odd sizes, no multiple of any stride) through the whole
    trunk give the full image's value, and the original's spooled features serve every reconstruction."""
    from harness.metrics import get_metric

    ref = _rgb(KODAK / "kodim05.png")[64:347, 200:501].copy()
    metric = get_metric(metric_name)
    prepared = metric.prepare(ref)
    for dist in (_jpeg(ref, 15), _jpeg(ref, 60)):
        full = metric.compute(ref, dist, prepared)[metric.column]
        assert metric.streamed(ref, dist, rows=40) == pytest.approx(full, abs=1e-6)
    assert len(metric._spooled) == 1


def test_streamed_metric_first_in_a_fresh_process(tmp_path):
    """A large image's LPIPS as the very first thing a worker computes: the streamed path loads the
    network (which makes torchvision importable next to the CPU torch) before it imports pyiqa's helpers.
    It once failed there with "operator torchvision::nms does not exist" in every new process."""
    crop = _rgb(SHARED / "datasets" / "clic-sample" / "michael-durana-82941.png")[:800, :1300]
    Image.fromarray(crop).save(tmp_path / "ref.png")
    Image.fromarray(_jpeg(crop, 30)).save(tmp_path / "dist.png")
    code = (
        "import sys, numpy as np; from PIL import Image; from harness.metrics import get_metric, perceptual\n"
        "ref, dist = (np.asarray(Image.open(sys.argv[i]).convert('RGB')) for i in (1, 2))\n"
        "metric = get_metric('lpips'); assert metric.prepare(ref) is None, 'not the streamed path'\n"
        "print(metric.compute(ref, dist, None)['lpips_alex'])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ref.png"), str(tmp_path / "dist.png")],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    from harness.metrics import get_metric

    value = float(done.stdout.strip().splitlines()[-1])
    dist = np.asarray(Image.open(tmp_path / "dist.png").convert("RGB"))
    assert value == pytest.approx(get_metric("lpips").tiled(crop, dist), abs=1e-6)


# --- PSNR and MS-SSIM --------------------------------------------------------------------------------

def test_psnr_columns_against_independent_formulas(crop):
    from harness.metrics import get_metric

    ref, dist, _ = crop
    values = get_metric("psnr").compute(ref, dist, None)
    a, b = ref.astype(np.float64), dist.astype(np.float64)

    def p(x, y):
        return 10 * np.log10(255.0**2 / np.mean((x - y) ** 2))

    assert values["psnr_rgb"] == pytest.approx(p(a, b), abs=1e-9)
    w709, w601 = np.array([0.2126, 0.7152, 0.0722]), np.array([0.299, 0.587, 0.114])
    assert values["psnr_y709"] == pytest.approx(p(a @ w709, b @ w709), abs=1e-9)
    assert values["psnr_y601"] == pytest.approx(p(a @ w601, b @ w601), abs=1e-9)
    cb = lambda x: (x[..., 2] - x @ w709) / 1.8556  # noqa: E731  BT.709: Cb = (B - Y) / (2 (1 - Kb))
    cr = lambda x: (x[..., 0] - x @ w709) / 1.5748  # noqa: E731  Cr = (R - Y) / (2 (1 - Kr))
    expected = (6 * p(a @ w709, b @ w709) + p(cb(a), cb(b)) + p(cr(a), cr(b))) / 8
    assert values["psnr_ycbcr611"] == pytest.approx(expected, abs=1e-6)
    assert 20 < values["psnr_rgb"] < values["psnr_y709"] < values["psnr_ycbcr611"] < 45
    # pyiqa's 'psnry' is BT.601 luma PSNR (float32, eps 1e-8): the same number.
    assert values["psnr_y601"] == pytest.approx(_pyiqa_direct("psnry", dist, ref), abs=2e-3)


def test_psnr_from_the_codec_stage_error_matrix_equals_its_own_pass(crop):
    """A run reads the pixels once: the codec's plausibility check computes the error matrix and the suite
    hands it to PSNR. The values are those of PSNR's own pass, to the last bit."""
    from harness.codecs import get_codec
    from harness.core.images import SourceImage
    from harness.metrics import MetricSuite, get_metric

    ref = crop[0]
    outcome = get_codec("jpeg").compress(SourceImage("crop", Path("crop.png"), "0" * 64, ref), 40)
    assert outcome.error_gram is not None
    suite = MetricSuite(("psnr", "ms_ssim"))
    shared = suite.evaluate_each("crop", ref, outcome.reconstruction, error_gram=outcome.error_gram)
    alone = get_metric("psnr").compute(ref, outcome.reconstruction, None)
    assert shared["psnr"] == (alone, None)
    assert shared["ms_ssim"][1] is None and 0.8 < shared["ms_ssim"][0]["ms_ssim_rgb"] < 1


def test_identical_images_give_infinity_not_a_cap(crop):
    from harness.metrics import get_metric

    ref = crop[0]
    values = get_metric("psnr").compute(ref, ref.copy(), None)
    assert set(values) == {"psnr_rgb", "psnr_y709", "psnr_y601", "psnr_ycbcr611"}
    assert all(v == math.inf for v in values.values())
    ms = get_metric("ms_ssim").compute(ref, ref.copy(), None)
    assert ms["ms_ssim_rgb"] == pytest.approx(1.0, abs=1e-6) and ms["ms_ssim_y"] == pytest.approx(1.0, abs=1e-12)
    ref = ref[:96, :128].copy()
    for name, column in (("lpips", "lpips_alex"), ("dists", "dists")):
        metric = get_metric(name)
        assert abs(metric.compute(ref, ref.copy(), metric.prepare(ref))[column]) < 1e-6


def test_ms_ssim_against_pytorch_msssim_and_pyiqa(crop):
    import torch
    from pytorch_msssim import ms_ssim

    from harness.metrics import get_metric

    ref, low, high = crop
    metric = get_metric("ms_ssim")
    v_low, v_high = metric.compute(ref, low, None), metric.compute(ref, high, None)
    to = lambda x: torch.from_numpy(x.transpose(2, 0, 1).copy()).float()[None] / 255  # noqa: E731
    assert v_low["ms_ssim_rgb"] == pytest.approx(float(ms_ssim(to(low), to(ref), data_range=1.0)), abs=1e-7)
    assert v_low["ms_ssim_y"] == pytest.approx(_pyiqa_direct("ms_ssim", low, ref), abs=1e-9)
    # pyiqa's RGB MS-SSIM (channels averaged inside each scale) agrees with the papers' to 1e-4.
    import pyiqa

    from harness.core.torchsetup import create_pyiqa_metric
    from harness.metrics.perceptual import to_tensor

    pyiqa_rgb = pyiqa.create_metric("ms_ssim", test_y_channel=False, device="cpu")
    assert v_low["ms_ssim_rgb"] == pytest.approx(float(pyiqa_rgb(to_tensor(low), to_tensor(ref))), abs=1e-4)
    assert create_pyiqa_metric("ms_ssim") is not None
    assert 0.8 < v_low["ms_ssim_rgb"] < v_high["ms_ssim_rgb"] < 1
    assert 0.8 < v_low["ms_ssim_y"] < v_high["ms_ssim_y"] < 1


def test_ms_ssim_is_empty_on_images_too_small_for_five_scales():
    from harness.metrics import get_metric

    ref = _rgb(KODAK / "kodim05.png")[:160, :300].copy()
    assert get_metric("ms_ssim").compute(ref, _jpeg(ref, 30), None) == {"ms_ssim_rgb": None, "ms_ssim_y": None}


# --- weights and environment -------------------------------------------------------------------------

def test_missing_weight_is_named_in_one_line(tmp_path):
    """Offline with an empty torch cache: the error names the missing file (no download, no traceback)."""
    code = (
        "import numpy as np\n"
        "from harness.metrics import get_metric, MetricSuite\n"
        "s = MetricSuite(('lpips',))\n"
        "x = np.zeros((64, 64, 3), np.uint8)\n"
        "print(s.evaluate('k', x, x)[1][0])\n"
    )
    env = {**os.environ, "TORCH_HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stdout.strip().splitlines()[-1]
    assert "alexnet-owt-7be5be79.pth" in line and "is missing from the torch cache" in line
    assert str(tmp_path) in line


def test_torchvision_imports_with_the_fix():
    code = "import harness.core.torchsetup as t; t.prepare_torch(); import torchvision, pyiqa; print(torchvision.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]


def test_metrics_are_registered_with_column_info():
    from harness.metrics import column_info, metric_names

    assert {"psnr", "ms_ssim", "lpips", "lpips_vgg", "dists", "text", "vmaf"} <= set(metric_names())
    assert column_info("psnr_y709").unit == "dB"
    assert column_info("lpips_alex").higher_is_better is False
    assert column_info("ms_ssim_y").higher_is_better is True
    assert column_info("text_cer").higher_is_better is False


# --- VMAF ----------------------------------------------------------------------------------------------

def test_vmaf_orders_qualities(crop):
    from harness.metrics import get_metric

    ref, low, high = crop
    metric = get_metric("vmaf")
    state = metric.prepare(ref)
    same, good, bad = (metric.compute(ref, x, state)["vmaf"] for x in (ref.copy(), high, low))
    assert 90 < same <= 100.0 and bad < good < same
    assert bad > 20


# --- adding metrics to a finished run ------------------------------------------------------------------

def test_add_metrics_to_a_run_without_reencoding(tmp_path):
    import pandas as pd

    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.remetric import add_metrics
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep
    from tests.runs import write_crops

    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[20, 80], metrics=("psnr",),
              keep_reconstructions=True)
    before = pd.read_parquet(store.parquet)
    assert "lpips_alex" not in before.columns
    journal_before = store.journal.read_text()
    added = add_metrics(store.run_dir, ["lpips", "vmaf"])
    assert added.gained == {"lpips": 4, "vmaf": 4} and added.rows == len(before) == 4
    after = pd.read_parquet(store.parquet)
    assert list(after["job_key"]) == list(before["job_key"])
    assert list(after["bpp"]) == list(before["bpp"]) and list(after["psnr_rgb"]) == list(before["psnr_rgb"])
    for _, row in after.iterrows():
        ref = _rgb(Path(row["image_path"]))
        dist = _rgb(store.run_dir / row["reconstruction"])
        assert row["lpips_alex"] == pytest.approx(_pyiqa_direct("lpips", dist, ref), abs=1e-6)
        assert 0 < row["vmaf"] <= 100
    # The journal carries the new columns too, so a later rebuild of the parquet keeps them.
    assert "lpips_alex" in store.journal.read_text() and "lpips_alex" not in journal_before
    assert "lpips_alex" in store.table().columns
    with pytest.raises(Exception, match="unknown metric"):
        add_metrics(store.run_dir, ["nosuch"])
