"""The input policy of harness.core.images on real files of every kind the loader promises to handle."""

from __future__ import annotations

import io

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from harness.core.images import ImageError, load_image
from tests.conftest import KODAK


@pytest.fixture(scope="module")
def kodim() -> np.ndarray:
    return np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))[100:164, 200:296]


def test_kodak_png_loads_as_rgb8(kodim):
    image = load_image(KODAK / "kodim23.png")
    assert image.pixels.shape == (512, 768, 3) and image.pixels.dtype == np.uint8
    assert image.name == "kodim23" and image.notes == ()
    # The file hash is the dataset checksum.
    sums = dict(line.split()[::-1] for line in (KODAK / "SHA256SUMS").read_text().splitlines())
    assert image.sha256 == sums["kodim23.png"]


@pytest.mark.parametrize("fmt,suffix,exact", [("PNG", ".png", True), ("BMP", ".bmp", True), ("PPM", ".ppm", True),
                                              ("TIFF", ".tif", True), ("WEBP", ".webp", False), ("JPEG", ".jpg", False)])
def test_formats(tmp_path, kodim, fmt, suffix, exact):
    path = tmp_path / f"x{suffix}"
    Image.fromarray(kodim).save(path, format=fmt, **({"quality": 95} if not exact else {}))
    pixels = load_image(path).pixels
    assert pixels.shape == kodim.shape
    if exact:
        assert np.array_equal(pixels, kodim)
    else:
        assert np.abs(pixels.astype(int) - kodim).mean() < 3


def test_16bit_png_is_rounded_not_truncated(tmp_path, kodim):
    # x*257+100 rounds back to x, while a truncating >>8 gives x+1 for x >= 156.
    wide = np.minimum(kodim.astype(np.uint32) * 257 + 100, 65535).astype(np.uint16)
    assert not np.array_equal((wide >> 8).astype(np.uint8), kodim)
    path = tmp_path / "deep.png"
    path.write_bytes(imagecodecs.png_encode(wide))
    image = load_image(path)
    assert np.array_equal(image.pixels, np.clip(np.floor(wide / 257 + 0.5), 0, 255).astype(np.uint8))
    assert np.array_equal(image.pixels, kodim)
    assert any("16-bit" in n for n in image.notes)


def test_16bit_gray_tiff_and_pgm(tmp_path, kodim):
    gray16 = kodim[..., 1].astype(np.uint16) * 257
    tif = tmp_path / "g.tif"
    tif.write_bytes(imagecodecs.tiff_encode(gray16))
    pixels = load_image(tif).pixels
    assert pixels.shape == (*gray16.shape, 3) and np.array_equal(pixels[..., 0], kodim[..., 1])
    pgm = tmp_path / "g.pgm"
    header = f"P5 {gray16.shape[1]} {gray16.shape[0]} 65535\n".encode()
    pgm.write_bytes(header + gray16.astype(">u2").tobytes())
    assert np.array_equal(load_image(pgm).pixels[..., 2], kodim[..., 1])


def test_alpha_is_dropped_not_composited(tmp_path, kodim):
    rgba = np.concatenate([kodim, np.full(kodim.shape[:2] + (1,), 7, np.uint8)], axis=2)
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    image = load_image(path)
    assert np.array_equal(image.pixels, kodim) and "alpha dropped" in image.notes


def test_grayscale_palette_cmyk(tmp_path, kodim):
    Image.fromarray(kodim).convert("L").save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png").pixels
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    Image.fromarray(kodim).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    p = load_image(tmp_path / "p.png")
    assert p.pixels.shape == kodim.shape and "palette expanded" in p.notes
    Image.fromarray(kodim).convert("CMYK").save(tmp_path / "c.jpg", quality=98)
    c = load_image(tmp_path / "c.jpg")
    assert c.pixels.shape == kodim.shape and np.abs(c.pixels.astype(int) - kodim).mean() < 4


def test_odd_and_tiny_sizes(tmp_path, kodim):
    Image.fromarray(kodim[:1, :1]).save(tmp_path / "one.png")
    Image.fromarray(kodim[:45, :67]).save(tmp_path / "odd.png")
    assert load_image(tmp_path / "one.png").pixels.shape == (1, 1, 3)
    assert load_image(tmp_path / "odd.png").pixels.shape == (45, 67, 3)


def test_name_with_spaces_and_quotes(tmp_path, kodim):
    path = tmp_path / "it's a \"test\" image.png"
    Image.fromarray(kodim).save(path)
    assert load_image(path).name == "it's a \"test\" image"


def _error(path) -> str:
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_inputs_give_one_line_naming_the_file(tmp_path, kodim):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty file" in _error(empty)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    assert "not a recognised image" in _error(text)
    buffer = io.BytesIO()
    Image.fromarray(kodim).save(buffer, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert "truncated or corrupt" in _error(truncated)
    assert "cannot read" in _error(tmp_path / "absent.png")
