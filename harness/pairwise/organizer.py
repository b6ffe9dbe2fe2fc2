"""What the organizer's live page shows: raters, votes per condition and pair, golden pass rate, the
current Elo with intervals, and whether the stopping rule is met."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import numpy as np

from harness.pairwise.db import StudyDB
from harness.pairwise.scoring import elo_covariance, fit_elo, screen_raters
from harness.pairwise.select import Selector, pairs_of, stopping

ACTIVE_SECONDS = 300.0


def _finite(x: float) -> float | None:
    return round(float(x), 1) if np.isfinite(x) else None


def progress(db: StudyDB, selector: Selector) -> dict[str, Any]:
    st = selector.settings
    votes = db.votes()
    screen = screen_raters(votes).set_index("rater") if votes else None
    with db.connect() as conn:
        raters = conn.execute("SELECT id, source, created, setup FROM raters ORDER BY created").fetchall()
        last = dict(conn.execute("SELECT rater, MAX(shown_at) FROM trials GROUP BY rater").fetchall())
    now = time.time()
    rows = []
    for r in raters:
        counts = screen.loc[r["id"]] if screen is not None and r["id"] in screen.index else None
        n = int(counts["votes"]) if counts is not None else 0
        state = ("screened out" if counts is not None and counts["status"] == "failed" else
                 "complete" if n >= st.trials_per_rater else
                 "active" if now - float(last.get(r["id"]) or 0) < ACTIVE_SECONDS else
                 "invited" if n == 0 else "idle")
        rows.append({"rater": r["id"], "source": r["source"], "votes": n, "state": state,
                     "golden": int(counts["golden"]) if counts is not None else 0,
                     "golden_right": int(counts["golden_right"]) if counts is not None else 0,
                     "fast": int(counts["fast"]) if counts is not None else 0,
                     "setup": json.loads(r["setup"]) if r["setup"] else None})
    golden = [v for v in votes if v.golden]
    failed = set(screen.index[screen["status"] == "failed"]) if screen is not None else set()
    counted = [v for v in votes if not v.golden and not v.fast and v.rater not in failed]
    per_condition = Counter(c for v in counted for c in (v.a, v.b))
    per_pair = Counter(" vs ".join(sorted((v.a, v.b))) for v in counted)
    index = {c: k for k, c in enumerate(selector.conditions)}
    winners, losers, weights = pairs_of(counted, index)
    elo = fit_elo(winners, losers, len(index), weights)
    cov = elo_covariance(winners, losers, elo, weights=weights)
    half = 1.96 * np.sqrt(np.clip(np.diag(cov), 0, None))
    seen = {c for v in counted for c in (v.a, v.b)}
    met, widest = stopping(np.where([c in seen for c in index], elo, np.nan), cov, st.stop_width)
    return {
        "raters": rows,
        "votes": len(votes), "counted": len(counted), "fast": sum(v.fast for v in votes),
        "golden": {"answered": len(golden), "passed": sum(v.golden_right for v in golden)},
        "per_condition": dict(sorted(per_condition.items())),
        "per_pair": dict(sorted(per_pair.items())),
        "elo": [{"condition": c, "elo": _finite(elo[k]), "low": _finite(elo[k] - half[k]),
                 "high": _finite(elo[k] + half[k])} for c, k in index.items() if c in seen],
        "stopping": {"width": st.stop_width, "widest": _finite(widest), "met": met, "budget": st.budget,
                     "ended_by": selector.ended},
        "settings": {"trials_per_rater": st.trials_per_rater, "pause_every": st.pause_every,
                     "min_seconds": st.min_seconds, "mode": st.mode, "ties": st.ties},
    }
