"""Costs of the harness at CLIC scale, measured on two source trees side by side (before / after a change).

Every figure runs in a fresh Python process whose ``PYTHONPATH`` is the tree being measured, and the two
trees alternate round by round, so load from other processes on a shared machine hits both alike; the
table gives medians over the rounds and the after/before ratio of each figure. CPU seconds
(``time.process_time``, all threads) are reported next to wall seconds: they hardly depend on the load.

Figures:

- ``metric``: seconds per megapixel of each metric (psnr, ms_ssim, lpips, lpips_vgg, dists) on a Kodak
  image and a 2.8 MP CLIC image, per reconstruction once the original is prepared (the second of two
  JPEG reconstructions), and the first reconstruction's cost (which pays for the original's features).
- ``suite``: one fresh process scoring two reconstructions of the CLIC image with psnr,lpips,dists:
  seconds of the first and second, and the peak resident set size.
- ``overhead``: a jpeg+webp sweep (default points) on 8 Kodak images, job by job in one process: what
  each job costs beyond the codec's own encode+decode time, and the whole sweep's wall/codec ratio.
- ``resume``: a synthesised finished run (real-size distinct originals, jpeg at many points; rows from a
  real job) resumed with the command line: seconds for 1k, 6k and 24k finished jobs.
- ``scaling``: the overhead sweep with ``--jobs 1`` and ``--jobs 2`` (wall time ratio; meaningless on a
  loaded machine, so the load average is printed with it).

    python benchmarks/clic_scale.py --before ../before-tree --rounds 3
    python benchmarks/clic_scale.py --before ../before-tree --only suite,overhead --json out.json
    python benchmarks/clic_scale.py --only metric          # this tree alone

Set ``TORCH_HOME`` to a torch cache holding the weights (default: ``../shared/weights/torch_home``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KODAK = SHARED / "datasets" / "kodak"
CLIC_IMAGE = SHARED / "datasets" / "clic-sample" / "michael-durana-82941.png"
METRICS = ("psnr", "ms_ssim", "lpips", "lpips_vgg", "dists")
RESUME_JOBS = (1000, 6000, 24000)
RESUME_POINTS = 56  # jpeg qualities per image in the synthesised run: 24k jobs = 429 originals


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _timed(fn: Any) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


# --- measurements (each runs in a child process, in the tree under test) ------------------------------

def measure_metric(image: str, name: str) -> dict[str, Any]:
    from harness.metrics import MetricSuite

    ref = _rgb(Path(image))
    recons = [_jpeg(ref, 30), _jpeg(ref, 60)]
    suite = MetricSuite((name,))
    warm = ref[:192, :256].copy()  # loads the network and imports outside the timing
    suite.evaluate("warm-up", warm, _jpeg(warm, 50))
    first, w1, c1 = _timed(lambda: suite.evaluate("image", ref, recons[0]))
    second, w2, c2 = _timed(lambda: suite.evaluate("image", ref, recons[1]))
    mp = ref.shape[0] * ref.shape[1] / 1e6
    return {"mp": mp, "first_wall": w1, "first_cpu": c1, "wall": w2, "cpu": c2, "wall_per_mp": w2 / mp,
            "cpu_per_mp": c2 / mp, "values": [first[0], second[0]], "errors": first[1] + second[1],
            "peak_rss_gib": _peak_rss_gib()}


def measure_suite(image: str) -> dict[str, Any]:
    from harness.metrics import MetricSuite

    ref = _rgb(Path(image))
    recons = [_jpeg(ref, 30), _jpeg(ref, 60)]
    suite = MetricSuite(("psnr", "lpips", "dists"))
    first, w1, c1 = _timed(lambda: suite.evaluate("image", ref, recons[0]))
    second, w2, c2 = _timed(lambda: suite.evaluate("image", ref, recons[1]))
    return {"first_wall": w1, "first_cpu": c1, "wall": w2, "cpu": c2, "values": [first[0], second[0]],
            "errors": first[1] + second[1], "peak_rss_gib": _peak_rss_gib()}


def _kodak_folder(tmp: Path, count: int) -> Path:
    folder = tmp / "kodak8"
    folder.mkdir(exist_ok=True)
    for path in sorted(KODAK.glob("kodim*.png"))[:count]:
        if not (folder / path.name).exists():
            os.symlink(path, folder / path.name)
    return folder


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def measure_overhead(images: int) -> dict[str, Any]:
    """The sweep as a run executes it (rows persisted, one worker), after a warm-up run."""
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.plan import plan_jobs
    from harness.run.store import RunStore
    from harness.run.sweep import execute_plan

    with tempfile.TemporaryDirectory() as tmp:
        dataset = resolve_dataset(str(_kodak_folder(Path(tmp), images)))
        jobs = plan_jobs(dataset, [get_codec("jpeg"), get_codec("webp")])
        execute_plan(RunStore(Path(tmp) / "warm"), jobs[:2], 1)  # imports, codec modules, first original
        store = RunStore(Path(tmp) / "run")
        _, wall, cpu = _timed(lambda: execute_plan(store, jobs, 1))
        _, parquet_wall, _ = _timed(store.write_parquet)
        rows = store.rows()
        codec_wall = sum((_field(r, "encode_seconds") or 0.0) + (_field(r, "decode_seconds") or 0.0) for r in rows)
    return {"jobs": len(jobs), "job_wall": wall, "codec_wall": codec_wall, "cpu": cpu,
            "overhead_ms_per_job": 1000 * (wall - codec_wall) / len(jobs),
            "wall_over_codec": (wall + parquet_wall) / codec_wall}


def measure_scaling(images: int, n_jobs: int, tmp: str) -> dict[str, Any]:
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.plan import plan_jobs
    from harness.run.store import RunStore
    from harness.run.sweep import execute_plan

    dataset = resolve_dataset(str(_kodak_folder(Path(tmp), images)))
    jobs = plan_jobs(dataset, [get_codec("jpeg"), get_codec("webp")])
    run = Path(tmp) / f"scaling{n_jobs}"
    shutil.rmtree(run, ignore_errors=True)
    warm = RunStore(Path(tmp) / f"warm{n_jobs}")
    execute_plan(warm, jobs[: 2 * n_jobs], n_jobs)  # worker processes started, modules imported
    _, wall, _ = _timed(lambda: execute_plan(RunStore(run), jobs, n_jobs))
    return {"jobs": len(jobs), "wall": wall}


def synthesise_run(folder: Path, finished_jobs: int) -> tuple[Path, Path, str]:
    """A finished run of ``finished_jobs`` jpeg jobs on distinct originals of CLIC size (the CLIC image's
    bytes plus a unique trailer), built with the tree under test's own planner and store."""
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.plan import plan_jobs
    from harness.run.store import RunStore
    from harness.run.worker import execute_job

    images = -(-finished_jobs // RESUME_POINTS)
    data = folder.parent / f"originals{images}"  # shared by both trees: the same bytes, the same keys
    if not data.is_dir():
        data.mkdir(parents=True)
        source = CLIC_IMAGE.read_bytes()
        for i in range(images):
            (data / f"img{i:04d}.png").write_bytes(source + f"harness-benchmark-{i}".encode())
    points = ",".join(str(q) for q in range(1, RESUME_POINTS + 1))
    run = folder / f"run{finished_jobs}"
    if not run.is_dir():
        codec = get_codec("jpeg")
        dataset = resolve_dataset(str(data))
        jobs = plan_jobs(dataset, [codec], points=[float(q) for q in range(1, RESUME_POINTS + 1)])
        template = execute_job(jobs[0]).row  # pixels only from the first original: a real row
        store = RunStore(run)
        store.create()
        lines = []
        for job in jobs:
            fields = {"job_key": job.key, "image": job.image, "image_path": job.image_path,
                      "image_sha256": job.image_sha256, "point": job.point}
            if isinstance(template, dict):  # the journal format before the typed row schema
                from harness.run.store import _jsonable  # type: ignore[attr-defined]

                row = dict(template, **fields)
                lines.append(json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True) + "\n")
            else:
                import dataclasses

                from harness.run.rows import row_json_line

                lines.append(row_json_line(dataclasses.replace(template, **fields)))
        store.journal.write_text("".join(lines))
        store.write_parquet()
    return data, run, points


def measure_resume(finished_jobs: int, tmp: str) -> dict[str, Any]:
    data, run, points = synthesise_run(Path(tmp), finished_jobs)
    command = [sys.executable, "-m", "harness.cli", "run", "--codecs", "jpeg", "--dataset", str(data),
               "--results", str(run.parent), "--run", run.name, "--points", points]
    walls = []
    for _ in range(2):  # the first resume may build caches; the second is the steady state
        _, wall, _ = _timed(lambda: subprocess.run(command, capture_output=True, text=True, check=False))
        walls.append(wall)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return {"jobs": finished_jobs, "first_wall": walls[0], "wall": walls[1], "rc": done.returncode,
            "tail": (done.stdout + done.stderr).strip().splitlines()[-1:] }


def child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    kind = args.child
    if kind == "metric":
        out = measure_metric(args.image, args.metric)
    elif kind == "suite":
        out = measure_suite(args.image)
    elif kind == "overhead":
        out = measure_overhead(args.images)
    elif kind == "scaling":
        out = measure_scaling(args.images, args.n_jobs, args.tmp)
    elif kind == "resume":
        out = measure_resume(args.finished_jobs, args.tmp)
    else:
        raise SystemExit(f"unknown measurement {kind}")
    print("RESULT " + json.dumps(out, default=float))


# --- driver ---------------------------------------------------------------------------------------------

def run_child(tree: Path, extra: list[str], threads: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.setdefault("TORCH_HOME", str(SHARED / "weights" / "torch_home"))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *extra, "--threads", str(threads)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    raise RuntimeError(f"{tree}: {' '.join(extra)} failed: {' | '.join(tail)}")


def figures(only: set[str], images: int, tmp: str, resume_jobs: tuple[int, ...]) -> list[tuple[str, list[str]]]:
    specs: list[tuple[str, list[str]]] = []
    if "metric" in only:
        for label, image in (("kodim23", KODAK / "kodim23.png"), ("clic", CLIC_IMAGE)):
            for name in METRICS:
                specs.append((f"metric {name} {label}", ["metric", "--metric", name, "--image", str(image)]))
    if "suite" in only:
        specs.append(("suite psnr,lpips,dists clic", ["suite", "--image", str(CLIC_IMAGE)]))
    if "overhead" in only:
        specs.append(("overhead jpeg+webp kodak", ["overhead", "--images", str(images)]))
    if "scaling" in only:
        for n in (1, 2):
            specs.append((f"scaling jobs={n}", ["scaling", "--images", str(images), "--n-jobs", str(n),
                                                 "--tmp", tmp]))
    if "resume" in only:
        for n in resume_jobs:
            specs.append((f"resume {n}", ["resume", "--finished-jobs", str(n), "--tmp", tmp]))
    return specs


KEYS = ("first_wall", "first_cpu", "wall", "cpu", "wall_per_mp", "cpu_per_mp", "peak_rss_gib",
        "overhead_ms_per_job", "wall_over_codec", "job_wall", "codec_wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=None, help="the other source tree (e.g. a worktree of the old commit)")
    parser.add_argument("--after", default=str(REPO), help="the tree with the change (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="metric,suite,overhead,resume,scaling")
    parser.add_argument("--images", type=int, default=8, help="Kodak images of the overhead and scaling sweeps")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--resume-jobs", default=",".join(map(str, RESUME_JOBS)),
                        help="sizes of the synthesised finished runs")
    parser.add_argument("--json", default=None, help="write every measurement to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--metric", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--image", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-jobs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--finished-jobs", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    trees = {"after": Path(args.after).resolve()}
    if args.before:
        trees = {"before": Path(args.before).resolve(), **trees}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        specs = figures(set(args.only.split(",")), args.images, tmp,
                        tuple(int(n) for n in args.resume_jobs.split(",")))
        for round_index in range(args.rounds):
            for label, extra in specs:
                order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
                for which in order:
                    # the resume runs must not share their synthesised folders between trees
                    tree_extra = [e.replace(tmp, f"{tmp}/{which}") for e in extra]
                    Path(f"{tmp}/{which}").mkdir(exist_ok=True)
                    out = run_child(trees[which], tree_extra, args.threads)
                    out["load"] = os.getloadavg()[0]
                    results.setdefault(label, {}).setdefault(which, []).append(out)
                    print(f"round {round_index + 1} {which:6s} {label}: "
                          + ", ".join(f"{k} {out[k]:.4g}" for k in KEYS if k in out), flush=True)
    print()
    print(f"| figure | quantity | {' | '.join(trees)} |" + (" after/before |" if len(trees) == 2 else ""))
    print("| --- | --- |" + " --- |" * (len(trees) + (len(trees) == 2)))
    for label, by_tree in results.items():
        for key in KEYS:
            if all(key in r for runs in by_tree.values() for r in runs):
                medians = {w: statistics.median(r[key] for r in runs) for w, runs in by_tree.items()}
                ratio = f" {medians['after'] / medians['before']:.3f} |" if len(medians) == 2 and medians["before"] else ""
                print(f"| {label} | {key} | " + " | ".join(f"{medians[w]:.4g}" for w in trees) + " |" + ratio)
    loads = [r["load"] for by_tree in results.values() for runs in by_tree.values() for r in runs]
    print(f"\nload average (1 min) during the runs: median {statistics.median(loads):.2f}, max {max(loads):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
