"""The raw planar YUV pipeline: conversions are lossless where they should be, files have the right layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.core.colour import LUMA_COEFFICIENTS
from harness.core.yuv import (
    YuvError,
    YuvFormat,
    decode_planes,
    downsample_420,
    encode_planes,
    planes_to_rgb,
    read_yuv,
    rgb_to_planes,
    upsample_420,
    write_yuv,
)
from tests.conftest import kodak_crop


def roundtrip_bound(matrix: str, bit_depth: int, full_range: bool) -> int:
    """Largest RGB error (8-bit LSB) a 4:4:4 round trip may show, derived independently of harness.core.colour:
    each Y'CbCr code is off by at most half a step; the inverse matrix spreads that over R, G, B; the final
    rounding to 8 bits turns an error e into at most floor(e + 1/2)."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    kg = 1 - kr - kb
    # R = Y + 2(1-kr) Cr;  G = Y - 2kb(1-kb)/kg Cb - 2kr(1-kr)/kg Cr;  B = Y + 2(1-kb) Cb
    rows = [(1, 0, 2 * (1 - kr)), (1, 2 * kb * (1 - kb) / kg, 2 * kr * (1 - kr) / kg), (1, 2 * (1 - kb), 0)]
    if full_range:
        y_step = c_step = 1 / ((1 << bit_depth) - 1)
    else:
        scale = 1 << (bit_depth - 8)
        y_step, c_step = 1 / (219 * scale), 1 / (224 * scale)
    worst = max(0.5 * (a * y_step + (b + c) * c_step) for a, b, c in rows) * 255
    return math.floor(worst + 0.5)


def _test_images() -> list[np.ndarray]:
    rng = np.random.default_rng(6)
    corners = np.array([[[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]], dtype=np.uint8)
    noise = rng.integers(0, 256, size=(31, 33, 3), dtype=np.uint8)
    return [corners, noise, kodak_crop(height=48, width=64).pixels]


def test_bounds_are_what_the_algebra_says() -> None:
    # 10-bit keeps every 8-bit RGB value exactly; 8-bit full range loses at most one LSB, limited two.
    assert roundtrip_bound("bt709", 10, True) == 0
    assert roundtrip_bound("bt709", 10, False) == 0
    assert roundtrip_bound("bt709", 8, True) == 1
    assert roundtrip_bound("bt709", 8, False) == 2


@pytest.mark.parametrize("bit_depth", [8, 10])
@pytest.mark.parametrize("full_range", [True, False])
@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
def test_444_roundtrip_within_conversion_rounding(bit_depth: int, full_range: bool, matrix: str) -> None:
    bound = roundtrip_bound(matrix, bit_depth, full_range)
    for rgb in _test_images():
        h, w = rgb.shape[:2]
        fmt = YuvFormat(w, h, bit_depth, "444", matrix, full_range)
        data = encode_planes(rgb_to_planes(rgb, fmt), fmt)
        back = planes_to_rgb(decode_planes(data, fmt), fmt)
        error = np.abs(back.astype(int) - rgb.astype(int)).max()
        assert error <= bound, (rgb.shape, error, bound)
    if bound == 0:
        assert np.array_equal(back, rgb)


def test_8bit_roundtrip_is_not_trivially_exact() -> None:
    # Guards the test above: with 8-bit codes the random image must actually lose something.
    rgb = _test_images()[1]
    fmt = YuvFormat(rgb.shape[1], rgb.shape[0], 8, "444", "bt709", False)
    back = planes_to_rgb(rgb_to_planes(rgb, fmt), fmt)
    assert np.abs(back.astype(int) - rgb).max() == roundtrip_bound("bt709", 8, False)


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_420_is_lossless_where_chroma_is_flat(bit_depth: int) -> None:
    # Grey images have Cb = Cr = 0 and a flat colour has constant chroma: subsampling then loses nothing,
    # so the round trip is as good as 4:4:4.
    grey = np.repeat(kodak_crop(height=40, width=52).pixels[..., 1:2], 3, axis=2)
    flat = np.broadcast_to(np.array([200, 30, 90], dtype=np.uint8), (10, 14, 3)).copy()
    for rgb, full in ((grey, True), (flat, False)):
        fmt = YuvFormat(rgb.shape[1], rgb.shape[0], bit_depth, "420", "bt709", full)
        back = planes_to_rgb(rgb_to_planes(rgb, fmt), fmt)
        assert np.abs(back.astype(int) - rgb).max() <= roundtrip_bound("bt709", bit_depth, full)


def test_420_keeps_luma_and_costs_little_on_a_photo() -> None:
    rgb = kodak_crop(height=64, width=96).pixels
    f444 = YuvFormat(96, 64, 10, "444", "bt709", True)
    f420 = YuvFormat(96, 64, 10, "420", "bt709", True)
    y444 = rgb_to_planes(rgb, f444)[0]
    p420 = rgb_to_planes(rgb, f420)
    assert np.array_equal(p420[0], y444)
    assert p420[1].shape == p420[2].shape == (32, 48)
    back = planes_to_rgb(p420, f420)
    mse = np.mean((back.astype(float) - rgb) ** 2)
    psnr = 10 * np.log10(255**2 / mse)
    assert 45 < psnr < 70, psnr  # measured 51.6 dB on this crop: chroma detail is lost, nothing else


def test_chroma_resampling_is_exact_on_linear_ramps() -> None:
    # Left-sited [1 2 1]/4 + two-row mean, then linear interpolation: a plane linear in x and y comes back
    # unchanged away from the borders (where edge replication bends the ramp).
    yy, xx = np.mgrid[0:12, 0:16].astype(float)
    plane = 0.01 * xx - 0.02 * yy + 0.1
    back = upsample_420(downsample_420(plane), 12, 16)
    np.testing.assert_allclose(back[1:-1, 2:-1], plane[1:-1, 2:-1], atol=1e-12)
    const = np.full((7, 9), 0.25)
    assert downsample_420(const).shape == (4, 5)
    np.testing.assert_allclose(upsample_420(downsample_420(const), 7, 9), const, atol=1e-15)


@pytest.mark.parametrize(("w", "h", "depth", "sub", "expected"), [
    (8, 6, 8, "444", 8 * 6 * 3),
    (8, 6, 10, "444", 8 * 6 * 3 * 2),
    (8, 6, 8, "420", 8 * 6 + 2 * 4 * 3),
    (8, 6, 10, "420", (8 * 6 + 2 * 4 * 3) * 2),
    (7, 5, 10, "420", (7 * 5 + 2 * 4 * 3) * 2),  # odd sizes round chroma up
])
def test_file_sizes(tmp_path, w: int, h: int, depth: int, sub: str, expected: int) -> None:
    fmt = YuvFormat(w, h, depth, sub)
    assert fmt.frame_bytes == expected
    rgb = np.random.default_rng(1).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    path = tmp_path / "p.yuv"
    write_yuv(path, rgb, fmt)
    assert path.stat().st_size == expected
    assert read_yuv(path, fmt).shape == (h, w, 3)


def test_plane_order_and_byte_order() -> None:
    # White in full-range 10-bit: Y = 1023 (bytes ff 03, little-endian), Cb = Cr = 512 (00 02), planar.
    white = np.full((2, 2, 3), 255, dtype=np.uint8)
    fmt = YuvFormat(2, 2, 10, "420", "bt709", True)
    data = encode_planes(rgb_to_planes(white, fmt), fmt)
    assert data == b"\xff\x03" * 4 + b"\x00\x02" + b"\x00\x02"
    # Pure red in limited 8-bit BT.709: Y = 16 + 219 * 0.2126 = 62.6 -> 63, Cr = 128 + 112 = 240.
    red = np.zeros((2, 2, 3), dtype=np.uint8)
    red[..., 0] = 255
    y, cb, cr = rgb_to_planes(red, YuvFormat(2, 2, 8, "444", "bt709", False))
    assert (y == 63).all() and (cr == 240).all() and (cb == round(128 - 112 * 0.2126 / 0.9278)).all()


def test_wrong_size_is_a_one_line_error_naming_the_file(tmp_path) -> None:
    path = tmp_path / "short.yuv"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(YuvError) as err:
        read_yuv(path, YuvFormat(8, 6, 10, "420"))
    message = str(err.value)
    assert str(path) in message and "\n" not in message and "144 bytes" in message
    with pytest.raises(YuvError, match="exceeds 10-bit"):
        decode_planes(b"\xff\xff" * 72, YuvFormat(8, 6, 10, "420"), "x.yuv")
