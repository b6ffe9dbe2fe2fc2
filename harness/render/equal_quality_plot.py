"""The equal-quality rate ratio figure: a single-point contender's size as a percentage of each rival's, per
metric, with 95% intervals and the paper's claimed band shaded."""

from __future__ import annotations

from matplotlib.figure import Figure

from harness.analysis.equal_quality import CLAIMED_BAND, EqualQuality
from harness.analysis.selection import metric_info
from harness.render.plots import codec_styles, style


def equal_quality_figure(result: EqualQuality) -> tuple[Figure | None, list[str]]:
    """One panel per metric that has a ratio; returns the figure (None when no panel has data) and the
    notes naming what was left out (metrics without any ratio, rivals whose curve reached no image)."""
    notes: list[str] = []
    metrics = []
    for metric in result.metrics:
        cells = [c for c in result.cells if c.metric == metric]
        if any(c.ratio is not None for c in cells):
            metrics.append(metric)
        elif cells:
            notes.append(f"{metric}: no rival reaches {result.anchor}'s value on any image; panel left out")
    for cell in result.cells:
        if cell.metric in metrics and cell.ratio is None:
            notes.append(f"{cell.rival} on {cell.metric}: no image reached; not drawn")
    if not metrics:
        return None, notes
    rivals = result.rivals
    styles = codec_styles(rivals + [result.anchor])
    low, high = CLAIMED_BAND
    with style():
        fig = Figure(figsize=(2.6 * len(metrics) + 1.2, 0.36 * len(rivals) + 1.3), layout="constrained")
        axes = fig.subplots(1, len(metrics), squeeze=False, sharey=True)[0]
        for ax, metric in zip(axes, metrics):
            ax.axvspan(low * 100, high * 100, color="#CC79A7", alpha=0.18, linewidth=0, label="paper's claim")
            ax.axvline(100, color="0.3", linewidth=0.7, linestyle="--")
            top = 0.0
            for y, rival in enumerate(reversed(rivals)):
                found = result.cell(rival, metric)
                if found is None or found.ratio is None:
                    continue
                cell = found
                x = found.ratio * 100
                err = ([[x - cell.low * 100], [cell.high * 100 - x]]
                       if cell.low is not None and cell.high is not None else None)
                st = styles[rival]
                ax.errorbar([x], [y], xerr=err, fmt=st["marker"], color=st["color"], markeredgecolor="black",
                            markeredgewidth=0.4, capsize=2, elinewidth=1.0)
                ax.text(x, y + 0.22, f"{x:.0f}% ({cell.images}/{cell.total})", fontsize=7, ha="center")
                top = max(top, x if cell.high is None else cell.high * 100)
            ax.set_xlim(0, max(110.0, top * 1.1))
            ax.set_yticks(range(len(rivals)), list(reversed(rivals)))
            ax.set_ylim(-0.6, len(rivals) - 0.3)
            ax.grid(axis="y", visible=False)
            ax.set_title(metric_info(metric).label, loc="left")
            ax.set_xlabel(f"{result.anchor} size / rival size [%]")
        axes[0].legend(loc="lower right", frameon=False, fontsize=7)
        fig.suptitle(f"{result.anchor}'s bits at equal metric quality (geometric mean over images, 95% interval)",
                     fontsize=9, x=0.01, ha="left")
        if notes:
            fig.supxlabel("; ".join(notes), fontsize=6, x=0.01, ha="left")
    return fig, notes
