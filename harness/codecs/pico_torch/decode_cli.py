"""Decode a pico-torch bitstream file to PNG in its own process (unofficial PICO re-implementation).

    python -m harness.codecs.pico_torch.decode_cli IN.ptch OUT.png [--checkpoint PATH]

Prints the SHA-256 of the decoded pixels; exits 1 with a one-line message on a bad file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from harness.codecs.learned import decode_cli


def _decode(data: bytes, checkpoint: str | None) -> np.ndarray:
    from harness.codecs.pico_torch.coder import DEFAULT_CHECKPOINT, load_coder

    return load_coder(str(Path(checkpoint or DEFAULT_CHECKPOINT).resolve())).decode(data)


def _errors() -> tuple[type[BaseException], ...]:
    from harness.codecs.pico_torch.bitstream import BitstreamError
    from harness.codecs.pico_torch.checkpoint import CheckpointError
    from harness.codecs.pico_torch.coder import PicoError

    return (BitstreamError, PicoError, CheckpointError)


def main(argv: list[str] | None = None) -> int:
    return decode_cli("python -m harness.codecs.pico_torch.decode_cli", _decode, _errors, argv)


if __name__ == "__main__":
    sys.exit(main())
