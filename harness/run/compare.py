"""Every metric of one pair of images (``harness compare``): for a quick number, and for checking the
harness against other tools on the same files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.images import ImageError, load_image
from harness.metrics import MetricError, MetricSuite, column_info, metric_names

# Metrics `harness compare` leaves out unless named: they need an image with text to say anything.
NOT_BY_DEFAULT = ("text",)


@dataclass
class Comparison:
    reference: Path
    distorted: Path
    width: int
    height: int
    values: dict[str, float | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (+-inf and NaN as the strings "inf", "-inf", "nan", as JSON has no such numbers)."""
        def plain(value: float | None) -> float | str | None:
            return value if value is None or math.isfinite(value) else str(value)

        return {"reference": str(self.reference), "distorted": str(self.distorted), "width": self.width,
                "height": self.height, "values": {k: plain(v) for k, v in self.values.items()},
                "better": {k: ("higher" if (c := column_info(k)) is None or c.higher_is_better else "lower")
                           for k in self.values},
                "errors": list(self.errors)}


def default_metrics() -> list[str]:
    return [name for name in metric_names() if name not in NOT_BY_DEFAULT]


def compare(reference: str | Path, distorted: str | Path, names: list[str] | None = None) -> Comparison:
    """The columns of every named metric (default: all but :data:`NOT_BY_DEFAULT`) for ``distorted``
    against ``reference``; a metric that fails adds one line to ``errors`` and the others still count.
    Raises :class:`ImageError` (unreadable file) or :class:`MetricError` (sizes differ, unknown metric)."""
    ref = load_image(reference)
    dist = load_image(distorted)
    if ref.pixels.shape != dist.pixels.shape:
        raise MetricError(f"{distorted}: {dist.width}x{dist.height} differs from the reference {reference} "
                          f"({ref.width}x{ref.height})")
    suite = MetricSuite(tuple(names or default_metrics()))
    values, errors = suite.evaluate(ref.sha256, ref.pixels, dist.pixels)
    return Comparison(Path(reference), Path(distorted), ref.width, ref.height, values, errors)


__all__ = ["Comparison", "ImageError", "compare", "default_metrics"]
