"""Which comparison a rater sees next.

1. Golden questions: at a random one of each rater's first ``golden_first`` trials, then at a random
   position in every further block of ``golden_every`` (:func:`harness.pairwise.sessions.golden_positions`):
   a clearly degraded copy (JPEG quality 5) against the image's best compressed version (its highest-rate
   condition), sides drawn at random: two compressed versions, as every other comparison.
2. Burn-in: for every image, the study's conditions in a seeded random cycle, each consecutive pair one
   comparison: every condition is seen on every image, and each image's comparisons connect all its
   conditions. The least-answered burn-in pair goes first; pairs other raters are looking at count as
   answered, so raters working at once get different pairs.
3. Adaptive: after the burn-in the scores are refitted and the next pair is the one whose outcome is most
   informative: the largest p(1-p) x Var(E_i - E_j) (close in Elo, wide uncertainty), drawn among the best
   few so that raters working at once do not all get the same one; the image is the one on which that pair
   was compared least.
4. The end: a rater's session ends after ``trials_per_rater`` trials; the study ends (no new pairs for
   anyone) when the counted votes reach the budget, or when every neighbouring pair of conditions (in Elo
   order) has a 95% interval of its Elo difference narrower than ``stop_width`` (:func:`stopping`). What
   ended it is written to the study's meta (``ended_by``) and the report says so.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness.pairwise.db import DEGRADED, StudyDB, Vote
from harness.pairwise.scoring import elo_covariance, fit_elo, win_probability
from harness.pairwise.sessions import golden_positions
from harness.pairwise.settings import Settings

# A shown comparison with no vote counts as taken for this long (a rater may be studying it).
PENDING_SECONDS = 300.0
TOP_CHOICES = 3


@dataclass(frozen=True)
class Trial:
    id: str
    rater: str
    image: str
    a: str
    b: str
    phase: str  # golden, burn-in, adaptive or open
    position: int = 0
    keys: dict[str, str] | None = None


def burn_in_pairs(db: StudyDB, seed: int) -> list[tuple[str, str, str]]:
    """(image, condition, condition) of the burn-in design, conditions in sorted order within a pair."""
    by_image: dict[str, list[str]] = {}
    for s in db.stimuli():
        by_image.setdefault(s["image"], []).append(s["condition"])
    rng = np.random.default_rng(seed)
    pairs = []
    for image in sorted(by_image):
        order = list(rng.permutation(sorted(by_image[image])))
        cycle = list(zip(order, order[1:] + order[:1])) if len(order) > 2 else [(order[0], order[1])]
        pairs += [(image, min(str(x), str(y)), max(str(x), str(y))) for x, y in cycle]
    return pairs


def pairs_of(votes: list[Vote], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(winners, losers, weights) index arrays of the votes between known conditions; a tie counts as half a
    win each way (enough to steer the selection; the report fits ties with Davidson's model)."""
    winners, losers, weights = [], [], []
    for v in votes:
        if v.a in index and v.b in index:
            if v.choice == "tie":
                winners += [index[v.a], index[v.b]]
                losers += [index[v.b], index[v.a]]
                weights += [0.5, 0.5]
            else:
                winners.append(index[str(v.winner)])
                losers.append(index[str(v.loser)])
                weights.append(1.0)
    return np.array(winners, dtype=int), np.array(losers, dtype=int), np.array(weights, dtype=float)


def stopping(elo: np.ndarray, cov: np.ndarray, width: float) -> tuple[bool, float]:
    """(met, widest): the widest 95% interval (Wald, from the fit's covariance) of the Elo difference of
    neighbouring conditions in Elo order, and whether it is narrower than ``width``."""
    order = [k for k in np.argsort(elo) if np.isfinite(elo[k])]
    widths = [2 * 1.96 * float(np.sqrt(max(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)))
              for i, j in zip(order, order[1:])]
    widest = max(widths) if widths else math.inf
    return width > 0 and widest < width, widest


class Selector:
    def __init__(self, db: StudyDB) -> None:
        self.db = db
        meta = db.meta()
        self.seed = int(meta.get("seed", "0"))
        self.secret = meta.get("secret", "")
        self.settings = Settings.from_meta(meta)
        self.design = burn_in_pairs(db, self.seed)
        self.conditions = sorted({c for _, a, b in self.design for c in (a, b)})
        self.images_of: dict[tuple[str, str], list[str]] = {}
        by_image: dict[str, dict[str, float]] = {}
        for s in db.stimuli():
            by_image.setdefault(s["image"], {})[s["condition"]] = float(s["bpp"])
        for image, conds in by_image.items():
            for a in conds:
                for b in conds:
                    if a < b:
                        self.images_of.setdefault((a, b), []).append(image)
        # the golden questions' good side: each image's highest-rate condition
        self.best = {image: max(conds, key=lambda c: conds[c]) for image, conds in by_image.items()}
        self.rng = np.random.default_rng()
        self.ended: str | None = meta.get("ended_by")

    def next_trial(self, rater: str) -> Trial | None:
        """The rater's open comparison if any (a reload shows the same one), else a new one, recorded; None
        when the rater's session is complete or the study has ended."""
        open_trial = self.db.open_trial(rater)
        if open_trial is not None:
            keys = json.loads(open_trial["keys"]) if open_trial["keys"] else None
            return Trial(open_trial["id"], rater, open_trial["image"], open_trial["a"], open_trial["b"], "open",
                         open_trial["position"] or 0, keys)
        _, shown = self.db.rater_counts(rater)
        st = self.settings
        if shown >= st.trials_per_rater:
            return None
        golden = golden_positions(self.secret, rater, st.golden_first, st.golden_every, st.trials_per_rater)
        if shown in golden:
            image = str(self.rng.choice(sorted(self.best)))
            image, a, b, phase = image, self.best[image], DEGRADED, "golden"
        else:
            chosen = self._choose()
            if chosen is None:
                return None
            image, a, b, phase = chosen
        if self.rng.random() < 0.5:
            a, b = b, a
        keys = {side: secrets.token_urlsafe(16) for side in ("a", "b", "original")}
        trial = Trial(secrets.token_hex(16), rater, image, a, b, phase, shown, keys)
        self.db.add_trial(trial.id, rater, image, a, b, shown, json.dumps(keys))
        return trial

    def _end(self, reason: str) -> None:
        self.ended = reason
        self.db.set_meta({"ended_by": reason, "ended_at": str(time.time())})

    def _choose(self) -> tuple[str, str, str, str] | None:
        if self.ended:
            return None
        votes = [v for v in self.db.votes() if not v.golden and not v.fast]
        if self.settings.budget and len(votes) >= self.settings.budget:
            self._end(f"budget: {len(votes)} counted votes reached the budget of {self.settings.budget}")
            return None
        taken = Counter((v.image, *sorted((v.a, v.b))) for v in votes)
        for t in self.db.pending(time.time() - PENDING_SECONDS):
            if DEGRADED not in (t["a"], t["b"]):
                taken[(t["image"], *sorted((t["a"], t["b"])))] += 1
        open_design = [p for p in self.design if taken[p] == 0]
        if open_design:
            image, a, b = open_design[int(self.rng.integers(len(open_design)))]
            return image, a, b, "burn-in"
        return self._adaptive(votes, taken)

    def _adaptive(self, votes: list[Vote], taken: Counter) -> tuple[str, str, str, str] | None:
        index = {c: k for k, c in enumerate(self.conditions)}
        winners, losers, weights = pairs_of(votes, index)
        elo = fit_elo(winners, losers, len(self.conditions), weights)
        cov = elo_covariance(winners, losers, elo, weights=weights)
        met, widest = stopping(elo, cov, self.settings.stop_width)
        if met:
            self._end(f"stop width: every neighbouring Elo difference known to +-{widest / 2:.0f} "
                      f"(95%, widest {widest:.0f} < {self.settings.stop_width:g})")
            return None
        answered = Counter((min(v.a, v.b), max(v.a, v.b)) for v in votes if v.a in index and v.b in index)
        candidates = []
        for (a, b), images in self.images_of.items():
            i, j = index[a], index[b]
            p = float(win_probability(elo[i], elo[j]))
            variance = cov[i, i] + cov[j, j] - 2 * cov[i, j]
            # Pairs other raters are looking at right now are worth a little less.
            busy = sum(taken[(image, a, b)] for image in images) - answered[(a, b)]
            candidates.append((p * (1 - p) * variance / (1 + max(busy, 0)), a, b))
        candidates.sort(reverse=True)
        best = candidates[: TOP_CHOICES]
        _, a, b = best[int(self.rng.integers(len(best)))]
        images = self.images_of[(a, b)]
        fewest = min(taken[(image, a, b)] for image in images)
        image = str(self.rng.choice([image for image in images if taken[(image, a, b)] == fewest]))
        return image, a, b, "adaptive"
