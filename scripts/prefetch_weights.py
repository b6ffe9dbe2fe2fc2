#!/usr/bin/env python3
"""Download every metric's network weights now (into $TORCH_HOME), so later runs work offline.

Each registered metric is evaluated once on a small synthetic image pair; metrics backed by pyiqa fetch
their weights on first use. Used by the Docker build; any failure is fatal, so a broken download fails the
build rather than the first benchmark run.
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> int:
    from harness.metrics import get_metric, metric_names

    rng = np.random.default_rng(0)
    # Large enough for MS-SSIM's five scales; smooth plus noise, so no metric sees a degenerate input.
    yy, xx = np.mgrid[0:256, 0:256]
    base = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.float64)
    reference = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    distorted = np.clip(reference + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    for name in metric_names():
        metric = get_metric(name)
        values = metric.compute(reference, distorted, metric.prepare(reference))
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        print(f"{name}: {shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
