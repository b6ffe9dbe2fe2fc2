"""Where a command-line codec's programs and data files are: environment variables, providers, ``PATH``."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

from harness.codecs.base import CodecUnavailable
from harness.codecs.definition import FileSpec, ProgramSpec
from harness.core.errors import one_line


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
