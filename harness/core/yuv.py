"""Raw planar Y'CbCr files, the exchange format of the reference encoders (VTM, ECM, AVM, ffmpeg rawvideo).

A file holds one picture: the Y plane, then Cb, then Cr, row by row; 8-bit samples are bytes, deeper
samples are little-endian 16-bit words (the layout of VTM/HM ``.yuv`` files and ffmpeg's ``yuv4xxp10le``).

RGB <-> Y'CbCr goes through :mod:`harness.core.colour` (float64 until one final rounding), so a round trip
without a codec loses only the rounding of the chosen bit depth: at 10 bits it is exact for 4:4:4, full or
limited range (the largest RGB error before rounding, ~0.41 LSB, stays under half a step).

4:2:0 chroma is sited as in MPEG-2/H.264/HEVC/VVC's default (``chroma_sample_loc_type`` 0, ffmpeg
``left``): horizontally on the even luma columns, vertically between two luma rows. Downsampling uses the
[1 2 1]/4 filter horizontally and the two-row mean vertically; upsampling is the matching linear
interpolation. Planes of odd size round up (``ceil(w / 2)``) and edges replicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.core.colour import (
    dequantize_plane,
    quantize_plane,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)

SUBSAMPLINGS = ("444", "420")


class YuvError(ValueError):
    """A raw YUV file does not match the layout it is read with; str() is one line naming the file."""


@dataclass(frozen=True)
class YuvFormat:
    """The layout and meaning of a raw planar picture."""

    width: int
    height: int
    bit_depth: int = 8
    subsampling: str = "444"
    matrix: str = "bt709"
    full_range: bool = True

    def __post_init__(self) -> None:
        if self.subsampling not in SUBSAMPLINGS:
            raise ValueError(f"unsupported chroma subsampling {self.subsampling!r} (supported: 444, 420)")
        if not 8 <= self.bit_depth <= 16:
            raise ValueError(f"unsupported bit depth {self.bit_depth} (8..16)")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"invalid picture size {self.width}x{self.height}")

    @property
    def chroma_shape(self) -> tuple[int, int]:
        """(height, width) of each chroma plane."""
        if self.subsampling == "420":
            return (self.height + 1) // 2, (self.width + 1) // 2
        return self.height, self.width

    @property
    def bytes_per_sample(self) -> int:
        return 1 if self.bit_depth <= 8 else 2

    @property
    def frame_bytes(self) -> int:
        ch, cw = self.chroma_shape
        return (self.width * self.height + 2 * ch * cw) * self.bytes_per_sample

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8) if self.bit_depth <= 8 else np.dtype("<u2")


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


# --- chroma resampling (float planes) ------------------------------------------------------------------

def downsample_420(plane: np.ndarray) -> np.ndarray:
    """Full-resolution chroma -> 4:2:0 (left-sited: [1 2 1]/4 horizontally, two-row mean vertically)."""
    p = np.asarray(plane, dtype=np.float64)
    h, w = p.shape
    if h % 2:
        p = np.concatenate([p, p[-1:]], axis=0)
    if w % 2:
        p = np.concatenate([p, p[:, -1:]], axis=1)
    rows = 0.5 * (p[0::2] + p[1::2])
    padded = np.concatenate([rows[:, :1], rows, rows[:, -1:]], axis=1)
    centre = padded[:, 1:-1:2]
    left = padded[:, 0:-2:2]
    right = padded[:, 2::2]
    return 0.25 * left + 0.5 * centre + 0.25 * right


def upsample_420(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """4:2:0 chroma -> ``height`` x ``width``: linear interpolation between the left-sited samples."""
    c = np.asarray(plane, dtype=np.float64)
    ch, cw = c.shape
    # Vertical: chroma row i sits between luma rows 2i and 2i+1.
    above = np.concatenate([c[:1], c[:-1]], axis=0)
    below = np.concatenate([c[1:], c[-1:]], axis=0)
    tall = np.empty((2 * ch, cw))
    tall[0::2] = 0.75 * c + 0.25 * above
    tall[1::2] = 0.75 * c + 0.25 * below
    # Horizontal: chroma column j sits on luma column 2j.
    nxt = np.concatenate([tall[:, 1:], tall[:, -1:]], axis=1)
    full = np.empty((2 * ch, 2 * cw))
    full[:, 0::2] = tall
    full[:, 1::2] = 0.5 * (tall + nxt)
    return full[:height, :width]


# --- RGB <-> planes ----------------------------------------------------------------------------------

def rgb_to_planes(rgb: np.ndarray, fmt: YuvFormat) -> Planes:
    """8-bit RGB (HxWx3 uint8) -> integer Y, Cb, Cr planes (uint16 code values) in ``fmt``."""
    rgb = np.asarray(rgb)
    if rgb.shape != (fmt.height, fmt.width, 3):
        raise ValueError(f"image is {rgb.shape}, the YUV format expects {(fmt.height, fmt.width, 3)}")
    ycc = rgb_to_ycbcr(rgb.astype(np.float64) / 255.0, fmt.matrix)
    y, cb, cr = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    if fmt.subsampling == "420":
        cb, cr = downsample_420(cb), downsample_420(cr)
    depth, full = fmt.bit_depth, fmt.full_range
    return (quantize_plane(y, depth, full, chroma=False), quantize_plane(cb, depth, full, chroma=True),
            quantize_plane(cr, depth, full, chroma=True))


def planes_to_rgb(planes: Planes, fmt: YuvFormat) -> np.ndarray:
    """Integer Y, Cb, Cr planes in ``fmt`` -> 8-bit RGB (HxWx3 uint8), clipped and rounded once."""
    depth, full = fmt.bit_depth, fmt.full_range
    y = dequantize_plane(planes[0], depth, full, chroma=False)
    cb = dequantize_plane(planes[1], depth, full, chroma=True)
    cr = dequantize_plane(planes[2], depth, full, chroma=True)
    if fmt.subsampling == "420":
        cb = upsample_420(cb, fmt.height, fmt.width)
        cr = upsample_420(cr, fmt.height, fmt.width)
    rgb = ycbcr_to_rgb(np.stack([y, cb, cr], axis=-1), fmt.matrix)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


# --- files -------------------------------------------------------------------------------------------

def encode_planes(planes: Planes, fmt: YuvFormat) -> bytes:
    """Planes -> the bytes of a raw planar file."""
    shapes = [(fmt.height, fmt.width), fmt.chroma_shape, fmt.chroma_shape]
    peak = (1 << fmt.bit_depth) - 1
    chunks = []
    for plane, shape in zip(planes, shapes):
        plane = np.asarray(plane)
        if plane.shape != shape:
            raise ValueError(f"plane is {plane.shape}, the YUV format expects {shape}")
        if plane.size and int(plane.max()) > peak:
            raise ValueError(f"sample value {int(plane.max())} exceeds {fmt.bit_depth}-bit range")
        chunks.append(np.ascontiguousarray(plane, dtype=fmt.dtype).tobytes())
    return b"".join(chunks)


def decode_planes(data: bytes, fmt: YuvFormat, source: str | Path = "<bytes>") -> Planes:
    """The bytes of a raw planar file -> planes (uint16); the size must be exactly one picture."""
    if len(data) != fmt.frame_bytes:
        frames = len(data) / fmt.frame_bytes
        raise YuvError(
            f"{source}: {len(data)} bytes, but one {fmt.width}x{fmt.height} {fmt.subsampling} "
            f"{fmt.bit_depth}-bit picture is {fmt.frame_bytes} bytes ({frames:.3g} pictures)"
        )
    samples = np.frombuffer(data, dtype=fmt.dtype).astype(np.uint16)
    luma = fmt.width * fmt.height
    ch, cw = fmt.chroma_shape
    y = samples[:luma].reshape(fmt.height, fmt.width)
    cb = samples[luma:luma + ch * cw].reshape(ch, cw)
    cr = samples[luma + ch * cw:].reshape(ch, cw)
    peak = (1 << fmt.bit_depth) - 1
    if fmt.bit_depth > 8 and int(samples.max(initial=0)) > peak:
        raise YuvError(f"{source}: sample value {int(samples.max())} exceeds {fmt.bit_depth}-bit range "
                       "(wrong bit depth or byte order?)")
    return y, cb, cr


def write_yuv(path: str | Path, rgb: np.ndarray, fmt: YuvFormat) -> None:
    """Convert 8-bit RGB and write it as one raw planar picture."""
    Path(path).write_bytes(encode_planes(rgb_to_planes(rgb, fmt), fmt))


def read_yuv(path: str | Path, fmt: YuvFormat) -> np.ndarray:
    """Read one raw planar picture and convert it to 8-bit RGB."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YuvError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return planes_to_rgb(decode_planes(data, fmt, path), fmt)
