"""100 simulated studies with ties and rater noise on a real run's plan: the known order is recovered, the
95% intervals of Elo and of the perceptual BD-rate cover the truth in 90-98% of studies, and Davidson's nu
is recovered within its interval. Slow (about 10 minutes); the figures are in docs/study.md."""

from __future__ import annotations

import pytest

from harness.pairwise.plan import create_study
from harness.pairwise.simulate import coverage_study

OFFSETS = {"jpeg": 0.0, "jpeg-444": -60.0, "webp": 90.0}
CROPS = (("kodim23", 160, 280), ("kodim13", 250, 350), ("kodim04", 100, 250), ("kodim19", 300, 200))


@pytest.mark.slow
def test_100_simulated_studies_with_ties_and_rater_noise(tmp_path):
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep
    from tests.runs import write_crops

    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(write_crops(tmp_path / "crops", CROPS))),
              [get_codec(c) for c in OFFSETS], points=[10, 25, 45, 70])
    db = create_study(store.run_dir, "simulated")
    result = coverage_study(db, OFFSETS, "jpeg", studies=100, votes=2000, raters=20, bootstrap=200,
                            image_sd=40.0, rater_sd=40.0, nu=0.5)
    assert result["spearman_median"] >= 0.95, result
    assert 0.90 <= result["elo_coverage_mean"] <= 0.98, result
    for codec, share in result["bd_coverage"].items():  # type: ignore[union-attr]
        assert 0.90 <= share <= 0.98, (codec, result)
        assert result["bd_shown"][codec] >= 95, result  # type: ignore[index]
    assert 0.90 <= result["nu_coverage"] <= 0.99, result  # type: ignore[operator]
