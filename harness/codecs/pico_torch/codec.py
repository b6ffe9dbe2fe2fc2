"""The ``pico-torch`` codec adapter: an UNOFFICIAL torch re-implementation of PICO (arXiv 2605.05148).

Knob: the integer quality level written into the bitstream (0 = lowest rate). Option ``checkpoint``: a
checkpoint exported by ``harness train pico-torch`` (default: the small checkpoint shipped with the
package, trained on Debian wallpapers and photographs; see docs/pico-torch.md). torch is imported only when the codec
codes, so listing codecs stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from harness.codecs import register
from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    CodecUnavailable,
    ColourChain,
    Knob,
)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "pico-torch-tiny.pt"


@register
class PicoTorch(Codec):
    name = "pico-torch"
    description = "PICO-style learned codec, UNOFFICIAL torch re-implementation (not the authors' model)"
    knob = Knob("level", 0, 5, integer=True, quality_rises=True)
    default_points = (0, 1, 2, 3, 4, 5)
    colour = ColourChain("learned", "n/a", 8, "n/a")
    extension = ".ptch"
    option_defaults: ClassVar[dict[str, str]] = {"checkpoint": "", "tiling": "on"}

    def _checkpoint(self) -> Path:
        value = self.option("checkpoint")
        return Path(value).expanduser() if value else DEFAULT_CHECKPOINT

    def _coder(self):
        from harness.codecs.pico_torch.checkpoint import CheckpointError
        from harness.codecs.pico_torch.coder import PicoError, load_coder

        try:
            return load_coder(str(self._checkpoint().resolve()))
        except (PicoError, CheckpointError) as exc:
            raise CodecUnavailable(str(exc)) from None

    def check_availability(self) -> Availability:
        path = self._checkpoint()
        if not path.is_file():
            return Availability(False, f"{path}: checkpoint not found")
        try:
            import constriction  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"missing Python package: {exc.name}")
        try:
            self._coder()
        except CodecUnavailable as exc:
            return Availability(False, str(exc))
        if self.option("tiling") not in ("on", "off"):
            return Availability(False, f"option tiling={self.option('tiling')!r} must be on or off")
        return Availability(True)

    def probe_version(self) -> str:
        import constriction  # noqa: F401
        import torch

        coder = self._coder()
        return (f"pico-torch unofficial, format v1, model {coder.model_id.hex()} "
                f"({coder.model.cfg.name}), torch {torch.__version__}, constriction")

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        from harness.codecs.pico_torch.coder import PicoError

        coder = self._coder()
        level = int(point)
        try:
            data = coder.encode(rgb, level, tiled=self.option("tiling") == "on")
        except PicoError as exc:
            raise CodecError(str(exc)) from None
        return Bitstream(data, params={"level": level, "model_id": coder.model_id.hex(),
                                       "tiling": self.option("tiling")})

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        from harness.codecs.pico_torch.bitstream import BitstreamError
        from harness.codecs.pico_torch.coder import PicoError

        try:
            return self._coder().decode(data)
        except (BitstreamError, PicoError) as exc:
            raise CodecError(str(exc)) from None
