"""RGB <-> Y'CbCr conversions with explicit matrix, range and bit depth.

Used by metrics (PSNR on Y) and by codecs that take raw YUV files. Everything is float64 until the final
rounding, so a round trip without a codec loses only the rounding of the chosen bit depth.
"""

from __future__ import annotations

import numpy as np

# Kr, Kb per ITU-R BT.601 / BT.709 / BT.2020.
LUMA_COEFFICIENTS = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
}


def ycbcr_matrix(name: str) -> np.ndarray:
    """Rows: Y', Cb, Cr as combinations of R, G, B (full range; Cb, Cr in [-0.5, 0.5] for RGB in [0, 1])."""
    try:
        kr, kb = LUMA_COEFFICIENTS[name]
    except KeyError:
        raise ValueError(f"unknown colour matrix {name!r} (known: {', '.join(LUMA_COEFFICIENTS)})") from None
    kg = 1.0 - kr - kb
    return np.array(
        [
            [kr, kg, kb],
            [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
            [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
        ]
    )


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str = "bt709") -> np.ndarray:
    """RGB in [0, 1] -> Y' in [0, 1], Cb/Cr in [-0.5, 0.5] (float64, HxWx3)."""
    return np.asarray(rgb, dtype=np.float64) @ ycbcr_matrix(matrix).T


def ycbcr_to_rgb(ycc: np.ndarray, matrix: str = "bt709") -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr` (no clipping)."""
    return np.asarray(ycc, dtype=np.float64) @ np.linalg.inv(ycbcr_matrix(matrix)).T


def quantize_ycbcr(ycc: np.ndarray, bit_depth: int, full_range: bool) -> np.ndarray:
    """Float Y'CbCr -> integer code values (uint16) at ``bit_depth``, full or limited (studio) range."""
    peak = (1 << bit_depth) - 1
    scale = 1 << (bit_depth - 8)
    if full_range:
        y = ycc[..., 0] * peak
        c = ycc[..., 1:] * peak + (1 << (bit_depth - 1))
    else:
        y = (16 + 219 * ycc[..., 0]) * scale
        c = (128 + 224 * ycc[..., 1:]) * scale
    out = np.concatenate([y[..., None], c], axis=-1)
    return np.clip(np.rint(out), 0, peak).astype(np.uint16)


def rgb8_to_luma(rgb: np.ndarray, matrix: str) -> np.ndarray:
    """8-bit RGB -> Y' as float on the 0..255 scale (full range), for PSNR on luma."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    rgb = np.asarray(rgb, dtype=np.float64)
    return kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]


def quantize_plane(values: np.ndarray, bit_depth: int, full_range: bool, chroma: bool) -> np.ndarray:
    """One float plane (Y' in [0, 1] or Cb/Cr in [-0.5, 0.5]) -> integer code values (uint16), with the
    same mapping as :func:`quantize_ycbcr`; for planes of different sizes (4:2:0 chroma)."""
    peak = (1 << bit_depth) - 1
    scale = 1 << (bit_depth - 8)
    values = np.asarray(values, dtype=np.float64)
    if full_range:
        codes = values * peak + ((1 << (bit_depth - 1)) if chroma else 0)
    else:
        codes = ((128 + 224 * values) if chroma else (16 + 219 * values)) * scale
    return np.clip(np.rint(codes), 0, peak).astype(np.uint16)


def dequantize_plane(codes: np.ndarray, bit_depth: int, full_range: bool, chroma: bool) -> np.ndarray:
    """Inverse of :func:`quantize_plane` to float Y' or Cb/Cr."""
    codes = np.asarray(codes, dtype=np.float64)
    peak = (1 << bit_depth) - 1
    scale = 1 << (bit_depth - 8)
    if full_range:
        return (codes - ((1 << (bit_depth - 1)) if chroma else 0)) / peak
    return (codes / scale - 128) / 224 if chroma else (codes / scale - 16) / 219


def rgb8_to_luma8(rgb: np.ndarray, matrix: str = "bt709") -> np.ndarray:
    """8-bit RGB -> full-range Y' rounded to 8-bit codes, as float64 on the 0..255 scale (the luma plane the
    JPEG AI quality framework computes its Y metrics on: BT.709, full range, rounded to the bit depth)."""
    return np.clip(np.rint(rgb8_to_luma(rgb, matrix)), 0, 255)
