"""JPEG with jpegli, the JPEG encoder and decoder of the JPEG XL team, through PyPI ``pyjpegli``.

The files are ordinary JPEG: BT.601 full-range Y'CbCr, 8 bit, 4:2:0 (what ``pyjpegli`` 0.3 writes; it
exposes only the quality), no JFIF/EXIF segments. jpegli's quality maps to a butteraugli-style distance
with adaptive quantisation, so its rate floor is high: quality 1 is still ~0.23-0.35 bpp on Kodak, and
the lowest rates of the other codecs are out of its reach.

Option ``decoder``: ``jpegli`` (default; jpegli's own decoder, which reconstructs with more precision
than 8-bit integer IDCTs) or ``libjpeg-turbo`` (Pillow's), to separate encoder from decoder gains.
"""

from __future__ import annotations

import io
from importlib import metadata
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from harness.codecs import register
from harness.codecs.base import Availability, CodecError, ColourChain, Knob
from harness.codecs.pillow_family import PillowCodec
from harness.core.errors import one_line


@register
class Jpegli(PillowCodec):
    name = "jpegli"
    display_name = "jpegli"
    description = "JPEG, jpegli encoder (pyjpegli), BT.601 full range 8-bit 4:2:0"
    knob = Knob("quality", 1, 100, integer=True, quality_rises=True)
    # ~0.3 .. 1.7 bpp mean on Kodak (kodim01, 05, 15, 23): quality 1 is jpegli's rate floor
    default_points = (1.0, 5.0, 15.0, 30.0, 50.0, 70.0, 85.0)
    colour = ColourChain("bt601", "full", 8, "420")
    extension = ".jpg"
    option_defaults: ClassVar[dict[str, str]] = {"decoder": "jpegli"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"decoder": ("jpegli", "libjpeg-turbo")}
    pillow_format = "JPEG"
    pillow_feature = "jpg"  # the libjpeg-turbo decoder option
    library = "jpegli"

    def check_availability(self) -> Availability:
        try:
            import pyjpegli  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
        except ImportError:
            return Availability(False, "Python package pyjpegli is not installed")
        return super().check_availability()

    def probe_version(self) -> str:
        decoder = ("jpegli" if self.option("decoder") == "jpegli"
                   else f"libjpeg-turbo {features.version('libjpeg_turbo')} (Pillow {Image.__version__})")
        return f"jpegli (pyjpegli {metadata.version('pyjpegli')}) / {decoder}"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality": int(self.knob.clamp(point))}

    def save(self, image: Image.Image, buffer: io.BytesIO, settings: dict[str, Any]) -> None:
        import pyjpegli  # type: ignore[import-not-found,unused-ignore]

        buffer.write(pyjpegli.encode(image.tobytes(), image.width, image.height, settings["quality"]))

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {**settings, "subsampling": "420", "decoder": self.option("decoder")}

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        if self.option("decoder") == "libjpeg-turbo":
            return super().decode(data, size)
        import pyjpegli  # type: ignore[import-not-found,unused-ignore]

        try:
            pixels, width, height = pyjpegli.decode(data)
        except (ValueError, RuntimeError) as exc:
            raise CodecError(f"jpegli decode failed: {one_line(exc)}") from None
        return np.frombuffer(pixels, np.uint8).reshape(height, width, 3)
