"""Decode a pico-torch bitstream file to PNG in its own process (unofficial PICO re-implementation).

    python -m harness.codecs.pico_torch.decode_cli IN.ptch OUT.png [--checkpoint PATH]

Prints the SHA-256 of the decoded pixels; exits 1 with a one-line message on a bad file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.codecs.pico_torch.decode_cli")
    parser.add_argument("bitstream")
    parser.add_argument("output")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)

    from harness.codecs.pico_torch.bitstream import BitstreamError
    from harness.codecs.pico_torch.checkpoint import CheckpointError
    from harness.codecs.pico_torch.coder import (
        DEFAULT_CHECKPOINT,
        PicoError,
        image_hash,
        load_coder,
    )
    from harness.core.images import save_png

    path = Path(args.bitstream)
    try:
        data = path.read_bytes()
        rgb = load_coder(str(Path(args.checkpoint or DEFAULT_CHECKPOINT).resolve())).decode(data)
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return 1
    except (BitstreamError, PicoError, CheckpointError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    save_png(rgb, args.output)
    print(image_hash(rgb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
