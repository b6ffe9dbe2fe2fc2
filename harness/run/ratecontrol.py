"""Find the operating point at which a codec codes one image at a target bpp.

Used to compare codecs at matched rates per image (e.g. a published reconstruction's bpp). The search only
encodes (no decoding, no metrics): bpp comes from the file bytes on the ORIGINAL pixel count, after the
same padding :meth:`harness.codecs.base.Codec.compress` applies, so a point found here gives the same bpp
when the runner compresses at it.

Method: walk the codec's default points from the middle until two of them bracket the target, falling back
to the knob's ends; then regula falsi on log(bpp) inside the bracket (rate is close to exponential in
QP-like knobs), safeguarded so that each step shrinks the bracket. Integer knobs stop when the bracket is
two adjacent values. The number of encodes is bounded; the point whose bpp is closest to the target in
log distance is returned, with whether it lies within the tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.codecs.base import Contender, pad_to_multiple
from harness.core.images import SourceImage

# Relative bpp error a --target-bpp or --match search accepts (0.02: within 2 % of the target).
DEFAULT_RATE_TOLERANCE = 0.02


@dataclass(frozen=True)
class SearchResult:
    point: float
    achieved_bpp: float
    iterations: int  # encodes run
    within_tolerance: bool
    trials: tuple[tuple[float, float], ...] = ()  # (point, bpp) in the order tried


def search_point(codec: Contender, image: SourceImage, target_bpp: float, tolerance: float = DEFAULT_RATE_TOLERANCE,
                 max_encodes: int = 14) -> SearchResult:
    """The knob value of ``codec`` whose bpp on ``image`` is closest to ``target_bpp``.

    ``tolerance`` is relative (0.02: within 2% of the target); the search stops as soon as a point is
    within it. Raises :class:`CodecError` if an encode fails.
    """
    if not (target_bpp > 0 and math.isfinite(target_bpp)):
        raise ValueError(f"target bpp must be a positive number, got {target_bpp!r}")
    if max_encodes < 1:
        raise ValueError("max_encodes must be at least 1")
    knob = codec.knob
    padded = pad_to_multiple(image.pixels, codec.size_multiple, codec.min_size)
    pixels = image.num_pixels
    trials: dict[float, float] = {}
    # Work in "rate coordinate" u: the rate rises with u whichever way the knob runs.
    sign = 1.0 if knob.quality_rises else -1.0

    def rate(point: float) -> float:
        point = knob.clamp(point)
        if point not in trials:
            trials[point] = codec.encode(padded, point).file_bytes * 8 / pixels
        return trials[point]

    def error(bpp: float) -> float:
        return abs(math.log(bpp / target_bpp))

    def result() -> SearchResult:
        best = min(trials, key=lambda p: (error(trials[p]), p))
        return SearchResult(best, trials[best], len(trials), error(trials[best]) <= math.log1p(tolerance),
                            tuple(trials.items()))

    def done() -> bool:
        return len(trials) >= max_encodes or any(error(b) <= math.log1p(tolerance) for b in trials.values())

    # 1. Bracket: low/high in u such that rate(low) <= target <= rate(high).
    ladder = sorted({knob.clamp(p) for p in codec.points_for(image.name)}, key=lambda p: sign * p)
    if not ladder:
        ladder = [knob.clamp((knob.low + knob.high) / 2)]
    ends = sorted((knob.low, knob.high), key=lambda p: sign * p)  # (lowest rate, highest rate)
    i = len(ladder) // 2
    low = high = None
    point = ladder[i]
    while not done():
        bpp = rate(point)
        if bpp <= target_bpp:
            low = point
            if high is not None:
                break
            i += 1
            nxt = ladder[i] if i < len(ladder) else ends[1]
        else:
            high = point
            if low is not None:
                break
            i -= 1
            nxt = ladder[i] if i >= 0 else ends[0]
        if nxt == point:  # the knob's end does not reach the target
            return result()
        point = nxt
    if low is None or high is None or done():
        return result()

    # 2. Refine inside the bracket.
    while not done():
        if knob.integer and abs(high - low) <= 1:
            break
        if not knob.integer and abs(high - low) < 1e-3:
            break
        la, lb, lt = math.log(trials[low]), math.log(trials[high]), math.log(target_bpp)
        frac = (lt - la) / (lb - la) if lb != la else 0.5
        frac = min(max(frac, 0.15), 0.85)  # safeguard: always cut a real piece off the bracket
        point = low + (high - low) * frac
        if knob.integer:
            point = float(round(point))
            if point in (low, high):
                point = low + math.copysign(1.0, high - low)
        bpp = rate(point)
        if bpp <= target_bpp:
            low = point
        else:
            high = point
    return result()
