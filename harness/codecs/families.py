"""Middle classes for the codec families, so that an adapter states only its command, format and knob.

:class:`ProgramCodec`
    Programs run on files in a fresh temporary folder that is also their working directory (so the
    command a row records names no temporary path): the adapter writes its input, states the encode and
    decode commands, and reads the decoded file. ``avif`` (avifenc) and ``jxl`` (cjxl) sit on it directly,
    the TOML-defined codecs of :mod:`harness.codecs.commandline` through their templates.
:class:`harness.codecs.ffmpeg_family.FfmpegCodec`
    One intra frame through the static ffmpeg of ``imageio-ffmpeg`` (a ProgramCodec).
:class:`harness.codecs.pillow_family.PillowCodec`
    In process through Pillow.

Not an adapter module: the registry does not import it for registrations.
"""

from __future__ import annotations

import functools
import io
import tempfile
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from harness.codecs.base import (
    Bitstream,
    Codec,
    CodecError,
)
from harness.core.errors import one_line
from harness.core.process import (
    ProgramNotFound,
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
