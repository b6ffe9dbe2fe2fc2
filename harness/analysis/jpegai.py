"""The JPEG AI objective table: BD-rate against an anchor on the seven metrics of JPEG AI's common test
conditions, and their mean.

Which of JPEG AI's conditions it follows:

- Metrics, on the planes JPEG AI's quality framework uses: MS-SSIM (pytorch_msssim), VIF, NLPD, IW-SSIM and
  PSNR-HVS-M on luma, FSIM (FSIMc) on RGB, VMAF. Colour conversion: full-range BT.709 Y' rounded to 8 bits for
  the luma metrics, as the framework (8-bit: the harness loads 8-bit RGB). One differs from the framework: VMAF
  is the harness's (v0.6.1 on limited BT.709 4:4:4; the framework writes 4:2:0 for vmaf).
- BD-rate per image with piecewise cubic (pchip) interpolation of log-rate, as the JVET/JPEG AI sheets, on the
  metric values as they are except MS-SSIM, which is in dB (-10 log10(1 - MS-SSIM)); lower-is-better NLPD is
  integrated as it is (``higher_is_better=False``). Bit depth: 8 bits throughout.
- Averaging: per codec and metric, the arithmetic mean of the per-image BD-rates; the JPEG AI mean is the
  arithmetic mean of the seven metric means, given only when all seven have a value.
"""

from __future__ import annotations

import pandas as pd

from harness.analysis import bdrate
from harness.analysis.selection import ReportError
from harness.analysis.tables import bd_table

# Column -> the metric (``--metrics`` name) that writes it, in JPEG AI's order.
COLUMNS: dict[str, str] = {"ms_ssim_y709": "ms_ssim_y709", "vif_y": "vif", "fsimc": "fsim", "nlpd_y": "nlpd",
                           "iw_ssim_y": "iw_ssim", "vmaf": "vmaf", "psnr_hvs_m_y": "psnr_hvs_m"}
TRANSFORMS = {column: ("db" if column == "ms_ssim_y709" else "identity") for column in COLUMNS}
METRICS = tuple(dict.fromkeys(COLUMNS.values()))


def jpegai_table(df: pd.DataFrame, anchor: str, *, rate_column: str = "bpp",
                 min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP) -> pd.DataFrame:
    """One row per codec (not the anchor): the per-image-mean BD-rate (%) of each of the seven columns and
    ``mean`` (None unless all seven have a value)."""
    missing = [column for column in COLUMNS if column not in df.columns or not df[column].notna().any()]
    if missing:
        raise ReportError(f"the run has no values for {', '.join(missing)}: add them with "
                          f"`harness metrics RUN --add {','.join(dict.fromkeys(COLUMNS[c] for c in missing))}`")
    long = bd_table(df, anchor, list(COLUMNS), method="pchip", pooling="per-image", kind="rate",
                    rate_column=rate_column, min_overlap=min_overlap, transforms=TRANSFORMS)
    wide = long.pivot(index="codec", columns="metric", values="value").reindex(columns=list(COLUMNS))
    wide = wide.astype(float)
    wide["mean"] = wide[list(COLUMNS)].mean(axis=1, skipna=False)
    order = list(dict.fromkeys(long["codec"]))
    return wide.reindex(order).reset_index()
