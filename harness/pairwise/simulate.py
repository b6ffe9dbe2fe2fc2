"""Simulated raters, to check a study design and the scoring before people spend time on it.

Votes are drawn from Bradley-Terry with known Elo per condition (optionally with a per-image deviation of
each condition, as real images favour different codecs), from careful raters and, optionally, careless
ones who answer at random (golden questions included), with "no visible difference" answers drawn from
Davidson's model when the truth has a tie parameter, and raters who disagree with one another. Comparisons come either from a fixed random
design (:func:`simulate_votes`, for the import path) or from the live pair selector
(:func:`simulate_session`, which casts through the same database calls as the web app).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from harness.pairwise.davidson import davidson_outcome_probabilities
from harness.pairwise.db import DEGRADED, StudyDB, Vote
from harness.pairwise.scoring import win_probability

if TYPE_CHECKING:
    import pandas as pd

CAREFUL_GOLDEN_ACCURACY = 0.98


class Truth:
    """Known Elo per condition, plus a fixed per-(image, condition) deviation with SD ``image_sd``, a fixed
    per-(rater, condition) deviation with SD ``rater_sd`` (raters disagree), and Davidson's tie parameter
    ``nu`` (0: nobody answers "no visible difference")."""

    def __init__(self, elo: Mapping[str, float], images: list[str], image_sd: float = 0.0, seed: int = 0,
                 nu: float = 0.0, rater_sd: float = 0.0) -> None:
        self.elo = dict(elo)
        self.nu, self.rater_sd, self.seed = nu, rater_sd, seed
        rng = np.random.default_rng(seed + 7919)
        self.deviation = {(i, c): float(rng.normal(0.0, image_sd)) if image_sd else 0.0
                          for i in images for c in self.elo}
        self._raters: dict[str, dict[str, float]] = {}

    def _rater(self, rater: str) -> dict[str, float]:
        if rater not in self._raters:
            rng = np.random.default_rng([self.seed, len(self._raters), 104729])
            self._raters[rater] = {c: float(rng.normal(0.0, self.rater_sd)) if self.rater_sd else 0.0
                                   for c in sorted(self.elo)}
        return self._raters[rater]

    def elo_seen(self, rater: str, image: str, condition: str) -> float:
        return self.elo[condition] + self.deviation[(image, condition)] + self._rater(rater)[condition]

    def p_a(self, image: str, a: str, b: str, rater: str = "") -> float:
        """P(a preferred) among decided answers."""
        return float(win_probability(self.elo_seen(rater, image, a), self.elo_seen(rater, image, b)))

    def answer(self, rater: str, image: str, a: str, b: str, rng: np.random.Generator) -> str:
        if DEGRADED in (a, b):
            right = "b" if a == DEGRADED else "a"
            return right if rng.random() < CAREFUL_GOLDEN_ACCURACY else ("b" if right == "a" else "a")
        pa, pb, pt = davidson_outcome_probabilities(self.elo_seen(rater, image, a), self.elo_seen(rater, image, b),
                                                    self.nu)
        u = rng.random()
        return "a" if u < pa else "b" if u < pa + pb else "tie"


def _answer(truth: Truth, rater: str, image: str, a: str, b: str, careless: bool, rng: np.random.Generator) -> str:
    if careless:
        return "a" if rng.random() < 0.5 else "b"
    return truth.answer(rater, image, a, b, rng)


def simulate_votes(db: StudyDB, truth: Truth, n_votes: int, n_raters: int = 20, careless: int = 0,
                   golden_every: int = 8, seed: int = 0) -> list[Vote]:
    """``n_votes`` comparisons (plus golden questions every ``golden_every`` per rater, the 3rd first: a
    random condition against the degraded copy) on uniformly random pairs of conditions shown on the same
    image, spread evenly over the raters; the first ``careless`` raters answer at random."""
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
            good = str(rng.choice(by_image[image]))
            a, b = (good, DEGRADED) if rng.random() < 0.5 else (DEGRADED, good)
            votes.append(Vote(name, image, a, b, _answer(truth, name, image, a, b, lazy, rng),
                              float(rng.gamma(4, 1.5))))
        image = images[int(rng.integers(len(images)))]
        a, b = (str(c) for c in rng.choice(by_image[image], 2, replace=False))
        votes.append(Vote(name, image, a, b, _answer(truth, name, image, a, b, lazy, rng), float(rng.gamma(4, 1.5))))
    return votes


def simulate_session(db: StudyDB, truth: Truth, n_votes: int, n_raters: int = 10, seed: int = 0) -> int:
    """Raters taking turns through the adaptive selector; every vote is cast and committed as the web app
    does; a rater whose session is complete is replaced by a new one. Returns the number of votes cast
    (golden questions included); fewer than ``n_votes`` when the study ended (budget or stopping rule)."""
    from harness.pairwise.select import Selector

    rng = np.random.default_rng(seed)
    selector = Selector(db)
    selector.rng = np.random.default_rng(seed + 1)
    raters = [f"sim{k:03d}" for k in range(n_raters)]
    fresh = n_raters
    cast = 0
    while cast < n_votes:
        slot = cast % n_raters
        trial = selector.next_trial(raters[slot])
        if trial is None:
            if selector.ended:
                break
            raters[slot], fresh = f"sim{fresh:03d}", fresh + 1
            continue
        db.cast(trial.id, truth.answer(trial.rater, trial.image, trial.a, trial.b, rng), float(rng.gamma(4, 1.5)))
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


def coverage_study(db: StudyDB, offsets: Mapping[str, float], anchor: str, *, studies: int, votes: int, raters: int,
                   bootstrap: int, image_sd: float = 0.0, rater_sd: float = 0.0, nu: float = 0.0,
                   resample: str = "both", slope: float = 250.0,
                   progress: Callable[[int], None] | None = None) -> dict[str, object]:
    """Repeat simulated studies on ``db``'s plan with a known truth (:func:`rate_shift_truth`, Davidson's
    ``nu``, per-image and per-rater deviations) and count how often the 95% intervals contain it: each
    condition's Elo, each perceptual BD-rate against ``anchor`` and nu; plus the Spearman correlation of the
    fitted and true Elo."""
    import scipy.stats

    from harness.pairwise.report import bd_table, condition_info
    from harness.pairwise.scoring import score_votes

    info = condition_info(db)
    conditions = list(info["condition"])
    truth_elo = rate_shift_truth(info, offsets, slope)
    images = sorted(r["name"] for r in db.images())
    tests = sorted(set(info["codec"]) - {anchor})
    known = {c: true_bd_rate(offsets, anchor, c, slope) for c in tests}
    true = np.array([truth_elo[c] for c in conditions])
    elo_hits = np.zeros(len(conditions))
    bd_hits, bd_shown = dict.fromkeys(tests, 0), dict.fromkeys(tests, 0)
    nu_hits, rhos = 0, []
    widths: dict[str, list[float]] = {c: [] for c in tests}
    for seed in range(studies):
        truth = Truth(truth_elo, images, image_sd=image_sd, seed=seed, nu=nu, rater_sd=rater_sd)
        drawn = simulate_votes(db, truth, votes, n_raters=raters, golden_every=0, seed=seed)
        scores = score_votes(drawn, conditions, bootstrap=bootstrap, seed=seed, resample=resample,
                             require_golden=False)
        elo_hits += (scores.low <= true) & (true <= scores.high)
        rhos.append(float(scipy.stats.spearmanr(scores.elo, true).statistic))
        bd = bd_table(scores.table().merge(info, on="condition"), scores, anchor).set_index("codec")
        for codec, value in known.items():
            low, high = bd.loc[codec, "low"], bd.loc[codec, "high"]
            if np.isfinite(low):
                bd_shown[codec] += 1
                bd_hits[codec] += bool(low <= value <= high)
                widths[codec].append(float(high - low))
        if nu:
            nu_hits += bool(scores.extra["nu_low"] <= nu <= scores.extra["nu_high"])  # type: ignore[operator]
        if progress:
            progress(seed + 1)
    return {
        "studies": studies, "votes": votes, "raters": raters, "images": len(images), "conditions": len(conditions),
        "bootstrap": bootstrap, "image_sd": image_sd, "rater_sd": rater_sd, "nu": nu, "resample": resample,
        "elo_coverage_mean": float(elo_hits.mean() / studies), "elo_coverage_min": float(elo_hits.min() / studies),
        "spearman_median": float(np.median(rhos)), "spearman_min": float(np.min(rhos)),
        "bd_true": known, "bd_coverage": {c: bd_hits[c] / max(bd_shown[c], 1) for c in tests},
        "bd_shown": bd_shown,
        "bd_interval_width_median": {c: float(np.median(w)) if w else None for c, w in widths.items()},
        "nu_coverage": nu_hits / studies if nu else None,
    }
