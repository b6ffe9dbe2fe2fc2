"""Adding metrics to a finished run without encoding again: ``harness metrics RUN --add lpips,dists``.

Every row whose codec succeeded and that lacks one of the named metrics (never computed, or failed) gets
it, computed on the row's reconstruction as :func:`harness.run.reconstruct.reconstruction` gives it back
(kept reconstruction, kept bitstream decoded again, or the published file). Results are appended to the
journal as they come (a later row replaces an earlier one with the same key), so an interrupted
``metrics`` command keeps what it computed; the parquet is rebuilt at the end. The same work is done by
``harness run`` when it is asked for metrics that finished rows lack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.metrics import MetricError, get_metric


@dataclass
class MetricsAdded:
    rows: int  # rows that needed at least one of the metrics
    gained: dict[str, int] = field(default_factory=dict)  # metric -> rows that got a value
    failed: dict[str, int] = field(default_factory=dict)  # metric -> rows where it failed
    errors: dict[str, str] = field(default_factory=dict)  # metric -> one example message
    no_value: dict[str, int] = field(default_factory=dict)  # metric -> rows where it ran but has no value


def add_metrics(run_dir: str | Path, names: list[str], jobs: int = 1) -> MetricsAdded:
    """Compute ``names`` on every successful row of the run in ``run_dir`` that lacks them."""
    from harness.run.executors import execute_local
    from harness.run.jobs import metrics_job
    from harness.run.store import RunStore

    run_dir = Path(run_dir)
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not names:
        raise MetricError("no metric named (e.g. --add lpips,dists)")
    for name in names:
        get_metric(name)  # unknown names fail here, before any work
    store = RunStore(run_dir)
    if not store.journal.is_file():
        raise FileNotFoundError(f"{run_dir}: no rows.jsonl (not a run directory?)")
    store.lock()
    try:
        rows = [row for row in store.rows() if row.ok]
        pending = [metrics_job(row, missing, str(run_dir)) for row in rows
                   if (missing := row.missing_metrics(names, retry_failed=True))]
        kept = [job for job in pending if (
            job.previous.bitstream or job.previous.reconstruction or job.previous.rate_source == "published")]
        if pending and not kept:
            raise MetricError(f"{run_dir}: the run kept neither bitstreams nor reconstructions (made with "
                              "--no-keep-bitstreams), so there is nothing to compute metrics on; run the same "
                              "`harness run` again under a new --run name, without --no-keep-bitstreams")
        added = MetricsAdded(rows=len(pending))
        for result in execute_local(pending, jobs):
            store.append(result.row)
            for name in result.gained:
                added.gained[name] = added.gained.get(name, 0) + 1
            for name in result.no_value:
                added.no_value[name] = added.no_value.get(name, 0) + 1
            for name in result.metric_failed:
                added.failed[name] = added.failed.get(name, 0) + 1
                added.errors.setdefault(name, result.row.metric_errors.get(name, ""))
        store.write_parquet()
        return added
    finally:
        store.unlock()
