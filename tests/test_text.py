"""The generated ``text`` dataset and the text-region metric (PP-OCR detection through RapidOCR)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import KODAK


@pytest.fixture(scope="module")
def text_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.datasets.text import generate_text_dataset

    out = tmp_path_factory.mktemp("text-dataset")
    generate_text_dataset(out, KODAK, count=8)
    return out


def _encode(rgb: np.ndarray, fmt: str, quality: int) -> tuple[np.ndarray, float]:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, quality=quality)
    bpp = len(buffer.getvalue()) * 8 / (rgb.shape[0] * rgb.shape[1])
    return np.asarray(Image.open(buffer).convert("RGB")), bpp


def test_generator_is_deterministic_and_its_boxes_are_the_truth(tmp_path, text_dataset):
    from harness.core.images import load_image
    from harness.datasets.text import BOXES_JSON, FONTS, generate_text_dataset

    again = generate_text_dataset(tmp_path / "again", KODAK, count=2)
    manifest = json.loads((text_dataset / BOXES_JSON).read_text())
    assert manifest["count"] == 8 and len(manifest["images"]) == 8
    for path in again:  # same seed, same pixels
        assert path.read_bytes() == (text_dataset / path.name).read_bytes()
    sizes, fonts = set(), set()
    for entry in manifest["images"]:
        text = load_image(text_dataset / entry["file"]).pixels
        photo = load_image(KODAK / entry["source"]).pixels
        changed = np.any(text != photo, axis=2)
        inside = np.zeros_like(changed)
        for box in entry["boxes"]:
            assert 10 <= box["size"] <= 40 and box["text"].strip()
            region = changed[box["y0"]:box["y1"], box["x0"]:box["x1"]]
            assert region.mean() > 0.15, box  # ink fills the box: it is tight around the text
            inside[box["y0"]:box["y1"], box["x0"]:box["x1"]] = True
            sizes.add(box["size"])
            fonts.add(box["font"])
        assert not changed[~inside].any()  # nothing was drawn outside the recorded boxes
    assert {10, 40} <= sizes and len(sizes) >= 6
    assert len(fonts) >= 4 and fonts <= {name for name, _ in FONTS}
    # Reused, not regenerated, when complete.
    before = os.stat(again[0]).st_mtime_ns
    assert generate_text_dataset(tmp_path / "again", KODAK, count=2) == again
    assert os.stat(again[0]).st_mtime_ns == before


def test_generator_names_a_bad_kodak_folder(tmp_path):
    from harness.datasets.text import TextDatasetError, generate_text_dataset

    with pytest.raises(TextDatasetError, match="no Kodak images"):
        generate_text_dataset(tmp_path / "out", tmp_path, count=1)


@pytest.mark.slow
def test_detector_finds_at_least_90_percent_of_rendered_boxes(text_dataset):
    from harness.core.images import load_image
    from harness.datasets.text import box_found, load_boxes
    from harness.metrics.text import detect_boxes

    truth = load_boxes(text_dataset)
    found = total = 0
    for name, boxes in truth.items():
        rgb = load_image(text_dataset / name).pixels
        detections = detect_boxes(rgb)
        hits = [box_found(box, detections, rgb.shape[:2]) for box in boxes]
        found += sum(hits)
        total += len(hits)
    assert total == 48
    assert found / total >= 0.9, f"recall {found}/{total}"


def test_box_found_needs_coverage_by_plausible_detections():
    from harness.datasets.text import box_found

    box = {"x0": 10, "y0": 10, "x1": 110, "y1": 30}
    quad = lambda x0, y0, x1, y1: np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)  # noqa: E731
    assert box_found(box, [quad(5, 5, 60, 35), quad(58, 6, 115, 34)], (200, 200))  # split into two words
    assert not box_found(box, [quad(5, 5, 45, 35)], (200, 200))  # only a third of the line
    assert not box_found(box, [quad(0, 0, 199, 199)], (200, 200))  # a giant box finds nothing


def test_text_region_error_falls_with_rate_and_caches_detection(text_dataset):
    from harness.core.images import load_image
    from harness.metrics import MetricSuite
    from harness.metrics import text as text_metric

    rgb = load_image(sorted(text_dataset.glob("text_*.png"))[1]).pixels
    suite = MetricSuite(("text",))
    for fmt in ("JPEG", "WEBP"):
        results = []
        for quality in (90, 40, 5):
            recon, bpp = _encode(rgb, fmt, quality)
            values, errors = suite.evaluate("text-1", rgb, recon)
            assert not errors
            results.append((bpp, values))
        bpps = [b for b, _ in results]
        psnrs = [v["text_psnr"] for _, v in results]
        maes = [v["text_mae"] for _, v in results]
        assert bpps == sorted(bpps, reverse=True)
        assert psnrs == sorted(psnrs, reverse=True) and psnrs[0] - psnrs[-1] > 5, (fmt, psnrs)
        assert maes == sorted(maes), (fmt, maes)
        cers = [v["text_cer"] for _, v in results]
        assert cers[0] <= 0.1 and cers[-1] >= cers[0], (fmt, cers)
    # The detection ran once for this original (memory), and is on disk for other workers and runs.
    assert len(suite._prepared) == 1
    cached = list((Path(os.environ["HARNESS_CACHE"]) / "text-detections").glob("*.json"))
    assert cached
    again = text_metric.detect(rgb)
    assert len(again.boxes) == len(suite._prepared[("text", "text-1")].boxes) >= 5


def test_text_metric_is_empty_without_text():
    from harness.metrics import get_metric

    y, x = np.mgrid[0:200, 0:300]
    smooth = np.stack([x * 255 // 300, y * 255 // 200, np.full_like(x, 128)], axis=2).astype(np.uint8)
    metric = get_metric("text")
    recon, _ = _encode(smooth, "JPEG", 10)
    assert metric.compute(smooth, recon, metric.prepare(smooth)) == {"text_psnr": None, "text_mae": None,
                                                                       "text_cer": None}


def test_identical_text_regions_give_infinity(text_dataset):
    from harness.core.images import load_image
    from harness.metrics import get_metric

    rgb = load_image(sorted(text_dataset.glob("text_*.png"))[0]).pixels
    metric = get_metric("text")
    values = metric.compute(rgb, rgb.copy(), metric.prepare(rgb))
    assert values["text_psnr"] == float("inf") and values["text_mae"] == 0.0 and values["text_cer"] == 0.0
