"""Which comparison a rater sees next.

1. Golden questions: a rater's 3rd comparison and every ``golden_every``-th after it is the original
   against its degraded copy, on a random image (sides drawn at random).
2. Burn-in: for every image, the study's conditions in a seeded random cycle, each consecutive pair one
   comparison: every condition is seen on every image, and each image's comparisons connect all its
   conditions. The least-answered burn-in pair goes first; pairs other raters are looking at count as
   answered, so raters working at once get different pairs.
3. Adaptive: after the burn-in the scores are refitted and the next pair is the one whose outcome is most
   informative: the largest p(1-p) x Var(E_i - E_j) (close in Elo, wide uncertainty), drawn among the best
   few so that raters working at once do not all get the same one; the image is the one on which that pair
   was compared least.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness.pairwise.db import DEGRADED, ORIGINAL, StudyDB
from harness.pairwise.scoring import elo_covariance, fit_elo, win_probability

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
    phase: str  # golden, burn-in or adaptive


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


class Selector:
    def __init__(self, db: StudyDB) -> None:
        self.db = db
        meta = db.meta()
        self.seed = int(meta.get("seed", "0"))
        self.golden_every = int(meta.get("golden_every", "8"))
        self.design = burn_in_pairs(db, self.seed)
        self.conditions = sorted({c for _, a, b in self.design for c in (a, b)})
        self.images_of: dict[tuple[str, str], list[str]] = {}
        by_image: dict[str, set[str]] = {}
        for s in db.stimuli():
            by_image.setdefault(s["image"], set()).add(s["condition"])
        for image, conds in by_image.items():
            for a in conds:
                for b in conds:
                    if a < b:
                        self.images_of.setdefault((a, b), []).append(image)
        self.rng = np.random.default_rng()

    def next_trial(self, rater: str) -> Trial:
        """The rater's open comparison if any (a reload shows the same one), else a new one, recorded."""
        open_trial = self.db.open_trial(rater)
        if open_trial is not None:
            return Trial(open_trial["id"], rater, open_trial["image"], open_trial["a"], open_trial["b"], "open")
        _, shown = self.db.rater_counts(rater)
        image, a, b, phase = self._choose(shown)
        if self.rng.random() < 0.5:
            a, b = b, a
        trial = Trial(uuid.uuid4().hex, rater, image, a, b, phase)
        self.db.add_trial(trial.id, rater, image, a, b)
        return trial

    def _choose(self, shown: int) -> tuple[str, str, str, str]:
        if self.golden_every > 0 and shown % self.golden_every == 2:
            images = sorted({image for image, _, _ in self.design})
            return str(self.rng.choice(images)), ORIGINAL, DEGRADED, "golden"
        votes = [v for v in self.db.votes() if not v.golden]
        taken = Counter((v.image, *sorted((v.a, v.b))) for v in votes)
        for t in self.db.pending(time.time() - PENDING_SECONDS):
            if t["a"] not in (ORIGINAL, DEGRADED):
                taken[(t["image"], *sorted((t["a"], t["b"])))] += 1
        open_design = [p for p in self.design if taken[p] == 0]
        if open_design:
            image, a, b = open_design[int(self.rng.integers(len(open_design)))]
            return image, a, b, "burn-in"
        return self._adaptive(votes, taken)

    def _adaptive(self, votes: list, taken: Counter) -> tuple[str, str, str, str]:
        index = {c: k for k, c in enumerate(self.conditions)}
        usable = [v for v in votes if v.a in index and v.b in index]
        winners = np.array([index[v.winner] for v in usable], dtype=int)
        losers = np.array([index[v.b if v.choice == "a" else v.a] for v in usable], dtype=int)
        elo = fit_elo(winners, losers, len(self.conditions))
        cov = elo_covariance(winners, losers, elo)
        answered = Counter((min(v.a, v.b), max(v.a, v.b)) for v in usable)
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
