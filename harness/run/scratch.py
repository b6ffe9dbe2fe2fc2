"""Temporary files of a run live in the run folder, per process: ``RUN/.tmp/<pid>/``.

Codecs write their temporary folders under ``TMPDIR``; a run points it at its own scratch folder, and
every invocation first removes the scratch folders of processes that no longer exist. So a run killed
with ``kill -9`` leaves nothing in the system's temporary folder, and its leftovers in the run folder go
the next time the run is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(run_dir: Path) -> int:
    """Remove the scratch folders of processes that are gone; returns how many were removed."""
    base = Path(run_dir) / ".tmp"
    removed = 0
    if base.is_dir():
        for folder in base.iterdir():
            if folder.name.isdigit() and int(folder.name) != os.getpid() and not _alive(int(folder.name)):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


@contextlib.contextmanager
def run_scratch(run_dir: Path) -> Iterator[Path]:
    """This process (and the workers it starts) writes temporary files under ``RUN/.tmp/<pid>/``."""
    remove_stale(run_dir)
    mine = Path(run_dir) / ".tmp" / str(os.getpid())
    mine.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(mine)
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        yield mine
    finally:
        if previous is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous
        tempfile.tempdir = None
        shutil.rmtree(mine, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last process out removes the folder (never another's files)
            mine.parent.rmdir()
