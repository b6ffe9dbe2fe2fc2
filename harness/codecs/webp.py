"""WebP lossy (VP8 intra) through Pillow's libwebp: BT.601 limited-range Y'CbCr, 8 bit, 4:2:0 (the only
chain lossy WebP has). Knob: quality 0-100; option ``method`` 0-6 (default 6, the slowest and best, as
``cwebp -m 6``). The RIFF container is ~30 bytes; the rate floor is ~0.10 bpp on Kodak."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.codecs import register
from harness.codecs.base import ColourChain, Knob
from harness.codecs.pillow_family import PillowCodec

_METHODS = tuple(str(m) for m in range(7))


@register
class Webp(PillowCodec):
    name = "webp"
    display_name = "WebP"
    description = "WebP lossy, libwebp via Pillow, BT.601 limited range 8-bit 4:2:0"
    knob = Knob("quality", 0, 100, integer=True, quality_rises=True)
    # ~1.5 .. 0.1 bpp mean on Kodak (method 6)
    default_points = (0.0, 10.0, 25.0, 45.0, 65.0, 78.0, 85.0)
    colour = ColourChain("bt601", "limited", 8, "420")
    extension = ".webp"
    option_defaults: ClassVar[dict[str, str]] = {"method": "6"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"method": _METHODS}
    pillow_format = "WEBP"
    pillow_feature = "webp"
    library = "libwebp"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality": int(self.knob.clamp(point)), "method": int(self.option("method")), "lossless": False,
                "exact": False}
