"""How much disk a run's kept bitstreams take: files, bytes, and blocks on disk, per codec and in total.

    python3 benchmarks/bitstream_disk.py results/kodak            # after `harness run --dataset kodak`

Bytes are the files' sizes (the sum of the rows' ``file_bytes``, less identical streams stored once);
"on disk" counts the filesystem's allocated blocks, as ``du`` does (small files round up to a block).
With ``--per-image N`` it also scales the total to N images from the images the run has finished.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.run.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--per-image", type=int, default=None, help="scale the total to this many images")
    args = parser.parse_args()
    rows = [row for row in RunStore(args.run).rows() if row.ok and row.bitstream]
    seen: set[str] = set()
    by_codec: dict[str, list[int]] = {}
    images: dict[str, set[str]] = {}
    for row in rows:
        path = args.run / row.bitstream
        if row.bitstream in seen or not path.is_file():
            continue
        seen.add(row.bitstream)
        info = os.stat(path)
        totals = by_codec.setdefault(row.codec, [0, 0, 0])
        totals[0] += 1
        totals[1] += info.st_size
        totals[2] += info.st_blocks * 512
        images.setdefault(row.codec, set()).add(row.image)
    print(f"{'codec':<12} {'images':>6} {'files':>6} {'MB':>9} {'MB on disk':>11}")
    files = size = disk = 0
    for codec, (n, b, d) in sorted(by_codec.items()):
        print(f"{codec:<12} {len(images[codec]):>6} {n:>6} {b / 1e6:>9.2f} {d / 1e6:>11.2f}")
        files, size, disk = files + n, size + b, disk + d
    print(f"{'total':<12} {'':>6} {files:>6} {size / 1e6:>9.2f} {disk / 1e6:>11.2f}")
    if args.per_image:
        done = len(set.intersection(*images.values())) if images else 0
        if done:
            scale = args.per_image / done
            print(f"scaled from {done} complete images to {args.per_image}: {files * scale:.0f} files, "
                  f"{size * scale / 1e6:.1f} MB, {disk * scale / 1e6:.1f} MB on disk")


if __name__ == "__main__":
    main()
