"""LPIPS (AlexNet and VGG16 trunks, v0.1) and DISTS through pyiqa's own networks, split at the reference.

pyiqa computes ``metric(dist, ref)`` by running the trunk network on both images and comparing the
features. A codec study compares one original with dozens of reconstructions, so the reference half is
computed once per original in :meth:`Metric.prepare` (cached per image by
:class:`harness.metrics.MetricSuite`) and each reconstruction costs one trunk pass. The split uses
pyiqa's modules and helper functions themselves (``net``, ``scaling_layer``, ``lins``,
``normalize_tensor``, ``spatial_average``; ``forward_once``, ``alpha``, ``beta``) and repeats pyiqa's
arithmetic in pyiqa's order, so the value equals ``pyiqa.create_metric(name)(dist, ref)`` (the tests check
1e-6; in practice it is bit-identical). Networks load once per process.

Large images (above :data:`TILE_ABOVE_PIXELS`) are streamed: the trunk runs on the full width, a band
of rows at a time, each layer keeping only the rows its next output still needs
(:mod:`harness.metrics.rowstream`), so the work is one full-image pass and memory is bounded by the band.
The original's features, too large for memory (about 42 bytes per pixel for AlexNet, 490 for the VGG
metrics: 1.4 GB for a 2.8 MP image), are spooled once per original to an unlinked temporary file in
``TMPDIR`` and read back band by band for each of its reconstructions; each metric keeps the spools of
its last :data:`SPOOLED_ORIGINALS` originals (jobs run image by image) and the space is freed when they are
dropped or the process ends. The metrics only average over positions (LPIPS: spatial mean of each layer's
weighted squared difference; DISTS: per-channel means, variances and covariance), so sums over bands (in
float64) give the full-image value up to float rounding (about 1e-7).

:meth:`_Perceptual.tiled` is a second exact method, used to cross-check: cores of :data:`TILE_CORE` px,
each run with a :data:`TILE_HALO` px halo of real neighbouring pixels. Every tile starts on a multiple of
16 px (the trunks' total stride), so its feature grid is the full image's grid shifted by a whole number of
positions, and the halo is wider than the deepest layer's receptive-field radius (AlexNet conv5: 96 px,
VGG16 relu5_3 with DISTS' L2 pooling: 105 px), so every feature inside a core is the full image's
feature. It recomputes the halos (1.5-2x the trunk work) and both images per reconstruction.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric, MetricError
from harness.metrics.rowstream import FeatureSpool, band_rows, stream_trunk

# Images with more pixels are streamed in bands. Below it, the cached reference features cost about
# 42 (AlexNet), 490 (LPIPS-VGG) and 500 (DISTS) bytes per pixel: ~0.2 GB per VGG metric for a Kodak image.
TILE_ABOVE_PIXELS = 1_000_000
TILE_CORE = 768  # px, multiple of 16; tiles of at most 1024x1024 px with the halo
TILE_HALO = 128  # px, multiple of 16, > receptive-field radius of the deepest layer used
SPOOLED_ORIGINALS = 2  # per metric and process: originals whose streamed features stay spooled
_ALIGN = 16  # total stride of the deepest layer of AlexNet / VGG16 used by LPIPS and DISTS

_lock = threading.Lock()


@functools.cache
def load_network(pyiqa_name: str) -> Any:
    """pyiqa's InferenceModel for ``pyiqa_name`` on the metric device (``--device``), created once per
    process."""
    from harness.core.torchsetup import (
        WeightsMissing,
        create_pyiqa_metric,
        metric_device,
    )

    try:
        return create_pyiqa_metric(pyiqa_name, device=metric_device())
    except WeightsMissing as exc:
        raise MetricError(str(exc)) from None


def to_tensor(rgb: np.ndarray) -> Any:
    """HxWx3 uint8 -> 1x3xHxW float32 in [0, 1], exactly as pyiqa's own loader (torchvision to_tensor), on
    the metric device (``--device``)."""
    import torch

    from harness.core.torchsetup import metric_device

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise MetricError(f"expected HxWx3 uint8 pixels, got {rgb.shape} {rgb.dtype}")
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).contiguous().float().div(255)[None].to(metric_device())


def _axis_tiles(n: int, core: int, halo: int) -> list[tuple[int, int, int, int]]:
    """(core_start, core_end, tile_start, tile_end) along one axis; starts are multiples of _ALIGN."""
    out = []
    for start in range(0, n, core):
        end = min(n, start + core)
        out.append((start, end, max(0, start - halo), min(n, end + halo)))
    return out


def tiles(height: int, width: int, core: int = TILE_CORE, halo: int = TILE_HALO) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    if core % _ALIGN or halo % _ALIGN:
        raise ValueError(f"tile core and halo must be multiples of {_ALIGN}")
    return [(ty, tx) for ty in _axis_tiles(height, core, halo) for tx in _axis_tiles(width, core, halo)]


def _core_slice(axis: tuple[int, int, int, int], n: int, size: int, stride: int) -> slice:
    """Positions of a tile's feature map (``size`` long, ``stride`` px apart) that lie in its core."""
    core_start, core_end, tile_start, _ = axis
    lo = (core_start - tile_start) // stride
    hi = size if core_end >= n else (core_end - tile_start) // stride
    return slice(lo, hi)


def pixels_digest(rgb: np.ndarray) -> str:
    """A key for an image's pixels (the spooled features belong to exactly these pixels)."""
    data = np.ascontiguousarray(rgb)
    return f"{data.shape}:{hashlib.blake2b(data.data.cast('B'), digest_size=16).hexdigest()}"


@dataclass
class _Spooled:
    """An original's streamed features (the bands in emission order); for DISTS also the original image
    (its layer 0) and per layer the count, sum and sum of squares of the original's features."""

    spool: FeatureSpool
    image: Any = None
    sums: list[tuple[int, Any, Any]] = field(default_factory=list)


class _Perceptual(Metric):
    pyiqa_name: ClassVar[str]
    column: ClassVar[str]
    strides: ClassVar[tuple[int, ...]]  # total stride in px of each compared feature map

    def __init__(self) -> None:
        self._spooled: OrderedDict[str, _Spooled] = OrderedDict()
        self._spool_lock = threading.Lock()

    @property
    def model(self) -> Any:
        with _lock:
            return load_network(self.pyiqa_name)

    @property
    def net(self) -> Any:
        return self.model.net

    def prepare(self, reference: np.ndarray) -> Any:
        if reference.shape[0] * reference.shape[1] > TILE_ABOVE_PIXELS:
            return None  # streamed: the features are spooled to disk by streamed() (module docstring)
        import torch

        with torch.inference_mode():
            return self.reference_features(to_tensor(reference))

    def compute(self, reference: np.ndarray, reconstruction: np.ndarray, prepared: Any) -> dict[str, float | None]:
        if reference.shape != reconstruction.shape:
            raise MetricError(f"reconstruction {reconstruction.shape} differs from the original {reference.shape}")
        import torch

        if prepared is None:  # called without the suite's cache
            prepared = self.prepare(reference)
        with torch.inference_mode():
            if prepared is None:
                value = self.streamed(reference, reconstruction)
            else:
                value = float(self.distance(to_tensor(reconstruction), prepared).reshape(-1)[0])
        return {self.column: value}

    # Subclasses: the reference-side features, the distance from them, and tile accumulation.
    def reference_features(self, ref: Any) -> Any:
        raise NotImplementedError

    def distance(self, dist: Any, ref_features: Any) -> Any:
        raise NotImplementedError

    def streamed(self, reference: np.ndarray, reconstruction: np.ndarray, rows: int | None = None) -> float:
        """The metric with both images streamed in bands of ``rows`` input rows (default: about
        BAND_PIXELS per band), the original's features spooled once per original."""
        import torch

        # Loading the network first makes torchvision importable (harness.core.torchsetup): the spooling
        # below imports pyiqa's helpers, which import torchvision.
        self.model  # noqa: B018
        rows = rows or band_rows(reference.shape[1])
        key = f"{pixels_digest(reference)}:{rows}"
        with torch.inference_mode():
            with self._spool_lock:
                spooled = self._spooled.get(key)
                if spooled is not None:
                    self._spooled.move_to_end(key)
            if spooled is None:
                spooled = self._spool_reference(to_tensor(reference), rows)
                with self._spool_lock:
                    self._spooled[key] = spooled
                    while len(self._spooled) > SPOOLED_ORIGINALS:
                        self._spooled.popitem(last=False)[1].spool.close()
            return self._streamed_distance(to_tensor(reconstruction), spooled, rows)

    def _spool_reference(self, ref: Any, rows: int) -> _Spooled:
        raise NotImplementedError

    def _streamed_distance(self, dist: Any, spooled: _Spooled, rows: int) -> float:
        raise NotImplementedError

    def tiled(self, reference: np.ndarray, reconstruction: np.ndarray, core: int | None = None,
              halo: int | None = None) -> float:
        """The metric over tiles of ``core`` px with ``halo`` px of context (used above TILE_ABOVE_PIXELS;
        defaults: TILE_CORE, TILE_HALO)."""
        import torch

        with torch.inference_mode():
            return self._tiled(reference, reconstruction, core or TILE_CORE, halo or TILE_HALO)

    def _tiled(self, reference: np.ndarray, reconstruction: np.ndarray, core: int, halo: int) -> float:
        raise NotImplementedError


class _Lpips(_Perceptual):
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
        return _Spooled(spool)

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
                sy = _core_slice(ty, height, h, self.strides[kk])
                sx = _core_slice(tx, width, w, self.strides[kk])
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


@dataclass
class _DistsReference:
    feats: list[Any]
    means: list[Any]
    variances: list[Any]


@register
class Dists(_Perceptual):
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
        spooled = _Spooled(FeatureSpool(), ref, [(ref.shape[2] * ref.shape[3], *self._channel_sums(ref))])
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
                sy = _core_slice(ty, height, h, self.strides[k])
                sx = _core_slice(tx, width, w, self.strides[k])
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
