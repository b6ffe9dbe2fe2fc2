"""Decode a ``compressai`` codec file to PNG in its own process.

    python -m harness.codecs.compressai_zoo.decode_cli IN.hcai OUT.png [--checkpoint PATH]

Zoo files name their model; files written by a checkpoint need it. Prints the SHA-256 of the decoded
pixels; exits 1 with a one-line message on a bad file or a missing model.
"""

from __future__ import annotations

import sys

import numpy as np

from harness.codecs.learned import decode_cli


def _decode(data: bytes, checkpoint: str | None) -> np.ndarray:
    from harness.codecs.compressai_zoo.models import decode, model_for, read_header

    return decode(model_for(read_header(data), checkpoint), data)


def _errors() -> tuple[type[BaseException], ...]:
    from harness.codecs.compressai_zoo.models import CompressaiError

    return (CompressaiError,)


def main(argv: list[str] | None = None) -> int:
    return decode_cli("python -m harness.codecs.compressai_zoo.decode_cli", _decode, _errors, argv)


if __name__ == "__main__":
    sys.exit(main())
