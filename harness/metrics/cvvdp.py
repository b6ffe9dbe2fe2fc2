"""ColorVideoVDP (Mantiuk et al. 2024) through PyPI ``cvvdp`` (module ``pycvvdp``), in JOD units.

Column ``cvvdp_jod``: just-objectionable-difference units, 10 = no visible difference, higher is better.
Each 8-bit image is one frame that the metric reads as sRGB shown on a display model; the default is
``standard_4k`` (a 30-inch 4K SDR monitor, 200 cd/m^2 peak, seen from 0.7 m: 75.4 pixels per degree),
the model the official examples use. Another model of pycvvdp's ``display_models.json`` is chosen with a
metric option, ``cvvdp:display=standard_fhd``; its values then go to ``cvvdp_jod_<display>`` so that
numbers for different viewing conditions never share a column.

The call is the official one, ``cvvdp(display_name=...).predict(test, reference, dim_order='HWC')`` with
uint8 HxWx3 arrays; the wheel carries its parameters and CSF tables, so nothing is downloaded. ``import
pycvvdp`` imports torchvision, which needs the CPU-torch fix of :mod:`harness.core.torchsetup`. Runs on
the device of ``--device`` (:func:`harness.core.torchsetup.metric_device`). Calibrated against the
official values of ``shared/metrics-calibration/perceptual-extra`` (within 0.01 JOD, tested).
"""

from __future__ import annotations

import functools
import threading
from typing import Any, ClassVar

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric, MetricError

DEFAULT_DISPLAY = "standard_4k"
_PREFIX = "cvvdp_jod_"  # the columns of other display models: cvvdp_jod_<display>
_lock = threading.Lock()


@functools.cache
def load_cvvdp(display: str, device: str) -> Any:
    """pycvvdp's metric object for one display model and device, created once per process."""
    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    try:
        import pycvvdp  # type: ignore[import-untyped]
        import torch
    except ImportError as exc:
        raise MetricError(f"cvvdp needs the PyPI package cvvdp (scripts/setup.sh installs it): {exc}") from None
    try:
        return pycvvdp.cvvdp(display_name=display, device=torch.device(device), quiet=True)
    except pycvvdp.vq_exception as exc:  # e.g. a display name not in its display_models.json
        raise MetricError(f"cvvdp: cannot load display model {display!r} ({type(exc).__name__}: {exc})") from None


def cvvdp_jod(reference: np.ndarray, reconstruction: np.ndarray, display: str = DEFAULT_DISPLAY,
              device: str | None = None) -> float:
    """ColorVideoVDP JOD of ``reconstruction`` against ``reference`` (HxWx3 uint8 sRGB)."""
    if reference.shape != reconstruction.shape:
        raise MetricError(f"reconstruction {reconstruction.shape} differs from the original {reference.shape}")
    import torch

    from harness.core.torchsetup import metric_device

    with _lock:
        metric = load_cvvdp(display, metric_device(device))
    with torch.inference_mode():
        jod, _ = metric.predict(np.ascontiguousarray(reconstruction), np.ascontiguousarray(reference), dim_order="HWC")
    return float(jod)


@register
class Cvvdp(Metric):
    name = "cvvdp"
    description = f"ColorVideoVDP (PyPI cvvdp) in JOD, display model {DEFAULT_DISPLAY} (option display=NAME)"
    columns: ClassVar[tuple[Column, ...]] = (Column("cvvdp_jod", "ColorVideoVDP", "JOD", True),)
    option_defaults: ClassVar[dict[str, str]] = {"display": DEFAULT_DISPLAY}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.display = self.option("display")
        self.column = self._column(self.display).name
        self.columns = self.output_columns()  # type: ignore[misc,assignment]  # this instance's columns

    @staticmethod
    def _column(display: str) -> Column:
        if display == DEFAULT_DISPLAY:
            return Cvvdp.columns[0]
        return Column(f"{_PREFIX}{display}", f"ColorVideoVDP ({display})", "JOD", True)

    def output_columns(self) -> tuple[Column, ...]:
        return (self._column(self.display),)

    @classmethod
    def column_of(cls, column: str) -> Column | None:
        if column.startswith(_PREFIX) and len(column) > len(_PREFIX):
            return cls._column(column[len(_PREFIX):])
        return super().column_of(column)

    def version(self) -> str:
        return f"cvvdp {_package_version('cvvdp')}"

    def compute(self, reference, reconstruction, prepared):
        return {self._column(self.display).name: cvvdp_jod(reference, reconstruction, self.display)}


def _package_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
