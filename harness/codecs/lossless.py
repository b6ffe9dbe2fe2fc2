"""Lossless modes, one encoder/decoder pair per codec and effort, for ``harness run --lossless``.

Each mode turns 8-bit RGB into bytes and back; the sweep (:mod:`harness.run.lossless`) checks the decoded pixels
are the original's, bit for bit. Modes: JPEG XL (libjxl through imagecodecs, modular lossless, efforts 1, 3, 7, 9),
WebP lossless (libwebp through Pillow, methods 0, 4, 6), AVIF lossless (``avifenc --lossless``: AV1 4:4:4 with
the identity matrix, speeds 10 and 6), HEVC lossless (x265 through the static ffmpeg, RGB coded as GBR planes,
``lossless=1``, presets ultrafast and medium), JPEG 2000 reversible (OpenJPEG through Pillow: 5/3 wavelet and the
reversible colour transform) and PNG (zlib through Pillow, then the oxipng optimiser at levels 2 and 6). VVC has no
mode here: the ffmpeg's VVenC codes 10-bit 4:2:0 only, and VTM is not built on this machine.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.codecs.base import CodecError
from harness.core.process import ffmpeg_exe, run_program, scaled_timeout


@dataclass(frozen=True)
class LosslessMode:
    codec: str
    effort: str  # the codec's own effort setting, as a label ("e7", "m6", "s10", "medium", "o6", "")
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes, int, int], np.ndarray]


def _pillow_decode(data: bytes, height: int, width: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _pillow_encode(fmt: str, **options: object) -> Callable[[np.ndarray], bytes]:
    def encode(rgb: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format=fmt, **options)
        return buffer.getvalue()

    return encode


def _jxl(effort: int) -> LosslessMode:
    def encode(rgb: np.ndarray) -> bytes:
        import imagecodecs

        return bytes(imagecodecs.jpegxl_encode(rgb, lossless=True, effort=effort))

    def decode(data: bytes, height: int, width: int) -> np.ndarray:
        import imagecodecs

        return np.asarray(imagecodecs.jpegxl_decode(data))

    return LosslessMode("jxl", f"e{effort}", encode, decode)


def _png(level: int) -> LosslessMode:
    def encode(rgb: np.ndarray) -> bytes:
        import oxipng

        return bytes(oxipng.optimize_from_memory(_pillow_encode("PNG")(rgb), level=level))

    return LosslessMode("png-oxipng", f"o{level}", encode, _pillow_decode)


def _with_files(rgb_or_data: bytes, suffix: str, command: Callable[[Path, Path], list[str]], out_suffix: str,
                what: str, pixels: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="harness-lossless-") as folder:
        source, target = Path(folder) / f"in{suffix}", Path(folder) / f"out{out_suffix}"
        source.write_bytes(rgb_or_data)
        run_program(command(source, target), what, timeout=scaled_timeout(pixels, 600), error=CodecError)
        return target.read_bytes()


def _avif(speed: int) -> LosslessMode:
    def encode(rgb: np.ndarray) -> bytes:
        return _with_files(_pillow_encode("PNG", compress_level=1)(rgb), ".png",
                           lambda src, dst: ["avifenc", "--lossless", "-s", str(speed), "-j", "1", str(src), str(dst)],
                           ".avif", "avifenc --lossless", rgb.shape[0] * rgb.shape[1])

    def decode(data: bytes, height: int, width: int) -> np.ndarray:
        png = _with_files(data, ".avif", lambda src, dst: ["avifdec", "-j", "1", "-d", "8", str(src), str(dst)],
                          ".png", "avifdec", height * width)
        return _pillow_decode(png, height, width)

    return LosslessMode("avif", f"s{speed}", encode, decode)


def _hevc(preset: str) -> LosslessMode:
    def encode(rgb: np.ndarray) -> bytes:
        height, width = rgb.shape[:2]
        return _with_files(np.ascontiguousarray(rgb).tobytes(), ".rgb", lambda src, dst: [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-i", str(src), "-c:v", "libx265", "-preset", preset, "-pix_fmt", "gbrp",
            "-x265-params", "lossless=1:log-level=error:frame-threads=1:pools=1", "-frames:v", "1", "-f", "hevc",
            str(dst)], ".hevc", "ffmpeg libx265 lossless", height * width)

    def decode(data: bytes, height: int, width: int) -> np.ndarray:
        raw = _with_files(data, ".hevc", lambda src, dst: [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "hevc", "-i", str(src),
            "-f", "rawvideo", "-pix_fmt", "rgb24", str(dst)], ".rgb", "ffmpeg hevc decode", height * width)
        if len(raw) != height * width * 3:
            raise CodecError(f"hevc decode: {len(raw)} bytes for a {width}x{height} RGB picture")
        return np.frombuffer(raw, np.uint8).reshape(height, width, 3)

    return LosslessMode("hevc", preset, encode, decode)


def lossless_modes() -> list[LosslessMode]:
    """Every mode, in the order of the report (codec, then effort from fast to slow)."""
    return [
        *(_jxl(effort) for effort in (1, 3, 7, 9)),
        *(LosslessMode("webp", f"m{method}", _pillow_encode("WEBP", lossless=True, method=method, quality=quality,
                                                             exact=True), _pillow_decode)
          for method, quality in ((0, 0), (4, 75), (6, 100))),
        *(_avif(speed) for speed in (10, 6)),
        *(_hevc(preset) for preset in ("ultrafast", "medium")),
        LosslessMode("jpeg2000", "reversible", _pillow_encode("JPEG2000", irreversible=False), _pillow_decode),
        *(_png(level) for level in (2, 6)),
    ]
