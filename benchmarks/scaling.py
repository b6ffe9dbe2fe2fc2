"""Wall time of one sweep run three ways: 1 local worker, 2 local workers (joblib/loky), and a 2-worker Dask
cluster on this machine (a `dask scheduler` and two `dask worker` processes on 127.0.0.1).

    python benchmarks/scaling.py                       # vvc:preset=fast on 4 Kodak images x 2 QPs
    python benchmarks/scaling.py --codec avif --images 6 --points 20,40 --rounds 2

The jobs should take a second or more each (VVC, ECM, AVIF at slow speeds): that is the regime the Dask
backend is for, and where its per-task overhead should vanish. Every configuration is warmed up first
(worker processes started, codec modules imported), as a long-lived cluster would be, and every
configuration's rows are checked to be identical to the others' (timings aside). The machine's load
average is printed with the numbers: other processes on the same cores make the wall-time ratios
meaningless. The CPU time of all processes involved (client, loky workers, Dask scheduler, nannies and
workers) is printed too; it hardly depends on the load, so Dask's CPU overhead over local workers stays
measurable on a busy machine. ``--tiny N`` also times N near-empty jobs, which exposes each backend's
fixed cost per job.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.codecs import get_codec
from harness.datasets import resolve_dataset
from harness.run.cluster import QUIET_DASK_ENV, execute_dask
from harness.run.executors import Executor, execute_local
from harness.run.jobs import Job
from harness.run.plan import plan_jobs
from harness.run.store import RunStore
from harness.run.sweep import execute_plan

TIMING = ["encode_seconds", "decode_seconds"]


@contextmanager
def local_dask_cluster(workdir: Path, n_workers: int, quiet: bool = True) -> Iterator[str]:
    """A scheduler and ``n_workers`` single-threaded worker processes (with nannies, as deployed) on
    loopback, with the settings docs/cluster.md recommends unless ``quiet`` is false; yields its address."""
    env = {**os.environ, **(QUIET_DASK_ENV if quiet else {})}
    scheduler_file = workdir / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env=env)]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError("dask scheduler did not start")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(n_workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--death-timeout", "60", "--local-directory", str(workdir / f"w{i}")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env=env))
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def tiny_jobs(folder: Path, codec: str, count: int) -> list[Job]:
    """``count`` jobs on 64x64 images that cost next to nothing: they start the workers and import
    everything (warm-up), and they expose each backend's fixed cost per job."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    n_images = max(1, count // 8)
    for i in range(n_images):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"tiny{i}.png")
    codec_ = get_codec(codec)
    points = np.linspace(codec_.knob.low, codec_.knob.high, 8).round().tolist()
    return plan_jobs(resolve_dataset(str(folder)), [codec_], points=points)[:count]


def tree_cpu_seconds() -> float:
    """CPU time (user + system) of this process and all its descendants: the client, the loky workers, and
    the Dask scheduler and workers all run under this process. Unlike wall time, it hardly depends on
    what else loads the machine."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0)
    return total


def _spin(seconds: float) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        pass
    return time.process_time() - cpu


def available_cores(processes: int, seconds: float = 1.5) -> float:
    """Cores this process tree actually gets when ``processes`` processes spin at once. On a shared
    machine it can be far below the core count (Linux's autogroup scheduler shares CPU per session, not per
    process), and then no backend can show a 2-worker speed-up."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_spin, [0.01] * processes))  # start the processes first
        return sum(pool.map(_spin, [seconds] * processes)) / seconds


def timed(store: RunStore, jobs: Sequence[Job], n_jobs: int, executor: Executor) -> float:
    start = time.perf_counter()
    summary = execute_plan(store, jobs, n_jobs, executor)
    elapsed = time.perf_counter() - start
    if summary.ran != len(jobs):
        raise RuntimeError(f"{store.run_dir}: ran {summary.ran} of {len(jobs)} jobs")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec", default="vvc:preset=fast")
    parser.add_argument("--dataset", default=str(REPO.parent / "shared" / "datasets" / "kodak"))
    parser.add_argument("--images", type=int, default=4, help="first N images of the dataset")
    parser.add_argument("--points", default="27,37")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration; the minimum counts")
    parser.add_argument("--tiny", type=int, default=200,
                        help="also time this many near-empty jpeg jobs on 2 local and 2 Dask workers (fixed cost per job)")
    parser.add_argument("--dask-defaults", action="store_true",
                        help="start the Dask processes with Dask's default housekeeping, not QUIET_DASK_ENV")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    dataset = resolve_dataset(args.dataset)
    dataset = type(dataset)(dataset.name, dataset.images[: args.images], dataset.root)
    codec = get_codec(args.codec)
    if not codec.availability():
        parser.error(f"{args.codec}: unavailable ({codec.availability().reason})")
    jobs = plan_jobs(dataset, [codec], points=[float(p) for p in args.points.split(",")])
    load_before = os.getloadavg()
    cores = {n: available_cores(n) for n in (1, 2)}
    print(f"{len(jobs)} jobs: {args.codec} on {len(dataset.images)} images of {dataset.name}, points {args.points}; "
          f"{os.cpu_count()} CPUs; load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"cores available to this benchmark: {cores[1]:.2f} with 1 busy process, {cores[2]:.2f} with 2"
          + ("" if cores[2] > 1.8 * cores[1] else " (the machine is shared: 2-worker speed-ups cannot show)"))

    walls: dict[str, list[float]] = {"local-1": [], "local-2": [], "dask-2": []}
    cpus: dict[str, list[float]] = {name: [] for name in walls}
    tables = {}
    with tempfile.TemporaryDirectory(prefix="harness-scaling-") as tmp:
        workdir = Path(tmp)
        warm = tiny_jobs(workdir / "warm", args.codec, 4)
        list(execute_local(warm, 2))  # starts joblib's reusable loky workers, as --jobs 2 would use them
        with local_dask_cluster(workdir, 2, quiet=not args.dask_defaults) as address:
            dask_executor = execute_dask(address)
            list(dask_executor(warm, 2))
            tiny_walls: dict[str, float] = {}
            tiny_cpu: dict[str, float] = {}
            if args.tiny:
                tiny = tiny_jobs(workdir / "tiny", "jpeg", args.tiny)
                list(execute_local(tiny[:4], 2))
                list(dask_executor(tiny[:4], 2))
                for name, executor in (("local-2", execute_local), ("dask-2", dask_executor)):
                    cpu = tree_cpu_seconds()
                    tiny_walls[name] = timed(RunStore(workdir / f"tiny-{name}"), tiny, 2, executor)
                    tiny_cpu[name] = tree_cpu_seconds() - cpu
                print(f"  {len(tiny)} tiny jpeg jobs: local-2 {tiny_walls['local-2']:.2f} s "
                      f"({tiny_cpu['local-2']:.2f} CPU s), dask-2 {tiny_walls['dask-2']:.2f} s "
                      f"({tiny_cpu['dask-2']:.2f} CPU s)", flush=True)
            for round_ in range(args.rounds):
                for name, n_jobs, executor in (("local-1", 1, execute_local), ("local-2", 2, execute_local),
                                               ("dask-2", 2, dask_executor)):
                    store = RunStore(workdir / f"{name}-{round_}")
                    cpu = tree_cpu_seconds()
                    walls[name].append(timed(store, jobs, n_jobs, executor))
                    cpus[name].append(tree_cpu_seconds() - cpu)
                    tables[name] = store.table().drop(columns=TIMING)
                    print(f"  round {round_ + 1} {name}: {walls[name][-1]:.2f} s wall, {cpus[name][-1]:.2f} s CPU",
                          flush=True)
        job_seconds = store.table()[TIMING].sum(axis=1)

    identical = all(tables[n].equals(tables["local-1"]) for n in tables)
    best = {name: min(values) for name, values in walls.items()}
    load_after = os.getloadavg()
    results = {
        "codec": args.codec, "jobs": len(jobs), "cpus": os.cpu_count(), "wall_seconds": best,
        "mean_job_seconds": float(job_seconds.mean()),
        "speedup_local_2_vs_1": best["local-1"] / best["local-2"],
        "speedup_dask_2_vs_local_1": best["local-1"] / best["dask-2"],
        "dask_overhead_vs_local_2": best["dask-2"] / best["local-2"] - 1,
        "cpu_seconds": {name: min(values) for name, values in cpus.items()},
        "dask_cpu_overhead_vs_local_2": min(cpus["dask-2"]) / min(cpus["local-2"]) - 1,
        "rows_identical": identical, "load_before": load_before, "load_after": load_after,
        "available_cores": cores,
    }
    if tiny_walls:
        # Two workers share the jobs, so each job's fixed cost is 2 x wall / jobs (an upper bound: it
        # includes the tiny jobs' own work).
        results["tiny_jobs"] = args.tiny
        results["fixed_cost_ms_per_job"] = {n: 2000 * w / args.tiny for n, w in tiny_walls.items()}
        results["cpu_ms_per_tiny_job"] = {n: 1000 * c / args.tiny for n, c in tiny_cpu.items()}
    print(f"mean encode+decode per job {results['mean_job_seconds']:.2f} s; rows identical across backends: "
          f"{'yes' if identical else 'NO'}")
    for name, value in best.items():
        print(f"  {name:8s} {value:8.2f} s wall (best of {args.rounds}), {min(cpus[name]):8.2f} s CPU of all processes")
    print(f"local 2 workers vs 1: {results['speedup_local_2_vs_1']:.2f}x   dask 2 workers vs local 1: "
          f"{results['speedup_dask_2_vs_local_1']:.2f}x   dask overhead vs local 2: "
          f"{100 * results['dask_overhead_vs_local_2']:+.1f}% wall, "
          f"{100 * results['dask_cpu_overhead_vs_local_2']:+.1f}% CPU")
    if tiny_walls:
        cost = results["fixed_cost_ms_per_job"]
        extra = cost["dask-2"] - cost["local-2"]
        print(f"fixed wall cost per job (tiny jobs): local {cost['local-2']:.1f} ms, dask {cost['dask-2']:.1f} ms; "
              f"dask adds {extra:.1f} ms = {extra / 10:.2f}% of a 1 s job")
        cpu = results["cpu_ms_per_tiny_job"]
        extra_cpu = cpu["dask-2"] - cpu["local-2"]
        print(f"CPU per tiny job (all processes): local {cpu['local-2']:.1f} ms, dask {cpu['dask-2']:.1f} ms; "
              f"dask's extra CPU {extra_cpu:.1f} ms per job = {extra_cpu / 10:.2f}% of a 1 s job")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
