"""Loading any input image into the one canonical form the harness compares: 8-bit RGB, HxWx3 uint8.

Input policy (applied on purpose, and recorded in :attr:`SourceImage.notes`):

- formats: PNG, JPEG, TIFF, PPM/PGM/PBM, BMP and WebP (anything else Pillow identifies is read too);
  the first frame of a multi-frame file is used;
- pixels are taken as stored: EXIF orientation and ICC profiles are ignored (codecs code stored pixels);
- grayscale (1-, 8-, 16-bit): replicated to R = G = B;
- alpha (RGBA, LA, palette transparency): dropped; the colour channels are kept as stored, not composited,
  because the codecs compared here code colour only;
- 16-bit per channel (PNG, TIFF, PGM/PPM): reduced to 8 bits with round(x / 257), the exact inverse of
  8-to-16-bit expansion (x * 257), never a truncating shift;
- palette: expanded to RGB; CMYK: converted by Pillow's naive CMYK->RGB (no colour management);
- floating-point samples are refused (no agreed mapping to 8 bits);
- any size is accepted, including odd and 1x1: codecs that need even or minimum sizes pad by edge
  replication and the harness crops back, with bpp on the original pixel count; pictures over Pillow's
  89.5 MP limit are refused unless the limit is raised (``HARNESS_MAX_MEGAPIXELS``);
- a PNG whose chunk CRC does not match (a flipped bit anywhere, image data included) is refused: a
  failed row naming the chunk, never pixels decoded from damaged data.

Anything unreadable (empty, truncated, not an image, a bad checksum) raises :class:`ImageError` whose message is one
line naming the file.
"""

from __future__ import annotations

import functools
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness.core.errors import one_line
from harness.core.hashing import sha256_bytes

SUPPORTED_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".bmp", ".webp")


class ImageError(ValueError):
    """An input image cannot be used; str() is one line that names the file."""


@dataclass(frozen=True)
class SourceImage:
    """An original image of a dataset, identified by the hash of its file's bytes."""

    name: str
    path: Path
    sha256: str
    pixels: np.ndarray = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def num_pixels(self) -> int:
        return self.height * self.width


def load_image(path: str | Path, name: str | None = None) -> SourceImage:
    """Read ``path`` into a :class:`SourceImage` following the module's input policy."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    pixels, notes = decode_image_bytes(data, path)
    return SourceImage(name=name or path.stem, path=path, sha256=sha256_bytes(data), pixels=pixels, notes=notes)


def decode_image_bytes(data: bytes, path: str | Path = "<bytes>") -> tuple[np.ndarray, tuple[str, ...]]:
    """Decode an encoded image file's bytes to canonical RGB, with the policy notes that applied."""
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes)")
    notes: list[str] = []
    bad_chunk = _png_bad_chunk(data)
    if bad_chunk:
        raise ImageError(f"{path}: {bad_chunk}")
    try:
        image = _open_within_limit(data, path)
        frames = getattr(image, "n_frames", 1)  # only multi-frame formats have it
        if frames > 1:
            notes.append(f"first of {frames} frames")
        image.load()
    except UnidentifiedImageError:
        raise ImageError(f"{path}: {_unrecognised(data)}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: truncated or corrupt image data ({one_line(exc)})") from None

    if _png_bit_depth(data) == 16 or image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I") or (
        image.format == "TIFF" and _tiff_is_16bit(image)
    ):
        pixels = _read_16bit(data, path, image)
        notes.append("16-bit reduced to 8 bits with round(x/257)")
    elif image.mode == "F":
        raise ImageError(f"{path}: floating-point samples are not supported")
    else:
        pixels = _to_rgb8(image, notes)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
        notes.append("grayscale replicated to RGB")
    if pixels.shape[2] == 4:
        pixels = pixels[..., :3]
        notes.append("alpha dropped")
    elif pixels.shape[2] == 2:
        pixels = np.repeat(pixels[..., :1], 3, axis=2)
        notes.append("grayscale replicated to RGB; alpha dropped")
    return np.ascontiguousarray(pixels, dtype=np.uint8), tuple(notes)


MAX_MEGAPIXELS_ENV = "HARNESS_MAX_MEGAPIXELS"


def max_pixels() -> int:
    """The largest picture read: Pillow's decompression-bomb limit (89.5 MP), or ``$HARNESS_MAX_MEGAPIXELS``
    (which ``harness run --max-megapixels`` sets for its workers)."""
    value = os.environ.get(MAX_MEGAPIXELS_ENV)
    if value:
        try:
            return int(float(value) * 1e6)
        except ValueError:
            raise ImageError(f"{MAX_MEGAPIXELS_ENV}={value!r} is not a number of megapixels") from None
    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def _open_within_limit(data: bytes, path: str | Path) -> Image.Image:
    """Pillow's image of ``data``, refused with one line saying how to raise the limit when it has more
    pixels than :func:`max_pixels` (Pillow would call it a decompression bomb, or warn, by its own limit)."""
    limit, saved = max_pixels(), Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the limit is checked here, with a message that says what to do
    try:
        image = Image.open(io.BytesIO(data))
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    pixels = image.width * image.height
    if pixels > limit:
        raise ImageError(f"{path}: {image.width}x{image.height} is larger than the {_mp(limit)} MP limit "
                         f"({_mp(pixels)} MP): raise it with {MAX_MEGAPIXELS_ENV}={_mp(pixels * 1.01)} "
                         "(or harness run --max-megapixels)")
    return image


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.1f}" if pixels >= 1e6 else f"{pixels / 1e6:.2g}"


def _png_bad_chunk(data: bytes) -> str | None:
    """The first chunk of a PNG file whose CRC does not match its content (Pillow checks the header's only:
    a flipped bit in the image data decodes to wrong pixels without a word), or None."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    offset = 8
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        end = offset + 8 + length
        if end + 4 > len(data):
            return None  # truncated: Pillow's error says so
        kind = data[offset + 4:offset + 8]
        if zlib.crc32(data[offset + 4:end]) != int.from_bytes(data[end:end + 4], "big"):
            name = kind.decode("latin-1") if kind.isalpha() else kind.hex()
            return f"PNG chunk {name} at byte {offset} fails its CRC check (corrupt file)"
        if kind == b"IEND":
            return None
        offset = end + 4
    return None


def _to_rgb8(image: Image.Image, notes: list[str]) -> np.ndarray:
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image)
    if mode in ("L", "1"):
        return np.asarray(image.convert("L"))
    if mode in ("LA", "La"):
        return np.asarray(image.convert("LA"))
    if mode in ("RGBA", "RGBa", "RGBX"):
        return np.asarray(image.convert("RGBA"))
    if mode in ("P", "PA"):
        has_alpha = "transparency" in image.info or mode == "PA"
        notes.append("palette expanded")
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    if mode == "CMYK":
        notes.append("CMYK converted to RGB without colour management")
        return np.asarray(image.convert("RGB"))
    if mode in ("YCbCr", "LAB", "HSV"):
        notes.append(f"{mode} converted to RGB")
        return np.asarray(image.convert("RGB"))
    raise ImageError(f"{getattr(image, 'filename', '<image>')}: unsupported pixel mode {mode!r}")


_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
               (b"MM\x00*", "TIFF"), (b"RIFF", "RIFF/WebP"))


def _unrecognised(data: bytes) -> str:
    """Why Pillow could not identify ``data``, without quoting the file's content (it may not be an image
    at all, and error rows end up in shared tables)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 33 or data[12:16] != b"IHDR":
            return "PNG file without a valid IHDR chunk (truncated or corrupt header)"
        if zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
            return "PNG file whose IHDR chunk is corrupt (CRC mismatch)"
        return "PNG file that cannot be decoded (corrupt header)"
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return f"{kind} file that cannot be decoded (corrupt header)"
    return f"not a recognised image file ({len(data)} bytes, no known image signature)"


def _png_bit_depth(data: bytes) -> int | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 25 and data[12:16] == b"IHDR":
        return data[24]
    return None


def _tiff_is_16bit(image: Image.Image) -> bool:
    bits = image.tag_v2.get(258) if hasattr(image, "tag_v2") else None
    if isinstance(bits, tuple):
        bits = bits[0]
    return bits == 16


def _read_16bit(data: bytes, path: str | Path, image: Image.Image) -> np.ndarray:
    """16-bit data via imagecodecs, which keeps all 16 bits (Pillow truncates them in convert())."""
    import imagecodecs

    try:
        if image.format == "PNG":
            array = imagecodecs.png_decode(data)
        elif image.format == "TIFF":
            array = imagecodecs.tiff_decode(data)
        else:  # PGM/PPM with maxval > 255 and other 16-bit gray Pillow reads as mode I
            array = np.asarray(image)
    except Exception as exc:  # noqa: BLE001 - imagecodecs raises its own error classes per codec
        raise ImageError(f"{path}: truncated or corrupt 16-bit image data ({one_line(exc)})") from None
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] == 1 and image.format == "TIFF":
        array = array[0]
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "f":
        raise ImageError(f"{path}: floating-point samples are not supported")
    # Pillow mode I for a PGM/PPM with maxval M: scale to 16 bits first if the maxval is not 65535.
    maxval = int(image.info.get("maxval", 65535)) if image.format in ("PPM",) else 65535
    wide = array.astype(np.float64) * (65535.0 / maxval) if maxval != 65535 else array.astype(np.float64)
    return np.clip(np.floor(wide / 257.0 + 0.5), 0, 255).astype(np.uint8)


def encode_png(rgb: np.ndarray, compress_level: int = 1) -> bytes:
    """Bare PNG bytes (no gAMA/cHRM/ICC chunks: some encoders change colour spaces when they see them)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def save_png(rgb: np.ndarray, path: str | Path) -> None:
    Path(path).write_bytes(encode_png(rgb, compress_level=6))


@functools.lru_cache(maxsize=8)
def cached_load(path: str, name: str | None = None) -> SourceImage:
    """Per-process cache, so a worker decodes each original once for all its jobs."""
    return load_image(path, name)
