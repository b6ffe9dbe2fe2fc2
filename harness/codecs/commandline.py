"""Codecs defined by data: one TOML file per command-line codec in the project's top-level ``codecs/`` folder.

A definition names the programs (found on ``PATH``, in a folder given by an environment variable such as
``HARNESS_VTM_DIR``, or through a Python function such as ``imageio_ffmpeg:get_ffmpeg_exe``), the data
files they need (e.g. VTM's ``cfg/encoder_intra_vtm.cfg``), how to read their versions, the encode and
decode command templates, the quality knob with its default points, the file format exchanged with the
programs (raw planar ``yuv`` or ``png``) and the colour pipeline. Commands run as argument lists, never
through a shell, so paths with spaces or quotes are passed through untouched.

Template placeholders are ``{name}`` or ``{name:format-spec}`` (``{{``/``}}`` for literal braces):

- every program and file of the definition, by its key (``{encoder}``, ``{cfg}``, ...);
- ``{input}``, ``{bitstream}``, ``{output}`` (the decoded file) and ``{workdir}``, in a fresh temp folder;
- ``{width}``, ``{height}``, ``{point}`` (the knob value; an integer for integer knobs);
- ``{bit_depth}``, ``{chroma}`` (444/420), ``{matrix}``, ``{range}`` (full/limited), ``{full_range}`` (1/0);
- every ``[options]`` key (overridable per run as ``name:key=value``) and every ``[vars]`` key.

See ``codecs/README.md`` for the schema; :func:`load_definition` checks it and raises
:class:`DefinitionError`, a one-line message naming the file, for anything malformed.
"""

from __future__ import annotations

import importlib
import importlib.resources
import os
import re
import shutil
from dataclasses import dataclass
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
from harness.codecs.families import Command, ProgramCodec
from harness.core.colour import rgb_to_ycbcr
from harness.core.errors import one_line
from harness.core.hashing import sha256_bytes
from harness.core.images import ImageError, SourceImage, decode_image_bytes, encode_png
from harness.core.process import ProgramNotFound, program_output, scaled_timeout
from harness.core.toml import TomlReader
from harness.core.yuv import (
    YuvError,
    YuvFormat,
    decode_planes,
    encode_planes,
    planes_to_rgb,
    rgb_to_planes,
)

CODECS_DIR_ENV = "HARNESS_CODECS_DIR"
FORMATS = ("yuv", "png")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}|[{}]")
_PER_CALL = ("input", "bitstream", "output", "reconstruction", "workdir", "width", "height", "point")
_RECONSTRUCTION_FILE = "encoder-reconstruction"
_COLOUR_KEYS = ("bit_depth", "chroma", "matrix", "range", "full_range")
# The default encoder time limit of a definition without ``timeout`` or ``timeout_per_mp``: seconds per
# megapixel on top of 600 s
# (a 768x512 Kodak image: ~27 min; a 2 MP CLIC image: ~2.4 h).
DEFAULT_ENCODE_SECONDS_PER_MP = 3600.0

_TIME_LIMIT_LINE = re.compile(rb"^[ \t]*(timeout|timeout_per_mp)[ \t]*=[^\n]*(\n|$)", re.MULTILINE)


def _without_time_limits(raw: bytes) -> bytes:
    """A definition's bytes without its top-level time-limit lines: the definition's hash is part of the
    codec's version (and so of every job key), and a time limit changes no bitstream."""
    return _TIME_LIMIT_LINE.sub(b"", raw)


_TOP_KEYS = {"name", "description", "extension", "size_multiple", "min_size", "timeout", "timeout_per_mp",
             "format", "cwd",
             "knob", "colour", "programs", "files", "options", "vars", "environment", "version", "encode",
             "decode"}


class DefinitionError(CodecError):
    """A codec definition file is malformed; str() is one line naming the file."""


def codecs_dirs() -> list[Path]:
    """Folders searched for definitions: ``$HARNESS_CODECS_DIR`` (``os.pathsep``-separated) if set, else
    the definitions shipped in the package (``harness/codecs/definitions``)."""
    override = os.environ.get(CODECS_DIR_ENV)
    if override:
        return [Path(p) for p in override.split(os.pathsep) if p]
    return [Path(str(importlib.resources.files("harness.codecs") / "definitions"))]


# --- the definition -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProgramSpec:
    key: str
    names: tuple[str, ...]
    env: str | None = None
    provider: str | None = None  # "module:function" returning the program's path


@dataclass(frozen=True)
class FileSpec:
    key: str
    path: str
    env: str | None = None  # a folder (the source checkout) the path is relative to
    kind: str = "file"  # "file" or "dir"


@dataclass(frozen=True)
class VersionSpec:
    label: str
    pattern: str
    command: tuple[str, ...] | None = None
    file: str | None = None
    required: bool = False  # availability fails when the pattern is not found (e.g. VTM vs ECM binaries)


@dataclass(frozen=True)
class Definition:
    path: Path
    sha256: str
    name: str
    description: str
    extension: str
    size_multiple: int
    min_size: int
    timeout: float | None
    timeout_per_mp: float | None
    format: str
    cwd: str | None
    knob: Knob
    default_points: tuple[float, ...]
    colour: ColourChain
    programs: dict[str, ProgramSpec]
    files: dict[str, FileSpec]
    options: dict[str, str]
    vars: dict[str, str]
    environment: dict[str, str]
    versions: tuple[VersionSpec, ...]
    encode: tuple[str, ...]
    decode: tuple[str, ...]


def _placeholders(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]


def render(template: str, values: dict[str, object]) -> str:
    """Fill ``{name}``/``{name:spec}`` placeholders; ``{{``/``}}`` are literal braces. No attribute or
    index access, so a definition cannot reach into Python objects."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        key = match.group(1)
        if key is None:
            raise ValueError(f"unbalanced brace in {template!r}")
        if key not in values:
            raise KeyError(key)
        spec = match.group(2)
        value = values[key]
        return format(value, spec) if spec else str(value)

    return _PLACEHOLDER.sub(substitute, template)


def load_definition(path: str | Path) -> Definition:
    """Read and check one codec definition. Raises :class:`DefinitionError` (one line, names the file)."""
    path = Path(path)
    r = TomlReader(path, DefinitionError)
    doc = r.read()
    r.check_keys(doc, _TOP_KEYS, "")

    name = r.get(doc, "name", str, "", path.stem)
    if not _NAME.match(name):
        raise r.fail(f"name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    description = r.get(doc, "description", str, "", "")
    extension = r.get(doc, "extension", str, "", ".bin")
    size_multiple = r.get(doc, "size_multiple", int, "", 1)
    min_size = r.get(doc, "min_size", int, "", 1)
    if size_multiple < 1 or min_size < 1:
        raise r.fail("size_multiple and min_size must be at least 1")
    timeout = r.get(doc, "timeout", (int, float), "", 0)
    timeout_per_mp = r.get(doc, "timeout_per_mp", (int, float), "", 0)
    if timeout < 0 or timeout_per_mp < 0 or (timeout and timeout_per_mp):
        raise r.fail("give timeout (seconds per run) or timeout_per_mp (seconds per megapixel), not both, "
                     "and neither negative")
    fmt = r.get(doc, "format", str, "", "yuv")
    if fmt not in FORMATS:
        raise r.fail(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    cwd = r.get(doc, "cwd", str, "", None)

    k = r.table(doc, "knob", required=True)
    r.check_keys(k, {"name", "low", "high", "integer", "quality_rises", "default_points"}, "knob.")
    integer = r.get(k, "integer", bool, "knob.", True)
    knob = Knob(
        name=r.get(k, "name", str, "knob."),
        low=float(r.get(k, "low", (int, float), "knob.")),
        high=float(r.get(k, "high", (int, float), "knob.")),
        integer=integer,
        quality_rises=r.get(k, "quality_rises", bool, "knob."),
    )
    if knob.low > knob.high:
        raise r.fail(f"knob.low {knob.low:g} is above knob.high {knob.high:g}")
    points = r.get(k, "default_points", list, "knob.")
    if not points or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in points):
        raise r.fail("knob.default_points must be a non-empty list of numbers")
    for p in points:
        if not knob.low <= p <= knob.high or (integer and float(p) != int(p)):
            raise r.fail(f"knob.default_points value {p} is outside {knob.low:g}..{knob.high:g} or not an integer")

    c = r.table(doc, "colour", required=True)
    r.check_keys(c, {"matrix", "range", "bit_depth", "subsampling"}, "colour.")
    colour = ColourChain(
        matrix=r.get(c, "matrix", str, "colour."),
        range=r.get(c, "range", str, "colour."),
        bit_depth=r.get(c, "bit_depth", int, "colour."),
        subsampling=r.get(c, "subsampling", str, "colour."),
    )
    if fmt == "yuv":
        try:
            YuvFormat(16, 16, colour.bit_depth, colour.subsampling, colour.matrix, colour.range == "full")
            rgb_to_ycbcr(np.zeros(3), colour.matrix)  # raises for an unknown matrix name
        except ValueError as exc:
            raise r.fail(f"colour: {exc}") from None
        if colour.range not in ("full", "limited"):
            raise r.fail(f"colour.range {colour.range!r} must be full or limited for format yuv")

    programs: dict[str, ProgramSpec] = {}
    for key, spec in r.table(doc, "programs", required=True).items():
        if not isinstance(spec, dict):
            raise r.fail(f"programs.{key} must be a table")
        r.check_keys(spec, {"names", "env", "provider"}, f"programs.{key}.")
        names = r.strings(spec, "names", f"programs.{key}.", ()) or ()
        provider = r.get(spec, "provider", str, f"programs.{key}.", None)
        if not names and not provider:
            raise r.fail(f"programs.{key} needs names or a provider")
        programs[key] = ProgramSpec(key, names, r.get(spec, "env", str, f"programs.{key}.", None), provider)

    files: dict[str, FileSpec] = {}
    for key, spec in r.table(doc, "files").items():
        if not isinstance(spec, dict):
            raise r.fail(f"files.{key} must be a table")
        r.check_keys(spec, {"path", "env", "kind"}, f"files.{key}.")
        kind = r.get(spec, "kind", str, f"files.{key}.", "file")
        if kind not in ("file", "dir"):
            raise r.fail(f"files.{key}.kind must be file or dir")
        files[key] = FileSpec(key, r.get(spec, "path", str, f"files.{key}."),
                              r.get(spec, "env", str, f"files.{key}.", None), kind)

    def string_table(key: str) -> dict[str, str]:
        table = r.table(doc, key)
        out = {}
        for k2, v in table.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise r.fail(f"{key}.{k2} must be a string or a number")
            out[k2] = str(v)
        return out

    options, variables, environment = string_table("options"), string_table("vars"), string_table("environment")

    versions = []
    for i, entry in enumerate(r.tables(doc, "version")):
        r.check_keys(entry, {"label", "pattern", "command", "file", "required"}, f"version[{i}].")
        pattern = r.get(entry, "pattern", str, f"version[{i}].")
        try:
            if re.compile(pattern).groups < 1:
                raise r.fail(f"version[{i}].pattern needs a capturing group for the version")
        except re.error as exc:
            raise r.fail(f"version[{i}].pattern is not a regular expression ({exc})") from None
        command = r.strings(entry, "command", f"version[{i}].", None)
        vfile = r.get(entry, "file", str, f"version[{i}].", None)
        if (command is None) == (vfile is None):
            raise r.fail(f"version[{i}] needs exactly one of command or file")
        versions.append(VersionSpec(r.get(entry, "label", str, f"version[{i}].", name), pattern,
                                    command, vfile, r.get(entry, "required", bool, f"version[{i}].", False)))

    commands: dict[str, tuple[str, ...]] = {}
    for step in ("encode", "decode"):
        table = r.table(doc, step, required=True)
        r.check_keys(table, {"command"}, f"{step}.")
        commands[step] = r.strings(table, "command", f"{step}.") or ()
        if not commands[step]:
            raise r.fail(f"{step}.command is empty")

    # Every placeholder must be known now, not at the first encode.
    static = set(programs) | set(files) | set(options) | set(variables) | set(_COLOUR_KEYS)
    per_call = static | set(_PER_CALL)
    templates: list[tuple[str, str, set[str]]] = []
    templates += [("encode.command", t, per_call) for t in commands["encode"]]
    templates += [("decode.command", t, per_call) for t in commands["decode"]]
    templates += [(f"environment.{k}", t, static) for k, t in environment.items()]
    if cwd is not None:
        templates.append(("cwd", cwd, static | {"workdir"}))
    for v in versions:
        templates += [("version.command", t, static) for t in (v.command or ())]
        if v.file:
            templates.append(("version.file", v.file, static))
    for where, template, known in templates:
        try:
            render(template, dict.fromkeys(known, ""))
        except KeyError as exc:
            raise r.fail(f"{where}: unknown placeholder {{{exc.args[0]}}} in {template!r} "
                         f"(known: {', '.join(sorted(known))})") from None
        except ValueError as exc:
            raise r.fail(f"{where}: {exc}") from None
    needed = {"input", "bitstream"}
    used_encode = {p for t in commands["encode"] for p in _placeholders(t)}
    used_decode = {p for t in commands["decode"] for p in _placeholders(t)}
    if not needed <= used_encode:
        raise r.fail("encode.command must use {input} and {bitstream}")
    if not {"bitstream", "output"} <= used_decode:
        raise r.fail("decode.command must use {bitstream} and {output}")

    return Definition(
        path=path, sha256=sha256_bytes(_without_time_limits(r.raw)), name=name, description=description,
        extension=extension, size_multiple=size_multiple, min_size=min_size,
        timeout=float(timeout) if timeout else None,
        timeout_per_mp=float(timeout_per_mp) if timeout_per_mp else None, format=fmt, cwd=cwd, knob=knob,
        default_points=tuple(float(p) for p in points), colour=colour, programs=programs, files=files,
        options=options, vars=variables, environment=environment, versions=tuple(versions),
        encode=commands["encode"], decode=commands["decode"],
    )


# --- locating programs and files ------------------------------------------------------------------

def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _find_in_dir(folder: Path, names: tuple[str, ...]) -> Path | None:
    """For each name in order: ``folder/name``, ``folder/bin/name``, then any ``folder/bin/**/name`` (VTM and
    ECM's CMake builds put binaries in ``bin/umake/<compiler>/<arch>/release/``; release builds win)."""
    bin_dir = folder / "bin"
    for name in names:
        for candidate in (folder / name, bin_dir / name):
            if _is_executable(candidate):
                return candidate
        if bin_dir.is_dir():
            found = sorted((p for p in bin_dir.rglob(name) if _is_executable(p)),
                           key=lambda p: ("release" not in str(p).lower(), len(p.parts), str(p)))
            if found:
                return found[0]
    return None


def locate_program(spec: ProgramSpec, shares_env: bool = False) -> Path:
    """The program's path, or :class:`CodecUnavailable` saying where it was looked for. ``$env`` may name a
    folder (searched as :func:`_find_in_dir`) or an executable; when other programs of the definition share
    the variable (``shares_env``), an executable of another name stands for its folder."""
    label = spec.names[0] if spec.names else spec.key
    if spec.env and os.environ.get(spec.env):
        where = Path(os.environ[spec.env]).expanduser()
        if _is_executable(where):
            if where.name in spec.names or not shares_env:
                return where
            # One variable for several programs (VTM's EncoderApp and DecoderApp) names one of them:
            # the others are its neighbours.
            found = _find_in_dir(where.resolve().parent, spec.names)
            if found:
                return found
            raise CodecUnavailable(f"{label} not found beside ${spec.env}={where}")
        if where.is_dir():
            found = _find_in_dir(where, spec.names)
            if found:
                return found
            raise CodecUnavailable(f"{label} not found in ${spec.env}={where} (looked in it, bin/ and bin/**/)")
        raise CodecUnavailable(f"${spec.env}={where} is neither a folder nor an executable")
    if spec.provider:
        module_name, _, function = spec.provider.partition(":")
        try:
            found = Path(getattr(importlib.import_module(module_name), function)())  # a path or a str
        except Exception as exc:  # noqa: BLE001 - any failure of the provider means: not available here
            raise CodecUnavailable(f"{label}: {spec.provider} failed ({one_line(exc)})") from None
        if not _is_executable(found):
            raise CodecUnavailable(f"{label}: {spec.provider} returned {found}, which is not an executable")
        return found
    for name in spec.names:
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path)
    hint = f" and ${spec.env} is not set" if spec.env else ""
    return_names = " or ".join(spec.names)
    raise CodecUnavailable(f"{return_names} not found on PATH{hint}")


def locate_file(spec: FileSpec, programs: dict[str, Path]) -> Path:
    """A data file: relative to ``$env`` if it names a folder, else searched upwards from the programs' real
    locations (a build tree inside the source checkout finds ``cfg/...`` this way; so does ``$env`` naming
    the executable itself)."""
    def ok(p: Path) -> bool:
        return p.is_dir() if spec.kind == "dir" else p.is_file()

    if spec.env and os.environ.get(spec.env) and not _is_executable(Path(os.environ[spec.env]).expanduser()):
        base = Path(os.environ[spec.env]).expanduser()
        candidate = base / spec.path
        if ok(candidate):
            return candidate
        raise CodecUnavailable(f"{spec.path} not found in ${spec.env}={base}")
    for program in programs.values():
        for parent in program.resolve().parents:
            candidate = parent / spec.path
            if ok(candidate):
                return candidate
    hint = f"; set ${spec.env} to the source checkout" if spec.env else ""
    raise CodecUnavailable(f"{spec.path} not found beside the programs{hint}")


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
        return _RECONSTRUCTION_FILE + (".yuv" if self.definition.format == "yuv" else ".png")

    def encoder_reconstruction(self, workdir: Path, size: tuple[int, int]) -> np.ndarray | None:
        """Read when the encode command names ``{reconstruction}``: same layout as the decoder's output."""
        if "reconstruction" not in {p for t in self.definition.encode for p in _placeholders(t)}:
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

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False) -> Outcome:
        raise CodecUnavailable(self.error)


_DEFINITION_MARKERS = {"encode", "decode", "programs", "knob"}


def _is_other_config(path: Path) -> bool:
    """True for a well-formed TOML file in the folder that is not a codec definition (e.g. the
    ``published.toml`` of :mod:`harness.published.contender`); malformed files are reported, not skipped."""
    try:
        doc = TomlReader(path).read()
    except ValueError:
        return False
    return not _DEFINITION_MARKERS & set(doc)


def definition_files() -> list[Path]:
    """The ``*.toml`` codec definitions of :func:`codecs_dirs`, in name order."""
    files: list[Path] = []
    for folder in codecs_dirs():
        if folder.is_dir():
            files += [p for p in sorted(folder.glob("*.toml")) if not _is_other_config(p)]
    return files


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
            name = stem if _NAME.match(stem) and stem not in seen else f"broken-{len(classes)}-{stem}"
            seen[name] = path
            classes.append(type("BrokenDefinition_" + re.sub(r"\W", "_", name), (BrokenDefinition,), {
                "name": name, "description": f"broken definition {path.name}", "error": str(exc),
                "__module__": __name__,
            }))
    return classes
