"""PSNR per Y'CbCr plane equals ffmpeg's psnr filter on the same conversions (zscale, the static ffmpeg)."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from PIL import Image

from tests.conftest import KODAK


def _ffmpeg_psnr(ref: np.ndarray, dist: np.ndarray, matrix: str, range_: str, folder) -> tuple[float, float, float]:
    from harness.core.process import ffmpeg_exe, run_program

    height, width = ref.shape[:2]
    (folder / "d.rgb").write_bytes(dist.tobytes())
    (folder / "r.rgb").write_bytes(ref.tobytes())
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i"]
    chain = f"zscale=matrix={matrix}:range={range_},format=yuv444p"
    done = run_program([ffmpeg_exe(), "-hide_banner", "-nostdin", *raw, folder / "d.rgb", *raw, folder / "r.rgb",
                        "-lavfi", f"[0:v]{chain}[a];[1:v]{chain}[b];[a][b]psnr", "-f", "null", "-"], "ffmpeg psnr",
                       timeout=120)
    found = re.search(r"PSNR y:([\d.]+) u:([\d.]+) v:([\d.]+)", done.stderr.decode())
    assert found, done.stderr.decode()[-500:]
    return float(found[1]), float(found[2]), float(found[3])


@pytest.mark.parametrize("quality", [30, 85])
def test_planes_equal_ffmpeg_psnr(tmp_path, quality):
    from harness.metrics import get_metric

    ref = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))[100:292, 200:456].copy()
    buffer = io.BytesIO()
    Image.fromarray(ref).save(buffer, format="JPEG", quality=quality)
    dist = np.asarray(Image.open(buffer).convert("RGB"))
    metric = get_metric("psnr_yuv")
    got = metric.compute(ref, dist, metric.prepare(ref))
    # Limited BT.709: equal to ffmpeg's six printed decimals. Full BT.601: zscale rounds a few code values the
    # other way (measured up to 2.4e-3 dB, on Cb at quality 85).
    for chain, matrix, range_, tolerance in (("709l", "709", "limited", 1e-5), ("601f", "470bg", "full", 5e-3)):
        expected = _ffmpeg_psnr(ref, dist, matrix, range_, tmp_path)
        for plane, value in zip(("y", "cb", "cr"), expected):
            assert got[f"psnr_{plane}_{chain}"] == pytest.approx(value, abs=tolerance), (chain, plane)
    assert metric.compute(ref, ref.copy(), None)["psnr_cr_601f"] == math.inf
