"""Torch metrics on the GPU against the CPU: the values must agree within 1e-4 (issue: --device).

    python3 benchmarks/metrics_device.py [IMAGE_DIR] [--limit N]

Runs LPIPS (AlexNet, VGG), DISTS, MS-SSIM and ColorVideoVDP on JPEG-compressed Kodak images (quality 30),
once with ``--device cpu`` and once with ``--device cuda``, each in its own process (the device is fixed
per process), and prints the largest absolute difference per column and the seconds per image on each
device. Exits 1 if a difference exceeds 1e-4, 2 if torch sees no CUDA GPU.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

METRICS = ("lpips", "lpips_vgg", "dists", "ms_ssim", "cvvdp")
TOLERANCE = 1e-4


def evaluate(folder: Path, limit: int) -> None:
    """Child process: print one JSON object {image: {column: value}, "_seconds": s}."""
    import numpy as np
    from PIL import Image

    from harness.core.images import load_image
    from harness.metrics import MetricSuite

    suite = MetricSuite(METRICS)
    results: dict[str, object] = {}
    start = time.perf_counter()
    for path in sorted(folder.glob("*.png"))[:limit]:
        original = load_image(path).pixels
        buffer = io.BytesIO()
        Image.fromarray(original).save(buffer, "JPEG", quality=30)
        decoded = np.asarray(Image.open(buffer).convert("RGB"))
        values, errors = suite.evaluate(path.name, original, decoded)
        if errors:
            raise SystemExit("; ".join(errors))
        results[path.name] = values
    results["_seconds"] = time.perf_counter() - start
    print(json.dumps(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/kodak"))
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--child", choices=("cpu", "cuda"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        evaluate(Path(args.folder), args.limit)
        return 0
    import torch

    if not torch.cuda.is_available():
        print("torch sees no CUDA GPU: nothing to compare", file=sys.stderr)
        return 2
    runs = {}
    for device in ("cpu", "cuda"):
        env = dict(os.environ, HARNESS_METRIC_DEVICE=device)
        done = subprocess.run([sys.executable, __file__, args.folder, "--limit", str(args.limit), "--child", device],
                              env=env, capture_output=True, text=True, check=True)
        runs[device] = json.loads(done.stdout.strip().splitlines()[-1])
    images = [k for k in runs["cpu"] if not k.startswith("_")]
    worst: dict[str, float] = {}
    for image in images:
        for column, value in runs["cpu"][image].items():
            other = runs["cuda"][image][column]
            if value is not None and other is not None:
                worst[column] = max(worst.get(column, 0.0), abs(value - other))
    for column, difference in sorted(worst.items()):
        print(f"{column:14s} max |cpu - cuda| = {difference:.3g}")
    for device in ("cpu", "cuda"):
        print(f"{device}: {runs[device]['_seconds'] / len(images):.2f} s per image ({', '.join(METRICS)})")
    return 1 if any(d > TOLERANCE for d in worst.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
