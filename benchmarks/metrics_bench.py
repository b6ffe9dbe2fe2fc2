"""Benchmark of the metric stage: the harness's MetricSuite against direct pyiqa calls, on Kodak.

Speed: for each Kodak image, the reconstructions of a small run (by default the harness's JPEG 4:2:0 and
4:4:4 adapters at their default points, 14 per image) are scored for LPIPS (AlexNet), LPIPS (VGG) and
DISTS twice:

- directly: ``metric = pyiqa.create_metric(name)`` once per metric, then ``metric(dist, ref)`` per pair
  (pyiqa runs the network on both images every time);
- through the harness: ``MetricSuite(("lpips", "lpips_vgg", "dists")).evaluate(...)`` per pair, which
  computes the reference-side features once per original.

Network loading is excluded from both timings (reported separately). The values must agree to 1e-6.

Memory (``--memory``): the suite on a 12 MP image (4000x3000, an upscaled Kodak photograph, and its JPEG
reconstruction) in a fresh process; reports the peak resident set size (``ru_maxrss``).

    python benchmarks/metrics_bench.py --images 4
    python benchmarks/metrics_bench.py --memory

Set ``TORCH_HOME`` to a torch cache holding the weights (offline: ``../shared/weights/torch_home``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TORCH_HOME", str(REPO.parent / "shared" / "weights" / "torch_home"))

METRICS = {"lpips": ("lpips", "lpips_alex"), "lpips_vgg": ("lpips-vgg", "lpips_vgg"), "dists": ("dists", "dists")}


def reconstructions(rgb: np.ndarray, codecs: list[str]) -> list[np.ndarray]:
    from harness.codecs import get_codec
    from harness.core.images import SourceImage

    image = SourceImage("bench", Path("bench.png"), "0" * 64, rgb)
    out = []
    for spec in codecs:
        codec = get_codec(spec)
        out += [codec.compress(image, p).reconstruction for p in codec.points_for(image)]
    return out


def speed(args: argparse.Namespace) -> dict:
    import torch

    from harness.core.images import load_image
    from harness.core.torchsetup import create_pyiqa_metric
    from harness.metrics import MetricSuite
    from harness.metrics.perceptual import to_tensor

    torch.set_num_threads(args.threads)
    names = tuple(args.metrics.split(","))
    kodak = Path(args.kodak)
    images = sorted(kodak.glob("kodim*.png"))[: args.images]
    t0 = time.perf_counter()
    direct = {name: create_pyiqa_metric(METRICS[name][0]) for name in names}
    load_direct = time.perf_counter() - t0
    suite = MetricSuite(names)
    t0 = time.perf_counter()
    for metric in suite.metrics:
        metric.model  # noqa: B018 - load the network now, outside the timing
    load_suite = time.perf_counter() - t0

    time_direct = time_suite = cpu_direct = cpu_suite = 0.0
    max_diff = 0.0
    pairs = 0
    for path in images:
        ref = load_image(path).pixels
        recons = reconstructions(ref, args.codecs.split(","))
        # The two arms alternate pair by pair, so load from other processes on a shared machine hits both
        # alike. Direct: what a script calling pyiqa per pair does (tensors from the same uint8 pixels).
        # Harness: the metric stage as the runner calls it, image by image (its first pair pays for the
        # reference features).
        for recon in recons:
            w0, c0 = time.perf_counter(), time.process_time()
            ref_t, dist_t = to_tensor(ref), to_tensor(recon)
            direct_values = {METRICS[n][1]: float(direct[n](dist_t, ref_t)) for n in names}
            w1, c1 = time.perf_counter(), time.process_time()
            suite_values = suite.evaluate(str(path), ref, recon)[0]
            w2, c2 = time.perf_counter(), time.process_time()
            time_direct += w1 - w0
            time_suite += w2 - w1
            cpu_direct += c1 - c0
            cpu_suite += c2 - c1
            max_diff = max(max_diff, *(abs(direct_values[c] - suite_values[c]) for c in direct_values))
        pairs += len(recons)
        print(f"{path.name}: {len(recons)} reconstructions; cumulative wall direct {time_direct:.1f} s, "
              f"harness {time_suite:.1f} s; CPU direct {cpu_direct:.1f} s, harness {cpu_suite:.1f} s; "
              f"max |diff| {max_diff:.2e}", flush=True)
    return {
        "images": len(images), "pairs": pairs, "metrics": list(names), "codecs": args.codecs,
        "threads": args.threads, "direct_seconds": round(time_direct, 2), "harness_seconds": round(time_suite, 2),
        "ratio": round(time_direct / time_suite, 3), "cpu_direct_seconds": round(cpu_direct, 2),
        "cpu_harness_seconds": round(cpu_suite, 2), "cpu_ratio": round(cpu_direct / cpu_suite, 3),
        "max_abs_diff": max_diff,
        "load_seconds_direct": round(load_direct, 2), "load_seconds_harness": round(load_suite, 2),
        "direct_per_pair_seconds": round(time_direct / pairs, 3),
    }


def memory_child(args: argparse.Namespace) -> None:
    """Runs in a fresh process: the suite on one 12 MP image and one reconstruction; prints JSON."""
    import torch

    from harness.core.images import load_image
    from harness.metrics import MetricSuite

    torch.set_num_threads(args.threads)
    photo = load_image(Path(args.kodak) / "kodim23.png").pixels
    big = np.asarray(Image.fromarray(photo).resize((4000, 3000), Image.Resampling.BICUBIC))
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="JPEG", quality=30)
    recon = np.asarray(Image.open(buffer).convert("RGB"))
    names = tuple(args.metrics.split(","))
    suite = MetricSuite(names)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    values, errors = suite.evaluate("12mp", big, recon)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"pixels": big.shape[0] * big.shape[1], "metrics": list(names), "values": values,
                      "errors": errors, "seconds": round(seconds, 1), "peak_rss_gib": round(peak_kib / 2**20, 3),
                      "rss_before_metrics_gib": round(base / 2**20, 3)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=str(REPO.parent / "shared" / "datasets" / "kodak"))
    parser.add_argument("--images", type=int, default=4, help="number of Kodak images (of 24)")
    parser.add_argument("--codecs", default="jpeg,jpeg-444", help="codecs whose default points make the reconstructions")
    parser.add_argument("--metrics", default="lpips,lpips_vgg,dists")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--memory", action="store_true", help="measure peak RSS on a 12 MP image instead")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the result to this file")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return
    if args.memory:
        command = [sys.executable, __file__, "--memory-child", "--kodak", args.kodak, "--metrics", args.metrics,
                   "--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"memory run failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        result = speed(args)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
