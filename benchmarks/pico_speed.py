"""Speed and memory of pico-torch (the UNOFFICIAL PICO re-implementation) on this CPU.

For each configuration -- the shipped checkpoint ("tiny") and a paper-size network ("paper", random
weights exported on the fly: speed does not depend on the weight values, only the entropy-coding share
does a little) -- and with and without 504x504 tiling, a fresh worker process loads the model, encodes and
decodes one image ``--repeat`` times and reports the best encode and decode times per megapixel and the
process's peak resident memory (ru_maxrss, which includes the interpreter and torch, ~300-400 MB; the
memory after loading the model is reported too, so the coding's own peak is the difference).

The coder runs torch with one intra-op thread (that is what makes its floats reproducible), so these are
single-core numbers.

    python benchmarks/pico_speed.py [--image PATH] [--size 2048x1365] [--repeat 2] [--configs tiny,paper]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "datasets" / "kodak"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_image(path: str | None, size: str) -> np.ndarray:
    """The given image, or kodim14 mirrored and tiled out to ``size`` (WxH)."""
    sys.path.insert(0, str(REPO))
    from harness.core.images import load_image

    w, h = (int(v) for v in size.lower().split("x"))
    base = load_image(path or KODAK / "kodim14.png").pixels
    reps_y, reps_x = -(-h // base.shape[0]), -(-w // base.shape[1])
    rows = [base if i % 2 == 0 else base[::-1] for i in range(reps_y)]
    column = np.concatenate(rows, axis=0)
    cols = [column if j % 2 == 0 else column[:, ::-1] for j in range(reps_x)]
    return np.ascontiguousarray(np.concatenate(cols, axis=1)[:h, :w])


def paper_checkpoint(path: Path) -> None:
    import torch

    from harness.codecs.pico_torch.config import PicoConfig
    from harness.codecs.pico_torch.intscale import export
    from harness.codecs.pico_torch.model import PicoModel

    torch.manual_seed(0)
    model = PicoModel(PicoConfig.paper())
    export(model, path, torch.rand(2, 3, 256, 256), info={"note": "random weights, for speed measurement only"})


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    rgb = np.load(args.array)
    from harness.codecs.pico_torch.coder import PicoCoder
    from harness.codecs.pico_torch.model import count_macs_per_pixel, parameter_counts

    coder = PicoCoder(args.checkpoint)
    loaded = _rss_mb()
    tiled = args.tiling == "on"
    enc, dec = [], []
    data = b""
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        data = coder.encode(rgb, args.level, tiled=tiled)
        t1 = time.perf_counter()
        out = coder.decode(data)
        t2 = time.perf_counter()
        enc.append(t1 - t0)
        dec.append(t2 - t1)
    mp = rgb.shape[0] * rgb.shape[1] / 1e6
    macs = count_macs_per_pixel(coder.model, 256)
    print(json.dumps({
        "encode_s_per_mp": min(enc) / mp, "decode_s_per_mp": min(dec) / mp,
        "rss_after_load_mb": loaded, "peak_rss_mb": _rss_mb(), "bpp": len(data) * 8 / (mp * 1e6),
        "kmac_per_px_enc": (macs["analysis"] + macs["scale_decoder"] + macs["context"]) / 1e3,
        "kmac_per_px_dec": (macs["synthesis"] + macs["scale_decoder"] + macs["context"]) / 1e3,
        "params": parameter_counts(coder.model), "shape": list(out.shape)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=None)
    parser.add_argument("--size", default="2048x1365")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--configs", default="tiny,paper")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--array", help=argparse.SUPPRESS)
    parser.add_argument("--tiling", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    sys.path.insert(0, str(REPO))
    from harness.codecs.pico_torch.coder import DEFAULT_CHECKPOINT

    rgb = make_image(args.image, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        array = Path(tmp) / "image.npy"
        np.save(array, rgb)
        checkpoints = {}
        for name in args.configs.split(","):
            if name == "tiny":
                checkpoints[name] = DEFAULT_CHECKPOINT
            elif name == "paper":
                checkpoints[name] = Path(tmp) / "paper.pt"
                paper_checkpoint(checkpoints[name])
            else:
                checkpoints[name] = Path(name)
        rows = []
        for name, ckpt in checkpoints.items():
            for tiling in ("on", "off"):
                proc = subprocess.run([sys.executable, __file__, "--worker", "--checkpoint", str(ckpt), "--array",
                                       str(array), "--tiling", tiling, "--repeat", str(args.repeat),
                                       "--level", str(args.level)], capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"worker failed for {name} tiling={tiling}: {proc.stderr.strip()[-400:]}")
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                rows.append({"config": name, "tiling": tiling, **row})
    print(f"image {rgb.shape[1]}x{rgb.shape[0]} ({rgb.shape[0] * rgb.shape[1] / 1e6:.2f} MP), level {args.level}, "
          f"best of {args.repeat}, one torch thread")
    print("| config | tiling | kMAC/px enc / dec | params enc / dec | encode s/MP | decode s/MP | "
          "RSS after load MB | peak RSS MB | bpp |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["params"]
        print(f"| {r['config']} | {r['tiling']} | {r['kmac_per_px_enc']:.1f} / {r['kmac_per_px_dec']:.1f} | "
              f"{p['encoder'] / 1e6:.2f}M / {p['decoder'] / 1e6:.2f}M | {r['encode_s_per_mp']:.2f} | "
              f"{r['decode_s_per_mp']:.2f} | {r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} | {r['bpp']:.3f} |")


if __name__ == "__main__":
    main()
