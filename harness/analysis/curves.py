"""RD curves cleaned for integration, and the interpolators BD uses (pchip, akima, VCEG-M33's cubic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.interpolate

METHODS = ("pchip", "akima", "cubic")


class BDError(ValueError):
    """Bad input to a BD computation (mismatched array lengths, unknown method); one line."""



@dataclass(frozen=True)
class Curve:
    """A cleaned RD curve sorted along the integration axis ``x`` (strictly increasing)."""

    x: np.ndarray
    y: np.ndarray
    monotonic: bool
    notes: tuple[str, ...]


def prepare_curve(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, y_rises: bool,
             keep_min: bool, who: str) -> Curve:
    """Drop non-finite points, sort by x, merge exact duplicates and note non-monotonic curves.

    ``y_rises`` is the expected direction of y along x (log-rate rises with PSNR, falls with LPIPS).
    Points sharing an x but not a y cannot be interpolated; the most efficient one is kept (``keep_min``:
    the least y, i.e. least rate for BD-rate; otherwise the largest) and the curve is flagged.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    notes: list[str] = []
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        notes.append(f"{who}: {int((~finite).sum())} non-finite point(s) dropped")
        x, y = x[finite], y[finite]
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    monotonic = True
    if x.size > 1:
        same_x = np.diff(x) == 0
        if same_x.any():
            keep = np.ones(x.size, dtype=bool)
            i = 0
            while i < x.size:
                j = i
                while j + 1 < x.size and x[j + 1] == x[i]:
                    j += 1
                if j > i:
                    group = y[i:j + 1]
                    if np.all(group == group[0]):
                        notes.append(f"{who}: {j - i} duplicate point(s) merged")
                    else:
                        monotonic = False
                        notes.append(f"{who}: {j - i + 1} points share one value on the integration axis")
                    best = i + (int(np.argmin(group)) if keep_min else int(np.argmax(group)))
                    keep[i:j + 1] = False
                    keep[best] = True
                i = j + 1
            x, y = x[keep], y[keep]
        steps = np.diff(y)
        if (y_rises and np.any(steps <= 0)) or (not y_rises and np.any(steps >= 0)):
            monotonic = False
    if not monotonic:
        notes.append(f"{who}: curve is not monotonic")
    return Curve(x, y, monotonic, tuple(dict.fromkeys(notes)))


class _Cubic:
    """VCEG-M33: least-squares cubic through the points, integrated exactly."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self._coefficients = np.polyfit(x, y, 3)
        self._integral = np.polyint(self._coefficients)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.polyval(self._coefficients, x)

    def integrate(self, a: float, b: float) -> float:
        return float(np.polyval(self._integral, b) - np.polyval(self._integral, a))


def interpolator(x: np.ndarray, y: np.ndarray, method: str) -> Any:
    """An object with ``__call__`` and ``integrate(a, b)`` through (x, y); x strictly increasing."""
    if method == "pchip":
        return scipy.interpolate.PchipInterpolator(x, y)
    if method == "akima":
        if x.size > 2:
            return scipy.interpolate.Akima1DInterpolator(x, y)
        return scipy.interpolate.make_interp_spline(x, y, k=1)
    if method == "cubic":
        return _Cubic(x, y)
    raise BDError(f"unknown BD interpolation method {method!r} (known: {', '.join(METHODS)})")
