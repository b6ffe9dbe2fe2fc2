"""LPIPS v0.1 with the AlexNet and VGG16 trunks, split at the reference (see :mod:`harness.metrics.perceptual`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.perceptual import PerceptualMetric, Spooled, core_slice, tiles, to_tensor
from harness.metrics.rowstream import FeatureSpool, stream_trunk


class _Lpips(PerceptualMetric):
    """LPIPS v0.1, as pyiqa's ``LPIPS.forward(in1=dist, in0=ref, normalize=True)``."""

    def _trunk(self, x: Any) -> list[Any]:
        net = self.net  # first: loading it makes torchvision importable (harness.core.torchsetup)
        from pyiqa.archs.lpips_arch import normalize_tensor

        outs = list(net.net.forward(net.scaling_layer(2 * x - 1)))
        for k in range(net.L):  # in place of the raw maps, so only one layer is held twice at a time
            outs[k] = normalize_tensor(outs[k])
        return outs

    def reference_features(self, ref: Any) -> Any:
        return self._trunk(ref)

    def distance(self, dist: Any, ref_features: Any) -> Any:
        net = self.net
        from pyiqa.archs.lpips_arch import spatial_average

        feats1 = self._trunk(dist)
        val: Any = 0
        for kk in range(net.L):
            diff = (ref_features[kk] - feats1[kk]) ** 2
            val += spatial_average(net.lins[kk](diff), keepdim=True)
        return val.squeeze(-1).squeeze(-1)

    def _stages(self) -> list[Any]:
        trunk = self.net.net
        return [getattr(trunk, f"slice{i + 1}") for i in range(trunk.N_slices)]

    def _scaled(self, band: Any) -> Any:
        return self.net.scaling_layer(2 * band - 1)

    def _spool_reference(self, ref, rows):
        from pyiqa.archs.lpips_arch import normalize_tensor

        spool = FeatureSpool()
        stream_trunk(ref, self._scaled, self._stages(), lambda _, band: spool.append(normalize_tensor(band)), rows)
        return Spooled(spool)

    def _streamed_distance(self, dist, spooled, rows):
        import torch
        from pyiqa.archs.lpips_arch import normalize_tensor

        net = self.net
        sums = np.zeros(net.L)
        counts = np.zeros(net.L)
        spool = spooled.spool
        spool.rewind()

        def accumulate(kk: int, band: Any) -> None:
            layer = net.lins[kk]((spool.next(band.device) - normalize_tensor(band)) ** 2)
            sums[kk] += float(layer.sum(dtype=torch.float64))
            counts[kk] += layer.shape[2] * layer.shape[3]

        stream_trunk(dist, self._scaled, self._stages(), accumulate, rows)
        return float(np.sum(sums / counts))

    def _tiled(self, reference, reconstruction, core, halo):
        import torch

        net = self.net
        height, width = reference.shape[:2]
        sums = np.zeros(net.L)
        counts = np.zeros(net.L)
        for ty, tx in tiles(height, width, core, halo):
            window = (slice(ty[2], ty[3]), slice(tx[2], tx[3]))
            f0 = self._trunk(to_tensor(reference[window]))
            f1 = self._trunk(to_tensor(reconstruction[window]))
            for kk in range(net.L):
                layer = net.lins[kk]((f0[kk] - f1[kk]) ** 2)
                f0[kk] = f1[kk] = None  # free each layer once used: bounds the peak memory
                h, w = layer.shape[2:]
                sy = core_slice(ty, height, h, self.strides[kk])
                sx = core_slice(tx, width, w, self.strides[kk])
                part = layer[0, 0, sy, sx]
                sums[kk] += float(part.sum(dtype=torch.float64))
                counts[kk] += part.numel()
            del f0, f1
        return float(np.sum(sums / counts))


@register
class LpipsAlex(_Lpips):
    name = "lpips"
    pyiqa_name = "lpips"
    column = "lpips_alex"
    strides = (4, 8, 16, 16, 16)
    description = "LPIPS v0.1, AlexNet trunk (pyiqa 'lpips'), inputs in [0,1]"
    columns = (Column("lpips_alex", "LPIPS (AlexNet)", "", False),)


@register
class LpipsVgg(_Lpips):
    name = "lpips_vgg"
    pyiqa_name = "lpips-vgg"
    column = "lpips_vgg"
    strides = (1, 2, 4, 8, 16)
    description = "LPIPS v0.1, VGG16 trunk (pyiqa 'lpips-vgg'), inputs in [0,1]"
    columns = (Column("lpips_vgg", "LPIPS (VGG)", "", False),)
