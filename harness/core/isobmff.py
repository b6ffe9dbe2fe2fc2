"""ISOBMFF (HEIF/AVIF) box sizes: how much of a file is coded payload (``mdat``) and how much container."""

from __future__ import annotations

import struct


def isobmff_boxes(data: bytes) -> list[tuple[str, int, int]]:
    """Top-level boxes of an ISOBMFF file as (type, header size, total size); raises ValueError on a
    malformed file."""
    boxes = []
    pos = 0
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError(f"truncated box header at byte {pos}")
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                raise ValueError(f"truncated large box header at byte {pos}")
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - pos
        if size < header or pos + size > len(data):
            raise ValueError(f"box {kind!r} at byte {pos} has impossible size {size}")
        boxes.append((kind.decode("latin-1"), header, size))
        pos += size
    return boxes


def mdat_payload_bytes(data: bytes) -> int:
    """Bytes inside the ``mdat`` boxes: the coded image data, without the container's metadata."""
    boxes = isobmff_boxes(data)
    mdat = [size - header for kind, header, size in boxes if kind == "mdat"]
    if not mdat:
        raise ValueError("no mdat box")
    return sum(mdat)
