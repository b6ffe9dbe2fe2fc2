"""What LPIPS (:mod:`.lpips`) and DISTS (:mod:`.dists`) share: pyiqa's own networks, split at the reference.

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

:meth:`PerceptualMetric.tiled` is a second exact method, used to cross-check: cores of :data:`TILE_CORE` px,
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
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.metrics.base import Metric, MetricError
from harness.metrics.rowstream import FeatureSpool, band_rows

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


def core_slice(axis: tuple[int, int, int, int], n: int, size: int, stride: int) -> slice:
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
class Spooled:
    """An original's streamed features (the bands in emission order); for DISTS also the original image
    (its layer 0) and per layer the count, sum and sum of squares of the original's features."""

    spool: FeatureSpool
    image: Any = None
    sums: list[tuple[int, Any, Any]] = field(default_factory=list)


class PerceptualMetric(Metric):
    pyiqa_name: ClassVar[str]
    column: ClassVar[str]
    strides: ClassVar[tuple[int, ...]]  # total stride in px of each compared feature map

    def __init__(self) -> None:
        super().__init__()
        self._spooled: OrderedDict[str, Spooled] = OrderedDict()
        self._spool_lock = threading.Lock()

    def version(self) -> str:
        from importlib import metadata

        try:
            return f"pyiqa {metadata.version('pyiqa')}"
        except metadata.PackageNotFoundError:
            return "pyiqa not installed"

    def weight_files(self) -> tuple[Path, ...]:
        from harness.core.torchsetup import WEIGHT_FILES, torch_home

        return tuple(torch_home() / "hub" / relative for relative in WEIGHT_FILES.get(self.pyiqa_name, ()))

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

    def _spool_reference(self, ref: Any, rows: int) -> Spooled:
        raise NotImplementedError

    def _streamed_distance(self, dist: Any, spooled: Spooled, rows: int) -> float:
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
