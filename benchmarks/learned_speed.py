"""Encode/decode seconds per megapixel and peak memory of learned codecs (compressai, pico-torch) on this CPU.

Each codec string runs in a fresh worker process that builds the codec, encodes and decodes one image
``--repeat`` times through the codec's own ``encode``/``decode`` (the same calls ``harness run`` makes) and
reports the best times per megapixel and the process's peak resident memory (ru_maxrss: it includes the
interpreter, torch and compressai, so the memory after loading the model is reported too).

``--zoo-sizes`` adds the six CompressAI zoo architectures at the network sizes of a zoo quality, with random
weights and entropy tables built by ``update()``, for machines that cannot download the zoo: the network
time does not depend on the weight values; the entropy-coding share does (random weights code many more
bits), so those rows bound the real ones from above. All coders run torch with one thread.

    python benchmarks/learned_speed.py [--image PATH] [--repeat 2] [--zoo-sizes 3] \\
        [--codecs pico-torch,pico-torch:checkpoint=other.pt,compressai:mbt2018:quality=3]
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

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "datasets" / "kodak"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def zoo_size_checkpoints(folder: Path, quality: int) -> list[str]:
    """Codec strings of the zoo architectures at the sizes of ``quality``, with random weights."""
    import torch

    from harness.codecs.compressai_zoo.models import ZOO_QUALITIES, import_compressai

    import_compressai()
    from compressai.zoo.image import cfgs, model_architectures  # type: ignore[import-untyped]

    specs = []
    for arch in ZOO_QUALITIES:
        torch.manual_seed(0)
        net = model_architectures[arch](*cfgs[arch][min(quality, ZOO_QUALITIES[arch])]).eval()
        net.update(force=True)
        path = folder / f"{arch}-q{quality}-random.pt"
        torch.save({"arch": arch, "state_dict": net.state_dict()}, path)
        specs.append(f"compressai:checkpoint={path}")
    return specs


def worker(spec: str, image: str, repeat: int) -> None:
    sys.path.insert(0, str(REPO))
    from harness.codecs import get_codec
    from harness.core.images import load_image

    rgb = load_image(image).pixels
    codec = get_codec(spec)
    if not codec.availability():
        print(json.dumps({"error": codec.availability().reason}))
        return
    point = codec.points_for(Path(image).stem)[len(codec.points_for(Path(image).stem)) // 2]
    codec.encode(rgb[:64, :64], point)  # loads the model
    loaded = _rss_mb()
    enc, dec, data = [], [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        data = codec.encode(rgb, point).data
        t1 = time.perf_counter()
        codec.decode(data)
        dec.append(time.perf_counter() - t1)
        enc.append(t1 - t0)
    mp = rgb.shape[0] * rgb.shape[1] / 1e6
    print(json.dumps({"point": point, "encode_s_per_mp": min(enc) / mp, "decode_s_per_mp": min(dec) / mp,
                      "rss_after_load_mb": loaded, "peak_rss_mb": _rss_mb(), "bpp": len(data) * 8 / (mp * 1e6)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=str(KODAK / "kodim14.png"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--codecs", default="pico-torch", help="comma-separated codec strings")
    parser.add_argument("--zoo-sizes", type=int, default=0, help="add the zoo architectures at this quality's sizes")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.image, args.repeat)
        return
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        specs = [s for s in args.codecs.split(",") if s]
        if args.zoo_sizes:
            specs += zoo_size_checkpoints(Path(tmp), args.zoo_sizes)
        print("| codec | point | bpp | encode s/MP | decode s/MP | RSS after load MB | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for spec in specs:
            proc = subprocess.run([sys.executable, __file__, "--worker", spec, "--image", args.image,
                                   "--repeat", str(args.repeat)], capture_output=True, text=True, check=False)
            lines = proc.stdout.strip().splitlines()
            name = spec.replace(tmp + "/", "")
            if proc.returncode or not lines:
                print(f"| {name} | failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]} |||||")
                continue
            r = json.loads(lines[-1])
            if "error" in r:
                print(f"| {name} | unavailable: {r['error']} |||||")
                continue
            print(f"| {name} | {r['point']:g} | {r['bpp']:.3f} | {r['encode_s_per_mp']:.2f} | "
                  f"{r['decode_s_per_mp']:.2f} | {r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
