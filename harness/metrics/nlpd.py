"""NLPD (normalised Laplacian pyramid distance, Laparra et al. 2016) on BT.709 luma, through pyiqa.

``nlpd_y`` (lower is better): pyiqa's ``NLPD`` pyramid (6 levels, the published filters and normalisation
constants) on the full-range BT.709 Y' rounded to 8 bits, in [0, 1], as the JPEG AI quality framework feeds
IQA_pytorch's NLPD; the value is the mean over levels of each level's RMS difference (pyiqa's formula,
repeated here because pyiqa's own entry point only takes RGB and does not round its luma). Rounding the luma
to 8 bits is what brings the value to the official MATLAB one (pyiqa's unrounded luma misses it by 0.0056
on nearly identical pairs; tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.jpegai_luma import LumaMetric, plane_tensor

MIN_SIDE = 64  # 6 levels of 2x down-sampling


@functools.cache
def _network() -> Any:
    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    from pyiqa.archs.nlpd_arch import NLPD

    return NLPD(channels=1).eval()


def nlpd_of_planes(reference: np.ndarray, distorted: np.ndarray) -> float:
    """NLPD of two 8-bit code planes (0..255 floats), each scaled to [0, 1]."""
    import torch

    network = _network()
    with torch.inference_mode():
        levels = zip(network.pyramid(plane_tensor(distorted, 255.0)), network.pyramid(plane_tensor(reference, 255.0)))
        return float(torch.stack([torch.sqrt(torch.mean((a - b) ** 2)) for a, b in levels]).mean())


@register
class Nlpd(LumaMetric):
    name = "nlpd"
    min_side = MIN_SIDE
    description = "NLPD (pyiqa's pyramid) on BT.709 luma rounded to 8 bits, as JPEG AI's framework; lower is better"
    columns = (Column("nlpd_y", "NLPD (Y')", higher_is_better=False),)

    def values(self, reference, reconstruction):
        return nlpd_of_planes(reference, reconstruction)
