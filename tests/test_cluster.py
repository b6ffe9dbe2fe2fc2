"""Sweeps on a real Dask cluster on loopback: a scheduler and two workers as separate processes.

The rows a cluster run persists must equal a local run's (timings aside), in both the shared-filesystem
mode and the --ship-images mode, and a worker killed mid-job must lose and duplicate nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import distributed
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from harness.cli import main
from harness.codecs import codec_names, get_codec
from harness.datasets import resolve_dataset
from harness.run.cluster import (
    QUIET_DASK_ENV,
    ClusterError,
    _check_version,
    execute_dask,
    task_key,
)
from harness.run.jobs import JobResult
from harness.run.plan import plan_jobs
from harness.run.store import RunStore, read_results
from harness.run.sweep import execute_plan, run_sweep
from harness.run.worker import execute_job
from tests.conftest import KODAK, REPO

TIMING = ["encode_seconds", "decode_seconds"]
START_TIMEOUT = 120  # seconds for the scheduler and the workers to come up on a loaded machine
CODECS = ["jpeg", "jpeg-444"] + (["webp"] if "webp" in codec_names() else [])


@dataclass
class Cluster:
    address: str
    client: distributed.Client
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def dask_cluster(tmp: Path, n_workers: int = 2, worker_cwd: Path | None = None) -> Iterator[Cluster]:
    """`dask scheduler` and `dask worker` processes bound to 127.0.0.1, always stopped on exit.

    Workers run without a nanny, so each Popen pid is the worker process itself (the one a kill must hit),
    and with --death-timeout they exit on their own should this test process die without stopping them."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET_DASK_ENV,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    scheduler_file = tmp / "scheduler.json"
    procs: list[subprocess.Popen] = []
    client = None
    try:
        with open(tmp / "scheduler.log", "wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(scheduler_file), "--idle-timeout", "600"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp))
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dask scheduler did not start: {(tmp / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(n_workers):
            with open(tmp / f"worker{i}.log", "wb") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                     "--no-nanny", "--no-dashboard", "--death-timeout", "60", "--name", f"w{i}",
                     "--local-directory", str(tmp / f"worker{i}")],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=worker_cwd or tmp))
        client = distributed.Client(address, timeout=30, set_as_default=False)
        try:
            client.wait_for_workers(n_workers, timeout=START_TIMEOUT)
        except TimeoutError:
            logs = "\n".join((tmp / f"worker{i}.log").read_text()[-1000:] for i in range(n_workers))
            pytest.fail(f"dask workers did not register within {START_TIMEOUT} s:\n{logs}")
        yield Cluster(address, client, procs[0], procs[1:])
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            _stop(proc)


def write_images(folder: Path, names: tuple[str, ...] = ("kodim03", "kodim15", "kodim23"),
                 size: tuple[int, int] = (96, 128), broken: bool = True) -> Path:
    """Kodak crops as PNG, plus a truncated PNG whose rows must fail the same way on every backend."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = size
    for name in names:
        pixels = np.asarray(Image.open(KODAK / f"{name}.png"))[100:100 + height, 200:200 + width]
        Image.fromarray(pixels).save(folder / f"{name}.png")
    if broken:
        data = (folder / f"{names[0]}.png").read_bytes()
        (folder / "broken.png").write_bytes(data[: len(data) // 2])
    return folder


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=TIMING).reset_index(drop=True)


def cache_stats(cluster: Cluster) -> dict[str, tuple[int, int, int]]:
    """Per worker: hits and misses of the decoded-original cache, and the id of the metric suite object."""

    def stats() -> tuple[int, int, int]:
        from harness.core.images import cached_load
        from harness.metrics import suite_for

        info = cached_load.cache_info()
        return info.hits, info.misses, id(suite_for(("psnr",)))

    return cluster.client.run(stats)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[Path, Path]:
    """The images and a local run of them: the reference every cluster run is compared with."""
    root = tmp_path_factory.mktemp("local")
    images = write_images(root / "images")
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(images)), [get_codec(c) for c in CODECS], points=[20, 50, 80],
              keep_reconstructions=True)
    return images, store.run_dir


@pytest.mark.slow
def test_cluster_run_equals_local_run_and_caches_live_per_worker(cluster, local_run, tmp_path):
    images, local_dir = local_run
    before = cache_stats(cluster)
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(images)), [get_codec(c) for c in CODECS], points=[20, 50, 80],
                        keep_reconstructions=True, executor=execute_dask(cluster.address))
    n_jobs = 4 * len(CODECS) * 3
    assert (summary.total, summary.ran, summary.failed) == (n_jobs, n_jobs, len(CODECS) * 3)
    local, remote = read_results(local_dir), read_results(store.run_dir)
    pd.testing.assert_frame_equal(comparable(local), comparable(remote))
    assert (remote.loc[remote.image == "broken", "error"].str.contains("broken.png: truncated")).all()
    assert (remote.loc[remote.image != "broken", "status"] == "ok").all()
    # Reconstructions came back to the client and are the same pixels a local run keeps.
    for relative in remote["reconstruction"].dropna():
        assert (store.run_dir / relative).read_bytes() == (local_dir / relative).read_bytes()
    # One journal line per job: nothing persisted twice.
    assert len((store.run_dir / "rows.jsonl").read_text().splitlines()) == n_jobs

    # Both workers took part, and each decoded every original at most once for all of its jobs (shared
    # filesystem: workers read image_path through the per-process cache), with one metric suite per process.
    after = cache_stats(cluster)
    assert set(after) == set(before) and len(after) == 2
    loads = {w: (after[w][0] - before[w][0], after[w][1] - before[w][1]) for w in after}
    assert sum(hits + misses for hits, misses in loads.values()) == n_jobs
    assert all(misses > 0 for _, misses in loads.values()), loads
    # A failed load is not cached: each broken.png job misses; a good original misses once per worker.
    broken_jobs, good_jobs = len(CODECS) * 3, n_jobs - len(CODECS) * 3
    assert sum(misses for _, misses in loads.values()) <= 2 * 3 + broken_jobs, loads
    assert sum(hits for hits, _ in loads.values()) >= good_jobs - 2 * 3, loads
    assert all(before[w][2] == after[w][2] for w in after if before[w][2])


@pytest.mark.slow
def test_ship_images_sends_the_bytes_to_workers_that_cannot_read_the_files(cluster, local_run, tmp_path):
    _, local_dir = local_run
    images = write_images(tmp_path / "images")
    dataset = resolve_dataset(str(images))
    codecs = [get_codec(c) for c in CODECS]
    shipped = plan_jobs(dataset, codecs, points=[20, 50, 80], keep_reconstructions=True, ship_images=True)
    by_path = plan_jobs(dataset, codecs, points=[20, 50, 80], keep_reconstructions=True)
    # The workers now cannot read the dataset: only the shipped bytes can make these jobs succeed.
    moved = images.rename(tmp_path / "elsewhere")
    before = cache_stats(cluster)

    store = RunStore(tmp_path / "shipped")
    summary = execute_plan(store, shipped, executor=execute_dask(cluster.address))
    store.write_parquet()
    assert summary.ran == len(shipped) and summary.failed == len(CODECS) * 3
    remote, local = read_results(store.run_dir), read_results(local_dir)
    assert (remote["image_path"].str.startswith(str(images))).all()
    # Same rows as the local run of the same pixels, the folder in paths and messages aside.
    for frame, folder in ((remote, images), (local, local_dir.parent / "images")):
        for column in ("image_path", "error"):
            frame[column] = frame[column].str.replace(str(folder), "IMAGES", regex=False)
    pd.testing.assert_frame_equal(comparable(local), comparable(remote))
    after = cache_stats(cluster)
    assert sum(after[w][1] - before[w][1] for w in after) == 0  # no worker read a file

    # Control: the same jobs without the bytes fail on the workers, naming the file they could not read.
    control = RunStore(tmp_path / "by-path")
    execute_plan(control, by_path, executor=execute_dask(cluster.address))
    rows = control.rows()
    assert len(rows) == len(by_path) and all(r.status == "failed" for r in rows)
    assert all("cannot read file" in r.error and r.image_path in r.error for r in rows)
    assert moved.is_dir()


@pytest.mark.slow
def test_cli_runs_on_the_cluster_and_resumes(cluster, local_run, tmp_path):
    images, local_dir = local_run
    runner = CliRunner()
    args = ["run", "--codecs", ",".join(CODECS), "--dataset", str(images), "--points", "20,50,80",
            "--keep-reconstructions", "--results", str(tmp_path), "--run", "cli", "--backend", "dask",
            "--scheduler", cluster.address, "--ship-images"]
    first = runner.invoke(main, args)
    n_jobs, failed = 4 * len(CODECS) * 3, len(CODECS) * 3
    assert first.exit_code == failed, first.output  # the exit status counts failed rows (broken.png)
    assert f"{n_jobs} jobs: {n_jobs} encoded, 0 already done" in first.output
    pd.testing.assert_frame_equal(comparable(read_results(local_dir)), comparable(read_results(tmp_path / "cli")))
    second = runner.invoke(main, args)
    assert f"{n_jobs} jobs: 0 encoded, {n_jobs} already done" in second.output

    missing = runner.invoke(main, ["run", "--dataset", str(images), "--backend", "dask"])
    assert missing.exit_code == 2 and "--backend dask needs --scheduler" in missing.output


def test_unreachable_scheduler_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    jobs = plan_jobs(resolve_dataset(str(write_images(tmp_path / "images", broken=False))), [get_codec("jpeg")],
                     points=[50])
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        list(execute_dask(f"tcp://127.0.0.1:{port}", connect_timeout=2)(jobs, 1))


def test_task_keys_separate_jobs_that_differ_beyond_the_job_key(tmp_path):
    dataset = resolve_dataset(str(write_images(tmp_path / "images", names=("kodim03",), broken=False)))
    psnr = plan_jobs(dataset, [get_codec("jpeg")], points=[50])[0]
    kept = plan_jobs(dataset, [get_codec("jpeg")], points=[50], keep_reconstructions=True)[0]
    shipped = plan_jobs(dataset, [get_codec("jpeg")], points=[50], ship_images=True)[0]
    assert psnr.key == kept.key and task_key(psnr) != task_key(kept)
    assert task_key(psnr) == task_key(shipped)  # the bytes are the file the key already hashes


def test_a_worker_with_another_codec_build_gives_failed_rows(tmp_path):
    dataset = resolve_dataset(str(write_images(tmp_path / "images", names=("kodim03",), broken=False)))
    job = plan_jobs(dataset, [get_codec("jpeg")], points=[50], keep_reconstructions=True)[0]
    result = execute_job(job)
    assert _check_version(JobResult(replace(result.row), result.reconstruction_png, result.bitstream),
                          result.row.codec_version).row.status == "ok"
    other = _check_version(JobResult(replace(result.row), result.reconstruction_png, result.bitstream),
                           "libjpeg-turbo 0.0")
    assert other.row.status == "failed" and "codec version mismatch" in other.row.error
    assert other.reconstruction_png is None and other.row.reconstruction is None
    assert other.bitstream is None and other.row.bitstream is None and not other.row.values


@pytest.mark.slow
def test_killing_a_worker_mid_job_loses_and_duplicates_nothing(tmp_path):
    # Larger crops and more points than above, so that the sweep is still running when the kill comes.
    images = write_images(tmp_path / "images", names=("kodim05", "kodim19"), size=(256, 384), broken=False)
    dataset = resolve_dataset(str(images))
    points = [float(p) for p in range(10, 95, 4)]
    jobs = plan_jobs(dataset, [get_codec("jpeg")], points=points, keep_reconstructions=True)
    assert len(jobs) == 44

    with dask_cluster(tmp_path / "dask") as cluster:
        store = RunStore(tmp_path / "run")
        outcome: dict[str, object] = {}

        def sweep() -> None:
            try:
                outcome["summary"] = execute_plan(store, jobs, executor=execute_dask(cluster.address))
            except BaseException as exc:  # noqa: BLE001  (surfaced by the assertions below)
                outcome["error"] = exc

        thread = threading.Thread(target=sweep, daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while not store.journal.exists() or len(store.journal.read_text().splitlines()) < 3:
            assert time.monotonic() < deadline and thread.is_alive(), outcome
            time.sleep(0.05)
        pids = cluster.worker_pids()
        victim = next(a for a, pid in pids.items() if pid == cluster.workers[0].pid)
        # Kill it while it is executing a job, and remember which jobs it held.
        while True:
            held = [str(k) for k in cluster.client.processing(workers=[victim])[victim]]
            executing = cluster.client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing],
                                           workers=[victim])[victim]
            if executing:
                break
            assert time.monotonic() < deadline and thread.is_alive(), "sweep ended before the kill"
            time.sleep(0.01)
        os.kill(cluster.workers[0].pid, signal.SIGKILL)
        done_at_kill = len(store.journal.read_text().splitlines())
        thread.join(180)
        assert not thread.is_alive(), "the sweep did not finish after the kill"
        assert "error" not in outcome, outcome
        assert cluster.workers[0].wait(10) == -signal.SIGKILL
        assert list(cluster.client.nthreads()) == [a for a in pids if a != victim]

    assert done_at_kill < len(jobs) and executing and held
    journal = store.journal.read_text().splitlines()
    assert len(journal) == len(jobs)  # each job persisted exactly once, none twice
    store.write_parquet()
    table = read_results(store.run_dir)
    assert sorted(table["job_key"]) == sorted(j.key for j in jobs)
    assert (table["status"] == "ok").all()
    # The jobs the killed worker was running or holding were redone elsewhere.
    held_keys = {k.split("-")[2] for k in [*held, *executing]}
    assert held_keys and held_keys <= set(table["job_key"])
    for relative in table["reconstruction"]:
        assert (store.run_dir / relative).stat().st_size > 0
    # And the rows are what a local run computes.
    local = RunStore(tmp_path / "local")
    execute_plan(local, jobs)
    local.write_parquet()
    pd.testing.assert_frame_equal(comparable(read_results(local.run_dir)), comparable(table))
