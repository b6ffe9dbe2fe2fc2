"""Tiling as the PICO paper describes it: non-overlapping 504x504 tiles, each extended by a 4-pixel margin
taken from its neighbours (edge-replicated at the image border) to 512x512, coded independently, and
cropped back to its 504x504 core.

Tiles at the right and bottom borders have smaller cores; they are extended by the same margin and then
padded (edge replication) only to the next multiple of 64 (the network's total stride), not to 512 --
a choice of this re-implementation that saves bits on small images (a 128x96 crop codes as 192x128, not
512x512). With ``core = 0`` the whole image is one tile with no margin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

TILE_CORE = 504
TILE_MARGIN = 4
STRIDE = 64


@dataclass(frozen=True)
class Tile:
    row: int
    col: int
    y0: int  # core region in image coordinates
    x0: int
    h: int
    w: int


def grid(height: int, width: int, core: int) -> tuple[int, int]:
    """(tiles down, tiles across)."""
    if core <= 0:
        return 1, 1
    return -(-height // core), -(-width // core)


def tiles(height: int, width: int, core: int) -> Iterator[Tile]:
    ty, tx = grid(height, width, core)
    for r in range(ty):
        for c in range(tx):
            if core <= 0:
                yield Tile(0, 0, 0, 0, height, width)
            else:
                y0, x0 = r * core, c * core
                yield Tile(r, c, y0, x0, min(core, height - y0), min(core, width - x0))


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


def extract(rgb: np.ndarray, tile: Tile, margin: int) -> np.ndarray:
    """The tile's core plus ``margin`` pixels of its neighbours on every side, edge-replicated outside the
    image, then padded right/bottom to a multiple of the network stride."""
    h, w = rgb.shape[:2]
    ys = np.clip(np.arange(tile.y0 - margin, tile.y0 + tile.h + margin), 0, h - 1)
    xs = np.clip(np.arange(tile.x0 - margin, tile.x0 + tile.w + margin), 0, w - 1)
    block = rgb[ys[:, None], xs[None, :]]
    th, tw = _round_up(block.shape[0], STRIDE), _round_up(block.shape[1], STRIDE)
    return np.pad(block, ((0, th - block.shape[0]), (0, tw - block.shape[1]), (0, 0)), mode="edge")


def coded_shape(tile: Tile, margin: int) -> tuple[int, int]:
    return _round_up(tile.h + 2 * margin, STRIDE), _round_up(tile.w + 2 * margin, STRIDE)


def crop(decoded: np.ndarray, tile: Tile, margin: int) -> np.ndarray:
    return decoded[margin:margin + tile.h, margin:margin + tile.w]


def seam_error(reference: np.ndarray, decoded: np.ndarray, core: int = TILE_CORE, band: int = 2) -> dict[str, float]:
    """Mean squared error of ``decoded`` against ``reference`` in ``band``-pixel strips on each side of the
    tile borders, against the same measure everywhere else (interior). A ratio near 1 means no visible
    seams; tiling artifacts show as a ratio well above 1."""
    err = (reference.astype(np.float64) - decoded.astype(np.float64)) ** 2
    err = err.mean(axis=2)
    h, w = err.shape
    mask = np.zeros((h, w), dtype=bool)
    for y in range(core, h, core):
        mask[max(0, y - band):y + band, :] = True
    for x in range(core, w, core):
        mask[:, max(0, x - band):x + band] = True
    if not mask.any():
        return {"seam_mse": float("nan"), "interior_mse": float(err.mean()), "ratio": float("nan"),
                "seam_pixels": 0}
    seam, interior = float(err[mask].mean()), float(err[~mask].mean())
    return {"seam_mse": seam, "interior_mse": interior, "ratio": seam / max(interior, 1e-12),
            "seam_pixels": int(mask.sum())}
