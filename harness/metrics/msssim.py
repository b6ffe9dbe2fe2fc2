"""MS-SSIM on RGB (the codec papers' convention) and on luma (pyiqa's MATLAB-style MS-SSIM).

- ``ms_ssim_rgb``: ``pytorch_msssim.ms_ssim(x, y, data_range=1.0)`` on RGB in [0, 1], as CompressAI and
  most learned-codec papers report it: 11x11 Gaussian window (sigma 1.5), 5 scales with the weights of
  Wang et al. (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), contrast terms clamped at 0, and the three
  channels' MS-SSIM averaged. Computed in float32 like the papers (float64 differs by ~2e-7).
- ``ms_ssim_y``: pyiqa's ``ms_ssim`` (``test_y_channel=True``): luma Y = 0.299 R + 0.587 G + 0.114 B
  (BT.601 weights, via pyiqa's YIQ) rounded to 8 bits, MATLAB-style 'valid' filtering and product of
  the scales. This is the value pyiqa's calibration compares with the official MATLAB code.

Both need the five scales to hold an 11-px window: an image whose smaller side is at most 160 px has no
MS-SSIM and gets an empty value (None), not a number computed on a truncated pyramid. Identical images
give exactly 1.0 (no cap is involved).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric

MIN_SIDE = 161  # (win_size - 1) * 2**4 + 1 for the 11-px window and 4 down-samplings


@functools.cache
def _pyiqa_ms_ssim_y() -> Any:
    from harness.core.torchsetup import create_pyiqa_metric, metric_device

    return create_pyiqa_metric("ms_ssim", device=metric_device())


def _tensor(rgb: np.ndarray, dtype: Any) -> Any:
    import torch

    from harness.core.torchsetup import metric_device

    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).to(dtype).div(255)[None].to(metric_device())


def ms_ssim_rgb(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    import torch
    from pytorch_msssim import ms_ssim

    with torch.inference_mode():
        return float(ms_ssim(_tensor(reconstruction, torch.float32), _tensor(reference, torch.float32), data_range=1.0))


def ms_ssim_y(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    import torch

    from harness.metrics.perceptual import to_tensor

    with torch.inference_mode():
        return float(_pyiqa_ms_ssim_y()(to_tensor(reconstruction), to_tensor(reference)))


@register
class MsSsim(Metric):
    name = "ms_ssim"
    description = "MS-SSIM on RGB (pytorch_msssim, codec papers) and on BT.601 luma (pyiqa, MATLAB-style)"
    columns = (
        Column("ms_ssim_rgb", "MS-SSIM (RGB)", "", True),
        Column("ms_ssim_y", "MS-SSIM (Y', MATLAB)", "", True),
    )

    def compute(self, reference, reconstruction, prepared):
        if min(reference.shape[:2]) < MIN_SIDE:
            return {"ms_ssim_rgb": None, "ms_ssim_y": None}
        return {"ms_ssim_rgb": ms_ssim_rgb(reference, reconstruction),
                "ms_ssim_y": ms_ssim_y(reference, reconstruction)}
