#!/usr/bin/env python3
"""Compare two runs of the same command (e.g. inside and outside the Docker image), codec by codec.

For every codec whose recorded version is the same in both runs, each row (image, point) must have the
same bitstream bytes (sha256 of the kept file), the same sizes and exactly the same metric values. Prints
one line per codec; exits 1 if a codec in --require is missing, has a different version, or differs.

    python3 scripts/compare_runs.py RUN_A RUN_B [--require jpeg,webp,...]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

from harness.run.rows import Row
from harness.run.store import RunStore


def _rows(run_dir: Path) -> dict[tuple[str, str, float | None], Row]:
    return {(r.codec, r.image, r.point): r for r in RunStore(run_dir).rows() if r.ok}


def _sha256(run_dir: Path, relative: str | None) -> str | None:
    if relative is None:
        return None
    return hashlib.sha256((run_dir / relative).read_bytes()).hexdigest()


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def compare(run_a: Path, run_b: Path) -> dict[str, tuple[str, str]]:
    """codec -> (verdict, detail); verdict is "equal", "differs", "version" (not comparable) or "missing"."""
    rows_a, rows_b = _rows(run_a), _rows(run_b)
    codecs = sorted({key[0] for key in rows_a} | {key[0] for key in rows_b})
    out: dict[str, tuple[str, str]] = {}
    for codec in codecs:
        keys_a = {k for k in rows_a if k[0] == codec}
        keys_b = {k for k in rows_b if k[0] == codec}
        if keys_a != keys_b:
            out[codec] = ("missing", f"rows only in one run: {len(keys_a ^ keys_b)}")
            continue
        versions = {(rows_a[k].codec_version, rows_b[k].codec_version) for k in keys_a}
        if any(va != vb for va, vb in versions):
            out[codec] = ("version", "; ".join(f"{va} vs {vb}" for va, vb in sorted(versions, key=str)))
            continue
        bits = metrics = compared = 0
        first: str | None = None
        for key in sorted(keys_a, key=str):
            a, b = rows_a[key], rows_b[key]
            same_bits = _sha256(run_a, a.bitstream) == _sha256(run_b, b.bitstream) and a.file_bytes == b.file_bytes
            names = sorted(set(a.values) | set(b.values))
            differing = [n for n in names if not _same(a.values.get(n), b.values.get(n))]
            compared += sum(a.values.get(n) is not None for n in names)
            bits += same_bits
            metrics += not differing
            if first is None and (not same_bits or differing):
                first = (f"{key[1]} point {key[2]}: bitstream {'equal' if same_bits else 'differs'}"
                         + (f", {differing[0]} {a.values.get(differing[0])} vs {b.values.get(differing[0])}"
                            if differing else ""))
        n = len(keys_a)
        verdict = "equal" if bits == n and metrics == n else "differs"
        out[codec] = (verdict, f"{n} rows, bitstreams equal {bits}/{n}, metric values equal {metrics}/{n} ({compared} values)"
                      + (f"; first difference: {first}" if first else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--require", default="", help="comma-separated codecs that must be equal")
    args = parser.parse_args(argv)
    for run in (args.run_a, args.run_b):
        if not (run / "rows.jsonl").is_file():
            print(f"{run}: not a run folder (no rows journal)", file=sys.stderr)
            return 2
    results = compare(args.run_a, args.run_b)
    for codec, (verdict, detail) in results.items():
        print(f"{codec:16s} {verdict:8s} {detail}")
    required = [c for c in args.require.split(",") if c]
    # A required name matches its codec string with or without options ("avif" matches "avif:speed=6").
    matched = {c: [label for label in results if label.split(":")[0] == c] for c in required}
    bad = [c for c, labels in matched.items() if not labels or any(results[label][0] != "equal" for label in labels)]
    if bad:
        print(f"NOT equal: {', '.join(bad)}")
        return 1
    if required:
        print(f"equal inside and outside: {', '.join(required)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
