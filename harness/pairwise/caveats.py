"""What a study's results cannot bear: the warnings the report opens with, intervals too degenerate to show,
codecs whose Elo does not rise with rate, and what ended the study."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.pairwise.scoring import Scores

MIN_RATERS = 5
MIN_VOTES = 20  # counted votes per condition
MIN_USABLE = 0.9  # share of bootstrap refits that must give a value for an interval to be shown


def not_increasing(table: pd.DataFrame, codec: str) -> str | None:
    """Why ``codec``'s Elo (point estimates) does not rise with bpp, or None when it does."""
    curve = table[table["codec"] == codec].sort_values("bpp")
    rows = list(curve.itertuples())
    for lo, hi in zip(rows, rows[1:]):
        if not (hi.elo > lo.elo):
            return (f"Elo not increasing in bpp: {hi.condition} ({hi.bpp:.3f} bpp, Elo {hi.elo:.0f}) is not above "
                    f"{lo.condition} ({lo.bpp:.3f} bpp, Elo {lo.elo:.0f})")
    return None


def blank_degenerate(table: pd.DataFrame, scores: Scores) -> tuple[pd.DataFrame, list[str]]:
    """The Elo table with intervals that are no interval (zero width, the estimate on their edge, or from
    too few usable refits) left blank, and one line per kind of problem."""
    order = {c: k for k, c in enumerate(scores.conditions)}
    usable = np.isfinite(scores.replicates).mean(axis=0) if len(scores.replicates) else np.zeros(len(order))
    table = table.copy()
    zero, edge, few = [], [], []
    for k, row in table.iterrows():
        if not math.isfinite(row["elo"]):
            continue
        width = row["high"] - row["low"]
        if not (math.isfinite(width) and width > 1e-6):
            zero.append(row["condition"])
        elif min(row["elo"] - row["low"], row["high"] - row["elo"]) <= 1e-6:
            edge.append(row["condition"])
        elif usable[order[row["condition"]]] < MIN_USABLE:
            few.append(row["condition"])
        else:
            continue
        table.loc[k, ["low", "high"]] = math.nan
    lines = []
    if zero:
        lines.append(f"degenerate bootstrap: {len(zero)} condition(s) have a zero-width interval "
                     f"({', '.join(zero[:4])}); not shown")
    if edge:
        lines.append(f"degenerate bootstrap: {len(edge)} condition(s) sit on the edge of their own interval "
                     f"({', '.join(edge[:4])}); not shown")
    if few:
        lines.append(f"degenerate bootstrap: {len(few)} condition(s) were compared in fewer than "
                     f"{MIN_USABLE:.0%} of the refits ({', '.join(few[:4])}); not shown")
    return table, lines


def study_warnings(scores: Scores, table: pd.DataFrame, bd: pd.DataFrame) -> list[str]:
    lines = []
    kept = int((~scores.raters["dropped"]).sum())
    if kept < MIN_RATERS:
        lines.append(f"only {kept} screened rater(s) counted (fewer than {MIN_RATERS}): the intervals over raters "
                     "mean little")
    thin = table[table["votes"] < MIN_VOTES].sort_values("votes")
    if len(thin):
        first = thin.iloc[0]
        lines.append(f"{len(thin)} condition(s) have fewer than {MIN_VOTES} counted votes (fewest: "
                     f"{first['condition']}, {int(first['votes'])})")
    for row in bd.itertuples():
        if str(row.reason).startswith("Elo not increasing") or str(row.reason).startswith("anchor: Elo"):
            lines.append(f"no perceptual BD-rate for {row.codec}: {row.reason}")
        elif row.bd_rate == row.bd_rate and not (row.low == row.low):
            lines.append(f"perceptual BD-rate of {row.codec}: {row.reason}")
    return lines


def ended_line(meta: dict[str, str], raters: pd.DataFrame, trials_per_rater: int) -> str:
    ended = meta.get("ended_by")
    if ended:
        return f"The study ended by its stopping rule: {ended}."
    complete = int((raters["votes"] >= trials_per_rater).sum()) if len(raters) else 0
    return (f"The study has not ended by its stopping rule (no budget or interval width reached); "
            f"{complete} of {len(raters)} raters completed their {trials_per_rater} trials.")
