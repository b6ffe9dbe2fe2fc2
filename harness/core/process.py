"""Running external programs: one runner with a timeout and a one-line error, version queries, locating
programs, and the static ffmpeg of ``imageio-ffmpeg`` that codecs and metrics share.

Commands are argument lists, never shell strings, so paths with spaces or quotes pass through untouched.
"""

from __future__ import annotations

import ctypes
import functools
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.core.errors import one_line


class ProgramError(RuntimeError):
    """A program could not run, timed out or failed; str() is one line."""


class ProgramNotFound(ProgramError):
    """A program this machine does not have (its absence makes a codec or metric unavailable)."""


def output_tail(text: bytes | str, lines: int = 3, limit: int = 300) -> str:
    """The most telling part of a program's output: its last non-empty lines, on one line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    kept = [one_line(line) for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[-limit:]


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when the process that started it dies (Linux
    ``PR_SET_PDEATHSIG``): a harness killed with ``kill -9`` must not leave an encoder running."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, sigkill)

    return set_death_signal


_DIE_WITH_PARENT = _die_with_parent()


def run_program(args: Sequence[str | Path], what: str, *, timeout: float | None, cwd: str | Path | None = None,
                env: Mapping[str, str] | None = None,
                error: type[Exception] = ProgramError) -> subprocess.CompletedProcess[bytes]:
    """Run one command; return the finished process, or raise ``error`` with one line that starts with
    ``what`` and says why (not found, not executable, timed out, the exit status and the output's tail)."""
    argv = [str(a) for a in args]
    try:
        done = subprocess.run(argv, cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False, preexec_fn=_DIE_WITH_PARENT)
    except FileNotFoundError:
        raise error(f"{what}: program {argv[0]} not found") from None
    except PermissionError:
        raise error(f"{what}: program {argv[0]} is not executable") from None
    except subprocess.TimeoutExpired:
        raise error(f"{what}: {Path(argv[0]).name} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise error(f"{what}: cannot run {argv[0]}: {one_line(exc.strerror or exc)}") from None
    if done.returncode != 0:
        detail = output_tail(done.stderr) or output_tail(done.stdout) or "no output"
        raise error(f"{what} exited with status {done.returncode}: {detail}")
    return done


def program_output(args: Sequence[str | Path], timeout: float = 60, env: Mapping[str, str] | None = None) -> str:
    """stdout and stderr of a version query, whatever its exit status (some tools print their version on
    stderr, some exit non-zero); :class:`ProgramNotFound` when it cannot run at all."""
    argv = [str(a) for a in args]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
                              env=dict(env) if env is not None else None)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProgramNotFound(f"cannot run {argv[0]}: {one_line(exc)}") from None
    return (done.stdout + done.stderr).decode("utf-8", "replace")


def require_program(name: str, package: str) -> str:
    """The path of ``name`` on PATH, or :class:`ProgramNotFound` naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        raise ProgramNotFound(f"program {name!r} not found on PATH (Debian package {package})")
    return path


def scaled_timeout(pixels: int, seconds_per_megapixel: float, floor: float = 60.0) -> float:
    """A generous wall-clock limit: slow presets on a loaded machine must not be killed, hung tools must."""
    return floor + seconds_per_megapixel * pixels / 1e6


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The static ffmpeg shipped in the ``imageio-ffmpeg`` wheel (it has libvvenc, libx265, zscale, libvmaf)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ProgramNotFound("Python package imageio-ffmpeg is not installed") from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise ProgramNotFound(f"imageio-ffmpeg has no ffmpeg binary: {one_line(exc)}") from None


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    first = program_output([ffmpeg_exe(), "-hide_banner", "-version"]).splitlines()[0]
    # "ffmpeg version n9.0.2-... Copyright ..." -> "n9.0.2-..."
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[:2] == ["ffmpeg", "version"] else first.strip()


@functools.lru_cache(maxsize=16)
def ffmpeg_has(kind: str, name: str) -> bool:
    """Whether this ffmpeg build has an encoder/decoder/filter ``name`` (kind: encoders/decoders/filters)."""
    listing = program_output([ffmpeg_exe(), "-hide_banner", f"-{kind}"])
    return any(len(line.split()) > 1 and line.split()[1] == name for line in listing.splitlines())
