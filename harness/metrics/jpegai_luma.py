"""The luma plane and tensors shared by the JPEG AI metric set (VIF, NLPD, IW-SSIM, PSNR-HVS-M on Y')."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.core.colour import rgb8_to_luma8
from harness.metrics.base import PairMetric

# JPEG AI's quality framework converts RGB to full-range BT.709 Y'CbCr and rounds each plane to the bit depth
# (8 bits here: the harness loads 8-bit RGB) before computing the luma metrics.
MATRIX = "bt709"


def luma8(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxW float64 Y' codes 0..255 (BT.709, full range, rounded)."""
    return rgb8_to_luma8(rgb, MATRIX)


def plane_tensor(plane: np.ndarray, scale: float = 1.0, dtype: Any = None, channels: int = 1) -> Any:
    """HxW plane -> 1xCxHxW torch tensor of ``plane / scale`` (``channels`` copies), on the CPU."""
    import torch

    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    tensor = torch.from_numpy(np.ascontiguousarray(plane / scale)).to(dtype or torch.float32)[None, None]
    return tensor.repeat(1, channels, 1, 1) if channels > 1 else tensor


class LumaMetric(PairMetric):
    """A metric of the two images' BT.709 luma planes rounded to 8 bits (:func:`luma8`), as JPEG AI's framework."""

    def reference_side(self, reference: np.ndarray) -> Any:
        return luma8(reference)

    def reconstruction_side(self, reconstruction: np.ndarray) -> Any:
        return luma8(reconstruction)
