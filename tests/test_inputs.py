"""Every input accounted for (issue 26): one test per audit finding, each failing before its fix."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.codecs import get_codec
from harness.core.images import ImageError, SourceImage, load_image
from harness.datasets import resolve_dataset
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.conftest import KODAK
from tests.runs import write_crops


def _chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, length) of each chunk of a PNG file."""
    found, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        found.append((offset, data[offset + 4:offset + 8], length))
        offset += 12 + length
    return found


def test_a_png_with_a_bad_idat_crc_is_a_failed_row_naming_the_chunk(tmp_path):
    crops = write_crops(tmp_path / "crops")
    data = bytearray((crops / "kodim13.png").read_bytes())
    offset, _, length = next(c for c in _chunks(bytes(data)) if c[1] == b"IDAT")
    data[offset + 8 + length // 2] ^= 0x01  # one flipped bit inside the image data; its CRC no longer matches
    (crops / "kodim13.png").write_bytes(bytes(data))
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[50])
    table = read_results(store.run_dir).set_index("image")
    assert summary.failed == 1 and table.loc["kodim23", "status"] == "ok"
    error = table.loc["kodim13", "error"]
    assert table.loc["kodim13", "status"] == "failed" and "IDAT" in error and "CRC" in error and "kodim13.png" in error


@pytest.mark.parametrize("codec", ["jpeg", "webp"])
def test_correct_decodes_of_a_solid_colour_that_is_not_grey_pass_the_flat_check(codec):
    pixels = np.empty((96, 96, 3), np.uint8)
    pixels[...] = (200, 30, 40)
    image = SourceImage("solid", Path("solid.png"), "0" * 64, pixels)
    outcome = get_codec(codec).compress(image, 90)
    assert np.abs(outcome.reconstruction.astype(int) - pixels).max() <= 3


def test_a_flat_decode_of_a_picture_with_one_varying_channel_is_still_refused():
    from harness.codecs.base import is_flat_decode

    pixels = np.zeros((96, 96, 3), np.uint8)
    pixels[..., 0] = 120
    pixels[..., 1] = np.arange(96, dtype=np.uint8)[None, :]  # green varies, red and blue are flat
    flat = np.broadcast_to(pixels.reshape(-1, 3).mean(axis=0).round().astype(np.uint8), pixels.shape)
    assert is_flat_decode(np.ascontiguousarray(flat), pixels)
    assert not is_flat_decode(np.ascontiguousarray(flat), np.ascontiguousarray(flat))


def test_an_image_over_the_pixel_limit_is_refused_saying_how_to_raise_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.new("1", (10080, 10000)).save(path)  # 100.8 MP, 12 MB of zeros
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and "larger than the 89.5 MP limit (100.8 MP)" in message
    assert "HARNESS_MAX_MEGAPIXELS" in message and "--max-megapixels" in message
    small = tmp_path / "small.png"
    Image.fromarray(np.asarray(Image.open(KODAK / "kodim23.png"))[:100, :100]).save(small)
    monkeypatch.setenv("HARNESS_MAX_MEGAPIXELS", "0.005")
    with pytest.raises(ImageError, match=r"larger than the 0\.005 MP limit \(0\.01 MP\)"):
        load_image(small)
    monkeypatch.setenv("HARNESS_MAX_MEGAPIXELS", "0.02")
    assert load_image(small).num_pixels == 10_000


def test_bad_chunk_checks_leave_good_pngs_alone():
    data = (KODAK / "kodim23.png").read_bytes()
    assert all(zlib.crc32(data[o + 4:o + 8 + n]) == int.from_bytes(data[o + 8 + n:o + 12 + n], "big")
               for o, _, n in _chunks(data))
    assert load_image(KODAK / "kodim23.png").width == 768
