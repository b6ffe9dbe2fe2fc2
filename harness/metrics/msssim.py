"""MS-SSIM on RGB (the codec papers' convention) and on luma (pyiqa's MATLAB-style MS-SSIM).

- ``ms_ssim_rgb``: ``pytorch_msssim.ms_ssim(x, y, data_range=1.0)`` on RGB in [0, 1], as CompressAI and
  most learned-codec papers report it: 11x11 Gaussian window (sigma 1.5), 5 scales with the weights of
  Wang et al. (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), contrast terms clamped at 0, and the three
  channels' MS-SSIM averaged. Computed in float32 like the papers (float64 differs by ~2e-7).
- ``ms_ssim_y``: pyiqa's ``ms_ssim`` (``test_y_channel=True``): luma Y = 0.299 R + 0.587 G + 0.114 B
  (BT.601 weights, via pyiqa's YIQ) rounded to 8 bits, MATLAB-style 'valid' filtering and product of
  the scales. This is the value pyiqa's calibration compares with the official MATLAB code. pyiqa
  filters with a 2-D 11x11 window in float64 (5 maps, 5 scales: about 1 s per Kodak image); the harness
  filters the same maps in float64 with a separable window (two 11-tap passes, scipy), which is 20-30x
  faster. pyiqa's window is the Gaussian rounded to float32, whose sum is not exactly 1, and the
  variances (E[x^2] - E[x]^2 on the 0..255 scale) are sensitive to that sum, so the separable window is
  scaled to the same sum: the values equal pyiqa's within about 1e-10 (tested within 1e-9).

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


# pyiqa's scale weights, as the float32 tensor it builds them in.
_SCALE_WEIGHTS: np.ndarray = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=np.float32).astype(np.float64)
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


@functools.cache
def _separable_window() -> np.ndarray:
    """The 11-tap Gaussian (sigma 1.5) whose outer product has the sum of pyiqa's float32 11x11 window."""
    x = np.arange(-5, 6, dtype=np.float64)
    g = np.exp(-(x * x) / (2 * 1.5 * 1.5))
    g /= g.sum()
    window_2d = np.outer(g, g)  # pyiqa's fspecial: normalised in float64, then stored as float32
    target_sum = (window_2d / window_2d.sum()).astype(np.float32).astype(np.float64).sum()
    return g * np.sqrt(target_sum)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """pyiqa's rounded 8-bit Y of YIQ (its own float32 conversion, so the rounding is identical)."""
    import torch

    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    from pyiqa.utils.color_util import to_y_channel

    # On the CPU whatever --device says: the filtering below is numpy. Same tensor as pyiqa's loader.
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div(255)[None]
    with torch.inference_mode():
        return to_y_channel(tensor, 255, "yiq").round()[0, 0].double().numpy()


def _average_pool(x: np.ndarray) -> np.ndarray:
    """``F.avg_pool2d(x, 2, padding=(H % 2, W % 2))`` (zero padding counted, as pyiqa down-samples)."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    oh, ow = x.shape[0] // 2 + ph, x.shape[1] // 2 + pw
    padded = padded[: 2 * oh, : 2 * ow]
    return (padded[0::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 0::2] + padded[1::2, 1::2]) / 4


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
    """pyiqa's ``ms_ssim(reconstruction, reference)`` on luma (module docstring)."""
    from scipy.ndimage import correlate1d

    window = _separable_window()
    half = len(window) // 2
    x, y = _luma(reconstruction), _luma(reference)
    contrast = []
    for scale in range(len(_SCALE_WEIGHTS)):
        maps = np.stack([x, y, x * x, y * y, x * y])
        maps = correlate1d(maps, window, axis=2, mode="constant")[:, :, half:-half]
        mu1, mu2, xx, yy, xy = correlate1d(maps, window, axis=1, mode="constant")[:, half:-half, :]
        mu12 = mu1 * mu2
        cs_map = np.maximum((2 * (xy - mu12) + _C2) / ((xx - mu1 * mu1) + (yy - mu2 * mu2) + _C2), 0.0)
        contrast.append(cs_map.mean())
        if scale == len(_SCALE_WEIGHTS) - 1:
            ssim = (((2 * mu12 + _C1) / (mu1 * mu1 + mu2 * mu2 + _C1)) * cs_map).mean()
        else:
            x, y = _average_pool(x), _average_pool(y)
    return float(np.prod(np.array(contrast[:-1]) ** _SCALE_WEIGHTS[:-1]) * ssim ** _SCALE_WEIGHTS[-1])


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
