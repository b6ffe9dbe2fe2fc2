"""HEVC intra (one frame), x265 through the static ffmpeg of ``imageio-ffmpeg``; ffmpeg's native decoder.

BPG-like by default: 4:2:0, 8 bit, BT.601 full range (bpgenc's defaults), every frame intra
(``keyint=1``). Unlike bpgenc (which uses x265's ``tune=ssim``), psycho-visual RDO is off
(``psy-rd=0:psy-rdoq=0``) because the harness's studies are PSNR-oriented. ``info=0`` is mandatory: x265
otherwise writes a ~2.3 kB version SEI that would count as data (about 0.05 bpp on Kodak).
``frame-threads=1:wpp=0:pools=none`` makes the output byte-identical from run to run.

The raw Annex-B ``.265`` stream is the file; there is no container. A truncated or corrupted HEVC
stream can decode with exit status 0 into garbage, so decoding uses ``-xerror`` and the harness's
plausibility check rejects what still slips through.

Options: ``preset`` (x265 preset, default ``veryslow``, bpgenc's default compression level 8) and
``chroma`` (``420`` or ``444``; 4:4:4 uses the Main 4:4:4 profile).

Known gap: ffmpeg's HEVC decoder conceals damaged slice data even with ``-xerror`` (a stream cut in half
decodes with exit 0 to ~17-21 dB, above the 10 dB plausibility floor). Only an in-band MD5 picture hash
SEI (``hash=1``, ~60 bytes that would count as data) would let the decoder refuse it; it is not used.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.codecs import register
from harness.codecs.base import ColourChain, Knob
from harness.codecs.ffmpeg_family import FfmpegCodec

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
           "placebo")
_PIX_FMT = {"420": "yuv420p", "444": "yuv444p"}
_X265_FIXED = "keyint=1:info=0:psy-rd=0:psy-rdoq=0:frame-threads=1:wpp=0:pools=none"
_VUI = "range=full:colormatrix=bt470bg:colorprim=bt709:transfer=iec61966-2-1"
# BT.601 (470bg) full range, chroma sited left, spline36 for the 4:2:0 down-sampling.
_TO_YUV = "zscale=matrix=470bg:range=full:chromal=left:filter=spline36,format={pixel_format}"
_TO_RGB = "zscale=matrixin=470bg:rangein=full:chromalin=left:filter=spline36:dither=none,format=gbrp"


@register
class Hevc(FfmpegCodec):
    name = "hevc"
    display_name = "HEVC"
    description = "HEVC intra (BPG-like), x265 via ffmpeg, BT.601 full range 8-bit 4:2:0, psy off"
    knob = Knob("qp", 0, 51, integer=True, quality_rises=False)
    # ~1.5 .. 0.06 bpp mean on Kodak
    default_points = (24.0, 28.0, 32.0, 36.0, 40.0, 44.0, 48.0)
    colour = ColourChain("bt601", "full", 8, "420")
    extension = ".265"
    size_multiple = 2
    min_size = 16
    option_defaults: ClassVar[dict[str, str]] = {"preset": "veryslow", "chroma": "420"}  # veryslow: bpgenc's default level 8
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"preset": PRESETS, "chroma": tuple(_PIX_FMT)}

    ffmpeg_encoder = "libx265"
    encoder_label = "x265"
    stream_format = "hevc"
    to_rgb = _TO_RGB
    version_probe = ("yuv420p", ("-x265-params", "pools=none:frame-threads=1"), r"HEVC encoder version (\S+)")
    encode_seconds_per_mp = 300

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        # An instance attribute: the chain depends on the chroma option.
        self.colour = ColourChain("bt601", "full", 8, self.option("chroma"))

    def to_yuv(self) -> str:
        return _TO_YUV.format(pixel_format=_PIX_FMT[self.option("chroma")])

    def _x265_params(self, point: float) -> str:
        return f"qp={int(self.knob.clamp(point))}:{_X265_FIXED}:{_VUI}"

    def codec_args(self, point: float) -> list[str]:
        return ["-c:v", "libx265", "-preset", self.option("preset"), "-x265-params", self._x265_params(point)]

    def encode_params(self, point: float) -> dict[str, Any]:
        chroma = self.option("chroma")
        return {"qp": int(self.knob.clamp(point)), "preset": self.option("preset"), "chroma": chroma,
                "pixel_format": _PIX_FMT[chroma], "x265_params": self._x265_params(point),
                "rgb_to_yuv": self.to_yuv()}
