"""Bjøntegaard-Delta rate and quality as pure functions on arrays.

The computation follows the reference implementations codec standardisation uses:

- ``pchip``: piecewise cubic Hermite interpolation, the JCT-VC / JVET CTC spreadsheet method
  (JCTVC-L1100, JVET-T2010);
- ``akima``: Akima interpolation (Herglotz et al., ICIP 2022), linear for two points;
- ``cubic``: the original least-squares cubic polynomial of VCEG-M33.

BD-rate interpolates log10(rate) as a function of quality and averages the difference over the overlap
of the two quality ranges; BD-quality interpolates quality as a function of log10(rate) over the
overlap of the two rate ranges. Nothing is extrapolated. The numbers equal FAU's ``bjontegaard`` package
(same scipy interpolators, same overlap rule), which the tests check; unlike that package, a value
computed on too little overlap or too few points is not returned as a number but as missing with the
reason, and every result carries its diagnostics.

Lower-is-better metrics (LPIPS, DISTS, error rates) need no sign tricks: BD-rate integrates log-rate
over a quality interval, which is the same whether quality rises or falls with rate; BD-quality is
reported in the metric's own units as test minus anchor, so a better codec has a positive delta on
PSNR and a negative delta on LPIPS (:attr:`BDResult.better` says which).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.analysis.curves import METHODS, BDError, Curve, interpolator, prepare_curve

# Fraction of the union of the two ranges (on the integration axis) that must be shared before a BD
# value is reported; FAU's package only warns below 0.75 and JVET's sheet never refuses. Two curves of equal
# length overlapping 0.4 of their union share 57 % of each. Measured on Kodak with every codec at its
# default points: JPEG against VVC overlaps 0.43-0.49 in PSNR per image (about 9 dB shared, more than a
# CTC QP range spans), HEVC/AVIF/JPEG XL 0.68-0.96; 0.4 keeps those and refuses curves that barely touch.
# The overlap is reported with every value, and the threshold is a parameter (--min-overlap).
DEFAULT_MIN_OVERLAP = 0.4

# Points each method needs: a cubic fit through fewer than four points is underdetermined.
MIN_POINTS = {"pchip": 2, "akima": 2, "cubic": 4}


# --- quality transforms -------------------------------------------------------------------------------

def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def ssim_to_db(x: np.ndarray) -> np.ndarray:
    """(MS-)SSIM in decibels, -10 log10(1 - x): spreads the values crowded near 1 the way PSNR does.
    x = 1 gives +inf, which BD drops as a non-finite point."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -10.0 * np.log10(1.0 - x)


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"identity": _identity, "db": ssim_to_db}


def default_transform(column: str) -> str:
    """The transform codec papers use for a metric column: MS-SSIM (and SSIM) in dB, others as is."""
    name = column.lower()
    return "db" if ("ssim" in name and "db" not in name) else "identity"


def transformed_label(label: str, unit: str, transform: str) -> tuple[str, str]:
    """Axis/table label and unit after a transform (``MS-SSIM`` -> ``MS-SSIM``, ``dB``)."""
    if transform == "db":
        return label, "dB"
    return label, unit


# --- results ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BDResult:
    """One BD value with the diagnostics needed to trust it.

    value: percent for BD-rate (negative: the test needs fewer bits), quality units for BD-quality
    (test minus anchor); None when it could not be computed, with ``reason`` saying why.
    overlap: shared fraction of the union of the two ranges on the integration axis (0..1).
    """

    kind: str  # "rate" or "quality"
    method: str
    value: float | None
    reason: str = ""
    overlap: float = float("nan")
    n_anchor: int = 0
    n_test: int = 0
    anchor_monotonic: bool = True
    test_monotonic: bool = True
    higher_is_better: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def monotonic(self) -> bool:
        return self.anchor_monotonic and self.test_monotonic

    @property
    def better(self) -> bool | None:
        """Whether the test codec beats the anchor by this measure (None when missing or zero)."""
        if self.value is None or self.value == 0:
            return None
        if self.kind == "rate":
            return self.value < 0
        return (self.value > 0) == self.higher_is_better




def _delta(anchor: Curve, test: Curve, method: str, kind: str, min_overlap: float,
           min_points: int | None) -> tuple[float | None, str, float]:
    """Average of (test - anchor) over the overlap of the x ranges, or None with the reason."""
    needed = max(MIN_POINTS[method], min_points or 0)
    for name, curve in (("anchor", anchor), ("test", test)):
        if curve.x.size < needed:
            return None, (f"{name} has {curve.x.size} usable point(s); {method} needs at least {needed}"), float("nan")
    lo = max(anchor.x[0], test.x[0])
    hi = min(anchor.x[-1], test.x[-1])
    span = max(anchor.x[-1], test.x[-1]) - min(anchor.x[0], test.x[0])
    overlap = max(hi - lo, 0.0) / span if span > 0 else 0.0
    axis = "quality" if kind == "rate" else "log-rate"
    if overlap <= 0:
        return None, f"the {axis} ranges do not overlap", overlap
    if overlap < min_overlap:
        return None, (f"{axis} ranges overlap {overlap:.0%} of their union, below the minimum "
                      f"{min_overlap:.0%}"), overlap
    f_anchor = interpolator(anchor.x, anchor.y, method)
    f_test = interpolator(test.x, test.y, method)
    avg = (float(f_test.integrate(lo, hi)) - float(f_anchor.integrate(lo, hi))) / (hi - lo)
    if not math.isfinite(avg):
        return None, "interpolation gave a non-finite integral", overlap
    return avg, "", overlap


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise BDError(f"unknown BD interpolation method {method!r} (known: {', '.join(METHODS)})")


def _check_lengths(rate: Any, quality: Any, who: str) -> None:
    n_rate, n_quality = np.asarray(rate).size, np.asarray(quality).size
    if n_rate != n_quality:
        raise BDError(f"{who}: {n_rate} rate points but {n_quality} quality points")


def _log_rate(rate: Sequence[float] | np.ndarray, who: str, notes: list[str]) -> np.ndarray:
    r = np.asarray(rate, dtype=np.float64).ravel()
    bad = ~(r > 0)
    if bad.any():
        notes.append(f"{who}: {int(bad.sum())} point(s) with rate <= 0 dropped")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bad, np.nan, np.log10(np.where(bad, 1.0, r)))


def quality_at_rate(rates: Sequence[float] | np.ndarray, qualities: Sequence[float] | np.ndarray, rate: float,
                    method: str = "pchip") -> float | None:
    """The quality one RD curve has at exactly ``rate``: interpolated on log10(rate) with the BD-quality
    interpolator, never extrapolated. None when the curve has fewer than two usable points or ``rate``
    lies outside its range. A point at exactly ``rate`` is returned as measured."""
    if not (rate > 0 and math.isfinite(rate)):
        return None
    r = np.asarray(rates, dtype=np.float64).ravel()
    q = np.asarray(qualities, dtype=np.float64).ravel()
    usable = np.isfinite(r) & np.isfinite(q) & (r > 0)
    r, q = r[usable], q[usable]
    exact = np.flatnonzero(r == rate)
    if exact.size:
        return float(q[exact[0]])
    curve = prepare_curve(np.log10(r), q, True, False, "curve")
    if curve.x.size < max(2, MIN_POINTS[method]):
        return None
    x = math.log10(rate)
    if not curve.x[0] <= x <= curve.x[-1]:
        return None
    return float(interpolator(curve.x, curve.y, method)(x))


def bd_rate(rate_anchor: Sequence[float] | np.ndarray, quality_anchor: Sequence[float] | np.ndarray,
            rate_test: Sequence[float] | np.ndarray, quality_test: Sequence[float] | np.ndarray,
            method: str = "pchip", *, higher_is_better: bool = True, transform: str = "identity",
            min_overlap: float = DEFAULT_MIN_OVERLAP, min_points: int | None = None) -> BDResult:
    """Average rate difference in percent at equal quality (negative: the test saves bits).

    ``transform`` ("identity" or "db") is applied to the quality values first; ``higher_is_better`` is
    the metric's direction and only affects the monotonicity diagnostic and :attr:`BDResult.better`.
    """
    return _bd("rate", rate_anchor, quality_anchor, rate_test, quality_test, method, higher_is_better, transform,
               min_overlap, min_points)


def bd_quality(rate_anchor: Sequence[float] | np.ndarray, quality_anchor: Sequence[float] | np.ndarray,
               rate_test: Sequence[float] | np.ndarray, quality_test: Sequence[float] | np.ndarray,
               method: str = "pchip", *, higher_is_better: bool = True, transform: str = "identity",
               min_overlap: float = DEFAULT_MIN_OVERLAP, min_points: int | None = None) -> BDResult:
    """Average quality difference (test - anchor, in the transformed metric's units) at equal rate:
    BD-PSNR for PSNR. Positive is better for higher-is-better metrics, negative for the others."""
    return _bd("quality", rate_anchor, quality_anchor, rate_test, quality_test, method, higher_is_better,
               transform, min_overlap, min_points)


def _bd(kind: str, rate_anchor: Sequence[float] | np.ndarray, quality_anchor: Sequence[float] | np.ndarray,
        rate_test: Sequence[float] | np.ndarray, quality_test: Sequence[float] | np.ndarray, method: str,
        higher_is_better: bool, transform: str, min_overlap: float, min_points: int | None) -> BDResult:
    """BD-rate integrates log-rate over quality; BD-quality integrates quality over log-rate."""
    _check_method(method)
    _check_lengths(rate_anchor, quality_anchor, "anchor")
    _check_lengths(rate_test, quality_test, "test")
    tf = _transform(transform)
    notes: list[str] = []
    curves = []
    for who, rate, quality in (("anchor", rate_anchor, quality_anchor), ("test", rate_test, quality_test)):
        log_rate, q = _log_rate(rate, who, notes), tf(np.asarray(quality, dtype=float))
        if kind == "rate":
            curves.append(prepare_curve(q, log_rate, higher_is_better, True, who))
        else:
            curves.append(prepare_curve(log_rate, q, higher_is_better, not higher_is_better, who))
    anchor, test = curves
    value, reason, overlap = _delta(anchor, test, method, kind, min_overlap, min_points)
    if kind == "rate" and value is not None:
        value = (10.0 ** value - 1.0) * 100.0
    return BDResult(kind, method, value, reason, overlap, anchor.x.size, test.x.size, anchor.monotonic,
                    test.monotonic, higher_is_better, tuple(notes) + anchor.notes + test.notes)


def _transform(name: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return TRANSFORMS[name]
    except KeyError:
        raise BDError(f"unknown quality transform {name!r} (known: {', '.join(TRANSFORMS)})") from None


def rate_at_quality(rate: Sequence[float] | np.ndarray, quality: Sequence[float] | np.ndarray,
                    targets: Sequence[float] | np.ndarray, method: str = "pchip", *,
                    higher_is_better: bool = True, transform: str = "identity") -> np.ndarray:
    """The rate a curve needs to reach each target quality (interpolated in log-rate, never
    extrapolated: NaN outside the curve's quality range). Targets are in transformed units."""
    _check_method(method)
    _check_lengths(rate, quality, "curve")
    tf = _transform(transform)
    notes: list[str] = []
    curve = prepare_curve(tf(np.asarray(quality, dtype=float)), _log_rate(rate, "curve", notes), higher_is_better, True, "curve")
    t = np.asarray(targets, dtype=np.float64)
    out = np.full(t.shape, np.nan)
    if curve.x.size < 2:
        return out
    # A single quality value per target is what matched-quality comparison needs; the cubic fit is not
    # an interpolant, so it falls back to pchip here.
    f = interpolator(curve.x, curve.y, "pchip" if method == "cubic" else method)
    inside = (t >= curve.x[0]) & (t <= curve.x[-1])
    if inside.any():
        out[inside] = 10.0 ** np.asarray(f(t[inside]), dtype=np.float64)
    return out
