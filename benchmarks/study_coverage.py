"""Coverage of the study's 95% bootstrap intervals over repeated simulated studies.

A real run (JPEG 4:2:0, JPEG 4:4:4 and WebP at qualities 10, 25, 45, 70 on four 128x96 Kodak crops: 12
conditions) is planned as a study once. Then, again and again with a new seed, simulated raters cast
votes drawn from a known Elo per condition (Bradley-Terry; Elo +250 per doubling of bpp, codec offsets
jpeg 0, jpeg-444 -60, webp +90, so the true perceptual BD-rates against JPEG are +18.1% and -22.1%), the
votes are scored with the bootstrap over raters and images, and the benchmark counts how often the
intervals contain the truth: each condition's Elo (centred, as the fit is) and each perceptual BD-rate.

``--image-sd`` adds a fixed per-(image, condition) deviation (real images favour different codecs); the
truth is then the population Elo, which the few images of a study only sample, and coverage shows whether
the image half of the bootstrap accounts for that.

    python benchmarks/study_coverage.py --studies 100 --bootstrap 400
    python benchmarks/study_coverage.py --studies 100 --bootstrap 400 --image-sd 40
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OFFSETS = {"jpeg": 0.0, "jpeg-444": -60.0, "webp": 90.0}
SLOPE = 250.0
CROPS = (("kodim23", 160, 280), ("kodim13", 250, 350), ("kodim04", 100, 250), ("kodim19", 300, 200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=100, help="simulated studies")
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--bootstrap", type=int, default=400)
    parser.add_argument("--image-sd", type=float, default=0.0, help="SD of per-(image, condition) Elo deviations")
    parser.add_argument("--resample", choices=("both", "raters", "images"), default="both")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.pairwise.plan import create_study
    from harness.pairwise.report import bd_table, condition_info
    from harness.pairwise.scoring import score_votes
    from harness.pairwise.simulate import (
        Truth,
        rate_shift_truth,
        simulate_votes,
        true_bd_rate,
    )
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep
    from tests.runs import write_crops

    root = Path(tempfile.mkdtemp(prefix="study-coverage-"))
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(write_crops(root / "crops", CROPS))),
              [get_codec(c) for c in OFFSETS], points=[10, 25, 45, 70])
    db = create_study(store.run_dir, "coverage", golden_every=0)
    info = condition_info(db)
    conditions = list(info["condition"])
    truth_elo = rate_shift_truth(info, OFFSETS, SLOPE)
    images = sorted(r["name"] for r in db.images())
    known = {c: true_bd_rate(OFFSETS, "jpeg", c, SLOPE) for c in ("jpeg-444", "webp")}

    elo_hits = np.zeros(len(conditions))
    bd_hits = dict.fromkeys(known, 0)
    bd_missing = dict.fromkeys(known, 0)
    rhos, widths = [], {c: [] for c in known}
    started = time.perf_counter()
    for seed in range(args.studies):
        truth = Truth(truth_elo, images, image_sd=args.image_sd, seed=seed)
        votes = simulate_votes(db, truth, args.votes, n_raters=args.raters, golden_every=0, seed=seed)
        scores = score_votes(votes, conditions, bootstrap=args.bootstrap, seed=seed, resample=args.resample)
        table = scores.table().merge(info, on="condition")
        true = np.array([truth_elo[c] for c in conditions])
        elo_hits += (scores.low <= true) & (true <= scores.high)
        rhos.append(scipy.stats.spearmanr(scores.elo, true).statistic)
        bd = bd_table(table, scores, "jpeg").set_index("codec")
        for codec, value in known.items():
            low, high = bd.loc[codec, "low"], bd.loc[codec, "high"]
            if not np.isfinite(low):
                bd_missing[codec] += 1
                continue
            bd_hits[codec] += bool(low <= value <= high)
            widths[codec].append(high - low)
        done = seed + 1
        print(f"\r{done}/{args.studies} studies, {time.perf_counter() - started:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    n = args.studies
    result = {
        "studies": n, "votes": args.votes, "raters": args.raters, "images": len(images),
        "conditions": len(conditions), "bootstrap": args.bootstrap, "image_sd": args.image_sd, "resample": args.resample,
        "elo_coverage_mean": float(elo_hits.mean() / n), "elo_coverage_min": float(elo_hits.min() / n),
        "spearman_median": float(np.median(rhos)), "spearman_min": float(np.min(rhos)),
        "bd_true": known,
        "bd_coverage": {c: bd_hits[c] / max(n - bd_missing[c], 1) for c in known},
        "bd_missing": bd_missing,
        "bd_interval_width_median": {c: float(np.median(w)) if w else None for c, w in widths.items()},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
