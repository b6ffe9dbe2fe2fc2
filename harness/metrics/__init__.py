"""Registry of metrics and the per-process suite that evaluates them with reference-side caching."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from harness.core.errors import one_line
from harness.core.registry import Registry, parse_spec
from harness.metrics.base import Column, Metric, MetricError

__all__ = ["Column", "Metric", "MetricError", "MetricSuite", "register", "metric_names", "get_metric",
           "column_info", "metric_of_column", "DEFAULT_METRICS"]

# What a run computes when the user names no metrics: cheap and always available.
DEFAULT_METRICS = ("psnr",)

_METRICS: Registry[Metric] = Registry("metric", __name__, MetricError, skip={"base"}, group="harness.metrics")
register = _METRICS.register


def metric_names() -> list[str]:
    return _METRICS.names()


def get_metric(name: str) -> Metric:
    """The metric named ``name``, or ``name:key=value:...`` for a metric that takes options
    (e.g. ``cvvdp:display=standard_fhd``)."""
    base, options = parse_spec(name, "metric", MetricError)
    cls = _METRICS.get(base)
    try:
        return cls(**options)
    except TypeError:  # a metric whose constructor takes no options
        raise MetricError(f"metric {base!r} does not take the options {', '.join(options)}") from None


def metric_of_column(column: str) -> str | None:
    """The name of the registered metric that produces result column ``column``, or None."""
    for cls in _METRICS.classes():
        if cls.column_of(column) is not None:
            return cls.name
    return None


def column_info(column: str) -> Column | None:
    """The description of a result column produced by any registered metric, or None."""
    for cls in _METRICS.classes():
        found = cls.column_of(column)
        if found is not None:
            return found
    return None


class MetricSuite:
    """Metrics loaded once per process, with reference-side state cached per original image."""

    def __init__(self, names: tuple[str, ...], cache_size: int = 2) -> None:
        self.metrics = [get_metric(name) for name in names]
        self._prepared: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_size = cache_size * max(1, len(self.metrics))

    def _prepared_state(self, metric: Metric, image_key: str, reference: np.ndarray) -> Any:
        key = (metric.label, image_key)
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        state = metric.prepare(reference)
        self._prepared[key] = state
        while len(self._prepared) > self._cache_size:
            self._prepared.popitem(last=False)
        return state

    def evaluate_each(self, image_key: str, reference: np.ndarray, reconstruction: np.ndarray,
                      error_gram: np.ndarray | None = None) -> dict[str, tuple[dict[str, float | None], str | None]]:
        """Per metric label (``cvvdp:display=standard_fhd``), its columns' values and None, or no values and
        its one-line error: a failing metric is recorded and the others still count. ``error_gram``: the
        pair's error matrix (:func:`harness.core.pixelerror.error_gram`) when the caller has it; metrics
        that declare ``uses_error_gram`` then do not pass over the pixels again."""
        outcomes: dict[str, tuple[dict[str, float | None], str | None]] = {}
        for metric in self.metrics:
            try:
                if error_gram is not None and metric.uses_error_gram:
                    pixels = reference.shape[0] * reference.shape[1]
                    outcomes[metric.label] = (dict(metric.from_error_gram(error_gram, pixels)), None)
                    continue
                state = self._prepared_state(metric, image_key, reference)
                outcomes[metric.label] = (dict(metric.compute(reference, reconstruction, state)), None)
            except Exception as exc:  # noqa: BLE001  (a failing metric is recorded, the run goes on)
                outcomes[metric.label] = ({}, one_line(exc))
        return outcomes

    def evaluate(self, image_key: str, reference: np.ndarray, reconstruction: np.ndarray) -> tuple[dict[str, float | None], list[str]]:
        """All metric columns, and one error line per metric that failed (the others still count)."""
        values: dict[str, float | None] = {}
        errors: list[str] = []
        for name, (got, error) in self.evaluate_each(image_key, reference, reconstruction).items():
            values.update(got)
            if error is not None:
                errors.append(f"metric {name}: {error}")
        return values, errors


_SUITES: dict[tuple[str, ...], MetricSuite] = {}


def suite_for(names: tuple[str, ...]) -> MetricSuite:
    """The process-wide suite for these metric names (networks load once per worker process)."""
    if names not in _SUITES:
        _SUITES[names] = MetricSuite(names)
    return _SUITES[names]
