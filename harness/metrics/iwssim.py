"""IW-SSIM (information content weighted SSIM, Wang & Li 2011) on BT.709 luma, through piq.

``iw_ssim_y``: ``piq.information_weighted_ssim`` (5 scales of a Laplacian pyramid, Gaussian 11x11 window,
3x3 blocks with the parent band, sigma_nsq 0.4, the MS-SSIM scale weights) in float64 on the full-range
BT.709 Y' rounded to 8 bits, on the 0..255 scale, as the JPEG AI quality framework scores it. Images whose
smaller side is under 161 px have no value (the five scales need an 11-px window), as MS-SSIM. Checked
against a separate implementation of the original MATLAB algorithm on pyrtools' Laplacian pyramid
(scripts/jpegai_calibration.py, tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.jpegai_luma import LumaMetric, plane_tensor

MIN_SIDE = 161


def iw_ssim_of_planes(reference: np.ndarray, distorted: np.ndarray) -> float:
    """piq's IW-SSIM(distorted, reference) of two 8-bit code planes (0..255 floats), in float64."""
    import torch

    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    import piq

    with torch.inference_mode():
        return float(piq.information_weighted_ssim(plane_tensor(distorted, dtype=torch.float64),
                                                   plane_tensor(reference, dtype=torch.float64), data_range=255.0))


@register
class IwSsim(LumaMetric):
    name = "iw_ssim"
    min_side = MIN_SIDE
    description = "IW-SSIM (piq, float64) on BT.709 luma rounded to 8 bits, as JPEG AI's framework"
    columns = (Column("iw_ssim_y", "IW-SSIM (Y')"),)

    def values(self, reference, reconstruction):
        return iw_ssim_of_planes(reference, reconstruction)
