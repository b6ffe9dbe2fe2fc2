"""Middle classes for the codec families, so that an adapter states only its command, format and knob.

:class:`ProgramCodec`
    Programs run on files in a fresh temporary folder that is also their working directory (so the
    command a row records names no temporary path): the adapter writes its input, states the encode and
    decode commands, and reads the decoded file. ``avif`` (avifenc) and ``jxl`` (cjxl) sit on it directly,
    the TOML-defined codecs of :mod:`harness.codecs.commandline` through their templates.
:class:`FfmpegCodec`
    One intra frame through the static ffmpeg of ``imageio-ffmpeg``: the adapter states its ffmpeg encoder
    and its arguments for a point, the raw-stream format and the zscale chains to and from Y'CbCr.
:class:`PillowCodec`
    In process through Pillow: the adapter states the Pillow format, the library it needs and the save
    settings for a point; decoding and error wrapping are written once, here.

Not an adapter module: the registry does not import it for registrations.
"""

from __future__ import annotations

import functools
import io
import re
import tempfile
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    CodecUnavailable,
)
from harness.core.errors import one_line
from harness.core.process import (
    ProgramNotFound,
    ffmpeg_exe,
    ffmpeg_has,
    ffmpeg_version,
    program_output,
    run_program,
    scaled_timeout,
)


def read_png_rgb(data: bytes | None, what: str) -> np.ndarray:
    """A decoder's PNG output as HxWx3 uint8 (refuses 16-bit or alpha output rather than guessing)."""
    if data is None:
        raise CodecError(f"{what} wrote no image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode != "RGB":
                raise CodecError(f"{what} wrote a {image.mode} image, expected 8-bit RGB")
            return np.asarray(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise CodecError(f"{what} output is not a readable PNG ({one_line(exc)})") from None


@dataclass
class Command:
    """One program run: ``argv`` with files named relative to the working folder (or absolute),
    ``shown`` what the row records (default: ``argv``), ``cwd`` and ``env`` when not the defaults."""

    argv: list[str]
    shown: list[str] | None = None
    cwd: Path | None = None
    env: dict[str, str] | None = field(default=None, repr=False)


# Where :meth:`ProgramCodec.arguments` shows the commands: a fixed picture size and working folder.
_PROBE_SIZE = (64, 64)
_PROBE_DIR = Path("/work")
_BENCH = re.compile(rb"bench: utime=([\d.]+)s stime=([\d.]+)s rtime=[\d.]+s")
_QUIET = ("-loglevel", "error")
_TIMED = ("-loglevel", "info", "-nostats", "-benchmark")  # "bench: ... rtime=" is logged at level info
_RAW_SIZE = re.compile(rb"Video: rawvideo\b.*?, (\d+)x(\d+)")


def _timed(argv: list[str]) -> list[str]:
    """An ffmpeg command line that logs its own timing (see :data:`_TIMED`)."""
    at = argv.index(_QUIET[0])
    return [*argv[:at], *_TIMED, *argv[at + 2:]]


class ProgramCodec(Codec):
    """A codec whose encoder and decoder are programs exchanging files.

    Subclasses state :meth:`encode_command` and :meth:`decode_command` (file names as in the class
    attributes, relative to the working folder), and :meth:`encode_params` for the row. Hooks with
    defaults: :meth:`input_bytes` (a bare PNG), :meth:`read_decoded` (8-bit RGB PNG),
    :meth:`payload_bytes` (the whole file), :meth:`program` (the executable for a command's first word).
    """

    display_name: ClassVar[str]  # "AVIF", "JPEG XL": what error messages call the codec
    input_file: ClassVar[str] = "in.png"
    decoded_file: ClassVar[str] = "out.png"
    command_param: ClassVar[str] = "command"  # the params key that records the encode command
    encode_seconds_per_mp: ClassVar[float] = 200.0
    timing = "process"

    @property
    def stream_file(self) -> str:
        return f"stream{self.extension}"

    def step(self, which: str) -> str:
        """``"AVIF encoder"``: how messages name a step (``which`` is encoder or decoder)."""
        return f"{self.display_name} {which}"

    # --- what an adapter states --------------------------------------------------------------------
    @abstractmethod
    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command: ...

    @abstractmethod
    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command: ...

    @abstractmethod
    def encode_params(self, point: float) -> dict[str, Any]:
        """The exact settings of an encode at ``point`` (the command is added by the base)."""

    def input_bytes(self, rgb: np.ndarray) -> bytes:
        from harness.core.images import encode_png

        return encode_png(rgb)

    def read_decoded(self, data: bytes | None, size: tuple[int, int] | None) -> np.ndarray:
        return read_png_rgb(data, self.step("decoder"))

    def payload_bytes(self, data: bytes) -> int | None:
        """Coded bytes without the container (None: the whole file); raise :class:`CodecError` for a
        file that is not what the encoder should write."""
        return None

    def program(self, word: str) -> str:
        return word

    def encoder_reconstruction(self, workdir: Path, size: tuple[int, int]) -> np.ndarray | None:
        """The encoder's own reconstruction as 8-bit RGB, read from ``workdir`` after encoding, when it
        writes one (None: it does not). :meth:`Codec.compress` requires the decoder's output to equal it."""
        return None

    def encode_timeout(self, pixels: int) -> float | None:
        return scaled_timeout(pixels, self.encode_seconds_per_mp)

    def decode_timeout(self, data: bytes) -> float | None:
        return scaled_timeout(len(data) * 8, 1.0)

    # --- identity ----------------------------------------------------------------------------------
    def _params(self, point: float, command: Command) -> dict[str, Any]:
        return {**self.encode_params(point), self.command_param: command.shown or command.argv}

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any] | None:
        return self._params(point, self.encode_command(point, size, _PROBE_DIR))

    def arguments(self) -> dict[str, Any]:
        decode = self.decode_command(_PROBE_SIZE, _PROBE_DIR)
        return {"encode": self.recorded_params(self.probe_point(), _PROBE_SIZE),
                "decode": decode.shown or decode.argv}

    # --- start-up -----------------------------------------------------------------------------------
    @functools.cached_property
    def _startup(self) -> float | None:
        word = self.encode_command(self.probe_point(), _PROBE_SIZE, _PROBE_DIR).argv[0]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            try:
                program_output([self.program(word), "--version"], timeout=30)
            except ProgramNotFound:
                return None
            times.append(time.perf_counter() - start)
        return sorted(times)[1]

    def startup_seconds(self) -> float | None:
        """Wall seconds for the encoder's program to start, print its version and exit (median of 3, once
        per codec and process): the part of a "process" timing that is not coding, reported apart in
        run.json (``codecs.<label>.startup_seconds``). None when the program cannot run."""
        return self._startup if self.timing == "process" and self.availability() else None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        startup = self.startup_seconds()
        return {**info, "timing": self.timing, **({"startup_seconds": round(startup, 4)} if startup else {})}

    # --- the work ----------------------------------------------------------------------------------
    def _run(self, command: Command, which: str, workdir: Path, timeout: float | None) -> bytes:
        """Run one step; its stderr (where :meth:`own_seconds` looks for the program's own timing)."""
        argv = [self.program(command.argv[0]), *command.argv[1:]]
        done = run_program(argv, self.step(which), timeout=timeout, cwd=command.cwd or workdir, env=command.env,
                           error=CodecError)
        return done.stderr

    def own_seconds(self, stderr: bytes) -> float | None:
        """The program's own timing of its coding, from its log (None: it gives none; the wall clock of the
        whole run is used, start-up included, and :attr:`Codec.timing` says "process")."""
        return None

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        height, width = rgb.shape[:2]
        with tempfile.TemporaryDirectory(prefix=f"harness-{self.name}-") as tmp:
            work = Path(tmp)
            (work / self.input_file).write_bytes(self.input_bytes(rgb))
            command = self.encode_command(point, (height, width), work)
            log = self._run(command, "encoder", work, self.encode_timeout(height * width))
            try:
                data = (work / self.stream_file).read_bytes()
            except OSError:
                raise CodecError(f"{self.step('encoder')} wrote no bitstream file") from None
            reconstruction = self.encoder_reconstruction(work, (height, width)) if data else None
        if not data:
            raise CodecError(f"{self.step('encoder')} wrote an empty bitstream")
        params = self._params(point, command)
        return Bitstream(data, payload_bytes=self.payload_bytes(data), params=params, reconstruction=reconstruction,
                         seconds=self.own_seconds(log))

    def decode_timed(self, data: bytes, size: tuple[int, int] | None = None) -> tuple[np.ndarray, float | None]:
        with tempfile.TemporaryDirectory(prefix=f"harness-{self.name}-") as tmp:
            work = Path(tmp)
            (work / self.stream_file).write_bytes(data)
            command = self.decode_command(size, work)
            log = self._run(command, "decoder", work, self.decode_timeout(data))
            decoded = work / self.decoded_file
            pixels = self.read_decoded(decoded.read_bytes() if decoded.is_file() else None, size or self._size(log))
            return pixels, self.own_seconds(log)

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.decode_timed(data, size)[0]

    def _size(self, stderr: bytes) -> tuple[int, int] | None:
        """The decoded picture's (height, width) from the decoder's log, for raw output (None: unknown)."""
        return None


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


class PillowCodec(Codec):
    """A codec in process through Pillow.

    Subclasses state ``pillow_format`` (``"WEBP"``), ``pillow_feature`` (what :func:`PIL.features.check`
    must find, e.g. ``"webp"`` or the codec ``"jpg"``), ``library`` (how the version reads) and
    :meth:`save_settings` for a point; :meth:`encode_params` and :meth:`payload_bytes` when the row
    records more than the settings or the file has a container.
    """

    display_name: ClassVar[str]
    pillow_format: ClassVar[str]
    pillow_feature: ClassVar[str]
    library: ClassVar[str]

    @abstractmethod
    def save_settings(self, point: float) -> dict[str, Any]:
        """Keyword arguments of ``Image.save`` for ``point``."""

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return settings

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any] | None:
        return self.encode_params(self.save_settings(point))

    def arguments(self) -> dict[str, Any]:
        return {"save": self.save_settings(self.probe_point()), "format": self.pillow_format}

    def payload_bytes(self, data: bytes) -> int | None:
        return None

    def save(self, image: Image.Image, buffer: io.BytesIO, settings: dict[str, Any]) -> None:
        """Write ``image`` with ``settings``: Pillow's registered handler of ``pillow_format`` by default."""
        image.save(buffer, format=self.pillow_format, **settings)

    def check_availability(self) -> Availability:
        if not features.check(self.pillow_feature):
            return Availability(False, f"Pillow was built without {self.pillow_format} support")
        return Availability(True)

    def probe_version(self) -> str:
        return f"{self.library} {features.version(self.pillow_feature)} (Pillow {Image.__version__})"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        settings = self.save_settings(point)
        buffer = io.BytesIO()
        try:
            self.save(Image.fromarray(rgb), buffer, settings)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CodecError(f"{self.display_name} encode failed: {one_line(exc)}") from None
        data = buffer.getvalue()
        return Bitstream(data, payload_bytes=self.payload_bytes(data), params=self.encode_params(settings))

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        """8-bit RGB; grey, palette or alpha output (which these encoders do not write from RGB) is
        converted, any other mode refused."""
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                if image.mode not in ("RGB", "RGBA", "L", "P"):
                    raise CodecError(f"{self.display_name} decode: got a {image.mode} image, expected RGB")
                return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        except (OSError, SyntaxError, ValueError, RuntimeError) as exc:  # Pillow 13's AVIF: RuntimeError
            raise CodecError(f"{self.display_name} decode failed: {one_line(exc)}") from None


__all__ = [
    "CodecUnavailable",
    "Command",
    "FfmpegCodec",
    "PillowCodec",
    "ProgramCodec",
    "ProgramNotFound",
    "read_png_rgb",
]
