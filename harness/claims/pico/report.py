"""The PICO question, answered from a run: is the anchor (PICO) better than each codec at equal rate, by which
measure, and how far?

PICO's model is not public, so its rows are the authors' published reconstructions at their stated rates
(one point per image in their viewer, eight per image in their CLIC release). The comparison is made per
image, at the anchor's rate:

- a codec with a knob (ours, run with ``--match``) is read on **its own RD curve for that image** at exactly
  the anchor's bpp: the rate search keeps its bracketing encodes as rows (role "search"), and every metric
  is interpolated between them (pchip on log bpp, the BD machinery); the nearest real encode is shown beside;
- a published rival without a curve is compared where it is, with its **rate gap** to the anchor: within the
  tolerance the comparison counts as "at equal rate"; otherwise it is "anchor better at a lower rate" (the
  anchor spends fewer bits and still wins), "codec better at a lower rate", or "inconclusive" - never
  silently equal;
- every figure of a table is computed on the **same images** (those all its codecs share); per-codec image
  counts are shown, and full-set figures separately.

:func:`summary_markdown` leads with the verdict table (per codec and metric: mean difference with a
bootstrap interval over images, wins and losses, the rate gap), then the details; ``harness report RUN
--anchor pico --summary`` writes it to ``RUN/report/summary.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.equal_quality import EqualQuality, equal_quality, headline_markdown
from harness.analysis.equal_rate import (
    DEFAULT_MAX_GAP,
    PSNR_COLUMNS,
    EqualRate,
    equal_rate,
)
from harness.analysis.equal_rate import (
    metric_label as _label,
)
from harness.analysis.selection import load_run, run_name
from harness.render.verdicts import fmt, md_table, signed, verdict_blocks, verdict_table
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

# Which direction an anchor "loses on PSNR but wins perceptually" is judged on.
PERCEPTUAL_PREFIXES = ("lpips", "dists")


# --- rendering ----------------------------------------------------------------------------------------------

def _is(metric: str, prefixes: Sequence[str]) -> bool:
    return metric.startswith(tuple(prefixes))


def caveat_cases(result: EqualRate) -> pd.DataFrame:
    """Pairs where the anchor loses on PSNR but wins on a perceptual metric (LPIPS/DISTS)."""
    psnr = next((m for m in result.metrics if m in PSNR_COLUMNS), None)
    perceptual = [m for m in result.metrics if _is(m, PERCEPTUAL_PREFIXES)]
    if psnr is None or not perceptual or result.pairs.empty:
        return pd.DataFrame()
    p = result.pairs
    loses_psnr = p[f"{psnr}:anchor_better"] == False
    wins = np.zeros(len(p), dtype=bool)
    for m in perceptual:
        wins |= (p[f"{m}:anchor_better"] == True).to_numpy()
    return p[loses_psnr.to_numpy() & wins]


def summary_markdown(result: EqualRate, quality: EqualQuality | None = None) -> str:
    a = result.anchor
    p = result.pairs
    out = [f"# Is {a} better at equal rate? {result.run}", ""]
    if quality is not None and quality.cells:
        out += ["## Bits at equal quality", "", headline_markdown(quality), ""]
    images = sorted(p["image"].unique()) if not p.empty else []
    out.append(f"Anchor **{a}**; metrics: " + ", ".join(_label(m) for m in result.metrics) + ". "
               f"Each cell: the verdict, then the mean over images of (codec − {a}) in the metric's units with "
               f"its 95% bootstrap interval over images, and on how many images {a} is better. Higher is better "
               "for PSNR and MS-SSIM, lower for LPIPS, DISTS and text error.")
    out += ["", "## Verdict", ""]
    out.append(verdict_table(result))
    out.append("")
    if p.empty:
        out.append("No codec has a point at the anchor's rates.")
    else:
        counts = p.groupby("codec")["image"].nunique()
        out.append(f"Computed on the {len(result.common)} image(s) every codec shares"
                   + (f" ({', '.join(result.common)})" if len(result.common) <= 8 else "") + ". "
                   "Codecs we ran are read at exactly the anchor's bpp on their own RD curve for each image "
                   "(interpolated between the rate search's encodes, pchip on log bpp); published rivals "
                   f"have one point per image and are compared where they are: within ±{result.tolerance:.0%} "
                   f"of the anchor's rate it is a comparison at equal rate, beyond it \"{a} better at a lower "
                   "rate\" when the cheaper anchor also wins, else inconclusive.")
        if (counts != len(result.common)).any():
            out.append("")
            out.append("Images with a comparison per codec: " + ", ".join(f"{c} {n}" for c, n in counts.items())
                       + ". On each codec's own images:")
            out.append("")
            out.append(verdict_table(result, result.full_summary))
    out.extend(f"\n_{note}_" for note in result.notes)

    out += ["", "## Rates", ""]
    if not p.empty:
        rows = [[r.image, f"{r.anchor_bpp:.4g}", r.codec, f"{r.bpp:.4g}", f"{r.rate_gap:+.1%}",
                 f"{r.nearest_bpp:.4g} ({r.nearest_gap:+.1%})", r.how]
                for r in p.sort_values(["image", "anchor_bpp", "codec"]).itertuples()]
        out.append(md_table(["image", f"{a} bpp", "codec", "compared at bpp", "rate gap", "nearest encode",
                              "how"], rows))

    out += ["", "## Per image", ""]
    if not p.empty:
        header = ["image", "codec", "bpp", *(_label(m) for m in result.metrics)]
        rows = []
        for image in images:
            at = p[p["image"] == image].sort_values(["anchor_bpp", "codec"])
            for bpp_a, g in at.groupby("anchor_bpp"):
                first = g.iloc[0]
                rows.append([image, f"**{a}**", f"{bpp_a:.4g}",
                             *(fmt(first[f"{m}:anchor"], m) for m in result.metrics)])
                for row in g.to_dict("records"):
                    cells = []
                    for m in result.metrics:
                        text = f"{fmt(row[f'{m}:codec'], m)} ({signed(row[f'{m}:delta'], m)})"
                        if row["how"] == "interpolated":
                            text += f"; nearest encode {fmt(row[f'{m}:nearest'], m)}"
                        cells.append(text)
                    rows.append(["", row["codec"], f"{row['bpp']:.4g}", *cells])
        out.append(md_table(header, rows))
        out.append("")
        out.append("Interpolated rows show the value on the codec's curve at the anchor's bpp and, after it, the "
                   "nearest real encode (at the bpp of the Rates table).")

    out += ["", "## The PSNR caveat", ""]
    cases = caveat_cases(result)
    psnr = next((m for m in result.metrics if m in PSNR_COLUMNS), None)
    perceptual = [m for m in result.metrics if _is(m, PERCEPTUAL_PREFIXES)]
    if psnr is None or not perceptual:
        out.append("Needs PSNR and LPIPS or DISTS in the run (`--metrics psnr,lpips,dists`).")
    elif cases.empty:
        out.append(f"No pair where {a} loses on PSNR and wins on {' or '.join(_label(m) for m in perceptual)}.")
    else:
        n = len(p)
        out.append(f"{a} loses on PSNR but wins on a perceptual metric in {len(cases)} of {n} comparisons "
                   "(the paper's own caveat: PICO is optimised for perceived quality, not for MSE):")
        out.append("")
        for row in cases.to_dict("records"):
            wins = [f"{_label(m)} {fmt(row[f'{m}:anchor'], m)} vs {fmt(row[f'{m}:codec'], m)}"
                    for m in perceptual if row[f"{m}:anchor_better"] == True]
            out.append(f"- {row['image']}, {row['codec']} at {row['bpp']:.4g} bpp ({row['rate_gap']:+.1%}): "
                       f"PSNR {fmt(row[f'{psnr}:anchor'], psnr)} vs {fmt(row[f'{psnr}:codec'], psnr)} dB, "
                       "but " + "; ".join(wins))

    out += ["", "## JPEG XL", ""]
    s = result.summary
    jxl = [] if p.empty else sorted({c for c, n in zip(p["codec"], p["codec_name"], strict=True)
                                     if str(n).startswith("jxl") or str(c).startswith("jxl")})
    if not jxl:
        out.append("JPEG XL is not in this run: add `jxl` to `--codecs` (the paper never tested it).")
    else:
        for codec in jxl:
            g = s[s["codec"] == codec].set_index("metric")
            parts = [f"{_label(m)} {signed(g.loc[m, 'mean_delta'], m)} ({a} better {int(g.loc[m, 'anchor_better'])}/"
                     f"{int(g.loc[m, 'n'])})" for m in result.metrics if m in g.index]
            out.append(f"- **{codec}** (not tested in the paper), at {a}'s bpp: " + "; ".join(parts) + ".")

    if result.bd is not None and not result.bd.empty and result.bd["value"].notna().any():
        out += ["", f"## BD-rate against {a} (curves with two or more points per image)", ""]
        rows = [[r.codec, r.metric, "–" if pd.isna(r.value) else f"{r.value:+.1f} %", r.reason or ""]
                for r in result.bd.itertuples()]
        out.append(md_table(["codec", "metric", "BD-rate", "note"], rows))

    out += ["", "## Not published", ""]
    if result.absent is None or result.absent.empty:
        out.append("Every published source has a reconstruction of every image.")
    else:
        out.append("Images a published source has no reconstruction of (a gap in what the authors published, "
                   "not a failure):")
        out.append("")
        for codec, g in result.absent.groupby("codec"):
            out.append(f"- {codec}: " + ", ".join(sorted(str(i) for i in g["image"])))

    out += ["", "## Rows that failed", ""]
    if result.failures is None or result.failures.empty:
        out.append("None.")
    else:
        for r in result.failures.itertuples(index=False):
            out.append(f"- {r.codec} / {r.image}: {r.error}")
    failed = set() if result.failures is None or result.failures.empty else {
        (str(c), str(i)) for c, i in zip(result.failures["codec"], result.failures["image"], strict=True)}
    absent = set() if result.absent is None or result.absent.empty else {
        (str(c), str(i)) for c, i in zip(result.absent["codec"], result.absent["image"], strict=True)}
    unpaired = [r for r in result.unpaired.itertuples(index=False) if (r.codec, r.image) not in failed | absent]
    if unpaired:
        summary_line = f"<details><summary>Anchor points without a comparable point ({len(unpaired)})</summary>"
        out += ["", summary_line, ""]
        for r in unpaired:
            out.append(f"- {r.codec} / {r.image} at {r.anchor_bpp:.4g} bpp: {r.why}")
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def write_summary(run_dir: str | Path, anchor: str = "pico", metrics: Sequence[str] | None = None, *,
                  out_dir: str | Path | None = None, max_gap: float = DEFAULT_MAX_GAP,
                  tolerance: float = DEFAULT_RATE_TOLERANCE) -> tuple[EqualRate, Path]:
    """Compute the equal-rate comparison of a run and write ``summary.md`` (and the pairs as CSV), with the
    equal-quality ratios first and ``summary.txt``, the same answer in blocks that fit 80 columns."""
    df = load_run(run_dir)
    result = equal_rate(df, anchor, metrics, max_gap=max_gap, tolerance=tolerance, run=run_name(run_dir))
    quality = equal_quality(df, anchor, result.metrics)
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    out = Path(out_dir) if out_dir else base / "report"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.md"
    path.write_text(summary_markdown(result, quality))
    (out / "summary-terminal.md").write_text(terminal_markdown(result, quality))
    result.pairs.to_csv(out / "equal_rate_pairs.csv", index=False)
    result.summary.to_csv(out / "equal_rate_summary.csv", index=False)
    quality.per_image.to_csv(out / "equal_quality_per_image.csv", index=False)
    return result, path


def terminal_markdown(result: EqualRate, quality: EqualQuality) -> str:
    """The answer in blocks (no wide tables): readable in an 80-column terminal."""
    a = result.anchor
    out = [f"# {a}: {result.run}", ""]
    if quality.cells:
        out += [f"## {a}'s size / rival's at equal metric quality", ""]
        for rival in quality.rivals:
            cells = [(c.metric, c.text()) for c in quality.cells if c.rival == rival]
            out += [f"**{rival}**", ""] + [f"- {_label(m)}: {text}" for m, text in cells] + [""]
        out += ["Claimed: 30-43% at equal *perceived* quality; these are equal *metric* quality.", ""]
    out += [f"## At {a}'s rate", "", verdict_blocks(result)]
    return "\n".join(out) + "\n"
