"""VIF (Sheikh & Bovik's wavelet-domain visual information fidelity) on BT.709 luma, through pyiqa.

``vif_y``: pyiqa's ``VIF`` (the steerable-pyramid VIF of the original MATLAB ``vifvec``, 4 scales, 6
orientations) on the full-range BT.709 Y' rounded to 8 bits, the plane and variant the JPEG AI quality
framework scores (it calls the same VIF, from pyiqa's predecessor IQA_pytorch, on Y). pyiqa converts its
input to BT.601 Y and rounds it to 8 bits; it is handed Y' in all three channels, so the conversion gives Y'
back exactly. Checked against the official MATLAB values on the calibration pairs (tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.jpegai_luma import LumaMetric, plane_tensor

MIN_SIDE = 32  # the 4-scale steerable pyramid with its 9-tap filters


@functools.cache
def _network() -> Any:
    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    from pyiqa.archs.vif_arch import VIF

    return VIF(channels=1).eval()


def vif_of_planes(reference: np.ndarray, distorted: np.ndarray) -> float:
    """pyiqa's VIF(distorted, reference) of two 8-bit code planes (0..255 floats)."""
    import torch

    with torch.inference_mode():
        return float(_network()(plane_tensor(distorted, 255.0, channels=3), plane_tensor(reference, 255.0, channels=3)))


@register
class Vif(LumaMetric):
    name = "vif"
    min_side = MIN_SIDE
    description = "VIF (wavelet-domain, pyiqa) on BT.709 luma rounded to 8 bits, as JPEG AI's framework"
    columns = (Column("vif_y", "VIF (Y')"),)

    def values(self, reference, reconstruction):
        return vif_of_planes(reference, reconstruction)
