"""The ``compressai`` codec: CompressAI's image models as real coders.

    compressai:ARCH[:quality=N][:metric=mse|ms-ssim]   a pretrained zoo model (all its qualities by default)
    compressai:checkpoint=PATH                         a model you trained (see :mod:`.train`)
    compressai:ARCH:checkpoint=PATH                    the same, for a file that does not name its architecture

Knob: the zoo quality (1 = lowest rate). A checkpoint is one operating point (knob value 0). torch and
compressai are imported only when the codec codes, so listing codecs stays fast.
"""

from __future__ import annotations

import sys
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
from harness.codecs.compressai_zoo.models import ZOO_QUALITIES
from harness.core.process import run_program


@register
class CompressAI(Codec):
    name = "compressai"
    description = "CompressAI image models (Balle, Minnen, Cheng), pretrained zoo weights or your checkpoint"
    knob = Knob("quality", 0, 8, integer=True, quality_rises=True)
    default_points = (1, 2, 3, 4, 5, 6, 7, 8)
    colour = ColourChain("learned", "n/a", 8, "n/a")
    extension = ".hcai"
    positional_option = "arch"
    option_defaults: ClassVar[dict[str, str]] = {"arch": "", "quality": "", "metric": "mse", "checkpoint": ""}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"metric": ("mse", "ms-ssim")}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        arch, quality = self.option("arch"), self.option("quality")
        if not self.option("checkpoint"):
            if arch and arch not in ZOO_QUALITIES:
                raise CodecError(f"compressai: unknown architecture {arch!r} (zoo: {', '.join(ZOO_QUALITIES)})")
            if quality and (not quality.isdigit() or not 1 <= int(quality) <= ZOO_QUALITIES.get(arch, 8)):
                raise CodecError(f"compressai: quality must be 1..{ZOO_QUALITIES.get(arch, 8)}, got {quality!r}")
        elif quality:
            raise CodecError("compressai: a checkpoint has one operating point; drop quality=")

    def _model(self, quality: int):
        from harness.codecs.compressai_zoo.models import (
            CompressaiError,
            load_checkpoint,
            load_zoo,
        )

        try:
            if self.option("checkpoint"):
                path = Path(self.option("checkpoint")).expanduser().resolve()
                return load_checkpoint(str(path), self.option("arch"))
            return load_zoo(self.option("arch"), self.option("metric"), quality)
        except CompressaiError as exc:
            raise CodecUnavailable(str(exc)) from None

    def check_availability(self) -> Availability:
        from harness.codecs.compressai_zoo.models import (
            CompressaiError,
            import_compressai,
        )

        if not self.option("arch") and not self.option("checkpoint"):
            return Availability(False, f"name a model: compressai:ARCH (one of {', '.join(ZOO_QUALITIES)}) "
                                       f"or compressai:checkpoint=PATH")
        try:
            import_compressai()
        except CompressaiError as exc:
            return Availability(False, str(exc))
        if self.option("checkpoint"):
            try:
                self._model(0)
            except CodecUnavailable as exc:
                return Availability(False, str(exc))
        return Availability(True)

    def probe_version(self) -> str:
        import torch

        compressai = sys.modules.get("compressai")
        version = getattr(compressai, "__version__", "?")
        what = (f"checkpoint model {self._model(0).model_id.hex()}" if self.option("checkpoint")
                else f"zoo {self.option('metric')} weights")
        return f"compressai {version} ({what}), rANS coder, torch {torch.__version__}"

    def points_for(self, image_name: str) -> list[float]:
        if self.option("checkpoint"):
            return [0]
        if self.option("quality"):
            return [int(self.option("quality"))]
        return list(range(1, ZOO_QUALITIES.get(self.option("arch"), 8) + 1))

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        from harness.codecs.compressai_zoo.models import encode

        quality = int(point)
        if self.option("checkpoint") and quality != 0:
            raise CodecError(f"compressai checkpoint has one operating point (0), not {quality}")
        model = self._model(quality)
        return Bitstream(encode(model, rgb), params={"quality": quality, "arch": model.arch,
                                                     "weights": model.weights, "model_id": model.model_id.hex()})

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        from harness.codecs.compressai_zoo.models import (
            CompressaiError,
            decode,
            read_header,
        )

        try:
            header = read_header(data)
            return decode(self._model(header.quality), data)
        except CompressaiError as exc:
            raise CodecError(str(exc)) from None


def decode_in_fresh_process(bitstream_path: str | Path, output_png: str | Path,
                            checkpoint: str | Path | None = None, timeout: float = 600) -> str:
    """Decode a file with ``python -m harness.codecs.compressai_zoo.decode_cli`` in a new interpreter;
    returns the SHA-256 of the decoded pixels that it prints."""
    cmd = [sys.executable, "-m", "harness.codecs.compressai_zoo.decode_cli", str(bitstream_path), str(output_png)]
    if checkpoint:
        cmd += ["--checkpoint", str(checkpoint)]
    done = run_program(cmd, "compressai decoder process", timeout=timeout, error=CodecError)
    return done.stdout.decode("utf-8", "replace").strip().splitlines()[-1]
