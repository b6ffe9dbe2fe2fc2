"""The file the ``compressai`` codec writes around CompressAI's own entropy-coded strings (version 1).

All integers big-endian::

    offset size  field
    0      4     magic b"HCAI"
    4      1     format version (1)
    5      1     weights: 0 = zoo, trained for MSE; 1 = zoo, trained for MS-SSIM; 2 = a user's checkpoint
    6      1     quality (1..8 for zoo models, 0 for a checkpoint)
    7      8     model id (first 8 bytes of the SHA-256 of the weight file)
    15     4     width in pixels (before padding)
    19     4     height in pixels (before padding)
    23     1     length n of the architecture name, then n bytes of it (ASCII)
    ...    2+2   latent shape that CompressAI's decompress() needs (rows, columns)
    ...    1     number of string groups g (e.g. y and z), then per group: 1 byte count k, then k times
                 4-byte length + bytes
    end-4  4     CRC-32 of everything before it

The CRC turns a corrupted or truncated file into a clear error instead of a wrong image.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"HCAI"
VERSION = 1
_FIXED = struct.Struct(">4sBBB8sII")
WEIGHTS = ("mse", "ms-ssim", "checkpoint")  # code -> metric a zoo model was trained for, or "checkpoint"


class ContainerError(ValueError):
    """A compressai container is malformed; str() is one line saying what is wrong."""


@dataclass(frozen=True)
class Container:
    arch: str
    weights: str  # one of WEIGHTS
    quality: int
    model_id: bytes
    width: int
    height: int
    shape: tuple[int, int]
    strings: list[list[bytes]]


def pack(c: Container) -> bytes:
    arch = c.arch.encode("ascii")
    parts = [_FIXED.pack(MAGIC, VERSION, WEIGHTS.index(c.weights), c.quality, c.model_id, c.width, c.height),
             struct.pack(">B", len(arch)), arch, struct.pack(">HHB", *c.shape, len(c.strings))]
    for group in c.strings:
        parts.append(struct.pack(">B", len(group)))
        for s in group:
            parts += [struct.pack(">I", len(s)), s]
    body = b"".join(parts)
    return body + struct.pack(">I", zlib.crc32(body))


def unpack(data: bytes) -> Container:
    if len(data) < _FIXED.size + 4 or data[:4] != MAGIC:
        raise ContainerError("not a compressai file (no HCAI magic)" if data[:4] != MAGIC
                             else f"truncated compressai file ({len(data)} bytes)")
    body, (crc,) = data[:-4], struct.unpack(">I", data[-4:])
    if zlib.crc32(body) != crc:
        raise ContainerError("compressai file is corrupt or truncated (CRC mismatch)")
    _, version, weights, quality, model_id, width, height = _FIXED.unpack_from(body)
    if version != VERSION:
        raise ContainerError(f"compressai file format version {version} is not {VERSION}")
    if weights >= len(WEIGHTS):
        raise ContainerError(f"compressai file names unknown weights kind {weights}")
    try:
        pos = _FIXED.size
        (n,) = struct.unpack_from(">B", body, pos)
        arch = body[pos + 1:pos + 1 + n].decode("ascii")
        pos += 1 + n
        rows, cols, groups = struct.unpack_from(">HHB", body, pos)
        pos += 5
        strings = []
        for _ in range(groups):
            (k,) = struct.unpack_from(">B", body, pos)
            pos += 1
            group = []
            for _ in range(k):
                (length,) = struct.unpack_from(">I", body, pos)
                group.append(body[pos + 4:pos + 4 + length])
                pos += 4 + length
            strings.append(group)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ContainerError(f"compressai file is malformed ({exc})") from None
    if pos != len(body):
        raise ContainerError(f"compressai file has {len(body) - pos} unexpected trailing bytes")
    return Container(arch, WEIGHTS[weights], quality, model_id, width, height, (rows, cols), strings)
