"""Mean bpp and mean RGB PSNR per default operating point of each classic codec on a dataset (Kodak).

Used to choose and check the codecs' ``default_points``. One process, one thread per codec; run it
under ``nice``. Rows go to a CSV as they are measured (so a long run can be inspected or resumed), and
the table of means is printed at the end::

    nice -n 10 python benchmarks/operating_points.py --codecs vvc,hevc --out /tmp/op.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from harness.codecs import get_codec
from harness.core.images import load_image
from harness.metrics.psnr import mse, psnr

DEFAULT_CODECS = "vvc,hevc,h264,avif,avif-svt,avif-rav1e,avif-avifenc,jxl,jxl-imagecodecs,jxl-cjxl,jpeg2000,webp,jpeg,jpegli"
KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak"
FIELDS = ["codec", "version", "image", "point", "bpp", "bpp_payload", "psnr_rgb", "encode_s", "decode_s"]


def measure(codecs: list[str], images: list[Path], out: Path) -> None:
    done = set()
    if out.exists():
        with out.open() as f:
            done = {(r["codec"], r["image"], float(r["point"])) for r in csv.DictReader(f)}
    new = not out.exists()
    with out.open("a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        for path in images:
            image = load_image(path)
            for spec in codecs:
                codec = get_codec(spec)
                for point in codec.default_points:
                    if (codec.label, image.name, float(point)) in done:
                        continue
                    o = codec.compress(image, point)
                    writer.writerow({
                        "codec": codec.label, "version": codec.version(), "image": image.name, "point": point,
                        "bpp": f"{o.bpp:.5f}", "bpp_payload": f"{o.bpp_payload:.5f}",
                        "psnr_rgb": f"{psnr(mse(image.pixels, o.reconstruction)):.4f}",
                        "encode_s": f"{o.encode_seconds:.2f}", "decode_s": f"{o.decode_seconds:.2f}",
                    })
                    f.flush()


def summarise(paths: list[Path]) -> str:
    import pandas as pd

    rows = pd.concat([pd.read_csv(p) for p in paths])
    table = (rows.groupby(["codec", "point"], sort=False)
             .agg(images=("image", "nunique"), bpp=("bpp", "mean"), bpp_payload=("bpp_payload", "mean"),
                  psnr_rgb=("psnr_rgb", "mean"), encode_s=("encode_s", "mean"))
             .reset_index())
    return table.to_markdown(index=False, floatfmt=".3f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default=DEFAULT_CODECS, help="comma-separated codec strings")
    parser.add_argument("--images", type=Path, default=KODAK, help="folder of PNG originals")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (0: all)")
    parser.add_argument("--out", type=Path, default=Path("operating_points.csv"), help="CSV of rows (appended)")
    parser.add_argument("--summary-only", nargs="*", type=Path, help="only print the table of these CSVs")
    args = parser.parse_args()
    if args.summary_only is not None:
        print(summarise(args.summary_only or [args.out]))
        return
    images = sorted(args.images.glob("*.png"))
    if args.limit:
        images = images[: args.limit]
    measure(args.codecs.split(","), images, args.out)
    print(summarise([args.out]))


if __name__ == "__main__":
    main()
