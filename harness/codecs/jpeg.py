"""JPEG through Pillow's libjpeg-turbo: BT.601 full-range Y'CbCr, 8-bit, 4:2:0 (``jpeg``) or 4:4:4
(``jpeg-444``), baseline Huffman tables optimised per image."""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image, features

from harness.codecs import register
from harness.codecs.base import ColourChain, Knob
from harness.codecs.pillow_family import PillowCodec


class _PillowJpeg(PillowCodec):
    display_name = "JPEG"
    knob = Knob("quality", 1, 100, integer=True, quality_rises=True)
    # ~1.5 .. 0.09 bpp mean on Kodak for 4:2:0 (quality 1 is the floor: ~0.09 bpp)
    default_points = (1, 5, 15, 30, 50, 70, 80)
    extension = ".jpg"
    pillow_format = "JPEG"
    pillow_feature = "jpg"
    subsampling: ClassVar[int]  # Pillow's code: 0 = 4:4:4, 2 = 4:2:0

    def probe_version(self) -> str:
        # version_codec('jpg') is the libjpeg API level (e.g. "6.2"), not the library release.
        turbo = features.version("libjpeg_turbo")
        if turbo:
            return f"libjpeg-turbo {turbo} (Pillow {Image.__version__})"
        return f"libjpeg {features.version_codec('jpg')} (Pillow {Image.__version__})"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality": int(point), "subsampling": self.subsampling, "optimize": True}

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {**settings, "subsampling": self.colour.subsampling}


@register
class Jpeg420(_PillowJpeg):
    name = "jpeg"
    description = "JPEG, libjpeg-turbo via Pillow, 4:2:0"
    colour = ColourChain("bt601", "full", 8, "420")
    subsampling = 2


@register
class Jpeg444(_PillowJpeg):
    name = "jpeg-444"
    description = "JPEG, libjpeg-turbo via Pillow, 4:4:4"
    colour = ColourChain("bt601", "full", 8, "444")
    subsampling = 0
