"""The TOML schema of command-line codecs: one file per codec in ``harness/codecs/definitions/``.

A definition names the programs (on ``PATH``, in a folder named by an environment variable such as
``HARNESS_VTM_DIR``, or returned by a Python function such as ``imageio_ffmpeg:get_ffmpeg_exe``), their data
files, how to read their versions, the encode and decode command templates, the quality knob and its
default points, the file format exchanged with the programs (raw planar ``yuv`` or ``png``) and the colour
pipeline. Template placeholders are ``{name}`` or ``{name:format-spec}`` (``{{``/``}}`` for braces): every
program, file, ``[options]`` and ``[vars]`` key; ``{input}``, ``{bitstream}``, ``{output}``, ``{workdir}``;
``{width}``, ``{height}``, ``{point}``; ``{bit_depth}``, ``{chroma}``, ``{matrix}``, ``{range}``,
``{full_range}``. The schema is documented in ``harness/codecs/definitions/README.md``;
:func:`load_definition` raises :class:`DefinitionError`, one line naming the file, for anything malformed.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.codecs.base import CodecError, ColourChain, Knob
from harness.core.colour import rgb_to_ycbcr
from harness.core.hashing import sha256_bytes
from harness.core.toml import TomlReader
from harness.core.yuv import YuvFormat

CODECS_DIR_ENV = "HARNESS_CODECS_DIR"
FORMATS = ("yuv", "png")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}|[{}]")
PER_CALL = ("input", "bitstream", "output", "reconstruction", "workdir", "width", "height", "point")
RECONSTRUCTION_FILE = "encoder-reconstruction"
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


def placeholders(template: str) -> list[str]:
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
    if not NAME_PATTERN.match(name):
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
    per_call = static | set(PER_CALL)
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
    used_encode = {p for t in commands["encode"] for p in placeholders(t)}
    used_decode = {p for t in commands["decode"] for p in placeholders(t)}
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
