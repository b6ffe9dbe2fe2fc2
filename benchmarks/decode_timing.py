"""HEVC decode seconds per megapixel: the harness's rows against PyAV (libavcodec in process) on the same streams.

Reads the HEVC rows of a run that kept its bitstreams (``harness run --codecs hevc ...``), decodes each kept
stream in this process with PyAV ``--repeat`` times (one thread, as the harness's decoder) and prints, over
all rows, the total decode seconds per megapixel of: the rows (``decode_seconds``, what their ``timing``
says), PyAV's decode alone, and PyAV's decode with the conversion to RGB (what the harness's decode
delivers), and the ratio of the rows to each. PyAV is ``pip install av``.

    harness run --codecs hevc --points 32 --dataset kodak --results results --run hevc-timing
    python benchmarks/decode_timing.py results/hevc-timing [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def pyav_seconds(data: bytes, repeat: int, clock: Callable[[], float]) -> tuple[float, float]:
    """(median decode seconds, median decode + RGB conversion seconds) of ``data`` with PyAV, by ``clock``."""
    import av

    decode, with_rgb = [], []
    for _ in range(repeat):
        context = av.CodecContext.create("hevc", "r")
        context.thread_count = 1
        start = clock()
        frames = []
        for packet in context.parse(data) + context.parse(None):
            frames += context.decode(packet)
        frames += context.decode(None)
        decoded = clock()
        pixels = frames[0].to_ndarray(format="rgb24")
        end = clock()
        assert len(frames) == 1 and pixels.ndim == 3
        decode.append(decoded - start)
        with_rgb.append(end - start)
    return statistics.median(decode), statistics.median(with_rgb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--codec", default="hevc", help="Codec name of the rows to time (default hevc).")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from harness.run.store import RunStore

    rows = [r for r in RunStore(args.run).rows() if r.codec_name == args.codec and r.ok and r.bitstream]
    if not rows:
        print(f"{args.run}: no {args.codec} rows with a kept bitstream", file=sys.stderr)
        return 1
    megapixels = harness = 0.0
    pyav = dict.fromkeys(("cpu", "cpu+rgb", "wall", "wall+rgb"), 0.0)
    for row in rows:
        data = (args.run / str(row.bitstream)).read_bytes()
        megapixels += (row.width or 0) * (row.height or 0) / 1e6
        harness += row.decode_seconds or 0.0
        for clock, name in ((time.process_time, "cpu"), (time.perf_counter, "wall")):
            decode, with_rgb = pyav_seconds(data, args.repeat, clock)
            pyav[name] += decode
            pyav[name + "+rgb"] += with_rgb
    timings = sorted({str(r.timing) for r in rows})
    print(f"{len(rows)} {args.codec} rows, {megapixels:.2f} MP; row timing: {', '.join(timings)}")
    print(f"harness rows:              {harness / megapixels:.3f} s/MP")
    for name, label in (("cpu", "CPU, decode"), ("cpu+rgb", "CPU, decode + RGB"), ("wall", "wall, decode"),
                        ("wall+rgb", "wall, decode + RGB")):
        print(f"PyAV {label + ':':<22}{pyav[name] / megapixels:.3f} s/MP (rows / PyAV = {harness / pyav[name]:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
