"""The ffmpeg family: one intra frame through the static ffmpeg of ``imageio-ffmpeg`` (``vvc``, ``hevc``,
``h264``); an adapter states its ffmpeg encoder and arguments, the raw-stream format and the zscale chains."""

from __future__ import annotations

import functools
import re
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np

from harness.codecs.base import (
    Availability,
    CodecError,
)
from harness.codecs.families import Command, ProgramCodec
from harness.core.process import (
    ffmpeg_exe,
    ffmpeg_has,
    ffmpeg_version,
    program_output,
)

_BENCH = re.compile(rb"bench: utime=([\d.]+)s stime=([\d.]+)s rtime=[\d.]+s")
_QUIET = ("-loglevel", "error")
_TIMED = ("-loglevel", "info", "-nostats", "-benchmark")  # "bench: ... rtime=" is logged at level info
_RAW_SIZE = re.compile(rb"Video: rawvideo\b.*?, (\d+)x(\d+)")


def _timed(argv: list[str]) -> list[str]:
    """An ffmpeg command line that logs its own timing (see :data:`_TIMED`)."""
    at = argv.index(_QUIET[0])
    return [*argv[:at], *_TIMED, *argv[at + 2:]]


@functools.lru_cache(maxsize=8)
def _ffmpeg_encoder_version(encoder: str, pixel_format: str, extra: tuple[str, ...], pattern: str) -> str:
    """Encoders print their version when they open: encode a black 32x32 frame at log level info."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-f", "lavfi", "-i",
            "color=black:size=32x32:duration=0.04", "-frames:v", "1", "-pix_fmt", pixel_format,
            "-c:v", encoder, *extra, "-f", "null", "-"]
    match = re.search(pattern, program_output(args, timeout=60))
    return match.group(1) if match else "unknown"


class FfmpegCodec(ProgramCodec):
    """One intra frame through the static ffmpeg: raw RGB in, a raw elementary stream out, decoded by ffmpeg's
    native decoder with ``-xerror`` (several decoders conceal corrupt data and exit 0 otherwise).

    Subclasses state the encoder (``ffmpeg_encoder``, :meth:`codec_args`), the raw stream format
    (``stream_format``, both muxer and demuxer and decoder name), the chains :meth:`to_yuv` and
    ``to_rgb`` (zscale filter graphs), and how the encoder's version is read (``version_probe``).
    """

    ffmpeg_encoder: ClassVar[str]  # "libvvenc"
    encoder_label: ClassVar[str]  # "vvenc": how versions name the encoder
    stream_format: ClassVar[str]  # "vvc": the raw muxer, demuxer and native decoder
    to_rgb: ClassVar[str]  # zscale graph from the decoded Y'CbCr back to RGB
    # (pixel format, extra encoder arguments, regex with the version as group 1) for the version probe
    version_probe: ClassVar[tuple[str, tuple[str, ...], str]]
    # Named in the version (so in every job key) when the adapter's encoder configuration changes in a way
    # that changes bitstreams: rows of the earlier configuration are then not taken for this one.
    configuration: ClassVar[str] = ""
    input_file = "in.rgb"
    decoded_file = "out.rgb"  # raw rgb24: no PNG compression inside the timed decode
    # ffmpeg's -benchmark "utime" + "stime": the CPU seconds of the transcoding (reading the stream, the codec,
    # the zscale colour chain, writing raw pixels), without the process's start-up and option parsing. Its
    # "rtime" (wall clock) is not used: ffmpeg hands each frame between four threads, and on a loaded
    # machine every hand-off waits for a core (kodim01's HEVC decode: 19 ms of CPU, 55-100 ms rtime, 2 busy cores).
    timing = "ffmpeg-benchmark"

    @abstractmethod
    def to_yuv(self) -> str:
        """zscale graph from RGB to the coded Y'CbCr (it may depend on options such as chroma)."""

    @abstractmethod
    def codec_args(self, point: float) -> list[str]:
        """ffmpeg output options of the encoder for ``point`` (``-c:v`` and what follows)."""

    def program(self, word: str) -> str:
        return ffmpeg_exe() if word == "ffmpeg" else word

    def check_availability(self) -> Availability:
        ffmpeg_exe()
        for kind, name in (("encoders", self.ffmpeg_encoder), ("decoders", self.stream_format),
                           ("filters", "zscale")):
            if not ffmpeg_has(kind, name):
                return Availability(False, f"ffmpeg of imageio-ffmpeg has no {name} {kind[:-1]}")
        return Availability(True)

    def probe_version(self) -> str:
        pixel_format, extra, pattern = self.version_probe
        encoder = _ffmpeg_encoder_version(self.ffmpeg_encoder, pixel_format, extra, pattern)
        configured = f" ({self.configuration})" if self.configuration else ""
        return f"{self.encoder_label} {encoder}{configured} / ffmpeg {self.stream_format} decoder {ffmpeg_version()}"

    def input_bytes(self, rgb: np.ndarray) -> bytes:
        return np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()

    def own_seconds(self, stderr: bytes) -> float | None:
        match = _BENCH.search(stderr)
        return float(match.group(1)) + float(match.group(2)) if match else None

    def _size(self, stderr: bytes) -> tuple[int, int] | None:
        match = _RAW_SIZE.search(stderr)
        return (int(match.group(2)), int(match.group(1))) if match else None

    def read_decoded(self, data: bytes | None, size: tuple[int, int] | None) -> np.ndarray:
        what = self.step("decoder")
        if data is None or size is None:
            raise CodecError(f"{what} wrote no image" if data is None else f"{what}: picture size unknown")
        if len(data) != size[0] * size[1] * 3:
            raise CodecError(f"{what} wrote {len(data)} bytes, expected {size[1]}x{size[0]} rgb24")
        return np.frombuffer(data, np.uint8).reshape(size[0], size[1], 3).copy()

    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command:
        height, width = size
        argv = [
            "ffmpeg", "-hide_banner", "-nostdin", *_QUIET, "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", self.input_file,
            "-filter_threads", "1", "-vf", self.to_yuv(), "-frames:v", "1",
            *self.codec_args(point), "-f", self.stream_format, self.stream_file,
        ]
        # Run with ffmpeg's own timing; recorded as the command that makes these bits (the log options
        # change no bit, and rows recorded before this timing keep matching).
        return Command(_timed(argv), shown=argv)

    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command:
        return Command([
            "ffmpeg", "-hide_banner", "-nostdin", *_TIMED, "-y", "-xerror", "-threads", "1", "-f", self.stream_format, "-i", self.stream_file, "-filter_threads", "1",
            "-vf", self.to_rgb, "-pix_fmt", "rgb24", "-frames:v", "1", "-f", "rawvideo", self.decoded_file,
        ])
