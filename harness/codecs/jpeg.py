"""JPEG through Pillow's libjpeg-turbo: BT.601 full-range Y'CbCr, 8-bit, 4:2:0 (``jpeg``) or 4:4:4
(``jpeg-444``), baseline Huffman tables optimised per image."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

from harness.codecs import register
from harness.codecs.base import Availability, Bitstream, Codec, CodecError, ColourChain, Knob


class _PillowJpeg(Codec):
    knob = Knob("quality", 1, 100, integer=True, quality_rises=True)
    # ~1.5 .. 0.09 bpp mean on Kodak for 4:2:0 (quality 1 is the floor: ~0.09 bpp)
    default_points = (1, 5, 15, 30, 50, 70, 80)
    extension = ".jpg"
    subsampling: int  # Pillow's code: 0 = 4:4:4, 2 = 4:2:0

    def check_availability(self) -> Availability:
        if not features.check_codec("jpg"):
            return Availability(False, "Pillow was built without libjpeg")
        return Availability(True)

    def probe_version(self) -> str:
        # version_codec('jpg') is the libjpeg API level (e.g. "6.2"), not the library release.
        turbo = features.version("libjpeg_turbo")
        if turbo:
            return f"libjpeg-turbo {turbo} (Pillow {Image.__version__})"
        return f"libjpeg {features.version_codec('jpg')} (Pillow {Image.__version__})"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        params = {"quality": int(point), "subsampling": self.colour.subsampling, "optimize": True}
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(point), subsampling=self.subsampling,
                                  optimize=True)
        return Bitstream(buffer.getvalue(), params=params)

    def decode(self, data: bytes) -> np.ndarray:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return np.asarray(image.convert("RGB"))
        except OSError as exc:
            raise CodecError(f"JPEG decode failed: {exc}") from None


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
