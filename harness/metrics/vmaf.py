"""VMAF through the static ffmpeg of ``imageio-ffmpeg`` (libvmaf with its built-in ``vmaf_v0.6.1`` model).

Each image is one frame. Both images go through the same conversion before libvmaf: 8-bit RGB to
limited-range BT.709 Y'CbCr 4:4:4 with ``zscale`` (VMAF's features read luma only, and the model was
trained on limited-range 8-bit video). Column ``vmaf`` (0..100, higher is better; identical images give
the model's maximum, about 97-100 depending on content, not a cap we set). The original's raw frame is
written once per original (in :meth:`prepare`) and reused for its reconstructions.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.process import ProgramNotFound, ffmpeg_exe, run_program
from harness.metrics import register
from harness.metrics.base import Column, MetricError, PairMetric

MODEL = "version=vmaf_v0.6.1"
_CONVERT = "zscale=matrix=709:range=limited,format=yuv444p"


def _ffmpeg() -> str:
    try:
        return ffmpeg_exe()
    except ProgramNotFound as exc:
        raise MetricError(f"vmaf needs the ffmpeg of imageio-ffmpeg ({exc})") from None


class _RawFrame:
    """An RGB frame in a temporary raw file, deleted when the object is collected."""

    def __init__(self, rgb: np.ndarray, directory: str | None = None) -> None:
        handle, name = tempfile.mkstemp(suffix=".rgb", prefix="harness-vmaf-", dir=directory)
        with os.fdopen(handle, "wb") as out:
            out.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
        self.path = Path(name)
        self.height, self.width = rgb.shape[:2]
        self._finalizer = weakref.finalize(self, _unlink, str(self.path))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def libvmaf_pooled(reference: _RawFrame, reconstruction: np.ndarray, features: tuple[str, ...] = ()) -> dict[str, float]:
    """libvmaf's pooled means (``vmaf`` and those of the extra ``features``, e.g. ``ciede``) for one frame."""
    height, width = reconstruction.shape[:2]
    if (height, width) != (reference.height, reference.width):
        raise MetricError(f"reconstruction {width}x{height} differs from the original {reference.width}x{reference.height}")
    dist = _RawFrame(reconstruction)
    log = Path(tempfile.mkstemp(suffix=".json", prefix="harness-vmaf-")[1])
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i"]
    extra = "".join(f":feature=name={name}" for name in features)
    graph = (f"[0:v]{_CONVERT}[dis];[1:v]{_CONVERT}[ref];"
             f"[dis][ref]libvmaf=model={MODEL}{extra}:log_fmt=json:log_path={log}:n_threads=1")
    command = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", *raw, str(dist.path), *raw,
               str(reference.path), "-lavfi", graph, "-f", "null", "-"]
    try:
        run_program(command, "ffmpeg libvmaf", timeout=600, error=MetricError)
        data = json.loads(log.read_text())
        return {name: float(value["mean"]) for name, value in data["pooled_metrics"].items()}
    except (json.JSONDecodeError, KeyError, TypeError, OSError) as exc:
        raise MetricError(f"cannot read the libvmaf log ({type(exc).__name__}: {exc})") from None
    finally:
        _unlink(str(log))


def vmaf_score(reference: _RawFrame, reconstruction: np.ndarray) -> float:
    return libvmaf_pooled(reference, reconstruction)["vmaf"]


@register
class Vmaf(PairMetric):
    name = "vmaf"
    description = "VMAF v0.6.1 (libvmaf in imageio-ffmpeg's static ffmpeg), one frame, BT.709 limited 4:4:4"
    columns = (Column("vmaf", "VMAF"),)

    def reference_side(self, reference: np.ndarray) -> Any:
        return _RawFrame(reference)

    def values(self, reference, reconstruction):
        return vmaf_score(reference, reconstruction)
