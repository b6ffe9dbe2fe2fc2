"""PSNR on 8-bit RGB, on luma (BT.709 and BT.601) and the 6:1:1-weighted Y'CbCr PSNR (BT.709).

Columns (all in dB, peak 255):

- ``psnr_rgb``: one MSE over all pixels and all three RGB channels (the usual RGB PSNR of codec papers,
  e.g. CompressAI); equals pyiqa's ``psnr`` up to pyiqa's eps (see below).
- ``psnr_y709`` / ``psnr_y601``: PSNR of full-range luma Y' = Kr R + Kg G + Kb B on the 0..255 scale,
  with BT.709 (Kr 0.2126, Kb 0.0722) or BT.601 (Kr 0.299, Kb 0.114) coefficients. Y' is kept as a float,
  not rounded to 8 bits, so the value measures the codec, not a second quantisation.
- ``psnr_ycbcr611``: (6 PSNR_Y + PSNR_Cb + PSNR_Cr) / 8, the weighting of JVET/MPEG common test
  conditions, with full-range BT.709 Y'CbCr computed from the RGB images (chroma on the same 255 scale
  as luma, i.e. Cb, Cr in [-127.5, 127.5]), at full resolution. The weighted average is taken over the
  three PSNRs, as the common test conditions do, not over MSEs.

Identical images (MSE 0) give ``+inf``, never a capped number: the harness stores +inf in the parquet
(and as "inf" in the JSON journal). There is no cap; consumers that average or fit curves (BD-rate,
plots) drop infinite points explicitly. (pyiqa adds eps 1e-8 to the MSE on a [0, 1] scale, which caps
identical images at 80 dB; that number is not a measurement, so we do not copy it.) For
``psnr_ycbcr611`` a single identical component (e.g. a grey image whose chroma is exactly preserved)
makes the weighted average +inf as well.
"""

from __future__ import annotations

import numpy as np

from harness.core.colour import rgb8_to_luma, rgb_to_ycbcr
from harness.metrics import register
from harness.metrics.base import Column, Metric


def psnr(mse: float, peak: float = 255.0) -> float:
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def ycbcr_psnrs(reference: np.ndarray, reconstruction: np.ndarray, matrix: str = "bt709") -> tuple[float, float, float]:
    """PSNR of Y', Cb, Cr (full range, 255 scale) between two 8-bit RGB images."""
    a = rgb_to_ycbcr(np.asarray(reference, dtype=np.float64), matrix)
    b = rgb_to_ycbcr(np.asarray(reconstruction, dtype=np.float64), matrix)
    diff = a - b
    mses = np.mean(diff * diff, axis=(0, 1))
    return tuple(psnr(float(m)) for m in mses)  # type: ignore[return-value]


@register
class Psnr(Metric):
    name = "psnr"
    description = "PSNR on RGB, on luma Y' (BT.709, BT.601) and 6:1:1 Y'CbCr (BT.709); +inf when identical"
    columns = (
        Column("psnr_rgb", "PSNR (RGB)", "dB", True),
        Column("psnr_y709", "PSNR (Y', BT.709)", "dB", True),
        Column("psnr_y601", "PSNR (Y', BT.601)", "dB", True),
        Column("psnr_ycbcr611", "PSNR (Y'CbCr 6:1:1, BT.709)", "dB", True),
    )

    def compute(self, reference, reconstruction, prepared):
        y, cb, cr = ycbcr_psnrs(reference, reconstruction, "bt709")
        return {
            "psnr_rgb": psnr(mse(reference, reconstruction)),
            "psnr_y709": y,
            "psnr_y601": psnr(mse(rgb8_to_luma(reference, "bt601"), rgb8_to_luma(reconstruction, "bt601"))),
            "psnr_ycbcr611": (6.0 * y + cb + cr) / 8.0,
        }
