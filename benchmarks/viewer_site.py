"""Generation time and size of the comparison site (``harness view``) of a run.

For a run with kept reconstructions, in a fresh site folder each time:

- start: pages and data only (what ``harness view --serve`` writes before it serves);
- full build: every image file (originals, thumbnails, reconstructions, difference maps), ``--jobs``;
- first view: on a cold folder, the files the comparison page of the largest image shows first (two
  reconstructions) and those of the original and both difference maps, as the server makes them on
  request;
- size: files and bytes of the site, and the bytes it adds on disk (hard-linked reconstructions share
  their blocks with the run's kept PNGs).

    harness run --codecs jpeg,webp --dataset kodak --keep-reconstructions --results /tmp/r --run kodak
    python benchmarks/viewer_site.py /tmp/r/kodak --jobs 1
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from harness.render.viewer.assets import make_asset
from harness.render.viewer.site import site_size, write_pages, write_site


def added_bytes(folder: Path) -> int:
    """Bytes of files under ``folder`` that are not hard links to files elsewhere."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.stat().st_nlink == 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="viewer-bench-", dir=args.run))  # same filesystem: links work
    try:
        started = time.perf_counter()
        lazy = write_site(args.run, scratch / "lazy", lazy=True)
        start_seconds = time.perf_counter() - started
        plan = lazy.plan
        images = len(plan.pages)
        recons = sum(len(p["rows"]) for p in plan.pages.values())
        pixels = max(p["width"] * p["height"] for p in plan.pages.values())
        print(f"run {args.run}: {images} images, {recons} reconstructions, largest {pixels / 1e6:.2f} MP")
        print(f"start (pages and data): {start_seconds:.2f} s, {lazy.files} files, {lazy.bytes / 1e6:.2f} MB")

        largest = max(plan.pages.values(), key=lambda p: p["width"] * p["height"])
        cold = scratch / "cold"
        write_pages(plan, cold)
        first = [largest["rows"][0]["file"], largest["rows"][-1]["file"]]
        rest = [largest["original"], largest["rows"][0]["diff"], largest["rows"][-1]["diff"]]
        timings = []
        for group in (first, rest):
            started, cpu = time.perf_counter(), time.process_time()
            for path in group:
                make_asset(plan.assets[path], cold)
            timings.append((time.perf_counter() - started, time.process_time() - cpu))
        print(f"first view of {largest['image']} ({largest['width']}x{largest['height']}): two sides "
              f"{timings[0][0]:.2f} s ({timings[0][1]:.2f} s CPU); original and two difference maps "
              f"{timings[1][0]:.2f} s ({timings[1][1]:.2f} s CPU) more")

        started, cpu = time.perf_counter(), time.process_time()
        full = write_site(args.run, scratch / "full", jobs=args.jobs)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        files, size = site_size(scratch / "full")
        cpu_note = f", {cpu:.1f} s CPU in this process" if args.jobs == 1 else ""
        print(f"full build (--jobs {args.jobs}): {seconds:.1f} s{cpu_note} ({seconds / images:.2f} s per image, "
              f"{seconds / max(recons, 1) * 1000:.0f} ms per reconstruction); {files} files, {size / 1e6:.1f} MB, "
              f"{added_bytes(scratch / 'full') / 1e6:.1f} MB added on disk; {len(full.errors)} errors")
        started = time.perf_counter()
        write_site(args.run, scratch / "full", jobs=args.jobs)
        print(f"rebuild over it: {time.perf_counter() - started:.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
