"""VVC intra (one frame) with VVenC through the static ffmpeg of ``imageio-ffmpeg``; ffmpeg's native
``vvc`` decoder.

Colour chain (fixed, recorded): RGB -> Y'CbCr BT.709 full range, 10 bit, 4:2:0 with chroma sited left,
converted explicitly by zscale (spline36) both ways, because ffmpeg's default scaler costs several dB at
high rates. The wrapper accepts only ``yuv420p10le`` (Main10), so 4:4:4 is impossible here. Colour
metadata is written into the VUI through ``-vvenc-params`` (the wrapper writes none by itself).

Rate: ``-qpa 0`` (VVenC's default perceptual QP adaptation makes files ~40% larger at the same QP and is
not what a PSNR study wants). The knob is the QP, continuous: an integer QP is coded as is; a fractional
QP q is coded with QP = round(q) and the intra lambda scaled by 2**(2 * (q - round(q)) / 3) through
``LambdaModifierI``: lambda-domain control as in VTM's own rate control (lambda continuous, QP derived
from it), with the lambda of up to one QP step either side (lambda doubles every 3 QP). Lambda alone
moves the rate about half to two thirds as much as the QP does, so the rates reachable from neighbouring
QPs overlap and a bpp search can match any target between them closely; integer QPs alone move the rate
~10% per step. The price is a slightly mismatched lambda: at most ~0.03 dB at equal rate (kodim23, preset fast).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from harness.codecs import register
from harness.codecs.base import ColourChain, Knob
from harness.codecs.ffmpeg_family import FfmpegCodec
from harness.core.process import scaled_timeout

PRESETS = ("faster", "fast", "medium", "slow", "slower")
# One core, Kodak (0.39 MP): faster ~0.6 s, fast ~1.3 s, medium ~5 s, slower ~30 s per encode. The limits
# are ~60x those: on 2 cores at load ~20 under nice, 15x (the earlier limits) killed medium to slower
# encodes of 256x256 crops.
_SECONDS_PER_MP = {"faster": 100, "fast": 200, "medium": 800, "slow": 2500, "slower": 5000}

# zscale: RGB <-> BT.709 full-range Y'CbCr, chroma sited left (MPEG-2/H.26x default), spline36 resampling.
_TO_YUV = "zscale=matrix=709:range=full:chromal=left:filter=spline36,format=yuv420p10le"
_TO_RGB = "zscale=matrixin=709:rangein=full:chromalin=left:filter=spline36:dither=none,format=gbrp"
# VUI: full range, BT.709 matrix and primaries, sRGB transfer (the RGB input is sRGB-coded).
_VUI = "VideoFullRange=1:MatrixCoefficients=1:ColourPrimaries=1:TransferCharacteristics=13"
# All-intra configuration, as VTM's encoder_intra_vtm.cfg: VVenC's default random-access GOP writes its
# reference picture lists and five sublayers into the SPS (~110 bytes) and codes the key picture with the
# random-access lambda; on full Kodak images IntraPeriod=1 is 0.43% smaller at equal RGB PSNR (3 images,
# preset fast, QP 27-47) and up to 5% at 0.05 bpp.
_ALL_INTRA = "IntraPeriod=1"


def lambda_modifier(qp: float) -> tuple[int, float]:
    """(integer QP, intra lambda modifier) for a possibly fractional QP."""
    base = math.floor(qp + 0.5)
    return base, 2.0 ** (2.0 * (qp - base) / 3.0)


@register
class Vvc(FfmpegCodec):
    name = "vvc"
    display_name = "VVC"
    description = "VVC intra, VVenC via ffmpeg, BT.709 full range 10-bit 4:2:0, qpa off"
    knob = Knob("qp", 0, 63, integer=False, quality_rises=False)
    # ~1.5 .. 0.06 bpp mean on Kodak (preset fast; medium ~4% fewer bits)
    default_points = (24.0, 28.0, 32.0, 36.0, 40.0, 44.0, 48.0)
    colour = ColourChain("bt709", "full", 10, "420")
    extension = ".266"
    size_multiple = 2
    min_size = 32
    # medium, VVenC's own default: on Kodak crops 3.9% fewer bits than fast at equal RGB PSNR and within 0.7%
    # of VTM-23.13; slower a further ~2.6% (2.1% better than VTM) at ~7x medium's time
    # (docs/codec-settings.md). Rate matching multiplies encodes by ~6.
    option_defaults: ClassVar[dict[str, str]] = {"preset": "medium"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"preset": PRESETS}

    ffmpeg_encoder = "libvvenc"
    encoder_label = "vvenc"
    stream_format = "vvc"
    to_rgb = _TO_RGB
    version_probe = ("yuv420p10le", ("-preset", "faster", "-threads", "1"), r"libvvenc version: (\S+)")
    configuration = "all-intra"

    def to_yuv(self) -> str:
        return _TO_YUV

    def encode_timeout(self, pixels: int) -> float:
        return scaled_timeout(pixels, _SECONDS_PER_MP[self.option("preset")])

    def codec_args(self, point: float) -> list[str]:
        qp, modifier = lambda_modifier(self.knob.clamp(point))
        vvenc_params = f"{_ALL_INTRA}:{_VUI}" + (f":LambdaModifierI={modifier:.6f}" if modifier != 1.0 else "")
        return ["-c:v", "libvvenc", "-preset", self.option("preset"), "-qp", str(qp), "-qpa", "0",
                "-threads", "1", "-vvenc-params", vvenc_params]

    def encode_params(self, point: float) -> dict[str, Any]:
        qp_value = self.knob.clamp(point)
        qp, modifier = lambda_modifier(qp_value)
        return {"qp": qp_value, "coded_qp": qp, "lambda_modifier_intra": round(modifier, 6),
                "preset": self.option("preset"), "qpa": 0, "intra_period": 1, "threads": 1,
                "pixel_format": "yuv420p10le",
                "rgb_to_yuv": _TO_YUV}
