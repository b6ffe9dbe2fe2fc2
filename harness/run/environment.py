"""What ``run.json`` records about the machine and software of every invocation that added rows."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

from harness import __version__
from harness.codecs import Contender
from harness.core.container import image_provenance
from harness.datasets import Dataset
from harness.run.store import RunStore


def environment(codecs: Sequence[Contender], argv: Sequence[str] | None = None) -> dict[str, Any]:
    """What run.json records about the machine and software."""
    import numpy
    import PIL

    info: dict[str, Any] = {
        "harness": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "simd": simd_level(),
        "threads": thread_counts(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "command": list(argv if argv is not None else sys.argv),
        "codecs": {c.label: c.describe() for c in codecs},
    }
    image = image_provenance()  # inside the Docker image: its base, build arguments and digest
    if image is not None:
        info["image"] = image
    for package in ("torch", "torchvision", "pyiqa"):
        try:  # the installed version, without paying for an import of torch in every run
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info


# Highest first; the first one the CPU has names its SIMD level (codec output can depend on it).
_SIMD = ("avx512f", "avx2", "avx", "sse4_2", "sse4_1", "ssse3", "sse2", "sve2", "sve", "asimd", "neon")
# Variables that set how many threads numerical libraries start.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as the kernel lists them (``/proc/cpuinfo``), else as numpy detected them."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__  # type: ignore[attr-defined]
    except ImportError:
        return set()
    return {name.lower() for name, present in __cpu_features__.items() if present}


def simd_level() -> dict[str, Any]:
    """The CPU's highest SIMD extension and every one of :data:`_SIMD` it has."""
    flags = cpu_flags()
    present = [name for name in _SIMD if name in flags]
    return {"level": present[0] if present else "none", "extensions": present}


def thread_counts(jobs: int | None = None) -> dict[str, Any]:
    """The threads this run may use: the CPUs it may run on, worker processes, and the thread variables of
    numerical libraries (codecs themselves run one thread each, their params say so)."""
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {"usable_cpus": usable, "jobs": jobs,
            **{name: os.environ.get(name) for name in _THREAD_VARIABLES}}


def start_run_info(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], argv: Sequence[str] | None,
                   jobs: int | None = None) -> None:
    """run.json keeps the environment of every invocation that added rows (resumes included)."""
    info = store.read_info()
    invocation = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **environment(codecs, argv)}
    invocation["threads"] = thread_counts(jobs)
    info.setdefault("dataset", dataset.name)
    info.setdefault("dataset_root", str(dataset.root) if dataset.root else None)
    if dataset.skipped:  # what the dataset's folder held that is not an image of it, by kind
        info["dataset_skipped"] = dataset.skipped_line
    info.setdefault("invocations", []).append(invocation)
    store.write_info(info)
