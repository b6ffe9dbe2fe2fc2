"""CIEDE2000 colour difference: the number the AV1/AV2 common test conditions report (libvmaf's ``ciede``) and the
plain mean of the standard per-pixel CIEDE2000 beside it.

- ``ciede2000`` (higher is better): libvmaf's ``ciede`` feature through the static ffmpeg of ``imageio-ffmpeg``,
  45 - 20 log10(mean dE) on the frame, as AOM's CTC tables give it. libvmaf computes dE from the 8-bit
  limited-range BT.709 Y'CbCr 4:4:4 both images are converted to (with ``zscale``, as for VMAF), decodes it to
  R'G'B' with its own BT.709 matrix, linearises with the sRGB curve (threshold 10/255), converts to CIELAB
  (D65) and applies CIEDE2000 with its weights kL = 0.65, kC = 1, kH = 4 (not the standard 1, 1, 1).
- ``ciede2000_mean`` (lower is better): the mean over pixels of the standard CIEDE2000 (kL = kC = kH = 1) between
  the two 8-bit sRGB images, straight from RGB (scikit-image's ``rgb2lab``, D65, and ``deltaE_ciede2000``).

Identical images give +inf and 0 (libvmaf's log of a zero mean is not asked for).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, PairMetric
from harness.metrics.vmaf import _RawFrame, libvmaf_pooled


def mean_ciede2000(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean of the standard per-pixel CIEDE2000 between two 8-bit sRGB images."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    return float(np.mean(deltaE_ciede2000(rgb2lab(reference), rgb2lab(reconstruction))))


@register
class Ciede2000(PairMetric):
    name = "ciede2000"
    description = "CIEDE2000: libvmaf's ciede (AV2 CTC, 45 - 20 log10 mean dE) and the plain mean dE00 (sRGB, D65)"
    columns = (Column("ciede2000", "CIEDE2000 (libvmaf)", "dB"), Column("ciede2000_mean", "mean dE00", "", False))

    def reference_side(self, reference: np.ndarray) -> Any:
        return _RawFrame(reference), reference

    def values(self, reference, reconstruction):
        frame, pixels = reference
        if np.array_equal(pixels, reconstruction):
            return math.inf, 0.0
        return libvmaf_pooled(frame, reconstruction, ("ciede",))["ciede2000"], mean_ciede2000(pixels, reconstruction)
