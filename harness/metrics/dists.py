"""DISTS, split at the reference (see :mod:`harness.metrics.perceptual`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.perceptual import PerceptualMetric, Spooled, core_slice, tiles, to_tensor
from harness.metrics.rowstream import FeatureSpool, stream_trunk


@dataclass
class _DistsReference:
    feats: list[Any]
    means: list[Any]
    variances: list[Any]


@register
class Dists(PerceptualMetric):
    """DISTS, as pyiqa's ``DISTS.forward(x=dist, y=ref)``."""

    name = "dists"
    pyiqa_name = "dists"
    column = "dists"
    strides = (1, 1, 2, 4, 8, 16)  # the image itself, then relu1_2 .. relu5_3
    description = "DISTS (pyiqa 'dists'), VGG16 with L2 pooling, inputs in [0,1]"
    columns = (Column("dists", "DISTS", "", False),)
    c1 = 1e-6
    c2 = 1e-6

    def reference_features(self, ref: Any) -> Any:
        feats = self.net.forward_once(ref)
        means = [f.mean([2, 3], keepdim=True) for f in feats]
        variances = [((f - m) ** 2).mean([2, 3], keepdim=True) for f, m in zip(feats, means)]
        return _DistsReference(feats, means, variances)

    def _weights(self) -> tuple[Any, Any]:
        import torch

        net = self.net
        w_sum = net.alpha.sum() + net.beta.sum()
        return torch.split(net.alpha / w_sum, net.chns, dim=1), torch.split(net.beta / w_sum, net.chns, dim=1)

    def distance(self, dist: Any, ref: _DistsReference) -> Any:
        feats0 = self.net.forward_once(dist)
        alpha, beta = self._weights()
        dist1: Any = 0
        dist2: Any = 0
        c1, c2 = self.c1, self.c2
        for k in range(len(self.net.chns)):
            x_mean = feats0[k].mean([2, 3], keepdim=True)
            y_mean = ref.means[k]
            S1 = (2 * x_mean * y_mean + c1) / (x_mean**2 + y_mean**2 + c1)
            dist1 = dist1 + (alpha[k] * S1).sum(1, keepdim=True)
            x_var = ((feats0[k] - x_mean) ** 2).mean([2, 3], keepdim=True)
            y_var = ref.variances[k]
            xy_cov = (feats0[k] * ref.feats[k]).mean([2, 3], keepdim=True) - x_mean * y_mean
            S2 = (2 * xy_cov + c2) / (x_var + y_var + c2)
            dist2 = dist2 + (beta[k] * S2).sum(1, keepdim=True)
        score = 1 - (dist1 + dist2)
        return score.squeeze(-1).squeeze(-1)

    def _stages(self) -> list[Any]:
        net = self.net
        return [net.stage1, net.stage2, net.stage3, net.stage4, net.stage5]

    def _normalised(self, band: Any) -> Any:
        return (band - self.net.mean) / self.net.std

    @staticmethod
    def _channel_sums(t: Any) -> tuple[Any, Any]:
        import torch

        return t.sum((0, 2, 3), dtype=torch.float64), (t * t).sum((0, 2, 3), dtype=torch.float64)

    def _spool_reference(self, ref, rows):
        spooled = Spooled(FeatureSpool(), ref, [(ref.shape[2] * ref.shape[3], *self._channel_sums(ref))])
        bands: list[list[Any]] = [[0, 0.0, 0.0] for _ in self._stages()]

        def keep(k: int, band: Any) -> None:
            spooled.spool.append(band)
            y, yy = self._channel_sums(band)
            bands[k][0] += band.shape[2] * band.shape[3]
            bands[k][1] = bands[k][1] + y
            bands[k][2] = bands[k][2] + yy

        stream_trunk(ref, self._normalised, self._stages(), keep, rows)
        spooled.sums += [(n, y, yy) for n, y, yy in bands]
        return spooled

    def _streamed_distance(self, dist, spooled, rows):
        import torch

        x, xx = self._channel_sums(dist)
        xy = (dist * spooled.image).sum((0, 2, 3), dtype=torch.float64)
        acc = [{"n": n, "x": 0.0, "y": y, "xx": 0.0, "yy": yy, "xy": 0.0} for n, y, yy in spooled.sums]
        acc[0].update(x=x, xx=xx, xy=xy)  # layer 0: the images themselves
        spool = spooled.spool
        spool.rewind()

        def accumulate(k: int, band: Any) -> None:
            ref = spool.next(band.device)
            a = acc[k + 1]
            x, xx = self._channel_sums(band)
            a["x"] = a["x"] + x
            a["xx"] = a["xx"] + xx
            a["xy"] = a["xy"] + (band * ref).sum((0, 2, 3), dtype=torch.float64)

        stream_trunk(dist, self._normalised, self._stages(), accumulate, rows)
        return self._from_sums(acc)

    def _tiled(self, reference, reconstruction, core, halo):
        import torch

        height, width = reference.shape[:2]
        layers = len(self.net.chns)
        # Per layer and channel: count, sum x, sum y, sum x^2, sum y^2, sum xy (float64).
        acc: list[dict[str, Any]] = [{"n": 0, "x": 0.0, "y": 0.0, "xx": 0.0, "yy": 0.0, "xy": 0.0} for _ in range(layers)]
        for ty, tx in tiles(height, width, core, halo):
            window = (slice(ty[2], ty[3]), slice(tx[2], tx[3]))
            f0 = self.net.forward_once(to_tensor(reconstruction[window]))
            f1 = self.net.forward_once(to_tensor(reference[window]))
            for k in range(layers):
                h, w = f0[k].shape[2:]
                sy = core_slice(ty, height, h, self.strides[k])
                sx = core_slice(tx, width, w, self.strides[k])
                x = f0[k][0, :, sy, sx]
                y = f1[k][0, :, sy, sx]
                f0[k] = f1[k] = None  # free each layer as soon as it is summed: bounds the peak memory
                a = acc[k]
                a["n"] += x.shape[1] * x.shape[2]
                # float64 accumulation without float64 copies of the feature maps
                a["x"] = a["x"] + x.sum((1, 2), dtype=torch.float64)
                a["y"] = a["y"] + y.sum((1, 2), dtype=torch.float64)
                a["xx"] = a["xx"] + (x * x).sum((1, 2), dtype=torch.float64)
                a["yy"] = a["yy"] + (y * y).sum((1, 2), dtype=torch.float64)
                a["xy"] = a["xy"] + (x * y).sum((1, 2), dtype=torch.float64)
                del x, y
            del f0, f1
        return self._from_sums(acc)

    def _from_sums(self, acc: list[dict[str, Any]]) -> float:
        """DISTS from per-layer, per-channel float64 sums (n, x, y, xx, yy, xy) over all positions."""
        import torch

        alpha, beta = self._weights()
        dist1 = torch.zeros((), dtype=torch.float64)
        dist2 = torch.zeros((), dtype=torch.float64)
        for k, a in enumerate(acc):
            n = a["n"]
            x_mean, y_mean = a["x"] / n, a["y"] / n
            x_var = a["xx"] / n - x_mean**2
            y_var = a["yy"] / n - y_mean**2
            xy_cov = a["xy"] / n - x_mean * y_mean
            S1 = (2 * x_mean * y_mean + self.c1) / (x_mean**2 + y_mean**2 + self.c1)
            S2 = (2 * xy_cov + self.c2) / (x_var + y_var + self.c2)
            dist1 = dist1 + (alpha[k].double().reshape(-1) * S1).sum()
            dist2 = dist2 + (beta[k].double().reshape(-1) * S2).sum()
        return float(1 - (dist1 + dist2))
