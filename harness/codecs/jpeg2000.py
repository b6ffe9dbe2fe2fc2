"""JPEG 2000 (Part 1) with OpenJPEG, through Pillow: the 9/7 irreversible wavelet with the irreversible
colour transform on (``mct=1``: BT.601 Y'CbCr, full range, no subsampling). Pillow's default is
``mct=0``, which codes R, G and B directly and is much worse (about 2 dB at 0.25 bpp on Kodak).

Knob: OpenJPEG's distortion target in dB (``quality_mode="dB"``, as ``opj_compress -q``), continuous: the
rate allocation (PCRD-opt, one quality layer) truncates the code-blocks where the target is met, the same
truncation a rate target (``-r``) reaches at the rate it lands on, so both trace one RD curve; the RGB
PSNR lands ~0.1-0.5 dB below the target. A rate target is not the knob because the ~150-byte main header
(SIZ, COD, QCD and OpenJPEG's 39-byte "Created by OpenJPEG" comment, kept as every OpenJPEG file has it)
is more than the whole budget of the lowest Kodak rates on small crops: such points would code nothing.
``--target-bpp`` reaches any rate through the knob. The file is a bare codestream (``.j2k``, no JP2
boxes), so file bytes = payload. Default code-blocks (64x64), 6 resolution levels, no tiling: OpenJPEG's
own defaults.
"""

from __future__ import annotations

from typing import Any

from harness.codecs import register
from harness.codecs.base import ColourChain, Knob
from harness.codecs.pillow_family import PillowCodec


@register
class Jpeg2000(PillowCodec):
    name = "jpeg2000"
    display_name = "JPEG 2000"
    description = "JPEG 2000, OpenJPEG via Pillow, 9/7 wavelet, colour transform on (BT.601 4:4:4)"
    knob = Knob("psnr_target_db", 15.0, 60.0, integer=False, quality_rises=True)
    # ~0.05 .. 1.5 bpp mean on Kodak (kodim01, 05, 15, 23)
    default_points = (21.0, 23.5, 26.0, 28.5, 31.5, 34.5, 38.0)
    colour = ColourChain("bt601", "full", 8, "444")
    extension = ".j2k"
    pillow_format = "JPEG2000"
    pillow_feature = "jpg_2000"
    library = "OpenJPEG"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality_mode": "dB", "quality_layers": [self.knob.clamp(point)], "irreversible": True, "mct": 1,
                "no_jp2": True}
