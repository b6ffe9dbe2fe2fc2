"""Votes -> Elo scores: Bradley-Terry by maximum likelihood, bootstrap intervals, rater screening.

The model is the one of the CLIC 2022/2023 human evaluations: P(A beats B) = 1 / (1 + 10^((E_B - E_A)/400)),
fitted by maximum likelihood with a small L2 penalty (it keeps the scores finite when a condition wins or
loses every comparison) and scores that sum to zero (the likelihood depends only on differences; the L2
term alone puts the optimum there, and the fit is re-centred exactly). Votes are pooled over images: a
condition has one score.

Intervals come from a two-way bootstrap: raters and images are resampled with replacement, each vote
weighted by how often its rater and its image were drawn, and the model refitted; the 2.5 and 97.5
percentiles of the refits bound the 95% interval. Both sources of variation count: who voted and what
they looked at. Raters who answer golden questions (a good version against a heavily degraded copy) wrongly
too often, and raters who met no golden question (unscreened, not passed), are dropped before anything is
fitted, and counted; so are votes cast faster than the study's minimum viewing time. With "no visible
difference" answers the fit is Davidson's Bradley-Terry with ties (:mod:`harness.pairwise.davidson`), and
nu gets its own bootstrap interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.pairwise.davidson import ELO_SCALE, K, fit_davidson
from harness.pairwise.db import StudyError, Vote

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


def elo_covariance(winners: np.ndarray, losers: np.ndarray, elo: np.ndarray, l2: float = DEFAULT_L2,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """Approximate covariance of the Elo scores (inverse Fisher information of the penalised fit), used to
    pick informative pairs while a study runs; the reported intervals come from the bootstrap."""
    n = len(elo)
    p = win_probability(elo[winners], elo[losers])
    v = p * (1.0 - p) * (1.0 if weights is None else weights)
    info = np.zeros((n, n))
    np.add.at(info, (winners, winners), v)
    np.add.at(info, (losers, losers), v)
    np.add.at(info, (winners, losers), -v)
    np.add.at(info, (losers, winners), -v)
    info += 2.0 * l2 * np.eye(n)
    return np.linalg.inv(info) / K**2


# --- rater screening -----------------------------------------------------------------------------------

def screen_raters(votes: Sequence[Vote], threshold: float = DEFAULT_GOLDEN_THRESHOLD,
                  require_golden: bool = True) -> pd.DataFrame:
    """Per rater: votes, golden questions met and passed, fast votes, and ``status``: ``failed`` (share of
    golden questions passed below ``threshold``), ``unscreened`` (met none; kept only when
    ``require_golden`` is off) or ``kept``; ``dropped`` when not kept."""
    rows: dict[str, dict[str, float]] = {}
    for vote in votes:
        r = rows.setdefault(vote.rater, {"votes": 0, "golden": 0, "golden_right": 0, "fast": 0})
        r["votes"] += 1
        r["fast"] += vote.fast
        if vote.golden:
            r["golden"] += 1
            r["golden_right"] += vote.golden_right
    frame = pd.DataFrame([{"rater": k, **v} for k, v in rows.items()],
                         columns=["rater", "votes", "golden", "golden_right", "fast"])
    counts = ["votes", "golden", "golden_right", "fast"]
    frame[counts] = frame[counts].astype(int)
    share = frame["golden_right"] / frame["golden"].where(frame["golden"] > 0)
    frame["golden_share"] = share
    failed = share.lt(threshold) & frame["golden"].gt(0)
    unscreened = frame["golden"].eq(0)
    frame["status"] = np.where(failed, "failed", np.where(unscreened, "unscreened", "kept"))
    frame["dropped"] = failed | (unscreened & require_golden)
    return frame.sort_values("rater").reset_index(drop=True)


# --- scores with intervals -----------------------------------------------------------------------------

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


def _matrices(i: np.ndarray, j: np.ndarray, outcome: np.ndarray, w: np.ndarray,
              n: int) -> tuple[np.ndarray, np.ndarray]:
    """Win and (symmetric) tie count matrices from per-vote a/b indices, outcomes (1 a, 0 b, 0.5 tie)."""
    wins, ties = np.zeros((n, n)), np.zeros((n, n))
    a_won, b_won, tied = outcome == 1.0, outcome == 0.0, outcome == 0.5
    np.add.at(wins, (i[a_won], j[a_won]), w[a_won])
    np.add.at(wins, (j[b_won], i[b_won]), w[b_won])
    np.add.at(ties, (i[tied], j[tied]), w[tied])
    np.add.at(ties, (j[tied], i[tied]), w[tied])
    return wins, ties


def _fit(i: np.ndarray, j: np.ndarray, outcome: np.ndarray, w: np.ndarray, n: int, l2: float,
         with_ties: bool) -> tuple[np.ndarray, float]:
    """Elo (NaN where no vote compared the condition) and nu (NaN without ties) of one (re)sample."""
    wins, ties = _matrices(i, j, outcome, w, n)
    if with_ties:
        theta, nu = fit_davidson(wins, ties, l2)
    else:
        theta, nu = fit_elo_matrix(wins, l2), math.nan
    seen = (wins + wins.T + ties).sum(axis=1) > 0
    return np.where(seen, theta / K, np.nan), nu


def _pigeonhole(replicates: np.ndarray, nus: np.ndarray, elo: np.ndarray, nu: float, i: np.ndarray, j: np.ndarray,
                outcome: np.ndarray, n: int, l2: float, with_ties: bool, refits: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """Resampling raters and images at once counts the votes' own binomial noise twice (once in each
    margin: the pigeonhole bootstrap overstates the variance by about that term, McCullagh 2000, Owen 2007).
    A vote-level bootstrap measures the term; the refits are pulled towards the estimate by one factor
    sqrt(1 - V_votes / V_both) over all conditions (never below 1/2), so correlations between conditions,
    and hence the perceptual BD-rate's refits, keep their shape. nu's log refits get their own factor."""
    votes = np.empty((refits, n))
    vote_nus = np.full(refits, np.nan)
    for b in range(refits):
        w = np.bincount(rng.integers(0, len(i), len(i)), minlength=len(i)).astype(float)
        use = w > 0
        votes[b], vote_nus[b] = _fit(i[use], j[use], outcome[use], w[use], n, l2, with_ties)

    def factor(both: np.ndarray, single: np.ndarray) -> float:
        v_both, v_single = float(np.nansum(np.nanvar(both, axis=0))), float(np.nansum(np.nanvar(single, axis=0)))
        return math.sqrt(min(max(1.0 - v_single / v_both, 0.25), 1.0)) if v_both > 0 else 1.0

    f = factor(replicates, votes)
    replicates = elo + (replicates - elo) * f
    if with_ties:
        g = factor(np.log(nus)[:, None], np.log(vote_nus)[:, None])
        nus = np.exp(math.log(nu) + (np.log(nus) - math.log(nu)) * g)
    return replicates, nus, f


def score_votes(votes: Sequence[Vote], conditions: Sequence[str], *, bootstrap: int = DEFAULT_BOOTSTRAP,
                golden_threshold: float = DEFAULT_GOLDEN_THRESHOLD, l2: float = DEFAULT_L2,
                seed: int = 0, resample: str = "both", require_golden: bool = True) -> Scores:
    """Screen raters, leave out fast votes, fit Elo on the comparisons between ``conditions`` (golden
    answers only screen; ties, if any, with Davidson's model), and bootstrap over raters and images
    (``resample``: both, raters or images)."""
    if resample not in RESAMPLE:
        raise StudyError(f"resample must be one of {', '.join(RESAMPLE)}, got {resample!r}")
    raters = screen_raters(votes, golden_threshold, require_golden)
    dropped = set(raters.loc[raters["dropped"], "rater"])
    index = {c: k for k, c in enumerate(conditions)}
    fast = sum(1 for v in votes if v.fast and not v.golden and v.rater not in dropped)
    kept = [v for v in votes if not v.golden and not v.fast and v.rater not in dropped]
    unknown = sorted({c for v in kept for c in (v.a, v.b) if c not in index})
    if unknown:
        raise StudyError(f"votes name conditions the study does not have: {', '.join(unknown[:5])}")
    if not kept:
        raise StudyError("no usable votes (none cast, every rater failed or never met a golden question, "
                         "or every vote was faster than the minimum viewing time)")
    i = np.array([index[v.a] for v in kept])
    j = np.array([index[v.b] for v in kept])
    outcome = np.array([{"a": 1.0, "b": 0.0, "tie": 0.5}[v.choice] for v in kept])
    with_ties = bool(np.any(outcome == 0.5))
    n = len(conditions)
    elo, nu = _fit(i, j, outcome, np.ones(len(kept)), n, l2, with_ties)

    rater_codes, rater_names = pd.factorize(pd.Series([v.rater for v in kept]))
    image_codes, image_names = pd.factorize(pd.Series([v.image for v in kept]))
    rng = np.random.default_rng(seed)
    replicates = np.empty((bootstrap, n))
    nus = np.full(bootstrap, np.nan)
    for b in range(bootstrap):
        rater_weight = (np.bincount(rng.integers(0, len(rater_names), len(rater_names)), minlength=len(rater_names))
                        if resample != "images" else np.ones(len(rater_names), dtype=int))
        image_weight = (np.bincount(rng.integers(0, len(image_names), len(image_names)), minlength=len(image_names))
                        if resample != "raters" else np.ones(len(image_names), dtype=int))
        weights = (rater_weight[rater_codes] * image_weight[image_codes]).astype(float)
        use = weights > 0
        replicates[b], nus[b] = _fit(i[use], j[use], outcome[use], weights[use], n, l2, with_ties)
    extra: dict[str, object] = {"resample": resample, "raters": len(rater_names), "images": len(image_names),
                                "fast_votes": fast, "ties": int(np.sum(outcome == 0.5)), "shrink": 1.0}
    if resample == "both" and bootstrap >= 20 and len(rater_names) > 1 and len(image_names) > 1:
        replicates, nus, extra["shrink"] = _pigeonhole(replicates, nus, elo, nu, i, j, outcome, n, l2, with_ties,
                                                       max(bootstrap // 2, 20), rng)
    if with_ties:
        finite = nus[np.isfinite(nus)]
        extra.update(nu=nu, nu_low=float(np.percentile(finite, 2.5)), nu_high=float(np.percentile(finite, 97.5)))
    return Scores(list(conditions), elo, replicates, raters, len(kept), extra)
