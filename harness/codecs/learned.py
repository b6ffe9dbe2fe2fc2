"""What the learned codecs (compressai, pico-torch) share: coding on one torch thread, reading a torch file
with one-line errors, and the fresh-process decoder: ``python -m <codec>.decode_cli IN OUT.png
[--checkpoint PATH]`` decodes a file in a new interpreter (nothing cached from the encoder), writes the PNG
and prints the SHA-256 of the decoded pixels; a bad file or a missing model exits 1 with one line.
torch is imported only inside the functions, so listing codecs stays fast."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import one_line
from harness.core.hashing import sha256_pixels


@contextlib.contextmanager
def one_thread_inference() -> Iterator[None]:
    """torch on one thread, in inference mode: the entropy coder's probabilities come from float network
    outputs, and the encoder and the decoder must compute them bit for bit alike, whatever the machine's
    core count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(previous)


def read_torch_file(path: Path, error: type[Exception], what: str) -> tuple[Any, bytes]:
    """The payload of a torch file (``weights_only``, on the CPU) and its raw bytes, or ``error`` with one
    line naming the file: "PATH: cannot read ..." or "PATH: not a WHAT (...)"."""
    import torch

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several unrelated types for a bad file
        raise error(f"{path}: not a {what} ({one_line(exc, limit=120)})") from None
    return payload, raw


def short_digest(raw: bytes) -> bytes:
    """The 8-byte model id written into bitstreams: the first bytes of the file's SHA-256."""
    return hashlib.sha256(raw).digest()[:8]


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
