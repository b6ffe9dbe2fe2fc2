"""Simulated raters, to check a study design and the scoring before people spend time on it.

Votes are drawn from Bradley-Terry with known Elo per condition (optionally with a per-image deviation of
each condition, as real images favour different codecs), from careful raters and, optionally, careless
ones who answer at random (golden questions included). Comparisons come either from a fixed random
design (:func:`simulate_votes`, for the import path) or from the live pair selector
(:func:`simulate_session`, which casts through the same database calls as the web app).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from harness.pairwise.db import DEGRADED, ORIGINAL, StudyDB, Vote
from harness.pairwise.scoring import win_probability

if TYPE_CHECKING:
    import pandas as pd

CAREFUL_GOLDEN_ACCURACY = 0.98


class Truth:
    """Known Elo per condition, plus a fixed per-(image, condition) deviation with SD ``image_sd``."""

    def __init__(self, elo: Mapping[str, float], images: list[str], image_sd: float = 0.0, seed: int = 0) -> None:
        self.elo = dict(elo)
        rng = np.random.default_rng(seed + 7919)
        self.deviation = {(i, c): float(rng.normal(0.0, image_sd)) if image_sd else 0.0
                          for i in images for c in self.elo}

    def p_a(self, image: str, a: str, b: str) -> float:
        return float(win_probability(self.elo[a] + self.deviation[(image, a)], self.elo[b] + self.deviation[(image, b)]))


def _answer(truth: Truth, image: str, a: str, b: str, careless: bool, rng: np.random.Generator) -> str:
    if careless:
        return "a" if rng.random() < 0.5 else "b"
    if a in (ORIGINAL, DEGRADED):
        right = "a" if a == ORIGINAL else "b"
        return right if rng.random() < CAREFUL_GOLDEN_ACCURACY else ("b" if right == "a" else "a")
    return "a" if rng.random() < truth.p_a(image, a, b) else "b"


def simulate_votes(db: StudyDB, truth: Truth, n_votes: int, n_raters: int = 20, careless: int = 0,
                   golden_every: int = 8, seed: int = 0) -> list[Vote]:
    """``n_votes`` comparisons (plus golden questions every ``golden_every`` per rater) on uniformly
    random pairs of conditions shown on the same image, spread evenly over the raters; the first
    ``careless`` raters answer at random."""
    rng = np.random.default_rng(seed)
    by_image: dict[str, list[str]] = {}
    for s in db.stimuli():
        by_image.setdefault(s["image"], []).append(s["condition"])
    images = sorted(by_image)
    votes = []
    for k in range(n_votes):
        rater = k % n_raters
        name = f"sim{rater:03d}"
        lazy = rater < careless
        if golden_every and (k // n_raters) % golden_every == 2:
            image = images[int(rng.integers(len(images)))]
            a, b = (ORIGINAL, DEGRADED) if rng.random() < 0.5 else (DEGRADED, ORIGINAL)
            votes.append(Vote(name, image, a, b, _answer(truth, image, a, b, lazy, rng), float(rng.gamma(4, 1.5))))
        image = images[int(rng.integers(len(images)))]
        a, b = (str(c) for c in rng.choice(by_image[image], 2, replace=False))
        votes.append(Vote(name, image, a, b, _answer(truth, image, a, b, lazy, rng), float(rng.gamma(4, 1.5))))
    return votes


def simulate_session(db: StudyDB, truth: Truth, n_votes: int, n_raters: int = 10, seed: int = 0) -> int:
    """Raters taking turns through the adaptive selector; every vote is cast and committed as the web app
    does. Returns the number of votes cast (golden questions included)."""
    from harness.pairwise.select import Selector

    rng = np.random.default_rng(seed)
    selector = Selector(db)
    selector.rng = np.random.default_rng(seed + 1)
    cast = 0
    for k in range(n_votes):
        rater = f"sim{k % n_raters:03d}"
        trial = selector.next_trial(rater)
        db.cast(trial.id, _answer(truth, trial.image, trial.a, trial.b, False, rng), float(rng.gamma(4, 1.5)))
        cast += 1
    return cast


def rate_shift_truth(info: pd.DataFrame, offsets: Mapping[str, float], slope: float = 250.0) -> dict[str, float]:
    """Known Elo that rises by ``slope`` per doubling of bpp, shifted by ``offsets[codec]``: every codec's
    curve is the same line in (log2 bpp, Elo), so the true perceptual BD-rate of codec X against codec Y is
    exactly 2^((off_Y - off_X) / slope) - 1 wherever their Elo ranges overlap (pchip is exact on lines).
    Centred, as the fitted scores are."""
    elo = {str(r.condition): slope * float(np.log2(r.bpp)) + offsets.get(str(r.codec), 0.0)
           for r in info.itertuples()}
    mean = float(np.mean(list(elo.values())))
    return {c: e - mean for c, e in elo.items()}


def true_bd_rate(offsets: Mapping[str, float], anchor: str, test: str, slope: float = 250.0) -> float:
    """Percent, as :func:`harness.analysis.bdrate.bd_rate` reports it, for :func:`rate_shift_truth`."""
    return (2.0 ** ((offsets.get(anchor, 0.0) - offsets.get(test, 0.0)) / slope) - 1.0) * 100.0
