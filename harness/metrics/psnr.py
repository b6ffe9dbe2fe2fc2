"""PSNR on 8-bit RGB over the whole image (all three channels pooled into one MSE)."""

from __future__ import annotations

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric

# Identical images have infinite PSNR; we store +inf (parquet keeps it) rather than an arbitrary cap.
# Consumers that must average (BD-rate, plots) drop infinite points explicitly.


def psnr(mse: float, peak: float = 255.0) -> float:
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


@register
class PsnrRgb(Metric):
    name = "psnr"
    description = "PSNR on 8-bit RGB, one MSE over all pixels and channels"
    columns = (Column("psnr_rgb", "PSNR (RGB)", "dB", True),)

    def compute(self, reference, reconstruction, prepared):
        return {"psnr_rgb": psnr(mse(reference, reconstruction))}
