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


def start_run_info(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], argv: Sequence[str] | None) -> None:
    """run.json keeps the environment of every invocation that added rows (resumes included)."""
    info = store.read_info()
    invocation = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **environment(codecs, argv)}
    info.setdefault("dataset", dataset.name)
    info.setdefault("dataset_root", str(dataset.root) if dataset.root else None)
    if dataset.skipped:  # what the dataset's folder held that is not an image of it, by kind
        info["dataset_skipped"] = dataset.skipped_line
    info.setdefault("invocations", []).append(invocation)
    store.write_info(info)
