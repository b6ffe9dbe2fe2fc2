#!/usr/bin/env python3
"""Download every metric's network weights now (into $TORCH_HOME), so later runs work offline.

Each registered metric is evaluated once on a small synthetic image pair; metrics backed by pyiqa fetch
their weights on first use. Used by the Docker build. By default any failure is fatal, so a broken download
fails the build rather than the first benchmark run; with ``--best-effort`` (the build's PREFETCH_WEIGHTS=auto)
each failing metric is named in a note (a missing package still fails) and the build goes on (the metric downloads on first use instead).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--best-effort", action="store_true", help="note failing metrics instead of failing")
    args = parser.parse_args(argv)
    from harness.metrics import get_metric, metric_names

    rng = np.random.default_rng(0)
    # Large enough for MS-SSIM's five scales; smooth plus noise, so no metric sees a degenerate input.
    yy, xx = np.mgrid[0:256, 0:256]
    base = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.float64)
    reference = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    distorted = np.clip(reference + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    failed: list[str] = []
    for name in metric_names():
        metric = get_metric(name)
        try:
            values = metric.compute(reference, distorted, metric.prepare(reference))
        except ImportError:
            raise  # a package missing from the image is a broken build, not a download to skip
        except Exception as exc:  # every failure is reported by name below
            if not args.best_effort:
                raise
            failed.append(name)
            print(f"{name}: NOT prefetched ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
            continue
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        print(f"{name}: {shown}", flush=True)
    if failed:
        print(
            f"note: {len(failed)} metric(s) not ready offline ({', '.join(failed)}): they fetch their weights on "
            "first use; build with PREFETCH_WEIGHTS=1 to make this fatal, or supply --build-context weights=DIR"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
