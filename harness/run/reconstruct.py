"""The reconstruction of a row, from what the run kept: the one way to get a row's decoded pixels.

Used by the metric completion of runs (``harness metrics RUN --add``, a re-run with more ``--metrics``,
``--retry-failed``), by the viewer and by pairwise studies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.hashing import sha256_bytes
from harness.run.rows import Row


class ReconstructionError(RuntimeError):
    """A row's reconstruction cannot be had; str() is one line saying why and what to do."""


def pixels_sha256(pixels: np.ndarray) -> str:
    """The digest a row records of its decoded pixels (HxWx3 uint8 in C order)."""
    return sha256_bytes(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())


def reconstruction(run_dir: str | Path, row: Row | Mapping[str, Any]) -> np.ndarray:
    """The decoded image of one row of the run in ``run_dir``, as HxWx3 RGB uint8 at the original's size.

    ``row`` is a :class:`~harness.run.rows.Row` or a row of the results table (``df.iloc[i]``, a dict).
    The pixels come from, in this order: the kept reconstruction PNG (``--keep-reconstructions``); the
    kept bitstream (``bitstreams/<sha256>.<ext>``, the default), decoded again by the row's codec; the
    published reconstruction file the row was measured on (``rate_source == "published"``). When the row
    recorded the digest of its decoded pixels, the result is checked against it, so the pixels returned
    are exactly those the row's metrics were computed on.

    Raises :class:`ReconstructionError` (one line) when the codec failed on this row, when the run kept
    neither bitstream nor reconstruction (``--no-keep-bitstreams``), or when a decode differs from the
    one measured (another decoder version).
    """
    if not isinstance(row, Row):
        row = Row.from_mapping(row)
    run_dir = Path(run_dir)
    what = f"{row.codec} {row.image} {row.point if row.point is not None else ''}".strip()
    if not row.ok:
        raise ReconstructionError(f"{what}: the codec failed on this row ({row.error}); there is no reconstruction")
    pixels = _read_kept(run_dir, row, what)
    if row.width is not None and row.height is not None and pixels.shape != (row.height, row.width, 3):
        raise ReconstructionError(f"{what}: the reconstruction is {pixels.shape[1]}x{pixels.shape[0]}, "
                                  f"the row says {row.width}x{row.height}")
    if row.reconstruction_sha256 and pixels_sha256(pixels) != row.reconstruction_sha256:
        raise ReconstructionError(f"{what}: decoding again gives other pixels than the ones measured "
                                  f"(codec now {_version(row)}, row made with {row.codec_version}); "
                                  "run with the codec version the row records")
    return pixels


def _version(row: Row) -> str:
    from harness.codecs import get_codec

    try:
        return get_codec(row.codec).version()
    except Exception:  # noqa: BLE001 - only for the message
        return "unknown"


def _read_kept(run_dir: Path, row: Row, what: str) -> np.ndarray:
    from harness.core.images import ImageError, load_image

    if row.reconstruction and (run_dir / row.reconstruction).is_file():
        try:
            return load_image(run_dir / row.reconstruction).pixels
        except ImageError as exc:
            raise ReconstructionError(f"{what}: kept reconstruction: {exc}") from None
    if row.bitstream:
        path = run_dir / row.bitstream
        if not path.is_file():
            raise ReconstructionError(f"{what}: kept bitstream {path} is missing; run with --retry-failed after "
                                      "deleting this row, or restore the file")
        data = path.read_bytes()
        if row.bitstream_sha256 and sha256_bytes(data) != row.bitstream_sha256:
            raise ReconstructionError(f"{what}: kept bitstream {path} does not match the sha256 in the row")
        return _decode(row, data, what)
    if row.rate_source == "published":
        params = json.loads(row.params or "{}")
        source = params.get("source_file")
        if not source or not Path(source).is_file():
            raise ReconstructionError(f"{what}: the published reconstruction {source} is no longer there; "
                                      "point HARNESS_PICO_DIR/HARNESS_PUBLISHED_DIRS at it again")
        try:
            published = load_image(source)
        except ImageError as exc:
            raise ReconstructionError(f"{what}: {exc}") from None
        if params.get("source_sha256") and published.sha256 != params["source_sha256"]:
            raise ReconstructionError(f"{what}: the published reconstruction {source} changed since it was measured")
        return published.pixels
    raise ReconstructionError(f"{what}: the run kept neither its bitstream nor its reconstruction (made with "
                              "--no-keep-bitstreams); re-encode with --retry-failed after deleting the run, or "
                              "run again without --no-keep-bitstreams")


def _decode(row: Row, data: bytes, what: str) -> np.ndarray:
    from harness.codecs import CodecError, codec_of, get_codec

    if row.width is None or row.height is None:
        raise ReconstructionError(f"{what}: the row has no picture size")
    coded = (row.padded_height or row.height, row.padded_width or row.width)
    try:
        identity = row.identity
        codec = codec_of(identity) if identity is not None else get_codec(row.codec)
        if not codec.keeps_bitstream:
            raise ReconstructionError(f"{what}: {row.codec} has no decoder (its reconstructions are files)")
        decoded = codec.decode(data, (int(coded[0]), int(coded[1])))
    except CodecError as exc:
        raise ReconstructionError(f"{what}: decoding the kept bitstream failed: {exc}") from None
    return np.ascontiguousarray(decoded[: row.height, : row.width])
