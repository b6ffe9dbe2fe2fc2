"""From votes to conclusions: the Elo table, perceptual BD-rate, equal-Elo rates and metric agreement.

Perceptual BD-rate is the BD-rate of the run's other tables (:mod:`harness.analysis.bdrate`, pchip on
log10 rate over the shared quality range) with Elo as the quality axis: each codec's curve is its
conditions' (mean bpp, Elo) points. Its 95% interval is the 2.5-97.5 percentile range of the same
computation on every bootstrap refit of the Elo scores (raters and images resampled), so the uncertainty of
the human scores carries into the bitrate saving. Codecs with a single condition (published
reconstructions at one rate, as PICO's) have no curve: for them the equal-Elo table reads the rate the
anchor needs to reach their Elo, as PICO's paper reports its savings.

Metric agreement is Kendall's tau between each metric of the run (mean over the study's images, sign
turned so that higher is better) and the Elo scores, over conditions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import scipy.stats

from harness.analysis import bdrate
from harness.codecs import codec_name_of
from harness.pairwise import caveats
from harness.pairwise.db import StudyDB, StudyError
from harness.pairwise.scoring import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_GOLDEN_THRESHOLD,
    Scores,
    score_votes,
)
from harness.pairwise.settings import Settings
from harness.pairwise.writeup import StudyReport, elo_figure, summary_lines, to_markdown


def condition_info(db: StudyDB) -> pd.DataFrame:
    """Per condition: codec, point, mean bpp over its images, number of images."""
    stimuli = pd.DataFrame([dict(r) for r in db.stimuli()])
    conditions = pd.DataFrame([dict(r) for r in db.conditions()])
    rates = stimuli.groupby("condition").agg(bpp=("bpp", "mean"), images=("image", "nunique")).reset_index()
    return conditions.rename(columns={"name": "condition"}).merge(rates, on="condition")


def score_study(db: StudyDB, *, bootstrap: int = DEFAULT_BOOTSTRAP,
                golden_threshold: float = DEFAULT_GOLDEN_THRESHOLD, seed: int = 0,
                resample: str = "both", require_golden: bool = True) -> tuple[Scores, pd.DataFrame]:
    """Scores and the Elo table (condition, elo, low, high, codec, point, bpp, images, votes), by Elo; an
    interval that is no interval (zero width, on its estimate's edge, too few usable refits) is blank and
    said in ``scores.extra["degenerate"]``."""
    info = condition_info(db)
    votes = db.votes()
    scores = score_votes(votes, list(info["condition"]), bootstrap=bootstrap, golden_threshold=golden_threshold,
                         seed=seed, resample=resample, require_golden=require_golden)
    dropped = set(scores.dropped_raters)
    counted: dict[str, int] = {}
    for v in votes:
        if not v.golden and not v.fast and v.rater not in dropped:
            counted[v.a] = counted.get(v.a, 0) + 1
            counted[v.b] = counted.get(v.b, 0) + 1
    table = scores.table().merge(info, on="condition")
    table["votes"] = table["condition"].map(counted).fillna(0).astype(int)
    table, scores.extra["degenerate"] = caveats.blank_degenerate(table, scores)
    return scores, table.sort_values("elo", ascending=False).reset_index(drop=True)


def write_elo_csv(table: pd.DataFrame, path: Path) -> Path:
    table[["condition", "elo", "low", "high"]].to_csv(path, index=False, float_format="%.2f")
    return path


# --- perceptual BD-rate ----------------------------------------------------------------------------------

def perceptual_bd_rate(codecs: Sequence[str], bpp: np.ndarray, elo: np.ndarray, anchor: str, test: str,
                       min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP) -> bdrate.BDResult:
    """BD-rate (pchip) of ``test`` against ``anchor`` with Elo as quality: one condition per point."""
    names = np.asarray(codecs)
    a, t = names == anchor, names == test
    return bdrate.bd_rate(bpp[a], elo[a], bpp[t], elo[t], "pchip", min_overlap=min_overlap)


def default_anchor(codecs: Sequence[str]) -> str:
    """The codec with the most conditions (a curve to read others against); VVC on a tie, else by name."""
    counts = pd.Series(list(codecs)).value_counts()
    best = sorted(counts[counts == counts.max()].index, key=lambda c: (codec_name_of(c) != "vvc", c))
    return str(best[0])


def _interval(values: np.ndarray) -> tuple[float, float, int]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return math.nan, math.nan, 0
    return float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5)), int(finite.size)


def bd_table(table: pd.DataFrame, scores: Scores, anchor: str,
             min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP) -> pd.DataFrame:
    """Perceptual BD-rate of every codec against ``anchor`` with its bootstrap interval."""
    order = {c: k for k, c in enumerate(scores.conditions)}
    table = table.sort_values("condition", key=lambda s: s.map(order))
    codecs, bpp = table["codec"].to_numpy(), table["bpp"].to_numpy(dtype=float)
    rows = []
    anchor_problem = caveats.not_increasing(table, anchor) if (table["codec"] == anchor).sum() > 1 else None
    for test in sorted(set(codecs) - {anchor}):
        problem = caveats.not_increasing(table, test)
        if anchor_problem or problem:
            reason = f"anchor: {anchor_problem}" if anchor_problem else str(problem)
            rows.append({"anchor": anchor, "codec": test, "bd_rate": math.nan, "low": math.nan, "high": math.nan,
                         "replicates": 0, "of": len(scores.replicates), "overlap": math.nan, "reason": reason})
            continue
        point = perceptual_bd_rate(codecs, bpp, table["elo"].to_numpy(dtype=float), anchor, test, min_overlap)
        boot = np.array([perceptual_bd_rate(codecs, bpp, rep, anchor, test, min_overlap).value or math.nan
                         for rep in scores.replicates])
        low, high, valid = _interval(boot) if point.ok else (math.nan, math.nan, 0)
        reason = point.reason
        if point.ok and (valid < caveats.MIN_USABLE * len(scores.replicates) or not high - low > 1e-9):
            reason = (f"interval not shown: {valid} of {len(scores.replicates)} bootstrap refits usable"
                      + (", zero width" if valid and not high - low > 1e-9 else ""))
            low = high = math.nan
        rows.append({"anchor": anchor, "codec": test, "bd_rate": point.value, "low": low, "high": high,
                     "replicates": valid, "of": len(scores.replicates), "overlap": point.overlap,
                     "reason": reason})
    return pd.DataFrame(rows, columns=["anchor", "codec", "bd_rate", "low", "high", "replicates", "of",
                                       "overlap", "reason"])


def equal_elo_table(table: pd.DataFrame, scores: Scores, anchor: str) -> pd.DataFrame:
    """For each condition of another codec: the bpp the anchor needs for the same Elo (pchip on the anchor's
    curve, never extrapolated) and the ratio anchor bpp / condition bpp (2.3 = 2.3x fewer bits)."""
    order = {c: k for k, c in enumerate(scores.conditions)}
    mask = (table["codec"] == anchor).to_numpy()
    idx_anchor = [order[c] for c in table.loc[mask, "condition"]]
    others = table[~mask]
    idx_other = [order[c] for c in others["condition"]]
    anchor_bpp = table.loc[mask, "bpp"].to_numpy(dtype=float)
    own_bpp = others["bpp"].to_numpy(dtype=float)

    def needed(elo: np.ndarray) -> np.ndarray:
        return bdrate.rate_at_quality(anchor_bpp, elo[idx_anchor], elo[idx_other])

    point = needed(scores.elo)
    boot = np.array([needed(rep) for rep in scores.replicates]).reshape(-1, len(idx_other)) / own_bpp
    rows = []
    for k, (_, row) in enumerate(others.iterrows()):
        low, high, valid = _interval(boot[:, k]) if math.isfinite(point[k]) else (math.nan, math.nan, 0)
        reason = "" if math.isfinite(point[k]) else "Elo outside the anchor's range"
        if valid and not high - low > 1e-9:
            low = high = math.nan
            reason = "zero-width interval: not shown"
        rows.append({"condition": row["condition"], "codec": row["codec"], "bpp": row["bpp"], "elo": row["elo"],
                     "anchor_bpp": point[k], "ratio": point[k] / row["bpp"], "low": low, "high": high,
                     "replicates": valid, "reason": reason})
    return pd.DataFrame(rows, columns=["condition", "codec", "bpp", "elo", "anchor_bpp", "ratio", "low", "high",
                                       "replicates", "reason"])


def kendall_table(db: StudyDB, table: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b between each metric (mean over the condition's images) and the Elo, over conditions."""
    from harness.metrics import column_info

    values: dict[str, dict[str, list[float]]] = {}
    for s in db.stimuli():
        for metric, value in json.loads(s["metrics"]).items():
            values.setdefault(metric, {}).setdefault(s["condition"], []).append(float(value))
    elo = dict(zip(table["condition"], table["elo"]))
    rows = []
    for metric, per_condition in sorted(values.items()):
        info = column_info(metric)
        sign = 1.0 if info is None or info.higher_is_better else -1.0
        pairs = [(elo[c], sign * float(np.mean(v))) for c, v in per_condition.items()
                 if c in elo and np.isfinite(elo[c]) and np.all(np.isfinite(v))]
        if len(pairs) < 3:
            continue
        human, machine = map(np.array, zip(*pairs))
        tau, p = scipy.stats.kendalltau(human, machine)
        rows.append({"metric": metric, "kendall_tau": float(tau), "p_value": float(p), "conditions": len(pairs)})
    return pd.DataFrame(rows, columns=["metric", "kendall_tau", "p_value", "conditions"])


def report_study(db: StudyDB, *, anchor: str | None = None, bootstrap: int = DEFAULT_BOOTSTRAP,
                 golden_threshold: float = DEFAULT_GOLDEN_THRESHOLD, seed: int = 0, resample: str = "both",
                 formats: Sequence[str] = ("png", "pdf"), require_golden: bool = True) -> StudyReport:
    """Score, then write elo.csv, bd.csv, equal_elo.csv, kendall.csv, report.md and the Elo-vs-bpp figure."""
    from harness.render import plots

    scores, table = score_study(db, bootstrap=bootstrap, golden_threshold=golden_threshold, seed=seed,
                                resample=resample, require_golden=require_golden)
    codecs = list(table["codec"])
    chosen = anchor or default_anchor(codecs)
    if chosen not in codecs:
        by_name = sorted({c for c in codecs if codec_name_of(c) == chosen})
        if len(by_name) != 1:
            raise StudyError(f"anchor {chosen!r} is not a codec of the study (codecs: {', '.join(sorted(set(codecs)))})")
        chosen = by_name[0]
    bd = bd_table(table, scores, chosen)
    meta = db.meta()
    rep = StudyReport(table, bd, equal_elo_table(table, scores, chosen), kendall_table(db, table), scores.raters,
                      chosen, [*caveats.study_warnings(scores, table, bd), *cast(list, scores.extra["degenerate"])],
                      summary_lines(scores, meta, Settings.from_meta(meta).trials_per_rater))
    folder = db.folder
    name = meta.get("name", folder.name)
    rep.files["elo"] = write_elo_csv(table, folder / "elo.csv")
    rep.bd.to_csv(folder / "bd.csv", index=False, float_format="%.4f")
    rep.files["bd"] = folder / "bd.csv"
    rep.equal_elo.to_csv(folder / "equal_elo.csv", index=False, float_format="%.4f")
    rep.files["equal_elo"] = folder / "equal_elo.csv"
    rep.kendall.to_csv(folder / "kendall.csv", index=False, float_format="%.4f")
    rep.files["kendall"] = folder / "kendall.csv"
    (folder / "report.md").write_text(to_markdown(rep, name, scores.votes_used))
    rep.files["report"] = folder / "report.md"
    fig = elo_figure(table, f"Elo vs rate, study {name} ({scores.votes_used} votes)")
    for path in plots.save(fig, folder / "elo_vs_bpp", formats):
        rep.files[f"figure {path.suffix[1:]}"] = path
    return rep
