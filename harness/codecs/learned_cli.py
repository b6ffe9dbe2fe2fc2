"""The fresh-process decoder shared by the learned codecs: ``python -m <codec>.decode_cli IN OUT.png
[--checkpoint PATH]`` decodes a file in a new interpreter (nothing cached from the encoder), writes the PNG
and prints the SHA-256 of the decoded pixels; a bad file or a missing model exits 1 with one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from harness.core.hashing import sha256_pixels


def decode_cli(prog: str, decode: Callable[[bytes, str | None], np.ndarray],
               errors: Callable[[], tuple[type[BaseException], ...]], argv: Sequence[str] | None = None) -> int:
    """Run the decoder command line. ``decode(data, checkpoint)`` gives the pixels; ``errors()`` names the
    exception types that mean a bad file or model (a callable, so torch loads only when decoding)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("bitstream")
    parser.add_argument("output")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)

    from harness.core.images import save_png

    path = Path(args.bitstream)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return 1
    try:
        rgb = decode(data, args.checkpoint)
    except errors() as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    save_png(rgb, args.output)
    print(sha256_pixels(rgb))
    return 0
