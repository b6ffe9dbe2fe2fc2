"""What ``harness run`` (and ``harness metrics --add``) print: failure lines, the closing line, notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.cli.common import say

if TYPE_CHECKING:
    from harness.run.rows import Row


def at(row: Row) -> str:
    """Where a row sits on its codec's curve, for messages: ``q 50``, ``target 0.5 bpp`` or ``no point``."""
    from harness.run.jobs import where

    return where(row.point, row.target_bpp, row.knob)


def print_result(result: Any, console: Any) -> None:
    """The lines of one finished job that did not go well (the progress bar's console)."""
    row = result.row
    if row.failed:
        say(f"{row.codec} {row.image} {at(row)}: {row.error}", "failed", "red", console)
    for name in result.metric_failed:
        say(f"{row.codec} {row.image} {at(row)}: {row.metric_errors.get(name)}", f"metric {name} failed",
            "yellow", console)


def count_metric_errors(rows: Sequence[Row]) -> dict[str, int]:
    """Per metric, the successful rows where it failed."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.ok:
            for name in row.metric_errors:
                counts[name] = counts.get(name, 0) + 1
    return counts


def failures(rows: Sequence[Row]) -> tuple[int, int]:
    """(rows whose codec failed, successful rows with at least one failed metric): the exit status is
    their sum (at most 100)."""
    return sum(row.failed for row in rows), sum(1 for row in rows if row.ok and row.metric_errors)


def closing_line(summary: Any, rows: Sequence[Row], parquet: Any) -> str:
    """``N jobs: ...; R rows, F failed (C codec, M with a failed metric: lpips 7) -> parquet``."""
    codec_failed, metric_failed = failures(rows)
    absent = sum(row.status == "absent" for row in rows)
    by_metric = ", ".join(f"{name} {n}" for name, n in sorted(count_metric_errors(rows).items()))
    failed = (f"{codec_failed + metric_failed} failed ({codec_failed} codec, {metric_failed} with a failed "
              f"metric: {by_metric})" if metric_failed else f"{codec_failed} failed")
    return (f"{summary.total} jobs: {summary.ran} encoded, {summary.skipped} already done"
            + (f", {summary.completed} completed without encoding" if summary.completed else "")
            + (f" ({summary.adopted} rows of an earlier harness kept: their parameters equal the current "
               "configuration)" if getattr(summary, "adopted", 0) else "")
            + f"; {len(rows)} rows, {failed}"
            + (f", {absent} not published (no reconstruction of that image)" if absent else "")
            + f" -> {parquet}")


def print_rate_misses(rows: Sequence[Row], tolerance: float) -> None:
    """Rate-targeted rows whose codec could not reach the target within the tolerance (integer knobs)."""
    misses = [r for r in rows if r.ok and r.target_bpp and r.bpp is not None
              and abs(r.bpp / r.target_bpp - 1) > tolerance + 1e-12]
    if not misses:
        return
    say("(their knob has no finer step; reports compare them at the exact target on the codec's own curve, "
        "interpolated between the kept search points):",
        f"{len(misses)} rate-matched rows missed the target by more than {tolerance:.0%}")
    for r in sorted(misses, key=lambda r: (r.codec, r.image, r.target_bpp or 0)):
        bpp, target = float(r.bpp or 0), float(r.target_bpp or 0)
        say(f"  {r.codec} {r.image}: target {target:.4g} bpp, got {bpp:.4g} ({bpp / target - 1:+.1%}) at {at(r)}")


def print_metric_changes(gained: dict[str, int], missing: dict[str, int], no_value: dict[str, int]) -> None:
    for name, n in sorted(gained.items()):
        say(f"{n} rows gained {name} (no encode)")
    for name, n in sorted(no_value.items()):
        say(f"{n} rows computed {name} without a value: the metric has none for these images "
            f"(e.g. MS-SSIM needs both sides of at least 161 px; text metrics need text)")
    for name, n in sorted(missing.items()):
        say(f"(the metric failed; see the error_{name} column; fix the cause and run again with --retry-failed)",
            f"{n} rows have no {name}")
