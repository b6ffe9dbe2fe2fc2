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

All four columns come from one exact pass over the pixels (:mod:`harness.core.pixelerror`): the 3x3
matrix of summed channel-difference products, from which every MSE above is a quadratic form.
"""

from __future__ import annotations

import numpy as np

from harness.core.colour import LUMA_COEFFICIENTS, ycbcr_matrix
from harness.core.pixelerror import error_gram, mse_of, psnr_db
from harness.metrics import register
from harness.metrics.base import Column, Metric

psnr = psnr_db


def mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def _luma_weights(matrix: str) -> np.ndarray:
    kr, kb = LUMA_COEFFICIENTS[matrix]
    return np.array([kr, 1.0 - kr - kb, kb])


@register
class Psnr(Metric):
    name = "psnr"
    uses_error_gram = True
    description = "PSNR on RGB, on luma Y' (BT.709, BT.601) and 6:1:1 Y'CbCr (BT.709); +inf when identical"
    columns = (
        Column("psnr_rgb", "PSNR (RGB)", "dB", True),
        Column("psnr_y709", "PSNR (Y', BT.709)", "dB", True),
        Column("psnr_y601", "PSNR (Y', BT.601)", "dB", True),
        Column("psnr_ycbcr611", "PSNR (Y'CbCr 6:1:1, BT.709)", "dB", True),
    )

    def compute(self, reference, reconstruction, prepared):
        return self.from_error_gram(error_gram(reference, reconstruction), reference.shape[0] * reference.shape[1])

    def from_error_gram(self, gram: np.ndarray, pixels: int) -> dict[str, float | None]:
        """Every column from the pair's error matrix (the codec stage computes it for its plausibility
        check; the suite hands it over so the pixels are read once)."""
        y, cb, cr = (psnr_db(mse_of(gram, pixels, row)) for row in ycbcr_matrix("bt709"))
        return {
            "psnr_rgb": psnr_db(mse_of(gram, pixels)),
            "psnr_y709": y,
            "psnr_y601": psnr_db(mse_of(gram, pixels, _luma_weights("bt601"))),
            "psnr_ycbcr611": (6.0 * y + cb + cr) / 8.0,
        }
