"""Detail kept versus detail invented: separates the two ways a codec fails on texture.

A codec that removes detail (blur, the usual failure of VVC/AVIF at low rates) and a codec that replaces
it with plausible detail of its own (the worry about learned perceptual codecs such as PICO or HiFiC)
can score alike on LPIPS or DISTS. This metric tells them apart by asking, scale by scale and region by
region, how much of the reconstruction's detail is the original's.

Definition (luma only: Y' = BT.709 weights on the 8-bit values, scaled to 0..1):

1. Scale bands: an undecimated Laplacian (difference-of-Gaussians) stack, band k = G(s[k-1]) * Y' -
   G(s[k]) * Y' with s = (0, 1, 2, 4, 8) px, so bands 1..4 hold detail of about 1-2, 2-4, 4-8 and 8-16
   px wavelength ("b1" finest). The same bands are taken of the original (o) and the reconstruction (r).
2. Regions: local energies and cross-energy in a Gaussian window of sigma 4 s[k] around every pixel:
   Eo = <o^2>, Er = <r^2>, C = <o r>.
3. Per pixel and band, the reconstruction's band is split into the part explained by the original's
   (its projection, energy K = max(C, 0)^2 / Eo) and the rest (I = Er - K, never negative):
   - **kept** K: the original's detail that is there, with the original's phase and orientation;
   - **invented** I: detail in the reconstruction that is not the original's (texture synthesis, noise,
     ringing, shifted edges);
   - **lost** L = max(Eo - K, 0): the original's detail that is gone.
4. Image values, per band as sums over pixels relative to the original's band energy, then the mean of the
   four bands:

| column | definition | reads |
| --- | --- | --- |
| `detail_kept` | sum K / sum Eo | 1 = all of the original's detail is there; blur lowers it (a Gaussian blur of sigma 1.5 px: ~0.4) |
| `detail_invented` | sum I / sum Eo | 0 = nothing invented; added noise or texture replaced by another texture raises it (equal-energy replacement everywhere: ~1) |
| `detail_energy` | sum Er / sum Eo | the amount of detail, whoever's it is: 1 = as much as the original; < 1 removed, > 1 added (= kept + invented) |
| `detail_correlation` | sum C / sqrt(sum Eo sum Er) | 1 = the reconstruction's detail is the original's, 0 = unrelated |

A blur keeps correlation high and lowers energy; a texture synthesiser keeps energy near 1 and lowers
correlation, which shows as invented detail. The per-pixel maps (:func:`detail_map`) give the same split
for the viewer: the fraction of the local detail that is invented, lost or kept, summed over bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric, MetricError

BAND_SIGMAS = (0.0, 1.0, 2.0, 4.0, 8.0)  # px; band k lies between sigma k-1 and sigma k
WINDOW_FACTOR = 4.0  # local statistics window sigma = WINDOW_FACTOR * the band's outer sigma
EPS = (0.5 / 255.0) ** 2
_LUMA = np.array([0.2126, 0.7152, 0.0722])
MAP_KINDS = ("invented", "lost", "kept")


def luma(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> BT.709-weighted Y' in 0..1 (float64)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MetricError(f"expected HxWx3 pixels, got {rgb.shape}")
    return rgb.astype(np.float64) @ _LUMA / 255.0


def bands(plane: np.ndarray) -> list[np.ndarray]:
    """The undecimated Laplacian stack of ``plane``: one full-size band per pair of BAND_SIGMAS."""
    from scipy import ndimage  # type: ignore[import-untyped]  # here: listing metrics must not pay for scipy

    smoothed = [plane if sigma == 0 else ndimage.gaussian_filter(plane, sigma, mode="reflect")
                for sigma in BAND_SIGMAS]
    return [smoothed[k - 1] - smoothed[k] for k in range(1, len(BAND_SIGMAS))]


@dataclass
class BandStatistics:
    """Per-pixel local statistics of one band: original energy, reconstruction energy, cross energy, and
    the split of the reconstruction's energy into kept and invented (and the original's lost part)."""

    original: np.ndarray
    reconstruction: np.ndarray
    cross: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        # <= reconstruction by Cauchy-Schwarz (the window is a weighted inner product); the minimum only
        # absorbs rounding, and a zero original energy (a flat region) keeps nothing.
        projected = np.maximum(self.cross, 0.0) ** 2 / np.where(self.original > 0, self.original, 1.0)
        return np.where(self.original > 0, np.minimum(projected, self.reconstruction), 0.0)

    @property
    def invented(self) -> np.ndarray:
        return np.maximum(self.reconstruction - self.kept, 0.0)

    @property
    def lost(self) -> np.ndarray:
        return np.maximum(self.original - self.kept, 0.0)


def band_statistics(original: np.ndarray, reconstruction: np.ndarray) -> list[BandStatistics]:
    """Local statistics of every band of two RGB images of the same size."""
    if original.shape != reconstruction.shape:
        raise MetricError(f"reconstruction {reconstruction.shape} differs from the original {original.shape}")
    from scipy import ndimage

    out = []
    for k, (o, r) in enumerate(zip(bands(luma(original)), bands(luma(reconstruction))), start=1):
        window = WINDOW_FACTOR * BAND_SIGMAS[k]
        local = [ndimage.gaussian_filter(x, window, mode="reflect") for x in (o * o, r * r, o * r)]
        out.append(BandStatistics(*local))
    return out


def detail_bands(original: np.ndarray, reconstruction: np.ndarray) -> list[dict[str, float]]:
    """Per band (finest first): kept, invented, lost, energy and correlation, as in the module docstring."""
    rows = []
    for stats in band_statistics(original, reconstruction):
        eo = float(stats.original.sum())
        er = float(stats.reconstruction.sum())
        if eo <= 0:
            raise MetricError("the original has no detail at all (a flat image): detail ratios are undefined")
        rows.append({
            "kept": float(stats.kept.sum()) / eo,
            "invented": float(stats.invented.sum()) / eo,
            "lost": float(stats.lost.sum()) / eo,
            "energy": er / eo,
            "correlation": float(stats.cross.sum()) / float(np.sqrt(eo * er)) if er > 0 else 0.0,
        })
    return rows


def detail_scores(original: np.ndarray, reconstruction: np.ndarray) -> dict[str, float]:
    """The metric's columns: the mean over bands of each band's kept, invented, energy and correlation."""
    rows = detail_bands(original, reconstruction)
    return {f"detail_{key}": float(np.mean([row[key] for row in rows]))
            for key in ("kept", "invented", "energy", "correlation")}


def detail_map(original: np.ndarray, reconstruction: np.ndarray, kind: str = "invented") -> np.ndarray:
    """Per-pixel map (HxW float32) for the viewer, from two HxWx3 uint8 RGB images.

    ``invented``: the fraction of the reconstruction's local detail that is not the original's (0..1);
    ``lost``: the fraction of the original's local detail that is gone (0..1); ``kept``: the original's
    detail that is there, relative to the original's (1 = all of it; above 1 where sharpened). Energies
    are summed over the four bands before dividing, with eps = (0.5/255)^2 per band (the 8-bit rounding
    noise energy) added to the denominator, so flat regions (no detail in either image) read 0."""
    if kind not in MAP_KINDS:
        raise MetricError(f"detail map kind {kind!r} is not one of {', '.join(MAP_KINDS)}")
    stats = band_statistics(original, reconstruction)
    numerator = sum(getattr(s, kind) for s in stats)
    denominator = sum(s.reconstruction if kind == "invented" else s.original for s in stats)
    floor = EPS * len(stats)
    return (numerator / (denominator + floor)).astype(np.float32)


@register
class Detail(Metric):
    name = "detail"
    description = "Detail kept vs invented: Laplacian-stack bands of luma, local projection onto the original's detail"
    columns = (
        Column("detail_kept", "Detail kept", "", True),
        Column("detail_invented", "Detail invented", "", False),
        Column("detail_energy", "Detail energy ratio (1 = original)", "", True),
        Column("detail_correlation", "Detail correlation", "", True),
    )

    def compute(self, reference, reconstruction, prepared):
        return detail_scores(reference, reconstruction)
