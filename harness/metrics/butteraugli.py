"""Butteraugli through the official ``butteraugli_main`` of libjxl (Debian ``libjxl-devtools``, libjxl 0.7).

Columns: ``butteraugli_max`` (the max-norm score, the tool's first output line) and
``butteraugli_pnorm3`` (its ``3-norm:`` line), both lower-is-better, with the tool's defaults: display
intensity target 80 nits, p = 3. Both images are handed to the tool as bare 8-bit PNGs (IHDR, IDAT, IEND
only), which it reads as sRGB. This matters: libjxl reads PNG colour chunks, and with gAMA = 1/2.2 added
to both files of a calibration pair the max-norm moves from 3.9098 to 3.9212; the harness has already
decoded its images to 8-bit RGB without colour management, so the tool must see exactly those pixels.
The original's PNG is written once per original (in :meth:`prepare`) and reused for its reconstructions.

The tool prints the max-norm with 10 decimals and the 3-norm with 6; the values equal the official
tool's output on ``shared/metrics-calibration/perceptual-extra`` (tested within 1e-3 relative).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.images import encode_png
from harness.core.process import (
    ProgramNotFound,
    require_program,
    run_program,
    scaled_timeout,
)
from harness.metrics import register
from harness.metrics.base import Column, MetricError, PairMetric

PROGRAM = "butteraugli_main"
INTENSITY_TARGET = 80.0
PNORM = 3.0


def program() -> str:
    try:
        return require_program(PROGRAM, "libjxl-devtools")
    except ProgramNotFound as exc:
        raise MetricError(f"butteraugli: {exc}") from None


class _BarePng:
    """An image written as a bare PNG in a temporary file, deleted when the object is collected."""

    def __init__(self, rgb: np.ndarray) -> None:
        handle, name = tempfile.mkstemp(suffix=".png", prefix="harness-butteraugli-")
        with os.fdopen(handle, "wb") as out:
            out.write(encode_png(np.ascontiguousarray(rgb, dtype=np.uint8)))
        self.path = Path(name)
        self.shape = rgb.shape
        self._finalizer = weakref.finalize(self, _unlink, name)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def parse_output(stdout: str) -> tuple[float, float]:
    """(max-norm, p-norm) from butteraugli_main's stdout: ``<max>`` then ``<p>-norm: <value>``."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    try:
        maximum = float(lines[0])
        label, value = lines[1].split(":", 1)
        if not label.endswith("-norm"):
            raise ValueError(label)
        return maximum, float(value)
    except (IndexError, ValueError):
        raise MetricError(f"cannot read {PROGRAM} output {' '.join(stdout.split())[:200]!r}") from None


def butteraugli_scores(reference: _BarePng, reconstruction: np.ndarray) -> tuple[float, float]:
    if reconstruction.shape != reference.shape:
        raise MetricError(f"reconstruction {reconstruction.shape} differs from the original {reference.shape}")
    distorted = _BarePng(reconstruction)
    command: list[str | Path] = [program(), reference.path, distorted.path,
               "--intensity_target", f"{INTENSITY_TARGET:g}", "--pnorm", f"{PNORM:g}"]
    done = run_program(command, PROGRAM, timeout=scaled_timeout(reconstruction.shape[0] * reconstruction.shape[1], 60),
                       error=MetricError)
    return parse_output(done.stdout.decode("utf-8", "replace"))


@register
class Butteraugli(PairMetric):
    name = "butteraugli"
    description = "Butteraugli (libjxl 0.7 butteraugli_main, Debian libjxl-devtools), 80 nits, max-norm and 3-norm"
    columns = (
        Column("butteraugli_max", "Butteraugli (max-norm)", higher_is_better=False),
        Column("butteraugli_pnorm3", "Butteraugli (3-norm)", higher_is_better=False),
    )

    def reference_side(self, reference: np.ndarray) -> Any:
        return _BarePng(reference)

    def values(self, reference, reconstruction):
        return butteraugli_scores(reference, reconstruction)
