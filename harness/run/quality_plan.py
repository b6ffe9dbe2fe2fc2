"""Quality-targeted phases of a run: rounds of search encodes until each codec's curve on each image brackets
its quality targets (``--target-quality``, or a ``--match`` reference's own metric values).

Each round asks :func:`harness.run.quality_search.next_points` for every (image, codec) given the rows the run
already has, and runs the proposed points as ordinary point jobs (role "quality-search") with all the run's metrics;
so every encode serves every target, and an interrupted search resumes from its rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from harness.codecs import Contender
from harness.datasets import Dataset, ImageRef
from harness.metrics import column_info
from harness.run.jobs import EncodeJob
from harness.run.quality_search import MAX_TRIALS, QualityTarget, next_points, outcome
from harness.run.rows import Row
from harness.run.store import RunStore

MAX_ROUNDS = MAX_TRIALS + 2
TargetsFor = Callable[[ImageRef], list[QualityTarget]]
Planner = Callable[[Dataset, Sequence[Contender], list[float]], list[EncodeJob]]


def parse_targets(text: str) -> list[QualityTarget]:
    """``ssimulacra2=90,butteraugli_max=1`` -> targets; a metric *column* name, its direction from its
    declaration. Raises ValueError with one line."""
    targets = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        column, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"--target-quality {part!r}: expected METRIC=VALUE, e.g. ssimulacra2=90")
        info = column_info(column.strip())
        if info is None:
            raise ValueError(f"--target-quality {part!r}: {column.strip()!r} is no metric column "
                             "(see `harness metrics --list`)")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--target-quality {part!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"--target-quality {part!r}: the value must be finite")
        targets.append(QualityTarget(info.name, number, info.higher_is_better))
    if not targets:
        raise ValueError("--target-quality: no target given")
    return targets


def trials_of(rows: Sequence[Row], codec: Contender, image: str) -> dict[float, dict[str, float]]:
    """point -> metric values of the codec's current build on ``image`` (a failed encode counts as tried)."""
    version = codec.version()
    trials: dict[float, dict[str, float]] = {}
    for row in rows:
        if row.codec != codec.label or row.image != image or row.codec_version != version or row.point is None:
            continue
        values = {k: float(v) for k, v in row.values.items() if v is not None} if row.ok else {}
        trials.setdefault(float(row.point), {}).update(values)
    return trials


def reference_targets(rows: Sequence[Row], reference: str, columns: Sequence[str]) -> dict[str, list[QualityTarget]]:
    """Per image, the reference's value of each metric column on it: what a rival's curve must bracket."""
    out: dict[str, list[QualityTarget]] = {}
    for row in rows:
        if row.codec != reference or not row.ok:
            continue
        for column in columns:
            value, info = row.values.get(column), column_info(column)
            if value is not None and math.isfinite(value) and info is not None:
                out.setdefault(row.image, []).append(QualityTarget(column, float(value), info.higher_is_better))
    return out


def search_round(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], targets_for: TargetsFor,
                 plan: Planner) -> list[EncodeJob]:
    """The next round's search encodes (empty: every target is bracketed, unreachable or out of budget)."""
    rows = store.rows()
    jobs: list[EncodeJob] = []
    for ref in dataset.images:
        targets = targets_for(ref)
        if not targets:
            continue
        for codec in codecs:
            if codec.fixed_points:
                continue
            points = next_points(codec.knob, trials_of(rows, codec, ref.name), targets, codec.points_for(ref.name))
            if points:
                single = replace(dataset, images=(ref,))
                jobs += plan(single, [codec], points)
    return jobs


def earlier_rounds(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], plan: Planner) -> list[EncodeJob]:
    """The jobs of the search encodes the run already has: planned again so that a resume finds them done (and
    takes over rows of an earlier schema made with the same configuration) before it searches on."""
    labels = {codec.label: codec for codec in codecs}
    points: dict[tuple[str, str], set[float]] = {}
    for row in store.rows():
        if row.role == "quality-search" and row.codec in labels and row.point is not None:
            points.setdefault((row.image, row.codec), set()).add(float(row.point))
    jobs: list[EncodeJob] = []
    for ref in dataset.images:
        for label, codec in labels.items():
            if found := points.get((ref.name, label)):
                jobs += plan(replace(dataset, images=(ref,)), [codec], sorted(found))
    return jobs


def run_search(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], targets_for: TargetsFor,
               plan: Planner, run: Callable[[list[EncodeJob]], object]) -> None:
    """The earlier rounds' encodes (done), then search rounds until nothing is left to encode."""
    if earlier := earlier_rounds(store, dataset, codecs, plan):
        run(earlier)
    for _ in range(MAX_ROUNDS):
        jobs = search_round(store, dataset, codecs, targets_for, plan)
        if not jobs:
            return
        run(jobs)


def search_outcomes(rows: Sequence[Row], dataset: Dataset, codecs: Sequence[Contender],
                    targets_for: TargetsFor) -> list[tuple[str, str, str, str, int]]:
    """(image, codec, target, outcome, encodes) for every searched target: "reached", "unreachable" or
    "open" (budget spent)."""
    out = []
    for ref in dataset.images:
        for codec in codecs:
            if codec.fixed_points:
                continue
            trials = trials_of(rows, codec, ref.name)
            for target in targets_for(ref):
                out.append((ref.name, codec.label, target.text(), outcome(codec.knob, trials, target), len(trials)))
    return out
