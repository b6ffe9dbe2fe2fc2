"""The metric interface: a metric turns (original, reconstruction) into one or more named columns.

Work that depends only on the original (reference-side network features, text detection) goes in
:meth:`Metric.prepare`; :class:`harness.metrics.MetricSuite` caches its result per original image, so it
is computed once per image and reused for all its reconstructions. Options are declared like a codec's
(``option_defaults``, ``option_choices``; ``cvvdp:display=standard_fhd``), and an instance's columns
(:meth:`Metric.output_columns`) may depend on them, so two viewing conditions never share a column.
A metric that is a function of the pair's error matrix says so with ``uses_error_gram`` and
:meth:`Metric.from_error_gram`: the codec stage computes that matrix anyway, so the pixels are read once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class MetricIdentity:
    """What a metric's values depend on besides the images: its options (defaults spelled out), the
    version of what computes it and the sha256 of the weights it loads."""

    name: str
    options: tuple[tuple[str, str], ...]
    version: str
    weights: tuple[tuple[str, str], ...]  # (file name, sha256)

    @property
    def digest(self) -> str:
        data = {"name": self.name, "options": dict(self.options), "version": self.version,
                "weights": dict(self.weights)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class Metric(ABC):
    name: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]  # the columns with the default options
    description: ClassVar[str] = ""
    # Options a metric string may set, with their defaults (``{"display": "standard_4k"}`` for cvvdp).
    option_defaults: ClassVar[dict[str, str]] = {}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The values are a function of the pair's error matrix (:meth:`from_error_gram`).
    uses_error_gram: ClassVar[bool] = False

    def __init__(self, **options: str) -> None:
        unknown = sorted(set(options) - set(self.option_defaults))
        if unknown:
            known = ", ".join(sorted(self.option_defaults)) or "none"
            raise MetricError(f"metric {self.name!r} does not take the option {unknown[0]!r} (options: {known})")
        self.options: dict[str, str] = {k: str(v) for k, v in options.items()}
        for key, allowed in self.option_choices.items():
            if self.option(key) not in allowed:
                raise MetricError(f"metric {self.name!r}: {key} must be one of {', '.join(allowed)}, "
                                  f"got {self.option(key)!r}")

    def option(self, key: str) -> str:
        return getattr(self, "options", {}).get(key, self.option_defaults[key])

    @property
    def label(self) -> str:
        """The metric string naming this instance: the name and the options that differ from their defaults.
        Its errors are recorded under it."""
        explicit = sorted((k, v) for k, v in getattr(self, "options", {}).items() if v != self.option_defaults.get(k))
        return ":".join([self.name, *(f"{k}={v}" for k, v in explicit)])

    def output_columns(self) -> tuple[Column, ...]:
        """This instance's columns (default: the class's)."""
        return self.columns

    @classmethod
    def column_of(cls, column: str) -> Column | None:
        """The description of result column ``column`` if an instance of this metric produces it."""
        return next((c for c in cls.columns if c.name == column), None)

    def version(self) -> str:
        """The version of what computes the values (a package, a program); "" when it is this code alone."""
        return ""

    def weight_files(self) -> tuple[Path, ...]:
        """The files of weights the metric loads (their sha256 is part of its identity)."""
        return ()

    def identity(self) -> MetricIdentity:
        weights = tuple((p.name, _sha256_of(p)) for p in self.weight_files())
        options = tuple(sorted((k, self.option(k)) for k in self.option_defaults))
        return MetricIdentity(self.name, options, self.version(), weights)

    def from_error_gram(self, gram: np.ndarray, pixels: int) -> dict[str, float | None]:
        """Values from the pair's error matrix (:func:`harness.core.pixelerror.error_gram`) over ``pixels``
        pixels, for a metric that declares ``uses_error_gram``."""
        raise NotImplementedError(f"metric {self.name} is not a function of the error matrix")

    def prepare(self, reference: np.ndarray) -> Any:
        """Reference-side state computed once per original image (default: nothing)."""
        return None

    @abstractmethod
    def compute(self, reference: np.ndarray, reconstruction: np.ndarray, prepared: Any) -> dict[str, float | None]:
        """Values for :attr:`columns`, on HxWx3 uint8 images of the same size. ``None`` means "no value"
        (e.g. text error on an image without text), distinct from 0."""


class PairMetric(Metric):
    """A metric whose columns are, in order, the values of one function of the pair (:meth:`values`), taken on
    :meth:`reference_side` of the original (made once per image by :meth:`prepare`) and :meth:`reconstruction_side`
    of the reconstruction. Images whose smaller side is under ``min_side`` pixels have no value."""

    min_side: ClassVar[int] = 0

    def reference_side(self, reference: np.ndarray) -> Any:
        return reference

    def reconstruction_side(self, reconstruction: np.ndarray) -> Any:
        return reconstruction

    @abstractmethod
    def values(self, reference: Any, reconstruction: Any) -> float | None | tuple[float | None, ...]:
        """One value, or one per column in the order of :meth:`output_columns`."""

    def prepare(self, reference: np.ndarray) -> Any:
        return self.reference_side(reference)

    def compute(self, reference: np.ndarray, reconstruction: np.ndarray, prepared: Any) -> dict[str, float | None]:
        names = [c.name for c in self.output_columns()]
        if min(reference.shape[:2]) < self.min_side:
            return dict.fromkeys(names, None)
        side = prepared if prepared is not None else self.reference_side(reference)
        found = self.values(side, self.reconstruction_side(reconstruction))
        return dict(zip(names, found if isinstance(found, tuple) else (found,), strict=True))


def _sha256_of(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.cache
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A weight file's sha256, read once per process while its size and mtime stay the same."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return "missing"
