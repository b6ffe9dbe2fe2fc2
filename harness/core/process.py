"""Running external programs: one runner with a timeout and a one-line error, version queries, locating
programs, and the static ffmpeg of ``imageio-ffmpeg`` that codecs and metrics share.

Commands are argument lists, never shell strings, so paths with spaces or quotes pass through untouched.
"""

from __future__ import annotations

import ctypes
import functools
import os
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


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _set_death_signal() -> None:
    """In a child before exec: receive SIGKILL when the process that started it dies (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def die_with_parent(parent_pid: int) -> None:
    """Make this process (a worker) receive SIGKILL when its parent ``parent_pid`` dies, even by ``kill -9``;
    exit at once if it already has. Its programs then go too (see :func:`run_program`)."""
    _set_death_signal()
    if os.getppid() != parent_pid:
        os._exit(1)


# The reaper: a small process per process that runs programs, which kills the process groups of the
# programs still running when that process dies, however it dies (its end of a pipe closes). Programs run
# in process groups of their own, so a wrapper's children (and theirs) go with the wrapper.
_REAPER = """
import os, signal, sys
live = set()
for line in sys.stdin:
    op, group = line[0], int(line[1:])
    (live.add if op == "+" else live.discard)(group)
for group in live:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""
_reaper: tuple[int, subprocess.Popen[bytes]] | None = None


def _reaper_write(line: str) -> None:
    """Tell this process's reaper (started on first use, and again in a forked child) about a group."""
    global _reaper
    if _reaper is None or _reaper[0] != os.getpid() or _reaper[1].poll() is not None:
        process = subprocess.Popen([sys.executable, "-S", "-c", _REAPER], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _reaper = (os.getpid(), process)
    stdin = _reaper[1].stdin
    assert stdin is not None
    try:
        stdin.write(line.encode() + b"\n")
        stdin.flush()
    except OSError:
        _reaper = None


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass


def _run_in_group(argv: list[str], timeout: float | None, cwd: str | Path | None = None,
                  env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` in a process group of its own, killed whole (the program, the programs it started,
    theirs) when it times out (:class:`subprocess.TimeoutExpired`), when it finishes and leaves something
    behind, on any exception here (Ctrl-C), and when this process dies (by the reaper, even after
    ``kill -9``). OSError when it cannot start."""
    process = subprocess.Popen(argv, cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_set_death_signal)
    group = process.pid
    _reaper_write(f"+{group}")
    try:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(group)
            process.communicate()
            raise
    finally:
        _kill_group(group)  # whatever the program left running (and everything, on an exception)
        process.wait()
        _reaper_write(f"-{group}")
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def run_program(args: Sequence[str | Path], what: str, *, timeout: float | None, cwd: str | Path | None = None,
                env: Mapping[str, str] | None = None,
                error: type[Exception] = ProgramError) -> subprocess.CompletedProcess[bytes]:
    """Run one command (in a process group of its own, see :func:`_run_in_group`); return the finished
    process, or raise ``error`` with one line that starts with ``what`` and says why (not found, not
    executable, timed out, the exit status and the output's tail)."""
    argv = [str(a) for a in args]
    try:
        done = _run_in_group(argv, timeout, cwd, env)
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
        done = _run_in_group(argv, timeout, env=env)
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
