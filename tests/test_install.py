"""The package as a user or a Dask worker gets it: a wheel installed into a fresh virtual environment
outside the checkout finds its dataset and codec definitions (package data) and runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """(the venv's bin folder, a clean environment, a working folder outside the checkout)."""
    root = tmp_path_factory.mktemp("install")
    # Build from a copy of the sources, so the checkout gets no build/ or egg-info folders.
    source = root / "source"
    shutil.copytree(REPO / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HARNESS_DATA", "HARNESS_CODECS_DIR",
                                                              "HARNESS_DATASETS_DIR")}
    env["HARNESS_CACHE"] = str(root / "cache")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"),
          str(source)], root, env)
    wheel = next((root / "dist").glob("harness-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "harness/codecs/definitions/vvenc-yuv.toml" in names and "harness/datasets/definitions/sample.toml" in names
    # The dependencies (torch and the codec libraries) come from this interpreter's site-packages; harness
    # itself only from the wheel, which shadows the editable install of the checkout.
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(root / "venv")], root, env)
    bin_dir = root / "venv" / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], root, env)
    work = root / "work"
    work.mkdir()
    where = _run([str(bin_dir / "python"), "-c", "import harness; print(harness.__file__)"], work, env).strip()
    assert Path(where).is_relative_to(root / "venv"), where
    return bin_dir, env, work


@pytest.mark.slow
def test_installed_wheel_lists_datasets_and_codecs_and_runs(installed) -> None:
    bin_dir, env, work = installed
    env = {**env, "COLUMNS": "200"}
    datasets = _run([str(bin_dir / "harness"), "datasets", "list"], work, env)
    for name in ("sample", "kodak", "clic2020-test"):
        assert name in datasets, datasets
    codecs = _run([str(bin_dir / "harness"), "codecs"], work, env)
    for name in ("jpeg", "vvenc-yuv", "vtm"):  # vvenc-yuv and vtm come from the packaged TOML definitions
        assert name in codecs, codecs
    _run([str(bin_dir / "harness"), "run", "--dataset", "sample", "--codecs", "jpeg", "--points", "30,70"], work, env)
    table = pd.read_parquet(work / "results" / "sample" / "results.parquet")
    assert len(table) == 4 * 2 and (table["status"] == "ok").all(), table.get("error")
    assert table["psnr_rgb"].between(25, 50).all(), table["psnr_rgb"].tolist()
    info = json.loads((work / "results" / "sample" / "run.json").read_text())
    assert info, "run.json is empty"
