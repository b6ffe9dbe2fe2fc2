"""What a quality-targeted search costs, read from a run's rows: encodes per (image, codec, target) of the
quality search beside the rate search's encodes per matched point (the baseline, same run), and metric
evaluations per search encode.

    python3 benchmarks/quality_search.py RUN

RUN is a ``--match`` or ``--target-quality`` run folder. Each search encode is one row (role
``quality-search``) that computed every metric of the run once; all of an (image, codec)'s targets read
those rows, so the encodes a target costs are the (image, codec)'s search encodes over its targets.
Rate-matched rows (``target_bpp`` set) record their rate search's encodes in ``search_encodes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.analysis.selection import load_run, run_match, run_quality_targets
from harness.codecs import get_codec
from harness.metrics import metric_of_column
from harness.run.quality_plan import reference_targets
from harness.run.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    df = load_run(args.run)
    rows = RunStore(args.run).rows()
    match = run_match(args.run)
    ok = df[df["status"] == "ok"]
    columns = [c for c in ok.columns if metric_of_column(c) and ok[c].notna().any()]
    metrics = sorted({metric_of_column(c) for c in columns})
    if match:
        per_image = reference_targets(rows, match, columns)
        targets = {image: len(t) for image, t in per_image.items()}
    else:
        texts = run_quality_targets(args.run)
        targets = {str(image): len(texts) for image in ok["image"].unique()}
    print(f"{args.run}: metrics {', '.join(metrics)} ({len(columns)} columns)")
    print(f"{'codec':<22} {'knob':<10} {'rate search/point':>18} {'quality encodes':>16} {'targets':>8} "
          f"{'encodes/target':>15}")
    totals: dict[str, list[float]] = {"continuous": [], "integer": []}
    for codec, mine in ok.groupby("codec"):
        if (mine["rate_source"] == "published").all():
            continue
        knob = get_codec(str(codec)).knob
        kind = "integer" if knob.integer else "continuous"
        matched = mine[mine["target_bpp"].notna()]
        rate = matched["search_encodes"].mean() if len(matched) else float("nan")
        quality = mine[mine["role"] == "quality-search"]
        n_targets = sum(targets.get(str(image), 0) for image in mine["image"].unique())
        per_target = len(quality) / n_targets if n_targets else float("nan")
        if n_targets:
            totals[kind] += [len(quality), n_targets]
        print(f"{codec:<22} {kind:<10} {rate:>18.2f} {len(quality):>16d} {n_targets:>8d} {per_target:>15.2f}")
    for kind, values in totals.items():
        encodes, served = sum(values[0::2]), sum(values[1::2])
        if served:
            print(f"mean over {kind} knobs: {encodes / served:.2f} encodes per (image, codec, target)")
    print(f"metric evaluations per search encode: {len(metrics)} (one per metric, every target reads it)")


if __name__ == "__main__":
    main()
