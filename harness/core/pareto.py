"""The Pareto front of points that trade speed against size (or BD-rate): one definition for every report."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence


def pareto_front(points: Sequence[tuple[Hashable, float, float]]) -> list[Hashable]:
    """Keys of the points (key, speed, cost) that no other point beats on both (faster and cheaper), fastest
    first; points whose speed or cost is not finite take no part. Ties in speed keep the cheaper point."""
    usable = [(key, speed, cost) for key, speed, cost in points if math.isfinite(speed) and math.isfinite(cost)]
    front: list[Hashable] = []
    best = math.inf
    for key, _, cost in sorted(usable, key=lambda p: (-p[1], p[2])):
        if cost < best:
            front.append(key)
            best = cost
    return front
