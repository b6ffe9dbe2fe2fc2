"""Decode a ``compressai`` codec file to PNG in its own process.

    python -m harness.codecs.compressai_zoo.decode_cli IN.hcai OUT.png [--checkpoint PATH]

Zoo files name their model; files written by a checkpoint need it. Prints the SHA-256 of the decoded
pixels; exits 1 with a one-line message on a bad file or a missing model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.codecs.compressai_zoo.decode_cli")
    parser.add_argument("bitstream")
    parser.add_argument("output")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)

    from harness.codecs.compressai_zoo.models import (
        CompressaiError,
        decode,
        image_hash,
        model_for,
        read_header,
    )
    from harness.core.images import save_png

    path = Path(args.bitstream)
    try:
        data = path.read_bytes()
        rgb = decode(model_for(read_header(data), args.checkpoint), data)
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return 1
    except CompressaiError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    save_png(rgb, args.output)
    print(image_hash(rgb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
