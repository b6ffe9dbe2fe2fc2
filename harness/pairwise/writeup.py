"""The study report's words and picture: the Markdown (warnings first) and the Elo-vs-bpp figure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.pairwise import caveats
from harness.pairwise.scoring import Scores


@dataclass
class StudyReport:
    elo: pd.DataFrame
    bd: pd.DataFrame
    equal_elo: pd.DataFrame
    kendall: pd.DataFrame
    raters: pd.DataFrame
    anchor: str
    warnings: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def elo_figure(table: pd.DataFrame, title: str):  # -> matplotlib Figure
    from matplotlib.figure import Figure

    from harness.render import plots

    styles = plots.codec_styles(sorted(table["codec"].unique()))
    with plots.style():
        fig = Figure(figsize=(5.6, 3.6), layout="constrained")
        ax = fig.subplots()
        for codec in sorted(table["codec"].unique()):
            curve = table[table["codec"] == codec].sort_values("bpp")
            st = styles[codec]
            ax.errorbar(curve["bpp"], curve["elo"], yerr=[curve["elo"] - curve["low"], curve["high"] - curve["elo"]],
                        fmt="none", ecolor=st["color"], elinewidth=0.8, alpha=0.6, capsize=2)
            ax.plot(curve["bpp"], curve["elo"], label=codec, color=st["color"], marker=st["marker"],
                    linestyle=st["linestyle"], markerfacecolor="white" if st["color"] != "#000000" else "#000000",
                    markeredgewidth=1.1)
        plots._rate_axis(ax, "bpp")
        ax.set_ylabel("Elo (Bradley-Terry, higher is preferred)")
        ax.set_title(title, loc="left")
        plots._legend_outside(fig, ax, title="bars: 95 % bootstrap")
    return fig


def _md(frame: pd.DataFrame, floatfmt: str = ".1f", **formats: str) -> str:
    """A Markdown table; ``formats`` gives some columns their own float format (bpp to 4 decimals, Elo
    to whole points); missing values are left blank."""
    if not len(frame):
        return "(none)"
    shown = frame.astype(object).where(frame.notna(), None)
    return shown.to_markdown(index=False, floatfmt=tuple(formats.get(c, floatfmt) for c in frame.columns),
                             missingval="")


def summary_lines(scores: Scores, meta: dict[str, str], trials_per_rater: int) -> list[str]:
    raters = scores.raters
    failed = raters[raters["status"] == "failed"]
    unscreened = raters[(raters["status"] == "unscreened") & raters["dropped"]]
    lines = [f"{scores.votes_used} votes counted from {int((~raters['dropped']).sum())} of {len(raters)} raters; "
             f"{len(failed)} rater(s) failed the golden questions"
             + (f" ({', '.join(failed['rater'][:10])})" if len(failed) else "")
             + f", {len(unscreened)} never met one (unscreened, not counted); "
             f"{scores.extra.get('fast_votes', 0)} vote(s) faster than the minimum viewing time left out."]
    if "nu" in scores.extra:
        lines.append(f"{scores.extra['ties']} 'no visible difference' answers: Davidson's Bradley-Terry with ties, "
                     f"nu = {scores.extra['nu']:.3f} (95% {scores.extra['nu_low']:.3f}-{scores.extra['nu_high']:.3f}).")
    lines.append(caveats.ended_line(meta, raters, trials_per_rater))
    return lines


def to_markdown(rep: StudyReport, name: str, votes: int) -> str:
    elo = rep.elo[["condition", "codec", "bpp", "elo", "low", "high", "votes", "images"]]
    warnings = [f"- **{w}**" for w in rep.warnings] or ["- none"]
    lines = [f"# Study {name}", "", "## Warnings", "", *warnings, "", *rep.summary, "",
             "## Elo (Bradley-Terry, 95% bootstrap interval over raters and images)", "",
             _md(elo, ".0f", bpp=".4f"), "",
             f"## Perceptual BD-rate against {rep.anchor} (pchip, Elo as quality; negative: fewer bits)", "",
             _md(rep.bd, ".1f", overlap=".2f"), "",
             f"## Rate {rep.anchor} needs for the same Elo (ratio > 1: the condition needs fewer bits)", "",
             _md(rep.equal_elo, ".3f", bpp=".4f", anchor_bpp=".4f", elo=".0f"), "",
             "## Metrics against the human ranking (Kendall tau over conditions)", "",
             _md(rep.kendall, ".3f"), "",
             "## Raters", "", _md(rep.raters, ".2f"), ""]
    return "\n".join(lines)


