"""What ``harness run`` was asked, checked before any work: numbers, codec strings and options, metric names,
and how each codec will use the points (a clamped or rounded point is named once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.cli.common import fail, floats, say, split
from harness.cli.plugin import installed


@dataclass(frozen=True)
class RunRequest:
    codecs: list[Any]
    points: list[float] | None
    target_bpps: list[float] | None
    metrics: tuple[str, ...]
    quality_targets: tuple[Any, ...] = ()  # harness.run.quality_search.QualityTarget

    @classmethod
    def check(cls, codec_specs: str, points: str | None, target_bpp: str | None, match: str | None,
              tolerance: float, metrics: str | None, jobs: int, backend: str, scheduler: str | None,
              plugin_values: Mapping[str, Any], target_quality: str | None = None) -> RunRequest:
        """The request, or one line on stderr and exit status 2."""
        if jobs < 1:
            fail(f"--jobs {jobs}: give at least 1 worker process")
        if points and (target_bpp or match):
            fail("--points cannot be combined with --target-bpp or --match")
        if target_bpp and match:
            fail("--target-bpp cannot be combined with --match")
        if target_quality and (points or target_bpp or match):
            fail("--target-quality cannot be combined with --points, --target-bpp or --match")
        from harness.run.quality_plan import parse_targets

        try:
            quality = tuple(parse_targets(target_quality)) if target_quality is not None else ()
        except ValueError as exc:
            fail(str(exc))
        if backend == "dask" and not scheduler:
            fail("--backend dask needs --scheduler tcp://HOST:PORT (the address `dask scheduler` prints)")
        if scheduler and backend != "dask":
            fail("--scheduler is only used with --backend dask")
        if not tolerance >= 0 or tolerance == float("inf"):
            fail(f"--tolerance {tolerance:g}: give a relative bpp error of 0 or more, e.g. 0.05")
        numbers = floats(points, "--points")
        targets = floats(target_bpp, "--target-bpp", positive=True)
        # "jpeg,,jpeg" is one codec, run once
        specs = list(dict.fromkeys(split(codec_specs)))
        if not specs:
            fail(f"--codecs {codec_specs!r}: name at least one codec (see `harness codecs`)")
        for hook, value in installed().hooks("run", plugin_values):
            specs = hook(specs, value)
        from harness.codecs import CodecError, get_codec
        from harness.metrics import DEFAULT_METRICS, MetricError, get_metric, metric_of_column

        try:
            codecs = [get_codec(s) for s in specs]
            metric_names = tuple(dict.fromkeys(split(metrics))) or DEFAULT_METRICS
            # A quality target's metric is computed whether or not --metrics names it.
            metric_names += tuple(dict.fromkeys(m for t in quality if (m := metric_of_column(t.metric))
                                                and m not in metric_names))
            for name in metric_names:
                get_metric(name)
        except (CodecError, MetricError) as exc:
            fail(str(exc))
        if match and not any(match in (c.label, c.name) for c in codecs):
            fail(f"--match {match}: the reference codec must be one of --codecs ({', '.join(specs)})")
        if numbers:
            for codec in codecs:
                say_adjusted_points(codec, numbers)
        return cls(codecs, numbers, targets, metric_names, quality)


def say_adjusted_points(codec: Any, points: list[float]) -> None:
    """One line per point the codec will not use as given (out of its knob's range, or not a whole number)."""
    if codec.fixed_points:
        return
    knob = codec.knob
    for point in dict.fromkeys(points):
        used = knob.clamp(point)
        if used != point:
            how = "clamped" if not knob.low <= point <= knob.high else "rounded"
            say(f"{codec.label}: point {point:g} {how} to {used:g} ({knob.name} runs from {knob.low:g} to "
                f"{knob.high:g})", "note:")
