"""BD-rate studies of codec builds and settings on a Kodak subset, through the harness's own runner and
BD tables (pchip, per image then mean), so every figure in docs/codec-settings.md can be re-made.

Suites (each a run under OUT/<suite>/, resumable: re-running redoes only what is missing)::

    builds       newest builds against the older ones: avif vs avif-avifenc; jxl, jxl-imagecodecs vs jxl-cjxl
    vvenc        VVenC presets faster..slower against VTM-23.13 (vtm-420, if HARNESS_VTM_DIR is set) and
                 against each other (anchor vvc:preset=fast, the quick profile)
    avif-speed   libaom speeds through libavif 1.4 (anchor avif, speed 6)
    jxl-effort   libjxl 0.12 efforts (anchor jxl, effort 7)
    reference    the reference software (HARNESS_VTM_DIR, HARNESS_ECM_DIR, HARNESS_AVM_DIR): avm, ecm-420 and ecm
                 against VTM-23.13 (vtm-420, vtm) and against libaom (avif), each at its CTC QPs; the
                 measured rows (bpp, PSNR, encode seconds) are listed under the tables
    all          every available codec at its defaults against vvc, RGB PSNR and MS-SSIM

The images are crops (``--crop`` pixels square, from the centre; 0 keeps the whole picture) of the
Kodak originals named by ``--images``; one worker process unless ``--jobs``. Run it under ``nice``::

    nice -n 10 python benchmarks/codec_settings.py --suite vvenc --out results/settings
    nice -n 10 python benchmarks/codec_settings.py --suite all --crop 0 --images all --out results/kodak-all

Codec strings may be given instead of a suite (``--codecs a,b,c --anchor a``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One thread per process for the torch metrics (MS-SSIM): on a loaded machine, torch's default of one
# thread per core spins and is several times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from PIL import Image

from harness.analysis.selection import load_run
from harness.analysis.tables import bd_table
from harness.codecs import codec_names, get_codec
from harness.datasets import resolve_dataset
from harness.run.store import RunStore
from harness.run.sweep import run_sweep

KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak"
SUBSET = "kodim01,kodim05,kodim15,kodim23"
VVENC_PRESETS = ("faster", "fast", "medium", "slow", "slower")

# suite -> [(anchor, codecs compared with it)], codecs run = the union
SUITES: dict[str, list[tuple[str, list[str]]]] = {
    # Settings are named explicitly, so the tables keep their meaning whatever the defaults are.
    "builds": [("avif-avifenc:speed=6", ["avif:speed=6"]),
               ("jxl-cjxl:effort=7", ["jxl:effort=7", "jxl-imagecodecs:effort=7"])],
    "vvenc": [("vtm-420", [f"vvc:preset={p}" for p in VVENC_PRESETS]),
              ("vvc:preset=fast", [f"vvc:preset={p}" for p in VVENC_PRESETS if p != "fast"])],
    "avif-speed": [("avif:speed=6", [f"avif:speed={s}" for s in (2, 4, 8, 10)])],
    "jxl-effort": [("jxl:effort=7", [f"jxl:effort={e}" for e in (3, 5, 8, 9)])],
    "reference": [("vtm-420", ["avm", "ecm-420", "vtm", "avif", "vvc"]), ("vtm", ["ecm"]),
                  ("avif", ["avm", "ecm-420", "vtm-420", "vtm", "vvc"])],
}
# Suites whose measured rows are listed under the tables (bpp, RGB PSNR, encode seconds per row).
LIST_ROWS = {"reference"}


def write_crops(folder: Path, images: list[str], crop: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in images:
        pixels = np.asarray(Image.open(KODAK / f"{name}.png").convert("RGB"))
        if crop:
            top, left = (pixels.shape[0] - crop) // 2, (pixels.shape[1] - crop) // 2
            pixels = pixels[top:top + crop, left:left + crop]
        target = folder / f"{name}.png"
        if not target.exists():
            Image.fromarray(np.ascontiguousarray(pixels)).save(target)
    return folder


def all_available(anchor: str, exclude: set[str]) -> list[tuple[str, list[str]]]:
    """Every available codec at its defaults against ``anchor`` (published reconstructions have no encoder,
    ``vvenc-yuv`` is ``vvc`` again through the YUV-file pipeline)."""
    names = []
    for name in codec_names():
        codec = get_codec(name)
        if codec.availability() and not codec.fixed_points and name not in {"vvc", "vvenc-yuv", *exclude}:
            names.append(name)
    return [(anchor, names)]


def timing(df: pd.DataFrame) -> pd.Series:
    ok = df[df["status"] == "ok"]
    return (ok["encode_seconds"] / (ok["width"] * ok["height"] / 1e6)).groupby(ok["codec"]).median()


def rows_table(df: pd.DataFrame) -> str:
    """Every row of the run, codec by codec: point, bpp, RGB PSNR and encode seconds (failures with their
    message)."""
    ordered = df.sort_values(["codec", "image", "point"])
    table = pd.DataFrame({
        "codec": ordered["codec"], "version": ordered["codec_version"], "image": ordered["image"],
        "point": ordered["point"], "status": ordered["status"], "bpp": ordered["bpp"],
        "PSNR RGB (dB)": ordered["psnr_rgb"], "encode s": ordered["encode_seconds"],
        "error": ordered["error"].fillna("").str.slice(0, 80)})
    return table.to_markdown(index=False, floatfmt=".3f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=[*SUITES, "all"], help="a predefined comparison")
    parser.add_argument("--codecs", help="comma-separated codec strings (instead of --suite)")
    parser.add_argument("--anchor", help="anchor codec string for --codecs (and for --suite all: default vvc)")
    parser.add_argument("--exclude", help="codecs the all suite leaves out, comma-separated")
    parser.add_argument("--images", default=SUBSET, help="comma-separated Kodak names, or 'all'")
    parser.add_argument("--crop", type=int, default=256, help="square centre crop in pixels (0: whole image)")
    parser.add_argument("--metrics", default="psnr,ms_ssim")
    parser.add_argument("--out", type=Path, default=Path("results/settings"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rate", default="bpp", choices=("bpp", "bpp_payload"),
                        help="rate of the BD tables: file bytes, or the payload (AVIF without its container, "
                             "which matters on small crops)")
    parser.add_argument("--points", help="knob values for every codec of the suite instead of their defaults "
                                         "(only where the knobs agree, e.g. the QPs of vvenc and vtm-420)")
    args = parser.parse_args()

    if args.suite:
        exclude = set(args.exclude.split(",")) if args.exclude else set()
        comparisons = all_available(args.anchor or "vvc", exclude) if args.suite == "all" else SUITES[args.suite]
        run_name = args.suite
    elif args.codecs and args.anchor:
        comparisons = [(args.anchor, [c for c in args.codecs.split(",") if c != args.anchor])]
        run_name = "custom"
    else:
        parser.error("give --suite, or --codecs with --anchor")
    images = sorted(p.stem for p in KODAK.glob("kodim*.png")) if args.images == "all" else args.images.split(",")
    crops = write_crops(args.out / f"kodak-{len(images)}-crop{args.crop}", images, args.crop)

    wanted = list(dict.fromkeys(c for anchor, tests in comparisons for c in [anchor, *tests]))
    codecs, skipped = [], []
    for spec in wanted:
        codec = get_codec(spec)
        (codecs if codec.availability() else skipped).append(codec)
    for codec in skipped:
        print(f"skipped {codec.label}: {codec.availability().reason}", file=sys.stderr)
    store = RunStore(args.out / run_name)
    points = [float(p) for p in args.points.split(",")] if args.points else None
    summary = run_sweep(store, resolve_dataset(str(crops)), codecs, points=points,
                        metrics=tuple(args.metrics.split(",")), n_jobs=args.jobs, argv=sys.argv,
                        retry_failed=True)  # failures here are timeouts on a loaded machine: try again
    print(f"{run_name}: {summary}", file=sys.stderr)

    df = load_run(store.run_dir)
    seconds = timing(df)
    where = "whole images" if not args.crop else f"{args.crop}x{args.crop} centre crops"
    header = (f"Kodak {', '.join(images)}, {where}; BD-rate on {args.rate} (pchip, per image then mean; negative = "
              "fewer bits than the anchor)")
    lines = [header, ""]
    for anchor, tests in comparisons:
        labels = {c.label for c in codecs}
        if anchor not in labels:
            lines.append(f"anchor {anchor} unavailable: no table\n")
            continue
        sub = df[df["codec"].isin([anchor, *[t for t in tests if t in labels]])]
        metrics = [m for m in ("psnr_rgb", "ms_ssim_rgb") if m in sub.columns]
        table = bd_table(sub, anchor, metrics, rate_column=args.rate)
        wide = table.pivot(index="codec", columns="metric", values="value").reindex(
            [t for t in tests if t in labels])
        wide.columns = [f"BD-rate {m} (%)" for m in wide.columns]
        wide["encode s/MP (median)"] = seconds.reindex(wide.index)
        lines += [f"anchor `{anchor}` (encode {seconds.get(anchor, float('nan')):.1f} s/MP)", "",
                  wide.to_markdown(floatfmt=".2f"), ""]
    if run_name in LIST_ROWS:
        lines += ["Measured rows:", "", rows_table(df), ""]
    text = "\n".join(lines)
    (args.out / f"{run_name}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("SVT_LOG", "1")
    main()
