"""The PICO questions, answered from a run: how does each codec compare with an anchor (PICO) at equal bpp?

PICO's model is not public, so its rows are the authors' published reconstructions at their stated
rates (one point per image in their viewer, eight per image in their CLIC release), and BD-rate on one
point per image does not exist. What a run can say is per image, at equal rate: for every anchor point,
each other codec's row at the same bpp (a codec we ran, matched to the anchor's bpp by ``--match``), or
failing that its nearest published point within ``max_gap`` of the anchor's rate (the other codecs of the
authors' viewer sit 0-15 % above PICO's rate: the gap is shown beside every number). From those pairs:

- per codec and metric, the mean difference (codec minus anchor, in the metric's units) and on how many
  images the anchor is better;
- the paper's own caveat: images where the anchor loses on PSNR but wins on LPIPS/DISTS;
- JPEG XL, which the paper never tested;
- where curves have two or more points per image, the BD-rates of :mod:`harness.analysis.tables`.

:func:`summary_markdown` renders all of it as Markdown; ``harness report RUN --anchor pico --summary``
writes it to ``RUN/report/summary.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.tables import (
    ReportError,
    load_run,
    metric_columns,
    resolve_anchor,
    run_name,
)
from harness.metrics import column_info
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

DEFAULT_MAX_GAP = 0.25  # relative rate difference beyond which two points are not "at equal bpp"
PSNR_COLUMNS = ("psnr_rgb", "psnr_y709", "psnr_y601", "psnr_ycbcr611")
# Which direction an anchor "loses on PSNR but wins perceptually" is judged on.
PERCEPTUAL_PREFIXES = ("lpips", "dists")
TEXT_PREFIXES = ("text",)


@dataclass
class EqualRate:
    """The pairs (anchor point, other codec's point) and what was measured on them."""

    run: str
    anchor: str
    metrics: list[str]
    pairs: pd.DataFrame  # one row per (codec, image, anchor point)
    summary: pd.DataFrame  # one row per (codec, metric)
    unpaired: pd.DataFrame  # anchor points a codec has no comparable point for, with why
    failures: pd.DataFrame  # failed rows of the run (gaps in the published data included)
    bd: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


# The columns the study reads when the user names none (others of the run stay out of the tables).
STUDY_METRICS = ("psnr_rgb", "psnr_y709", "ms_ssim_rgb", "lpips_alex", "lpips_vgg", "dists")


def _default_metrics(available: Sequence[str]) -> list[str]:
    chosen = [m for m in STUDY_METRICS if m in available] + [m for m in available if m.startswith(TEXT_PREFIXES)]
    return chosen or list(available)


def _metric_order(columns: Sequence[str]) -> list[str]:
    def rank(name: str) -> tuple[int, str]:
        for i, prefix in enumerate(("psnr_rgb", "psnr_y", "psnr", "ms_ssim", "lpips", "dists", "text")):
            if name.startswith(prefix):
                return i, name
        return 99, name

    return sorted(columns, key=rank)


def _higher_is_better(metric: str) -> bool:
    info = column_info(metric)
    return True if info is None else info.higher_is_better


def _label(metric: str) -> str:
    info = column_info(metric)
    if info is None:
        return metric
    return f"{info.label} [{info.unit}]" if info.unit else info.label


def _how(row: pd.Series, tolerance: float) -> str:
    if pd.notna(row.get("target_bpp")):
        within = abs(row["bpp"] / row["target_bpp"] - 1) <= tolerance + 1e-12
        return "matched" if within else "matched (off target)"
    return "published" if row.get("rate_source") == "published" else "own point"


def equal_rate(df: pd.DataFrame, anchor: str = "pico", metrics: Sequence[str] | None = None, *,
               max_gap: float = DEFAULT_MAX_GAP, tolerance: float = DEFAULT_RATE_TOLERANCE, run: str = "run") -> EqualRate:
    """Pair every ok anchor row with each other codec's row at the same bpp on the same image."""
    if df.empty:
        raise ReportError(f"{run}: the results table is empty")
    anchor = resolve_anchor(df, anchor)
    metrics = _metric_order(list(metrics) if metrics else _default_metrics(metric_columns(df)))
    if not metrics:
        raise ReportError(f"{run}: no metric column with finite values")
    ok = df[df["status"] == "ok"].copy()
    ok["codec"] = ok["codec"].astype(str)
    ok["image"] = ok["image"].astype(str)
    ok["bpp"] = ok["bpp"].astype(float)
    anchors = ok[ok["codec"] == anchor]
    if anchors.empty:
        raise ReportError(f"{run}: the anchor {anchor} has no successful rows")
    pairs, unpaired = [], []
    others = sorted(c for c in ok["codec"].unique() if c != anchor)
    for codec in others:
        rows = ok[ok["codec"] == codec]
        for image, at in anchors.groupby("image"):
            mine = rows[rows["image"] == image]
            anchor_rates = at["bpp"].to_numpy()
            for _, a in at.sort_values("bpp").iterrows():
                match = _partner(a, mine, anchor_rates, max_gap)
                if isinstance(match, str):
                    unpaired.append({"codec": codec, "image": image, "anchor_bpp": a["bpp"], "why": match})
                    continue
                pair = {"codec": codec, "image": image, "anchor_bpp": a["bpp"], "bpp": match["bpp"],
                        "rate_gap": match["bpp"] / a["bpp"] - 1, "how": _how(match, tolerance),
                        "rate_source": match.get("rate_source"), "codec_name": match.get("codec_name")}
                for metric in metrics:
                    va, vc = float(a.get(metric, np.nan)), float(match.get(metric, np.nan))
                    pair[f"{metric}:anchor"] = va
                    pair[f"{metric}:codec"] = vc
                    delta = vc - va if math.isfinite(va) and math.isfinite(vc) else np.nan
                    pair[f"{metric}:delta"] = delta
                    if math.isfinite(delta):
                        better = delta < 0 if _higher_is_better(metric) else delta > 0
                        pair[f"{metric}:anchor_better"] = bool(better) if delta != 0 else None
                    else:
                        pair[f"{metric}:anchor_better"] = None
                pairs.append(pair)
    pairs_df = pd.DataFrame(pairs)
    summary = _summarise(pairs_df, metrics)
    failed = df[df["status"] != "ok"]
    failures = failed[["codec", "image", "point", "error"]].copy() if "error" in df else pd.DataFrame()
    result = EqualRate(run, anchor, metrics, pairs_df, summary,
                       pd.DataFrame(unpaired, columns=["codec", "image", "anchor_bpp", "why"]), failures)
    result.bd = _bd_if_curves(df, anchor, metrics, result)
    return result


def _partner(a: pd.Series, mine: pd.DataFrame, anchor_rates: np.ndarray, max_gap: float) -> pd.Series | str:
    """The other codec's row at the anchor row's bpp: its rate-matched row, else its nearest point within
    ``max_gap`` that is not nearer to another anchor point of the image; or why there is none."""
    if mine.empty:
        return "no successful row on this image"
    if "target_bpp" in mine:
        targeted = mine[mine["target_bpp"].notna()]
        hit = targeted[np.isclose(targeted["target_bpp"].astype(float), a["bpp"], rtol=1e-9, atol=1e-12)]
        if len(hit):
            return hit.iloc[0]
        untargeted = mine[mine["target_bpp"].isna()]
    else:
        untargeted = mine
    if untargeted.empty:
        return "no row matched to this anchor rate"
    gaps = (untargeted["bpp"] / a["bpp"] - 1).abs()
    best = untargeted.loc[gaps.idxmin()]
    gap = float(gaps.min())
    if gap > max_gap:
        return f"nearest point {best['bpp']:.4g} bpp is {gap:.0%} away (more than {max_gap:.0%})"
    nearest_anchor = anchor_rates[np.argmin(np.abs(anchor_rates / best["bpp"] - 1))]
    if not math.isclose(nearest_anchor, a["bpp"]):
        return f"its point {best['bpp']:.4g} bpp is nearer the anchor's {nearest_anchor:.4g} bpp"
    return best


def _summarise(pairs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    rows = []
    if pairs.empty:
        return pd.DataFrame(columns=["codec", "metric", "n", "mean_anchor", "mean_codec", "mean_delta",
                                     "anchor_better", "mean_rate_gap"])
    for codec, g in pairs.groupby("codec"):
        for metric in metrics:
            delta = g[f"{metric}:delta"].astype(float)
            valid = g[np.isfinite(delta)]
            if valid.empty:
                continue
            better = valid[f"{metric}:anchor_better"]
            rows.append({"codec": codec, "metric": metric, "n": len(valid),
                         "mean_anchor": float(valid[f"{metric}:anchor"].mean()),
                         "mean_codec": float(valid[f"{metric}:codec"].mean()),
                         "mean_delta": float(valid[f"{metric}:delta"].astype(float).mean()),
                         "anchor_better": int((better == True).sum()),  # noqa: E712 (None means a tie)
                         "mean_rate_gap": float(valid["rate_gap"].mean())})
    return pd.DataFrame(rows)


def _bd_if_curves(df: pd.DataFrame, anchor: str, metrics: Sequence[str], result: EqualRate) -> pd.DataFrame | None:
    """BD-rate against the anchor where it has two or more points per image (the authors' CLIC release)."""
    ok = df[(df["status"] == "ok") & (df["codec"].astype(str) == anchor)]
    if ok.empty or ok.groupby("image")["bpp"].nunique().max() < 2:
        result.notes.append("The anchor has one point per image here: BD-rate needs two or more, so the "
                            "comparison is the per-image difference at equal bpp.")
        return None
    from harness.analysis.tables import bd_table

    table = bd_table(df, anchor, list(metrics), kind="rate")
    return table


# --- rendering ----------------------------------------------------------------------------------------------

def _fmt(value: float, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if metric.startswith("psnr"):
        return f"{value:.2f}"
    return f"{value:.4f}"


def _signed(value: float, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return ("+" if value > 0 else "") + _fmt(value, metric)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _is(metric: str, prefixes: Sequence[str]) -> bool:
    return metric.startswith(tuple(prefixes))


def caveat_cases(result: EqualRate) -> pd.DataFrame:
    """Pairs where the anchor loses on PSNR but wins on a perceptual metric (LPIPS/DISTS)."""
    psnr = next((m for m in result.metrics if m in PSNR_COLUMNS), None)
    perceptual = [m for m in result.metrics if _is(m, PERCEPTUAL_PREFIXES)]
    if psnr is None or not perceptual or result.pairs.empty:
        return pd.DataFrame()
    p = result.pairs
    loses_psnr = p[f"{psnr}:anchor_better"] == False  # noqa: E712
    wins = np.zeros(len(p), dtype=bool)
    for m in perceptual:
        wins |= (p[f"{m}:anchor_better"] == True).to_numpy()  # noqa: E712
    return p[loses_psnr.to_numpy() & wins]


def summary_markdown(result: EqualRate) -> str:
    a = result.anchor
    p = result.pairs
    out = [f"# {a} at equal bitrate: {result.run}", ""]
    images = sorted(p["image"].unique()) if not p.empty else []
    out.append(f"Anchor **{a}**; {len(images)} image(s) with comparisons; metrics: "
               + ", ".join(_label(m) for m in result.metrics) + ".")
    out.append("Differences are *codec minus " + a + "* in each metric's units; for PSNR and MS-SSIM higher "
               "is better, for LPIPS, DISTS and text error lower is better. \"matched\": our encode, searched "
               "to the anchor's bpp; \"published\": the authors' reconstruction at their stated bpp (rate gap "
               "shown: it is not re-encoded here).")
    out.extend(f"\n_{note}_" for note in result.notes)

    out += ["", "## Rates", ""]
    if p.empty:
        out.append("No codec has a point at the anchor's rates.")
    else:
        rows = [[r.image, f"{r.anchor_bpp:.4g}", r.codec, f"{r.bpp:.4g}", f"{r.rate_gap:+.1%}", r.how]
                for r in p.sort_values(["image", "anchor_bpp", "codec"]).itertuples()]
        out.append(_md_table(["image", f"{a} bpp", "codec", "codec bpp", "rate gap", "how"], rows))

    out += ["", f"## Each codec against {a} at equal bpp", ""]
    s = result.summary
    if not s.empty:
        header = ["codec", *(_label(m) for m in result.metrics)]
        rows = []
        for codec, g in s.groupby("codec"):
            cells = [codec]
            by = g.set_index("metric")
            for m in result.metrics:
                if m not in by.index:
                    cells.append("–")
                    continue
                r = by.loc[m]
                cells.append(f"{_signed(r.mean_delta, m)} ({a} better {int(r.anchor_better)}/{int(r.n)})")
            rows.append(cells)
        out.append(_md_table(header, rows))
        out.append("")
        out.append(f"Mean over images of (codec − {a}); in brackets, on how many images {a} is better.")

    out += ["", "## Per image", ""]
    if not p.empty:
        header = ["image", "codec", "bpp", *(_label(m) for m in result.metrics)]
        rows = []
        for image in images:
            at = p[p["image"] == image].sort_values(["anchor_bpp", "codec"])
            for bpp_a, g in at.groupby("anchor_bpp"):
                first = g.iloc[0]
                rows.append([image, f"**{a}**", f"{bpp_a:.4g}",
                             *(_fmt(first[f"{m}:anchor"], m) for m in result.metrics)])
                for row in g.to_dict("records"):
                    rows.append(["", row["codec"], f"{row['bpp']:.4g}",
                                 *(f"{_fmt(row[f'{m}:codec'], m)} ({_signed(row[f'{m}:delta'], m)})"
                                   for m in result.metrics)])
        out.append(_md_table(header, rows))

    out += ["", f"## Where {a} wins and loses", ""]
    out.extend(_verdicts(result))

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
            wins = [f"{_label(m)} {_fmt(row[f'{m}:anchor'], m)} vs {_fmt(row[f'{m}:codec'], m)}"
                    for m in perceptual if row[f"{m}:anchor_better"] == True]  # noqa: E712 (numpy bools)
            out.append(f"- {row['image']}, {row['codec']} at {row['bpp']:.4g} bpp ({row['rate_gap']:+.1%}): "
                       f"PSNR {_fmt(row[f'{psnr}:anchor'], psnr)} vs {_fmt(row[f'{psnr}:codec'], psnr)} dB, "
                       "but " + "; ".join(wins))

    out += ["", "## JPEG XL", ""]
    jxl = [] if p.empty else sorted({c for c, n in zip(p["codec"], p["codec_name"], strict=True)
                                     if str(n).startswith("jxl") or str(c).startswith("jxl")})
    if not jxl:
        out.append("JPEG XL is not in this run: add `jxl` to `--codecs` (the paper never tested it).")
    else:
        for codec in jxl:
            g = s[s["codec"] == codec].set_index("metric")
            parts = [f"{_label(m)} {_signed(g.loc[m, 'mean_delta'], m)} ({a} better {int(g.loc[m, 'anchor_better'])}/"
                     f"{int(g.loc[m, 'n'])})" for m in result.metrics if m in g.index]
            out.append(f"- **{codec}** (not tested in the paper), at {a}'s bpp: " + "; ".join(parts) + ".")

    if result.bd is not None and not result.bd.empty:
        out += ["", f"## BD-rate against {a} (curves with two or more points per image)", ""]
        rows = [[r.codec, r.metric, "–" if pd.isna(r.value) else f"{r.value:+.1f} %", r.reason or ""]
                for r in result.bd.itertuples()]
        out.append(_md_table(["codec", "metric", "BD-rate", "note"], rows))

    out += ["", "## Rows that failed", ""]
    if result.failures is None or result.failures.empty:
        out.append("None.")
    else:
        for r in result.failures.itertuples(index=False):
            out.append(f"- {r.codec} / {r.image}: {r.error}")
    # A codec whose row on the image failed is listed above already; say only what else has no partner.
    failed = set() if result.failures is None or result.failures.empty else {
        (str(c), str(i)) for c, i in zip(result.failures["codec"], result.failures["image"], strict=True)}
    unpaired = [r for r in result.unpaired.itertuples(index=False) if (r.codec, r.image) not in failed]
    if unpaired:
        out += ["", "Anchor points without a comparable point:", ""]
        for r in unpaired:
            out.append(f"- {r.codec} / {r.image} at {r.anchor_bpp:.4g} bpp: {r.why}")
    return "\n".join(out) + "\n"


def _verdicts(result: EqualRate) -> list[str]:
    a, s = result.anchor, result.summary
    if s.empty:
        return ["No comparisons."]
    lines = []
    for codec, g in s.groupby("codec"):
        wins = [m for m in g.itertuples() if m.anchor_better == m.n]
        losses = [m for m in g.itertuples() if m.anchor_better == 0]
        mixed = [m for m in g.itertuples() if 0 < m.anchor_better < m.n]
        gap = g["mean_rate_gap"].iloc[0]
        text = f"- **{codec}** (rate {gap:+.1%} vs {a}): "
        parts = []
        if wins:
            parts.append(f"{a} better on " + ", ".join(_label(m.metric) for m in wins))
        if losses:
            parts.append(f"{a} worse on " + ", ".join(_label(m.metric) for m in losses))
        if mixed:
            parts.append("mixed on " + ", ".join(f"{_label(m.metric)} ({m.anchor_better}/{m.n})" for m in mixed))
        lines.append(text + "; ".join(parts) + ".")
    return lines


def write_summary(run_dir: str | Path, anchor: str = "pico", metrics: Sequence[str] | None = None, *,
                  out_dir: str | Path | None = None, max_gap: float = DEFAULT_MAX_GAP,
                  tolerance: float = DEFAULT_RATE_TOLERANCE) -> tuple[EqualRate, Path]:
    """Compute the equal-rate comparison of a run and write ``summary.md`` (and the pairs as CSV)."""
    df = load_run(run_dir)
    result = equal_rate(df, anchor, metrics, max_gap=max_gap, tolerance=tolerance, run=run_name(run_dir))
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    out = Path(out_dir) if out_dir else base / "report"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.md"
    path.write_text(summary_markdown(result))
    result.pairs.to_csv(out / "equal_rate_pairs.csv", index=False)
    result.summary.to_csv(out / "equal_rate_summary.csv", index=False)
    return result, path
