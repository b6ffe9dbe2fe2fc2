"""The pico-torch file format (version 1). Unofficial: the PICO paper does not publish its bitstream.

All integers big-endian::

    offset size  field
    0      4     magic b"PTCH"
    4      1     format version (1)
    5      1     flags: bit 0 = tiled
    6      4     width in pixels
    10     4     height in pixels
    14     1     quality level
    15     2     tile core size (504 when tiled; 0 = whole image is one tile)
    17     1     tile margin (4 when tiled, else 0)
    18     2     tiles across
    20     2     tiles down
    22     8     model id (first 8 bytes of the checkpoint file's SHA-256)
    30     4     CRC-32 of bytes 0..29
    34     ...   per tile, row-major: 4-byte payload length n (a multiple of 4), then n bytes of range-coder
                 words (little-endian uint32, constriction's RangeEncoder): z symbols then y symbols
    end-4  4     CRC-32 of all tile records

The CRCs turn corrupted or truncated files into clear errors instead of silently wrong images.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"PTCH"
VERSION = 1
_HEADER = struct.Struct(">4sBBIIBHBHH8s")
HEADER_BYTES = _HEADER.size + 4


class BitstreamError(ValueError):
    """A pico-torch bitstream is malformed; str() is one line saying what is wrong."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    level: int
    tile_core: int
    tile_margin: int
    tiles_x: int
    tiles_y: int
    model_id: bytes
    version: int = VERSION

    @property
    def tiled(self) -> bool:
        return self.tile_core > 0


def pack(header: Header, tiles: list[bytes]) -> bytes:
    if len(tiles) != header.tiles_x * header.tiles_y:
        raise BitstreamError(f"{len(tiles)} tile payloads for a {header.tiles_x}x{header.tiles_y} grid")
    head = _HEADER.pack(MAGIC, header.version, 1 if header.tiled else 0, header.width, header.height,
                        header.level, header.tile_core, header.tile_margin, header.tiles_x, header.tiles_y,
                        header.model_id)
    body = b"".join(struct.pack(">I", len(t)) + t for t in tiles)
    return head + struct.pack(">I", zlib.crc32(head)) + body + struct.pack(">I", zlib.crc32(body))


def read_header(data: bytes) -> Header:
    if len(data) < HEADER_BYTES:
        raise BitstreamError(f"pico-torch bitstream truncated: {len(data)} bytes, the header alone is "
                             f"{HEADER_BYTES}")
    fields = _HEADER.unpack_from(data)
    magic, version, _flags, width, height, level, core, margin, tx, ty, model_id = fields
    if magic != MAGIC:
        raise BitstreamError(f"not a pico-torch bitstream (magic {magic!r}, expected {MAGIC!r})")
    (crc,) = struct.unpack_from(">I", data, _HEADER.size)
    if zlib.crc32(data[:_HEADER.size]) != crc:
        raise BitstreamError("pico-torch bitstream header is corrupt (CRC mismatch)")
    if version != VERSION:
        raise BitstreamError(f"pico-torch bitstream version {version} is not supported (this decoder "
                             f"reads version {VERSION})")
    if width == 0 or height == 0 or tx == 0 or ty == 0:
        raise BitstreamError(f"pico-torch bitstream header has an empty size {width}x{height} or grid {tx}x{ty}")
    return Header(width, height, level, core, margin, tx, ty, model_id, version)


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    header = read_header(data)
    pos = HEADER_BYTES
    end = len(data) - 4
    tiles = []
    for i in range(header.tiles_x * header.tiles_y):
        if pos + 4 > end:
            raise BitstreamError(f"pico-torch bitstream truncated: tile {i} of "
                                 f"{header.tiles_x * header.tiles_y} is missing ({len(data)} bytes in all)")
        (n,) = struct.unpack_from(">I", data, pos)
        if n % 4 or pos + 4 + n > end:
            raise BitstreamError(f"pico-torch bitstream truncated or corrupt: tile {i} claims {n} bytes, "
                                 f"{max(0, end - pos - 4)} remain")
        tiles.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    if pos != end:
        raise BitstreamError(f"pico-torch bitstream has {end - pos} unexpected bytes after the last tile")
    (crc,) = struct.unpack_from(">I", data, end)
    if zlib.crc32(data[HEADER_BYTES:end]) != crc:
        raise BitstreamError("pico-torch bitstream payload is corrupt (CRC mismatch)")
    return header, tiles
