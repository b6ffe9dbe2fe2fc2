"""Dataset definitions and resolution, on the real Kodak files in ../shared (no network)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness.datasets import (
    DatasetError,
    dataset_definitions,
    fetch,
    resolve_dataset,
    verify_files,
)
from tests.conftest import KODAK, SHARED


def test_definitions_cover_kodak_clic_and_sample():
    definitions = dataset_definitions()
    assert {"kodak", "sample", "clic2020-test", "clic", "clic2020-professional-valid", "clic2020-mobile-valid"} <= set(definitions)
    kodak = definitions["kodak"]
    assert len(kodak.files) == 24 and all(f.url.startswith("https://") and len(f.sha256) == 64 for f in kodak.files)
    sums = dict(line.split()[::-1] for line in (KODAK / "SHA256SUMS").read_text().splitlines())
    assert kodak.known_hashes == sums
    assert definitions["clic"] is definitions["clic2020-test"]
    assert all(len(a.sha256) == 64 and a.bytes for a in definitions["clic"].archives)


def test_kodak_resolves_from_harness_data_without_network():
    dataset = resolve_dataset("kodak")  # HARNESS_DATA points at ../shared/datasets (conftest)
    assert dataset.name == "kodak" and len(dataset.images) == 24
    assert dataset.images[0].name == "kodim01" and dataset.root == KODAK


def test_sample_installs_with_the_package():
    dataset = resolve_dataset("sample")
    assert [i.name for i in dataset.images] == ["astronaut", "chelsea", "coffee", "motorcycle_left"]
    assert all(i.path.is_file() for i in dataset.images)


def test_folder_glob_and_file(tmp_path):
    assert len(resolve_dataset(str(SHARED / "datasets" / "clic-sample")).images) == 2
    assert len(resolve_dataset(str(KODAK / "kodim0*.png")).images) == 9
    single = resolve_dataset(str(KODAK / "kodim07.png"))
    assert single.images[0].name == "kodim07"
    with pytest.raises(DatasetError, match="no such dataset"):
        resolve_dataset(str(tmp_path / "nothing-here"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="contains no image files"):
        resolve_dataset(str(empty))


def test_verify_names_a_corrupted_file(tmp_path, monkeypatch):
    copy = tmp_path / "kodak"
    shutil.copytree(KODAK, copy)
    (copy / "kodim05.png").write_bytes(b"\x89PNG not really")
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))
    definition = dataset_definitions()["kodak"]
    problems = verify_files(definition, copy)
    assert len(problems) == 1 and "kodim05.png" in problems[0] and "sha256" in problems[0]
    with pytest.raises(DatasetError, match="kodim05.png"):
        resolve_dataset("kodak")
    (copy / "kodim06.png").unlink()
    assert any("kodim06.png: missing" in p for p in verify_files(definition, copy))


def test_fetch_uses_local_copy_and_cli_verify():
    assert fetch("kodak") == KODAK  # already present and correct: no download
    result = subprocess.run([sys.executable, "-m", "harness.cli", "datasets", "verify", "kodak"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "kodak: ok" in result.stderr


def test_missing_named_dataset_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match="harness datasets fetch clic2020-test"):
        resolve_dataset("clic")


def test_text_dataset_is_generated_once_from_kodak():
    first = resolve_dataset("text")
    assert first.name == "text" and len(first.images) == 8
    assert (first.root / "boxes.json").is_file()
    stamp = first.images[0].path.stat().st_mtime_ns
    again = resolve_dataset("text")
    assert again.images == first.images and again.images[0].path.stat().st_mtime_ns == stamp
