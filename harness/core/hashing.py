"""The one sha256 of the project: of bytes and of files (read in chunks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_pixels(pixels: np.ndarray) -> str:
    """SHA-256 of an image's samples (C order) and its shape: what a decoder run in another process prints,
    to show it decodes bit-exactly."""
    return sha256_bytes(np.ascontiguousarray(pixels).tobytes() + str(pixels.shape).encode())


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
