"""Adding metric columns to a finished run from its kept reconstructions, without re-encoding.

``harness metrics RUN --add lpips,dists`` calls :func:`add_metrics`. It reads the run's journal
(``rows.jsonl``, the source of truth from which ``results.parquet`` is rebuilt), evaluates the named
metrics on every successful row that kept its reconstruction (``reconstruction``: a PNG path relative to
the run directory) against its original (``image_path``), then rewrites the journal atomically (temporary
file + rename) and rebuilds the parquet. Rows are grouped by original, so reference-side work (network
features, text detection) is done once per original. A row whose new metric fails becomes ``failed``
with the error, as in a normal run. Do not run it while a run is still writing to the same directory.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.metrics import MetricError, get_metric


def _evaluate_group(run_dir: str, image_path: str, image_name: str, items: list[tuple[str, str]],
                    names: tuple[str, ...]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """Metric values for the reconstructions of one original: (job_key, values, errors) per item."""
    from harness.core.images import ImageError, cached_load, load_image
    from harness.metrics import suite_for

    suite = suite_for(names)
    try:
        original = cached_load(image_path, image_name)
    except ImageError as exc:
        return [(key, {}, [f"original: {exc}"]) for key, _ in items]
    out = []
    for key, relative in items:
        try:
            recon = load_image(Path(run_dir) / relative).pixels
        except ImageError as exc:
            out.append((key, {}, [f"reconstruction: {exc}"]))
            continue
        if recon.shape != original.pixels.shape:
            out.append((key, {}, [f"reconstruction {Path(run_dir) / relative}: size {recon.shape[1]}x{recon.shape[0]}"
                                  f" differs from the original's {original.width}x{original.height}"]))
            continue
        values, errors = suite.evaluate(original.sha256, original.pixels, recon)
        out.append((key, values, errors))
    return out


def add_metrics(run_dir: Path, names: list[str], jobs: int = 1) -> int:
    """Compute ``names`` on the kept reconstructions of the run in ``run_dir`` and store the new columns.
    Returns the number of rows that got values."""
    from harness.run.store import RunStore

    run_dir = Path(run_dir)
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise MetricError("no metric named (e.g. --add lpips,dists)")
    for name in names:
        get_metric(name)  # unknown names fail here, before any work
    store = RunStore(run_dir)
    if not store.journal.is_file():
        raise FileNotFoundError(f"{run_dir}: no rows.jsonl (not a run directory?)")
    rows = store.rows()
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        if row.get("status") == "ok" and row.get("reconstruction"):
            if not row.get("image_path"):
                raise MetricError(f"{store.journal}: row {row['job_key']} has no image_path (the original is unknown)")
            groups[(row["image_path"], row.get("image") or Path(row["image_path"]).stem)].append(
                (row["job_key"], row["reconstruction"]))
    if not groups:
        raise MetricError(f"{run_dir}: no kept reconstructions (run with --keep-reconstructions)")

    args = [(str(run_dir), path, image, items, tuple(names)) for (path, image), items in groups.items()]
    if jobs > 1 and len(args) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs)(delayed(_evaluate_group)(*a) for a in args)
    else:
        results = [_evaluate_group(*a) for a in args]

    by_key = {row["job_key"]: row for row in rows}
    updated = 0
    for group in results:
        for key, values, errors in group:
            row = by_key[key]
            row.update(values)
            if errors:
                row["status"] = "failed"
                row["error"] = "; ".join(filter(None, [row.get("error"), *errors]))
            if values:
                updated += 1
    store.rewrite(rows)
    store.write_parquet()
    return updated
