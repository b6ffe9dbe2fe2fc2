"""The image files of a run's site: how each is made (originals, reconstructions, thumbnails, difference and
detail maps), losslessly and named by content."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.render.viewer.rundata import ViewerError, kept_file

THUMBNAIL_WIDTH = 320
MAP_KINDS = ("invented", "lost")  # detail maps of harness.metrics.detail, one file each per row
# The colour key of every map (compare.js's difference heat map uses the same anchors): matplotlib's
# "inferno" approximated by 8 anchors, linear between them, 256 levels (dark = none).
INFERNO = ((0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21),
           (250, 193, 39), (252, 255, 164))
_COLOUR_CHUNKS = {b"iCCP", b"gAMA", b"cHRM", b"sRGB", b"tRNS", b"cICP"}


@dataclass(frozen=True)
class Asset:
    """One image file of the site and how to make it."""

    path: str  # relative to the site root, posix
    kind: str  # "original" | "thumbnail" | "reconstruction" | "difference"
    original: str  # the original image file (every kind needs it, or is it)
    run_dir: str | None = None  # for reconstructions and difference maps: the run and its row
    row: dict[str, Any] | None = field(default=None, compare=False, hash=False)


def _plain_png(path: Path) -> bool:
    """An 8-bit RGB PNG without colour-management chunks: browsers show its stored values as they are."""
    try:
        with path.open("rb") as handle:
            if handle.read(8) != b"\x89PNG\r\n\x1a\n":
                return False
            first = True
            while True:
                head = handle.read(8)
                if len(head) < 8:
                    return False
                length, kind = struct.unpack(">I4s", head)
                if first:
                    ihdr = handle.read(length)
                    if kind != b"IHDR" or len(ihdr) < 10 or ihdr[8] != 8 or ihdr[9] != 2:
                        return False
                    handle.seek(4, os.SEEK_CUR)
                    first = False
                    continue
                if kind in _COLOUR_CHUNKS:
                    return False
                if kind == b"IDAT":
                    return True  # colour chunks must come before the image data
                handle.seek(length + 4, os.SEEK_CUR)
    except OSError:
        return False


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _place_png(source: Path, target: Path, pixels: Callable[[], np.ndarray]) -> None:
    """``target`` holds the pixels of ``source`` as a plain PNG: a hard link or copy of a plain PNG,
    else ``pixels()`` encoded losslessly."""
    from harness.core.images import encode_png

    target.parent.mkdir(parents=True, exist_ok=True)
    if _plain_png(source):
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    else:
        write_atomic(target, encode_png(pixels()))


def row_pixels(asset: Asset) -> np.ndarray:
    """A row's decoded pixels, checked against what its metrics were computed on."""
    from harness.run.reconstruct import reconstruction

    assert asset.run_dir is not None and asset.row is not None
    return reconstruction(asset.run_dir, asset.row)


def _pixels(path: str | Path) -> np.ndarray:
    from harness.core.images import load_image

    return load_image(path).pixels


def _original_pixels(path: str) -> np.ndarray:
    from harness.core.images import cached_load

    return cached_load(path).pixels


def difference_map(original: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per pixel, the largest absolute error over R, G and B (uint8 grey); the viewer amplifies and
    colours it."""
    if original.shape != reconstruction.shape:
        raise ViewerError(f"reconstruction is {reconstruction.shape[1]}x{reconstruction.shape[0]} but the "
                          f"original is {original.shape[1]}x{original.shape[0]}")
    error = np.maximum(original, reconstruction)
    error -= np.minimum(original, reconstruction)  # |a - b| in uint8, without a wider copy
    return error.max(axis=2)


def map_colours() -> np.ndarray:
    """256 x 3 uint8: the colour of level k (value k/255 of a 0..1 map)."""
    v = np.arange(256) / 255 * (len(INFERNO) - 1)
    i = np.minimum(len(INFERNO) - 2, np.floor(v).astype(int))
    t = (v - i)[:, None]
    table = np.asarray(INFERNO, float)
    return np.rint(table[i] * (1 - t) + table[i + 1] * t).astype(np.uint8)


def map_levels(values: np.ndarray) -> np.ndarray:
    """A 0..1 map as levels 0..255 (values above 1 are level 255)."""
    return np.clip(np.rint(np.nan_to_num(values) * 255), 0, 255).astype(np.uint8)


def make_asset(asset: Asset, out_dir: Path, original: Callable[[], np.ndarray] | None = None) -> Path:
    """Write one image file of the site (nothing to do when it is already there). ``original`` returns
    the original's pixels (default: decoded through a small per-process cache)."""
    from PIL import Image

    from harness.core.images import encode_png

    target = out_dir / asset.path
    if target.is_file():
        return target
    get_original = original or (lambda: _original_pixels(asset.original))
    if asset.kind == "original":
        _place_png(Path(asset.original), target, get_original)
    elif asset.kind == "reconstruction":
        assert asset.run_dir is not None and asset.row is not None
        kept = kept_file(Path(asset.run_dir), asset.row)
        if kept is not None:
            _place_png(kept, target, lambda: row_pixels(asset))
        else:
            write_atomic(target, encode_png(row_pixels(asset)))
    elif asset.kind == "difference":
        diff = difference_map(get_original(), row_pixels(asset))
        # The fastest zlib level: 2.5x faster than level 6 for about 10% more bytes on these maps.
        write_atomic(target, encode_png(diff, compress_level=1))
    elif asset.kind in MAP_KINDS:
        from harness.metrics.detail import detail_map

        levels = map_levels(detail_map(get_original(), row_pixels(asset), asset.kind))
        write_atomic(target, encode_png(map_colours()[levels], compress_level=1))
    elif asset.kind == "thumbnail":
        image = Image.fromarray(get_original())
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH), Image.Resampling.LANCZOS, reducing_gap=3.0)
        write_atomic(target, encode_png(np.asarray(image), compress_level=6))
    else:
        raise ViewerError(f"unknown asset kind {asset.kind!r}")
    return target


def make_assets(assets: list[Asset], out_dir: str) -> list[str]:
    """The files of one image (its original decoded at most once for all of them); errors as lines."""
    errors = []
    decoded: list[np.ndarray] = []

    def original() -> np.ndarray:
        if not decoded:
            decoded.append(_pixels(assets[0].original))
        return decoded[0]

    for asset in assets:
        try:
            make_asset(asset, Path(out_dir), original)
        except Exception as exc:  # noqa: BLE001 - any failure is reported per file; the site goes on
            errors.append(f"{asset.path}: {type(exc).__name__}: {' '.join(str(exc).split())}")
    return errors

