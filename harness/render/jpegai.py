"""The JPEG AI table of a run as Markdown and CSV (``harness report --jpeg-ai``)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from harness.analysis.jpegai import COLUMNS
from harness.analysis.selection import load_run, resolve_anchor

HEADER = {"ms_ssim_y709": "MS-SSIM", "vif_y": "VIF", "fsimc": "FSIM", "nlpd_y": "NLPD", "iw_ssim_y": "IW-SSIM",
          "vmaf": "VMAF", "psnr_hvs_m_y": "PSNR-HVS-M", "mean": "mean"}


def _cell(value: object) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):+.2f}%"  # type: ignore[arg-type]


def to_markdown(table: pd.DataFrame, anchor: str) -> str:
    columns = [*COLUMNS, "mean"]
    lines = [f"BD-rate against {anchor} (JPEG AI's seven metrics; negative = fewer bits), per-image mean, pchip; "
             "`mean` is the mean of the seven (see harness/analysis/jpegai.py for the conditions followed).", "",
             "| codec | " + " | ".join(HEADER[c] for c in columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    for row in table.itertuples(index=False):
        values = row._asdict()
        lines.append(f"| {values['codec']} | " + " | ".join(_cell(values[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def jpegai_report(run_dir: str | Path, anchor: str, *, rate_column: str = "bpp", out_dir: str | Path | None = None
                  ) -> tuple[pd.DataFrame, str, dict[str, Path]]:
    """Compute, write (``RUN/report/jpeg_ai.md`` and ``.csv``) and return the table and its Markdown."""
    from harness.analysis.jpegai import jpegai_table

    df = load_run(run_dir)
    anchor = resolve_anchor(df, anchor)
    table = jpegai_table(df, anchor, rate_column=rate_column)
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    folder = Path(out_dir) if out_dir else base / "report"
    folder.mkdir(parents=True, exist_ok=True)
    text = to_markdown(table, anchor)
    files = {"jpeg_ai_md": folder / "jpeg_ai.md", "jpeg_ai_csv": folder / "jpeg_ai.csv"}
    files["jpeg_ai_md"].write_text(text)
    table.to_csv(files["jpeg_ai_csv"], index=False)
    return table, text, files
