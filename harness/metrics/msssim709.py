"""MS-SSIM on BT.709 luma as JPEG AI's quality framework computes it (its ``msssim_torch``).

``ms_ssim_y709``: ``pytorch_msssim.ms_ssim`` (11x11 Gaussian, sigma 1.5, five scales with Wang et al.'s weights)
on the full-range BT.709 Y' rounded to 8 bits, in [0, 1] with data range 1, float32. Images whose smaller side is
at most 160 px have no value, as ``ms_ssim``. On a grey image (R = G = B) it equals ``ms_ssim_rgb``, which runs
the same function on the three (then identical) channels (tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.jpegai_luma import LumaMetric, plane_tensor
from harness.metrics.msssim import MIN_SIDE


def ms_ssim_of_planes(reference: np.ndarray, distorted: np.ndarray) -> float:
    import torch
    from pytorch_msssim import ms_ssim

    with torch.inference_mode():
        return float(ms_ssim(plane_tensor(distorted, 255.0), plane_tensor(reference, 255.0), data_range=1.0))


@register
class MsSsimY709(LumaMetric):
    name = "ms_ssim_y709"
    min_side = MIN_SIDE
    description = "MS-SSIM (pytorch_msssim) on BT.709 luma rounded to 8 bits, as JPEG AI's framework"
    columns = (Column("ms_ssim_y709", "MS-SSIM (Y', BT.709)"),)

    def values(self, reference, reconstruction):
        return ms_ssim_of_planes(reference, reconstruction)
