"""WebP lossy (VP8 intra) through Pillow's libwebp: BT.601 limited-range Y'CbCr, 8 bit, 4:2:0 (the only
chain lossy WebP has). Knob: quality 0-100; option ``method`` 0-6 (default 6, the slowest and best, as
``cwebp -m 6``). The RIFF container is ~30 bytes; the rate floor is ~0.10 bpp on Kodak."""

from __future__ import annotations

import io
from typing import ClassVar

import numpy as np
from PIL import Image, features

from harness.codecs import register
from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    ColourChain,
    Knob,
)

_METHODS = tuple(str(m) for m in range(7))


@register
class Webp(Codec):
    name = "webp"
    description = "WebP lossy, libwebp via Pillow, BT.601 limited range 8-bit 4:2:0"
    knob = Knob("quality", 0, 100, integer=True, quality_rises=True)
    # ~1.5 .. 0.1 bpp mean on Kodak (method 6)
    default_points = (0.0, 10.0, 25.0, 45.0, 65.0, 78.0, 85.0)
    colour = ColourChain("bt601", "limited", 8, "420")
    extension = ".webp"
    option_defaults: ClassVar[dict[str, str]] = {"method": "6"}

    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"method": _METHODS}

    def check_availability(self) -> Availability:
        if not features.check("webp"):
            return Availability(False, "Pillow was built without WebP support")
        return Availability(True)

    def probe_version(self) -> str:
        return f"libwebp {features.version('webp')} (Pillow {Image.__version__})"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        quality = int(self.knob.clamp(point))
        settings = {"quality": quality, "method": int(self.option("method")), "lossless": False, "exact": False}
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="WEBP", **settings)
        return Bitstream(buffer.getvalue(), params=settings)

    def decode(self, data: bytes) -> np.ndarray:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return np.asarray(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as exc:
            raise CodecError(f"WebP decode failed: {' '.join(str(exc).split())}") from None
