"""PSNR per plane in the Y'CbCr the codecs code in: the AV1/AV2 and JVET tables' PSNR-Y, -U, -V.

The reconstruction and the original are both converted from 8-bit RGB to 8-bit Y'CbCr 4:4:4 (rounded code
values) in the two chains the harness's codecs use, and each plane's PSNR is taken with peak 255:

- ``psnr_y_709l``, ``psnr_cb_709l``, ``psnr_cr_709l``: limited-range BT.709, the chain of the ffmpeg codecs
  (VVC, HEVC, H.264) and of AVIF (``zscale=matrix=709:range=limited``), equal to ffmpeg's ``psnr`` filter on the
  same conversion (tests/test_psnr_yuv.py);
- ``psnr_y_601f``, ``psnr_cb_601f``, ``psnr_cr_601f``: full-range BT.601, JPEG's (JFIF) chain.

Chroma is compared at full resolution: a 4:2:0 codec's own chroma planes cannot be recovered from its RGB output,
so these are the planes of the decoded picture in the codec's matrix and range, not its internal samples.
Identical planes give +inf.
"""

from __future__ import annotations

import numpy as np

from harness.core.colour import quantize_ycbcr, rgb_to_ycbcr
from harness.core.pixelerror import psnr_db
from harness.metrics import register
from harness.metrics.base import Column, Metric

CHAINS = {"709l": ("bt709", False), "601f": ("bt601", True)}
PLANES = ("y", "cb", "cr")


def ycbcr8(rgb: np.ndarray, matrix: str, full_range: bool) -> np.ndarray:
    """8-bit RGB -> 8-bit Y'CbCr 4:4:4 code values (int)."""
    return quantize_ycbcr(rgb_to_ycbcr(rgb / 255.0, matrix), 8, full_range).astype(np.int64)


@register
class PsnrYuv(Metric):
    name = "psnr_yuv"
    description = "PSNR of Y', Cb, Cr in 8-bit limited BT.709 (ffmpeg codecs, AVIF) and full BT.601 (JPEG)"
    columns = tuple(Column(f"psnr_{plane}_{chain}", f"PSNR-{plane.upper()} ({chain})", "dB", True)
                    for chain in CHAINS for plane in PLANES)

    def prepare(self, reference: np.ndarray) -> dict[str, np.ndarray]:
        return {chain: ycbcr8(reference, matrix, full) for chain, (matrix, full) in CHAINS.items()}

    def compute(self, reference, reconstruction, prepared):
        planes = prepared if prepared is not None else self.prepare(reference)
        out: dict[str, float | None] = {}
        for chain, (matrix, full) in CHAINS.items():
            diff = ycbcr8(reconstruction, matrix, full) - planes[chain]
            for index, plane in enumerate(PLANES):
                out[f"psnr_{plane}_{chain}"] = psnr_db(float(np.mean(diff[..., index] ** 2)))
        return out
