"""FSIMc (feature similarity with chroma, Zhang et al. 2011) on RGB, through piq.

``fsimc``: ``piq.fsim(reconstruction, reference, data_range=1.0, chromatic=True)`` on the 8-bit RGB in
[0, 1]: the implementation and the inputs the JPEG AI quality framework uses (piq's ``FSIM`` on RGB).
piq converts to YIQ, down-samples by round(min(H, W) / 256) as the MATLAB code does and computes phase
congruency with 4 scales and 4 orientations. Checked against the official MATLAB FSIMc values on the
calibration pairs (tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric

MIN_SIDE = 16


def fsimc(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    import torch

    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    import piq

    def tensor(rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div(255)[None]

    with torch.inference_mode():
        return float(piq.fsim(tensor(reconstruction), tensor(reference), data_range=1.0, chromatic=True))


@register
class Fsim(Metric):
    name = "fsim"
    description = "FSIMc on RGB (piq), as JPEG AI's framework"
    columns = (Column("fsimc", "FSIMc", "", True),)

    def compute(self, reference, reconstruction, prepared):
        if min(reference.shape[:2]) < MIN_SIDE:
            return {"fsimc": None}
        return {"fsimc": fsimc(reference, reconstruction)}
