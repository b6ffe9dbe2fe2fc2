"""The codecs the PICO debate asks for (H.264, JPEG 2000, AVIF through SVT-AV1 and rav1e, jpegli) and the
newest builds as defaults: real runs on Kodak crops, real values."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from harness.codecs import get_codec
from tests.conftest import codec_or_skip, kodak_crop
from tests.runs import make_run

NEW_CODECS = ("h264", "jpeg2000", "avif-svt", "avif-rav1e", "jpegli", "jpeg")


def psnr_at(rows: pd.DataFrame, bpp: float) -> float:
    """PSNR at ``bpp``, linear in log-rate between the two measured points around it."""
    rows = rows.sort_values("bpp")
    assert rows.bpp.min() <= bpp <= rows.bpp.max(), (rows.codec.iloc[0], list(rows.bpp))
    return float(np.interp(np.log(bpp), np.log(rows.bpp), rows.psnr_rgb))


def test_run_on_kodak_crops_psnr_rises_with_bpp_and_h264_beats_jpeg(tmp_path):
    for name in NEW_CODECS:
        codec_or_skip(name)
    table = pd.read_parquet(make_run(tmp_path, codecs=NEW_CODECS) / "results.parquet")
    assert set(table.codec) == set(NEW_CODECS)
    assert (table.status == "ok").all(), table[table.status != "ok"].error.tolist()
    for (codec, image), rows in table.groupby(["codec", "image"]):
        rows = rows.sort_values("bpp")
        assert len(rows) == len(get_codec(codec).default_points), (codec, image)
        assert rows.psnr_rgb.is_monotonic_increasing and rows.psnr_rgb.is_unique, (codec, image, list(rows.psnr_rgb))
    for image, rows in table.groupby("image"):
        h264 = psnr_at(rows[rows.codec == "h264"], 0.5)
        jpeg = psnr_at(rows[rows.codec == "jpeg"], 0.5)
        assert h264 > jpeg + 1.0, (image, h264, jpeg)


def test_h264_stream_carries_no_encoder_banner():
    codec = get_codec("h264")
    data = codec.encode(kodak_crop().pixels, 30).data
    assert b"x264 - core" not in data
    nal_types = [data[i + 3] & 0x1F for i in range(len(data) - 3) if data[i:i + 3] == b"\x00\x00\x01"]
    assert 6 not in nal_types and 5 in nal_types  # no SEI, one IDR slice
    assert codec.version().startswith("x264 core ")


def test_avif_plugin_leaves_pillows_own_avif_in_place():
    from PIL import Image

    get_codec("avif-svt").compress(kodak_crop(), 40)
    Image.init()
    assert Image.SAVE["AVIF"].__module__ == "PIL.AvifImagePlugin"
    assert "aom 3.14" in get_codec("avif").version() and "svt v4" in get_codec("avif-svt").version()


@pytest.mark.parametrize("distance", [0.5, 1.2, 4.2, 6.4, 11.0, 25.0])
def test_jxl_distance_knob_matches_libjxl_distance(distance):
    """libjxl 0.12 driven by quality lands on the rate libjxl 0.11 gives at the same distance."""
    image = kodak_crop(height=128, width=128)
    new = get_codec("jxl").compress(image, distance).file_bytes
    old = get_codec("jxl-imagecodecs").compress(image, distance).file_bytes
    assert abs(new / old - 1) < 0.15, (new, old)  # versions differ by up to ~13% (290 vs 257 B at d=25)


def test_jpegli_writes_420_jpeg_decodable_by_libjpeg_turbo():
    from PIL import Image, JpegImagePlugin

    image = kodak_crop()
    stream = get_codec("jpegli").encode(image.pixels, 50).data
    with Image.open(io.BytesIO(stream)) as decoded:
        assert JpegImagePlugin.get_sampling(decoded) == 2  # 4:2:0
    turbo = get_codec("jpegli:decoder=libjpeg-turbo").compress(image, 50)
    own = get_codec("jpegli").compress(image, 50)
    assert turbo.file_bytes == own.file_bytes
    assert 0 < np.abs(turbo.reconstruction.astype(int) - own.reconstruction).max() <= 8
