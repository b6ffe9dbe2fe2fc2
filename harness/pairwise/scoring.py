"""Votes -> Elo scores: Bradley-Terry by maximum likelihood, bootstrap intervals, rater screening.

The model is the one of the CLIC 2022/2023 human evaluations: P(A beats B) = 1 / (1 + 10^((E_B - E_A)/400)),
fitted by maximum likelihood with a small L2 penalty (it keeps the scores finite when a condition wins or
loses every comparison) and scores that sum to zero (the likelihood depends only on differences; the L2
term alone puts the optimum there, and the fit is re-centred exactly). Votes are pooled over images: a
condition has one score.

Intervals come from a two-way bootstrap: raters and images are resampled with replacement, each vote
weighted by how often its rater and its image were drawn, and the model refitted; the 2.5 and 97.5
percentiles of the refits bound the 95% interval. Both sources of variation count: who voted and what
they looked at. Raters who answer golden questions (the original against a heavily degraded copy) wrongly
too often are dropped before anything is fitted, and listed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.pairwise.db import ORIGINAL, StudyError, Vote

ELO_SCALE = 400.0
K = math.log(10.0) / ELO_SCALE
# Penalty on the scores in logit units (K * elo): 1e-3 bounds a condition that wins all of 5 comparisons
# at about +1,100 Elo while moving well-determined scores by far less than their bootstrap spread.
DEFAULT_L2 = 1e-3
DEFAULT_BOOTSTRAP = 1000
DEFAULT_GOLDEN_THRESHOLD = 0.8
# What the bootstrap resamples: raters and images (the default: a conclusion meant to hold for other people
# and other pictures), or only one of them.
RESAMPLE = ("both", "raters", "images")


def win_probability(elo_a: np.ndarray | float, elo_b: np.ndarray | float) -> np.ndarray:
    """P(A is preferred to B) under Bradley-Terry on the Elo scale."""
    return 1.0 / (1.0 + 10.0 ** ((np.asarray(elo_b) - np.asarray(elo_a)) / ELO_SCALE))


def fit_elo(winners: np.ndarray, losers: np.ndarray, n: int, weights: np.ndarray | None = None,
            l2: float = DEFAULT_L2) -> np.ndarray:
    """Maximum-likelihood Elo scores (sum zero) of ``n`` conditions from (winner, loser) index arrays."""
    w = np.ones(len(winners)) if weights is None else np.asarray(weights, dtype=float)
    wins = np.zeros((n, n))
    np.add.at(wins, (winners, losers), w)
    return fit_elo_matrix(wins, l2) / K


def _penalised_nll(theta: np.ndarray, wins: np.ndarray, l2: float) -> float:
    d = theta[:, None] - theta[None, :]
    return float(np.sum(wins * np.logaddexp(0.0, -d))) + l2 * float(theta @ theta)


def fit_elo_matrix(wins: np.ndarray, l2: float = DEFAULT_L2, tol: float = 1e-10) -> np.ndarray:
    """Newton's method on the penalised negative log-likelihood of a win-count matrix (wins[i, j]: times
    i was preferred to j), in logit units. The objective is strictly convex, so a backtracking Newton
    iteration converges in a handful of steps; scores come back centred (sum zero)."""
    n = wins.shape[0]
    total = wins + wins.T
    theta = np.zeros(n)
    loss = _penalised_nll(theta, wins, l2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))  # P(i beats j)
        grad = np.sum(total * p - wins, axis=1) + 2.0 * l2 * theta
        v = total * p * (1.0 - p)
        hessian = np.diag(v.sum(axis=1)) - v + 2.0 * l2 * np.eye(n)
        step = np.linalg.solve(hessian, grad)
        scale = 1.0
        while True:
            candidate = theta - scale * step
            new_loss = _penalised_nll(candidate, wins, l2)
            if new_loss <= loss + 1e-12 or scale < 1e-8:
                break
            scale *= 0.5
        theta, converged = candidate, abs(loss - new_loss) < tol * max(1.0, abs(loss))
        loss = new_loss
        if converged and float(np.max(np.abs(scale * step))) < 1e-9:
            break
    return theta - theta.mean()


def elo_covariance(winners: np.ndarray, losers: np.ndarray, elo: np.ndarray, l2: float = DEFAULT_L2) -> np.ndarray:
    """Approximate covariance of the Elo scores (inverse Fisher information of the penalised fit), used to
    pick informative pairs while a study runs; the reported intervals come from the bootstrap."""
    n = len(elo)
    p = win_probability(elo[winners], elo[losers])
    v = p * (1.0 - p)
    info = np.zeros((n, n))
    np.add.at(info, (winners, winners), v)
    np.add.at(info, (losers, losers), v)
    np.add.at(info, (winners, losers), -v)
    np.add.at(info, (losers, winners), -v)
    info += 2.0 * l2 * np.eye(n)
    return np.linalg.inv(info) / K**2


# --- rater screening -----------------------------------------------------------------------------------

def screen_raters(votes: Sequence[Vote], threshold: float = DEFAULT_GOLDEN_THRESHOLD) -> pd.DataFrame:
    """Per rater: votes, golden questions answered and answered right; ``dropped`` when the share right is
    below ``threshold``. Raters who saw no golden question are kept (nothing says they were careless)."""
    rows: dict[str, dict[str, float]] = {}
    for vote in votes:
        r = rows.setdefault(vote.rater, {"votes": 0, "golden": 0, "golden_right": 0})
        r["votes"] += 1
        if vote.golden:
            r["golden"] += 1
            r["golden_right"] += vote.winner == ORIGINAL
    frame = pd.DataFrame([{"rater": k, **v} for k, v in rows.items()],
                         columns=["rater", "votes", "golden", "golden_right"])
    frame[["votes", "golden", "golden_right"]] = frame[["votes", "golden", "golden_right"]].astype(int)
    share = frame["golden_right"] / frame["golden"].where(frame["golden"] > 0)
    frame["golden_share"] = share
    frame["dropped"] = share.lt(threshold) & frame["golden"].gt(0)
    return frame.sort_values("rater").reset_index(drop=True)


# --- scores with intervals -----------------------------------------------------------------------------

def _unseen_missing(elo: np.ndarray, winners: np.ndarray, losers: np.ndarray) -> np.ndarray:
    """A condition no vote compared has no score (NaN), not the 0 the penalty leaves it at. The others
    still sum to zero: the penalty holds an uncompared score at exactly 0."""
    seen = np.zeros(len(elo), dtype=bool)
    seen[winners] = True
    seen[losers] = True
    return np.where(seen, elo, np.nan)


@dataclass
class Scores:
    """Elo per condition with bootstrap intervals, and what went into it."""

    conditions: list[str]
    elo: np.ndarray
    replicates: np.ndarray  # bootstrap refits, shape (B, conditions)
    raters: pd.DataFrame  # screening table
    votes_used: int
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def low(self) -> np.ndarray:
        return self._percentile(2.5)

    @property
    def high(self) -> np.ndarray:
        return self._percentile(97.5)

    def _percentile(self, q: float) -> np.ndarray:
        """Over the refits in which the condition was compared at all (NaN when it never was)."""
        out = np.full(len(self.elo), np.nan)
        for k in range(len(self.elo)):
            values = self.replicates[:, k][np.isfinite(self.replicates[:, k])] if len(self.replicates) else []
            if len(values) and np.isfinite(self.elo[k]):
                out[k] = np.percentile(values, q)
        return out

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"condition": self.conditions, "elo": self.elo, "low": self.low, "high": self.high})

    @property
    def dropped_raters(self) -> list[str]:
        return [str(r) for r in self.raters.loc[self.raters["dropped"], "rater"]]


def score_votes(votes: Sequence[Vote], conditions: Sequence[str], *, bootstrap: int = DEFAULT_BOOTSTRAP,
                golden_threshold: float = DEFAULT_GOLDEN_THRESHOLD, l2: float = DEFAULT_L2,
                seed: int = 0, resample: str = "both") -> Scores:
    """Screen raters, fit Elo on the comparisons between ``conditions`` (golden answers only screen), and
    bootstrap over raters and images (``resample``: both, raters or images)."""
    if resample not in RESAMPLE:
        raise StudyError(f"resample must be one of {', '.join(RESAMPLE)}, got {resample!r}")
    raters = screen_raters(votes, golden_threshold)
    dropped = set(raters.loc[raters["dropped"], "rater"])
    index = {c: k for k, c in enumerate(conditions)}
    kept = [v for v in votes if not v.golden and v.rater not in dropped]
    unknown = sorted({c for v in kept for c in (v.a, v.b) if c not in index})
    if unknown:
        raise StudyError(f"votes name conditions the study does not have: {', '.join(unknown[:5])}")
    if not kept:
        raise StudyError("no usable votes (none cast, or every rater failed the golden questions)")
    winners = np.array([index[v.winner] for v in kept])
    losers = np.array([index[v.b if v.choice == "a" else v.a] for v in kept])
    n = len(conditions)
    elo = _unseen_missing(fit_elo(winners, losers, n, l2=l2), winners, losers)

    rater_codes, rater_names = pd.factorize(pd.Series([v.rater for v in kept]))
    image_codes, image_names = pd.factorize(pd.Series([v.image for v in kept]))
    rng = np.random.default_rng(seed)
    replicates = np.empty((bootstrap, n))
    for b in range(bootstrap):
        rater_weight = (np.bincount(rng.integers(0, len(rater_names), len(rater_names)), minlength=len(rater_names))
                        if resample != "images" else np.ones(len(rater_names), dtype=int))
        image_weight = (np.bincount(rng.integers(0, len(image_names), len(image_names)), minlength=len(image_names))
                        if resample != "raters" else np.ones(len(image_names), dtype=int))
        weights = rater_weight[rater_codes] * image_weight[image_codes]
        use = weights > 0
        replicates[b] = _unseen_missing(fit_elo(winners[use], losers[use], n, weights[use].astype(float), l2=l2),
                                        winners[use], losers[use])
    return Scores(list(conditions), elo, replicates, raters, len(kept),
                  {"resample": resample, "raters": len(rater_names), "images": len(image_names)})
