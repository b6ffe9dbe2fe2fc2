"""Every input accounted for (issue 26): one test per audit finding, each failing before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.codecs import get_codec
from harness.core.images import ImageError, SourceImage, load_image
from harness.datasets import resolve_dataset
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.conftest import KODAK
from tests.runs import crop_png, write_crops, zip_dataset


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})}, timeout=timeout)


def _chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, length) of each chunk of a PNG file."""
    found, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        found.append((offset, data[offset + 4:offset + 8], length))
        offset += 12 + length
    return found


def test_a_png_with_a_bad_idat_crc_is_a_failed_row_naming_the_chunk(tmp_path):
    crops = write_crops(tmp_path / "crops")
    data = bytearray((crops / "kodim13.png").read_bytes())
    offset, _, length = next(c for c in _chunks(bytes(data)) if c[1] == b"IDAT")
    data[offset + 8 + length // 2] ^= 0x01  # one flipped bit inside the image data; its CRC no longer matches
    (crops / "kodim13.png").write_bytes(bytes(data))
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[50])
    table = read_results(store.run_dir).set_index("image")
    assert summary.failed == 1 and table.loc["kodim23", "status"] == "ok"
    error = table.loc["kodim13", "error"]
    assert table.loc["kodim13", "status"] == "failed" and "IDAT" in error and "CRC" in error and "kodim13.png" in error


@pytest.mark.parametrize("codec", ["jpeg", "webp"])
def test_correct_decodes_of_a_solid_colour_that_is_not_grey_pass_the_flat_check(codec):
    pixels = np.empty((96, 96, 3), np.uint8)
    pixels[...] = (200, 30, 40)
    image = SourceImage("solid", Path("solid.png"), "0" * 64, pixels)
    outcome = get_codec(codec).compress(image, 90)
    assert np.abs(outcome.reconstruction.astype(int) - pixels).max() <= 3


def test_a_flat_decode_of_a_picture_with_one_varying_channel_is_still_refused():
    from harness.codecs.base import is_flat_decode

    pixels = np.zeros((96, 96, 3), np.uint8)
    pixels[..., 0] = 120
    pixels[..., 1] = np.arange(96, dtype=np.uint8)[None, :]  # green varies, red and blue are flat
    flat = np.broadcast_to(pixels.reshape(-1, 3).mean(axis=0).round().astype(np.uint8), pixels.shape)
    assert is_flat_decode(np.ascontiguousarray(flat), pixels)
    assert not is_flat_decode(np.ascontiguousarray(flat), np.ascontiguousarray(flat))


def test_an_image_over_the_pixel_limit_is_refused_saying_how_to_raise_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.new("1", (10080, 10000)).save(path)  # 100.8 MP, 12 MB of zeros
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and "larger than the 89.5 MP limit (100.8 MP)" in message
    assert "HARNESS_MAX_MEGAPIXELS" in message and "--max-megapixels" in message
    small = tmp_path / "small.png"
    Image.fromarray(np.asarray(Image.open(KODAK / "kodim23.png"))[:100, :100]).save(small)
    monkeypatch.setenv("HARNESS_MAX_MEGAPIXELS", "0.005")
    with pytest.raises(ImageError, match=r"larger than the 0\.005 MP limit \(0\.01 MP\)"):
        load_image(small)
    monkeypatch.setenv("HARNESS_MAX_MEGAPIXELS", "0.02")
    assert load_image(small).num_pixels == 10_000


def test_bad_chunk_checks_leave_good_pngs_alone():
    data = (KODAK / "kodim23.png").read_bytes()
    assert all(zlib.crc32(data[o + 4:o + 8 + n]) == int.from_bytes(data[o + 8 + n:o + 12 + n], "big")
               for o, _, n in _chunks(data))
    assert load_image(KODAK / "kodim23.png").width == 768


# --- datasets -------------------------------------------------------------------------------------------

def test_a_folder_lists_what_it_skipped_and_why_one_line_per_kind(tmp_path):
    crops = write_crops(tmp_path / "crops")
    Image.open(crops / "kodim23.png").save(crops / "anim.gif")
    os.symlink(crops / "gone.png", crops / "dangling.png")
    os.mkfifo(crops / "pipe.png")
    (crops / "x.png").mkdir()
    (crops / "x.png" / "inside.png").write_bytes((crops / "kodim13.png").read_bytes())
    dataset = resolve_dataset(str(crops))
    assert sorted(ref.name for ref in dataset.images) == ["kodim13", "kodim23", "x.png/inside"]
    assert dataset.skipped_line == ("4 skipped: 1 .gif (not a supported still format), 1 FIFO (pipe.png), "
                                    "1 dangling link, 1 folder named x.png")
    run = cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"3 images ({dataset.skipped_line})" in " ".join(run.stderr.split())
    assert json.loads((tmp_path / "r" / "crops" / "run.json").read_text())["dataset_skipped"] == dataset.skipped_line


def _archive_definition(tmp_path: Path, members: dict[str, bytes], name: str = "inputs-zip") -> dict[str, str]:
    return {"HARNESS_DATASETS_DIR": str(zip_dataset(tmp_path, members, name)), "HARNESS_CACHE": str(tmp_path / "cache"),
            "HARNESS_DATA": str(tmp_path / "data")}


def test_a_half_extracted_archive_dataset_is_refused_by_run_and_repaired_by_fetch(tmp_path):
    env = _archive_definition(tmp_path, {"set/a.png": crop_png("kodim01", 0), "set/b.png": crop_png("kodim02", 0),
                                         "set/c.png": crop_png("kodim03", 0)})
    assert cli("datasets", "fetch", "inputs-zip", cwd=tmp_path, env=env).returncode == 0
    root = tmp_path / "cache" / "datasets" / "inputs-zip"
    # What a kill between the images and the record left (before extraction was all-or-nothing).
    (root / ".harness-files.json").unlink()
    (root / "c.png").unlink()
    run = cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", "inputs-zip", "--results", "r",
              cwd=tmp_path, env=env)
    assert run.returncode == 2 and "not completely extracted" in run.stderr and "datasets fetch inputs-zip" in run.stderr
    assert not (tmp_path / "r" / "inputs-zip" / "rows.jsonl").exists()
    repaired = cli("datasets", "fetch", "inputs-zip", cwd=tmp_path, env=env)
    assert repaired.returncode == 0, repaired.stderr
    assert sorted(p.name for p in root.iterdir()) == [".harness-files.json", "a.png", "b.png", "c.png"]
    assert cli("datasets", "verify", "inputs-zip", cwd=tmp_path, env=env).returncode == 0
    assert len(resolve_dataset_with(env, "inputs-zip").images) == 3


def resolve_dataset_with(env: dict[str, str], name: str):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return resolve_dataset(name)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_archive_extraction_is_all_or_nothing(tmp_path, monkeypatch):
    from harness.datasets import DatasetError, fetch

    env = _archive_definition(tmp_path, {"set/a.png": crop_png("kodim01", 0), "set/b.png": crop_png("kodim02", 0),
                                         "../evil.png": crop_png("kodim03", 0)}, name="inputs-bad")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(DatasetError, match="points outside"):
        fetch("inputs-bad")
    assert not (tmp_path / "cache" / "datasets" / "inputs-bad").exists()  # not the two images before the bad one


def test_one_invalid_dataset_definition_is_one_warning_and_the_others_work(tmp_path):
    env = _archive_definition(tmp_path, {"set/a.png": crop_png("kodim01", 0)})
    bad = Path(env["HARNESS_DATASETS_DIR"]) / "broken.toml"
    bad.write_text('name = "broken"\nunknown_key = 1\n')
    listed = cli("datasets", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    warnings = [line for line in listed.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(bad) in warnings[0]
    assert "inputs-zip" in listed.stdout
    crops = write_crops(tmp_path / "crops")
    run = cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r", cwd=tmp_path,
              env=env)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("broken.toml") == 1


# --- processes ------------------------------------------------------------------------------------------

def _toy_codec(name: str, encode: str, extra: str = "") -> str:
    """A command-line codec definition whose encoder is the shell command ``encode`` (8-bit RGB PNG files)."""
    return "\n".join([
        f'name = "{name}"', 'format = "png"', extra,
        "[knob]", 'name = "q"', "low = 0", "high = 10", "quality_rises = true", "default_points = [5]",
        "[colour]", 'matrix = "rgb"', 'range = "full"', "bit_depth = 8", 'subsampling = "444"',
        "[programs]", 'sh = { names = ["sh"] }',
        "[encode]", f'command = ["{{sh}}", "-c", "{encode}", "{{input}}", "{{bitstream}}"]',
        "[decode]", 'command = ["{sh}", "-c", "cp $0 $1", "{bitstream}", "{output}"]', ""])


def _processes_with(marker: bytes, program: bytes = b"") -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and cmdline.startswith(program) and state != "Z":
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [c for c, p in parents.items() if p == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _wait_gone(pids: list[int], seconds: float = 15) -> list[int]:
    deadline = time.time() + seconds
    alive = pids
    while alive and time.time() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if p in set(_processes_with(b""))]
    return alive


def test_a_command_line_codecs_timeout_kills_the_wrappers_grandchild(tmp_path):
    from harness.codecs.base import CodecError
    from harness.codecs.commandline import codec_class
    from harness.codecs.definition import load_definition

    marker = f"97.{os.getpid() % 10000:04d}1"
    (tmp_path / "wrapper.toml").write_text(_toy_codec("wrapper", f"sleep {marker}; true", "timeout = 1"))
    codec = codec_class(load_definition(tmp_path / "wrapper.toml"))()
    image = load_image(write_crops(tmp_path / "crops") / "kodim23.png")
    with pytest.raises(CodecError, match="timed out after 1 s"):
        codec.compress(image, 5)
    assert _wait_gone(_processes_with(marker.encode()), 5) == []


def test_kill_9_of_the_main_process_with_two_jobs_leaves_no_worker_or_codec(tmp_path):
    marker = f"98.{os.getpid() % 10000:04d}1"  # this test's sleeps, not those of a run of it elsewhere
    codecs = tmp_path / "codecs"
    codecs.mkdir()
    (codecs / "sleepy.toml").write_text(_toy_codec("sleepy", f"sleep {marker}; true"))
    crops = write_crops(tmp_path / "crops")
    env = {**os.environ, "HARNESS_CODECS_DIR": str(codecs)}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--codecs", "sleepy", "--dataset", str(crops),
                             "--results", "r", "--jobs", "2"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sleeps: list[int] = []
        deadline = time.time() + 120
        while len(sleeps) < 2 and time.time() < deadline:
            time.sleep(0.2)
            sleeps = _processes_with(marker.encode(), b"sleep")
        family = _descendants(proc.pid)
        # Two workers, each with a reaper, a shell and the shell's sleep (the codec's grandchild).
        assert len(sleeps) == 2 and set(sleeps) <= set(family) and len(family) >= 6, (sleeps, family)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert _wait_gone(family) == []


# --- names ----------------------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_goes_through_run_report_and_viewer(tmp_path):
    from harness.render.viewer.site import write_site

    crops = write_crops(tmp_path / "crops")
    latin1 = os.path.join(os.fsencode(crops), b"caf\xe9.png")
    os.rename(crops / "kodim13.png", latin1)
    run = cli("run", "--codecs", "jpeg", "--points", "40,80", "--dataset", str(crops), "--results", "r", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert cli("report", "r/crops", cwd=tmp_path).returncode == 0
    result = write_site(tmp_path / "r" / "crops", tmp_path / "site")
    assert result.plan.not_shown == [] and len(result.plan.pages) == 2
    page = next(p for name, p in result.plan.pages.items() if name != "kodim23")
    shown = np.asarray(Image.open(result.out_dir / page["original"]).convert("RGB"))
    assert np.array_equal(shown, np.asarray(Image.open(os.fsdecode(latin1)).convert("RGB")))
    assert len(page["rows"]) == 2


def test_harness_run_max_megapixels_sets_the_limit_for_its_workers(tmp_path):
    crops = write_crops(tmp_path / "crops")  # 128x96 = 0.012 MP each
    args = ["run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r", "--jobs", "2"]
    refused = cli(*args, "--max-megapixels", "0.01", cwd=tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "r" / "crops" / "rows.jsonl").read_text().splitlines()]
    assert refused.returncode != 0 and len(rows) == 2
    assert all(r["status"] == "failed" and "larger than the 0.01 MP limit (0.012 MP)" in r["error"] for r in rows)
    assert "--max-megapixels 0" in " ".join(cli(*args, "--max-megapixels", "0", cwd=tmp_path).stderr.split())
    again = cli(*args, "--max-megapixels", "0.02", "--retry-failed", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
