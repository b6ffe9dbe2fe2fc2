"""The run's mean rate-distortion curve per codec, for the viewer's RD chart (the per-image points are in each
image's page data, loaded with its page)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any


def _key(row: dict[str, Any], reference_points: dict[float, Any]) -> Any:
    """Rows at the same operating point across images: the codec's own point, or for a row a --match run
    searched to the reference's bpp, the reference's point that reached that bpp on the image."""
    target = row.get("target_bpp")
    if isinstance(target, float) and round(target, 9) in reference_points:
        return ("matched", reference_points[round(target, 9)])
    return row.get("point")


def mean_curves(pages: dict[str, dict[str, Any]], columns: list[str], reference: str | None) -> dict[str, list[dict]]:
    """codec -> points sorted by bpp, each {"point", "images", "bpp", "values": {column: mean}}: the mean
    over images of the rows at one operating point, kept only where every image of the codec has it."""
    groups: dict[str, dict[Any, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    images_of: dict[str, set[str]] = defaultdict(set)
    for slug, page in pages.items():
        ref = {round(r["bpp"], 9): r["point"] for r in page["rows"] if r["codec"] == reference
               and isinstance(r["bpp"], float)}
        for row in page["rows"]:
            images_of[row["codec"]].add(slug)
            groups[row["codec"]][_key(row, ref)].append(row)
    curves: dict[str, list[dict]] = {}
    for codec, by_point in groups.items():
        points = []
        for point, rows in by_point.items():
            if len({id(r) for r in rows}) < len(images_of[codec]) or len(rows) != len(images_of[codec]):
                continue
            values = {}
            for column in columns:
                numbers = [r["values"].get(column) for r in rows]
                if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers):
                    values[column] = sum(numbers) / len(numbers)
            if "bpp" in values:
                points.append({"point": point[1] if isinstance(point, tuple) else point, "images": len(rows),
                               "bpp": values["bpp"], "values": values})
        curves[codec] = sorted(points, key=lambda p: p["bpp"])
    return curves
