"""AVIF with libaom, two builds, named apart because they are different encoders:

``avif``
    Debian's ``avifenc``/``avifdec`` (libavif 0.11, libaom 3.6 encoder, dav1d decoder). Knob: the libaom
    quantizer 0-63 (``--min q --max q``; libaom maps it onto its 0-255 qindex through a fixed table).
    ``-y 420`` is passed explicitly (avifenc's default for PNG input is 4:4:4), ``tune=psnr``, one worker
    thread (libaom's output bytes depend on the thread count), speed 6 (avifenc's default).
``avif-pillow``
    In process through Pillow's AVIF support (libavif 1.4 with libaom 3.14, dav1d). Knob: quality 0-100,
    which libavif maps to a quantizer with ``(100 - quality) * 63 / 100`` rounded: only 64 distinct
    settings, no finer than ``avif``. ``tune=psnr`` is passed explicitly: libavif 1.x otherwise picks
    ``tune=ssim`` or libaom's ``tune=iq``.

Both code BT.601 full-range 8-bit Y'CbCr (the colr box says so) and are stored as a complete AVIF file;
the container adds ~280-350 bytes, so the payload (the ``mdat`` box contents) is recorded apart from the
file size.

Rate granularity: a quantizer step moves the rate by ~5-6% at mid rates, so matching a target bpp
within 2% is not always possible with libavif. libaom's one-pass VBR rate control (ffmpeg's
``libaom-av1 -b:v``, usage ``good``) does choose among all 256 qindex values, but it is a different
encoder configuration (not all-intra, not libavif) and is not wrapped here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from harness.codecs import register
from harness.codecs.base import Availability, Codec, CodecError, ColourChain, Knob
from harness.codecs.families import Command, PillowCodec, ProgramCodec
from harness.core.isobmff import mdat_payload_bytes
from harness.core.process import program_output, require_program

_SUBSAMPLINGS = ("420", "444")
_SPEEDS = tuple(str(s) for s in range(11))


class _Avif(Codec):
    """What both builds share: options, the colour chain they imply, the payload inside the container."""

    display_name: ClassVar[str]
    option_defaults: ClassVar[dict[str, str]] = {"yuv": "420", "speed": "6"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"yuv": _SUBSAMPLINGS, "speed": _SPEEDS}
    colour = ColourChain("bt601", "full", 8, "420")
    extension = ".avif"

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.colour = ColourChain("bt601", "full", 8, self.option("yuv"))

    def payload_bytes(self, data: bytes) -> int | None:
        try:
            return mdat_payload_bytes(data)
        except ValueError as exc:
            raise CodecError(f"{self.display_name} encode: output is not a valid AVIF file ({exc})") from None


@register
class AvifAom(_Avif, ProgramCodec):
    name = "avif"
    display_name = "AVIF"
    description = "AVIF, libaom via Debian avifenc/avifdec, BT.601 full range 8-bit 4:2:0, tune=psnr"
    knob = Knob("q", 0, 63, integer=True, quality_rises=False)
    # ~1.5 .. 0.05 bpp mean on Kodak (speed 6, 4:2:0)
    default_points = (16.0, 24.0, 32.0, 40.0, 48.0, 56.0, 62.0)

    def check_availability(self) -> Availability:
        require_program("avifenc", "libavif-bin")
        require_program("avifdec", "libavif-bin")
        if "aom [enc" not in program_output(["avifenc", "--version"]):
            return Availability(False, "avifenc was built without the libaom encoder")
        return Availability(True)

    def probe_version(self) -> str:
        text = program_output(["avifenc", "--version"])
        libavif = re.search(r"Version: ([^\s,)]+)", text)
        aom = re.search(r"aom \[enc/dec\]:([^\s,)]+)", text)
        dav1d = re.search(r"dav1d \[dec\]:([^\s,)]+)", text)
        return (f"avifenc {libavif.group(1) if libavif else '?'} (aom {aom.group(1) if aom else '?'})"
                f" / avifdec (dav1d {dav1d.group(1) if dav1d else '?'})")

    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command:
        q = str(int(self.knob.clamp(point)))
        return Command(["avifenc", "--jobs", "1", "--codec", "aom", "--speed", self.option("speed"),
                        "--min", q, "--max", q, "--yuv", self.option("yuv"), "--depth", "8", "--range", "full",
                        "--cicp", "1/13/6", "--advanced", "tune=psnr", self.input_file, self.stream_file])

    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command:
        return Command(["avifdec", "--jobs", "1", "--codec", "dav1d", "--depth", "8", self.stream_file,
                        self.decoded_file])

    def encode_params(self, point: float) -> dict[str, Any]:
        return {"q": int(self.knob.clamp(point)), "speed": int(self.option("speed")), "yuv": self.option("yuv"),
                "tune": "psnr", "threads": 1}


@register
class AvifPillow(_Avif, PillowCodec):
    name = "avif-pillow"
    display_name = "AVIF (Pillow)"
    description = "AVIF, libaom via Pillow's libavif 1.x, BT.601 full range 8-bit 4:2:0, tune=psnr"
    knob = Knob("quality", 0, 100, integer=True, quality_rises=True)
    # the same quantizers as avif's default points (16 .. 62)
    default_points = (75.0, 62.0, 49.0, 37.0, 24.0, 11.0, 2.0)
    pillow_format = "AVIF"
    pillow_feature = "avif"

    def check_availability(self) -> Availability:
        available = super().check_availability()
        if not available:
            return available
        from PIL import _avif

        if not _avif.encoder_codec_available("aom"):
            return Availability(False, "Pillow's libavif has no libaom encoder")
        return Availability(True)

    def probe_version(self) -> str:
        from PIL import Image, _avif, features

        return f"libavif {features.version('avif')} ({_avif.codec_versions()}) via Pillow {Image.__version__}"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality": int(self.knob.clamp(point)), "subsampling": {"420": "4:2:0", "444": "4:4:4"}[self.option("yuv")],
                "speed": int(self.option("speed")), "max_threads": 1, "codec": "aom", "range": "full",
                "autotiling": False, "advanced": {"tune": "psnr"}}

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {**settings, "quantizer": ((100 - settings["quality"]) * 63 + 50) // 100}
