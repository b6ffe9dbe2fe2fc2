"""The metric interface: a metric turns (original, reconstruction) into one or more named columns.

Work that depends only on the original (reference-side network features, text detection) goes in
:meth:`Metric.prepare`; :class:`harness.metrics.MetricSuite` caches its result per original image, so it
is computed once per image and reused for all its reconstructions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


class MetricError(RuntimeError):
    """A metric cannot be computed; the message is one line."""


@dataclass(frozen=True)
class Column:
    """One result column: its name in the parquet, a label for tables and axes, unit and direction."""

    name: str
    label: str
    unit: str = ""
    higher_is_better: bool = True

    @property
    def axis_label(self) -> str:
        return f"{self.label} [{self.unit}]" if self.unit else self.label


class Metric(ABC):
    name: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    description: ClassVar[str] = ""

    def prepare(self, reference: np.ndarray) -> Any:
        """Reference-side state computed once per original image (default: nothing)."""
        return None

    @abstractmethod
    def compute(self, reference: np.ndarray, reconstruction: np.ndarray, prepared: Any) -> dict[str, float | None]:
        """Values for :attr:`columns`, on HxWx3 uint8 images of the same size. ``None`` means "no value"
        (e.g. text error on an image without text), distinct from 0."""
