"""H.264/AVC intra (one frame), x264 through the static ffmpeg of ``imageio-ffmpeg``; ffmpeg's native decoder.

Colour chain (fixed, recorded): RGB -> Y'CbCr BT.601 full range, 8 bit, 4:2:0 with chroma sited left,
converted explicitly by zscale (spline36) both ways, as for ``hevc`` (the BPG-like chain), so the two
differ only in the codec. High profile (8x8 transform, CABAC), every frame an IDR (``keyint=1``).

PSNR-oriented and repeatable: ``tune=psnr`` (adaptive quantisation off) and ``psy=0`` (no psycho-visual
RDO or trellis), one slice, one thread (``threads=1:sliced-threads=0``, so the output bytes do not depend
on the machine). x264 writes its version and full option string as a ~700-byte SEI message into the
stream; it is metadata, not picture data, so it is removed with ffmpeg's ``filter_units`` bitstream filter
(all SEI NAL units, type 6: an intra picture without HRD needs none) rather than counted as rate.

Knob: the QP (0-51, constant QP). Option ``preset`` (x264 preset, default ``placebo``: ~0.3 s per Kodak
image).
"""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from harness.codecs import register
from harness.codecs.base import Availability, ColourChain, Knob
from harness.codecs.ffmpeg_family import FfmpegCodec
from harness.core.process import ffmpeg_exe, ffmpeg_version, program_output

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
           "placebo")
_X264_FIXED = "keyint=1:psy=0:threads=1:sliced-threads=0:slices=1"
_VUI = "fullrange=on:colormatrix=bt470bg:colorprim=bt709:transfer=iec61966-2-1"
_TO_YUV = "zscale=matrix=470bg:range=full:chromal=left:filter=spline36,format=yuv420p"
_TO_RGB = "zscale=matrixin=470bg:rangein=full:chromalin=left:filter=spline36:dither=none,format=gbrp"
_DROP_SEI = "filter_units=remove_types=6"


@register
class H264(FfmpegCodec):
    name = "h264"
    display_name = "H.264"
    description = "H.264 intra, x264 via ffmpeg, BT.601 full range 8-bit 4:2:0, tune=psnr, psy off, one slice"
    knob = Knob("qp", 0, 51, integer=True, quality_rises=False)
    # 2.16 .. ~0.08 bpp mean on Kodak (kodim01, 05, 15, 23; preset placebo): QP 22 keeps smooth crops
    # above 0.5 bpp
    default_points = (22.0, 26.0, 30.0, 34.0, 38.0, 42.0, 46.0, 51.0)
    colour = ColourChain("bt601", "full", 8, "420")
    extension = ".264"
    size_multiple = 2
    min_size = 16
    option_defaults: ClassVar[dict[str, str]] = {"preset": "placebo"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"preset": PRESETS}

    ffmpeg_encoder = "libx264"
    encoder_label = "x264"
    stream_format = "h264"
    to_rgb = _TO_RGB
    encode_seconds_per_mp = 60

    def check_availability(self) -> Availability:
        available = super().check_availability()
        if available and "filter_units" not in program_output([ffmpeg_exe(), "-hide_banner", "-bsfs"]).split():
            return Availability(False, "ffmpeg of imageio-ffmpeg has no filter_units bitstream filter")
        return available

    def probe_version(self) -> str:
        return f"x264 {_x264_version()} / ffmpeg h264 decoder {ffmpeg_version()}"

    def to_yuv(self) -> str:
        return _TO_YUV

    def _x264_params(self, point: float) -> str:
        return f"qp={int(self.knob.clamp(point))}:{_X264_FIXED}:{_VUI}"

    def codec_args(self, point: float) -> list[str]:
        return ["-c:v", "libx264", "-preset", self.option("preset"), "-tune", "psnr", "-profile:v", "high",
                "-x264-params", self._x264_params(point), "-bsf:v", _DROP_SEI]

    def encode_params(self, point: float) -> dict[str, Any]:
        return {"qp": int(self.knob.clamp(point)), "preset": self.option("preset"), "tune": "psnr",
                "profile": "high", "pixel_format": "yuv420p", "x264_params": self._x264_params(point),
                "sei": "removed", "rgb_to_yuv": self.to_yuv()}


@functools.lru_cache(maxsize=1)
def _x264_version() -> str:
    """x264's version is in the SEI it writes into the stream (not in ffmpeg's log): encode a black
    32x32 frame and read it."""
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        out = Path(tmp, "probe.264")
        program_output([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "color=black:size=32x32:duration=0.04", "-frames:v", "1", "-pix_fmt", "yuv420p",
                        "-c:v", "libx264", "-x264-params", "threads=1", "-f", "h264", str(out)])
        text = out.read_bytes().decode("latin-1") if out.exists() else ""
    match = re.search(r"x264 - core (\d+(?: r\d+ \w+)?)", text)
    return f"core {match.group(1)}" if match else "unknown"
