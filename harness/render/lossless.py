"""The lossless sweep's outputs: rows and summary as CSV, a Markdown report with the Pareto front, and the
speed-vs-size figure (``lossless.png``)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from harness.run.lossless import pareto_front, summary


def _num(value: object, digits: int) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def _sig(value: object) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.3g}"  # type: ignore[arg-type]


def to_markdown(rows: pd.DataFrame, table: pd.DataFrame, front: pd.DataFrame) -> str:
    lines = ["# Lossless sweep", "",
             f"{rows['image'].nunique()} originals; bpp from the file's bytes on the original's pixels; speeds in "
             "megapixels per CPU second (user + system of the harness and the encoder programs it runs: all pixels over "
             "all CPU seconds; threads add up). Every reconstruction "
             "is compared with the loaded 8-bit RGB bit for bit; a row that differs is a failure, not a size.", "",
             "| codec | effort | exact | mean bpp | encode MP/s | decode MP/s |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for row in table.itertuples(index=False):
        lines.append(f"| {row.codec} | {row.effort} | {row.exact}/{row.images} | {_num(row.bpp_mean, 3)} | "
                     f"{_sig(row.encode_mp_s)} | {_sig(row.decode_mp_s)} |")
    lines += ["", "Pareto front (encode speed against mean bpp; nothing else is both faster and smaller), fastest first: "
              + ", ".join(f"{r.codec} {r.effort} ({_num(r.bpp_mean, 3)} bpp, {_sig(r.encode_mp_s)} MP/s)"
                          for r in front.itertuples(index=False)) + "."]
    changed = rows.loc[rows["source_changed"].astype(str) != "", ["image", "source_changed"]].drop_duplicates()
    if len(changed):
        lines += ["", "Originals that loading changed (lossless here means lossless for the loaded 8-bit RGB): "
                  + "; ".join(f"{r.image}: {r.source_changed}" for r in changed.itertuples(index=False)) + "."]
    failed = rows[rows["error"].astype(str) != ""]
    if len(failed):
        lines += ["", "Failures:", *(f"- {r.image} {r.codec} {r.effort}: {r.error}" for r in failed.itertuples(index=False))]
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, front: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    shown = table[table["bpp_mean"].notna() & table["encode_mp_s"].notna()]
    for codec, g in shown.groupby("codec", sort=False):
        axes.scatter(g["encode_mp_s"], g["bpp_mean"], label=codec, s=28)
        for row in g.itertuples(index=False):
            axes.annotate(row.effort, (row.encode_mp_s, row.bpp_mean), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
    if len(front):
        axes.step(front["encode_mp_s"], front["bpp_mean"], where="post", color="black", lw=1, ls="--",
                  label="Pareto front")
    axes.set_xscale("log")
    axes.set_xlabel("encode speed [MP per CPU second]")
    axes.set_ylabel("mean bpp (lossless)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=150)


def write_lossless(rows: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Write lossless.csv (rows), lossless_summary.csv, lossless.md and lossless.png into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    table = summary(rows)
    front = pareto_front(table)
    files = {"rows": folder / "lossless.csv", "summary": folder / "lossless_summary.csv",
             "report": folder / "lossless.md", "figure": folder / "lossless.png"}
    rows.to_csv(files["rows"], index=False)
    table.to_csv(files["summary"], index=False)
    files["report"].write_text(to_markdown(rows, table, front))
    plot(table, front, files["figure"])
    return files
