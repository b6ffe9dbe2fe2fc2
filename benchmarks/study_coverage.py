"""Coverage of the study's 95% bootstrap intervals over repeated simulated studies.

A real run (JPEG 4:2:0, JPEG 4:4:4 and WebP at qualities 10, 25, 45, 70 on four 128x96 Kodak crops: 12
conditions) is planned as a study once. Then, again and again with a new seed, simulated raters cast
votes drawn from a known Elo per condition (Bradley-Terry; Elo +250 per doubling of bpp, codec offsets
jpeg 0, jpeg-444 -60, webp +90, so the true perceptual BD-rates against JPEG are +18.1% and -22.1%), the
votes are scored with the bootstrap over raters and images, and the benchmark counts how often the
intervals contain the truth: each condition's Elo (centred, as the fit is) and each perceptual BD-rate.

``--nu`` draws "no visible difference" answers from Davidson's model (then the fit is Davidson's too, and
nu's own interval is checked); ``--rater-sd`` gives each rater a fixed deviation per condition (raters
disagree); ``--image-sd`` adds a fixed per-(image, condition) deviation (real images favour different codecs); the
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
    parser.add_argument("--rater-sd", type=float, default=0.0, help="SD of per-(rater, condition) Elo deviations")
    parser.add_argument("--nu", type=float, default=0.0, help="Davidson's tie parameter of the truth (0: no ties)")
    parser.add_argument("--resample", choices=("both", "raters", "images"), default="both")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.pairwise.plan import create_study
    from harness.pairwise.simulate import coverage_study
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep
    from tests.runs import write_crops

    root = Path(tempfile.mkdtemp(prefix="study-coverage-"))
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(write_crops(root / "crops", CROPS))),
              [get_codec(c) for c in OFFSETS], points=[10, 25, 45, 70])
    db = create_study(store.run_dir, "coverage")
    started = time.perf_counter()

    def say(done: int) -> None:
        print(f"\r{done}/{args.studies} studies, {time.perf_counter() - started:.0f} s", end="", file=sys.stderr)

    result = coverage_study(db, OFFSETS, "jpeg", studies=args.studies, votes=args.votes, raters=args.raters,
                            bootstrap=args.bootstrap, image_sd=args.image_sd, rater_sd=args.rater_sd, nu=args.nu,
                            resample=args.resample, slope=SLOPE, progress=say)
    print(file=sys.stderr)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
