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

MAX_TRIALS = 14  # encodes per (image, codec), rate search's included, beyond which the search gives up


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
    if not knob.integer:  # a continuous knob's very ends can be special (JPEG XL's distance 0 is lossless)
        inset = (u_high - u_low) / 100
        u_low, u_high = u_low + inset, u_high - inset
    if not points:
        return "next", None  # no value yet (the caller starts at the middle default point)
    below = [t for t in points if t[1] < goal]
    above = [t for t in points if t[1] > goal]
    if below and above:  # bracketed: the curve reads the target by interpolation
        return "done", None
    # All trials on one side: step outwards from the trial nearest the goal.
    rising = not above  # every trial is below the goal: go up in u
    edge = points[-1] if rising else points[0]
    end = u_high if rising else u_low
    if (edge[0] >= end) if rising else (edge[0] <= end):
        return "unreachable", None
    # The secant through the trials' two ends (close trials, such as a rate search's, give a noisy slope),
    # overshooting a little so the next trial brackets; never less than a sixteenth of the knob's range.
    other = points[0] if rising else points[-1]
    slope = (edge[1] - other[1]) / (edge[0] - other[0]) if edge[0] != other[0] else 0.0
    direction = 1.0 if rising else -1.0
    least = (u_high - u_low) / 16
    step = abs((goal - edge[1]) / slope) * 1.3 if slope > 0 else (u_high - u_low) / 8
    u = edge[0] + direction * max(step, least)
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
    if not trials:
        ladder = sorted(knob.clamp(p) for p in start) or [knob.clamp((knob.low + knob.high) / 2)]
        return [ladder[len(ladder) // 2]]
    proposed = [point for target in targets
                if (found := target_state(knob, trials, target))[0] == "next" and (point := found[1]) is not None
                and point not in trials]
    if not proposed:
        return []
    # Every proposal lies outside the trials' range: on each side the farthest one brackets the others' targets
    # too (they sit between it and the trials), so a round encodes at most two points.
    sign = 1.0 if knob.quality_rises else -1.0
    lowest, highest = min(sign * p for p in trials), max(sign * p for p in trials)
    below = [p for p in proposed if sign * p < lowest]
    above = [p for p in proposed if sign * p > highest]
    wanted = ([min(below, key=lambda p: sign * p)] if below else []) + ([max(above, key=lambda p: sign * p)] if above
                                                                          else [])
    return wanted[: max(0, max_trials - len(trials))]


def outcome(knob: Knob, trials: Trials, target: QualityTarget) -> str:
    """"reached" (two trials bracket it), "unreachable" (beyond the knob's ends) or "open" (budget spent)."""
    state, _ = target_state(knob, trials, target)
    if state == "done":
        return "reached"
    return "unreachable" if state == "unreachable" else "open"
