"""Shared plumbing for adapters that run external programs: locating tools, running them with timeouts and
one-line errors, and reading ISOBMFF (HEIF/AVIF) box sizes.

Not an adapter module (its name starts with ``_``, so the registry skips it).
"""

from __future__ import annotations

import functools
import io
import shutil
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from harness.codecs.base import CodecError, CodecUnavailable


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The static ffmpeg shipped in the ``imageio-ffmpeg`` wheel (it has libvvenc, libx265, zscale)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise CodecUnavailable("Python package imageio-ffmpeg is not installed") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise CodecUnavailable(f"imageio-ffmpeg has no ffmpeg binary: {exc}") from None


def require_program(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CodecUnavailable(f"program {name!r} not found on PATH (Debian package {package})")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run_tool(args: Sequence[str], what: str, timeout: float, cwd: str | Path | None = None) -> str:
    """Run ``args`` (a list, never a shell string); return stdout+stderr text, or raise :class:`CodecError`
    naming ``what`` with the last line of the tool's stderr."""
    try:
        proc = subprocess.run(list(args), cwd=cwd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired:
        raise CodecError(f"{what}: {Path(args[0]).name} timed out after {timeout:.0f} s") from None
    except OSError as exc:
        raise CodecError(f"{what}: cannot run {args[0]}: {exc.strerror or exc}") from None
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        lines = [line for line in err.splitlines() + out.splitlines() if line.strip()]
        last = _one_line(lines[-1]) if lines else "no message"
        raise CodecError(f"{what}: {Path(args[0]).name} exited with status {proc.returncode}: {last}"[:500])
    return out + err


def tool_output(args: Sequence[str], timeout: float = 30) -> str:
    """Output of a version query (some tools print it on stderr, some exit non-zero)."""
    try:
        proc = subprocess.run(list(args), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CodecUnavailable(f"cannot run {args[0]}: {exc}") from None
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def read_png_rgb(path: Path, what: str) -> np.ndarray:
    """A decoder's PNG output as HxWx3 uint8 (refuses 16-bit or alpha output rather than guessing)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CodecError(f"{what}: the decoder wrote no image") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode != "RGB":
                raise CodecError(f"{what}: decoder wrote a {image.mode} image, expected 8-bit RGB")
            return np.asarray(image)
    except OSError as exc:
        raise CodecError(f"{what}: decoder output is not a readable PNG ({_one_line(str(exc))})") from None


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


def scaled_timeout(pixels: int, seconds_per_megapixel: float, floor: float = 60.0) -> float:
    """A generous wall-clock limit: slow presets on a loaded machine must not be killed, hung tools must."""
    return floor + seconds_per_megapixel * pixels / 1e6


def ffmpeg_encode(rgb: np.ndarray, vf: str, codec_args: Sequence[str], muxer: str, suffix: str,
                  what: str, timeout: float) -> tuple[bytes, list[str]]:
    """Encode one RGB frame with ffmpeg; returns the output bytes and the argument list as run (temporary
    files are named relative to the working directory, so the list has no temporary paths)."""
    import tempfile

    h, w = rgb.shape[:2]
    out_name = f"out{suffix}"
    args = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "in.rgb",
        "-filter_threads", "1", "-vf", vf, "-frames:v", "1",
        *codec_args, "-f", muxer, out_name,
    ]
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        Path(tmp, "in.rgb").write_bytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
        run_tool(args, what, timeout, cwd=tmp)
        data = Path(tmp, out_name).read_bytes() if Path(tmp, out_name).exists() else b""
    if not data:
        raise CodecError(f"{what}: ffmpeg wrote an empty bitstream")
    return data, ["ffmpeg", *args[1:]]


def ffmpeg_decode(data: bytes, demuxer: str, suffix: str, vf: str, what: str, timeout: float) -> np.ndarray:
    """Decode the first frame of a raw bitstream to 8-bit RGB. ``-xerror`` turns the decoder's
    concealment of corrupt data into a failure (several decoders exit 0 on corrupt streams)."""
    import tempfile

    args = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-xerror", "-threads", "1",
        "-f", demuxer, "-i", f"in{suffix}", "-filter_threads", "1", "-vf", vf, "-pix_fmt", "rgb24",
        "-frames:v", "1", "-update", "1", "-f", "image2", "-c:v", "png", "out.png",
    ]
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        Path(tmp, f"in{suffix}").write_bytes(data)
        run_tool(args, what, timeout, cwd=tmp)
        return read_png_rgb(Path(tmp, "out.png"), what)


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    first = tool_output([ffmpeg_exe(), "-hide_banner", "-version"]).splitlines()[0]
    # "ffmpeg version n9.0.2-... Copyright ..." -> "n9.0.2-..."
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[:2] == ["ffmpeg", "version"] else first.strip()


@functools.lru_cache(maxsize=8)
def ffmpeg_has(kind: str, name: str) -> bool:
    """Whether this ffmpeg build has an encoder/decoder/filter ``name`` (kind: encoders/decoders/filters)."""
    listing = tool_output([ffmpeg_exe(), "-hide_banner", f"-{kind}"])
    return any(len(line.split()) > 1 and line.split()[1] == name for line in listing.splitlines())
