"""Command-line codecs at run time: one codec class per TOML definition, running its programs.

Commands run as argument lists, never through a shell, so paths with spaces or quotes pass untouched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.codecs.base import (
    Availability,
    CodecError,
    CodecUnavailable,
    ColourChain,
    Contender,
    Knob,
    Outcome,
)
from harness.codecs.definition import (
    DEFAULT_ENCODE_SECONDS_PER_MP,
    NAME_PATTERN,
    RECONSTRUCTION_FILE,
    Definition,
    DefinitionError,
    VersionSpec,
    definition_files,
    load_definition,
    placeholders,
    render,
)
from harness.codecs.families import Command, ProgramCodec
from harness.codecs.locate import locate_file, locate_program
from harness.core.images import ImageError, SourceImage, decode_image_bytes, encode_png
from harness.core.process import ProgramNotFound, program_output, scaled_timeout
from harness.core.yuv import (
    YuvError,
    YuvFormat,
    decode_planes,
    encode_planes,
    planes_to_rgb,
    rgb_to_planes,
)


class CommandLineCodec(ProgramCodec):
    """A codec driven through its command-line programs, as described by a :class:`Definition`.

    Decoding needs nothing from an earlier encode: raw YUV carries no picture size, so the caller gives
    it (``decode(data, size)``, as :meth:`Codec.compress` does).
    """

    definition: ClassVar[Definition]
    command_param = "encode_command"

    # --- resolution -------------------------------------------------------------------------------
    def _resolve(self) -> tuple[dict[str, Path], dict[str, Path]]:
        d = self.definition
        envs = [spec.env for spec in d.programs.values() if spec.env]
        programs = {key: locate_program(spec, shares_env=spec.env is not None and envs.count(spec.env) > 1)
                    for key, spec in d.programs.items()}
        files = {key: locate_file(spec, programs) for key, spec in d.files.items()}
        return programs, files

    def _static_values(self, programs: dict[str, Path], files: dict[str, Path]) -> dict[str, object]:
        c = self.colour
        values: dict[str, object] = {
            "bit_depth": c.bit_depth, "chroma": c.subsampling, "matrix": c.matrix, "range": c.range,
            "full_range": 1 if c.range == "full" else 0,
        }
        values.update(self.definition.vars)
        values.update({key: self.option(key) for key in self.definition.options})
        values.update({k: str(v) for k, v in programs.items()})
        values.update({k: str(v) for k, v in files.items()})
        return values

    def _environment(self, values: dict[str, object]) -> dict[str, str] | None:
        if not self.definition.environment:
            return None
        env = dict(os.environ)
        env.update({k: render(v, values) for k, v in self.definition.environment.items()})
        return env

    def _version_of(self, spec: VersionSpec, values: dict[str, object]) -> str | None:
        try:
            if spec.file is not None:
                text = Path(render(spec.file, values)).read_text(errors="replace")
            else:
                text = program_output([render(a, values) for a in spec.command or ()], timeout=60,
                                      env=self._environment(values))
        except (OSError, ProgramNotFound):
            return None
        match = re.search(spec.pattern, text)
        return match.group(1) if match else None

    def check_availability(self) -> Availability:
        programs, files = self._resolve()  # raises CodecUnavailable with the reason
        values = self._static_values(programs, files)
        for spec in self.definition.versions:
            if spec.required and self._version_of(spec, values) is None:
                where = ", ".join(str(p) for p in programs.values())
                return Availability(False, f"{where} does not identify as {spec.label} "
                                           f"(no match for {spec.pattern!r})")
        return Availability(True)

    def probe_version(self) -> str:
        programs, files = self._resolve()
        values = self._static_values(programs, files)
        parts = []
        for spec in self.definition.versions:
            found = self._version_of(spec, values)
            parts.append(f"{spec.label} {found or '?'}")
        parts.append(f"[{self.definition.path.name} {self.definition.sha256[:8]}]")
        return " ".join(parts) if len(parts) > 1 else parts[0]

    # --- coding -----------------------------------------------------------------------------------
    def _point_value(self, point: float) -> int | float:
        return round(point) if self.knob.integer else float(point)

    def _yuv_format(self, height: int, width: int) -> YuvFormat:
        c = self.colour
        return YuvFormat(width, height, c.bit_depth, c.subsampling, c.matrix, c.range == "full")

    def _symbolic(self, template: tuple[str, ...], values: dict[str, object]) -> list[str]:
        """The command as recorded in params: machine-specific paths replaced by their placeholder."""
        shown = dict(values)
        for key in ("input", "bitstream", "output", "reconstruction", "workdir"):
            shown[key] = "{" + key + "}"
        for key in self.definition.programs:
            shown[key] = Path(str(values[key])).name
        for key in self.definition.files:
            shown[key] = self.definition.files[key].path
        return [render(a, shown) for a in template]

    def _command(self, template: tuple[str, ...], workdir: Path, **per_call: object) -> Command:
        d = self.definition
        programs, files = self._resolve()
        values = self._static_values(programs, files)
        values.update(workdir=str(workdir), **per_call)
        return Command([render(a, values) for a in template], shown=self._symbolic(template, values),
                       cwd=Path(render(d.cwd, values)) if d.cwd else None, env=self._environment(values))

    def encode_timeout(self, pixels: int) -> float | None:
        # Reference encoders are slow (VTM: ~350 s/MP on a busy core, ECM several times that) but never
        # infinitely so: without a timeout in the definition, a hung program is stopped at this default.
        per_mp = self.definition.timeout_per_mp or DEFAULT_ENCODE_SECONDS_PER_MP
        return self.definition.timeout or scaled_timeout(pixels, per_mp, floor=600.0)

    def decode_timeout(self, data: bytes) -> float | None:
        return self.definition.timeout or scaled_timeout(len(data) * 8, 1.0, floor=900.0)

    def input_bytes(self, rgb: np.ndarray) -> bytes:
        if self.definition.format == "png":
            return encode_png(rgb)
        fmt = self._yuv_format(*rgb.shape[:2])
        return encode_planes(rgb_to_planes(rgb, fmt), fmt)

    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command:
        height, width = size
        return self._command(self.definition.encode, workdir, input=str(workdir / self.input_file),
                             bitstream=str(workdir / self.stream_file), output=str(workdir / "unused"),
                             reconstruction=str(workdir / self._reconstruction_file),
                             width=width, height=height, point=self._point_value(point))

    @property
    def _reconstruction_file(self) -> str:
        return RECONSTRUCTION_FILE + (".yuv" if self.definition.format == "yuv" else ".png")

    def encoder_reconstruction(self, workdir: Path, size: tuple[int, int]) -> np.ndarray | None:
        """Read when the encode command names ``{reconstruction}``: same layout as the decoder's output."""
        if "reconstruction" not in {p for t in self.definition.encode for p in placeholders(t)}:
            return None
        path = workdir / self._reconstruction_file
        if not path.is_file():
            raise CodecError(f"{self.name} encoder wrote no reconstruction file")
        return self.read_decoded(path.read_bytes(), size)

    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command:
        if self.definition.format == "yuv" and size is None:
            raise CodecError(f"{self.name}: raw YUV output has no picture size; give decode() the size of "
                             "the encoded picture")
        height, width = size or (0, 0)
        return self._command(self.definition.decode, workdir, input=str(workdir / "unused"),
                             bitstream=str(workdir / self.stream_file), output=str(workdir / self.decoded_file),
                             reconstruction=str(workdir / "unused"), width=width, height=height, point="")

    def encode_params(self, point: float) -> dict[str, Any]:
        d = self.definition
        params = {
            self.knob.name: self._point_value(point),
            **{key: self.option(key) for key in d.options},
            "definition": f"{d.path.name}@{d.sha256[:12]}",
            "yuv": (f"{self.colour.matrix} {self.colour.range} {self.colour.bit_depth}-bit "
                    f"{self.colour.subsampling}") if d.format == "yuv" else None,
        }
        return {k: v for k, v in params.items() if v is not None}

    def read_decoded(self, data: bytes | None, size: tuple[int, int] | None) -> np.ndarray:
        if data is None:
            raise CodecError(f"{self.name} decoder wrote no output file")
        try:
            if self.definition.format == "yuv":
                fmt = self._yuv_format(*(size or (0, 0)))
                return planes_to_rgb(decode_planes(data, fmt, f"{self.name} decoder output"), fmt)
            pixels, _ = decode_image_bytes(data, f"{self.name} decoder output")
            return pixels
        except (YuvError, ImageError) as exc:
            raise CodecError(str(exc)) from None


def codec_class(defn: Definition) -> type[CommandLineCodec]:
    """A :class:`CommandLineCodec` subclass for one definition."""
    attrs = {
        "definition": defn,
        "name": defn.name,
        "description": defn.description or f"command-line codec from {defn.path.name}",
        "knob": defn.knob,
        "default_points": defn.default_points,
        "colour": defn.colour,
        "extension": defn.extension,
        "size_multiple": defn.size_multiple,
        "min_size": defn.min_size,
        "option_defaults": dict(defn.options),
        "display_name": defn.name,
        "input_file": f"input.{defn.format}",
        "decoded_file": f"decoded.{defn.format}",
        "__module__": __name__,
        "__doc__": defn.description,
    }
    class_name = "CommandLine_" + re.sub(r"\W", "_", defn.name)
    return type(class_name, (CommandLineCodec,), attrs)


class BrokenDefinition(Contender):
    """Stands in for a definition file that does not load, so `harness codecs` lists it with the error (and a
    run naming it gets failed rows that say why); it has nothing to encode or decode with."""

    knob = Knob("n/a", 0, 0)
    default_points = ()
    colour = ColourChain("n/a", "n/a", 8, "n/a")
    error: ClassVar[str]

    def check_availability(self) -> Availability:
        return Availability(False, self.error)

    def probe_version(self) -> str:
        return "unavailable"

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False,
                 repeats: int = 1) -> Outcome:
        raise CodecUnavailable(self.error)



def discover() -> list[type[Contender]]:
    """One codec class per ``*.toml`` definition; a malformed file becomes an unavailable codec named after
    the file, whose reason is the one-line error."""
    classes: list[type[Contender]] = []
    seen: dict[str, Path] = {}
    for path in definition_files():
        try:
            defn = load_definition(path)
            if defn.name in seen:
                raise DefinitionError(f"{path}: codec name {defn.name!r} is already defined by {seen[defn.name]}")
            seen[defn.name] = path
            classes.append(codec_class(defn))
        except DefinitionError as exc:
            stem = path.stem.lower()
            name = stem if NAME_PATTERN.match(stem) and stem not in seen else f"broken-{len(classes)}-{stem}"
            seen[name] = path
            classes.append(type("BrokenDefinition_" + re.sub(r"\W", "_", name), (BrokenDefinition,), {
                "name": name, "description": f"broken definition {path.name}", "error": str(exc),
                "__module__": __name__,
            }))
    return classes
