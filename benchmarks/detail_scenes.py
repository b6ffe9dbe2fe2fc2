"""Table of a run's detail metric with its per-band split, next to PSNR, SSIMULACRA2, Butteraugli, LPIPS.

    HARNESS_PUBLISHED_DIRS=../shared/datasets/ml-pico-scenes harness run \
        --codecs pico,hific,dcvc-rt,vvc-published,vvc:preset=medium --dataset ORIGINALS --match pico \
        --metrics psnr,detail,ssimulacra2,butteraugli,lpips --keep-reconstructions --run scenes
    python3 benchmarks/detail_scenes.py results/scenes

ORIGINALS is a folder with kodim04.png (../shared/datasets/kodak) and michael-durana-82941.png
(../shared/datasets/clic-sample). Prints one Markdown row per image and codec; the per-band columns are
recomputed from the kept reconstructions (b1 = finest band, 1-2 px wavelength).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.core.images import load_image
from harness.metrics.detail import detail_bands

COLUMNS = ("psnr_rgb", "ssimulacra2", "butteraugli_max", "butteraugli_pnorm3", "lpips_alex", "detail_kept",
           "detail_invented", "detail_energy", "detail_correlation")


def main(run: Path) -> None:
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines() if line.strip()]
    print("| image | codec | bpp | " + " | ".join(COLUMNS) + " | kept b1/b2/b3/b4 | invented b1/b2/b3/b4 |")
    print("|" + " --- |" * (len(COLUMNS) + 5))
    originals = {}
    for row in sorted(rows, key=lambda r: (r["image"], r["codec"])):
        if row["status"] != "ok":
            print(f"| {row['image']} | {row['codec']} | failed: {row['error']} |")
            continue
        values = row.get("values", row)
        original = originals.setdefault(row["image"], load_image(row["image_path"]).pixels)
        bands = detail_bands(original, load_image(run / row["reconstruction"]).pixels)
        cells = [f"{values[c]:.3f}" if values.get(c) is not None else "" for c in COLUMNS]
        print(f"| {row['image']} | {row['codec']} | {row['bpp']:.3f} | " + " | ".join(cells)
              + " | " + "/".join(f"{b['kept']:.2f}" for b in bands)
              + " | " + "/".join(f"{b['invented']:.2f}" for b in bands) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/scenes"))
