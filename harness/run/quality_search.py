"""Where a codec reaches a quality: the next knob values to encode so its curve on an image brackets targets.

A search is planned on the rows a run already has (each trial is an ordinary point row, role "quality-search"), so it
is resumable and parallel across images and codecs, and one encode serves every target of every metric: the
trials of a (image, codec) are shared by all its targets. Per target, in the knob's "quality coordinate"
(``u`` = point, or -point where a larger value means fewer bits): start at the middle default point; while the
trials lie on one side of the target, step past the outermost one (a secant through the two outermost trials
once there are two, a ladder step before that, the knob's end as the last resort); once two trials bracket
the target, the curve reads it by interpolation (pchip on log bpp, as BD-rate), exactly, so a trial merely
near the target does not end its search. A target outside what the knob's ends reach is unreachable, never extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.codecs.base import Knob

MAX_TRIALS = 10  # encodes per (image, codec) beyond which the search gives up


@dataclass(frozen=True)
class QualityTarget:
    """A metric column and the value to reach on it."""

    metric: str
    value: float
    higher_is_better: bool = True

    def text(self) -> str:
        return f"{self.metric}={self.value:g}"


Trials = Mapping[float, Mapping[str, float]]  # point -> metric column -> value


def target_state(knob: Knob, trials: Trials, target: QualityTarget) -> tuple[str, float | None]:
    """("done", None), ("unreachable", None) or ("next", point) for one target."""
    sign = 1.0 if knob.quality_rises else -1.0
    # (u, goodness): goodness rises with quality whatever the metric's direction.
    flip = 1.0 if target.higher_is_better else -1.0
    points = sorted(((sign * p, flip * float(v[target.metric])) for p, v in trials.items()
                     if target.metric in v and math.isfinite(float(v[target.metric]))), key=lambda t: t[0])
    goal = flip * target.value
    if any(g == goal for _, g in points):  # met exactly
        return "done", None
    u_low, u_high = sorted((sign * knob.low, sign * knob.high))
    if not points:
        return "next", None  # the caller starts at the middle default point
    below = [t for t in points if t[1] < goal]
    above = [t for t in points if t[1] > goal]
    if below and above:  # bracketed: the curve reads the target by interpolation
        return "done", None
    # All trials on one side: step outwards from the trial nearest the goal.
    rising = not above  # every trial is below the goal: go up in u
    edge = points[-1] if rising else points[0]
    end = u_high if rising else u_low
    if edge[0] == end:
        return "unreachable", None
    if len(points) >= 2:
        a, b = (points[-2], points[-1]) if rising else (points[0], points[1])
        slope = (b[1] - a[1]) / (b[0] - a[0]) if b[0] != a[0] else 0.0
        if slope > 0:
            step = (goal - edge[1]) / slope * 1.3  # overshoot a little so the next trial brackets
        else:
            step = (u_high - u_low) / 4 * (1 if rising else -1)
    else:
        step = (u_high - u_low) / 8 * (1 if rising else -1)
    u = edge[0] + step
    u = min(max(u, u_low), u_high)
    return "next", _to_point(knob, sign, u, exclude=(edge[0],), toward=end)


def _to_point(knob: Knob, sign: float, u: float, exclude: Sequence[float], toward: float) -> float:
    point = knob.clamp(sign * u)
    if knob.integer and sign * point in exclude:
        point = knob.clamp(point + sign * math.copysign(1.0, toward - sign * point))
    return point


def next_points(knob: Knob, trials: Trials, targets: Sequence[QualityTarget], start: Sequence[float],
                max_trials: int = MAX_TRIALS) -> list[float]:
    """The knob values to encode next on one image (empty: every target is done, unreachable or out of budget).
    ``start``: the codec's default points, whose middle one is the first trial."""
    if len(trials) >= max_trials:
        return []
    wanted: list[float] = []
    for target in targets:
        state, point = target_state(knob, trials, target)
        if state != "next":
            continue
        if point is None:
            ladder = sorted(knob.clamp(p) for p in start) or [knob.clamp((knob.low + knob.high) / 2)]
            point = ladder[len(ladder) // 2]
        if point not in trials and point not in wanted:
            wanted.append(point)
    return wanted[: max(0, max_trials - len(trials))]


def outcome(knob: Knob, trials: Trials, target: QualityTarget) -> str:
    """"reached" (two trials bracket it), "unreachable" (beyond the knob's ends) or "open" (budget spent)."""
    state, _ = target_state(knob, trials, target)
    if state == "done":
        return "reached"
    return "unreachable" if state == "unreachable" else "open"
