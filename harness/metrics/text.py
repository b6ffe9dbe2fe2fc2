"""Distortion inside text regions, and OCR character error rate, with PP-OCR through RapidOCR.

The detector (PP-OCRv4 detection, ONNX, shipped inside the ``rapidocr-onnxruntime`` wheel: it runs
offline) locates text on the *original* image once; its quadrilaterals, filled, form the text mask.
Columns:

- ``text_psnr``: PSNR (dB, 8-bit RGB, peak 255) over the pixels of the text mask; +inf if they are
  identical (no cap, as :mod:`harness.metrics.psnr`);
- ``text_mae``: mean absolute error (0..255 scale) over the text mask, all three channels;
- ``text_cer``: character error rate of OCR on the reconstruction against OCR on the original: the
  recogniser (PP-OCRv4 recognition) reads each box found on the original, in the original and in the
  reconstruction (same box, so detection misses on the reconstruction do not enter); CER = sum of
  Levenshtein distances / number of characters read on the original, over boxes whose original reading
  has confidence >= 0.5. Can exceed 1 (insertions).

An image on which no text is found has empty values (None), not zero; ``text_cer`` is also empty when
text is found but none of it is read with confidence.

The detection (boxes, readings) depends only on the original: it is computed in :meth:`prepare` (once
per original per worker) and also cached on disk as JSON under ``$HARNESS_CACHE/text-detections`` (or the
user cache directory), keyed by the hash of the pixels and the detector's version, so later runs and
other workers reuse it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric, MetricError
from harness.metrics.psnr import psnr

MIN_CONFIDENCE = 0.5
_lock = threading.Lock()


@dataclass
class TextDetection:
    boxes: list[np.ndarray]  # 4x2 float32 quadrilaterals, pixel coordinates of the original
    texts: list[str]
    scores: list[float]
    mask: np.ndarray | None = None  # HxW bool, filled boxes

    @property
    def empty(self) -> bool:
        return not self.boxes


@functools.lru_cache(maxsize=1)
def _engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise MetricError(f"text metric needs rapidocr-onnxruntime ({exc})") from None
    return RapidOCR()


def detector_version() -> str:
    from importlib.metadata import version

    return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} PP-OCRv4 det+rec"


def _cache_dir() -> Path:
    root = os.environ.get("HARNESS_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("harness")
    return Path(root) / "text-detections"


def _key(rgb: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(repr((rgb.shape, str(rgb.dtype), detector_version())).encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., ::-1])  # RapidOCR takes arrays as OpenCV BGR


def detect_boxes(rgb: np.ndarray) -> list[np.ndarray]:
    """Text quadrilaterals on an image (PP-OCR detection, RapidOCR's default settings)."""
    with _lock:
        result, _ = _engine()(_bgr(rgb), use_det=True, use_cls=False, use_rec=False)
    return [np.asarray(box, dtype=np.float32).reshape(4, 2) for box in (result or [])]


def recognise(rgb: np.ndarray, boxes: list[np.ndarray]) -> list[tuple[str, float]]:
    """PP-OCR recognition of each box (perspective-cropped as RapidOCR does)."""
    if not boxes:
        return []
    with _lock:
        engine = _engine()
        crops = engine.get_crop_img_list(_bgr(rgb), [b.copy() for b in boxes])
        results, _ = engine.text_rec(crops)
    return [(str(text), float(score)) for text, score in results]


def detect(rgb: np.ndarray, use_cache: bool = True) -> TextDetection:
    """Boxes and readings of an original image, from the disk cache when present."""
    path = _cache_dir() / f"{_key(rgb)}.json"
    if use_cache and path.is_file():
        try:
            data = json.loads(path.read_text())
            found = TextDetection([np.asarray(b, dtype=np.float32) for b in data["boxes"]], data["texts"], data["scores"])
            return _with_mask(found, rgb.shape[:2])
        except (json.JSONDecodeError, KeyError, ValueError):
            pass  # damaged entry: recompute
    boxes = detect_boxes(rgb)
    readings = recognise(rgb, boxes)
    found = TextDetection(boxes, [t for t, _ in readings], [s for _, s in readings])
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"detector": detector_version(), "boxes": [b.tolist() for b in boxes],
                                       "texts": found.texts, "scores": found.scores}))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs time
    return _with_mask(found, rgb.shape[:2])


def _with_mask(found: TextDetection, shape: tuple[int, int]) -> TextDetection:
    import cv2

    mask = np.zeros(shape, dtype=np.uint8)
    if found.boxes:
        cv2.fillPoly(mask, [np.round(b).astype(np.int32) for b in found.boxes], 1)
    found.mask = mask.astype(bool)
    return found


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of characters)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(originals: list[str], readings: list[str]) -> float | None:
    total = sum(len(t) for t in originals)
    if total == 0:
        return None
    return sum(levenshtein(o, r) for o, r in zip(originals, readings)) / total


@register
class TextRegion(Metric):
    name = "text"
    description = "PSNR and MAE inside text found on the original (PP-OCR), and OCR character error rate"
    columns = (
        Column("text_psnr", "Text-region PSNR (RGB)", "dB", True),
        Column("text_mae", "Text-region MAE (RGB)", "", False),
        Column("text_cer", "OCR character error rate", "", False),
    )

    def prepare(self, reference: np.ndarray) -> TextDetection:
        return detect(reference)

    def compute(self, reference, reconstruction, prepared):
        found: TextDetection = prepared if prepared is not None else detect(reference)
        if found.empty or found.mask is None or not found.mask.any():
            return {"text_psnr": None, "text_mae": None, "text_cer": None}
        a = reference[found.mask].astype(np.float64)
        b = reconstruction[found.mask].astype(np.float64)
        diff = a - b
        values: dict[str, float | None] = {
            "text_psnr": psnr(float(np.mean(diff * diff))),
            "text_mae": float(np.mean(np.abs(diff))),
        }
        keep = [i for i, (t, s) in enumerate(zip(found.texts, found.scores)) if t and s >= MIN_CONFIDENCE]
        if keep:
            readings = recognise(reconstruction, [found.boxes[i] for i in keep])
            values["text_cer"] = character_error_rate([found.texts[i] for i in keep], [t for t, _ in readings])
        else:
            values["text_cer"] = None
        return values
